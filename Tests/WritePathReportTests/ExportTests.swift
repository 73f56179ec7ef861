import Foundation
import Testing
import WritePathTestSupport

@testable import WritePathEngine
@testable import WritePathReport
@testable import WritePathResult

/// Exports for dashboards and notebooks: CSV rows that say where they came from, layer settings
/// that survive spaces, Prometheus' text format, HdrHistogram's .hgrm, fio's json+ bins.
@Suite("CSV and export formats", .serialized)
struct ExportTests {
    /// RFC 4180 fields of one CSV text: quoted fields may hold commas, quotes and newlines.
    static func parseCSV(_ text: String) -> [[String]] {
        var rows: [[String]] = [], row: [String] = [], field = "", quoted = false
        var it = Array(text).makeIterator()
        var pending: Character? = nil
        while let c = pending ?? it.next() {
            pending = nil
            if quoted {
                if c == "\"" {
                    if let n = it.next() {
                        if n == "\"" { field.append("\"") } else { quoted = false; pending = n }
                    } else {
                        quoted = false
                    }
                } else {
                    field.append(c)
                }
            } else if c == "\"" {
                quoted = true
            } else if c == "," {
                row.append(field); field = ""
            } else if c == "\n" {
                row.append(field); rows.append(row); row = []; field = ""
            } else {
                field.append(c)
            }
        }
        if !field.isEmpty || !row.isEmpty { row.append(field); rows.append(row) }
        return rows
    }

    static func input() -> ResultInput {
        let settings = ["storage": "bind mount of a host folder, cached", "note": "a=b c=d", "quote": "say \"hi\""]
        var runs = Synthetic.runs(layer: "host", reps: 3, iops: 50_000, noise: 0.02, seed: 1)
        runs += Synthetic.runs(layer: "docker-bind", reps: 3, iops: 45_000, noise: 0.02, seed: 2, settings: settings)
        var doc = Synthetic.document(runs)
        doc.writepath.git_commit = "0123456789abcdef"
        return ResultInput(sources: [ResultInput.Source(path: "x/run.json", document: doc)])
    }

