import Foundation
import WritePathEngine

#if canImport(Glibc)
    import Glibc
#endif

/// How the podman layer calls podman: rootful (`podman`; with its own store where the container
/// root is on fuse-overlayfs), or rootless: as an unprivileged user, through `runuser`, with a store
/// of writepath's own under that user's home (`~/.local/share/writepath/podman-<driver>`), so a
/// user's own podman store is never touched. The default user, `writepath-podman`, is made by the
/// first rootless run (useradd, home /var/lib/writepath-podman, no login shell) with subordinate
/// uid and gid ranges (/etc/subuid, /etc/subgid), and kept for later runs (`userdel -r writepath-podman`
/// removes it); a user named with `user` must exist with its ranges already.
struct PodmanClient: Sendable, Equatable {
    static let defaultUser = "writepath-podman"
    static let defaultHome = "/var/lib/writepath-podman"
    static let fuseOverlayfs = "/usr/bin/fuse-overlayfs"
    /// The size of the subordinate id ranges writepath gives its own user.
    static let subordinateCount = 65_536

    /// Podman runs as an unprivileged user.
    var rootless: Bool
    /// The user rootless podman runs as (nil: rootful, or writepath itself is unprivileged).
    var user: String?
    /// `overlay` (kernel overlayfs) or `fuse-overlayfs`: the driver of the container's root.
    var driver: String

    /// A user account (getpwnam).
    struct Account: Sendable, Equatable {
        var name: String
        var uid: uid_t
        var gid: gid_t
        var home: String
    }

    static func account(_ name: String) -> Account? {
        guard let pw = getpwnam(name) else { return nil }
        return Account(name: name, uid: pw.pointee.pw_uid, gid: pw.pointee.pw_gid, home: String(cString: pw.pointee.pw_dir))
    }

    /// The account podman runs as: the user, or this process's own when it is unprivileged.
    func account() -> Account? {
        if let user { return Self.account(user) }
        guard let pw = getpwuid(geteuid()) else { return nil }
        return Account(name: String(cString: pw.pointee.pw_name), uid: geteuid(), gid: getegid(), home: String(cString: pw.pointee.pw_dir))
    }

    /// `start:count` of `name`'s first range in `file` (/etc/subuid, /etc/subgid), or nil.
    static func subordinateRange(_ file: String, name: String, uid: uid_t) -> String? {
        guard let text = try? String(contentsOfFile: file, encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") {
            let f = line.split(separator: ":").map(String.init)
            if f.count == 3, f[0] == name || f[0] == "\(uid)", Int(f[2]) ?? 0 > 0 { return "\(f[1]):\(f[2])" }
        }
        return nil
    }

    /// The first id after every range in `file`, at least 100000: where a new range can start.
    static func freeRangeStart(_ file: String) -> Int {
        let text = (try? String(contentsOfFile: file, encoding: .utf8)) ?? ""
        var next = 100_000
        for line in text.split(separator: "\n") {
            let f = line.split(separator: ":")
            if f.count == 3, let s = Int(f[1]), let c = Int(f[2]) { next = max(next, s + c) }
        }
        return next
    }

    /// Where rootless podman keeps its runtime state (XDG_RUNTIME_DIR): /run/user/<uid>.
    static func runtimeDirectory(_ a: Account) -> String { "/run/user/\(a.uid)" }

    /// The store's global flags: writepath's own store for rootless podman and for fuse-overlayfs,
    /// podman's default store (no flags) for rootful kernel overlay.
    func storeFlags(_ a: Account?) -> [String] {
        var flags: [String] = []
        if rootless, let a {
            let key = "podman-\(driver)"
            flags += ["--root", "\(a.home)/.local/share/writepath/\(key)", "--runroot", "\(Self.runtimeDirectory(a))/writepath-\(key)"]
        } else if driver == "fuse-overlayfs" {
            flags += ["--root", "/var/lib/writepath/podman-fuse-overlayfs", "--runroot", "/run/writepath/podman-fuse-overlayfs"]
        }
        if !flags.isEmpty {
            flags += ["--storage-driver", "overlay"]
            if driver == "fuse-overlayfs" { flags += ["--storage-opt", "overlay.mount_program=\(Self.fuseOverlayfs)"] }
        }
        if rootless { flags += ["--cgroup-manager", "cgroupfs", "--events-backend", "file"] }
        return flags
    }

    /// The command that runs podman: program and global flags.
    func command(_ a: Account?) -> [String] {
        guard rootless, let a, geteuid() == 0 else { return ["podman"] + storeFlags(a) }
        return ["runuser", "-u", a.name, "--", "env", "-C", "/", "HOME=\(a.home)", "XDG_RUNTIME_DIR=\(Self.runtimeDirectory(a))", "podman"]
            + storeFlags(a)
    }

