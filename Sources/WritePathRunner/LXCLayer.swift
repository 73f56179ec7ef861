import Foundation
import WritePathEngine
import WritePathResult

#if canImport(Glibc)
    import Glibc
#endif

/// `lxc`: the engine in an LXC container started by `lxc-execute` (LXC's `init.lxc.static`, bound
/// in by LXC, is PID 1 and runs the engine), on a directory rootfs (LXC's `dir` backend) that
/// writepath makes per run under its scratch folder from the engine rootfs (hard links of the cached
/// tree, as oci-runc's and nspawn's lower layer; a copy where the cache is on another filesystem).
/// The target is on that rootfs (`storage: rootfs`, default) or on a scratch folder bound at `/wp`
/// (`storage: bind`, an `lxc.mount.entry`). The container is configured as LXC's templates do
/// (`/usr/share/lxc/config/common.conf`: dropped capabilities, the devices allow-list, LXC's seccomp
/// denylist, which leaves io_uring alone) with an empty network namespace (`lxc.net.0.type = empty`).
/// `cpus`, `memory`, `write_iops_limit` and `write_bps_limit` are LXC cgroup keys in the
/// container's config (`lxc.cgroup.*` on cgroup v1, `lxc.cgroup2.*` on v2): LXC writes them into
/// the cgroup it makes for the container (`lxc.payload.<name>`) and removes that cgroup at the end.
public struct LXCLayer: SingleLayer {
    public static let name = "lxc"
    public static let summary =
        "LXC container (lxc-execute, init.lxc as PID 1, no daemon) on a directory rootfs, target on its rootfs or a bind mount"
    public static let parameterNames = ["cpus", "memory", "write_iops_limit", "write_bps_limit", "storage"]

    let limits: ContainerLimits
    /// `rootfs` (default: the target in the container's directory rootfs) or `bind` (at `/wp`).
    let storage: String

    /// The configuration LXC's templates include, when installed.
    static let commonConfig = "/usr/share/lxc/config/common.conf"
    /// The init lxc-execute binds into a rootfs that has none.
    static let staticInit = "/usr/sbin/init.lxc.static"

    public init(parameters: [String: String]) throws {
        let p = try LayerParameters(layer: Self.name, values: parameters, accepted: Self.parameterNames)
        limits = try ContainerLimits(p)
        storage = try p.choice("storage", ["rootfs", "bind"]) ?? "rootfs"
    }

    /// `lxc-execute --version` (`5.0.2`), or nil.
    static func version() -> String? {
        guard let r = try? Command.run("lxc-execute", ["--version"], timeout: 20), r.succeeded else { return nil }
        let v = r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        return v.isEmpty ? nil : v
    }

    public func availability() -> Availability {
        guard Command.which("lxc-execute") != nil else {
            return .unavailable(
                reason: "LXC is not installed (no lxc-execute)", fix: "scripts/install-deps.sh runtimes (apt-get install lxc)")
        }
        guard geteuid() == 0 else {
            return .unavailable(
                reason: "the lxc layer runs privileged LXC containers, which needs root", fix: "run writepath as root (sudo)")
        }
        guard FileManager.default.isExecutableFile(atPath: Self.staticInit) else {
            return .unavailable(
                reason: "\(Self.staticInit) is missing: lxc-execute binds it into a rootfs without an init",
                fix: "reinstall lxc (apt-get install --reinstall lxc)")
        }
        guard let v = Self.version() else {
            return .unavailable(reason: "`lxc-execute --version` failed", fix: "reinstall lxc (apt-get install --reinstall lxc)")
        }
        if let missing = LibraryCheck.engineUnavailability() { return missing }
        let cgroups = OCIRuncLayer.cgroupMode()
        return .available(detail: "lxc \(v), lxc-execute on a directory rootfs, cgroup \(cgroups.version) (\(cgroups.mode))")
    }

