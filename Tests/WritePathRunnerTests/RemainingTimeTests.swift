import Foundation
import Testing
import WritePathResult

@testable import WritePathRunner

#if canImport(Glibc)
    import Glibc
#endif

@Suite("Report progress: time left from the runs so far per layer kind")
struct RemainingTimeTests {
    @Test("each run left counts its kind's mean, an unseen kind the mean of all, nothing seen the fallback")
    func estimate() {
        var t = RemainingTime()
        #expect(t.estimate(["host", "qemu-nvme"], fallback: 5) == 10)
        t.record(kind: "host", wallSeconds: 2)
        t.record(kind: "host", wallSeconds: 4)
        t.record(kind: "qemu-nvme", wallSeconds: 30)
        #expect(t.estimate(["host", "host", "qemu-nvme"], fallback: 5) == 3 + 3 + 30)
        // docker-volume never ran: the mean of the three runs so far, 12 s.
        #expect(t.estimate(["docker-volume"], fallback: 5) == 12)
        t.record(kind: "host", wallSeconds: .nan)
        #expect(t.estimate(["host"], fallback: 5) == 3)
        #expect(t.estimate([], fallback: 5) == 0)
    }

    @Test("a matrix counts the runs left by layer kind, leaves out stopped pairs, and says 'at most' with auto repetitions")
    func matrixRunsLeft() throws {
        let root = "/var/tmp/writepath-runs-left-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: root) }
        var options = MatrixRunner.Options()
        options.resultsRoot = root
        let provenance = Provenance(version: "t", git_commit: "t", arguments: [])
        let yaml = "layers: [host, docker-volume]\nworkloads: [{ name: a, size: 4m, runtime: 2, time_based: true }]\n"
        let fixed = try MatrixRunner(
            spec: try MatrixSpec.parse(yaml + "repetitions: 3\n", source: "t.yaml"), options: options, provenance: provenance)
        let done: Set<MatrixRunner.Key> = [MatrixRunner.Key(layer: "host", workload: "a", rep: 1)]
        #expect(fixed.runsLeft(done: done).sorted() == ["docker-volume", "docker-volume", "docker-volume", "host", "host"])
        fixed.stopReasons["docker-volume / a"] = "layer unavailable: no docker"
        #expect(fixed.runsLeft(done: done) == ["host", "host"])
        #expect(fixed.plannedSeconds == 3)
        #expect(
            fixed.progressLine(run: 2, of: 6, elapsed: 65, left: 250, current: "host / a rep 2")
                == "run 2 of 6, 1m05s elapsed, ~4m10s left | host / a rep 2")
        let auto = try MatrixRunner(
            spec: try MatrixSpec.parse(yaml + "repetitions: auto\nmax_repetitions: 5\n", source: "t.yaml"), options: options,
            provenance: provenance)
        #expect(auto.runsLeft(done: []).count == 10)
        #expect(
            auto.progressLine(run: 1, of: 10, elapsed: 0, left: 30, current: "x")
                == "run 1 of 10 at most, 0s elapsed, ~30s left at most | x")
    }

    @Test("a fleet says each host as its matrix ends, k of n, and the time left from the hosts so far")
    func fleet() {
        var p = FleetProgress(hosts: ["a", "b", "c", "gone"], forks: 2)
        var events = #"{"event": "matrix_started", "host": "a"}"# + "\n" + #"{"event": "matrix_started", "host": "b"}"# + "\n"
        #expect(p.update(events: events, now: 10).isEmpty)
        #expect(p.secondsLeft(10) == nil && p.statusLine(10) == "fleet: 0 of 4 hosts done, 2 running their matrix, 10s elapsed")
        events += #"{"event": "unreachable", "host": "gone"}"# + "\n" + #"{"event": "matrix_ended", "host": "a", "rc": 0}"# + "\n"
        let lines = p.update(events: events, now: 40)
        #expect(
            lines == [
                "fleet: gone is unreachable (1 of 4 hosts done), 40s elapsed",
                "fleet: a ran its matrix in 30s (2 of 4 hosts done), 40s elapsed, ~30s left",
            ])
        // b has run 30 s of a mean 30 s (0 s left); c has not started: one more round of 2 hosts, 30 s.
        #expect(p.secondsLeft(40) == 30)
        #expect(p.update(events: events, now: 41).isEmpty, "a host is said once")
        events += #"{"event": "matrix_started", "host": "c"}"# + "\n" + "not json\n"
        _ = p.update(events: events, now: 45)
        // c has just started (30 s left), b is past the mean (0 s), nothing waits.
        #expect(p.secondsLeft(45) == 30)
    }
}
