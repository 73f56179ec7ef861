import Foundation
import Testing
import WritePathTestSupport

@testable import WritePathEngine
@testable import WritePathReport
@testable import WritePathResult

/// The long format for notebooks and dashboards (results-long.csv, results.jsonl): one row per
/// run × direction with where it came from, every layer setting and workload option its own
/// column; read by the docs' pandas snippet, and writepath.prom read by Prometheus' own parser.
@Suite("Long-format exports: results-long.csv, results.jsonl, read by pandas; writepath.prom by prometheus_client", .serialized)
struct LongFormatTests {
    /// ExportTests' runs (host and docker-bind, settings with spaces and quotes), a randrw run
    /// (two directions) and a failed run (no metrics).
    static func input() -> ResultInput {
        var input = ExportTests.input()
        var mixed = Synthetic.run(layer: "host", workload: "mixed", rep: 1, iops: 30_000, latencyNs: 50_000, seed: 9)
        mixed.workload.rw = .randrw
        mixed.read = mixed.write
        mixed.read!.iops = 10_000
        var failed = Synthetic.run(layer: "docker-bind", workload: "mixed", rep: 1, iops: 0, latencyNs: 0, seed: 10, status: .failed)
        failed.layer.settings = ["storage": "bind mount", LayerWritePath.settingsKey: "application\n  -> ext4"]
        input.sources[0].document.runs += [mixed, failed]
        return input
    }

    static func column(_ header: [String], _ row: [String], _ name: String) -> String? {
        header.firstIndex(of: name).map { row[$0] }
    }

