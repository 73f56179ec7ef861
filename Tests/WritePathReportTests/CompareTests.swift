#if canImport(Glibc)
import Glibc
#endif
import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import Testing
@testable import WritePathEngine
@testable import WritePathReport

@Suite("compare: verdicts and exit codes")
struct CompareTests {
    @Test("verdict semantics: regressed only when the interval is entirely beyond the threshold the bad way", arguments: [
        // change, low, high, higherIsBetter, expected
        (-0.20, -0.23, -0.17, true, Verdict.regressed),
        (0.20, 0.17, 0.23, true, .improved),
        (0.20, 0.17, 0.23, false, .regressed),  // latency up 20%
        (-0.20, -0.23, -0.17, false, .improved),
        (0.01, -0.03, 0.04, true, .unchanged),
        (-0.06, -0.12, 0.01, true, .inconclusive),
        (-0.07, -0.09, -0.049, true, .inconclusive),  // touches the threshold
    ] as [(Double, Double, Double, Bool, Verdict)])
    func judge(change: Double, low: Double, high: Double, higherIsBetter: Bool, expected: Verdict) {
        #expect(Comparison.judge(change: change, low: low, high: high, threshold: 0.05, higherIsBetter: higherIsBetter).0 == expected)
    }

    @Test("one repetition: inconclusive unless the change exceeds twice the threshold")
    func singleRepetition() {
        #expect(Comparison.judge(change: -0.08, low: nil, high: nil, threshold: 0.05, higherIsBetter: true).0 == .inconclusive)
        #expect(Comparison.judge(change: 0.01, low: nil, high: nil, threshold: 0.05, higherIsBetter: true).0 == .inconclusive)
        #expect(Comparison.judge(change: -0.12, low: nil, high: nil, threshold: 0.05, higherIsBetter: true).0 == .regressed)
        #expect(Comparison.judge(change: 0.12, low: nil, high: nil, threshold: 0.05, higherIsBetter: false).0 == .regressed)
        let base = Synthetic.input([Synthetic.run(layer: "host", rep: 1, iops: 10_000, latencyNs: 800_000, seed: 1)])
        let cur = Synthetic.input([Synthetic.run(layer: "host", rep: 1, iops: 9_200, latencyNs: 800_000, seed: 1)])
        let c = Comparison.compare(baseline: base, current: cur, threshold: 0.05)
        #expect(c.rows.first { $0.metric == "iops" }?.verdict == .inconclusive)
        #expect(c.rows.first { $0.metric == "iops" }?.changeLow == nil)
    }

    @Test("a 20% IOPS cut with 2% noise over 3 repetitions is a regression; exit 1")
    func catchesCut() throws {
        let base = Synthetic.input(Synthetic.runs(layer: "host", reps: 3, iops: 50_000, noise: 0.02, seed: 41))
        let cur = Synthetic.input(Synthetic.runs(layer: "host", reps: 3, iops: 40_000, noise: 0.02, seed: 42))
        let c = Comparison.compare(baseline: base, current: cur, threshold: 0.05)
        let iops = try #require(c.rows.first { $0.metric == "iops" })
        #expect(iops.verdict == .regressed)
        #expect(abs(iops.change! + 0.2) < 0.05)
        #expect(c.rows.first { $0.metric == "p50_ns" }?.verdict == .regressed)  // latency up 25%
        #expect(c.exitCode == 1)
        // And the other way round it is an improvement, not a regression.
        let back = Comparison.compare(baseline: cur, current: base, threshold: 0.05)
        #expect(back.rows.first { $0.metric == "iops" }?.verdict == .improved)
        #expect(back.rows.first { $0.metric == "iops" && $0.verdict == .regressed } == nil)
    }

    @Test("the same distribution measured twice is not a regression")
    func sameDistribution() {
        for seed in UInt64(0)..<20 {
            let base = Synthetic.input(Synthetic.runs(layer: "host", reps: 3, iops: 50_000, noise: 0.02, seed: 100 + seed))
            let cur = Synthetic.input(Synthetic.runs(layer: "host", reps: 3, iops: 50_000, noise: 0.02, seed: 200 + seed))
            let c = Comparison.compare(baseline: base, current: cur, threshold: 0.05, metrics: [.iops, .bw])
            #expect(c.regressions.isEmpty, "seed \(seed): \(c.regressions.map { "\($0.metric) \(Comparison.formatChange($0))" })")
        }
    }