    /// Why rootless podman cannot run as it is set, or nil. Changes nothing on the machine.
    func rootlessUnavailability() -> LayerUnavailable? {
        guard rootless else { return nil }
        for tool in ["newuidmap", "newgidmap"] where Command.which(tool) == nil {
            return LayerUnavailable(
                reason: "rootless podman needs \(tool) (setuid, from uidmap)",
                fix: "scripts/install-deps.sh runtimes (apt-get install uidmap)")
        }
        if driver == "fuse-overlayfs" {
            guard FileManager.default.isExecutableFile(atPath: Self.fuseOverlayfs) else {
                return LayerUnavailable(
                    reason: "storage fuse-overlayfs needs \(Self.fuseOverlayfs)",
                    fix: "scripts/install-deps.sh runtimes (apt-get install fuse-overlayfs)")
            }
            guard access("/dev/fuse", R_OK | W_OK) == 0 else {
                return LayerUnavailable(reason: "storage fuse-overlayfs needs /dev/fuse, which is missing", fix: "modprobe fuse")
            }
        }
        let maxNamespaces = (try? String(contentsOfFile: "/proc/sys/user/max_user_namespaces", encoding: .utf8))
            .flatMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
        if maxNamespaces == 0 {
            return LayerUnavailable(
                reason: "user namespaces are disabled (/proc/sys/user/max_user_namespaces is 0)",
                fix: "sysctl user.max_user_namespaces=15000")
        }
        if geteuid() == 0, user == nil {
            return LayerUnavailable(reason: "rootless podman run by root needs a user", fix: "name one with podman user: NAME")
        }
        if let user, user != Self.defaultUser {
            guard let a = Self.account(user) else {
                return LayerUnavailable(
                    reason: "user \(user) does not exist", fix: "useradd \(user), or leave podman user out (writepath makes its own)")
            }
            guard a.uid != 0 else { return LayerUnavailable(reason: "user \(user) is root", fix: "name an unprivileged user") }
            for file in ["/etc/subuid", "/etc/subgid"] where Self.subordinateRange(file, name: a.name, uid: a.uid) == nil {
                return LayerUnavailable(
                    reason: "user \(user) has no subordinate id range in \(file)",
                    fix: "usermod --add-subuids 100000-165535 --add-subgids 100000-165535 \(user)")
            }
        } else if user == Self.defaultUser {
            for tool in ["useradd", "usermod"] where Command.which(tool) == nil {
                return LayerUnavailable(reason: "making user \(Self.defaultUser) needs \(tool)", fix: "apt-get install passwd")
            }
        }
        return nil
    }

    /// Makes what rootless podman needs and is missing: writepath's own user with its subordinate
    /// ranges, the user's runtime folder. Returns the account and what it made (for the settings).
    func prepare() throws -> (account: Account?, made: [String]) {
        guard rootless else { return (nil, []) }
        var made: [String] = []
        if user == Self.defaultUser, Self.account(Self.defaultUser) == nil {
            let r = try Command.run(
                "useradd",
                [
                    "--system", "--create-home", "--home-dir", Self.defaultHome, "--shell", "/usr/sbin/nologin",
                    "--comment", "writepath rootless podman runs", Self.defaultUser,
                ], timeout: 60)
            guard r.succeeded else {
                throw WritePathError.system(call: "useradd", path: Self.defaultUser, errno: EIO, hint: r.stderrTail())
            }
            made.append("user \(Self.defaultUser) (home \(Self.defaultHome))")
        }
        guard let a = account() else {
            throw WritePathError.system(call: "getpwnam", path: user ?? "?", errno: ENOENT, hint: "the rootless podman user does not exist")
        }
        if a.name == Self.defaultUser {
            var args: [String] = []
            for (file, flag) in [("/etc/subuid", "--add-subuids"), ("/etc/subgid", "--add-subgids")]
            where Self.subordinateRange(file, name: a.name, uid: a.uid) == nil {
                let start = Self.freeRangeStart(file)
                args += [flag, "\(start)-\(start + Self.subordinateCount - 1)"]
            }
            if !args.isEmpty {
                let r = try Command.run("usermod", args + [a.name], timeout: 60)
                guard r.succeeded else { throw WritePathError.system(call: "usermod", path: a.name, errno: EIO, hint: r.stderrTail()) }
                made.append("subordinate ids \(args.joined(separator: " "))")
            }
        }
        if geteuid() == 0 {
            let dir = Self.runtimeDirectory(a)
            if !FileManager.default.fileExists(atPath: dir) {
                mkdir("/run/user", 0o755)
                guard mkdir(dir, 0o700) == 0 || errno == EEXIST else {
                    throw WritePathError.system(call: "mkdir", path: dir, errno: errno, hint: "could not make the user's runtime folder")
                }
                made.append("runtime folder \(dir)")
            }
            guard chown(dir, a.uid, a.gid) == 0 else {
                throw WritePathError.system(call: "chown", path: dir, errno: errno, hint: "could not give the runtime folder to \(a.name)")
            }
        }
        return (a, made)
    }