    @Test("one row per run × direction; provenance, each layer setting and each stored workload option of the table as columns")
    func table() throws {
        let input = Self.input()
        let table = LongTable.of(input)
        let options = Workload.options.filter(\.isStored).map { "workload.\($0.name)" }
        #expect(options.contains("workload.bs") && options.contains("workload.rw") && options.contains("workload.iodepth"))
        // Options that keep nothing of their own get no column: an alias with its own meaning, a scheduling switch, a refused one.
        for absent in ["workload.buffered", "workload.stonewall", "workload.rate", "workload.thread"] { #expect(!options.contains(absent)) }
        // The write-path diagram is the layer's description (report.html draws it), not a column.
        #expect(table.columns == LongTable.fixedColumns + ["layer.note", "layer.quote", "layer.storage"] + options)

        let rows = ExportTests.parseCSV(LongCSVFormat.render(table))
        let header = rows[0]
        #expect(header == table.columns)
        #expect(rows.count == 1 + 6 + 2 + 1 && rows.allSatisfy { $0.count == header.count })
        func cell(_ row: [String], _ name: String) -> String { Self.column(header, row, name) ?? "<no column \(name)>" }
        let bind = try #require(rows.first { $0[header.firstIndex(of: "layer")!] == "docker-bind" && cell($0, "workload") == "rand4k" })
        #expect(cell(bind, "layer.storage") == "bind mount of a host folder, cached" && cell(bind, "layer.quote") == "say \"hi\"")
        #expect(cell(bind, "layer.note") == "a=b c=d")
        #expect(cell(bind, "workload.bs") == "4096" && cell(bind, "workload.rw") == "randwrite" && cell(bind, "workload.iodepth") == "8")
        #expect(cell(bind, "host") == "testhost" && cell(bind, "kernel") == "6.1.0-test" && cell(bind, "cpu") == "Test CPU")
        #expect(cell(bind, "writepath_commit") == "0123456789abcdef" && cell(bind, "started_at") == "2026-11-26T00:00:00Z")
        #expect(cell(bind, "direction") == "write" && cell(bind, "status") == "ok")
        let run = try #require(input.runs.first { $0.layer.name == "docker-bind" && $0.rep == Int(cell(bind, "rep")) })
        #expect(cell(bind, "iops") == CSVFormat.num(run.write!.iops))
        #expect(cell(bind, "lat_p99_ns") == "\(run.write!.lat_ns.p99)")
        let hostRow = try #require(rows.first { cell($0, "layer") == "host" && cell($0, "workload") == "rand4k" })
        #expect(cell(hostRow, "layer.storage") == "")
        // randrw: a write row and a read row; a failed run: one row with its error and no metrics.
        let mixed = rows.filter { cell($0, "workload") == "mixed" && cell($0, "layer") == "host" }
        #expect(mixed.map { cell($0, "direction") } == ["write", "read"])
        #expect(mixed.map { cell($0, "iops") } == [CSVFormat.num(30_000), CSVFormat.num(10_000)])
        let failed = try #require(rows.first { cell($0, "status") == "failed" })
        #expect(cell(failed, "direction") == "" && cell(failed, "iops") == "" && cell(failed, "error") == "synthetic failure")

        // results.jsonl: the same rows, the same keys in each, numbers as numbers, null for what a run lacks.
        let lines = JSONLinesFormat.render(table).split(separator: "\n")
        #expect(lines.count == rows.count - 1)
        let objects = try lines.map { try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]) }
        #expect(objects.allSatisfy { Set($0.keys) == Set(table.columns) })
        let b = try #require(objects.first { $0["layer"] as? String == "docker-bind" && $0["workload"] as? String == "rand4k" })
        #expect((b["workload.bs"] as? NSNumber)?.intValue == 4096 && b["workload.rw"] as? String == "randwrite")
        #expect(b["layer.quote"] as? String == "say \"hi\"" && (b["iops"] as? NSNumber) != nil)
        let f = try #require(objects.first { $0["status"] as? String == "failed" })
        #expect(f["iops"] is NSNull && f["direction"] is NSNull && f["error"] as? String == "synthetic failure")
        #expect(JSONLinesFormat.string("a\"b\\c\n\u{1}") == #""a\"b\\c\n\u0001""#)
        #expect(["4096", "10.0", "-1", "1e5", "0", "2.5E-3"].allSatisfy(LongTable.isJSONNumber))
        #expect(!["01", "1.", "zipf:1.2", "", "-", "4k", "1e"].contains(where: LongTable.isJSONNumber))
    }

    @Test("a fleet host's rows carry its inventory name")
    func fleetHost() {
        var input = ExportTests.input()
        input.sources[0].host = "rack1-a"
        let table = LongTable.of(input)
        let host = table.columns.firstIndex(of: "host")!
        #expect(table.rows.allSatisfy { $0[host] == .text("rack1-a") })
    }

    /// `results/example/run.json` reported into a scratch folder by the built binary.
    static func exampleReport(_ name: String) throws -> String {
        let dir = scratchFolder(name)
        try FileManager.default.copyItem(atPath: "\(ReportDocsTests.root)/results/example/run.json", toPath: "\(dir)/run.json")
        let o = try runProcess(writepathBinary, ["report", dir])
        #expect(o.status == 0, "\(o.stderr)")
        #expect(o.stdout.contains("long format: \(dir)/results-long.csv, \(dir)/results.jsonl"))
        return dir
    }

    /// The docs' pandas snippet (the ```python block that imports pandas) and the output the docs show for it.
    static func pandasSnippet() throws -> (code: String, shown: String) {
        let docs = ReportDocsTests.read("docs/reports.md")
        let m = try #require(docs.firstMatch(of: /```python\n(import sys\nimport pandas[\s\S]*?)```\n[^`]*```text\n([\s\S]*?)```/))
        return (String(m.output.1), String(m.output.2))
    }

    @Test(
        "the docs' pandas snippet reads results-long.csv of results/example and prints what the docs show", Precondition.pythonReports.trait
    )
    func pandas() throws {
        let dir = try Self.exampleReport("long-pandas")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let written = try String(contentsOfFile: "\(dir)/results-long.csv", encoding: .utf8)
        let document = try JSONFormat.parse(try Data(contentsOf: URL(fileURLWithPath: "\(dir)/run.json")), source: "run.json")
        #expect(written == LongCSVFormat.render(LongTable.of(ResultInput(sources: [.init(path: "run.json", document: document)]))))
        let snippet = try Self.pandasSnippet()
        try snippet.code.write(toFile: "\(dir)/snippet.py", atomically: true, encoding: .utf8)
        let py = try runProcess(Precondition.debianPython, ["\(dir)/snippet.py", dir], timeout: 120)
        #expect(py.status == 0, "\(py.stderr)")
        #expect(py.stdout == snippet.shown, "the snippet printed:\n\(py.stdout)\nthe docs show:\n\(snippet.shown)")

        // Independently of the docs: each printed ratio is the layer's median IOPS over host's, per block size.
        var iops: [String: [UInt64: [Double]]] = [:]
        for r in document.runs where r.status == .ok {
            if let w = r.write { iops[r.layerIdentity, default: [:]][r.workload.bs, default: []].append(w.iops) }
        }
        let sizes = iops["host"]!.keys.sorted()
        let lines = py.stdout.split(separator: "\n").map { $0.split(separator: " ") }
        // The ratio rows: a layer's name, then numbers (not the provenance table's header, which starts with "host").
        let table = lines.filter { iops[String($0.first ?? "")] != nil && $0.count > 1 && $0.dropFirst().allSatisfy { Double($0) != nil } }
        #expect(table.count == iops.count, "\(py.stdout)")
        for line in table {
            let layer = String(line[0])
            #expect(line.count == 1 + sizes.count, "\(line)")
            for (k, bs) in sizes.enumerated() where k + 1 < line.count {
                let expected = Stats.median(iops[layer]![bs]!)! / Stats.median(iops["host"]![bs]!)!
                let printed = try #require(Double(line[k + 1]))
                #expect(abs(printed - expected) <= 0.0051, "\(layer) bs=\(bs): printed \(printed), the runs give \(expected)")
            }
        }
        #expect(py.stdout.contains(document.host.hostname) && py.stdout.contains(String(document.writepath.git_commit.prefix(12))))
    }

    /// Parses Prometheus text with prometheus_client's parser (Prometheus' own Python client) and
    /// prints each family as `name type samples`, then each sample as JSON [name, labels, value].
    static let parser = """
        import json, sys
        from prometheus_client.parser import text_string_to_metric_families
        for family in text_string_to_metric_families(open(sys.argv[1]).read()):
            print(family.name, family.type, len(family.samples))
            for s in family.samples:
                print(json.dumps([s.name, s.labels, s.value], sort_keys=True))
        """

    @Test(
        "writepath.prom parses with prometheus_client: every family and sample, label values unescaped exactly",
        Precondition.pythonReports.trait)
    func prometheusClient() throws {
        let dir = try Self.exampleReport("long-prom")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Self.parser.write(toFile: "\(dir)/parse.py", atomically: true, encoding: .utf8)
        var runs = ExportTests.input().runs
        runs += Synthetic.runs(layer: "odd", spec: "odd(note=a \"b\" \\ c\nd)", reps: 3, iops: 40_000, noise: 0.02, seed: 3)
        try PrometheusFormat.render(Aggregation.aggregate(Synthetic.input(runs))).write(
            toFile: "\(dir)/odd.prom", atomically: true, encoding: .utf8)
        for file in ["\(dir)/writepath.prom", "\(dir)/odd.prom"] {
            let text = try String(contentsOfFile: file, encoding: .utf8)
            let py = try runProcess(Precondition.debianPython, ["\(dir)/parse.py", file], timeout: 60)
            #expect(py.status == 0, "\(file): \(py.stderr)")
            let lines = py.stdout.split(separator: "\n")
            let families = lines.filter { !$0.hasPrefix("[") }.map { $0.split(separator: " ").map(String.init) }
            let typeLines = text.split(separator: "\n").filter { $0.hasPrefix("# TYPE ") }.map { $0.split(separator: " ").map(String.init) }
            #expect(families.map { [$0[0], $0[1]] } == typeLines.map { [$0[2], $0[3]] }, "\(py.stdout)")
            let sampleLines = text.split(separator: "\n").filter { !$0.hasPrefix("#") && !$0.isEmpty }
            let samples = try lines.filter { $0.hasPrefix("[") }.map {
                try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [Any])
            }
            #expect(samples.count == sampleLines.count && samples.count == families.reduce(0) { $0 + Int($1[2])! })
            for s in samples {
                let labels = try #require(s[1] as? [String: String])
                #expect(labels["layer"] != nil && labels["workload"] != nil && labels["host"] != nil, "\(s)")
                #expect((s[2] as? NSNumber)?.doubleValue.isFinite == true)
            }
            if file.hasSuffix("odd.prom") {
                #expect(samples.contains { ($0[1] as? [String: String])?["layer"] == "odd(note=a \"b\" \\ c\nd)" })
            }
        }
        // The parser rejects what the format forbids, so a broken writepath.prom would fail above.
        try "# TYPE writepath_iops gauge\nwritepath_iops{layer=\"a\"b\"} 1\n".write(
            toFile: "\(dir)/bad.prom", atomically: true, encoding: .utf8)
        let bad = try runProcess(Precondition.debianPython, ["\(dir)/parse.py", "\(dir)/bad.prom"], timeout: 60)
        #expect(bad.status != 0)
    }
}
