import Foundation
import WritePathEngine
import WritePathResult

#if canImport(Glibc)
    import Glibc
#endif

/// `gvisor`: the engine under gVisor's user-space kernel (runsc). Every syscall of the engine is
/// served by the Sentry; file I/O goes to the gofer, which writes the host file (rootfs overlay or
/// bind mount): the host sees the gofer's writes, not the engine's. gVisor ignores O_DIRECT toward
/// the gofer, so `target.direct_io` inside the sandbox is gVisor's own view; the layer measures the
/// host page cache of the target after the run (`host_page_cache_after_bytes`) as the evidence.
/// gVisor's io_uring takes no writes (this runsc: setup works, writes fail with EINVAL; others: no
/// io_uring_setup): an io_uring run fails with that finding unless `engine_fallback` names libaio
/// or psync. Runs through Docker's `--runtime=runsc` when the daemon has runsc registered, else as
/// an OCI bundle run by `runsc` the way oci-runc runs runc (with `--network=none`); `via: docker` or
/// `via: oci` insists on one (`via` in the result says which ran). writepath never edits
/// /etc/docker/daemon.json: without runsc registered, `via: docker` is unavailable with the fix.
public struct GVisorLayer: SingleLayer {
    public static let name = "gvisor"
    public static let summary =
        "the engine under gVisor (runsc: user-space kernel, writes through its gofer; no io_uring writes, O_DIRECT ignored)"
    public static let parameterNames = [
        "cpus", "memory", "write_iops_limit", "write_bps_limit", "platform", "storage", "via", EngineFallback.parameter,
    ]

    let limits: ContainerLimits
    /// `ptrace` (default) or `kvm`: how the Sentry intercepts the engine's syscalls.
    let platform: String
    /// `overlay` (the target in the container root, an overlay writepath mounts) or `bind`.
    let storage: String
    let fallback: EngineFallback?
    /// `auto` (default: docker when its daemon has runsc registered, else oci), `docker` or `oci`.
    let via: String

    public init(parameters: [String: String]) throws {
        let p = try LayerParameters(layer: Self.name, values: parameters, accepted: Self.parameterNames)
        for key in ["write_iops_limit", "write_bps_limit"] where parameters[key] != nil {
            throw WritePathError.invalidInput(
                field: "\(Self.name).\(key)",
                message: "not supported: gVisor's gofer writes the host page cache (O_DIRECT is ignored), which blkio throttles "
                    + "do not hold (measured here: 25.7k IOPS under write_iops_limit=300); use cpus or memory")
        }
        limits = try ContainerLimits(p)
        platform = try p.choice("platform", ["ptrace", "kvm"]) ?? "ptrace"
        storage = try p.choice("storage", ["overlay", "bind"]) ?? "overlay"
        fallback = try EngineFallback.parse(p)
        via = try p.choice("via", ["auto", "docker", "oci"]) ?? "auto"
    }

    /// runsc's global flags for a bundle run.
    var runscFlags: [String] { ["--platform=\(platform)", "--network=none", "--overlay2=none"] }

    var bundleRunner: OCIRuncLayer {
        OCIRuncLayer(
            limits: limits, owner: self, runtimeCommand: ["runsc"] + runscFlags,
            bindTarget: storage == "bind", probeHostPageCache: true)
    }

    /// The docker daemon's runsc runtime and its arguments (`--platform=...`), when registered.
    static func dockerRunsc() -> [String]? {
        guard case let .success(d) = Docker.daemon(), d.runtimes.contains("runsc") else { return nil }
        return dockerRunscArguments()
    }

    /// `dockerRunsc()` unless `via: oci` keeps this layer on the OCI bundle.
    func viaDocker() -> [String]? { via == "oci" ? nil : Self.dockerRunsc() }

