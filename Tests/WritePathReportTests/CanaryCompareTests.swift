import Foundation
import Testing
import WritePathResult
import WritePathTestSupport

@testable import WritePathEngine
@testable import WritePathReport

/// `compare --canary HOST FLEET_DIR`: one host's layer costs against the spread of the other hosts'.
@Suite("compare --canary: one host against its fleet", .serialized)
struct CanaryCompareTests {
    /// Host `name`: its host layer at `hostIOPS`, docker-volume at `ratio` of that, 5 repetitions each.
    static func source(_ name: String, hostIOPS: Double, ratio: Double, seed: UInt64, volumeOK: Bool = true) -> ResultInput.Source {
        var info = Synthetic.host
        info.hostname = name
        var runs = Synthetic.runs(layer: "host", reps: 5, iops: hostIOPS, noise: 0.02, seed: seed)
        if volumeOK {
            runs += Synthetic.runs(layer: "docker-volume", reps: 5, iops: hostIOPS * ratio, noise: 0.02, seed: seed + 100)
        } else {
            runs += (1...3).map { Synthetic.run(layer: "docker-volume", rep: $0, iops: 0, latencyNs: 0, seed: seed, status: .failed) }
        }
        return ResultInput.Source(path: "\(name)/run/run.json", document: Synthetic.document(runs, host: info), host: name)
    }

    /// Three hosts of different speeds whose docker-volume costs about the same (0.88x-0.92x of host).
    static let fleet = [
        source("gen1-a", hostIOPS: 10_000, ratio: 0.90, seed: 10),
        source("gen1-b", hostIOPS: 15_000, ratio: 0.88, seed: 20),
        source("gen2-a", hostIOPS: 20_000, ratio: 0.92, seed: 30),
    ]

    @Test("a canary whose docker-volume costs far more than on every other host is regressed; exit 1")
    func slowCanaryFlagged() throws {
        let input = ResultInput(sources: Self.fleet + [Self.source("canary", hostIOPS: 12_000, ratio: 0.3, seed: 40)])
        let c = Comparison.canary("canary", in: input, threshold: 0.05)
        let iops = try #require(c.rows.first { $0.layer == "docker-volume" && $0.metric == "iops" })
        #expect(iops.verdict == .regressed, "\(iops.reason)")
        #expect(iops.reason.hasPrefix("outside the fleet's spread"), "\(iops.reason)")
        #expect(iops.reason.contains("x on the canary, 0.8") && iops.reason.hasSuffix("x on 3 other hosts"), "\(iops.reason)")
        #expect(abs(iops.change! - (0.3 / 0.9 - 1)) < 0.03, "\(iops.change!)")
        #expect(iops.baseline.count == 3 && iops.referenceBaseline.count == 3 && iops.current.count == 5)
        #expect(!c.rows.contains { $0.layer == "host" }, "the baseline layer itself is not judged")
        #expect(c.exitCode == 1 && c.canary == "canary")
        #expect(CompareTextFormat.render(c).contains("fleet") && CompareTextFormat.summary(c).contains("canary canary against the fleet"))
        let junit = JUnitFormat.render(c)
        #expect(junit.contains("<failure message=\"regressed: fleet "), "\(junit)")
    }

    @Test("a canary that is faster overall but costs what the fleet's hosts cost is not flagged; exit 0")
    func fastCanaryNotFlagged() {
        let input = ResultInput(sources: Self.fleet + [Self.source("canary", hostIOPS: 40_000, ratio: 0.90, seed: 50)])
        let c = Comparison.canary("canary", in: input, threshold: 0.05)
        #expect(c.regressions.isEmpty, "\(c.regressions.map { "\($0.metric) \($0.reason)" })")
        #expect(c.exitCode == 0)
        #expect(c.rows.filter { $0.metric == "iops" }.count == 1)
        // Each host of the fleet judged against the others is not flagged either.
        for host in ["gen1-a", "gen1-b", "gen2-a"] {
            #expect(Comparison.canary(host, in: input, threshold: 0.05).regressions.isEmpty, "\(host)")
        }
    }

