import Foundation
import WritePathEngine
import WritePathResult

#if canImport(Glibc)
    import Glibc
#endif

/// `nspawn`: the engine run by systemd-nspawn on a directory tree: the engine rootfs (cached per
/// engine binary, as oci-runc's) under an overlay writepath mounts, the target on a `--bind` mount
/// of a scratch folder at `/wp` (default) or in the overlay root (`storage: overlay`). Run with
/// `--register=no --keep-unit`, so no booted systemd (machined, a scope unit) is needed; limits go
/// into a cgroup writepath makes and moves systemd-nspawn into before it starts (cgroup v1 or v2).
public struct NspawnLayer: SingleLayer {
    public static let name = "nspawn"
    public static let summary = "the engine run by systemd-nspawn on a directory tree (namespaces, no daemon), target on a --bind mount"
    public static let parameterNames = ["cpus", "memory", "write_iops_limit", "write_bps_limit", "storage"]

    let limits: ContainerLimits
    /// `bind` (default: a scratch folder bound at /wp) or `overlay` (the target in the overlay root).
    let storage: String

    public init(parameters: [String: String]) throws {
        let p = try LayerParameters(layer: Self.name, values: parameters, accepted: Self.parameterNames)
        limits = try ContainerLimits(p)
        storage = try p.choice("storage", ["bind", "overlay"]) ?? "bind"
    }

    /// The first line of `systemd-nspawn --version` (`systemd 252 (252.39-1~deb12u2)`), or nil.
    static func version() -> String? {
        guard let r = try? Command.run("systemd-nspawn", ["--version"], timeout: 20), r.succeeded,
            let first = r.stdout.split(separator: "\n").first
        else { return nil }
        return String(first)
    }

    public func availability() -> Availability {
        guard Command.which("systemd-nspawn") != nil else {
            return .unavailable(
                reason: "systemd-nspawn is not installed", fix: "scripts/install-deps.sh runtimes (apt-get install systemd-container)")
        }
        guard geteuid() == 0 else {
            return .unavailable(reason: "systemd-nspawn needs root", fix: "run writepath as root (sudo)")
        }
        guard OCIRuncLayer.overlaySupported() else {
            return .unavailable(reason: "the kernel does not list overlay in /proc/filesystems", fix: "modprobe overlay")
        }
        guard let v = Self.version() else {
            return .unavailable(reason: "`systemd-nspawn --version` failed", fix: "reinstall systemd-container")
        }
        let pid1 = ((try? String(contentsOfFile: "/proc/1/comm", encoding: .utf8)) ?? "?").trimmingCharacters(in: .whitespacesAndNewlines)
        return .available(detail: "\(v), --register=no --keep-unit (PID 1: \(pid1)), cgroup \(OCIRuncLayer.cgroupMode().version)")
    }

    public func describe() -> [String: String] {
        var d = limits.settings
        d["runtime"] = "systemd-nspawn"
        d["runtime_version"] = Self.version() ?? "unknown"
        d["runtime_args"] = Self.nspawnFlags.joined(separator: " ")
        d["cgroup_version"] = OCIRuncLayer.cgroupMode().version
        d["cgroup_driver"] = "cgroupfs (made by writepath)"
        d["storage"] = storage == "bind" ? "bind mount (--bind)" : "overlay root (mounted by writepath)"
        return d
    }

    /// Namespaces made by systemd-nspawn, then the bind (or overlay) mount, inside the container.
    public func writePath(_ settings: [String: String]) -> LayerWritePath {
        let mount = settings["storage"]?.hasPrefix("overlay") == true ? "overlayfs upper" : "bind mount"
        return .boxed("container (no daemon)", [.init("namespaces", "systemd-nspawn"), .init("mount", mount)])
    }

    static let nspawnFlags = ["--quiet", "--register=no", "--keep-unit", "--private-network", "--console=pipe"]

    /// The target file inside the container.
    var containerTarget: String { storage == "bind" ? "/wp/target.dat" : "/data/target.dat" }

