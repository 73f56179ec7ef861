import Foundation
import WritePathEngine
import WritePathResult

#if canImport(Glibc)
    import Glibc
#endif

/// `podman`: the engine in a podman container (no daemon: podman, conmon and the OCI runtime per
/// run), from an image imported from the engine rootfs (`podman import`, no registry). Rootful by
/// default; `rootless: true` runs podman as an unprivileged user (`user`, default writepath's own
/// `writepath-podman`, see `PodmanClient`) in a user namespace from its subordinate id ranges. The
/// target is in the container's root on kernel overlayfs (`storage: overlay`) or on fuse-overlayfs
/// (`storage: fuse-overlayfs`: podman's `overlay.mount_program`, what rootless podman used before
/// kernels allowed overlayfs in a user namespace), on a podman volume (`storage: volume`) or on a
/// scratch folder bind-mounted at `/wp` (`storage: bind`); the result records the store's driver
/// and mount program as `podman info` gave them for the run (`storage_driver`,
/// `storage_mount_program`). Podman's default seccomp profile has no io_uring syscalls on some
/// versions (4.3: io_uring_setup returns ENOSYS): the layer reads the profile and records
/// `seccomp_io_uring`; an io_uring run there fails with that finding unless `engine_fallback` names
/// libaio or psync, or `seccomp: unconfined` drops the profile. Podman's default rlimits (nofile,
/// nproc) can exceed the caller's hard limits, which the runtime cannot raise: the container gets
/// the caller's nofile and an nproc of at most 4096. Rootless podman on cgroup v1 cannot apply
/// limits (no cgroup delegation): `cpus`, `memory` and the write limits make it unavailable there.
public struct PodmanLayer: SingleLayer {
    public static let name = "podman"
    public static let summary =
        "podman container, rootful or rootless (conmon + crun, or runc where crun cannot run; no daemon), "
        + "target in its overlay or fuse-overlayfs root, on a podman volume or a bind mount"
    public static let parameterNames = [
        "cpus", "memory", "write_iops_limit", "write_bps_limit", "runtime", "storage", "seccomp", "rootless", "user",
        EngineFallback.parameter,
    ]
    public static let listedVariants: [[String: String]] = [[:], ["rootless": "true"]]

    let limits: ContainerLimits
    /// `overlay` (default: the container's root on kernel overlayfs), `fuse-overlayfs` (the root on
    /// fuse-overlayfs), `volume` (a podman volume made for the run) or `bind` (a scratch folder).
    let storage: String
    /// `default` (podman's profile) or `unconfined`.
    let seccomp: String
    let fallback: EngineFallback?
    /// How podman is called: rootful or rootless, as which user, on which store driver.
    let client: PodmanClient

    public init(parameters: [String: String]) throws {
        let p = try LayerParameters(layer: Self.name, values: parameters, accepted: Self.parameterNames)
        var values = parameters
        values["runtime"] = try p.choice("runtime", ["crun", "runc"]) ?? Self.defaultRuntime()
        limits = try ContainerLimits(LayerParameters(layer: Self.name, values: values))
        storage = try p.choice("storage", ["overlay", "fuse-overlayfs", "volume", "bind"]) ?? "overlay"
        seccomp = try p.choice("seccomp", ["default", "unconfined"]) ?? "default"
        fallback = try EngineFallback.parse(p)
        let rootless = try p.boolean("rootless") ?? false
        var user = p.string("user")
        if let u = user {
            guard rootless else {
                throw WritePathError.invalidInput(
                    field: "\(Self.name).user", message: "only with rootless: true (rootful podman runs as root)")
            }
            guard !u.isEmpty, u.count <= 32, u.allSatisfy({ $0.isLetter || $0.isNumber || "-_.".contains($0) }) else {
                throw WritePathError.invalidInput(field: "\(Self.name).user", message: "\(quoted(u)) is not a user name")
            }
        }
        if rootless, user == nil, geteuid() == 0 { user = PodmanClient.defaultUser }
        client = PodmanClient(
            rootless: rootless, user: rootless ? user : nil, driver: storage == "fuse-overlayfs" ? "fuse-overlayfs" : "overlay")
    }

