/// xoshiro256** by Blackman and Vigna: fast, seedable, good enough for offsets and buffers.
/// Not cryptographic.
public struct Xoshiro256: RandomNumberGenerator, Sendable {
    var s0, s1, s2, s3: UInt64

    /// Seeds the four words from `seed` through splitmix64, as the authors recommend.
    public init(seed: UInt64) {
        var x = seed
        func splitmix() -> UInt64 {
            x &+= 0x9E37_79B9_7F4A_7C15
            var z = x
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        s0 = splitmix(); s1 = splitmix(); s2 = splitmix(); s3 = splitmix()
    }

    @inline(__always)
    public mutating func next() -> UInt64 {
        let result = ((s1 &* 5) << 7 | (s1 &* 5) >> 57) &* 9
        let t = s1 << 17
        s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3
        s2 ^= t
        s3 = (s3 << 45) | (s3 >> 19)
        return result
    }

    /// A uniform value in [0, bound) by Lemire's multiply-shift (bias below 2^-64 * bound).
    @inline(__always)
    public mutating func below(_ bound: UInt64) -> UInt64 {
        next().multipliedFullWidth(by: bound).high
    }

    /// A uniform Double in [0, 1).
    @inline(__always)
    public mutating func unit() -> Double {
        Double(next() >> 11) * 0x1.0p-53
    }
}

/// Fills I/O buffers with the workload's pattern.
public enum BufferFill {
    /// Fills `bytes` at `buffer` with `pattern`; random contents depend only on `seed`.
    public static func fill(_ buffer: UnsafeMutableRawPointer, bytes: Int, pattern: BufferPattern, seed: UInt64) {
        switch pattern {
        case .zero:
            buffer.initializeMemory(as: UInt8.self, repeating: 0, count: bytes)
        case .random:
            var rng = Xoshiro256(seed: seed)
            let words = bytes / 8
            let p = buffer.bindMemory(to: UInt64.self, capacity: words)
            for i in 0..<words { p[i] = rng.next() }
            let tail = buffer + words * 8
            for i in 0..<(bytes % 8) { tail.storeBytes(of: UInt8(truncatingIfNeeded: rng.next()), toByteOffset: i, as: UInt8.self) }
        }
    }

    /// The seed of write buffer `slot` of job `job`: tests rebuild buffers from it.
    public static func seed(workloadSeed: UInt64, job: Int, slot: Int) -> UInt64 {
        workloadSeed ^ (UInt64(job) &* 0x9E37_79B9_7F4A_7C15) ^ (UInt64(slot) &* 0xC2B2_AE3D_27D4_EB4F) ^ 0xB0FF
    }
}
