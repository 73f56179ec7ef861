import Foundation
import WritePathEngine

#if canImport(Glibc)
    import Glibc
#endif

/// A server a layer runs beside its box for one run (qemu-nbd, nbdkit, qemu-storage-daemon, tgtd):
/// started under a lifeline, ready once it listens, and stopped by `stop()`, which the layer
/// always calls (also when the run fails or is interrupted).
///
/// The lifeline: the server runs under a small `sh` that holds a pipe from this process on its
/// stdin. When writepath stops it, `stop()` ends the server first; when writepath itself dies (a
/// second Ctrl-C, SIGKILL), the pipe closes and the `sh` (which ignores SIGINT and SIGHUP) sends
/// SIGTERM, then SIGKILL 3 s later, so no server outlives the run in any case.
final class ServerProcess: @unchecked Sendable {
    /// The program (`qemu-nbd`), for messages.
    let program: String
    /// The server's own process id (not the lifeline's).
    let pid: pid_t
    /// Where its stdout and stderr go.
    let log: String
    private let lifeline: Process
    private let lifelineInput: Pipe
    private var stopped = false

    /// The lifeline's script: `$1` is the log, the rest the server's command line; it prints the
    /// server's pid, waits for its stdin to close, then makes sure the server is gone.
    static let lifelineScript = """
        trap '' INT HUP
        log=$1
        shift
        "$@" </dev/null >>"$log" 2>&1 &
        server=$!
        echo "$server"
        cat >/dev/null
        state=$(cut -d' ' -f3 "/proc/$server/stat" 2>/dev/null)
        if [ -n "$state" ] && [ "$state" != Z ]; then
            kill -TERM "$server" 2>/dev/null
            sleep 3
            kill -KILL "$server" 2>/dev/null
        fi
        wait "$server"
        """

    /// Starts `program` with `arguments`, its output appended to `log`. Throws `system` naming the
    /// program when it cannot start.
    init(_ program: String, _ arguments: [String], log: String) throws {
        guard let path = program.hasPrefix("/") ? program : Command.which(program) else {
            throw WritePathError.system(
                call: "exec", path: program, errno: ENOENT, hint: "\(program) is not installed; scripts/install-deps.sh guests")
        }
        self.program = program
        self.log = log
        FileManager.default.createFile(atPath: log, contents: nil)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/sh")
        p.arguments = ["-c", Self.lifelineScript, "writepath-lifeline", log, path] + arguments
        let input = Pipe(), output = Pipe()
        // Only the lifeline holds the pipe's write end's other side: no other child may inherit it.
        _ = fcntl(input.fileHandleForWriting.fileDescriptor, F_SETFD, FD_CLOEXEC)
        p.standardInput = input
        p.standardOutput = output
        p.standardError = FileHandle.nullDevice
        // As in Command.run: the child starts with no signal blocked.
        var none = sigset_t(), previous = sigset_t()
        sigemptyset(&none)
        pthread_sigmask(SIG_SETMASK, &none, &previous)
        do { try p.run() } catch {
            pthread_sigmask(SIG_SETMASK, &previous, nil)
            throw WritePathError.system(call: "exec", path: "/bin/sh", errno: EIO, hint: "starting \(program): \(error)")
        }
        pthread_sigmask(SIG_SETMASK, &previous, nil)
        lifeline = p
        lifelineInput = input
        let line = String(decoding: Self.firstLine(output.fileHandleForReading.fileDescriptor), as: UTF8.self)
        guard let server = pid_t(line.trimmingCharacters(in: .whitespacesAndNewlines)), server > 0 else {
            try? input.fileHandleForWriting.close()
            p.waitUntilExit()
            throw WritePathError.system(call: "exec", path: path, errno: EIO, hint: "the lifeline shell gave no server pid (\(line))")
        }
        pid = server
    }

    deinit { stop() }

    /// The bytes up to the first newline on `fd` (or its end).
    private static func firstLine(_ fd: Int32) -> [UInt8] {
        var bytes: [UInt8] = []
        var byte: UInt8 = 0
        while bytes.count < 64 {
            let n = read(fd, &byte, 1)
            if n == 1 {
                if byte == UInt8(ascii: "\n") { break }
                bytes.append(byte)
            } else if n == 0 || errno != EINTR {
                break
            }
        }
        return bytes
    }

    /// Whether the server has exited (gone, or a zombie its lifeline has not reaped yet).
    var hasExited: Bool { Self.hasExited(pid) }