    public func describe() -> [String: String] {
        var d = limits.settings
        let cgroups = OCIRuncLayer.cgroupMode()
        d["runtime"] = "lxc"
        d["runtime_version"] = Self.version().map { "lxc \($0)" } ?? "unknown"
        d["runtime_args"] = "lxc-execute (init.lxc.static as PID 1), lxc.net.0.type = empty"
        d["cgroup_version"] = cgroups.version
        d["cgroup_mode"] = cgroups.mode
        d["cgroup_driver"] = "cgroupfs (made by LXC: lxc.payload.<name>)"
        d["rootfs"] = "directory (LXC dir backend, made per run from the engine rootfs)"
        d["storage"] = storage == "bind" ? "bind mount (lxc.mount.entry)" : "container rootfs (directory, dir backend)"
        if FileManager.default.fileExists(atPath: Self.commonConfig) {
            d["lxc_include"] = Self.commonConfig
            d["seccomp"] = "LXC common.seccomp (denylist: kexec_load, open_by_handle_at, init_module, finit_module, delete_module)"
        } else {
            d["seccomp"] = "none (\(Self.commonConfig) is not installed)"
        }
        if let cpus = limits.cpus {
            d["cpu_cfs_quota_period_us"] = "\(Int((cpus * Double(OCIRuncLayer.cpuPeriod)).rounded()))/\(OCIRuncLayer.cpuPeriod)"
        }
        return d
    }

    /// A container with no daemon: namespaces and cgroup (LXC), then the directory rootfs LXC
    /// binds as the container's root, or the bind mount.
    public func writePath(_ settings: [String: String]) -> LayerWritePath {
        let mount = settings["storage"]?.hasPrefix("bind") == true ? "bind mount" : "directory rootfs (bind-mounted by LXC)"
        return DockerRun.writePath(settings, mount: mount, box: "container (no daemon)")
    }

    /// The target file inside the container.
    var containerTarget: String { storage == "bind" ? "/wp/target.dat" : "/data/target.dat" }

    /// The LXC cgroup keys for the limits (`lxc.cgroup.cpu.cfs_quota_us = 50000`, ...), for
    /// cgroup `v2` or v1, with `device` the whole disk the write throttles apply to.
    func cgroupKeys(v2: Bool, device: (major: UInt64, minor: UInt64)?, memswAccounting: Bool) -> [(String, String)] {
        var keys: [(String, String)] = []
        let period = OCIRuncLayer.cpuPeriod
        if let c = limits.cpus {
            let quota = Int((c * Double(period)).rounded())
            if v2 {
                keys.append(("lxc.cgroup2.cpu.max", "\(quota) \(period)"))
            } else {
                keys += [("lxc.cgroup.cpu.cfs_period_us", "\(period)"), ("lxc.cgroup.cpu.cfs_quota_us", "\(quota)")]
            }
        }
        if let m = limits.memory {
            if v2 {
                keys += [("lxc.cgroup2.memory.max", "\(m)"), ("lxc.cgroup2.memory.swap.max", "0")]
            } else {
                keys.append(("lxc.cgroup.memory.limit_in_bytes", "\(m)"))
                // No swap beyond the limit, as docker --memory-swap=<memory>, where swap is accounted.
                if memswAccounting { keys.append(("lxc.cgroup.memory.memsw.limit_in_bytes", "\(m)")) }
            }
        }
        if let dev = device {
            let number = "\(dev.major):\(dev.minor)"
            if v2 {
                var line = number
                if let n = limits.writeIOPS { line += " wiops=\(n)" }
                if let b = limits.writeBPS { line += " wbps=\(b)" }
                keys.append(("lxc.cgroup2.io.max", line))
            } else {
                if let n = limits.writeIOPS { keys.append(("lxc.cgroup.blkio.throttle.write_iops_device", "\(number) \(n)")) }
                if let b = limits.writeBPS { keys.append(("lxc.cgroup.blkio.throttle.write_bps_device", "\(number) \(b)")) }
            }
        }
        return keys
    }