    /// The cgroups of one run, one folder per controller (v1) or one folder (v2), with the limits
    /// written; empty without limits.
    func makeCgroups(id: String, throttleDevice: (major: UInt64, minor: UInt64)?) throws -> [String] {
        guard limits.cpus != nil || limits.memory != nil || limits.throttled else { return [] }
        let v2 = OCIRuncLayer.cgroupMode().version == "v2"
        var made: [String] = []
        func write(_ value: String, to path: String, optional: Bool = false) throws {
            do { try value.write(toFile: path, atomically: false, encoding: .utf8) } catch {
                if optional { return }
                throw WritePathError.system(
                    call: "write", path: path, errno: EIO, hint: "could not set \(value.trimmingCharacters(in: .whitespaces))")
            }
        }
        func folder(_ controller: String?) throws -> String {
            let parent = controller.map { "/sys/fs/cgroup/\($0)/writepath" } ?? "/sys/fs/cgroup/writepath"
            let dir = "\(parent)/\(id)"
            if !made.contains(dir) {
                mkdir(parent, 0o755)
                if v2 { try write("+cpu +memory +io", to: "\(parent)/cgroup.subtree_control", optional: true) }
                guard mkdir(dir, 0o755) == 0 || errno == EEXIST else {
                    throw WritePathError.system(call: "mkdir", path: dir, errno: errno, hint: "could not make the container's cgroup")
                }
                made.append(dir)
            }
            return dir
        }
        do {
            let period = OCIRuncLayer.cpuPeriod
            if let c = limits.cpus {
                let quota = Int((c * Double(period)).rounded())
                if v2 {
                    let d = try folder(nil); try write("\(quota) \(period)", to: "\(d)/cpu.max")
                } else {
                    let d = try folder("cpu")
                    try write("\(period)", to: "\(d)/cpu.cfs_period_us")
                    try write("\(quota)", to: "\(d)/cpu.cfs_quota_us")
                }
            }
            if let m = limits.memory {
                if v2 {
                    let d = try folder(nil)
                    try write("\(m)", to: "\(d)/memory.max")
                    try write("0", to: "\(d)/memory.swap.max", optional: true)
                } else {
                    let d = try folder("memory")
                    try write("\(m)", to: "\(d)/memory.limit_in_bytes")
                }
            }
            if let dev = throttleDevice {
                if v2 {
                    var line = "\(dev.major):\(dev.minor)"
                    if let n = limits.writeIOPS { line += " wiops=\(n)" }
                    if let b = limits.writeBPS { line += " wbps=\(b)" }
                    let d = try folder(nil)
                    try write(line, to: "\(d)/io.max")
                } else {
                    let d = try folder("blkio")
                    if let n = limits.writeIOPS { try write("\(dev.major):\(dev.minor) \(n)", to: "\(d)/blkio.throttle.write_iops_device") }
                    if let b = limits.writeBPS { try write("\(dev.major):\(dev.minor) \(b)", to: "\(d)/blkio.throttle.write_bps_device") }
                }
            }
        } catch {
            for d in made { rmdir(d) }
            throw error
        }
        return made
    }