    /// Stops the pause process rootless podman leaves running (it holds the user's namespace)
    /// when it is podman's (its pid file under the runtime folder, its name checked first).
    func stopPauseProcess(_ a: Account?) {
        guard rootless, let a else { return }
        let file = "\(Self.runtimeDirectory(a))/libpod/tmp/pause.pid"
        guard let text = try? String(contentsOfFile: file, encoding: .utf8),
            let pid = pid_t(text.trimmingCharacters(in: .whitespacesAndNewlines)), pid > 1
        else { return }
        let comm = ((try? String(contentsOfFile: "/proc/\(pid)/comm", encoding: .utf8)) ?? "").trimmingCharacters(
            in: .whitespacesAndNewlines)
        var st = stat()
        guard comm.hasPrefix("podman") || comm == "catatonit", stat("/proc/\(pid)", &st) == 0, st.st_uid == a.uid else { return }
        kill(pid, SIGTERM)
        unlink(file)
        // Until it has ended (gone, or a zombie for its parent to reap): at most 2 s.
        for _ in 0..<40 {
            let stat = (try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)) ?? ""
            guard let close = stat.lastIndex(of: ")"), stat[stat.index(after: close)...].dropFirst().first != "Z" else { return }
            usleep(50_000)
        }
    }

    /// What `podman info` says with these flags: the version, the store's driver and whether a
    /// mount program (fuse-overlayfs) serves it, the root, cgroups and the seccomp profile.
    struct Info: Sendable {
        var version: String
        var graphDriver: String
        var graphRoot: String
        var cgroupVersion: String
        var cgroupManager: String
        /// The mount program the overlay driver uses (fuse-overlayfs), or nil (kernel overlayfs).
        var mountProgram: String?
        var seccompProfile: String
        var rootless: Bool
    }

    func info(_ a: Account?) -> Result<Info, LayerUnavailable> {
        guard Command.which("podman") != nil else {
            return .failure(
                LayerUnavailable(reason: "podman is not installed", fix: "scripts/install-deps.sh runtimes (apt-get install podman crun)"))
        }
        let format =
            "{{.Version.Version}}|{{.Store.GraphDriverName}}|{{.Store.GraphRoot}}|{{.Host.CgroupsVersion}}|{{.Host.CgroupManager}}"
            + "|{{.Host.Security.SECCOMPProfilePath}}|{{.Host.Security.Rootless}}|{{json .Store.GraphOptions}}"
        let c = command(a)
        guard let r = try? Command.run(c[0], Array(c.dropFirst()) + ["info", "--format", format], timeout: 60), r.succeeded else {
            return .failure(LayerUnavailable(reason: "`podman info` failed", fix: "check the podman installation (podman info)"))
        }
        let f = r.stdout.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: "|", omittingEmptySubsequences: false).map(
            String.init)
        guard f.count >= 8 else {
            return .failure(LayerUnavailable(reason: "podman info gave \(r.stdout.prefix(80))", fix: "check podman"))
        }
        let options = f[7...].joined(separator: "|")
        var mountProgram: String? = nil
        if let data = options.data(using: .utf8), let obj = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
            let program = obj["overlay.mount_program"]
        {
            mountProgram = (program as? [String: Any])?["Executable"] as? String ?? "\(program)"
        }
        return .success(
            Info(
                version: f[0], graphDriver: f[1], graphRoot: f[2], cgroupVersion: f[3], cgroupManager: f[4], mountProgram: mountProgram,
                seccompProfile: f[5], rootless: f[6] == "true"))
    }

    /// Whether the seccomp profile at `path` lets io_uring_setup through: false when its default
    /// action refuses and no rule allows it (podman 4.3's profile: ENOSYS), nil when unreadable.
    static func seccompAllowsIOUring(profile path: String) -> Bool? {
        guard let data = FileManager.default.contents(atPath: path),
            let obj = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
        else { return nil }
        let defaultAllows = (obj["defaultAction"] as? String) == "SCMP_ACT_ALLOW"
        for rule in (obj["syscalls"] as? [[String: Any]]) ?? [] {
            let names = (rule["names"] as? [String]) ?? [rule["name"] as? String].compactMap { $0 }
            guard names.contains("io_uring_setup") else { continue }
            return (rule["action"] as? String) == "SCMP_ACT_ALLOW"
        }
        return defaultAllows
    }
}
