import Foundation
import Testing
import WritePathEngine
import WritePathTestSupport

@testable import WritePathRunner

#if canImport(Glibc)
    import Glibc
#endif

/// The `writepath` binary built with the tests, placed in containers and guests.
let engineBinary = BuiltBinaries.containerEngine

func testContext(_ name: String) -> LayerContext {
    let base = "/var/tmp/writepath-layer-tests/\(name)-\(getpid())"
    try? FileManager.default.createDirectory(atPath: base, withIntermediateDirectories: true)
    return LayerContext(
        engineBinary: engineBinary, logDirectory: "\(base)/logs", scratchDirectory: "\(base)/scratch",
        runID: "t\(getpid())\(name.prefix(6))", graceSeconds: 60)
}

func shortWorkload(runtime: Double = 2, iodepth: Int = 4) -> Workload {
    var w = Workload()
    w.name = "short"
    w.rw = .randwrite
    w.iodepth = iodepth
    w.size = 16 << 20
    w.runtime = runtime
    w.time_based = true
    return w
}

/// Containers and volumes labelled writepath=1 that exist now, leaving out the swarm mode's
/// service tasks and volumes: SwarmTests may run at the same time and checks its own.
func leftovers() -> (containers: String, volumes: String) {
    let c =
        (try? Command.run(
            "docker", ["ps", "-a", "--filter", "label=writepath=1", "--format", "{{.ID}} {{.Label \"com.docker.swarm.service.name\"}}"],
            timeout: 30))?.stdout ?? ""
    let v = (try? Command.run("docker", ["volume", "ls", "-q", "--filter", "label=writepath=1"], timeout: 30))?.stdout ?? ""
    let containers = c.split(separator: "\n").map { $0.split(separator: " ") }.filter { $0.count == 1 }.map { String($0[0]) }
    let volumes = v.split(separator: "\n").map(String.init).filter { !$0.hasPrefix("wp-swarm-") }
    return (containers.joined(separator: " "), volumes.joined(separator: " "))
}

@Suite("Docker layers", .serialized, Precondition.docker.trait)
struct DockerLayerTests {
    @Test(
        "every docker layer runs a short workload, records its settings and leaves nothing behind",
        arguments: ["docker-overlay", "docker-volume", "docker-bind", "docker-tmpfs"])
    func runs(layerName: String) throws {
        let layer = try LayerRegistry.make(LayerSpec(name: layerName))
        let context = testContext(layerName)
        let result = try layer.run(shortWorkload(), rep: 2, context: context)
        #expect(result.status == .ok, "\(result.error ?? "")")
        #expect(result.layer.name == layerName)
        #expect(result.rep == 2)
        #expect((result.write?.ios ?? 0) > 0)
        #expect(result.layer.settings["storage_driver"] == "overlay2")
        #expect(result.layer.settings["docker_version"] != nil)
        #expect(result.layer.settings["image"]?.hasPrefix("writepath-engine:") == true)
        #expect(result.workload == shortWorkload())
        if layerName == "docker-tmpfs" { #expect(result.target?.filesystem == "tmpfs") }
        if layerName == "docker-overlay" { #expect(result.target?.filesystem == "overlay") }
        let left = leftovers()
        #expect(left.containers.isEmpty, "containers left: \(left.containers)")
        #expect(left.volumes.isEmpty, "volumes left: \(left.volumes)")
        #expect(!FileManager.default.fileExists(atPath: "\(context.scratchDirectory)/bind-\(context.runID)"))
    }

    @Test("a 500 write-IOPS throttle shows in the measured IOPS")
    func throttle() throws {
        let layer = try LayerRegistry.make(LayerSpec(name: "docker-volume", parameters: ["write_iops_limit": "500"]))
        let result = try layer.run(shortWorkload(runtime: 3, iodepth: 8), rep: 1, context: testContext("throttle"))
        let iops = try #require(result.write?.iops)
        #expect(abs(iops - 500) / 500 < 0.10, "measured \(iops) IOPS under a 500 IOPS limit")
        #expect(result.layer.settings["write_iops_limit"] == "500")
        #expect(result.layer.settings["throttle_device"] != nil)
    }

    @Test("limits that cannot apply are refused")
    func badLimits() {
        #expect(throws: WritePathError.self) {
            try LayerRegistry.make(LayerSpec(name: "docker-tmpfs", parameters: ["write_iops_limit": "500"]))
        }
        #expect(throws: WritePathError.self) { try LayerRegistry.make(LayerSpec(name: "docker-volume", parameters: ["cpus": "lots"])) }
        #expect(throws: WritePathError.self) { try LayerRegistry.make(LayerSpec(name: "docker-volume", parameters: ["colour": "blue"])) }
        #expect(throws: WritePathError.self) { try LayerRegistry.make(LayerSpec(name: "docker-bind", parameters: ["path": "relative"])) }
    }
}

/// Faults, in the same serialized suite: the daemon-down test changes DOCKER_HOST for the process.
extension DockerLayerTests {
    @Test("a container that runs out of memory is reported as such")
    func outOfMemory() throws {
        // 64 buffers of 1 MiB do not fit in 24 MiB.
        var w = shortWorkload(runtime: 2, iodepth: 64)
        w.bs = 1 << 20
        w.rw = .write
        w.size = 128 << 20
        let layer = try LayerRegistry.make(LayerSpec(name: "docker-tmpfs", parameters: ["memory": "24m"]))
        do {
            let r = try layer.run(w, rep: 1, context: testContext("oom"))
            Issue.record("ran to the end under a 24 MiB limit: \(r.status)")
        } catch let e as WritePathError {
            #expect(e.description.contains("out of memory"), "\(e)")
        }
        #expect(leftovers().containers.isEmpty)
    }

    @Test("a docker daemon that is down makes the docker layers unavailable with the reason and the fix")
    func daemonDown() throws {
        let saved = ProcessInfo.processInfo.environment["DOCKER_HOST"]
        setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock", 1)
        defer { if let saved { setenv("DOCKER_HOST", saved, 1) } else { unsetenv("DOCKER_HOST") } }
        let a = try LayerRegistry.make(LayerSpec(name: "docker-volume")).availability()
        guard case let .unavailable(reason, fix) = a else {
            Issue.record("available with DOCKER_HOST pointing nowhere")
            return
        }
        #expect(reason.contains("not running"))
        #expect(fix.contains("start-dockerd"))
    }
}
