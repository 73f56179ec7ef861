import Foundation
import Testing
import WritePathResult
import WritePathRunner

@testable import WritePathEngine
@testable import WritePathReport

@Suite("aggregation over repetitions")
struct AggregationTests {
    @Test("median, CV and a reproducible interval around the median")
    func statistics() throws {
        #expect(Stats.median([3, 1, 2]) == 2)
        #expect(Stats.median([4, 1, 2, 3]) == 2.5)
        #expect(Stats.median([]) == nil)
        #expect(Stats.coefficientOfVariation([5]) == nil)
        let cv = try #require(Stats.coefficientOfVariation([90, 100, 110]))
        #expect(abs(cv - 0.1) < 1e-9)
        let values = [100.0, 104, 97, 101, 99, 103]
        let a = try #require(Stats.medianInterval(values))
        let b = try #require(Stats.medianInterval(values))
        #expect(a.low == b.low && a.high == b.high)
        #expect(a.low <= 100 && 100 <= a.high && a.low >= 97 && a.high <= 104)
        #expect(Stats.medianInterval([1]) == nil)
    }

    @Test("percentiles come from merged histograms, not averaged percentiles")
    func mergedHistograms() throws {
        // Rep 1: 1000 I/Os at ~100 us; rep 2: 3000 I/Os at ~300 us. Averaging the p50s would give
        // ~200 us; the merged histogram's p50 is ~300 us because 3/4 of all I/Os took ~300 us.
        var fast = Synthetic.run(layer: "host", rep: 1, iops: 1000, latencyNs: 100_000, ios: 1000, seed: 1)
        var slow = Synthetic.run(layer: "host", rep: 2, iops: 3000, latencyNs: 300_000, ios: 3000, seed: 2)
        for i in 0..<2 {
            var h = LatencyHistogram()
            h.record(i == 0 ? 100_000 : 300_000, count: i == 0 ? 1000 : 3000)
            if i == 0 {
                fast.write!.histogram = h.encoded; fast.write!.lat_ns = h.summary
            } else {
                slow.write!.histogram = h.encoded; slow.write!.lat_ns = h.summary
            }
        }
        let a = Aggregation.aggregate(Synthetic.input([fast, slow]))
        let row = try #require(a.rows.first)
        let merged = try #require(row.merged)
        #expect(merged.count == 4000)
        #expect(abs(Double(merged.value(atPercentile: 50)) - 300_000) < 300)
        #expect(row.estimates[.p50]!.median == 200_000)  // per-repetition p50s: the median of 100 and 300 us
        let csv = CSVReport.render(a)
        let header = csv.split(separator: "\n")[0].split(separator: ",").map(String.init)
        let fields = csv.split(separator: "\n")[1].split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        #expect(header == CSVReport.columns)
        #expect(fields.count == header.count)
        let p50 = try #require(Double(fields[header.firstIndex(of: "merged_lat_p50_ns")!]))
        #expect(abs(p50 - 300_000) < 300)
        #expect(fields[header.firstIndex(of: "merged_ios")!] == "4000")
    }

    @Test("layers are told apart by their matrix spec, then by name")
    func layerIdentity() {
        let runs =
            Synthetic.runs(layer: "docker-volume", reps: 2, iops: 1000, noise: 0.01, seed: 1)
            + Synthetic.runs(layer: "docker-volume", spec: "docker-volume(write_iops_limit=500)", reps: 2, iops: 500, noise: 0.01, seed: 2)
            + Synthetic.runs(layer: "host", reps: 2, iops: 1000, noise: 0.01, seed: 3)
        let a = Aggregation.aggregate(Synthetic.input(runs))
        #expect(a.rows.map(\.layer) == ["host", "docker-volume", "docker-volume(write_iops_limit=500)"])
        #expect(a.rows[2].layerName == "docker-volume")
    }

