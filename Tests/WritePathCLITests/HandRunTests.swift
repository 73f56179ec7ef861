import Foundation
import Testing
import WritePathTestSupport

/// `writepath run --layer-label`: a run made by hand joins a matrix's report as a layer.
@Suite("Hand-run environments")
struct HandRunTests {
    @Test("a hand-run result is a layer of the matrix's report, compared with host and flagged")
    func handRunJoinsReport() throws {
        let dir = scratch("hand-run")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try """
        layers: [host]
        workloads: [{ name: a, rw: randwrite, bs: 4k, iodepth: 2, size: 4m, runtime: 1, time_based: true }]
        repetitions: 2
        """.write(toFile: "\(dir)/m.yaml", atomically: true, encoding: .utf8)
        let matrix = try writepath(["run", "--matrix", "\(dir)/m.yaml", "--results", "\(dir)/res", "--quiet"])
        #expect(matrix.status == 0, "\(matrix.stderr)")
        // Named otherwise: matched to the matrix's workload `a` by its options.
        let hand = try writepath([
            "run", "--name=pod-job", "--rw=randwrite", "--bs=4k", "--iodepth=2", "--size=4m", "--runtime=1", "--time_based",
            "--filename=\(dir)/hand.dat", "--layer-label", "k8s-pod", "--results", "\(dir)/hand", "--quiet",
        ])
        #expect(hand.status == 0, "\(hand.stderr)")
        let runDirs = try FileManager.default.contentsOfDirectory(atPath: "\(dir)/res").map { "\(dir)/res/\($0)" }
        let files = try FileManager.default.contentsOfDirectory(atPath: "\(dir)/hand").map { "\(dir)/hand/\($0)" }
        #expect(runDirs.count == 1 && files.count == 1)
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: files[0]))) as? [String: Any]
        let run = (json?["runs"] as? [[String: Any]])?.first
        #expect((run?["layer"] as? [String: Any])?["name"] as? String == "k8s-pod")
        let handRun = run?["hand_run"] as? [String: Any]
        #expect(handRun?["label"] as? String == "k8s-pod")
        #expect((handRun?["host"] as? [String: Any])?["kernel"] as? String != nil)

        let report = try writepath(["report"] + runDirs + files + ["--output-dir", "\(dir)/out"])
        #expect(report.status == 0, "\(report.stderr)")
        let row = report.stdout.split(separator: "\n").first { $0.hasPrefix("k8s-pod / a") }
        #expect(row?.contains("[hand-run]") == true, "\(report.stdout)")
        // Compared with the matrix's host baseline: a ratio, not "-", and one table (no per-host labels).
        #expect(row.map { $0.range(of: #"\d+\.\d\dx"#, options: .regularExpression) != nil } == true, "\(report.stdout)")
        #expect(report.stdout.contains("k8s-pod / a: hand-run: measured by hand"))
        #expect(!report.stdout.contains("different hosts"))
        let markdown = try String(contentsOfFile: "\(dir)/out/summary.md", encoding: .utf8)
        #expect(markdown.contains("| k8s-pod / a (hand-run) |"), "\(markdown)")
        let html = try String(contentsOfFile: "\(dir)/out/report.html", encoding: .utf8)
        #expect(html.contains("class=\"hand-run\""))
    }

    @Test(
        "a label that is a built-in layer or has other characters is refused in one line, exit 2",
        arguments: ["docker-volume", "host", "K8s", "pod/1", "", "pod:node", "pod:Node=1", "pod:a=1,a=2"])
    func badLabel(label: String) throws {
        let dir = scratch("hand-run-bad")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let r = try writepath(["run", "--size=1m", "--filename=\(dir)/t.dat", "--layer-label", label, "--results", "\(dir)/r"])
        #expect(r.status == 2)
        #expect(r.stderr.split(separator: "\n").count == 1, "\(r.stderr)")
        #expect(r.stderr.contains("layer-label"))
        #expect(!FileManager.default.fileExists(atPath: "\(dir)/t.dat"))
    }

    @Test("--layer-label with --matrix is refused")
    func labelWithMatrix() throws {
        let r = try writepath(["run", "--matrix", "quick", "--layer-label", "k8s-pod"])
        #expect(r.status == 2)
        #expect(r.stderr.contains("layer-label"))
    }
}
