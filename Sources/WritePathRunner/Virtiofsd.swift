import Foundation
import WritePathEngine

#if canImport(Glibc)
    import Glibc
#endif

/// virtiofsd, the vhost-user server behind a `qemu-virtiofs` guest's shared folder: Debian's C
/// virtiofsd (in qemu-system-common), started by writepath for one guest on one host folder and
/// always stopped by it (`stop`), after the guest powered off, hung or was interrupted.
///
/// It serves the folder over a Unix socket that QEMU's `vhost-user-fs-pci` connects to, and
/// reads and writes the folder's files with its own system calls: what the guest's O_DIRECT and
/// flushes become on the host is its choice (`-o allow_direct_io`, `-o cache=`).
final class Virtiofsd: @unchecked Sendable {
    /// Where Debian (qemu-system-common) and other distributions put it.
    static let candidates = ["/usr/lib/qemu/virtiofsd", "/usr/libexec/virtiofsd", "/usr/lib/virtiofsd"]

    /// The installed virtiofsd, or nil.
    static func binary() -> String? { candidates.first { FileManager.default.isExecutableFile(atPath: $0) } }

    /// `virtiofsd --version`'s number (`7.2.22`), or nil.
    static func version(_ binary: String) -> String? {
        guard let r = try? Command.run(binary, ["--version"], timeout: 20), r.succeeded else { return nil }
        let first = (r.stdout + r.stderr).split(separator: "\n").first.map(String.init) ?? ""
        let words = first.split(separator: " ")
        if let i = words.firstIndex(of: "version"), i + 1 < words.count { return String(words[i + 1]) }
        return first.isEmpty ? nil : first
    }

    /// Whether it can run here, and if not why and how to fix it.
    static func availability() -> Availability {
        guard let binary = binary() else {
            return .unavailable(
                reason: "virtiofsd is not installed (looked for \(candidates.joined(separator: ", ")))",
                fix: "scripts/install-deps.sh guests (apt-get install qemu-system-common)")
        }
        guard geteuid() == 0 else {
            return .unavailable(reason: "virtiofsd serves the folder as root (its sandbox needs namespaces)", fix: "run writepath as root")
        }
        return .available(detail: "virtiofsd \(version(binary) ?? "?")")
    }

    /// virtiofsd's options for serving `source` with `cache` (auto | always | none) and, with
    /// `allowDirectIO`, the guest's O_DIRECT kept on its host files; `debugLog`: log level debug,
    /// whose lines count the fsync requests (`lo_fsync(`).
    static func options(source: String, cache: String, allowDirectIO: Bool, debugLog: Bool) -> [String] {
        [
            "-o", "source=\(optionValue(source))", "-o", "cache=\(cache)", "-o", allowDirectIO ? "allow_direct_io" : "no_allow_direct_io",
            "-o", "sandbox=namespace", "-o", "log_level=\(debugLog ? "debug" : "info")",
        ]
    }

    /// `value` for virtiofsd's `-o` list, which splits at commas: a backslash escapes a comma and itself.
    static func optionValue(_ value: String) -> String {
        value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: ",", with: "\\,")
    }

    let process: Process
    /// The vhost-user socket QEMU connects to.
    let socket: String
    /// Its stdout and stderr.
    let log: String
    private let lock = NSLock()
    private var stopped = false

    private init(process: Process, socket: String, log: String) {
        self.process = process
        self.socket = socket
        self.log = log
    }

    /// Starts virtiofsd with `options` on `socket`, its output in `log`, and waits (at most 20 s)
    /// for the socket to appear. Throws naming virtiofsd with its log's last lines when it exits or
    /// the socket does not appear; it is stopped then.
    static func start(binary: String, socket: String, options: [String], log: String) throws -> Virtiofsd {
        unlink(socket)
        guard FileManager.default.createFile(atPath: log, contents: nil), let handle = FileHandle(forWritingAtPath: log) else {
            throw WritePathError.system(call: "open", path: log, errno: errno, hint: "cannot write virtiofsd's log into the log folder")
        }
        defer { try? handle.close() }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: binary)
        p.arguments = ["--socket-path=\(socket)", "-f"] + options
        p.standardInput = FileHandle.nullDevice
        p.standardOutput = handle
        p.standardError = handle
        try Command.launch(p, path: binary)
        let server = Virtiofsd(process: p, socket: socket, log: log)
        let start = monotonicNanoseconds()
        while !isSocket(socket) {
            let exited = !p.isRunning
            if exited || Double(monotonicNanoseconds() - start) / 1e9 > 20 || stopRequested.load(ordering: .relaxed) {
                server.stop()
                let why = exited ? "it exited with status \(p.terminationStatus)" : "its socket did not appear within 20 s"
                throw WritePathError.system(
                    call: "virtiofsd", path: socket, errno: exited ? EIO : ETIMEDOUT, hint: "\(why): \(server.logTail())")
            }
            usleep(20_000)
        }
        return server
    }

    static func isSocket(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFSOCK
    }

    /// The last lines of its log, for errors.
    func logTail(_ n: Int = 3) -> String {
        let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").suffix(n).joined(separator: " | ")
    }

    /// Stops it, once: it normally ends by itself when QEMU disconnects; otherwise SIGTERM, and
    /// SIGKILL after 5 s, to its process group (the child its namespace sandbox forks is in it).
    /// Waits until it has exited; removes the socket.
    func stop() {
        lock.lock()
        defer { lock.unlock() }
        guard !stopped else { return }
        stopped = true
        let pid = process.processIdentifier
        var waited = 0
        while process.isRunning && waited < 100 {  // 1 s to end by itself after QEMU went away
            usleep(10_000)
            waited += 1
        }
        // Its process group when it leads one (Foundation's children do): the sandbox's child goes too.
        let target = getpgid(pid) == pid ? -pid : pid
        if process.isRunning { kill(target, SIGTERM) }
        waited = 0
        while process.isRunning && waited < 500 {
            usleep(10_000)
            waited += 1
        }
        if process.isRunning { kill(target, SIGKILL) }
        process.waitUntilExit()
        unlink(socket)
    }

    /// The fsync requests of the guest virtiofsd served (`lo_fsync(` lines of its debug log).
    func fsyncRequests() -> UInt64 {
        let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        return UInt64(text.split(separator: "\n").filter { $0.contains("lo_fsync(") }.count)
    }
}
