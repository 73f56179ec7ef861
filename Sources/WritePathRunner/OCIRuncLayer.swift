import Foundation
import WritePathEngine
import WritePathResult

#if canImport(Glibc)
    import Glibc
#endif

/// `oci-runc`: the engine run by runc (or crun) straight from an OCI bundle that writepath
/// generates: no daemon in the path. The container's root filesystem is an overlay that
/// writepath mounts itself (lower: the engine rootfs, cached per engine binary; upper and work:
/// in the run's scratch folder), as Docker's overlay2 does, so the target `/data/target.dat` is
/// written through overlayfs into the upper layer on the scratch folder's filesystem.
/// CPU, memory and block I/O limits go into `linux.resources` of `config.json`.
public struct OCIRuncLayer: SingleLayer {
    public static let name = "oci-runc"
    public static let summary = "the engine run by runc from a generated OCI bundle on an overlay rootfs (no daemon)"
    public static let parameterNames = ContainerLimits.parameterNames
    public var runsFio: Bool { true }

    /// The target file inside the container.
    static let targetPath = "/data/target.dat"
    /// Where lower root filesystems are kept, one folder per engine binary content hash.
    static let rootfsCache = "/var/tmp/writepath-rootfs"
    /// The CFS period the `cpus` limit is expressed in (microseconds), as Docker uses.
    static let cpuPeriod: Int = 100_000

    /// CPU, memory and block I/O limits and the runtime, shared with the docker layers.
    let limits: ContainerLimits
    var cpus: Double? { limits.cpus }
    var memory: UInt64? { limits.memory }
    var writeIOPS: Int? { limits.writeIOPS }
    var writeBPS: UInt64? { limits.writeBPS }
    var runtime: String { limits.runtime }
    /// The layer results are for: this one, or gvisor when that layer runs its bundle here.
    var owner: (any Layer)?
    /// The layer name results carry (`oci-runc`, or `gvisor`).
    var layerName: String { owner?.name ?? Self.name }
    /// The OCI runtime program and its global flags (`runsc --platform=ptrace ...` for gvisor).
    var runtimeCommand: [String]
    /// Target on a bind mount of a scratch folder at `/wp` instead of the overlay root.
    var bindTarget = false
    /// After the run, measure how much of the target the host page cache holds (fincore).
    var probeHostPageCache = false

    public init(parameters: [String: String]) throws {
        limits = try ContainerLimits(LayerParameters(layer: Self.name, values: parameters, accepted: Self.parameterNames))
        runtimeCommand = [limits.runtime]
    }

    /// The bundle runner with another OCI runtime: `command` is the program and its global flags.
    init(limits: ContainerLimits, owner: any Layer, runtimeCommand: [String], bindTarget: Bool, probeHostPageCache: Bool) {
        self.limits = limits
        self.owner = owner
        self.runtimeCommand = runtimeCommand
        self.bindTarget = bindTarget
        self.probeHostPageCache = probeHostPageCache
    }

    /// The target file inside the container for this configuration.
    var containerTarget: String { bindTarget ? "/wp/target.dat" : Self.targetPath }

    /// Runs the runtime program with its global flags and `arguments`.
    func runtimeRun(
        _ arguments: [String], timeout: Double, stdoutFile: String? = nil,
        onTimeout: (() -> Void)? = nil
    ) throws -> CommandOutput {
        try Command.run(
            runtimeCommand[0], Array(runtimeCommand.dropFirst()) + arguments, timeout: timeout,
            stdoutFile: stdoutFile, onTimeout: onTimeout)
    }

    var throttled: Bool { writeIOPS != nil || writeBPS != nil }

    /// The CFS quota for `cpus`, in microseconds per `cpuPeriod`.
    var cpuQuota: Int? { cpus.map { Int(($0 * Double(Self.cpuPeriod)).rounded()) } }

    // MARK: - Availability and description

