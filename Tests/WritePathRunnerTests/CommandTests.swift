import Foundation
import Testing
import WritePathEngine

@testable import WritePathRunner

#if canImport(Glibc)
    import Glibc
#endif

@Suite("Command")
struct CommandTests {
    /// Whether `pid` is still a live process (not gone, not a zombie).
    func alive(_ pid: Int32) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8) else { return false }
        let state = stat.split(separator: ")").last?.split(separator: " ").first
        return state != "Z" && state != "X"
    }

    @Test("a program's output and exit status come back as soon as it exits")
    func exitStatus() throws {
        let start = monotonicNanoseconds()
        let r = try Command.run("/bin/sh", ["-c", "echo out; echo err >&2; exit 3"], timeout: 60)
        #expect(r.status == 3 && !r.timedOut)
        #expect(r.stdout == "out\n" && r.stderr == "err\n")
        #expect(Double(monotonicNanoseconds() - start) / 1e9 < 5)
    }

    @Test("stdin, a stdout file and a working directory go to the program as given")
    func stdinAndDirectory() throws {
        let dir = "/dev/shm/writepath-command-\(getpid()) \"q\""
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let r = try Command.run("cat", [], timeout: 60, stdin: Data("hello\n".utf8), stdoutFile: "\(dir)/out", currentDirectory: dir)
        #expect(r.succeeded)
        #expect(try String(contentsOfFile: "\(dir)/out", encoding: .utf8) == "hello\n")
        #expect(try Command.run("pwd", [], timeout: 60, currentDirectory: dir).stdout == dir + "\n")
    }

    @Test("at its deadline the program's whole process group is stopped and onTimeout runs")
    func timeoutStopsTheGroup() throws {
        let start = monotonicNanoseconds()
        var calledBack = false
        let r = try Command.run("/bin/sh", ["-c", "sleep 60 & echo $!; wait"], timeout: 0.5, onTimeout: { calledBack = true })
        let elapsed = Double(monotonicNanoseconds() - start) / 1e9
        #expect(r.timedOut && calledBack)
        #expect(elapsed < 5, "stopped after \(elapsed) s")
        let child = try #require(Int32(r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)))
        // The shell's own child was in its group: it got the SIGTERM too.
        var gone = false
        for _ in 0..<100 where !gone {
            gone = !alive(child)
            if !gone { usleep(20_000) }
        }
        #expect(gone, "sleep \(child) outlived the stopped shell")
    }

    @Test("onPoll runs while the program runs, and false stops it")
    func pollStops() throws {
        var calls = 0
        let r = try Command.run(
            "sleep", ["60"], timeout: 60,
            onPoll: { elapsed in
                calls += 1
                return elapsed < 0.3
            })
        #expect(r.timedOut)
        #expect(calls >= 2)
    }

    @Test("a child starts with no signal blocked, whatever the starting thread blocks, so SIGTERM stops it")
    func childSignalMask() throws {
        let r = try Command.run("grep", ["SigBlk", "/proc/self/status"], timeout: 60)
        #expect(r.stdout.trimmingCharacters(in: .whitespacesAndNewlines).hasSuffix(String(repeating: "0", count: 16)), "\(r.stdout)")
        let r2 = try Command.run("sleep", ["60"], timeout: 0.3)
        #expect(r2.timedOut && r2.status == SIGTERM, "exit \(r2.status)")
    }

    @Test("the guest image's archive: find and cpio as argv, so a path with quotes and spaces is archived as it is")
    func newcArchive() throws {
        let root = "/dev/shm/writepath-cpio-\(getpid()) it's \"here\""
        let fm = FileManager.default
        try fm.createDirectory(atPath: "\(root)/tree/sub dir", withIntermediateDirectories: true)
        defer { try? fm.removeItem(atPath: root) }
        try "a".write(toFile: "\(root)/tree/sub dir/o'clock \"x\"", atomically: true, encoding: .utf8)
        try GuestImage.writeNewcArchive(of: "\(root)/tree", to: "\(root)/out.cpio")
        let listing = try Command.run(
            "cpio", ["-it", "--quiet"], timeout: 60, stdin: try Data(contentsOf: URL(fileURLWithPath: "\(root)/out.cpio")))
        #expect(listing.succeeded)
        #expect(Set(listing.stdout.split(separator: "\n").map(String.init)) == [".", "sub dir", "sub dir/o'clock \"x\""])
    }
}
