import Foundation
import WritePathEngine

#if canImport(Glibc)
    import Glibc
#endif

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

    /// How often `onPoll` is called while a program runs, seconds.
    public static let pollInterval = 0.05

    /// Runs `program` with `arguments` (in `currentDirectory`, when given) and waits for it: the
    /// wait ends when the program exits (Foundation's termination handler), with no polling.
    /// After `timeout` seconds, or as soon as the user asks to stop (SIGINT/SIGTERM, `StopNotice`),
    /// `onTimeout` runs (e.g. `docker rm -f`), then the program's process group gets SIGTERM and,
    /// 5 s later, SIGKILL. Throws `system` only when the program cannot start. `onPoll(elapsed
    /// seconds)`, for callers that watch files the program writes, runs every `pollInterval` while
    /// it runs, on another thread while this one waits; returning false stops it the same way.
    @discardableResult
    public static func run(
        _ program: String, _ arguments: [String], timeout: Double = 600, stdin: Data? = nil,
        stdoutFile: String? = nil, currentDirectory: String? = nil, onTimeout: (() -> Void)? = nil,
        onPoll: ((Double) -> Bool)? = nil
    ) throws -> CommandOutput {
        guard let path = program.hasPrefix("/") ? program : which(program) else {
            throw WritePathError.system(call: "exec", path: program, errno: ENOENT, hint: "\(program) is not installed")
        }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: path)
        p.arguments = arguments
        if let currentDirectory { p.currentDirectoryURL = URL(fileURLWithPath: currentDirectory, isDirectory: true) }
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
        let exited = DispatchSemaphore(value: 0)
        p.terminationHandler = { _ in exited.signal() }
        try launch(p, path: path)
        let stopper = Stopper(pid: p.processIdentifier, onTimeout: onTimeout)
        let start = monotonicNanoseconds()
        let queue = DispatchQueue(label: "writepath.command.\(p.processIdentifier)")
        var sources: [DispatchSourceProtocol] = []
        let deadline = DispatchSource.makeTimerSource(queue: queue)
        deadline.schedule(deadline: .now() + max(0, timeout))
        deadline.setEventHandler { stopper.stop(queue) }
        sources.append(deadline)
        if StopNotice.descriptor >= 0 {
            let stop = DispatchSource.makeReadSource(fileDescriptor: StopNotice.descriptor, queue: queue)
            // The pipe stays readable: stop once, then stop listening (cancelling also releases
            // this handler, and with it the source it holds).
            let source = UncheckedBox(stop)
            stop.setEventHandler {
                stopper.stop(queue)
                source.value.cancel()
            }
            sources.append(stop)
        }
        if let onPoll {
            let poll = UncheckedBox(onPoll)
            let timer = DispatchSource.makeTimerSource(queue: queue)
            timer.schedule(deadline: .now() + pollInterval, repeating: pollInterval)
            timer.setEventHandler {
                if !poll.value(Double(monotonicNanoseconds() - start) / 1e9) { stopper.stop(queue) }
            }
            sources.append(timer)
        }
        for source in sources { source.resume() }
        if let stdin {
            input.fileHandleForWriting.write(stdin)
            try? input.fileHandleForWriting.close()
        }
        exited.wait()
        // Every handler runs on `queue`: once this returns, none is running and none will.
        queue.sync { for source in sources { source.cancel() } }
        stopper.exited(queue)
        out.fileHandleForReading.readabilityHandler = nil
        err.fileHandleForReading.readabilityHandler = nil
        if stdoutFile == nil { collector.append(out: readToEnd(out.fileHandleForReading.fileDescriptor)) }
        collector.append(err: readToEnd(err.fileHandleForReading.fileDescriptor))
        try? outHandle?.close()
        return CommandOutput(
            status: p.terminationStatus, stdout: collector.stdout, stderr: collector.stderr,
            timedOut: stopper.stopped(queue))
    }
}

extension Command {
    /// Starts `p` (the program at `path`) with no signal blocked. The child inherits the signal
    /// mask of the thread that starts it, and worker threads (Dispatch's, the test runner's) block
    /// most signals: it would then ignore the SIGTERM that stops it. This thread's mask is
    /// restored at once. Throws `system` naming `path` when it cannot start.
    static func launch(_ p: Process, path: String) throws {
        var none = sigset_t(), previous = sigset_t()
        sigemptyset(&none)
        pthread_sigmask(SIG_SETMASK, &none, &previous)
        defer { pthread_sigmask(SIG_SETMASK, &previous, nil) }
        do { try p.run() } catch {
            throw WritePathError.system(call: "exec", path: path, errno: EIO, hint: "\(error)")
        }
    }
}

/// Stops one child at its deadline or on request, once: `onTimeout`, then SIGTERM to its process
/// group and SIGKILL 5 s later unless it has exited. Its state is only touched on the command's queue.
private final class Stopper: @unchecked Sendable {
    let pid: pid_t
    let onTimeout: (() -> Void)?
    private var didStop = false
    private var didExit = false

    init(pid: pid_t, onTimeout: (() -> Void)?) {
        self.pid = pid
        self.onTimeout = onTimeout
    }

    /// On `queue`.
    func stop(_ queue: DispatchQueue) {
        guard !didStop, !didExit else { return }
        didStop = true
        onTimeout?()
        signal(SIGTERM)
        queue.asyncAfter(deadline: .now() + 5) { [self] in
            if !didExit { signal(SIGKILL) }
        }
    }

    func exited(_ queue: DispatchQueue) { queue.sync { didExit = true } }
    func stopped(_ queue: DispatchQueue) -> Bool { queue.sync { didStop } }

    /// `sig` to the child's process group when it leads one (Foundation starts children in a group
    /// of their own, so their own children go too), else to the child alone.
    private func signal(_ sig: Int32) {
        if getpgid(pid) == pid { kill(-pid, sig) } else { kill(pid, sig) }
    }
}

/// A closure the caller hands over for calls on one serial queue while the caller waits.
private final class UncheckedBox<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
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
