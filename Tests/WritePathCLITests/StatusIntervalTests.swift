import Foundation
import Testing
import WritePathTestSupport

/// Progress in CI logs: `--status-interval` prints status lines to stderr without a terminal,
/// with the time left and an ETA, while stdout keeps only the result; sweeps say how long is left.
@Suite("Report progress: --status-interval and time left", .serialized)
struct StatusIntervalCLITests {
    @Test("run --status-interval 1 prints a status line about every second to a pipe; stdout stays JSON")
    func runLines() throws {
        let dir = scratch("status")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let o = try writepath([
            "run", "--rw=randwrite", "--bs=4k", "--size=4m", "--runtime=3", "--time_based",
            "--filename=\(dir)/t.dat", "--status-interval", "1", "--output-format", "json",
        ])
        #expect(o.status == 0, "\(o.stderr)")
        let lines = o.stderr.split(separator: "\n").filter { $0.contains(" left, ETA ") }
        #expect(lines.count >= 2, "status lines: \(o.stderr)")
        #expect(lines.allSatisfy { $0.contains("IOPS=") && $0.contains(" UTC] ") && $0.contains("avg IOPS=") && !$0.contains("\u{1B}") })
        let json = try JSONSerialization.jsonObject(with: Data(o.stdout.utf8)) as? [String: Any]
        #expect(json?["schema"] as? String == "writepath.result/1")
    }

    @Test("without --status-interval and without a terminal, run prints no status line")
    func quietWithoutTerminal() throws {
        let dir = scratch("status-none")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let o = try writepath([
            "run", "--rw=randwrite", "--bs=4k", "--size=4m", "--runtime=2", "--time_based",
            "--filename=\(dir)/t.dat", "--output-format", "json",
        ])
        #expect(o.status == 0)
        #expect(!o.stderr.contains("ETA"), "\(o.stderr)")
    }

    @Test("a status interval that is not 1 to 86400 seconds is bad input", arguments: ["0", "-3", "1e9"])
    func badInterval(_ value: String) throws {
        let o = try writepath(["run", "--status-interval", value, "--size=1m", "--filename=/dev/shm/never-written.dat"])
        #expect(o.status == 2)
        #expect(o.stderr.split(separator: "\n").count == 1 && o.stderr.contains("status-interval"), "\(o.stderr)")
        #expect(!FileManager.default.fileExists(atPath: "/dev/shm/never-written.dat"))
    }

    @Test("sweep progress lines say how long is left; --status-interval repeats the running step's line")
    func sweepTimeLeft() throws {
        let dir = scratch("status-sweep")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let o = try writepath([
            "sweep", "--layer", "host:directory=\(dir)", "--sweep", "iodepth=1,2", "--runtime", "2", "--size", "4m",
            "--results", dir, "--status-interval", "1", "--output-format", "none",
        ])
        #expect(o.status == 0, "\(o.stderr)")
        let steps = o.stderr.split(separator: "\n").filter { $0.contains("(step ") && !$0.contains("step running") }
        #expect(steps.count == 2)
        #expect(steps.allSatisfy { $0.contains(" left at most") }, "\(steps)")
        #expect(o.stderr.contains("| step running "))
    }
}