    /// The container's configuration file: the rootfs, LXC's common configuration, no network,
    /// no console (the engine's stdout and stderr are lxc-execute's), the bind mount, the limits.
    func config(name: String, rootfs: String, bind: String?, cgroupKeys: [(String, String)], include: Bool) -> String {
        var lines = ["# writepath lxc layer: one run", "lxc.uts.name = \(name)", "lxc.rootfs.path = dir:\(rootfs)"]
        if include { lines.append("lxc.include = \(Self.commonConfig)") }
        lines += [
            "lxc.net.0.type = empty", "lxc.autodev = 1", "lxc.console.path = none", "lxc.tty.max = 0", "lxc.pty.max = 16",
            "lxc.environment = PATH=/usr/bin:/bin",
        ]
        if let bind { lines.append("lxc.mount.entry = \(bind) wp none bind,create=dir 0 0") }
        lines += cgroupKeys.map { "\($0.0) = \($0.1)" }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Fills `rootfs` from the cached engine tree `lower`: hard links (`cp -al`), or a copy
    /// when the two are on different filesystems. Returns how (`hard links` or `copy`).
    static func makeRootfs(from lower: String, at rootfs: String) throws -> String {
        let linked = try Command.run("cp", ["-al", lower, rootfs], timeout: 120)
        if linked.succeeded { return "hard links of \(lower)" }
        try? FileManager.default.removeItem(atPath: rootfs)
        let copied = try Command.run("cp", ["-a", lower, rootfs], timeout: 300)
        guard copied.succeeded else {
            throw WritePathError.system(
                call: "cp -a", path: rootfs, errno: EIO, hint: "could not make the container's rootfs: \(copied.stderrTail())")
        }
        return "copy of \(lower)"
    }

    /// The cgroup folders LXC made for container `name` that are still there (it removes them when
    /// the container ends): `lxc.payload.<name>` and `lxc.monitor.<name>` in every hierarchy, at its
    /// root or below this process's own cgroup there (/proc/self/cgroup).
    static func leftoverCgroups(name: String) -> [String] {
        cgroupFolders(["lxc.payload.\(name)", "lxc.monitor.\(name)"])
    }

    /// The cgroup folders named one of `names` that exist, at each hierarchy's root or below this
    /// process's own cgroup there (`lxc.pivot`, the folder LXC's monitor moves into to remove a
    /// container's cgroups, is made once per hierarchy and left by LXC).
    static func cgroupFolders(_ names: [String]) -> [String] {
        let fm = FileManager.default
        let own = (try? String(contentsOfFile: "/proc/self/cgroup", encoding: .utf8)) ?? ""
        var parents: Set<String> = []
        for line in own.split(separator: "\n") {
            let f = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false).map(String.init)
            guard f.count == 3 else { continue }
            // The hierarchy's root (LXC run by root escapes to it) and this process's cgroup there.
            for path in ["", f[2] == "/" ? "" : f[2]] {
                if f[1].isEmpty {
                    let v2 = fm.fileExists(atPath: "/sys/fs/cgroup/cgroup.controllers")
                    parents.insert((v2 ? "/sys/fs/cgroup" : "/sys/fs/cgroup/unified") + path)
                } else {
                    for c in f[1].split(separator: ",") {
                        parents.insert("/sys/fs/cgroup/\(c.hasPrefix("name=") ? String(c.dropFirst(5)) : String(c))\(path)")
                    }
                }
            }
        }
        var left: [String] = []
        for p in parents.sorted() {
            for d in names where fm.fileExists(atPath: "\(p)/\(d)") { left.append("\(p)/\(d)") }
        }
        return left
    }