    @Test("worse than the fleet's mean but not beyond every other host: not regressed")
    func withinSpread() {
        var r = MetricComparison(
            layer: "docker-volume", workload: "w", metric: "iops", higherIsBetter: true, baseline: [8_000, 9_000, 5_000],
            current: [6_000, 6_000, 6_000], change: nil, changeLow: nil, changeHigh: nil, verdict: .inconclusive, reason: "")
        r.referenceBaseline = [10_000, 10_000, 10_000]
        r.referenceCurrent = [10_000, 10_000, 10_000]
        #expect(!Comparison.outsideFleet(r, relative: true, worse: true), "0.6x is inside 0.5x-0.9x")
        r.current = [4_000, 4_000, 4_000]
        #expect(Comparison.outsideFleet(r, relative: true, worse: true), "0.4x is below every host")
        #expect(!Comparison.outsideFleet(r, relative: true, worse: false))
        // Latency: higher is worse.
        r.metric = "p99_ns"
        r.higherIsBetter = false
        #expect(!Comparison.outsideFleet(r, relative: true, worse: true))
        r.current = [12_000, 12_000, 12_000]
        #expect(Comparison.outsideFleet(r, relative: true, worse: true), "1.2x is above every host")
    }

    @Test("one other host is no spread: inconclusive with the reason")
    func fleetTooSmall() throws {
        let input = ResultInput(sources: [Self.fleet[0], Self.source("canary", hostIOPS: 12_000, ratio: 0.3, seed: 40)])
        let c = Comparison.canary("canary", in: input, threshold: 0.05)
        let iops = try #require(c.rows.first { $0.metric == "iops" })
        #expect(iops.verdict == .inconclusive && iops.reason.hasPrefix("fleet too small: 1 other host"), "\(iops.reason)")
        #expect(c.exitCode == 0)
    }

    @Test("a layer that fails only on the canary is regressed (metric runs)")
    func failsOnCanary() throws {
        let input = ResultInput(sources: Self.fleet + [Self.source("canary", hostIOPS: 12_000, ratio: 1, seed: 60, volumeOK: false)])
        let c = Comparison.canary("canary", in: input, threshold: 0.05)
        let runs = try #require(c.rows.first { $0.metric == "runs" })
        #expect(runs.verdict == .regressed && runs.reason.contains("no ok runs on canary (failed)"), "\(runs.reason)")
    }

    // MARK: - On the command line, with fleet folders on disk

    /// Writes a fleet folder: fleet.json naming `hosts` plus `unreachable` (no results), and each
    /// host's run folder.
    static func writeFleet(_ dir: String, _ sources: [ResultInput.Source], unreachable: String? = nil) throws {
        var hosts = sources.map { s in
            "{\"host\": \"\(s.hostLabel)\", \"status\": \"ok\", \"run_directory\": \"\(s.hostLabel)/run\", "
                + "\"exit_status\": 0, \"attempts\": 1}"
        }
        if let u = unreachable {
            hosts.append(
                "{\"host\": \"\(u)\", \"status\": \"unreachable\", \"reason\": \"ssh: connect to host port 22: No route\", \"attempts\": 1}"
            )
        }
        let record = """
            {"schema": "writepath.fleet/1", "fleet_id": "test-fleet", "inventory": "hosts.ini", "forks": 5,
             "started_at": "2026-12-03T00:00:00Z", "complete": false, "hosts": [\(hosts.joined(separator: ", "))]}
            """
        try record.write(toFile: "\(dir)/fleet.json", atomically: true, encoding: .utf8)
        for s in sources {
            try FileManager.default.createDirectory(atPath: "\(dir)/\(s.hostLabel)/run", withIntermediateDirectories: true)
            try JSONFormat.render(s.document).write(toFile: "\(dir)/\(s.hostLabel)/run/run.json", atomically: true, encoding: .utf8)
        }
    }