    @Test("run rows carry host, kernel, UTC start time and commit; layer_settings is one JSON object that keeps spaces")
    func csvProvenance() throws {
        let input = Self.input()
        for text in [CSVFormat.render(input.sources[0].document), CSVReport.renderRuns(input)] {
            let rows = Self.parseCSV(text)
            let header = rows[0]
            #expect(Array(header.suffix(4)) == ["host", "kernel", "started_at", "writepath_commit"])
            #expect(rows.count == 7 && rows.allSatisfy { $0.count == header.count })
            let bind = try #require(rows.first { $0[0] == "docker-bind" })
            #expect(Array(bind.suffix(4)) == ["testhost", "6.1.0-test", "2026-11-26T00:00:00Z", "0123456789abcdef"])
            let cell = bind[header.firstIndex(of: "layer_settings")!]
            let settings = try JSONDecoder().decode([String: String].self, from: Data(cell.utf8))
            #expect(settings["storage"] == "bind mount of a host folder, cached")
            #expect(settings["note"] == "a=b c=d" && settings["quote"] == "say \"hi\"")
        }
        let report = Self.parseCSV(CSVReport.render(Aggregation.aggregate(input)))
        // Results of one host: `host` and `host_kernel` hold the results' hosts and kernels (a fleet: each row's own).
        #expect(
            Array(report[0].suffix(6)) == [
                "host", "host_cpu", "host_kernel", "host_virtualization", "first_started_at", "writepath_commit",
            ])
        #expect(Array(report[1].suffix(6)) == ["testhost", "", "6.1.0-test", "", "2026-11-26T00:00:00Z", "0123456789abcdef"])
        #expect(report[0].count == CSVReport.columns.count && report[1].count == CSVReport.columns.count)
    }

    /// Checks `text` against the Prometheus text exposition format (0.0.4): comment lines, metric
    /// and label names, escaped label values, numbers, one TYPE per family before its samples, the
    /// samples of a family together, summaries' quantile/_sum/_count. Returns the problems.
    static func prometheusProblems(_ text: String) -> [String] {
        var problems: [String] = []
        let name = #"[a-zA-Z_:][a-zA-Z0-9_:]*"#
        let label = #"[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*""#
        let value = #"(-?[0-9.]+(e[+-]?[0-9]+)?|NaN|\+Inf|-Inf)"#
        let sample = try! Regex(#"^(\#(name))(\{\#(label)(,\#(label))*\})? \#(value)$"#)
        var types: [String: String] = [:], finished = Set<String>(), current: String? = nil
        guard text.hasSuffix("\n") else { return ["does not end with a newline"] }
        for line in text.split(separator: "\n", omittingEmptySubsequences: false).dropLast() {
            if line.hasPrefix("# TYPE ") {
                let parts = line.split(separator: " ")
                guard parts.count == 4, ["counter", "gauge", "summary", "histogram", "untyped"].contains(String(parts[3])) else {
                    problems.append("bad TYPE: \(line)"); continue
                }
                let family = String(parts[2])
                if types[family] != nil { problems.append("second TYPE for \(family)") }
                types[family] = String(parts[3])
                continue
            }
            if line.hasPrefix("# HELP ") || line.hasPrefix("#") { continue }
            guard let m = String(line).wholeMatch(of: sample) else { problems.append("not a sample line: \(line)"); continue }
            let metric = String(m.output[1].substring!)
            let family = types.keys.first { metric == $0 || (types[$0] == "summary" && (metric == $0 + "_sum" || metric == $0 + "_count")) }
            guard let family else { problems.append("sample before its TYPE: \(metric)"); continue }
            if current != family {
                if finished.contains(family) { problems.append("samples of \(family) are not together") }
                if let current { finished.insert(current) }
                current = family
            }
            if types[family] == "summary" && metric == family && !line.contains("quantile=\"") {
                problems.append("summary sample without quantile: \(line)")
            }
        }
        return problems
    }

    @Test("writepath.prom follows the Prometheus text format and holds IOPS, bandwidth, latency quantiles and ratios")
    func prometheus() throws {
        var runs = Self.input().runs
        runs += Synthetic.runs(layer: "odd", spec: "odd(note=a \"b\" \\ c)", reps: 3, iops: 40_000, noise: 0.02, seed: 3)
        let text = PrometheusFormat.render(Aggregation.aggregate(Synthetic.input(runs)))
        #expect(Self.prometheusProblems(text) == [])
        #expect(text.contains(#"writepath_iops{layer="docker-bind",workload="rand4k",host="testhost"} "#))
        #expect(text.contains(#"layer="odd(note=a \"b\" \\ c)""#))
        #expect(text.contains(#"writepath_latency_seconds{layer="host",workload="rand4k",host="testhost",quantile="0.99"} 0.000"#))
        #expect(text.contains(#"writepath_latency_seconds_count{layer="host",workload="rand4k",host="testhost"} 6000"#))
        #expect(text.contains(#"writepath_iops_ratio{layer="docker-bind",workload="rand4k",host="testhost",baseline="host"} 0.9"#))
        // The checker itself rejects what the format forbids.
        #expect(!Self.prometheusProblems("writepath_iops{layer=\"a\"} 1\n").isEmpty)
        #expect(!Self.prometheusProblems("# TYPE x gauge\nx{layer=\"a\"b\"} 1\n").isEmpty)
        #expect(!Self.prometheusProblems("# TYPE x gauge\nx 1\n# TYPE y gauge\ny 1\nx 2\n").isEmpty)
    }

    @Test(".hgrm files are HdrHistogram percentile distributions of the merged histograms, in microseconds")
    func hgrm() throws {
        let a = Aggregation.aggregate(Self.input())
        let files = HgrmFormat.files(a)
        #expect(files.map(\.name) == ["host--rand4k.hgrm", "docker-bind--rand4k.hgrm"])
        let lines = files[0].text.split(separator: "\n")
        #expect(lines[0].split(separator: " ") == ["Value", "Percentile", "TotalCount", "1/(1-Percentile)"])
        let values = lines.dropFirst().filter { !$0.hasPrefix("#") }.map { $0.split(separator: " ").compactMap { Double($0) } }
        #expect(values.count > 20 && values.dropLast().allSatisfy { $0.count == 4 })
        #expect(zip(values, values.dropFirst()).allSatisfy { $0[1] <= $1[1] && $0[0] <= $1[0] })
        let merged = try #require(a.rows[0].merged)
        #expect(
            files[0].text.contains(
                "Total count    = \(String(repeating: " ", count: max(0, 12 - "\(merged.count)".count)))\(merged.count)]"))
        // The value at the 50th percentile line is the merged p50, in microseconds.
        let p50 = try #require(values.first { $0.count == 4 && abs($0[1] - 0.5) < 1e-9 })
        #expect(abs(p50[0] - Double(merged.value(atPercentile: 50)) / 1000) < 0.01 * p50[0] + 0.01)
    }

    /// A fio json+ job: its clat_ns has fio's latency bins (ns → I/Os).
    static let jsonPlus = """
        {"fio version": "fio-3.33", "timestamp": 1764000000, "global options": {}, "jobs": [{"jobname": "j", "error": 0,
         "job options": {"rw": "randwrite", "bs": "4k"}, "usr_cpu": 10, "sys_cpu": 20, "ctx": 5,
         "write": {"io_bytes": 40960, "bw_bytes": 4096000, "iops": 1000, "runtime": 10, "total_ios": 10, "short_ios": 0, "drop_ios": 0,
          "clat_ns": {"min": 1000, "max": 90000, "mean": 12000, "stddev": 1, "N": 10,
                      "percentile": {"50.000000": 5000, "99.000000": 90000},
                      "bins": {"1000": 2, "5000": 4, "7000": 3, "90000": 1}}}}]}
        """

    @Test("--import-fio reads fio's json+ latency bins into the histogram when present, and its warning appears once")
    func fioBins() throws {
        var reps: [String: Int] = [:]
        let runs = try FioImport.runs(Data(Self.jsonPlus.utf8), source: "plus.json", layer: "fio-host", repetitions: &reps)
        let w = try #require(runs.first?.write)
        let h = try LatencyHistogram(encoded: w.histogram)
        #expect(h.count == 10)
        // Exactly the bins: 2 at 1 us, 4 at 5 us, 3 at 7 us, 1 at 90 us (within the histogram's 3 digits).
        #expect(abs(Double(h.value(atPercentile: 60)) - 5000) <= 5 && abs(Double(h.value(atPercentile: 90)) - 7000) <= 7)
        #expect(runs[0].layer.settings["histogram"] == FioImport.binsHistogram)
        #expect(runs[0].warnings.first { $0.contains("imported from fio") }?.contains("json+ latency bins") == true)
        // Without bins: rebuilt, and the warning says so and how to get bins.
        let plain = Self.jsonPlus.replacingOccurrences(of: #""bins": {"1000": 2, "5000": 4, "7000": 3, "90000": 1}"#, with: #""unused": 0"#)
        #expect(plain != Self.jsonPlus)
        let rebuilt = try FioImport.runs(Data(plain.utf8), source: "p.json", layer: "fio-host", repetitions: &reps)
        #expect(rebuilt[0].layer.settings["histogram"]?.hasPrefix("rebuilt") == true)
        #expect(rebuilt[0].warnings.contains { $0.contains("approximate") && $0.contains("json+") })
        // Each distinct warning once per row in the report, however many repetitions (here one of each kind).
        let doc = Synthetic.document(runs + rebuilt)
        let a = Aggregation.aggregate(ResultInput(sources: [ResultInput.Source(path: "f.json", document: doc)]))
        #expect(a.warnings.filter { $0.contains("imported from fio") }.count == 2, "\(a.warnings)")
        // A bin that is not a latency is bad input naming the field.
        let bad = Self.jsonPlus.replacingOccurrences(of: #""7000": 3"#, with: #""x7": 3"#)
        #expect(throws: WritePathError.self) { try FioImport.runs(Data(bad.utf8), source: "b.json", layer: "f", repetitions: &reps) }
    }

    @Test("real fio --output-format=json+ output imports its bins", Precondition.fio.trait)
    func realJsonPlus() throws {
        let dir = scratchFolder("fio-plus")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let out = "\(dir)/plus.json"
        let o = try runProcess(
            which("fio")!,
            [
                "--name=p", "--rw=randwrite", "--bs=4k", "--size=4m", "--filename=\(dir)/x", "--direct=1",
                "--ioengine=psync", "--output-format=json+", "--output=\(out)",
            ])
        #expect(o.status == 0, "\(o.stderr)")
        var reps: [String: Int] = [:]
        let runs = try FioImport.runs(try Data(contentsOf: URL(fileURLWithPath: out)), source: out, layer: "fio", repetitions: &reps)
        #expect(runs[0].layer.settings["histogram"] == FioImport.binsHistogram)
        let h = try LatencyHistogram(encoded: try #require(runs[0].write).histogram)
        #expect(h.count == 1024)
        let fioP50 = Double(try #require(runs[0].write).lat_ns.p50)
        #expect(abs(Double(h.value(atPercentile: 50)) - fioP50) <= 0.05 * fioP50)
    }

    @Test("writepath report writes writepath.prom and one .hgrm per layer × workload")
    func reportFiles() throws {
        let dir = scratchFolder("exports")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let json = try JSONFormat.render(Self.input().sources[0].document)
        try json.write(toFile: "\(dir)/run.json", atomically: true, encoding: .utf8)
        let o = try runProcess(writepathBinary, ["report", dir])
        #expect(o.status == 0, "\(o.stderr)")
        #expect(o.stdout.contains("exports: \(dir)/writepath.prom"))
        let prom = try String(contentsOfFile: "\(dir)/writepath.prom", encoding: .utf8)
        #expect(Self.prometheusProblems(prom) == [])
        #expect(FileManager.default.fileExists(atPath: "\(dir)/hgrm/host--rand4k.hgrm"))
        #expect(FileManager.default.fileExists(atPath: "\(dir)/hgrm/docker-bind--rand4k.hgrm"))

        // The Python snippet of docs/reports.md reads report-runs.csv as documented.
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
        let docs = try String(contentsOfFile: "\(root)/docs/reports.md", encoding: .utf8)
        let block = try #require(docs.firstMatch(of: /```python\n([\s\S]*?)```/)).output.1
        try String(block).write(toFile: "\(dir)/snippet.py", atomically: true, encoding: .utf8)
        let py = try runProcess(try #require(which("python3")), ["\(dir)/snippet.py", dir])
        #expect(py.status == 0, "\(py.stderr)")
        let out = py.stdout.split(separator: "\n")
        #expect(out.count == 6)
        #expect(
            out.contains {
                $0.hasPrefix("docker-bind rand4k ") && $0.hasSuffix(" testhost 2026-11-26T00:00:00Z bind mount of a host folder, cached")
            },
            "\(py.stdout)")
    }
}