    /// crun (podman's default on Debian), or runc where crun cannot run: on hybrid cgroups whose
    /// v2 mount holds controllers. The runtime used is recorded in the settings.
    static func defaultRuntime() -> String {
        let cgroups = OCIRuncLayer.cgroupMode()
        return cgroups.mode == "hybrid" && !cgroups.unifiedControllers.isEmpty ? "runc" : "crun"
    }

    /// Rootful podman's `podman info` (podman's default store).
    static func info() -> Result<PodmanClient.Info, LayerUnavailable> {
        PodmanClient(rootless: false, user: nil, driver: "overlay").info(nil)
    }

    /// `podman --version` (`podman version 4.3.1`), or nil: asks no store and starts no user namespace.
    static func version() -> String? {
        guard let r = try? Command.run("podman", ["--version"], timeout: 20), r.succeeded else { return nil }
        return r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    public func availability() -> Availability {
        if client.rootless {
            guard let v = Self.version() else {
                return .unavailable(
                    reason: "podman is not installed", fix: "scripts/install-deps.sh runtimes (apt-get install podman crun)")
            }
            if let u = client.rootlessUnavailability() { return .unavailable(reason: u.reason, fix: u.fix) }
            let cgroups = OCIRuncLayer.cgroupMode()
            if cgroups.version == "v1", limits.cpus != nil || limits.memory != nil || limits.throttled {
                return .unavailable(
                    reason: "rootless podman cannot apply cpus, memory or write limits on cgroup v1 (no cgroup delegation)",
                    fix: "use rootless: false for limits, or boot with cgroup v2 (systemd.unified_cgroup_hierarchy=1) and delegate")
            }
            if let u = runtimeUnavailability() { return .unavailable(reason: u.reason, fix: u.fix) }
            let who =
                client.user.map { Self.isMadeByWritepath($0) ? "user \($0) (writepath's own, made on first use)" : "user \($0)" }
                ?? "this user"
            return .available(detail: "\(v), rootless as \(who), \(limits.runtime), \(client.driver), cgroup \(cgroups.version)")
        }
        guard geteuid() == 0 else {
            return .unavailable(
                reason: "rootful podman needs root", fix: "run writepath as root (sudo), or use podman rootless: true")
        }
        let info: PodmanClient.Info
        switch Self.info() {
        case let .success(i): info = i
        case let .failure(u): return .unavailable(reason: u.reason, fix: u.fix)
        }
        if let u = client.rootlessUnavailability() ?? fuseUnavailability() { return .unavailable(reason: u.reason, fix: u.fix) }
        if let u = runtimeUnavailability() { return .unavailable(reason: u.reason, fix: u.fix) }
        let cgroups = OCIRuncLayer.cgroupMode()
        return .available(
            detail:
                "podman \(info.version), rootful, \(limits.runtime), \(client.driver), cgroup \(cgroups.version) (\(info.cgroupManager))")
    }

    /// Whether writepath's own user would be made (it does not exist yet) or is writepath's.
    static func isMadeByWritepath(_ user: String) -> Bool { user == PodmanClient.defaultUser }

    func fuseUnavailability() -> LayerUnavailable? {
        guard client.driver == "fuse-overlayfs" else { return nil }
        guard FileManager.default.isExecutableFile(atPath: PodmanClient.fuseOverlayfs) else {
            return LayerUnavailable(
                reason: "storage fuse-overlayfs needs \(PodmanClient.fuseOverlayfs)",
                fix: "scripts/install-deps.sh runtimes (apt-get install fuse-overlayfs)")
        }
        return nil
    }

    func runtimeUnavailability() -> LayerUnavailable? {
        guard Command.which(limits.runtime) != nil else {
            return LayerUnavailable(reason: "\(limits.runtime) is not installed", fix: "apt-get install \(limits.runtime)")
        }
        let cgroups = OCIRuncLayer.cgroupMode()
        if limits.runtime == "crun", cgroups.mode == "hybrid", !cgroups.unifiedControllers.isEmpty {
            return LayerUnavailable(
                reason:
                    "crun refuses hybrid cgroups: /sys/fs/cgroup/unified (cgroup v2) holds controllers "
                    + "(\(cgroups.unifiedControllers.joined(separator: " "))) beside the v1 hierarchies",
                fix: "use podman runtime: runc, or boot with cgroup v2 only (systemd.unified_cgroup_hierarchy=1)")
        }
        return nil
    }

    /// The rlimits the container gets: the caller's nofile, nproc capped at 4096.
    static func ulimits() -> [String] {
        var nofile = rlimit(), nproc = rlimit()
        getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &nofile)
        getrlimit(__rlimit_resource_t(__RLIMIT_NPROC.rawValue), &nproc)
        let p = min(min(nproc.rlim_cur, nproc.rlim_max), 4096)
        return ["nofile=\(nofile.rlim_cur):\(nofile.rlim_max)", "nproc=\(p):\(p)"]
    }

