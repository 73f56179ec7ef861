import Foundation
import Testing
import WritePathReport
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

    @Test(
        "three hosts over SSH: every host's runs arrive, an unreachable one is reported, the report has a host dimension",
        Precondition.fleet.trait)
    func threeHostsAndOneUnreachable() throws {
        let engine = Self.staticEngine
        try #require(
            FileManager.default.isExecutableFile(atPath: engine),
            "the static engine \(engine) is missing: swift build -c release --static-swift-stdlib --product writepath")
        let base = "/var/tmp/writepath-fleet-test-\(getpid())"
        try? FileManager.default.removeItem(atPath: base)
        try FileManager.default.createDirectory(atPath: base, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: base) }
        let rig = "\(base)/hosts"
        let script = "\(Self.repository)/scripts/fleet-local-hosts.sh"
        let up = try runProcess(script, ["up", rig, "fleet-a", "fleet-b", "fleet-c"], timeout: 120)
        defer { _ = try? runProcess(script, ["down", rig], timeout: 60) }
        try #require(up.status == 0, "fleet-local-hosts.sh up failed: \(up.stderr)")
        // The fourth host: an address where nothing listens for SSH.
        let inventory = "\(rig)/inventory.ini"
        var text = try String(contentsOfFile: inventory, encoding: .utf8)
        text += "\n[unreachable]\nfleet-gone ansible_host=127.0.0.1 ansible_port=1\n"
        try text.write(toFile: inventory, atomically: true, encoding: .utf8)
        try Self.tinyMatrix.write(toFile: "\(base)/tiny.yaml", atomically: true, encoding: .utf8)
        // Ansible's own files (control sockets, temp) stay in the test's folder, not in ~/.ansible.
        let env = [
            "ANSIBLE_HOME": "\(base)/ansible-home", "ANSIBLE_LOCAL_TEMP": "\(base)/ansible-home/tmp",
            "ANSIBLE_SSH_CONTROL_PATH_DIR": "\(base)/ansible-home/cp",
        ]
        let args = [
            "fleet", "--inventory", inventory, "--matrix", "\(base)/tiny.yaml", "--results", "\(base)/results",
            "--binary", engine, "--playbook-dir", "\(Self.repository)/deploy/ansible", "--forks", "4",
        ]
        let out = try runProcess(BuiltBinaries.writepath, args, environment: env, timeout: 600)
        #expect(out.status == 1, "one host is unreachable: exit 1; stderr: \(out.stderr)")
        let fleets = try FileManager.default.contentsOfDirectory(atPath: "\(base)/results")
        try #require(fleets.count == 1, "one fleet folder: \(fleets)")
        let dir = "\(base)/results/\(fleets[0])"
        let record = try JSONDecoder().decode(FleetRecord.self, from: Data(contentsOf: URL(fileURLWithPath: "\(dir)/fleet.json")))
        #expect(record.hosts.map(\.host).sorted() == ["fleet-a", "fleet-b", "fleet-c", "fleet-gone"])
        #expect(!record.complete)
        for name in ["fleet-a", "fleet-b", "fleet-c"] {
            let h = try #require(record.hosts.first { $0.host == name })
            #expect(h.status == "ok", "\(name): \(h.status) \(h.reason ?? "")")
            let runDir = try #require(h.run_directory, "\(name) has no run folder")
            let doc = try ResultInput.parse("\(dir)/\(runDir)/run.json")
            // The run happened on that host: its own UTS name, recorded by the engine there.
            #expect(doc.host.hostname == name)
            #expect(doc.runs.count == 1 && doc.runs.allSatisfy { $0.status == "ok" && ($0.write?.ios ?? 0) > 0 })
        }
        let gone = try #require(record.hosts.first { $0.host == "fleet-gone" })
        #expect(gone.status == "unreachable")
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
