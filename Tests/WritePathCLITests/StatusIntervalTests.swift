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

    @Test("run --matrix --status-interval 1: 'run K of N' with the time left for every run, repeats of the running one, all on stderr")
    func matrixLines() throws {
        let dir = scratch("status-matrix")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let matrix = """
            layers: [{ name: host, directory: \(dir) }]
            workloads:
              - { name: a, rw: randwrite, bs: 4k, size: 4m, runtime: 2, time_based: true }
              - { name: b, rw: write, bs: 64k, size: 4m, runtime: 2, time_based: true }
            repetitions: 2
            seed: 3
            """
        try matrix.write(toFile: "\(dir)/m.yaml", atomically: true, encoding: .utf8)
        let o = try writepath([
            "run", "--matrix", "\(dir)/m.yaml", "--results", "\(dir)/results", "--status-interval", "1", "--output-format", "json",
        ])
        #expect(o.status == 0, "\(o.stderr)")
        let lines = o.stderr.split(separator: "\n").map(String.init)
        let runs = lines.filter { $0.hasPrefix("run ") && !$0.contains("| run running ") }
        #expect(runs.map { String($0.prefix(9)) } == ["run 1 of ", "run 2 of ", "run 3 of ", "run 4 of "], "\(o.stderr)")
        #expect(runs.allSatisfy { $0.contains(" of 4, ") && $0.contains(" elapsed, ~") && $0.contains(" left | host(directory=") })
        #expect(runs.last?.contains(" rep 2") == true)
        // A 2 s run is repeated at least once a second while it runs, without a terminal.
        #expect(lines.contains { $0.hasPrefix("run ") && $0.contains("| run running ") }, "\(o.stderr)")
        #expect(!o.stderr.contains("\u{1B}"))
        // stdout is the result document alone.
        #expect(!o.stdout.contains("run 1 of"))
        let json = try JSONSerialization.jsonObject(with: Data(o.stdout.utf8)) as? [String: Any]
        #expect(json?["schema"] as? String == "writepath.result/1")
        #expect((json?["runs"] as? [Any])?.count == 4)
    }
}