    public func availability() -> Availability {
        guard Command.which(runtime) != nil else {
            return .unavailable(reason: "\(runtime) is not installed", fix: "apt-get install \(runtime)")
        }
        guard geteuid() == 0 else {
            return .unavailable(
                reason: "\(Self.name) mounts an overlay and creates cgroups, which needs root",
                fix: "run writepath as root (sudo)")
        }
        guard Self.overlaySupported() else {
            return .unavailable(
                reason: "the kernel does not list overlay in /proc/filesystems",
                fix: "modprobe overlay (or use a kernel with CONFIG_OVERLAY_FS)")
        }
        guard let version = Self.runtimeVersion(runtime) else {
            return .unavailable(
                reason: "`\(runtime) --version` failed", fix: "reinstall \(runtime) (apt-get install --reinstall \(runtime))")
        }
        if let missing = LibraryCheck.engineUnavailability() { return missing }
        let cgroups = Self.cgroupMode()
        if runtime == "crun", cgroups.mode == "hybrid", !cgroups.unifiedControllers.isEmpty {
            // crun refuses a hybrid hierarchy whose cgroup v2 mount has controllers:
            // "cgroups in hybrid mode not supported, drop all controllers from cgroupv2".
            return .unavailable(
                reason:
                    "\(version) refuses hybrid cgroups: /sys/fs/cgroup/unified (cgroup v2) holds controllers "
                    + "(\(cgroups.unifiedControllers.joined(separator: " "))) beside the v1 hierarchies",
                fix: "use runtime=runc, or boot with cgroup v2 only (systemd.unified_cgroup_hierarchy=1)")
        }
        return .available(detail: "\(version), cgroup \(cgroups.version) (\(cgroups.mode)), overlay")
    }

    public func describe() -> [String: String] {
        let cgroups = Self.cgroupMode()
        var d = [
            "runtime": runtime,
            "runtime_version": Self.runtimeVersion(runtime) ?? "unknown",
            "cgroup_version": cgroups.version,
            "cgroup_mode": cgroups.mode,
            "cgroup_driver": "cgroupfs",
            "storage": "overlay (mounted by writepath)",
        ]
        if let cpus, let q = cpuQuota { d["cpus"] = "\(cpus)"; d["cpu_cfs_quota_period_us"] = "\(q)/\(Self.cpuPeriod)" }
        if let memory { d["memory_bytes"] = "\(memory)" }
        return d.merging(limits.write.settings) { a, _ in a }
    }

    /// A container with no daemon: namespaces and cgroup (runc or crun), the overlay (or bind) mount.
    public func writePath(_ settings: [String: String]) -> LayerWritePath {
        DockerRun.writePath(settings, mount: bindTarget ? "bind mount" : "overlayfs upper", box: "container (no daemon)")
    }

    /// The first line of `<runtime> --version` (`runc version 1.1.5+ds1`), or nil.
    static func runtimeVersion(_ runtime: String) -> String? {
        guard let r = try? Command.run(runtime, ["--version"], timeout: 20), r.succeeded,
            let first = r.stdout.split(separator: "\n").first
        else { return nil }
        return String(first).trimmingCharacters(in: .whitespaces)
    }

    static func overlaySupported() -> Bool {
        guard let text = try? String(contentsOfFile: "/proc/filesystems", encoding: .utf8) else { return false }
        return text.split(separator: "\n").contains { $0.split(whereSeparator: { $0 == " " || $0 == "\t" }).last == "overlay" }
    }

    /// The cgroup layout: `v2` (unified) when /sys/fs/cgroup is cgroup2 itself; else `v1`,
    /// `hybrid` when a cgroup2 is also mounted at /sys/fs/cgroup/unified, else `legacy`.
    static func cgroupMode() -> (version: String, mode: String, unifiedControllers: [String]) {
        let fm = FileManager.default
        if fm.fileExists(atPath: "/sys/fs/cgroup/cgroup.controllers") { return ("v2", "unified", []) }
        if fm.fileExists(atPath: "/sys/fs/cgroup/unified/cgroup.controllers") {
            let c = (try? String(contentsOfFile: "/sys/fs/cgroup/unified/cgroup.controllers", encoding: .utf8)) ?? ""
            return ("v1", "hybrid", c.split(whereSeparator: { $0 == " " || $0 == "\n" }).map(String.init))
        }
        return ("v1", "legacy", [])
    }

    // MARK: - Bundle

    static func wholeDisk(holding path: String) -> (major: UInt64, minor: UInt64, name: String)? {
        BlockDevice.wholeDisk(holding: path).map { ($0.major, $0.minor, $0.name) }
    }