    static func dockerRunscArguments() -> [String]? {
        guard let r = try? Command.run("docker", ["info", "--format", "{{json .Runtimes.runsc}}"], timeout: 20), r.succeeded,
            let obj = try? JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any]
        else { return nil }
        return (obj["runtimeArgs"] as? [String]) ?? []
    }

    public func availability() -> Availability {
        guard Command.which("runsc") != nil else {
            return .unavailable(reason: "runsc (gVisor) is not installed", fix: "scripts/install-deps.sh runtimes (apt-get install runsc)")
        }
        guard let version = OCIRuncLayer.runtimeVersion("runsc") else {
            return .unavailable(reason: "`runsc --version` failed", fix: "reinstall runsc (apt-get install --reinstall runsc)")
        }
        if platform == "kvm", access("/dev/kvm", R_OK | W_OK) != 0 {
            return .unavailable(
                reason: "platform kvm needs /dev/kvm, which is missing or not writable", fix: "use platform: ptrace, or load kvm")
        }
        // The QEMU layers' KVM probe (a guest boot, cached per machine boot): a /dev/kvm that cannot
        // run a guest hangs runsc's kvm platform too (seen here: `runsc --platform=kvm do true` never returns).
        if platform == "kvm", let accel = Accelerator.cached(), accel.name != "kvm" {
            return .unavailable(
                reason: "platform kvm: /dev/kvm exists but cannot run guests here (\(accel.reason))",
                fix: "use platform: ptrace")
        }
        if viaDocker() != nil {
            return .available(detail: "\(version), through docker --runtime=runsc")
        }
        if via == "docker" {
            if case let .failure(u) = Docker.daemon() { return .unavailable(reason: "via docker: \(u.reason)", fix: u.fix) }
            return .unavailable(
                reason: "via docker: dockerd has no runsc runtime registered (docker info lists none)",
                fix: "`sudo runsc install` (adds runsc to /etc/docker/daemon.json) and restart dockerd, or use via: oci")
        }
        guard geteuid() == 0 else {
            return .unavailable(reason: "\(Self.name) mounts an overlay and runs runsc as root", fix: "run writepath as root (sudo)")
        }
        guard OCIRuncLayer.overlaySupported() else {
            return .unavailable(reason: "the kernel does not list overlay in /proc/filesystems", fix: "modprobe overlay")
        }
        return .available(detail: "\(version), OCI bundle, platform \(platform)")
    }

    public func describe() -> [String: String] {
        var d = limits.settings
        d["runtime"] = "runsc"
        d["runtime_version"] = OCIRuncLayer.runtimeVersion("runsc") ?? "unknown"
        if let args = viaDocker() {
            d["via"] = "docker --runtime=runsc"
            d["runtime_args"] = args.joined(separator: " ")
            d["platform"] = args.first(where: { $0.hasPrefix("--platform=") }).map { String($0.dropFirst(11)) } ?? "ptrace (runsc default)"
            d.merge(DockerRun.daemonSettings()) { a, _ in a }
        } else {
            d["via"] = "OCI bundle (runsc run)"
            d["runtime_args"] = runscFlags.joined(separator: " ")
            d["platform"] = platform
            d["cgroup_version"] = OCIRuncLayer.cgroupMode().version
        }
        d["storage"] = storage == "bind" ? "bind mount through the gofer" : "rootfs overlay through the gofer"
        d["direct_io_note"] =
            "gVisor ignores O_DIRECT toward its gofer: target.direct_io is the sandbox's view; host_page_cache_after_bytes is the host's"
        if let fallback { d["engine_fallback"] = fallback.engine.rawValue }
        return d
    }

    /// The Sentry and its gofer inside the sandbox, then the mount the gofer writes on the host.
    public func writePath(_ settings: [String: String]) -> LayerWritePath {
        let mount = settings["storage"]?.hasPrefix("bind") == true ? "bind mount" : "overlayfs upper"
        let sentry = LayerWritePath.Step("Sentry", "user-space kernel (\(settings["platform"] ?? "ptrace"))")
        return .boxed("gVisor sandbox", [sentry, .init("gofer", "host file I/O")], then: [.init("mount", mount)])
    }

    public func run(_ workload: Workload, rep: Int, context: LayerContext) throws -> RunResult {
        let w = fallback?.applied(to: workload) ?? workload
        var run: RunResult
        if let args = viaDocker() {
            var l = limits
            l.runtime = "runsc"
            let target = storage == "bind" ? "/wp/target.dat" : "/data/target.dat"
            let folder = "\(context.scratchDirectory)/gvisor-\(context.runID)"
            if storage == "bind" { try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true) }
            defer { if storage == "bind" && !context.keep { try? FileManager.default.removeItem(atPath: folder) } }
            var settings = describe()
            settings["runtime_args"] = args.joined(separator: " ")
            run = try DockerRun(
                layer: self, limits: l, storageArguments: storage == "bind" ? ["--mount", "type=bind,src=\(folder),dst=/wp"] : [],
                targetPath: target, throttleDeviceHost: storage == "bind" ? folder : nil, settings: settings
            )
            .run(w, rep: rep, context: context)
        } else {
            run = try bundleRunner.run(w, rep: rep, context: context)
            run.layer.settings.merge(recordedSettings()) { _, mine in mine }
        }
        EngineFallback.record(&run, fallback: fallback, original: workload, layer: Self.name, blocker: "gVisor")
        return run
    }
}
