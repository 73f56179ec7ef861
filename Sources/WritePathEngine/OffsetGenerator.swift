#if canImport(Glibc)
    import Glibc
#endif

/// Produces the block numbers a job writes, in units of `bs` from the region's start.
///
/// - Sequential: 0, 1, 2 ... wrapping at the end of the region.
/// - Uniform random: a full-period permutation of the blocks for each pass (an LCG over the next
///   power of two with rejection), so every block is written once per pass as with fio's random
///   map, at the cost of no bitmap.
/// - Zipf: Gray et al.'s method (as fio's zipf), ranks scattered over the region by a hash.
public struct OffsetGenerator: Sendable {
    enum Mode: Sendable { case sequential, permutation, zipf }
    let mode: Mode
    /// Blocks in the region.
    public let blocks: UInt64
    var next: UInt64 = 0
    // permutation
    var lcgState: UInt64 = 0
    var lcgMask: UInt64 = 0
    var lcgMultiplier: UInt64 = 0
    var lcgIncrement: UInt64 = 0
    var rng: Xoshiro256
    // zipf
    var zipfN: UInt64 = 0
    var zipfTheta: Double = 0
    var zetaN: Double = 0
    var zeta2: Double = 0
    var alpha: Double = 0
    var eta: Double = 0

    /// - Parameters:
    ///   - blocks: blocks in the region (> 0).
    ///   - random: sequential when false.
    ///   - distribution: for random offsets.
    ///   - seed: makes the sequence repeatable.
    public init(blocks: UInt64, random: Bool, distribution: RandomDistribution, seed: UInt64) {
        self.blocks = max(blocks, 1)
        rng = Xoshiro256(seed: seed ^ 0x0FF5_E7)
        if !random {
            mode = .sequential
        } else if case let .zipf(theta) = distribution {
            mode = .zipf
            // fio caps the zeta computation at 10M items, then scales; we do the same.
            zipfN = min(self.blocks, 10_000_000)
            zipfTheta = theta
            var z = 0.0
            for i in 1...zipfN { z += 1.0 / pow(Double(i), theta) }
            zetaN = z
            zeta2 = 1.0 + 1.0 / pow(2.0, theta)
            alpha = 1.0 / (1.0 - theta)
            eta = (1.0 - pow(2.0 / Double(zipfN), 1.0 - theta)) / (1.0 - zeta2 / zetaN)
        } else {
            mode = .permutation
            var m: UInt64 = 1
            while m < self.blocks { m <<= 1 }
            lcgMask = m - 1
            startPass()
        }
    }

    /// Starts a new pass of the permutation with fresh parameters.
    mutating func startPass() {
        // Full period mod 2^k: multiplier ≡ 1 (mod 4), odd increment (Hull–Dobell).
        lcgMultiplier = (rng.next() & ~UInt64(3)) | 1
        lcgIncrement = rng.next() | 1
        lcgState = rng.next() & lcgMask
        next = 0
    }

    /// The next block number in [0, blocks).
    @inline(__always)
    public mutating func nextBlock() -> UInt64 {
        switch mode {
        case .sequential:
            let b = next
            next += 1
            if next == blocks { next = 0 }
            return b
        case .permutation:
            if next == blocks { startPass() }
            next += 1
            repeat {
                lcgState = (lcgState &* lcgMultiplier &+ lcgIncrement) & lcgMask
            } while lcgState >= blocks
            return lcgState
        case .zipf:
            let u = rng.unit()
            let uz = u * zetaN
            var rank: UInt64
            if uz < 1.0 {
                rank = 0
            } else if uz < zeta2 {
                rank = 1
            } else {
                rank = UInt64(Double(zipfN) * pow(eta * u - eta + 1.0, alpha))
            }
            if rank >= zipfN { rank = zipfN - 1 }
            // Scatter ranks over the whole region (fio hashes them the same way).
            if blocks > zipfN {
                rank = rank &* (blocks / zipfN) &+ rng.below(blocks / zipfN)
            }
            return scatter(rank) % blocks
        }
    }

    /// A bijective mix so that hot ranks are not adjacent blocks.
    @inline(__always)
    func scatter(_ x: UInt64) -> UInt64 {
        var z = x &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
