import Foundation
import Testing
import WritePathEngine
import WritePathTestSupport

@testable import WritePathRunner

#if canImport(Glibc)
    import Glibc
#endif

/// The `writepath` binary for the containers: WRITEPATH_ENGINE, else the one built with the tests.
private let runtimeEngine = BuiltBinaries.environmentEngine ?? BuiltBinaries.nextToTests ?? EngineRootfs.defaultEngineBinary()

private func runtimeContext(_ name: String) -> LayerContext {
    let base = "/var/tmp/writepath-runtime-tests/\(name)-\(getpid())"
    try? FileManager.default.removeItem(atPath: base)
    try? FileManager.default.createDirectory(atPath: base, withIntermediateDirectories: true)
    return LayerContext(
        engineBinary: runtimeEngine, logDirectory: "\(base)/logs", scratchDirectory: "\(base)/scratch",
        runID: "rt\(getpid())\(name)", graceSeconds: 60)
}

private func removeRuntimeTestFolder(_ context: LayerContext) {
    let base = (context.logDirectory as NSString).deletingLastPathComponent
    try? FileManager.default.removeItem(atPath: base)
    rmdir((base as NSString).deletingLastPathComponent)
}

private func runtimeLayerWorkload(runtime: Double = 2, size: UInt64 = 16 << 20, rampTime: Double = 0) -> Workload {
    var w = Workload()
    w.ramp_time = rampTime
    w.name = "short"
    w.rw = .randwrite
    w.bs = 4096
    w.iodepth = 4
    w.size = size
    w.runtime = runtime
    w.time_based = true
    w.direct = true
    return w
}

private func mountinfoMentions(_ path: String) -> Bool {
    ((try? String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8)) ?? "").contains(path)
}

private func runtimeLayerAvailable(_ spec: LayerSpec) -> Bool {
    let a = (try? LayerRegistry.make(spec))?.availability() ?? .unavailable(reason: "layer did not initialise", fix: "")
    if case let .unavailable(reason, fix) = a { print("\(spec) run tests skipped: \(reason); \(fix)") }
    return a.isAvailable
}

private let nspawnAvailable = runtimeLayerAvailable(LayerSpec(name: "nspawn"))
private let podmanAvailable = runtimeLayerAvailable(LayerSpec(name: "podman", parameters: ["runtime": "runc"]))

/// The runs of the gvisor, nspawn and podman layers, one at a time: their throttle tests measure
/// IOPS on the disk the others write to.
@Suite("container runtimes: runs, one at a time", .serialized)
struct RuntimeLayerRuns {}

@Suite("nspawn and podman layers: parameters")
struct NspawnPodmanConfigTests {
    @Test(
        "bad values and unknown parameters name the layer's parameter",
        arguments: [
            ("nspawn", "runtime", "runc"), ("nspawn", "storage", "volume"), ("nspawn", "memory", "1k"),
            ("podman", "runtime", "runsc"), ("podman", "storage", "tmpfs"), ("podman", "seccomp", "strict"),
            ("podman", "engine_fallback", "null"),
        ])
    func badParameters(layer: String, key: String, value: String) {
        do {
            _ = try LayerRegistry.make(LayerSpec(name: layer, parameters: [key: value]))
            Issue.record("\(layer) accepted \(key)=\(value)")
        } catch let e as WritePathError {
            #expect("\(e)".contains("\(layer).\(key)"), "\(e)")
        } catch {
            Issue.record("unexpected \(error)")
        }
    }

    @Test("podman's container rlimits never exceed the caller's hard limits")
    func podmanUlimits() {
        var nofile = rlimit()
        getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &nofile)
        let u = PodmanLayer.ulimits()
        #expect(u.first == "nofile=\(nofile.rlim_cur):\(nofile.rlim_max)")
        #expect(u.count == 2 && u[1].hasPrefix("nproc="))
    }
}

extension RuntimeLayerRuns {
    @Suite("nspawn layer: runs", .serialized, Precondition.nspawn.trait)
    struct NspawnLayerRunTests {
        @Test("a short io_uring randwrite runs in systemd-nspawn on the --bind target, records the layer and leaves nothing behind")
        func shortRun() throws {
            let layer = try LayerRegistry.make(LayerSpec(name: "nspawn"))
            let context = runtimeContext("nspawn")
            defer { removeRuntimeTestFolder(context) }
            let start = Date()
            let result = try layer.run(runtimeLayerWorkload(), rep: 2, context: context)
            print(
                "nspawn: \(String(format: "%.2f", Date().timeIntervalSince(start))) s wall, "
                    + "write iops \(String(format: "%.0f", result.write?.iops ?? 0)), "
                    + "target fs \(result.target?.filesystem ?? "?"), engine \(result.engine.features)")
            #expect(result.status == .ok, "\(result.error ?? "")")
            #expect((result.write?.ios ?? 0) > 0)
            #expect(result.engine.name == "io_uring")
            #expect(result.layer.name == "nspawn")
            #expect(result.rep == 2)
            #expect(result.layer.settings["runtime"] == "systemd-nspawn")
            #expect(result.layer.settings["runtime_version"]?.hasPrefix("systemd ") == true)
            #expect(result.layer.settings["target"]?.hasPrefix("/wp/target.dat (bind mount") == true)
            #expect(!mountinfoMentions(context.scratchDirectory))
            #expect(!FileManager.default.fileExists(atPath: "\(context.scratchDirectory)/nspawn-\(context.runID)"))
        }

