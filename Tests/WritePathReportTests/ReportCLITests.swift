import Foundation
import Testing
import WritePathResult
import WritePathTestSupport

@testable import WritePathEngine
@testable import WritePathReport

@Suite("writepath report and compare on the command line", .serialized)
struct ReportCLITests {
    /// Writes `runs` as a result document into `path`.
    func write(_ runs: [RunResult], to path: String) throws {
        try JSONFormat.render(Synthetic.document(runs)).write(toFile: path, atomically: true, encoding: .utf8)
    }

    @Test("compare --first-run writes the baseline when there is none, exits 0 and says so; then compares as usual in JSON")
    func firstRunAndJSON() throws {
        let dir = scratchFolder("first-run")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.createDirectory(atPath: "\(dir)/cur", withIntermediateDirectories: true)
        try write(
            Synthetic.runs(layer: "host", reps: 3, iops: 10_000, noise: 0.02, seed: 1)
                + Synthetic.runs(layer: "docker-volume", reps: 3, iops: 8_000, noise: 0.02, seed: 2), to: "\(dir)/cur/run.json")
        var o = try runProcess(writepathBinary, ["compare", "\(dir)/baseline", "\(dir)/cur"])
        #expect(o.status == 2, "without --first-run a missing baseline is bad input")
        o = try runProcess(writepathBinary, ["compare", "\(dir)/baseline", "\(dir)/cur", "--first-run"])
        #expect(o.status == 0, "\(o.stderr)")
        #expect(o.stdout.hasPrefix("first run: no baseline at \(dir)/baseline"))
        let written = try String(contentsOfFile: "\(dir)/baseline/run.json", encoding: .utf8)
        #expect(written == (try String(contentsOfFile: "\(dir)/cur/run.json", encoding: .utf8)))
        // Now there is a baseline: --first-run compares (relative to host by default), JSON on stdout.
        o = try runProcess(writepathBinary, ["compare", "\(dir)/baseline", "\(dir)/cur", "--first-run", "--output-format", "json"])
        #expect(o.status == 0, "\(o.stderr)")
        let obj = try #require(try JSONSerialization.jsonObject(with: Data(o.stdout.utf8)) as? [String: Any])
        #expect(obj["relative_to"] as? String == "host")
        #expect(obj["correction"] as? String == "holm")
        #expect((obj["rows"] as? [[String: Any]])?.count == RunMetric.allCases.count)
        o = try runProcess(writepathBinary, ["compare", "\(dir)/baseline", "\(dir)/cur", "--relative-to", "oci-runc"])
        #expect(o.status == 2 && o.stderr.contains("--relative-to"), "\(o.stderr)")
    }

    @Test("report on a run folder writes report.html, report.csv, report-runs.csv and summary.md into it and prints the table")
    func reportFolder() throws {
        let dir = scratchFolder("report-folder")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try write(
            Synthetic.runs(layer: "host", reps: 3, iops: 10_000, noise: 0.02, seed: 1)
                + Synthetic.runs(layer: "docker-volume", reps: 3, iops: 8_000, noise: 0.02, seed: 2), to: "\(dir)/run.json")
        let o = try runProcess(writepathBinary, ["report", dir])
        #expect(o.status == 0, "\(o.stderr)")
        #expect(o.stdout.contains("report: \(dir)/report.html"))
        #expect(o.stdout.contains("docker-volume / rand4k"))
        #expect(o.stdout.contains("IOPS vs host"))
        for f in ["report.html", "report.csv", "report-runs.csv", "summary.md"] {
            #expect(FileManager.default.fileExists(atPath: "\(dir)/\(f)"), "\(f) missing")
        }
        let csv = try String(contentsOfFile: "\(dir)/report.csv", encoding: .utf8)
        #expect(csv.hasPrefix(CSVReport.columns.joined(separator: ",")))
    }

    @Test("report on files writes next to the first file, or into --output-dir")
    func reportFiles() throws {
        let dir = scratchFolder("report-files")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.createDirectory(atPath: "\(dir)/a", withIntermediateDirectories: true)
        try write(Synthetic.runs(layer: "host", reps: 2, iops: 10_000, noise: 0.02, seed: 1), to: "\(dir)/a/one.json")
        try write(Synthetic.runs(layer: "docker-bind", reps: 2, iops: 9_000, noise: 0.02, seed: 2), to: "\(dir)/two.json")
        var o = try runProcess(writepathBinary, ["report", "\(dir)/a/one.json", "\(dir)/two.json", "--quiet"])
        #expect(o.status == 0, "\(o.stderr)")
        #expect(o.stdout == "report: \(dir)/a/report.html\n")
        o = try runProcess(writepathBinary, ["report", "\(dir)/a/one.json", "--output-dir", "\(dir)/out"])
        #expect(o.status == 0)
        #expect(FileManager.default.fileExists(atPath: "\(dir)/out/report.html"))
    }

    @Test("bad input exits 2 with one line naming the file", arguments: ["missing", "empty", "garbled", "schema", "emptydir"])
    func badInput(kind: String) throws {
        let dir = scratchFolder("report-bad-\(kind)")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var path = "\(dir)/\(kind).json"
        switch kind {
        case "empty": try "".write(toFile: path, atomically: true, encoding: .utf8)
        case "garbled": try "{\"schema\": \"writepath.result/1\", \"runs\": [".write(toFile: path, atomically: true, encoding: .utf8)
        case "schema": try "{\"schema\": \"fio/3\"}".write(toFile: path, atomically: true, encoding: .utf8)
        case "emptydir": path = dir
        default: break
        }
        for command in [["report", path], ["compare", path, path]] {
            let o = try runProcess(writepathBinary, command)
            #expect(o.status == 2, "\(command): \(o.stderr)")
            #expect(o.stderr.split(separator: "\n").count == 1, "\(o.stderr)")
            #expect(o.stderr.contains(path), "\(o.stderr)")
        }
    }

    @Test("compare exits 0 without a regression, 1 with one, and writes Markdown and JUnit")
    func compareExitCodes() throws {
        let dir = scratchFolder("compare")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try write(Synthetic.runs(layer: "host", reps: 3, iops: 50_000, noise: 0.02, seed: 1), to: "\(dir)/base.json")
        try write(Synthetic.runs(layer: "host", reps: 3, iops: 50_000, noise: 0.02, seed: 2), to: "\(dir)/same.json")
        try write(Synthetic.runs(layer: "host", reps: 3, iops: 40_000, noise: 0.02, seed: 3), to: "\(dir)/cut.json")
        var o = try runProcess(writepathBinary, ["compare", "\(dir)/base.json", "\(dir)/same.json", "--metric", "iops"])
        #expect(o.status == 0, "\(o.stdout)\(o.stderr)")
        #expect(o.stdout.contains("0 regressed"))
        o = try runProcess(
            writepathBinary, ["compare", "\(dir)/base.json", "\(dir)/cut.json", "--markdown", "\(dir)/c.md", "--junit", "\(dir)/c.xml"])
        #expect(o.status == 1, "\(o.stdout)\(o.stderr)")
        #expect(o.stdout.contains("regressed"))
        let md = try String(contentsOfFile: "\(dir)/c.md", encoding: .utf8)
        #expect(md.contains("**regressed**"))
        let xml = try String(contentsOfFile: "\(dir)/c.xml", encoding: .utf8)
        #expect(xml.contains("<failure"))
        o = try runProcess(writepathBinary, ["compare", "\(dir)/base.json", "\(dir)/cut.json", "--threshold", "0"])
        #expect(o.status == 2)
        #expect(o.stderr.contains("threshold"))
    }
}