    /// Whether process `pid` has exited: no `/proc/<pid>`, or its state is Z (zombie) or X.
    static func hasExited(_ pid: pid_t) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8) else { return true }
        // "pid (comm) S ...": the state follows the last ')'.
        guard let close = stat.lastIndex(of: ")") else { return true }
        let state = stat[stat.index(after: close)...].trimmingCharacters(in: .whitespaces).first
        return state == "Z" || state == "X"
    }

    /// The last `n` lines of the server's log, for error messages.
    func logTail(_ n: Int = 3) -> String {
        let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").suffix(n).joined(separator: " | ")
    }

    /// Waits until `isReady()` (checked every 50 ms) or `timeout` seconds; throws `system` naming
    /// the program, with its log's last lines, when it exited or did not get ready in time.
    func waitUntilReady(_ what: String, timeout: Double = 30, _ isReady: () -> Bool) throws {
        let start = monotonicNanoseconds()
        while true {
            if isReady() { return }
            if hasExited {
                throw WritePathError.system(call: program, path: what, errno: EIO, hint: "it exited before serving: \(logTail())")
            }
            if stopRequested.load(ordering: .relaxed) {
                throw WritePathError.system(call: program, path: what, errno: EINTR, hint: "interrupted")
            }
            if Double(monotonicNanoseconds() - start) / 1e9 > timeout {
                throw WritePathError.system(
                    call: program, path: what, errno: ETIMEDOUT, hint: "not serving within \(Int(timeout)) s: \(logTail())")
            }
            usleep(50_000)
        }
    }

    /// Stops the server, once: `SIGTERM` (or `signal`), SIGKILL after `grace` seconds, and waits
    /// until it and its lifeline are gone. Safe to call again.
    func stop(signal: Int32 = SIGTERM, grace: Double = 5) {
        guard !stopped else { return }
        stopped = true
        if !hasExited {
            kill(pid, signal)
            let start = monotonicNanoseconds()
            while !hasExited && Double(monotonicNanoseconds() - start) / 1e9 < grace { usleep(20_000) }
            if !hasExited { kill(pid, SIGKILL) }
            // SIGKILL ends it unless it is stuck in the kernel (D state): wait for that too, up to a minute.
            let killed = monotonicNanoseconds()
            while !hasExited && Double(monotonicNanoseconds() - killed) / 1e9 < 60 { usleep(20_000) }
        }
        // The server is gone: closing the lifeline lets the sh reap it and exit.
        try? lifelineInput.fileHandleForWriting.close()
        lifeline.waitUntilExit()
    }
}

/// Listening sockets on this machine, read from /proc/net (no connection is made: a probe
/// connection would count as a client to servers that serve one).
enum ListeningSocket {
    /// Whether a Unix socket bound to `path` is listening (`/proc/net/unix`, flag __SO_ACCEPTCON).
    static func unix(_ path: String) -> Bool {
        guard let text = try? String(contentsOfFile: "/proc/net/unix", encoding: .utf8) else { return false }
        return text.split(separator: "\n").contains { line in
            let f = line.split(separator: " ", omittingEmptySubsequences: true)
            return f.count >= 8 && f[3] == "00010000" && f[7...].joined(separator: " ") == path
        }
    }

    /// Whether something listens on TCP port `port` of 127.0.0.1 or any address (`/proc/net/tcp`).
    static func tcp(_ port: UInt16) -> Bool {
        guard let text = try? String(contentsOfFile: "/proc/net/tcp", encoding: .utf8) else { return false }
        let hex = String(format: "%04X", port)
        return text.split(separator: "\n").dropFirst().contains { line in
            let f = line.split(separator: " ", omittingEmptySubsequences: true)
            return f.count >= 4 && f[3] == "0A" && (f[1] == "0100007F:\(hex)" || f[1] == "00000000:\(hex)")
        }
    }

    /// A TCP port of 127.0.0.1 free now (the kernel's choice for a bind to port 0).
    static func freeTCPPort() throws -> UInt16 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw WritePathError.system(call: "socket", path: "127.0.0.1", errno: errno, hint: hintFor(errno: errno)) }
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = 0
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { p -> Int32 in
                guard bind(fd, p, len) == 0 else { return -1 }
                return getsockname(fd, p, &len)
            }
        }
        guard bound == 0 else { throw WritePathError.system(call: "bind", path: "127.0.0.1:0", errno: errno, hint: hintFor(errno: errno)) }
        return UInt16(bigEndian: addr.sin_port)
    }
}
