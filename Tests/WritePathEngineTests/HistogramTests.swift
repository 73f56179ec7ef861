import Testing

@testable import WritePathEngine

@Suite("Latency histogram")
struct HistogramTests {
    @Test("percentiles of known data are within the histogram's 3-digit precision")
    func knownPercentiles() {
        var h = LatencyHistogram()
        for v in 1...100_000 { h.record(UInt64(v) * 10) }  // 10 ns ... 1 ms, uniform
        let s = h.summary
        #expect(s.min == 10)
        #expect(abs(Double(s.max) - 1_000_000) / 1_000_000 < 0.001)
        func near(_ got: UInt64, _ want: Double) -> Bool { abs(Double(got) - want) / want < 0.002 }
        #expect(near(s.p50, 500_000))
        #expect(near(s.p90, 900_000))
        #expect(near(s.p99, 990_000))
        #expect(near(s.p99_9, 999_000))
        #expect(abs(s.mean - 500_005) / 500_005 < 0.001)
        // stddev of a uniform distribution over [10, 1e6]: (b-a)/sqrt(12)
        #expect(abs(s.stddev - 288_672) / 288_672 < 0.002)
    }

    @Test("a latency of minutes is kept, one beyond an hour is clamped and counted")
    func longLatencies() {
        var h = LatencyHistogram()
        h.record(5 * 60 * 1_000_000_000)  // five minutes
        #expect(abs(Double(h.summary.max) - 300e9) / 300e9 < 0.001)
        h.record(2 * 3600 * 1_000_000_000)  // two hours
        #expect(h.clampedCount == 1)
        #expect(h.count == 2)
    }

    @Test("the encoded histogram decodes to the same percentiles and merges")
    func encodedRoundTrip() throws {
        var a = LatencyHistogram()
        var rng = Xoshiro256(seed: 7)
        for _ in 0..<50_000 { a.record(1000 + rng.below(200_000)) }
        let b = try LatencyHistogram(encoded: a.encoded)
        #expect(b.count == a.count)
        #expect(b.summary.p50 == a.summary.p50)
        #expect(b.summary.p99 == a.summary.p99)
        #expect(b.summary.max == a.summary.max)
        var merged = a
        merged.add(b)
        #expect(merged.count == 2 * a.count)
        #expect(merged.summary.p99 == a.summary.p99)
    }

    @Test("an empty histogram reports zeros")
    func empty() {
        let h = LatencyHistogram()
        #expect(h.summary == LatencySummary())
        #expect(h.value(atPercentile: 99) == 0)
    }
}

@Suite("Offsets")
struct OffsetTests {
    @Test("uniform random offsets touch every block exactly once per pass")
    func permutation() {
        for blocks: UInt64 in [1, 2, 3, 1000, 4097] {
            var g = OffsetGenerator(blocks: blocks, random: true, distribution: .uniform, seed: 99)
            var seen = Set<UInt64>()
            for _ in 0..<blocks { seen.insert(g.nextBlock()) }
            #expect(seen.count == Int(blocks))
            #expect(seen.allSatisfy { $0 < blocks })
        }
    }

    @Test("sequential offsets wrap at the end of the region")
    func sequential() {
        var g = OffsetGenerator(blocks: 3, random: false, distribution: .uniform, seed: 0)
        #expect((0..<7).map { _ in g.nextBlock() } == [0, 1, 2, 0, 1, 2, 0])
    }

    @Test("zipf concentrates writes on few blocks")
    func zipf() {
        var g = OffsetGenerator(blocks: 10_000, random: true, distribution: .zipf(theta: 1.2), seed: 1)
        var counts = [UInt64: Int]()
        for _ in 0..<100_000 { counts[g.nextBlock(), default: 0] += 1 }
        let top = counts.values.sorted(by: >).prefix(100).reduce(0, +)
        #expect(counts.keys.allSatisfy { $0 < 10_000 })
        #expect(top > 50_000)  // the hottest 1% of blocks take over half the writes
    }

    @Test("the same seed gives the same sequence")
    func repeatable() {
        var a = OffsetGenerator(blocks: 1 << 20, random: true, distribution: .uniform, seed: 5)
        var b = OffsetGenerator(blocks: 1 << 20, random: true, distribution: .uniform, seed: 5)
        for _ in 0..<1000 { #expect(a.nextBlock() == b.nextBlock()) }
    }
}
