import Foundation
import Testing
import WritePathResult
import WritePathTestSupport

@testable import WritePathEngine
@testable import WritePathReport

@Suite("importing fio JSON", .serialized)
struct FioImportTests {
    static let fio = which("fio")

    /// Runs fio once and returns the path of its JSON output.
    func runFio(_ dir: String, name: String = "t") throws -> String {
        let out = "\(dir)/\(name).json"
        let o = try runProcess(
            Self.fio!,
            [
                "--name=\(name)", "--rw=randwrite", "--bs=4k", "--size=8m", "--filename=\(dir)/x", "--direct=1",
                "--ioengine=io_uring", "--output-format=json", "--output=\(out)",
            ])
        #expect(o.status == 0, "\(o.stderr)")
        return out
    }

    @Test(
        "fio's JSON becomes runs with fio's percentiles and a histogram rebuilt from them",
        Precondition.fio.trait)
    func importReal() throws {
        let dir = scratchFolder("fio")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let first = try runFio(dir), second = try runFio(dir)
        let doc = try FioImport.document(
            paths: [first, second], layer: "fio-host", host: Synthetic.host,
            provenance: Provenance(version: "t", git_commit: "t", arguments: []))
        #expect(doc.runs.count == 2)
        #expect(doc.runs.map(\.rep) == [1, 2])
        let run = doc.runs[0]
        #expect(run.status == .ok)
        #expect(run.layer.name == "fio-host" && run.layer.settings["source"] == "fio")
        #expect(run.workload.rw == .randwrite && run.workload.bs == 4096 && run.workload.ioengine == .io_uring)
        let w = try #require(run.write)
        #expect(w.ios == 2048 && w.bytes == 8 << 20 && w.iops > 0 && w.bw_bytes_per_s > 0)

        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: first))) as! [String: Any]
        let write = (json["jobs"] as! [[String: Any]])[0]["write"] as! [String: Any]
        let clat = write["clat_ns"] as! [String: Any]
        let pct = clat["percentile"] as! [String: Any]
        let fioP50 = (pct["50.000000"] as! NSNumber).uint64Value
        #expect(w.lat_ns.p50 == fioP50)
        #expect(w.lat_ns.max == (clat["max"] as! NSNumber).uint64Value)
        let h = try LatencyHistogram(encoded: w.histogram)
        #expect(h.count == 2048)
        let rebuilt = Double(h.value(atPercentile: 50))
        #expect(abs(rebuilt - Double(fioP50)) <= Double(fioP50) * 0.01 + 1)
        #expect(run.warnings.contains { $0.contains("percentiles are fio's own") })
    }

    @Test(
        "writepath report --import-fio --as-layer puts fio next to writepath results",
        Precondition.fio.trait)
    func reportWithFio() throws {
        let dir = scratchFolder("fio-report")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = try runFio(dir)
        let o = try runProcess(writepathBinary, ["report", "--import-fio", path, "--as-layer", "fio-host", "--baseline-layer", "fio-host"])
        #expect(o.status == 0, "\(o.stderr)")
        #expect(o.stdout.contains("fio-host / t"))
        #expect(o.stdout.contains("imported from fio"))
        #expect(FileManager.default.fileExists(atPath: "\(dir)/report.html"))
    }

    @Test("garbled fio input exits 2 naming the file")
    func garbled() throws {
        let dir = scratchFolder("fio-bad")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try "fio: no such engine".write(toFile: "\(dir)/bad.json", atomically: true, encoding: .utf8)
        try "{\"fio version\": \"fio-3.33\"}".write(toFile: "\(dir)/nojobs.json", atomically: true, encoding: .utf8)
        for f in ["bad.json", "nojobs.json"] {
            let o = try runProcess(writepathBinary, ["report", "--import-fio", "\(dir)/\(f)"])
            #expect(o.status == 2)
            #expect(o.stderr.contains("\(dir)/\(f)") && o.stderr.contains("fio --output-format=json"), "\(o.stderr)")
        }
    }
}