    public func run(_ workload: Workload, rep: Int, context: LayerContext) throws -> RunResult {
        let fm = FileManager.default
        let id = "wp-" + String(context.runID.map { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" ? $0 : "_" })
        let base = "\(context.scratchDirectory)/nspawn-\(context.runID)"
        let root = "\(base)/root", upper = "\(base)/upper", work = "\(base)/work", bind = "\(base)/bind"
        if base.contains(",") || base.contains(":") || base.contains(" ") {
            throw WritePathError.invalidInput(
                field: "scratch directory", message: "'\(base)' holds ',', ':' or a space, which overlay and --bind cannot carry")
        }
        try fm.createDirectory(atPath: context.logDirectory, withIntermediateDirectories: true)
        let lower = try OCIRuncLayer.lowerRootfs(binary: context.engineBinary)
        let nspawnRunDirExisted = fm.fileExists(atPath: "/run/systemd/nspawn")
        var cgroups: [String] = []
        let outcome = Result { () throws -> RunResult in
            _ = OCIRuncLayer.unmount(root)
            try? fm.removeItem(atPath: base)
            for d in [root, upper, work] + (storage == "bind" ? [bind] : []) {
                try fm.createDirectory(atPath: d, withIntermediateDirectories: true)
            }
            var settings = describe()
            settings["target"] = storage == "bind" ? "\(containerTarget) (bind mount of \(bind))" : "\(containerTarget) (overlay upper)"
            let device = try limits.throttleDevice(
                holding: storage == "bind" ? bind : upper, layer: Self.name, scratch: context.scratchDirectory, settings: &settings)
            let mount = try Command.run(
                "mount", ["-t", "overlay", "overlay", "-o", "lowerdir=\(lower),upperdir=\(upper),workdir=\(work)", root], timeout: 60)
            guard mount.succeeded else {
                throw WritePathError.system(call: "mount -t overlay", path: root, errno: EIO, hint: mount.stderrTail())
            }
            // systemd-nspawn refuses a tree without /usr ("doesn't look like it has an OS tree").
            try fm.createDirectory(atPath: "\(root)/usr", withIntermediateDirectories: true)
            cgroups = try makeCgroups(id: id, throttleDevice: device)
            if !cgroups.isEmpty { settings["cgroups"] = cgroups.joined(separator: " ") }

            var nspawn = ["systemd-nspawn"] + Self.nspawnFlags + ["--machine=\(id)", "--directory=\(root)"]
            if storage == "bind" { nspawn.append("--bind=\(bind):/wp") }
            nspawn += ["--"] + EngineInBox.command(workload, target: containerTarget)
            // Into the cgroups first, then exec systemd-nspawn: the container inherits them.
            let script = cgroups.map { "echo $$ > \($0)/cgroup.procs || exit 97; " }.joined() + "exec \"$@\""
            var outcome = try EngineInBox.runProgram(
                ["/bin/sh", "-c", script, "sh"] + nspawn, call: "systemd-nspawn", name: id, settings: settings,
                deadline: EngineInBox.deadline(workload, context), context: context, stderrName: "nspawn")
            if outcome.status == 97 && !outcome.timedOut {
                throw WritePathError.system(
                    call: "write", path: cgroups.joined(separator: " "), errno: EIO, hint: "could not move systemd-nspawn into its cgroup")
            }
            outcome.settings = settings
            let run = try EngineInBox.run(outcome, layer: self, workload: workload, rep: rep)
            return run
        }
        if context.keep {
            try? "kept: overlay at \(root) (umount \(root)), folder \(base), cgroups \(cgroups)\n"
                .write(toFile: "\(context.logDirectory)/kept.txt", atomically: true, encoding: .utf8)
            return try outcome.get()
        }
        var problems: [String] = []
        if let p = OCIRuncLayer.unmount(root) {
            problems.append(p)
        } else if (try? fm.removeItem(atPath: base)) == nil, fm.fileExists(atPath: base) {
            problems.append("could not remove \(base)")
        }
        for d in cgroups where rmdir(d) != 0 && errno != ENOENT { problems.append("rmdir \(d): \(String(cString: strerror(errno)))") }
        for d in cgroups { rmdir((d as NSString).deletingLastPathComponent) }  // the shared parent, when empty
        // systemd-nspawn's own runtime folders (empty after a run), when it made them for us.
        if !nspawnRunDirExisted {
            for d in ["/run/systemd/nspawn/propagate", "/run/systemd/nspawn/locks", "/run/systemd/nspawn"] { rmdir(d) }
        }
        var run = try outcome.get()
        run.warnings += problems.map { "nspawn cleanup left something behind: \($0)" }
        return run
    }
}
