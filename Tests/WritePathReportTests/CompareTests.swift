import Foundation
import Testing
import WritePathResult

@testable import WritePathEngine
@testable import WritePathReport

#if canImport(Glibc)
    import Glibc
#endif
#if canImport(FoundationXML)
    import FoundationXML
#endif

@Suite("compare: verdicts and exit codes")
struct CompareTests {
    /// A tested row with the given change, 95% interval and adjusted one-sided p-values.
    func row(change: Double, low: Double, high: Double, higherIsBetter: Bool, pWorse: Double, pBetter: Double) -> MetricComparison {
        var r = MetricComparison(
            layer: "l", workload: "w", metric: "iops", higherIsBetter: higherIsBetter, baseline: [], current: [],
            change: change, changeLow: low, changeHigh: high, verdict: .inconclusive, reason: "")
        r.pWorseAdjusted = pWorse
        r.pBetterAdjusted = pBetter
        return r
    }

    @Test(
        "verdict semantics: regressed only when significantly worse after the correction and beyond the threshold",
        arguments: [
            // change, low, high, higherIsBetter, adjusted p worse, adjusted p better, expected
            (-0.20, -0.23, -0.17, true, 0.001, 1.0, Verdict.regressed),
            (0.20, 0.17, 0.23, true, 1.0, 0.001, .improved),
            (0.20, 0.17, 0.23, false, 0.001, 1.0, .regressed),  // latency up 20%
            (-0.20, -0.23, -0.17, false, 1.0, 0.001, .improved),
            (0.01, -0.03, 0.04, true, 0.4, 0.3, .unchanged),
            (-0.06, -0.12, 0.01, true, 0.08, 0.9, .inconclusive),  // beyond the threshold but not significant
            (-0.20, -0.23, -0.17, true, 0.06, 1.0, .inconclusive),  // significant alone, not after the correction
            (-0.03, -0.04, -0.02, true, 0.001, 1.0, .unchanged),  // significant but within the threshold
        ] as [(Double, Double, Double, Bool, Double, Double, Verdict)])
    func judge(change: Double, low: Double, high: Double, higherIsBetter: Bool, pWorse: Double, pBetter: Double, expected: Verdict) {
        let r = row(change: change, low: low, high: high, higherIsBetter: higherIsBetter, pWorse: pWorse, pBetter: pBetter)
        #expect(Comparison.judge(r, threshold: 0.05, alpha: 0.05).0 == expected)
    }

    @Test("below 3 repetitions: n too small, no interval and no verdict that needs one")
    func tooFewRepetitions() throws {
        let base = Synthetic.input(Synthetic.runs(layer: "host", reps: 2, iops: 10_000, noise: 0.01, seed: 1))
        let cur = Synthetic.input(Synthetic.runs(layer: "host", reps: 2, iops: 5_000, noise: 0.01, seed: 2))
        let c = Comparison.compare(baseline: base, current: cur, threshold: 0.05)
        let iops = try #require(c.rows.first { $0.metric == "iops" })
        #expect(iops.verdict == .inconclusive)
        #expect(iops.changeLow == nil && iops.pWorse == nil)
        #expect(iops.reason.hasPrefix("n too small"))
        #expect(Comparison.formatChange(iops).hasSuffix("(n too small)"))
        #expect(c.exitCode == 0)
    }

    @Test("relative to host: a uniformly slower machine changes nothing; absolute sees it")
    func relativeCancelsMachine() throws {
        func side(_ scale: Double, seed: UInt64) -> ResultInput {
            Synthetic.input(
                Synthetic.runs(layer: "host", reps: 5, iops: 50_000 * scale, noise: 0.02, seed: seed)
                    + Synthetic.runs(layer: "docker-volume", reps: 5, iops: 40_000 * scale, noise: 0.02, seed: seed + 1))
        }
        let base = side(1, seed: 10), cur = side(0.7, seed: 20)
        let relative = Comparison.compare(baseline: base, current: cur, threshold: 0.05, relativeTo: "host")
        #expect(relative.regressions.isEmpty, "\(relative.regressions.map { "\($0.label) \($0.metric) \(Comparison.formatChange($0))" })")
        #expect(!relative.rows.contains { $0.layer == "host" })
        #expect(relative.rows.first { $0.metric == "iops" }?.referenceCurrent.count == 5)
        let absolute = Comparison.compare(baseline: base, current: cur, threshold: 0.05)
        #expect(absolute.rows.first { $0.layer == "host" && $0.metric == "iops" }?.verdict == .regressed)
        // And a layer that really got slower relative to host is caught.
        let slower = Synthetic.input(
            Synthetic.runs(layer: "host", reps: 5, iops: 35_000, noise: 0.02, seed: 30)
                + Synthetic.runs(layer: "docker-volume", reps: 5, iops: 28_000 * 0.8, noise: 0.02, seed: 31))
        let caught = Comparison.compare(baseline: base, current: slower, threshold: 0.05, relativeTo: "host")
        let iops = try #require(caught.rows.first { $0.metric == "iops" })
        #expect(iops.verdict == .regressed)
        #expect(abs(iops.change! + 0.2) < 0.04)
        #expect(CompareTextFormat.summary(caught).contains("relative to host"))
    }

