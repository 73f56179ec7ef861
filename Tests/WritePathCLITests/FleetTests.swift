import Foundation
import Testing
import WritePathReport
import WritePathResult
import WritePathRunner
import WritePathTestSupport

#if canImport(Glibc)
    import Glibc
#endif

/// `writepath fleet` against real hosts made here: network namespaces, each with its own UTS
/// name and its own sshd (scripts/fleet-local-hosts.sh), reached by Ansible over real SSH with a
/// key made for the test; plus one host nothing listens for.
@Suite("writepath fleet", .serialized)
struct FleetTests {
    /// The repository root (for scripts/ and deploy/).
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path

    /// The static binary copied to the hosts: WRITEPATH_ENGINE (`make test`), else the package's release build.
    static var staticEngine: String { BuiltBinaries.environmentEngine ?? BuiltBinaries.packageBuild("release") }

    static let tinyMatrix = """
        layers: [host]
        workloads:
          - { name: rand-4k-qd4, rw: randwrite, bs: 4k, iodepth: 4, size: 8m, runtime: 1, time_based: true }
        repetitions: 1
        """

    /// Hosts made for one test (scripts/fleet-local-hosts.sh) and how to run a fleet on them.
    struct Rig {
        var base: String
        var inventory: String
        var rig: String
        /// Ansible's own files (control sockets, temp) stay in the test's folder, not in ~/.ansible.
        var environment: [String: String] {
            [
                "ANSIBLE_HOME": "\(base)/ansible-home", "ANSIBLE_LOCAL_TEMP": "\(base)/ansible-home/tmp",
                "ANSIBLE_SSH_CONTROL_PATH_DIR": "\(base)/ansible-home/cp",
            ]
        }
        /// `writepath fleet` on the rig with `matrix` (YAML), into `<base>/results`.
        func arguments(matrix: String) throws -> [String] {
            try matrix.write(toFile: "\(base)/matrix.yaml", atomically: true, encoding: .utf8)
            return [
                "fleet", "--inventory", inventory, "--matrix", "\(base)/matrix.yaml", "--results", "\(base)/results",
                "--binary", FleetTests.staticEngine, "--playbook-dir", "\(FleetTests.repository)/deploy/ansible", "--forks", "4",
            ]
        }
        /// The one fleet folder under `<base>/results`.
        func fleetFolder() throws -> String {
            let fleets = try FileManager.default.contentsOfDirectory(atPath: "\(base)/results")
            try #require(fleets.count == 1, "one fleet folder: \(fleets)")
            return "\(base)/results/\(fleets[0])"
        }
        func record() throws -> FleetRecord {
            try JSONDecoder().decode(FleetRecord.self, from: Data(contentsOf: URL(fileURLWithPath: "\(try fleetFolder())/fleet.json")))
        }
    }