    /// The profile podman applies by default when `podman info` does not say (Debian's path).
    static let defaultSeccompProfile = "/usr/share/containers/seccomp.json"

    /// What the seccomp profile does to io_uring: `blocked (...)`, `allowed (...)` or unknown.
    func seccompIOUring(profile: String) -> String {
        guard seccomp == "default" else { return "allowed (seccomp unconfined)" }
        switch PodmanClient.seccompAllowsIOUring(profile: profile) {
        case true?: return "allowed (io_uring_setup is allowed by \(profile))"
        case false?: return "blocked (io_uring_setup is not allowed by \(profile): ENOSYS)"
        case nil: return "unknown (\(profile) is not readable)"
        }
    }

    /// The settings of `info` (podman's answer for the run's store).
    func infoSettings(_ i: PodmanClient.Info) -> [String: String] {
        [
            "podman_version": i.version, "storage_driver": i.graphDriver,
            "storage_mount_program": i.mountProgram ?? "none (kernel overlayfs)", "storage_root": i.graphRoot,
            "cgroup_version": i.cgroupVersion, "cgroup_driver": i.cgroupManager,
            "seccomp_io_uring": seccompIOUring(profile: i.seccompProfile.isEmpty ? Self.defaultSeccompProfile : i.seccompProfile),
        ]
    }

    public func describe() -> [String: String] {
        var d = limits.settings
        if client.rootless {
            // No `podman info` here: as the user it would start rootless podman's user namespace.
            d["podman_version"] = Self.version() ?? "unknown"
            d["storage_driver"] = client.driver == "fuse-overlayfs" ? "overlay (asked: fuse-overlayfs mount program)" : "overlay (asked)"
            d["seccomp_io_uring"] = seccompIOUring(profile: Self.defaultSeccompProfile)
            d["cgroup_version"] = OCIRuncLayer.cgroupMode().version
            // No cgroup a user may write on v1: runc goes on without one (podman's --cgroups=disabled
            // needs crun, which refuses hybrid hierarchies).
            if d["cgroup_version"] == "v1" { d["cgroups"] = "none (rootless on cgroup v1: the runtime cannot make one)" }
            if let user = client.user { d["rootless_user"] = user }
        } else if client.driver == "fuse-overlayfs" {
            if case let .success(i) = client.info(nil) { d.merge(infoSettings(i)) { _, new in new } }
        } else if case let .success(i) = Self.info() {
            d.merge(infoSettings(i)) { _, new in new }
        }
        d["runtime_version"] = OCIRuncLayer.runtimeVersion(limits.runtime) ?? "unknown"
        d["rootless"] = client.rootless ? "true" : "false"
        d["storage"] =
            switch storage {
            case "volume": "podman volume (local driver)"
            case "bind": "bind mount of a host folder"
            case "fuse-overlayfs": "container rootfs (fuse-overlayfs upper layer)"
            default: "container rootfs (overlay upper layer)"
            }
        d["seccomp"] = seccomp == "default" ? "podman default profile" : "unconfined"
        d["ulimits"] = Self.ulimits().joined(separator: " ")
        if let fallback { d["engine_fallback"] = fallback.engine.rawValue }
        return d
    }

