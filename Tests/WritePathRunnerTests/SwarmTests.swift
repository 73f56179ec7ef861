import Foundation
import Testing
import WritePathEngine
import WritePathResult
import WritePathTestSupport

@testable import WritePathRunner

#if canImport(Glibc)
    import Glibc
#endif

/// Docker Swarm mode for the container layers, on a real one-node swarm (made for the test with
/// `docker swarm init --advertise-addr 127.0.0.1` when the daemon is in none, and left again).
@Suite("Docker Swarm mode", .serialized)
struct SwarmTests {
    @Test("which layers swarm mode runs, and why not the others")
    func layers() {
        #expect(SwarmRunner.whyNot(LayerSpec(name: "docker-volume")) == nil)
        #expect(SwarmRunner.whyNot(LayerSpec(name: "docker-tmpfs", parameters: ["cpus": "1"])) == nil)
        #expect(SwarmRunner.whyNot(LayerSpec(name: "host"))?.contains("only docker-overlay, docker-volume, docker-tmpfs") == true)
        #expect(
            SwarmRunner.whyNot(LayerSpec(name: "docker-volume", parameters: ["write_iops_limit": "500"]))?.hasPrefix("write_iops_limit")
                == true)
        #expect(throws: WritePathError.self) {
            try SwarmRunner(
                matrix: ("layers: [host]\nworkloads: [{ name: w, rw: write }]\n", "m.yaml"), options: .init(binary: engineBinary))
        }
    }

    @Test(
        "a matrix on a one-node swarm: a global service per run, each task's result from its log, a fleet folder", Precondition.swarm.trait)
    func oneNodeSwarm() throws {
        let before = try SwarmRunner.swarmState()
        let results = "/var/tmp/writepath-swarm-test-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: results) }
        let matrix = """
            layers: [host, docker-tmpfs, docker-volume]
            workloads:
              - { name: rand4k, rw: randwrite, bs: 4k, iodepth: 4, size: 16m, runtime: 1, time_based: true }
            repetitions: 2
            """
        var options = SwarmRunner.Options(binary: engineBinary)
        options.resultsRoot = results
        options.initSwarm = true
        var runner = try SwarmRunner(matrix: (matrix, "m.yaml"), options: options)
        let record = try runner.run()
        // The swarm is as it was: left when the test made it.
        #expect(try SwarmRunner.swarmState().state == before.state)
        let services = try Command.run(
            "docker", ["ps", "-aq", "--filter", "label=writepath=1", "--filter", "label=com.docker.swarm.service.name"], timeout: 30)
        #expect(services.stdout.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty, "containers of swarm services left")
        #expect(record.hosts.count == 1)
        let node = try #require(record.hosts.first)
        #expect(node.status == .ok, "\(node.reason ?? "")")
        let dir = try #require(node.run_directory)
        let doc = try JSONFormat.parse(
            try #require(FileManager.default.contents(atPath: "\(runner.directory)/\(dir)/run.json")), source: dir)
        let ok = doc.runs.filter { $0.status == .ok }
        #expect(
            Set(ok.map(\.layer.name)) == ["docker-tmpfs", "docker-volume"] && ok.count == 4,
            "\(doc.runs.map { "\($0.layer.name) \($0.status) \($0.error ?? "")" })")
        for r in ok {
            #expect(r.layer.settings["mode"] == "swarm" && r.layer.settings["node"] == node.host)
            #expect((r.write?.iops ?? 0) > 0)
        }
        let host = doc.runs.filter { $0.layer.name == "host" }
        #expect(host.count == 2 && host.allSatisfy { $0.status == .unavailable && ($0.error ?? "").contains("swarm mode runs") })
        // The engine in the task saw the node's own kernel, and the node's name as its host name.
        #expect(doc.host.hostname == node.host && doc.host.kernel == HostInfo.probe().kernel)
        #expect(FileManager.default.fileExists(atPath: "\(runner.directory)/fleet.json"))
        #expect(ResultInput.fleetFiles(in: runner.directory)?.count == 1)
    }
}