    @Test("layer identity: location parameters are settings; the rest is identity")
    func layerIdentity() {
        #expect(LayerIdentity.of("host(directory=/tmp/x)") == "host")
        #expect(LayerIdentity.of("host") == "host")
        #expect(LayerIdentity.of("docker-bind(cpus=1,path=/a,b)") == "docker-bind(cpus=1)")
        #expect(LayerIdentity.of("docker-volume(write_iops_limit=500)") == "docker-volume(write_iops_limit=500)")
        let base = Synthetic.input(
            Synthetic.runs(
                layer: "host", spec: "host(directory=/scratch/ci-1)", reps: 3, iops: 1000, noise: 0.01, seed: 1,
                settings: ["directory": "/scratch/ci-1"]))
        let cur = Synthetic.input(
            Synthetic.runs(
                layer: "host", spec: "host(directory=/scratch/ci-2)", reps: 3, iops: 1000, noise: 0.01, seed: 2,
                settings: ["directory": "/scratch/ci-2"]))
        let c = Comparison.compare(baseline: base, current: cur, threshold: 0.05)
        #expect(c.rows.first?.layer == "host")
        #expect(!c.notes.contains { $0.contains("only in") || $0.contains("settings differ") }, "\(c.notes)")
        #expect(Aggregation.aggregate(cur).rows.first?.layer == "host")
    }

    @Test("JSON output: every verdict with its numbers")
    func json() throws {
        let base = Synthetic.input(Synthetic.runs(layer: "host", reps: 3, iops: 50_000, noise: 0.02, seed: 41))
        let cur = Synthetic.input(Synthetic.runs(layer: "host", reps: 3, iops: 40_000, noise: 0.02, seed: 42))
        let c = Comparison.compare(baseline: base, current: cur, threshold: 0.05)
        let obj = try #require(try JSONSerialization.jsonObject(with: Data(try CompareJSONFormat.render(c).utf8)) as? [String: Any])
        #expect(obj["schema"] as? String == "writepath.compare/1")
        #expect(obj["alpha"] as? Double == 0.05)
        #expect(obj["exit_code"] as? Int == 1)
        let rows = try #require(obj["rows"] as? [[String: Any]])
        #expect(rows.count == c.rows.count)
        let iops = try #require(rows.first { $0["metric"] as? String == "iops" })
        #expect(iops["verdict"] as? String == "regressed")
        #expect((iops["p_worse_adjusted"] as? Double).map { $0 < 0.05 } == true)
        #expect((iops["baseline"] as? [Double])?.count == 3)
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

    @Test("the same distribution measured twice is a regression at most alpha of the time (200 seeded pairs)")
    func sameDistribution() {
        var failed = 0
        for seed in UInt64(0)..<200 {
            let base = Synthetic.input(Synthetic.runs(layer: "host", reps: 3, iops: 50_000, noise: 0.02, seed: 100 + seed))
            let cur = Synthetic.input(Synthetic.runs(layer: "host", reps: 3, iops: 50_000, noise: 0.02, seed: 1000 + seed))
            if Comparison.compare(baseline: base, current: cur, threshold: 0.05, metrics: [.iops, .bw]).exitCode != 0 { failed += 1 }
        }
        #expect(failed <= 10, "\(failed) of 200")
    }

    @Test("a layer that fails now but worked before is a regression; an unavailable one is not")
    func failedLayer() {
        let base = Synthetic.input(
            Synthetic.runs(layer: "docker-volume", reps: 2, iops: 1000, noise: 0.01, seed: 1)
                + Synthetic.runs(layer: "oci-runc", reps: 2, iops: 1000, noise: 0.01, seed: 2))
        let cur = Synthetic.input([
            Synthetic.run(layer: "docker-volume", rep: 1, iops: 0, latencyNs: 0, seed: 1, status: .failed),
            Synthetic.run(layer: "oci-runc", rep: 1, iops: 0, latencyNs: 0, seed: 1, status: .unavailable),
        ])
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
        let base = Synthetic.input(
            Synthetic.runs(
                layer: "docker-volume", reps: 2, iops: 1000, noise: 0.01, seed: 1,
                settings: ["storage_driver": "overlay2", "volume": "wp-1"]))
        var curRuns = Synthetic.runs(
            layer: "docker-volume", reps: 2, iops: 1000, noise: 0.01, seed: 2, settings: ["storage_driver": "btrfs", "volume": "wp-2"])
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
        let base = Synthetic.input(
            Synthetic.runs(layer: "host", reps: 3, iops: 50_000, noise: 0.02, seed: 41)
                + Synthetic.runs(layer: "a<b>&\"c\"", reps: 1, iops: 50_000, noise: 0.02, seed: 43))
        let cur = Synthetic.input(
            Synthetic.runs(layer: "host", reps: 3, iops: 40_000, noise: 0.02, seed: 42)
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
            baseline.append(try WorkloadRun(workload: w).execute(rep: rep))
            current.append(try WorkloadRun(workload: w).execute(rep: rep))
        }
        #expect(baseline.allSatisfy { $0.status == .ok } && current.allSatisfy { $0.status == .ok })
        let c = Comparison.compare(baseline: Synthetic.input(baseline), current: Synthetic.input(current), threshold: 0.05)
        print(CompareTextFormat.render(c))
        #expect(c.rows.count == RunMetric.allCases.count)
        #expect(c.regressions.isEmpty, "\(c.regressions.map { "\($0.metric) \(Comparison.formatChange($0))" })")
    }
}