    @Test("compare --canary on a fleet folder: exit 1 and a JUnit failure for the slow canary, exit 0 for the others")
    func commandLine() throws {
        let dir = scratchFolder("canary-cli")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Self.writeFleet(dir, Self.fleet + [Self.source("canary", hostIOPS: 12_000, ratio: 0.3, seed: 40)], unreachable: "gone")
        var o = try runProcess(writepathBinary, ["compare", "--canary", "canary", dir, "--junit", "\(dir)/canary.xml", "--quiet"])
        #expect(o.status == 1, "\(o.stdout) \(o.stderr)")
        #expect(o.stdout.contains("regressed: docker-volume / rand4k iops"), "\(o.stdout)")
        let xml = try String(contentsOfFile: "\(dir)/canary.xml", encoding: .utf8)
        #expect(xml.contains("<testsuite name=\"docker-volume\"") && xml.contains("type=\"regression\""), "\(xml)")
        o = try runProcess(writepathBinary, ["compare", "--canary", "gen1-b", dir, "--output-format", "json"])
        #expect(o.status == 0, "\(o.stdout) \(o.stderr)")
        let obj = try #require(try JSONSerialization.jsonObject(with: Data(o.stdout.utf8)) as? [String: Any])
        #expect(obj["canary"] as? String == "gen1-b" && obj["relative_to"] as? String == "host")
        // Each row's baseline: one value per other host with results (the canary too, not the unreachable one).
        let rows = try #require(obj["rows"] as? [[String: Any]])
        #expect(rows.allSatisfy { ($0["baseline"] as? [Double])?.count == 3 }, "\(rows.map { $0["baseline"] ?? "" })")
    }

    @Test(
        "compare --canary: one line and exit 2 for an unknown host, a host without results, a folder that is no fleet",
        arguments: [
            (
                ["compare", "--canary", "nosuch", "@FLEET@"],
                "--canary: 'nosuch' is not a host of @FLEET@; its hosts: gen1-a, gen1-b, gen2-a, gone"
            ),
            (
                ["compare", "--canary", "gone", "@FLEET@"],
                "--canary: 'gone' has no results in @FLEET@ (fleet.json: unreachable, ssh: connect"
            ),
            (["compare", "--canary", "gen1-a", "@FLEET@/gen1-a"], "is not a fleet folder (no fleet.json beside host folders)"),
            (["compare", "--canary", "gen1-a", "@FLEET@/nothing-here"], "no such folder"),
            (["compare", "--canary", "gen1-a", "@FLEET@", "@FLEET@"], "--canary takes one fleet folder, not BASELINE and CURRENT"),
            (["compare", "@FLEET@"], "missing CURRENT: give BASELINE and CURRENT, or --canary HOST FLEET_DIR"),
            (["compare", "--canary", "gen1-a", "--first-run", "@FLEET@"], "--first-run does not go with --canary"),
            (
                ["compare", "--canary", "gen1-a", "@FLEET@", "--relative-to", "oci-runc"],
                "--relative-to: 'oci-runc' is not a layer on gen1-a"
            ),
        ])
    func badInput(arguments: [String], message: String) throws {
        let dir = scratchFolder("canary-bad")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Self.writeFleet(dir, Self.fleet, unreachable: "gone")
        let o = try runProcess(writepathBinary, arguments.map { $0.replacingOccurrences(of: "@FLEET@", with: dir) })
        #expect(o.status == 2, "\(o.stdout) \(o.stderr)")
        #expect(o.stderr.contains(message.replacingOccurrences(of: "@FLEET@", with: dir)), "\(o.stderr)")
        #expect(o.stderr.split(separator: "\n").count == 1, "\(o.stderr)")
    }

    @Test("two other hosts with results are needed: exit 2 naming how many there are")
    func tooFewHosts() throws {
        let dir = scratchFolder("canary-small")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Self.writeFleet(dir, [Self.fleet[0], Self.fleet[1]])
        let o = try runProcess(writepathBinary, ["compare", "--canary", "gen1-a", dir])
        #expect(o.status == 2 && o.stderr.contains("has 1 other host with results (gen1-b)"), "\(o.stderr)")
    }
}