    /// Makes hosts `names` (and, with `unreachable`, a host nothing listens for), runs `body`, removes them.
    static func withRig(_ names: [String], unreachable: String? = nil, _ body: (Rig) throws -> Void) throws {
        let engine = staticEngine
        try #require(
            FileManager.default.isExecutableFile(atPath: engine),
            "the static engine \(engine) is missing: swift build -c release --static-swift-stdlib --product writepath")
        let base = "/var/tmp/writepath-fleet-test-\(getpid())"
        try? FileManager.default.removeItem(atPath: base)
        try FileManager.default.createDirectory(atPath: base, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: base) }
        let rig = "\(base)/hosts"
        let script = "\(repository)/scripts/fleet-local-hosts.sh"
        let up = try runProcess(script, ["up", rig] + names, timeout: 120)
        defer { _ = try? runProcess(script, ["down", rig], timeout: 60) }
        try #require(up.status == 0, "fleet-local-hosts.sh up failed: \(up.stderr)")
        let inventory = "\(rig)/inventory.ini"
        if let unreachable {
            var text = try String(contentsOfFile: inventory, encoding: .utf8)
            text += "\n[unreachable]\n\(unreachable) ansible_host=127.0.0.1 ansible_port=1\n"
            try text.write(toFile: inventory, atomically: true, encoding: .utf8)
        }
        try body(Rig(base: base, inventory: inventory, rig: rig))
    }

    @Test(
        "three hosts over SSH: every host's runs arrive, an unreachable one is reported, the report has a host dimension",
        Precondition.fleet.trait)
    func threeHostsAndOneUnreachable() throws {
        try Self.withRig(["fleet-a", "fleet-b", "fleet-c"], unreachable: "fleet-gone") { r in try threeHosts(r) }
    }

    func threeHosts(_ r: Rig) throws {
        let (inventory, rig, env, engine) = (r.inventory, r.rig, r.environment, Self.staticEngine)
        let out = try runProcess(
            BuiltBinaries.writepath, try r.arguments(matrix: Self.tinyMatrix) + ["--status-interval", "1"], environment: env, timeout: 600)
        #expect(out.status == 1, "one host is unreachable: exit 1; stderr: \(out.stderr)")
        // Progress while the hosts run: each host as it ends (k of n, time left), and the status line every second.
        let ended = out.stderr.split(separator: "\n").filter { $0.contains(" hosts done), ") }
        #expect(ended.count == 4, "\(out.stderr)")
        #expect(
            ended.filter { $0.contains(" ran its matrix in ") }.count == 3 && ended.contains { $0.contains("fleet-gone is unreachable") })
        #expect(ended.last?.contains("(4 of 4 hosts done)") == true)
        #expect(out.stderr.contains(" running their matrix, "), "\(out.stderr)")
        let dir = try r.fleetFolder()
        let record = try r.record()
        #expect(record.hosts.map(\.host).sorted() == ["fleet-a", "fleet-b", "fleet-c", "fleet-gone"])
        #expect(!record.complete)
        for name in ["fleet-a", "fleet-b", "fleet-c"] {
            let h = try #require(record.hosts.first { $0.host == name })
            #expect(h.status == .ok, "\(name): \(h.status) \(h.reason ?? "")")
            let runDir = try #require(h.run_directory, "\(name) has no run folder")
            let doc = try ResultInput.parse("\(dir)/\(runDir)/run.json")
            // The run happened on that host: its own UTS name, recorded by the engine there.
            #expect(doc.host.hostname == name)
            #expect(doc.runs.count == 1 && doc.runs.allSatisfy { $0.status == .ok && ($0.write?.ios ?? 0) > 0 })
        }
        let gone = try #require(record.hosts.first { $0.host == "fleet-gone" })
        #expect(gone.status == .unreachable)
        #expect(gone.reason?.contains("ssh") == true, "the reason is ssh's: \(gone.reason ?? "")")
        // The report across hosts: one row per host, with the host's facts.
        let csv = try String(contentsOfFile: "\(dir)/report.csv", encoding: .utf8).split(separator: "\n").map {
            $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        }
        let header = csv[0]
        let hostColumn = try #require(header.firstIndex(of: "host"))
        let kernelColumn = try #require(header.firstIndex(of: "host_kernel"))
        #expect(csv.dropFirst().map { $0[hostColumn] }.sorted() == ["fleet-a", "fleet-b", "fleet-c"])
        #expect(csv.dropFirst().allSatisfy { !$0[kernelColumn].isEmpty })
        let spread = try String(contentsOfFile: "\(dir)/report-hosts.csv", encoding: .utf8)
        #expect(spread.split(separator: "\n").count == 4 && spread.contains(",3,"))
        #expect(out.stdout.contains("across hosts"))
        // Nothing is left in the hosts' scratch folders.
        for name in ["fleet-a", "fleet-b", "fleet-c"] { #expect(!FileManager.default.fileExists(atPath: "\(rig)/\(name)/scratch")) }

        // --resume tries only the host that is not done; the others keep their results.
        let again = try runProcess(
            BuiltBinaries.writepath,
            [
                "fleet", "--inventory", inventory, "--resume", dir, "--binary", engine,
                "--playbook-dir", "\(Self.repository)/deploy/ansible",
            ],
            environment: env, timeout: 300)
        #expect(again.status == 1, "\(again.stderr)")
        let resumed = try JSONDecoder().decode(FleetRecord.self, from: Data(contentsOf: URL(fileURLWithPath: "\(dir)/fleet.json")))
        #expect(resumed.hosts.first { $0.host == "fleet-gone" }?.attempts == 2)
        for name in ["fleet-a", "fleet-b", "fleet-c"] {
            #expect(resumed.hosts.first { $0.host == name } == record.hosts.first { $0.host == name })
        }
    }

    @Test("Ctrl-C stops the matrix on every host, fetches what each measured and leaves no scratch or process", Precondition.fleet.trait)
    func interrupted() throws {
        try Self.withRig(["fleet-x", "fleet-y"]) { r in
            // 40 one-second runs a host: far longer than the test waits before it stops them.
            let matrix = Self.tinyMatrix.replacingOccurrences(of: "repetitions: 1", with: "repetitions: 40")
            let p = Process()
            p.executableURL = URL(fileURLWithPath: BuiltBinaries.writepath)
            p.arguments = try r.arguments(matrix: matrix)
            p.environment = ProcessInfo.processInfo.environment.merging(r.environment) { _, new in new }
            p.standardOutput = FileHandle.nullDevice
            p.standardError = FileHandle.nullDevice
            try p.run()
            // Wait until both hosts have measured a few runs (their run folders show them).
            let deadline = Date().addingTimeInterval(400)
            func measured(_ host: String) -> Int {
                let results = "\(r.rig)/\(host)/scratch/results"
                guard let run = try? FileManager.default.contentsOfDirectory(atPath: results).first else { return 0 }
                return (try? FileManager.default.contentsOfDirectory(atPath: "\(results)/\(run)/runs"))?.count ?? 0
            }
            while Date() < deadline && p.isRunning && !(measured("fleet-x") >= 2 && measured("fleet-y") >= 2) { usleep(200_000) }
            try #require(p.isRunning, "the fleet ended before it was stopped")
            kill(p.processIdentifier, SIGINT)
            let stopBy = Date().addingTimeInterval(400)
            while p.isRunning && Date() < stopBy { usleep(200_000) }
            if p.isRunning { kill(p.processIdentifier, SIGKILL) }
            p.waitUntilExit()
            #expect(p.terminationStatus == 130)
            let dir = try r.fleetFolder()
            for h in try r.record().hosts {
                #expect(h.status == .interrupted, "\(h.host): \(h.status) \(h.reason ?? "")")
                let runDir = try #require(h.run_directory, "\(h.host) has no run folder")
                let doc = try ResultInput.parse("\(dir)/\(runDir)/run.json")
                #expect(doc.matrix?.complete == false)
                #expect(doc.runs.filter { $0.status == .ok }.count >= 2 && doc.runs.count < 40, "\(h.host): \(doc.runs.count) runs")
                #expect(!FileManager.default.fileExists(atPath: "\(r.rig)/\(h.host)/scratch"))
            }
            let left = try runProcess("/usr/bin/pgrep", ["-f", "\(r.rig)/.*/scratch/writepath run"])
            #expect(left.stdout.isEmpty, "writepath still runs on a host: \(left.stdout)")
        }
    }

    @Test(
        "bad input exits 2 with one line",
        arguments: [
            (["fleet", "--inventory", "/nonexistent/inventory.ini", "--matrix", "quick"], "inventory"),
            (["fleet", "--matrix", "quick"], "inventory"),
            (["fleet", "--inventory", "/etc/hostname", "--matrix", "no-such-suite"], "matrix"),
            (["fleet", "--inventory", "/etc/hostname", "--matrix", "quick", "--forks", "0"], "forks"),
        ])
    func badInput(arguments: [String], field: String) throws {
        let out = try runProcess(BuiltBinaries.writepath, arguments, timeout: 60)
        #expect(out.status == 2, "\(arguments): \(out.stderr)")
        let lines = out.stderr.split(separator: "\n")
        #expect(lines.count == 1 && lines[0].contains(field), "\(arguments): \(out.stderr)")
    }
}