    /// A container: namespaces (a user namespace too when rootless) and cgroup (crun or runc),
    /// then the overlayfs or fuse-overlayfs root, the podman volume or the bind mount.
    public func writePath(_ settings: [String: String]) -> LayerWritePath {
        let mount =
            switch settings["storage"] ?? "" {
            case let s where s.hasPrefix("podman volume"): "named volume"
            case let s where s.hasPrefix("bind"): "bind mount"
            case let s where s.contains("fuse-overlayfs"): "fuse-overlayfs upper (FUSE daemon)"
            default: "overlayfs upper"
            }
        guard settings["rootless"] == "true" else { return DockerRun.writePath(settings, mount: mount) }
        let namespaces = settings["cgroups"]?.hasPrefix("none") == true ? "user namespace · no cgroup" : "user namespace · cgroup"
        return .boxed("rootless container", [.init(namespaces, settings["runtime"] ?? "runc"), .init("mount", mount)])
    }

    public func run(_ workload: Workload, rep: Int, context: LayerContext) throws -> RunResult {
        let w = fallback?.applied(to: workload) ?? workload
        let (account, made) = try client.prepare()
        defer { client.stopPauseProcess(account) }
        let command = client.command(account)
        let program = command[0], flags = Array(command.dropFirst())
        var extra = Self.ulimits().flatMap { ["--ulimit", $0] }
        if seccomp == "unconfined" { extra += ["--security-opt", "seccomp=unconfined"] }
        var settings = describe()
        if !made.isEmpty { settings["rootless_made"] = made.joined(separator: "; ") }
        var storageArguments: [String] = []
        var throttleHost: String? = nil
        var target = "/data/target.dat"
        let volume = "wp-\(context.runID)"
        let folder = "\(context.scratchDirectory)/podman-bind-\(context.runID)"
        switch storage {
        case "volume":
            let created = try Command.run(program, flags + ["volume", "create", "--label", "writepath=1", volume], timeout: 60)
            guard created.succeeded else {
                throw WritePathError.system(call: "podman volume create", path: volume, errno: EIO, hint: created.stderrTail())
            }
            throttleHost = (try? Command.run(program, flags + ["volume", "inspect", "--format", "{{.Mountpoint}}", volume], timeout: 30))?
                .stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            storageArguments = ["--mount", "type=volume,src=\(volume),dst=/wp"]
            target = "/wp/target.dat"
            settings["volume"] = volume
        case "bind":
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            if let account, chown(folder, account.uid, account.gid) != 0 {
                throw WritePathError.system(
                    call: "chown", path: folder, errno: errno, hint: "could not give the bind folder to \(account.name)")
            }
            storageArguments = ["--mount", "type=bind,src=\(folder),dst=/wp"]
            throttleHost = folder
            target = "/wp/target.dat"
            settings["host_path"] = folder
        default:
            if !client.rootless, client.driver == "overlay", case let .success(i) = Self.info() { throttleHost = i.graphRoot }
            if client.rootless, let account { throttleHost = account.home }
        }
        defer {
            if !context.keep {
                if storage == "volume" { _ = try? Command.run(program, flags + ["volume", "rm", "-f", volume], timeout: 60) }
                if storage == "bind" { try? FileManager.default.removeItem(atPath: folder) }
            }
        }
        var run = try DockerRun(
            layer: self, client: "podman", clientCommand: command, extraArguments: extra, limits: limits,
            storageArguments: storageArguments, targetPath: target, throttleDeviceHost: throttleHost, settings: settings
        )
        .run(w, rep: rep, context: context)
        // The store as podman saw it for this run: the driver really used and its mount program.
        if client.rootless || client.driver == "fuse-overlayfs", case let .success(i) = client.info(account) {
            run.layer.settings.merge(infoSettings(i)) { _, new in new }
            run.layer.settings["rootless"] = i.rootless ? "true" : "false"
            run.layer.settings = recording(run.layer.settings)
        }
        EngineFallback.record(
            &run, fallback: fallback, original: workload, layer: Self.name,
            blocker: seccomp == "default" ? "podman's default seccomp profile" : "this podman container")
        return run
    }
}