    /// The OCI runtime spec 1.0.2 `config.json` for one run.
    func config(
        arguments: [String], cgroupsPath: String, throttleDevice: (major: UInt64, minor: UInt64)?,
        hostname: String = "writepath", bindSource: String? = nil
    ) -> [String: Any] {
        let caps = [
            "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW",
            "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE",
            "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
        ]  // Docker's default set
        var resources: [String: Any] = ["devices": [["allow": false, "access": "rwm"]]]
        if let q = cpuQuota { resources["cpu"] = ["quota": q, "period": Self.cpuPeriod] }
        if let m = memory {
            var mem: [String: Any] = ["limit": m]
            // No swap beyond the limit, as docker --memory-swap=<memory>; v1 needs swap accounting.
            if Self.cgroupMode().version == "v2"
                || FileManager.default.fileExists(atPath: "/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes")
            {
                mem["swap"] = m
            }
            resources["memory"] = mem
        }
        if let dev = throttleDevice {
            var blockIO: [String: Any] = [:]
            if let n = writeIOPS { blockIO["throttleWriteIOPSDevice"] = [["major": dev.major, "minor": dev.minor, "rate": n]] }
            if let b = writeBPS { blockIO["throttleWriteBpsDevice"] = [["major": dev.major, "minor": dev.minor, "rate": b]] }
            if !blockIO.isEmpty { resources["blockIO"] = blockIO }
        }
        return [
            "ociVersion": "1.0.2",
            "process": [
                "terminal": false,
                "user": ["uid": 0, "gid": 0],
                "args": arguments,
                "env": ["PATH=/usr/local/bin:/usr/bin:/bin", "HOME=/"],
                "cwd": "/",
                "capabilities": ["bounding": caps, "effective": caps, "permitted": caps],
                // No rlimits: the engine inherits writepath's (raising them may be refused here).
                "noNewPrivileges": true,
            ] as [String: Any],
            "root": ["path": "rootfs", "readonly": false],
            "hostname": hostname,
            "mounts": [
                ["destination": "/proc", "type": "proc", "source": "proc"],
                [
                    "destination": "/dev", "type": "tmpfs", "source": "tmpfs",
                    "options": ["nosuid", "strictatime", "mode=755", "size=65536k"],
                ],
                [
                    "destination": "/dev/shm", "type": "tmpfs", "source": "shm",
                    "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"],
                ],
                ["destination": "/sys", "type": "sysfs", "source": "sysfs", "options": ["nosuid", "noexec", "nodev", "ro"]],
            ] + (bindSource.map { [["destination": "/wp", "type": "bind", "source": $0, "options": ["rbind", "rw"]]] } ?? []),
            "linux": [
                "cgroupsPath": cgroupsPath,
                "resources": resources,
                "namespaces": ["pid", "ipc", "uts", "mount", "network"].map { ["type": $0] },
                "maskedPaths": [
                    "/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
                    "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware", "/proc/scsi",
                ],
                "readonlyPaths": ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"],
            ] as [String: Any],
        ]
    }

    // MARK: - Lower rootfs cache

    /// The lower root filesystem for `binary` and fio (when installed, for `engine: fio`): built
    /// once per content key under `rootfsCache` (into a temporary folder renamed into place, so a
    /// half-built one is never used).
    static func lowerRootfs(binary: String) throws -> String {
        let fio = FioEngine.binary()
        let hash = try EngineRootfs.contentKey(binary: binary, fio: fio)
        let fm = FileManager.default
        try fm.createDirectory(atPath: rootfsCache, withIntermediateDirectories: true)
        let dir = "\(rootfsCache)/\(hash)"
        if !fm.fileExists(atPath: "\(dir)/writepath") {
            let tmp = "\(dir).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
            try? fm.removeItem(atPath: tmp)
            do {
                try EngineRootfs.build(binary: binary, fio: fio, into: tmp)
                if rename(tmp, dir) != 0 {
                    // Another run built it meanwhile (ENOTEMPTY/EEXIST): use theirs.
                    try? fm.removeItem(atPath: tmp)
                    guard fm.fileExists(atPath: "\(dir)/writepath") else {
                        throw WritePathError.system(
                            call: "rename", path: dir, errno: errno, hint: "could not put the engine rootfs in place")
                    }
                }
            } catch {
                try? fm.removeItem(atPath: tmp)
                throw error
            }
        }
        utime(dir, nil)  // mark as recently used
        pruneRootfsCache(keeping: hash)
        return dir
    }

    /// Removes cached root filesystems of other binaries unused for an hour and not in any
    /// mount (every rebuild of the engine makes a new one of about 100 MB).
    static func pruneRootfsCache(keeping hash: String) {
        let fm = FileManager.default
        guard let entries = try? fm.contentsOfDirectory(atPath: rootfsCache) else { return }
        let mounts = (try? String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8)) ?? ""
        for e in entries where e != hash && !e.contains(".tmp-") {
            let path = "\(rootfsCache)/\(e)"
            guard let modified = (try? fm.attributesOfItem(atPath: path))?[.modificationDate] as? Date,
                Date().timeIntervalSince(modified) > 3_600, !mounts.contains(path)
            else { continue }
            try? fm.removeItem(atPath: path)
        }
    }

    // MARK: - Mounts

    /// Whether `path` is a mount point in this mount namespace (/proc/self/mountinfo).
    static func isMounted(_ path: String) -> Bool {
        guard let text = try? String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8) else { return false }
        let escaped = path.replacingOccurrences(of: "\\", with: "\\134").replacingOccurrences(of: " ", with: "\\040")
            .replacingOccurrences(of: "\t", with: "\\011").replacingOccurrences(of: "\n", with: "\\012")
        return text.split(separator: "\n").contains { line in
            let f = line.split(separator: " ")
            return f.count > 4 && f[4] == escaped
        }
    }

    /// Unmounts `path`, lazily when it is busy. Returns what went wrong, or nil.
    static func unmount(_ path: String) -> String? {
        guard isMounted(path) else { return nil }
        let r = try? Command.run("umount", [path], timeout: 60)
        if r?.succeeded == true, !isMounted(path) { return nil }
        let lazy = try? Command.run("umount", ["-l", path], timeout: 60)
        if lazy?.succeeded == true, !isMounted(path) { return nil }
        return "umount \(path): \(r?.stderrTail() ?? "") / umount -l: \(lazy?.stderrTail() ?? "")"
    }

    // MARK: - Run

    public func run(_ workload: Workload, rep: Int, context: LayerContext) throws -> RunResult {
        let fm = FileManager.default
        let id = "wp-" + String(context.runID.map { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == "." ? $0 : "_" })
        let base = "\(context.scratchDirectory)/oci-\(context.runID)"
        let rootfs = "\(base)/bundle/rootfs"
        if base.contains(",") || base.contains(":") {
            throw WritePathError.invalidInput(
                field: "scratch directory", message: "'\(base)' holds ',' or ':', which overlay mount options cannot carry")
        }
        try fm.createDirectory(atPath: context.logDirectory, withIntermediateDirectories: true)
        let lower = try Self.lowerRootfs(binary: context.engineBinary)

        let outcome = Result { try runContainer(workload, rep: rep, context: context, id: id, lower: lower, base: base) }
        if context.keep {
            let note =
                "kept: container \(id) (\(runtimeCommand.joined(separator: " ")) delete -f \(id)), "
                + "overlay at \(rootfs) (umount \(rootfs)), folder \(base)\n"
            try? note.write(toFile: "\(context.logDirectory)/kept.txt", atomically: true, encoding: .utf8)
            return try outcome.get()
        }
        let problems = cleanup(id: id, rootfs: rootfs, base: base)
        if !problems.isEmpty {
            try? (problems.joined(separator: "\n") + "\n").write(
                toFile: "\(context.logDirectory)/cleanup.log", atomically: true, encoding: .utf8)
        }
        var run = try outcome.get()
        run.warnings += problems.map { "\(layerName) cleanup left something behind: \($0)" }
        return run
    }

    /// Everything of `run` between the cache and the cleanup: bundle, mount, container, result.
    private func runContainer(_ workload: Workload, rep: Int, context: LayerContext, id: String, lower: String, base: String) throws
        -> RunResult
    {
        let fm = FileManager.default
        let bundle = "\(base)/bundle", rootfs = "\(bundle)/rootfs", upper = "\(base)/upper", work = "\(base)/work", bind = "\(base)/bind"
        // A leftover of an earlier run with this id (ids are unique, so only after a crash).
        _ = Self.unmount(rootfs)
        try? fm.removeItem(atPath: base)
        for d in [rootfs, upper, work] + (bindTarget ? [bind] : []) { try fm.createDirectory(atPath: d, withIntermediateDirectories: true) }

        // A container of ours with this id left from a crash would make `run` fail.
        if let s = try? runtimeRun(["state", id], timeout: 20), s.succeeded {
            _ = try? runtimeRun(["delete", "-f", id], timeout: 60)
        }

        var settings = describe()
        settings["target"] = bindTarget ? "\(containerTarget) (bind mount of \(bind))" : "\(Self.targetPath) (overlay upper)"
        settings["bundle"] = bundle
        var device: (major: UInt64, minor: UInt64)? = nil
        if throttled {
            guard let disk = Self.wholeDisk(holding: upper) else {
                throw WritePathError.invalidInput(
                    field: "\(layerName).\(writeIOPS != nil ? "write_iops_limit" : "write_bps_limit")",
                    message:
                        "the scratch folder \(context.scratchDirectory) is on a filesystem without a block device (tmpfs?); "
                        + "nothing to throttle"
                )
            }
            device = (disk.major, disk.minor)
            settings["throttle_device"] = "/dev/\(disk.name) (\(disk.major):\(disk.minor))"
        }

        let mount = try Command.run(
            "mount", ["-t", "overlay", "overlay", "-o", "lowerdir=\(lower),upperdir=\(upper),workdir=\(work)", rootfs], timeout: 60)
        guard mount.succeeded else {
            throw WritePathError.system(
                call: "mount -t overlay", path: rootfs, errno: EIO,
                hint:
                    "\(mount.stderrTail()); the scratch folder must be on a filesystem overlay accepts as upper layer (ext4, xfs, "
                    + "tmpfs), not on overlay itself"
            )
        }

        let cgroupsPath = "/writepath/\(id)"
        let spec = config(
            arguments: EngineInBox.command(workload, target: containerTarget), cgroupsPath: cgroupsPath,
            throttleDevice: device, bindSource: bindTarget ? bind : nil)
        var hostCacheWarning: String?
        let json = try JSONSerialization.data(withJSONObject: spec, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
        try json.write(to: URL(fileURLWithPath: "\(bundle)/config.json"))
        try? json.write(to: URL(fileURLWithPath: "\(context.logDirectory)/oci-config.json"))

        let program = runtimeCommand[0], flags = Array(runtimeCommand.dropFirst())
        var outcome = try EngineInBox.runProgram(
            runtimeCommand + ["run", "--bundle", bundle, id], call: "\(program) run", name: id, settings: settings,
            deadline: EngineInBox.deadline(workload, context), context: context, stderrName: (program as NSString).lastPathComponent,
            onTimeout: { _ = try? Command.run(program, flags + ["kill", id, "KILL"], timeout: 30) })
        if outcome.status == 137, let memory { outcome.note = " (killed: out of memory? \(layerName).memory is \(memory) bytes)" }
        if probeHostPageCache, workload.engine != .fio {
            let hostTarget = bindTarget ? "\(bind)/target.dat" : "\(upper)\(Self.targetPath)"
            if let cached = Self.hostCachedBytes(hostTarget) {
                outcome.settings["host_page_cache_after_bytes"] = "\(cached)"
                if workload.direct, cached > 0 {
                    hostCacheWarning =
                        "\(layerName): O_DIRECT did not reach the host: after the run the host page cache holds "
                        + "\(cached) bytes of the target "
                        + "(fincore \(hostTarget)); target.direct_io is the sandbox's own view"
                }
            }
        }
        var run = try EngineInBox.run(outcome, layer: owner ?? self, workload: workload, rep: rep)
        if let hostCacheWarning { run.warnings.append(hostCacheWarning) }
        return run
    }

    /// The bytes of `path` in the host page cache (`fincore --bytes`), or nil when fincore fails.
    static func hostCachedBytes(_ path: String) -> UInt64? {
        guard let r = try? Command.run("fincore", ["--bytes", "--noheadings", "--raw", "--output", "RES", path], timeout: 30), r.succeeded
        else { return nil }
        return UInt64(r.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
    }

    /// Removes the container, the overlay mount, the bundle, upper and work folders and the
    /// empty `writepath` parent cgroups. Returns what could not be removed.
    func cleanup(id: String, rootfs: String, base: String) -> [String] {
        var problems: [String] = []
        if let s = try? runtimeRun(["state", id], timeout: 20), s.succeeded {
            let d = try? runtimeRun(["delete", "-f", id], timeout: 60)
            if d?.succeeded != true { problems.append("\(runtimeCommand[0]) delete -f \(id): \(d?.stderrTail() ?? "did not start")") }
        }
        if let p = Self.unmount(rootfs) {
            problems.append(p)
        } else if (try? FileManager.default.removeItem(atPath: base)) == nil, FileManager.default.fileExists(atPath: base) {
            problems.append("could not remove \(base)")
        }
        // runc removes the container's cgroups; the shared parent goes when no run uses it.
        if let controllers = try? FileManager.default.contentsOfDirectory(atPath: "/sys/fs/cgroup") {
            for c in controllers { rmdir("/sys/fs/cgroup/\(c)/writepath") }
        }
        if FileManager.default.fileExists(atPath: "/sys/fs/cgroup/cgroup.controllers") { rmdir("/sys/fs/cgroup/writepath") }
        return problems
    }
}