    @Test("a layer that fails now but worked before is a regression; an unavailable one is not")
    func failedLayer() {
        let base = Synthetic.input(Synthetic.runs(layer: "docker-volume", reps: 2, iops: 1000, noise: 0.01, seed: 1)
            + Synthetic.runs(layer: "oci-runc", reps: 2, iops: 1000, noise: 0.01, seed: 2))
        let cur = Synthetic.input([Synthetic.run(layer: "docker-volume", rep: 1, iops: 0, latencyNs: 0, seed: 1, status: "failed"),
                                   Synthetic.run(layer: "oci-runc", rep: 1, iops: 0, latencyNs: 0, seed: 1, status: "unavailable")])
        let c = Comparison.compare(baseline: base, current: cur, threshold: 0.05)
        #expect(c.rows.first { $0.layer == "docker-volume" }?.verdict == .regressed)
        #expect(c.rows.first { $0.layer == "oci-runc" }?.verdict == .inconclusive)
        #expect(c.exitCode == 1)
    }

    @Test("differing hosts, kernels, layer settings and workloads are noted")
    func notes() {
        var other = Synthetic.host
        other.kernel = "6.9.0-other"
        other.hostname = "elsewhere"
        let base = Synthetic.input(Synthetic.runs(layer: "docker-volume", reps: 2, iops: 1000, noise: 0.01, seed: 1, settings: ["storage_driver": "overlay2", "volume": "wp-1"]))
        var curRuns = Synthetic.runs(layer: "docker-volume", reps: 2, iops: 1000, noise: 0.01, seed: 2, settings: ["storage_driver": "btrfs", "volume": "wp-2"])
        for i in curRuns.indices { curRuns[i].workload.iodepth = 16 }
        curRuns += Synthetic.runs(layer: "host", reps: 1, iops: 1000, noise: 0.01, seed: 3)
        let c = Comparison.compare(baseline: base, current: Synthetic.input(curRuns, host: other), threshold: 0.05)
        let text = c.notes.joined(separator: "\n")
        #expect(text.contains("kernel differs: baseline 6.1.0-test vs current 6.9.0-other"))
        #expect(text.contains("host differs"))
        #expect(text.contains("storage_driver: overlay2 -> btrfs"))
        #expect(!text.contains("volume: wp-1"))
        #expect(text.contains("the workload differs"))
        #expect(text.contains("host / rand4k is only in CURRENT"))
    }

    @Test("JUnit XML is well formed: a failure per regression, skipped for inconclusive")
    func junit() throws {
        let base = Synthetic.input(Synthetic.runs(layer: "host", reps: 3, iops: 50_000, noise: 0.02, seed: 41)
            + Synthetic.runs(layer: "a<b>&\"c\"", reps: 1, iops: 50_000, noise: 0.02, seed: 43))
        let cur = Synthetic.input(Synthetic.runs(layer: "host", reps: 3, iops: 40_000, noise: 0.02, seed: 42)
            + Synthetic.runs(layer: "a<b>&\"c\"", reps: 1, iops: 49_000, noise: 0.02, seed: 44))
        let c = Comparison.compare(baseline: base, current: cur, threshold: 0.05)
        let xml = JUnitFormat.render(c)
        let doc = try XMLDocument(data: Data(xml.utf8))
        let root = try #require(doc.rootElement())
        #expect(root.name == "testsuites")
        let failures = try doc.nodes(forXPath: "//testcase/failure").count
        let skipped = try doc.nodes(forXPath: "//testcase/skipped").count
        #expect(failures == c.regressions.count && failures > 0)
        #expect(skipped == c.rows.filter { $0.verdict == .inconclusive }.count && skipped > 0)
        #expect(try doc.nodes(forXPath: "//testsuite[@name='a<b>&\"c\"']").count == 1)
        let md = MarkdownReport.render(c)
        #expect(md.hasPrefix("## writepath compare: \(c.regressions.count) regressed"))
        #expect(md.contains("**regressed**"))
    }
}

@Suite("compare: real runs", .serialized)
struct CompareRealRunTests {
    @Test("two real runs of the same build on /dev/shm (3 repetitions each) are not a regression")
    func sameBuild() throws {
        let dir = scratchFolder("same-build")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var w = Workload()
        w.name = "rand4k-qd8"
        w.rw = .randwrite
        w.bs = 4096
        w.iodepth = 8
        w.size = 16 << 20
        w.runtime = 1
        w.ramp_time = 0.2
        w.time_based = true
        w.filename = "\(dir)/target.dat"
        var baseline: [RunResult] = [], current: [RunResult] = []
        // Interleaved, as a matrix does, so that drift on the machine falls on both sides.
        for rep in 1...3 {
            baseline.append(try WorkloadRun(workload: w, rep: rep).execute())
            current.append(try WorkloadRun(workload: w, rep: rep).execute())
        }
        #expect(baseline.allSatisfy { $0.status == "ok" } && current.allSatisfy { $0.status == "ok" })
        let c = Comparison.compare(baseline: Synthetic.input(baseline), current: Synthetic.input(current), threshold: 0.05)
        print(CompareTextFormat.render(c))
        #expect(c.rows.count == RunMetric.allCases.count)
        #expect(c.regressions.isEmpty, "\(c.regressions.map { "\($0.metric) \(Comparison.formatChange($0))" })")
    }
}
