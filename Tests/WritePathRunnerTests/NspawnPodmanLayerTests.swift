import Foundation
import Testing
import WritePathEngine
import WritePathTestSupport

@testable import WritePathRunner

#if canImport(Glibc)
    import Glibc
#endif

/// The `writepath` binary for the containers: WRITEPATH_ENGINE, else the one built with the tests.
let runtimeEngine = BuiltBinaries.environmentEngine ?? BuiltBinaries.nextToTests ?? EngineRootfs.defaultEngineBinary()

func runtimeContext(_ name: String) -> LayerContext {
    let base = "/var/tmp/writepath-runtime-tests/\(name)-\(getpid())"
    try? FileManager.default.removeItem(atPath: base)
    try? FileManager.default.createDirectory(atPath: base, withIntermediateDirectories: true)
    return LayerContext(
        engineBinary: runtimeEngine, logDirectory: "\(base)/logs", scratchDirectory: "\(base)/scratch",
        runID: "rt\(getpid())\(name)", graceSeconds: 60)
}

func removeRuntimeTestFolder(_ context: LayerContext) {
    let base = (context.logDirectory as NSString).deletingLastPathComponent
    try? FileManager.default.removeItem(atPath: base)
    rmdir((base as NSString).deletingLastPathComponent)
}

func runtimeLayerWorkload(runtime: Double = 2, size: UInt64 = 16 << 20, rampTime: Double = 0) -> Workload {
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
            ("podman", "engine_fallback", "null"), ("podman", "rootless", "maybe"), ("podman", "user", "nobody"),
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

@Suite("podman layer: rootless and storage parameters")
struct PodmanRootlessConfigTests {
    @Test("rootless takes a user name, and refuses one that is not a name; storage takes the four kinds")
    func parameters() throws {
        for storage in ["overlay", "fuse-overlayfs", "volume", "bind"] {
            let layer = try PodmanLayer(parameters: ["storage": storage, "rootless": "true"])
            #expect(layer.describe()["rootless"] == "true")
        }
        #expect(try PodmanLayer(parameters: ["rootless": "true", "user": "alice"]).client.user == "alice")
        if geteuid() == 0 { #expect(try PodmanLayer(parameters: ["rootless": "true"]).client.user == PodmanClient.defaultUser) }
        do {
            _ = try PodmanLayer(parameters: ["rootless": "true", "user": "../root"])
            Issue.record("accepted user ../root")
        } catch let e as WritePathError {
            #expect("\(e)".contains("podman.user"), "\(e)")
        }
    }

    @Test("a named user that does not exist, or limits on cgroup v1, make rootless podman unavailable with the fix")
    func unavailable() throws {
        let missing = try PodmanLayer(parameters: ["rootless": "true", "user": "wp-no-such-user", "runtime": "runc"])
        guard case let .unavailable(reason, fix) = missing.availability() else {
            Issue.record("available for a missing user")
            return
        }
        #expect(reason.contains("wp-no-such-user") || reason.contains("not installed") || reason.contains("uidmap"), "\(reason)")
        #expect(!fix.isEmpty)
        if OCIRuncLayer.cgroupMode().version == "v1", Command.which("podman") != nil, Command.which("newuidmap") != nil {
            let limited = try PodmanLayer(parameters: ["rootless": "true", "runtime": "runc", "cpus": "1"])
            guard case let .unavailable(reason, fix) = limited.availability() else {
                Issue.record("rootless with cpus available on cgroup v1")
                return
            }
            #expect(reason.contains("cgroup v1") && fix.contains("rootless: false"), "\(reason); \(fix)")
        }
    }

    @Test("the seccomp probe: a profile that refuses by default without an io_uring rule blocks it; one that allows it does not")
    func seccompProbe() throws {
        let dir = NSTemporaryDirectory() + "wp-seccomp-\(getpid())"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let blocked = #"{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["read","write"],"action":"SCMP_ACT_ALLOW"}]}"#
        let allowed =
            #"{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["io_uring_setup","io_uring_enter"],"action":"SCMP_ACT_ALLOW"}]}"#
        try blocked.write(toFile: "\(dir)/b.json", atomically: true, encoding: .utf8)
        try allowed.write(toFile: "\(dir)/a.json", atomically: true, encoding: .utf8)
        #expect(PodmanClient.seccompAllowsIOUring(profile: "\(dir)/b.json") == false)
        #expect(PodmanClient.seccompAllowsIOUring(profile: "\(dir)/a.json") == true)
        #expect(PodmanClient.seccompAllowsIOUring(profile: "\(dir)/none.json") == nil)
        let layer = try PodmanLayer(parameters: ["seccomp": "unconfined"])
        #expect(layer.seccompIOUring(profile: "\(dir)/b.json").hasPrefix("allowed"))
    }

    @Test("writepath layers lists podman rootful and rootless")
    func listed() {
        let kind = LayerRegistry.all.first { $0.name == "podman" }
        #expect(kind?.listedVariants == [[:], ["rootless": "true"]])
    }
}

extension RuntimeLayerRuns {
    @Suite("podman rootless: runs", .serialized, Precondition.podmanRootless.trait)
    struct PodmanRootlessRunTests {
        private func containers(_ layer: PodmanLayer, named name: String) throws -> [String] {
            let c = layer.client.command(layer.client.account())
            // Asking podman as the user starts its pause process again: stopped as the layer does.
            defer { layer.client.stopPauseProcess(layer.client.account()) }
            let r = try Command.run(
                c[0], Array(c.dropFirst()) + ["ps", "-a", "--filter", "name=\(name)", "--format", "{{.Names}}"], timeout: 60)
            return r.stdout.split(separator: "\n").map(String.init)
        }

        /// No podman process of the rootless user is left running (its pause process included;
        /// a zombie waits for its parent to reap it and runs nothing).
        private func expectNoPodmanProcessLeft(_ layer: PodmanLayer) {
            guard let a = layer.client.account() else { return }
            let r = try? Command.run("ps", ["-u", "\(a.uid)", "-o", "pid=,stat=,comm="], timeout: 20)
            let left = (r?.stdout ?? "").split(separator: "\n").filter { line in
                let f = line.split(separator: " ", omittingEmptySubsequences: true)
                return f.count >= 3 && !f[1].hasPrefix("Z")
                    && (f[2].contains("podman") || f[2].contains("conmon") || f[2].contains("catatonit"))
            }
            #expect(left.isEmpty, "\(left)")
        }

        @Test("rootless on kernel overlay: the seccomp finding for io_uring, then libaio, driver recorded, nothing left")
        func rootlessOverlay() throws {
            let layer = try PodmanLayer(parameters: ["rootless": "true", "runtime": "runc"])
            let context = runtimeContext("podrl")
            defer { removeRuntimeTestFolder(context) }
            let failed = try layer.runTimed(runtimeLayerWorkload(), rep: 1, context: context)
            print("podman rootless io_uring: \(failed.status): \(failed.error ?? "")")
            if failed.layer.settings["seccomp_io_uring"]?.hasPrefix("blocked") == true {
                #expect(failed.status == .failed)
                #expect(failed.error?.contains("podman's default seccomp profile blocks io_uring") == true, "\(failed.error ?? "")")
            }
            let fallback = try PodmanLayer(parameters: ["rootless": "true", "runtime": "runc", "engine_fallback": "libaio"])
            let result = try fallback.runTimed(runtimeLayerWorkload(), rep: 1, context: context)
            let s = result.layer.settings
            print(
                "podman rootless libaio: write iops \(String(format: "%.0f", result.write?.iops ?? 0)), "
                    + "startup_s \(s["startup_s"] ?? "?"), driver \(s["storage_driver"] ?? "?"), "
                    + "mount program \(s["storage_mount_program"] ?? "?")")
            #expect(result.status == .ok, "\(result.error ?? "")")
            #expect(result.engine.name == "libaio")
            #expect(s["rootless"] == "true")
            #expect(s["rootless_user"] == PodmanClient.defaultUser)
            #expect(s["storage_driver"] == "overlay")
            #expect(s["storage_mount_program"] == "none (kernel overlayfs)")
            #expect(s[LayerWritePath.settingsKey]?.contains("user namespace") == true)
            #expect(try containers(layer, named: "wp-\(context.runID)").isEmpty)
            expectNoPodmanProcessLeft(layer)
        }

        @Test("rootless on fuse-overlayfs and on a bind mount: the mount program and the bind folder recorded, nothing left")
        func rootlessFuseAndBind() throws {
            let context = runtimeContext("podfuse")
            defer { removeRuntimeTestFolder(context) }
            let fuse = try PodmanLayer(parameters: [
                "rootless": "true", "runtime": "runc", "storage": "fuse-overlayfs", "engine_fallback": "psync",
            ])
            var w = runtimeLayerWorkload()
            w.iodepth = 1
            let r1 = try fuse.run(w, rep: 1, context: context)
            print("podman rootless fuse-overlayfs psync: write iops \(String(format: "%.0f", r1.write?.iops ?? 0))")
            #expect(r1.status == .ok, "\(r1.error ?? "")")
            #expect(r1.layer.settings["storage_mount_program"]?.contains("fuse-overlayfs") == true, "\(r1.layer.settings)")
            #expect(r1.layer.settings[LayerWritePath.settingsKey]?.contains("fuse-overlayfs") == true)
            let bind = try PodmanLayer(parameters: ["rootless": "true", "runtime": "runc", "storage": "bind", "seccomp": "unconfined"])
            let r2 = try bind.run(runtimeLayerWorkload(), rep: 1, context: context)
            print(
                "podman rootless bind unconfined io_uring: \(r2.status) \(r2.error ?? ""), "
                    + "iops \(String(format: "%.0f", r2.write?.iops ?? 0))")
            #expect(r2.status == .ok, "\(r2.error ?? "")")
            #expect(r2.engine.name == "io_uring")
            #expect(r2.layer.settings["target"] == "/wp/target.dat")
            let folder = try #require(r2.layer.settings["host_path"])
            #expect(!FileManager.default.fileExists(atPath: folder))
            #expect(try containers(bind, named: "wp-\(context.runID)").isEmpty)
            expectNoPodmanProcessLeft(bind)
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
