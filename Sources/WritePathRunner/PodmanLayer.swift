import Foundation
import WritePathEngine
import WritePathResult

#if canImport(Glibc)
    import Glibc
#endif

/// `podman`: the engine in a rootful podman container (no daemon: podman, conmon and the OCI
/// runtime per run), from an image imported from the engine rootfs (`podman import`, no registry),
/// target in the container's overlay root (`storage: overlay`) or on a podman volume
/// (`storage: volume`). Podman's default seccomp profile has no io_uring syscalls (io_uring_setup
/// returns ENOSYS): an io_uring run fails with that finding unless `engine_fallback` names libaio
/// or psync, or `seccomp: unconfined` drops the profile. Podman's default rlimits (nofile, nproc)
/// can exceed the caller's hard limits, which the runtime cannot raise: the container gets the
/// caller's nofile and an nproc of at most 4096.
public struct PodmanLayer: SingleLayer {
    public static let name = "podman"
    public static let summary =
        "rootful podman container (conmon + crun, or runc where crun cannot run; no daemon), "
        + "target in its overlay root or on a podman volume"
    public static let parameterNames = [
        "cpus", "memory", "write_iops_limit", "write_bps_limit", "runtime", "storage", "seccomp", EngineFallback.parameter,
    ]

    let limits: ContainerLimits
    /// `overlay` (default: the container's root) or `volume` (a podman volume made for the run).
    let storage: String
    /// `default` (podman's profile) or `unconfined`.
    let seccomp: String
    let fallback: EngineFallback?

    public init(parameters: [String: String]) throws {
        let p = try LayerParameters(layer: Self.name, values: parameters, accepted: Self.parameterNames)
        var values = parameters
        values["runtime"] = try p.choice("runtime", ["crun", "runc"]) ?? Self.defaultRuntime()
        limits = try ContainerLimits(LayerParameters(layer: Self.name, values: values))
        storage = try p.choice("storage", ["overlay", "volume"]) ?? "overlay"
        seccomp = try p.choice("seccomp", ["default", "unconfined"]) ?? "default"
        fallback = try EngineFallback.parse(p)
    }

    /// crun (podman's default on Debian), or runc where crun cannot run: on hybrid cgroups whose
    /// v2 mount holds controllers. The runtime used is recorded in the settings.
    static func defaultRuntime() -> String {
        let cgroups = OCIRuncLayer.cgroupMode()
        return cgroups.mode == "hybrid" && !cgroups.unifiedControllers.isEmpty ? "runc" : "crun"
    }

    struct Info {
        var version: String; var graphDriver: String; var graphRoot: String; var cgroupVersion: String; var cgroupManager: String
    }

