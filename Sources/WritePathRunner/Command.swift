#if canImport(Glibc)
import Glibc
#endif
import Foundation
import WritePathEngine

/// What a finished program left: its exit status and output. A non-zero exit is data, not an error.
public struct CommandOutput: Sendable {
    public var status: Int32
    public var stdout: String
    public var stderr: String
    /// It was stopped at its deadline or by a stop request.
    public var timedOut: Bool
    public var succeeded: Bool { status == 0 && !timedOut }

    /// The last `n` lines of stderr, for error messages.
    public func stderrTail(_ n: Int = 3) -> String {
        stderr.split(separator: "\n").suffix(n).joined(separator: " | ")
    }
}

/// Runs other programs (docker, runc, qemu) with a deadline.
public enum Command {
    /// The full path of `program` on PATH, or nil.
    public static func which(_ program: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
        for dir in (path + ":/usr/sbin:/sbin").split(separator: ":") {
            let p = "\(dir)/\(program)"
            if FileManager.default.isExecutableFile(atPath: p) { return p }
        }
        return nil
    }

    /// Runs `program` with `arguments` and waits for it. After `timeout` seconds, or when the user
    /// asks to stop (SIGINT), `onTimeout` runs (e.g. `docker rm -f`), then the process gets
    /// SIGTERM and, 5 s later, SIGKILL. Throws `system` only when the program cannot start.
    /// `onPoll(elapsed seconds)` runs every 20 ms while it runs; returning false stops it the same way.
    @discardableResult
    public static func run(_ program: String, _ arguments: [String], timeout: Double = 600, stdin: Data? = nil,
                           stdoutFile: String? = nil, onTimeout: (() -> Void)? = nil,
                           onPoll: ((Double) -> Bool)? = nil) throws -> CommandOutput {
        guard let path = program.hasPrefix("/") ? program : which(program) else {
            throw WritePathError.system(call: "exec", path: program, errno: ENOENT, hint: "\(program) is not installed")
        }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: path)
        p.arguments = arguments
        let out = Pipe(), err = Pipe()
        var outHandle: FileHandle? = nil
        if let stdoutFile {
            FileManager.default.createFile(atPath: stdoutFile, contents: nil)
            outHandle = FileHandle(forWritingAtPath: stdoutFile)
            p.standardOutput = outHandle
        } else {
            p.standardOutput = out
        }
        p.standardError = err
        let input = Pipe()
        p.standardInput = stdin == nil ? FileHandle.nullDevice : input
        let collector = OutputCollector()
        if stdoutFile == nil {
            out.fileHandleForReading.readabilityHandler = { h in collector.append(out: h.availableData) }
        }
        err.fileHandleForReading.readabilityHandler = { h in collector.append(err: h.availableData) }
        do { try p.run() } catch {
            throw WritePathError.system(call: "exec", path: path, errno: EIO, hint: "\(error)")
        }
        if let stdin {
            input.fileHandleForWriting.write(stdin)
            try? input.fileHandleForWriting.close()
        }
        let start = monotonicNanoseconds()
        var timedOut = false
        while p.isRunning {
            usleep(20_000)
            let elapsed = Double(monotonicNanoseconds() - start) / 1e9
            // `onPoll` sees the elapsed seconds every 20 ms and may end the program early (false).
            let keepGoing = onPoll?(elapsed) ?? true
            if !timedOut && (!keepGoing || elapsed > timeout || stopRequested.load(ordering: .relaxed)) {
                timedOut = true
                onTimeout?()
                p.terminate()
                let killAt = monotonicNanoseconds() + 5_000_000_000
                while p.isRunning && monotonicNanoseconds() < killAt { usleep(20_000) }
                if p.isRunning { kill(p.processIdentifier, SIGKILL) }
            }
        }
        p.waitUntilExit()
        out.fileHandleForReading.readabilityHandler = nil
        err.fileHandleForReading.readabilityHandler = nil
        if stdoutFile == nil { collector.append(out: readToEnd(out.fileHandleForReading.fileDescriptor)) }
        collector.append(err: readToEnd(err.fileHandleForReading.fileDescriptor))
        try? outHandle?.close()
        return CommandOutput(status: p.terminationStatus, stdout: collector.stdout, stderr: collector.stderr, timedOut: timedOut)
    }
}

/// Everything up to end of file from `fd`, retrying reads a signal interrupts (EINTR).
/// FileHandle.readDataToEndOfFile traps instead, and a child that leaves the pipe open to a
/// grandchild makes that read block long enough for SIGCHLD or Ctrl-C to land in it.
func readToEnd(_ fd: Int32) -> Data {
    var data = Data()
    var buffer = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if n > 0 {
            data.append(contentsOf: buffer[0..<n])
        } else if n == 0 || errno != EINTR {
            return data
        }
    }
}

final class OutputCollector: @unchecked Sendable {
    private let lock = NSLock()
    private var out = Data()
    private var err = Data()
    func append(out d: Data) { lock.lock(); out.append(d); lock.unlock() }
    func append(err d: Data) { lock.lock(); err.append(d); lock.unlock() }
    var stdout: String { lock.lock(); defer { lock.unlock() }; return String(decoding: out, as: UTF8.self) }
    var stderr: String { lock.lock(); defer { lock.unlock() }; return String(decoding: err, as: UTF8.self) }
}