    public func run(_ workload: Workload, rep: Int, context: LayerContext) throws -> RunResult {
        let fm = FileManager.default
        let id = "wp-" + String(context.runID.map { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" ? $0 : "_" })
        let base = "\(context.scratchDirectory)/lxc-\(context.runID)"
        let rootfs = "\(base)/rootfs", bind = "\(base)/bind", configFile = "\(base)/config"
        if base.contains(where: { $0 == " " || $0 == "\t" || $0 == "\n" }) {
            throw WritePathError.invalidInput(
                field: "scratch directory", message: "'\(base)' holds white space, which lxc.mount.entry and lxc.rootfs.path cannot carry")
        }
        try fm.createDirectory(atPath: context.logDirectory, withIntermediateDirectories: true)
        let lower = try OCIRuncLayer.lowerRootfs(binary: context.engineBinary)
        let lockDirExisted = fm.fileExists(atPath: "/run/lxc")
        let pivotsBefore = Set(Self.cgroupFolders(["lxc.pivot"]))
        let outcome = Result { () throws -> RunResult in
            try? fm.removeItem(atPath: base)
            try fm.createDirectory(atPath: base, withIntermediateDirectories: true)
            var settings = describe()
            let made = try Self.makeRootfs(from: lower, at: rootfs)
            settings["rootfs"] = "directory \(rootfs) (\(made))"
            if storage == "bind" { try fm.createDirectory(atPath: bind, withIntermediateDirectories: true) }
            settings["target"] = storage == "bind" ? "\(containerTarget) (bind mount of \(bind))" : "\(containerTarget) (directory rootfs)"
            let device = try limits.throttleDevice(
                holding: storage == "bind" ? bind : rootfs, layer: Self.name, scratch: context.scratchDirectory, settings: &settings)
            let keys = cgroupKeys(
                v2: OCIRuncLayer.cgroupMode().version == "v2", device: device,
                memswAccounting: fm.fileExists(atPath: "/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes"))
            if !keys.isEmpty { settings["lxc_cgroup_keys"] = keys.map { "\($0.0) = \($0.1)" }.joined(separator: "; ") }
            let text = config(
                name: id, rootfs: rootfs, bind: storage == "bind" ? bind : nil, cgroupKeys: keys,
                include: fm.fileExists(atPath: Self.commonConfig))
            try text.write(toFile: configFile, atomically: true, encoding: .utf8)
            try? text.write(toFile: "\(context.logDirectory)/lxc.conf", atomically: true, encoding: .utf8)

            let argv =
                ["lxc-execute", "-n", id, "-P", base, "-f", configFile, "-o", "\(context.logDirectory)/lxc.log", "-l", "WARN", "--"]
                + EngineInBox.command(workload, target: containerTarget)
            var outcome = try EngineInBox.runProgram(
                argv, call: "lxc-execute", name: id, settings: settings, deadline: EngineInBox.deadline(workload, context),
                context: context, stderrName: "lxc",
                onTimeout: { _ = try? Command.run("lxc-stop", ["-P", base, "-n", id, "-k"], timeout: 30) })
            if outcome.output.isEmpty, let log = try? String(contentsOfFile: "\(context.logDirectory)/lxc.log", encoding: .utf8) {
                outcome.note = "; lxc.log: " + log.split(separator: "\n").suffix(2).joined(separator: " | ")
            }
            if outcome.status == 137, let m = limits.memory {
                outcome.note += " (killed: out of memory? \(Self.name).memory is \(m) bytes)"
            }
            return try EngineInBox.run(outcome, layer: self, workload: workload, rep: rep)
        }
        if context.keep {
            try? "kept: folder \(base) (lxc-execute config \(configFile))\n".write(
                toFile: "\(context.logDirectory)/kept.txt", atomically: true, encoding: .utf8)
            return try outcome.get()
        }
        var problems: [String] = []
        for c in Self.leftoverCgroups(name: id) where rmdir(c) != 0 {
            problems.append("rmdir \(c): \(String(cString: strerror(errno)))")
        }
        // LXC's pivot cgroups when this run made them (rmdir: only while empty, so never one in use).
        for p in Self.cgroupFolders(["lxc.pivot"]) where !pivotsBefore.contains(p) { rmdir(p) }
        if (try? fm.removeItem(atPath: base)) == nil, fm.fileExists(atPath: base) { problems.append("could not remove \(base)") }
        // LXC's lock folder for this lxcpath (/run/lxc/lock/<lxcpath>), and /run/lxc when it made it for us.
        let lockDir = "/run/lxc/lock" + base
        try? fm.removeItem(atPath: lockDir)
        var parent = (lockDir as NSString).deletingLastPathComponent
        while parent.hasPrefix("/run/lxc/lock/"), rmdir(parent) == 0 { parent = (parent as NSString).deletingLastPathComponent }
        if !lockDirExisted {
            rmdir("/run/lxc/lock")
            rmdir("/run/lxc")
        }
        var run = try outcome.get()
        run.warnings += problems.map { "lxc cleanup left something behind: \($0)" }
        return run
    }
}