    @Test("ratios to the baseline layer carry an interval and say whether it includes 1")
    func ratios() throws {
        let runs =
            Synthetic.runs(layer: "host", reps: 5, iops: 10_000, noise: 0.02, seed: 11)
            + Synthetic.runs(layer: "slow", reps: 5, iops: 5_000, noise: 0.02, seed: 12)
            + Synthetic.runs(layer: "same", reps: 5, iops: 10_000, noise: 0.02, seed: 13)
        let a = Aggregation.aggregate(Synthetic.input(runs))
        let slow = try #require(a.rows.first { $0.layer == "slow" }?.iopsRatio)
        #expect(abs(slow.point - 0.5) < 0.03)
        #expect(slow.intervalIncludesOne == false)
        #expect(try #require(slow.high) < 0.6)
        let same = try #require(a.rows.first { $0.layer == "same" }?.iopsRatio)
        #expect(same.intervalIncludesOne == true)
        #expect(a.rows.first { $0.layer == "host" }?.iopsRatio == nil)
        let added = try #require(a.rows.first { $0.layer == "slow" }?.addedP50Nanoseconds)
        #expect(added > 500_000)  // latency doubles from ~0.8 ms
        // Same input, same output: the bootstrap seed is fixed.
        #expect(CSVReport.render(a) == CSVReport.render(Aggregation.aggregate(Synthetic.input(runs))))
    }

    @Test("only ok runs count; failed and unavailable runs, TCG, noise and faster-than-host are warned about")
    func warnings() throws {
        var runs = Synthetic.runs(layer: "host", reps: 3, iops: 10_000, noise: 0.01, seed: 21)
        runs += Synthetic.runs(layer: "qemu-virtio", reps: 3, iops: 20_000, noise: 0.01, seed: 22, settings: ["accel": "tcg"])
        runs += Synthetic.runs(layer: "docker-noisy", reps: 4, iops: 10_000, noise: 0.3, seed: 23)
        runs.append(Synthetic.run(layer: "docker-volume", rep: 1, iops: 0, latencyNs: 0, seed: 1, status: .failed))
        runs.append(Synthetic.run(layer: "xen-pv", rep: 1, iops: 0, latencyNs: 0, seed: 1, status: .unavailable))
        runs += Synthetic.runs(layer: "docker-volume", reps: 2, iops: 9_000, noise: 0.01, seed: 24)
        let a = Aggregation.aggregate(Synthetic.input(runs), options: .init(baselineLayer: "host", cvThreshold: 0.1))
        let text = a.warnings.joined(separator: "\n")
        #expect(text.contains("docker-volume / rand4k rep 1: failed: synthetic failure"))
        #expect(text.contains("xen-pv / rand4k rep 1: unavailable"))
        #expect(text.contains("qemu-virtio / rand4k: the guest runs under TCG"))
        #expect(text.contains("qemu-virtio / rand4k: p50"))
        #expect(text.contains("a cache is probably being measured"))
        #expect(text.contains("docker-noisy / rand4k: noisy"))
        #expect(!text.contains("host / rand4k: noisy"))
        let volume = try #require(a.rows.first { $0.layer == "docker-volume" })
        #expect(volume.runs.count == 3 && volume.okRuns.count == 2 && volume.estimates[.iops]!.values.count == 2)
        let xen = try #require(a.rows.first { $0.layer == "xen-pv" })
        #expect(xen.estimates.isEmpty && xen.merged == nil)
        #expect(CSVReport.render(a).contains("failed=1 ok=2"))
    }

    @Test("a missing baseline layer is a warning, not an error")
    func missingBaseline() {
        let a = Aggregation.aggregate(Synthetic.input(Synthetic.runs(layer: "docker-bind", reps: 2, iops: 100, noise: 0.01, seed: 1)))
        #expect(a.warnings.contains { $0.contains("baseline layer 'host' is not in the results") })
        #expect(a.rows[0].iopsRatio == nil)
    }

    @Test("the per-run CSV keeps CSVFormat's columns with the layer identity")
    func runsCSV() {
        let runs = Synthetic.runs(layer: "docker-volume", spec: "docker-volume(cpus=1)", reps: 2, iops: 100, noise: 0.01, seed: 1)
        let csv = CSVReport.renderRuns(Synthetic.input(runs))
        let lines = csv.split(separator: "\n")
        #expect(lines[0] == Substring(CSVFormat.columns.joined(separator: ",")))
        #expect(lines.count == 3)
        #expect(lines[1].hasPrefix("docker-volume(cpus=1),rand4k,1,ok"))
    }
}