        @Test("cpus, memory and write_iops_limit go into writepath's cgroup; IOPS held to 300 ± 10%; the cgroup is removed")
        func limits() throws {
            let layer = try LayerRegistry.make(
                LayerSpec(name: "nspawn", parameters: ["cpus": "1", "memory": "256m", "write_iops_limit": "300"]))
            let context = runtimeContext("nspawnlim")
            defer { removeRuntimeTestFolder(context) }
            let result = try layer.run(runtimeLayerWorkload(runtime: 3, size: 64 << 20, rampTime: 1), rep: 1, context: context)
            let iops = result.write?.iops ?? 0
            print(
                "nspawn write_iops_limit=300: measured \(String(format: "%.1f", iops)) IOPS, "
                    + "cgroups \(result.layer.settings["cgroups"] ?? "?")"
            )
            #expect(result.status == .ok, "\(result.error ?? "")")
            #expect(abs(iops - 300) <= 30, "measured \(iops) IOPS")
            let cgroups = try #require(result.layer.settings["cgroups"]).split(separator: " ").map(String.init)
            #expect(!cgroups.isEmpty)
            for c in cgroups { #expect(!FileManager.default.fileExists(atPath: c), "\(c) left behind") }
            #expect(!mountinfoMentions(context.scratchDirectory))
        }
    }
}

extension RuntimeLayerRuns {
    @Suite("podman layer: runs", .serialized, Precondition.podman.trait)
    struct PodmanLayerRunTests {
        private func containers(named name: String) throws -> [String] {
            try Command.run("podman", ["ps", "-a", "--filter", "name=\(name)", "--format", "{{.Names}}"], timeout: 60)
                .stdout.split(separator: "\n").map(String.init)
        }

        @Test("an io_uring run under podman's default seccomp profile fails with the finding, and leaves no container")
        func seccompFinding() throws {
            let layer = try LayerRegistry.make(LayerSpec(name: "podman", parameters: ["runtime": "runc"]))
            let context = runtimeContext("podsec")
            defer { removeRuntimeTestFolder(context) }
            let result = try layer.run(runtimeLayerWorkload(), rep: 1, context: context)
            print("podman io_uring: status \(result.status): \(result.error ?? "")")
            #expect(result.status == .failed)
            #expect(result.error?.contains("podman's default seccomp profile blocks io_uring") == true, "\(result.error ?? "")")
            #expect(try containers(named: "wp-\(context.runID)").isEmpty)
        }

        @Test("storage=volume with engine_fallback=libaio runs libaio on a podman volume, records it, removes container and volume")
        func volumeFallback() throws {
            let layer = try LayerRegistry.make(
                LayerSpec(name: "podman", parameters: ["runtime": "runc", "storage": "volume", "engine_fallback": "libaio"]))
            let context = runtimeContext("podvol")
            defer { removeRuntimeTestFolder(context) }
            let start = Date()
            let result = try layer.run(runtimeLayerWorkload(), rep: 1, context: context)
            print(
                "podman volume libaio: \(String(format: "%.2f", Date().timeIntervalSince(start))) s wall, "
                    + "write iops \(String(format: "%.0f", result.write?.iops ?? 0))"
            )
            #expect(result.status == .ok, "\(result.error ?? "")")
            #expect((result.write?.ios ?? 0) > 0)
            #expect(result.engine.name == "libaio")
            #expect(result.layer.settings["engine_fallback"]?.hasPrefix("libaio") == true)
            #expect(result.layer.settings["runtime"] == "runc")
            #expect(result.layer.settings["storage"] == "podman volume (local driver)")
            #expect(try containers(named: "wp-\(context.runID)").isEmpty)
            let volumes = try Command.run("podman", ["volume", "ls", "-q"], timeout: 60).stdout
            #expect(!volumes.split(separator: "\n").contains { $0 == "wp-\(context.runID)" }, "\(volumes)")
        }

        @Test("seccomp=unconfined runs io_uring on a podman volume with write_iops_limit 300 ± 10%")
        func unconfinedThrottled() throws {
            let layer = try LayerRegistry.make(
                LayerSpec(
                    name: "podman",
                    parameters: ["runtime": "runc", "seccomp": "unconfined", "storage": "volume", "write_iops_limit": "300"]))
            let context = runtimeContext("podunc")
            defer { removeRuntimeTestFolder(context) }
            let result = try layer.run(runtimeLayerWorkload(runtime: 3, size: 64 << 20, rampTime: 1), rep: 1, context: context)
            let iops = result.write?.iops ?? 0
            print(
                "podman unconfined io_uring write_iops_limit=300: \(String(format: "%.1f", iops)) IOPS, "
                    + "device \(result.layer.settings["throttle_device"] ?? "?")"
            )
            #expect(result.status == .ok, "\(result.error ?? "")")
            #expect(result.engine.name == "io_uring")
            #expect(abs(iops - 300) <= 30, "measured \(iops) IOPS")
            #expect(try containers(named: "wp-\(context.runID)").isEmpty)
        }
    }
}

@Suite("podman layer: default runtime")
struct PodmanDefaultRuntimeTests {
    @Test("without runtime, podman uses crun unless crun refuses this machine's cgroups, then runc, and records it")
    func defaultRuntime() throws {
        let layer = try PodmanLayer(parameters: [:])
        let cgroups = OCIRuncLayer.cgroupMode()
        let expected = cgroups.mode == "hybrid" && !cgroups.unifiedControllers.isEmpty ? "runc" : "crun"
        #expect(layer.describe()["runtime"] == expected)
        #expect(try PodmanLayer(parameters: ["runtime": "crun"]).describe()["runtime"] == "crun")
    }
}
