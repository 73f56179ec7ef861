import Foundation
import Testing
import WritePathResult

@testable import WritePathEngine
@testable import WritePathReport

/// Lognormal values with median `median` and coefficient of variation `cv`.
func lognormal(_ n: Int, median: Double, cv: Double, _ rng: inout Xoshiro256) -> [Double] {
    let sigma = log(1 + cv * cv).squareRoot()
    return (0..<n).map { _ in median * exp(sigma * Synthetic.gaussian(&rng)) }
}

@Suite("statistics: Student t, intervals on log values, multiple comparisons")
struct LogScaleStatisticsTests {
    @Test("Student t quantiles match the tables")
    func quantiles() {
        for (df, q) in [(1.0, 12.7062), (2, 4.3027), (4, 2.7764), (9, 2.2622), (30, 2.0423), (1000, 1.9623)] {
            #expect(abs(StudentT.quantile(0.975, df: df) - q) < 1e-3, "df \(df)")
        }
        #expect(abs(StudentT.cdf(2.7764, df: 4) - 0.975) < 1e-4)
        #expect(abs(StudentT.quantile(0.8, df: 8) - 0.8889) < 1e-3)
    }

    @Test("Holm and Benjamini-Hochberg adjust as published")
    func adjustments() {
        let p = [0.01, 0.04, 0.03, 0.005]
        let holm = MultipleComparisons.holm.adjust(p), bh = MultipleComparisons.bh.adjust(p)
        for (a, b) in zip(holm, [0.03, 0.06, 0.06, 0.02]) { #expect(abs(a - b) < 1e-12) }
        for (a, b) in zip(bh, [0.02, 0.04, 0.04, 0.02]) { #expect(abs(a - b) < 1e-12) }
    }

    /// Coverage of a method's nominal 95% interval over `trials` seeded lognormal samples.
    static func coverage(trials: Int = 4000, seed: UInt64, _ trial: (inout Xoshiro256) -> Bool?) -> Double {
        var rng = Xoshiro256(seed: seed)
        var hit = 0, total = 0
        for _ in 0..<trials { if let h = trial(&rng) { total += 1; if h { hit += 1 } } }
        return Double(hit) / Double(total)
    }

    static let cases: [(Int, Double)] = [3, 5, 10].flatMap { n in [0.05, 0.2, 0.5].map { (n, $0) } }

    @Test("the median interval (t on log values) covers the true median 95% ± 3 points at n = 3, 5, 10", arguments: cases)
    func medianCoverage(n: Int, cv: Double) {
        let c = Self.coverage(seed: 0x1000 + UInt64(n) * 100 + UInt64(cv * 100)) { rng in
            let i = Stats.medianInterval(lognormal(n, median: 1000, cv: cv, &rng))!
            return i.low <= 1000 && 1000 <= i.high
        }
        print("median interval coverage n=\(n) cv=\(cv): \(c)")
        #expect(abs(c - 0.95) <= 0.03, "coverage \(c)")
    }

    @Test("the ratio interval (Welch t on log values) covers the true ratio 95% ± 3 points, unequal noise too", arguments: cases)
    func ratioCoverage(n: Int, cv: Double) {
        let c = Self.coverage(seed: 0x2000 + UInt64(n) * 100 + UInt64(cv * 100)) { rng in
            let a = lognormal(n, median: 800, cv: cv, &rng), b = lognormal(n + 1, median: 1000, cv: cv / 2, &rng)
            let r = Stats.ratioOfMedians(a, b)!
            return r.low! <= 0.8 && 0.8 <= r.high!
        }
        print("ratio interval coverage n=\(n) cv=\(cv): \(c)")
        #expect(abs(c - 0.95) <= 0.03, "coverage \(c)")
    }

    @Test("compare's relative change interval (four-group Welch on logs) covers the truth 95% ± 3 points", arguments: cases)
    func relativeCoverage(n: Int, cv: Double) {
        let c = Self.coverage(seed: 0x3000 + UInt64(n) * 100 + UInt64(cv * 100)) { rng in
            let groups: [(values: [Double], sign: Double)] = [
                (lognormal(n, median: 700, cv: cv, &rng), 1), (lognormal(n, median: 1000, cv: cv / 2, &rng), -1),
                (lognormal(n, median: 800, cv: cv, &rng), -1), (lognormal(n, median: 1000, cv: cv, &rng), 1),
            ]
            let i = LogContrast(groups)!.interval(level: 0.95)
            let truth = log(0.7 / 0.8)
            return i.low <= truth && truth <= i.high
        }
        print("relative change coverage n=\(n) cv=\(cv): \(c)")
        #expect(abs(c - 0.95) <= 0.03, "coverage \(c)")
    }

    @Test("below 3 repetitions there is no interval (n too small)")
    func tooSmall() {
        #expect(Stats.medianInterval([1, 2]) == nil)
        #expect(Stats.ratioOfMedians([1, 2], [1, 2, 3])?.low == nil)
        #expect(Estimate([5, 6])?.tooFewForInterval == true)
        #expect(Stats.medianInterval([1, 0, 2]) == nil)
    }
}

/// The gate: `Comparison.compare` relative to host on synthetic matrix results, 1000 seeded pairs.
@Suite("compare gate: false alarms and power by simulation")
struct CompareGateSimulationTests {
    static let layers = ["host", "docker-overlay", "docker-volume", "docker-bind", "docker-tmpfs", "oci-runc"]
    static let workloads = ["rand-4k-qd32", "seq-128k-qd8"]

    /// One side: every layer × workload, `reps` runs, IOPS lognormal with `cv`, the machine's speed `machine`,
    /// `slowed` layer's first workload cut by `cut`. Latency follows IOPS (Little's law) with its own noise.
    /// Every simulated run is a copy of this one with its numbers replaced (building histograms
    /// for 10^5 runs would only slow the test).
    static let template = Synthetic.run(layer: "host", rep: 1, iops: 1000, latencyNs: 8e6, ios: 10, seed: 1)

    static func side(
        reps: Int, cv: Double, machine: Double, slowed: String? = nil, cut: Double = 0,
        layers: [String] = layers, workloads: [String] = workloads, _ rng: inout Xoshiro256
    ) -> ResultInput {
        var runs: [RunResult] = []
        for (li, layer) in layers.enumerated() {
            for (wi, w) in workloads.enumerated() {
                let base = 50_000 * (1 - 0.05 * Double(li)) * machine * (layer == slowed && wi == 0 ? 1 - cut : 1)
                for rep in 1...reps {
                    let iops = lognormal(1, median: base, cv: cv, &rng)[0]
                    var r = template
                    r.layer = LayerInfo(name: layer, settings: [:])
                    r.workload.name = w
                    r.rep = rep
                    r.write!.iops = iops
                    r.write!.bw_bytes_per_s = iops * 4096
                    // Latency follows IOPS (Little's law: 8 in flight) with noise of its own for the tail.
                    r.write!.lat_ns.p50 = UInt64(8e9 / iops)
                    r.write!.lat_ns.p99 = UInt64(lognormal(1, median: 2.5 * 8e9 / iops, cv: cv, &rng)[0])
                    r.write!.lat_ns.p99_9 = UInt64(lognormal(1, median: 4 * 8e9 / iops, cv: cv, &rng)[0])
                    r.cpu.cpu_ns_per_io = lognormal(1, median: 2000, cv: cv, &rng)[0]
                    runs.append(r)
                }
            }
        }
        return Synthetic.input(runs)
    }

    @Test("A/A at the quick suite's n = 5 and CV 20%, all 6 metrics × 10 rows: the gate fails at most 5% of 1000 pairs")
    func aaFalseAlarms() {
        var rng = Xoshiro256(seed: 0xA0A0)
        var failed = 0
        for _ in 0..<1000 {
            let base = Self.side(reps: 5, cv: 0.2, machine: 1, &rng)
            let cur = Self.side(reps: 5, cv: 0.2, machine: 0.8, &rng)  // the whole machine 20% slower: cancels
            if Comparison.compare(baseline: base, current: cur, threshold: 0.05, relativeTo: "host").exitCode != 0 { failed += 1 }
        }
        print("A/A gate failures at n=5, CV 20%: \(failed)/1000")
        #expect(failed <= 50)
    }

    @Test("a 15% cut at CV 20% is caught in at least 80% of 1000 pairs by the n = 40 gate on one layer's IOPS")
    func power() {
        var rng = Xoshiro256(seed: 0xB0B0)
        var caught = 0, wrong = 0
        for _ in 0..<1000 {
            let base = Self.side(reps: 40, cv: 0.2, machine: 1, layers: ["host", "docker-volume"], workloads: ["rand-4k-qd32"], &rng)
            let cur = Self.side(
                reps: 40, cv: 0.2, machine: 0.9, slowed: "docker-volume", cut: 0.15,
                layers: ["host", "docker-volume"], workloads: ["rand-4k-qd32"], &rng)
            let c = Comparison.compare(baseline: base, current: cur, threshold: 0.05, metrics: [.iops], relativeTo: "host")
            if c.regressions.contains(where: { $0.layer == "docker-volume" }) { caught += 1 }
            if c.regressions.contains(where: { $0.layer != "docker-volume" }) { wrong += 1 }
        }
        print("15% cut caught at n=40, CV 20%: \(caught)/1000")
        #expect(caught >= 800)
        #expect(wrong == 0)
    }

    @Test("a 15% cut at CV 3% is caught in at least 80% of 1000 pairs at the quick suite's n = 5, all metrics × rows; no other layer")
    func powerQuick() {
        var rng = Xoshiro256(seed: 0xC0C0)
        var caught = 0, other = 0
        for _ in 0..<1000 {
            let base = Self.side(reps: 5, cv: 0.03, machine: 1, &rng)
            let cur = Self.side(reps: 5, cv: 0.03, machine: 0.9, slowed: "docker-volume", cut: 0.15, &rng)
            let c = Comparison.compare(baseline: base, current: cur, threshold: 0.05, relativeTo: "host")
            if c.regressions.contains(where: { $0.layer == "docker-volume" && $0.workload == "rand-4k-qd32" }) { caught += 1 }
            if c.regressions.contains(where: { $0.layer != "docker-volume" }) { other += 1 }
        }
        print("15% cut caught at n=5, CV 3%: \(caught)/1000, other layers flagged in \(other)")
        #expect(caught >= 800)
        #expect(other <= 50)
    }
}