    static func info() -> Result<Info, LayerUnavailable> {
        guard Command.which("podman") != nil else {
            return .failure(
                LayerUnavailable(reason: "podman is not installed", fix: "scripts/install-deps.sh runtimes (apt-get install podman crun)"))
        }
        let format = "{{.Version.Version}}|{{.Store.GraphDriverName}}|{{.Store.GraphRoot}}|{{.Host.CgroupsVersion}}|{{.Host.CgroupManager}}"
        guard let r = try? Command.run("podman", ["info", "--format", format], timeout: 60), r.succeeded else {
            return .failure(LayerUnavailable(reason: "`podman info` failed", fix: "check the podman installation (podman info)"))
        }
        let f = r.stdout.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: "|", omittingEmptySubsequences: false).map(
            String.init)
        guard f.count == 5 else {
            return .failure(LayerUnavailable(reason: "podman info gave \(r.stdout.prefix(80))", fix: "check podman"))
        }
        return .success(Info(version: f[0], graphDriver: f[1], graphRoot: f[2], cgroupVersion: f[3], cgroupManager: f[4]))
    }

    public func availability() -> Availability {
        guard geteuid() == 0 else {
            return .unavailable(reason: "the podman layer runs rootful podman, which needs root", fix: "run writepath as root (sudo)")
        }
        let info: Info
        switch Self.info() {
        case let .success(i): info = i
        case let .failure(u): return .unavailable(reason: u.reason, fix: u.fix)
        }
        guard Command.which(limits.runtime) != nil else {
            return .unavailable(reason: "\(limits.runtime) is not installed", fix: "apt-get install \(limits.runtime)")
        }
        let cgroups = OCIRuncLayer.cgroupMode()
        if limits.runtime == "crun", cgroups.mode == "hybrid", !cgroups.unifiedControllers.isEmpty {
            return .unavailable(
                reason:
                    "crun refuses hybrid cgroups: /sys/fs/cgroup/unified (cgroup v2) holds controllers "
                    + "(\(cgroups.unifiedControllers.joined(separator: " "))) beside the v1 hierarchies",
                fix: "use podman runtime: runc, or boot with cgroup v2 only (systemd.unified_cgroup_hierarchy=1)")
        }
        return .available(
            detail: "podman \(info.version), \(limits.runtime), \(info.graphDriver), cgroup \(info.cgroupVersion) (\(info.cgroupManager))")
    }

    /// The rlimits the container gets: the caller's nofile, nproc capped at 4096.
    static func ulimits() -> [String] {
        var nofile = rlimit(), nproc = rlimit()
        getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &nofile)
        getrlimit(__rlimit_resource_t(__RLIMIT_NPROC.rawValue), &nproc)
        let p = min(min(nproc.rlim_cur, nproc.rlim_max), 4096)
        return ["nofile=\(nofile.rlim_cur):\(nofile.rlim_max)", "nproc=\(p):\(p)"]
    }

    public func describe() -> [String: String] {
        var d = limits.settings
        if case let .success(i) = Self.info() {
            d["podman_version"] = i.version
            d["storage_driver"] = i.graphDriver
            d["cgroup_version"] = i.cgroupVersion
            d["cgroup_driver"] = i.cgroupManager
        }
        d["runtime_version"] = OCIRuncLayer.runtimeVersion(limits.runtime) ?? "unknown"
        d["rootless"] = "false"
        d["storage"] = storage == "volume" ? "podman volume (local driver)" : "container rootfs (overlay upper layer)"
        d["seccomp"] = seccomp == "default" ? "podman default profile" : "unconfined"
        d["ulimits"] = Self.ulimits().joined(separator: " ")
        if let fallback { d["engine_fallback"] = fallback.engine.rawValue }
        return d
    }

    /// A container: namespaces and cgroup (crun or runc), the overlay root or a podman volume.
    public func writePath(_ settings: [String: String]) -> LayerWritePath {
        DockerRun.writePath(settings, mount: storage == "volume" ? "named volume" : "overlayfs upper")
    }

    public func run(_ workload: Workload, rep: Int, context: LayerContext) throws -> RunResult {
        let w = fallback?.applied(to: workload) ?? workload
        var extra = Self.ulimits().flatMap { ["--ulimit", $0] }
        if seccomp == "unconfined" { extra += ["--security-opt", "seccomp=unconfined"] }
        var settings = describe()
        var storageArguments: [String] = []
        var throttleHost: String? = nil
        var target = "/data/target.dat"
        let volume = "wp-\(context.runID)"
        if storage == "volume" {
            let created = try Command.run("podman", ["volume", "create", "--label", "writepath=1", volume], timeout: 60)
            guard created.succeeded else {
                throw WritePathError.system(call: "podman volume create", path: volume, errno: EIO, hint: created.stderrTail())
            }
            throttleHost = (try? Command.run("podman", ["volume", "inspect", "--format", "{{.Mountpoint}}", volume], timeout: 30))?
                .stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            storageArguments = ["--mount", "type=volume,src=\(volume),dst=/wp"]
            target = "/wp/target.dat"
            settings["volume"] = volume
        } else if case let .success(i) = Self.info() {
            throttleHost = i.graphRoot
        }
        defer { if storage == "volume" && !context.keep { _ = try? Command.run("podman", ["volume", "rm", "-f", volume], timeout: 60) } }
        var run = try DockerRun(
            layer: self, client: "podman", extraArguments: extra, limits: limits, storageArguments: storageArguments,
            targetPath: target, throttleDeviceHost: throttleHost, settings: settings
        )
        .run(w, rep: rep, context: context)
        EngineFallback.record(
            &run, fallback: fallback, original: workload, layer: Self.name,
            blocker: seccomp == "default" ? "podman's default seccomp profile" : "this podman container")
        return run
    }
}