@Suite("HTML and Markdown reports")
struct ReportFormatTests {
    static let hostile = "<script>alert('x')</script>&\"layer\""

    func aggregation() -> Aggregation {
        var runs = Synthetic.runs(layer: "host", reps: 3, iops: 10_000, noise: 0.02, seed: 31)
        runs += Synthetic.runs(
            layer: "docker-overlay", reps: 3, iops: 8_000, noise: 0.02, seed: 32,
            settings: ["storage_driver": "overlay2", "docker_version": "20.10"])
        runs += Synthetic.runs(
            layer: "qemu-virtio-blk", reps: 3, iops: 6_000, noise: 0.02, seed: 33, settings: ["accel": "kvm", "qemu_version": "8.2.0"])
        runs += Synthetic.runs(layer: Self.hostile, reps: 2, iops: 7_000, noise: 0.02, seed: 34, settings: ["note": Self.hostile])
        runs += Synthetic.runs(layer: "host", workload: "seq|128k", reps: 2, iops: 1_000, noise: 0.02, seed: 35)
        for i in runs.indices where runs[i].layer.name == "docker-overlay" {
            runs[i].engine.features = ["setup:defer_taskrun", "iowq:punted"]
            runs[i].iodepth_level = ["1": 0, "2": 0, "4": 0, "8": 100, "16": 0, "32": 0, ">=64": 0]
        }
        // As `writepath report` does: runs that recorded no write path get their layer's own.
        var input = Synthetic.input(runs)
        LayerRegistry.fillWritePaths(&input)
        return Aggregation.aggregate(input)
    }

    @Test("report.html is self-contained, escapes every text and holds the charts and diagrams")
    func html() {
        let page = HTMLReport.render(aggregation())
        #expect(page.hasPrefix("<!DOCTYPE html>"))
        #expect(!page.contains("<script"))
        #expect(!page.contains(Self.hostile))
        #expect(page.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;&quot;layer&quot;"))
        for external in ["http://", "https://", "<link", "@import", "url(", "<img", "<iframe"] {
            #expect(!page.contains(external), "report.html must not reference \(external)")
        }
        #expect(page.contains("@media print"))
        // Throughput, latency and series charts per workload (2), plus a diagram per layer (4).
        #expect(page.components(separatedBy: "role=\"img\"").count - 1 == 2 * 3 + 4)
        #expect(page.contains("guest kernel") && page.contains("hypervisor") && page.contains("namespaces · cgroup"))
        #expect(page.contains("QEMU (kvm)"))
        #expect(page.contains("overlay2") && page.contains("8.2.0"))
        #expect(page.contains(">99.9<"))
        // The engine table: what the kernel did with the writes in each layer, and the queue depths.
        #expect(page.contains("<h3>Engine</h3>"))
        #expect(page.contains("docker-overlay / rand4k</th><td class=\"l\">io_uring <code>setup:defer_taskrun, iowq:punted</code>"))
        #expect(page.contains("8=100.0%"))
        let emptyPaths = page.components(separatedBy: "d=\"\"").count - 1
        #expect(emptyPaths == 0)
    }

    @Test("summary.md is a table with a line per layer against the baseline; cells are escaped")
    func markdown() {
        let md = MarkdownReport.render(aggregation())
        #expect(md.contains("| layer / workload | ok/runs | IOPS [95% CI]"))
        #expect(md.contains("seq\\|128k"))
        #expect(!md.contains("<script>"))
        #expect(md.contains("**docker-overlay / rand4k**: IOPS lower by"))
        // The two detail tables each have a row per layer × workload (5).
        let tableRows = md.split(separator: "\n").filter { $0.hasPrefix("| ") && !$0.hasPrefix("| layer") }
        let costRows = WritePathCost.table(aggregation()).reduce(0) { $0 + $1.costs.count }
        #expect(tableRows.count == 2 * 5 + costRows)
    }
}
