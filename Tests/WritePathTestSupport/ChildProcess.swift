import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A finished child process: its exit status (137 when killed at its timeout) and its output.
public struct ProcessOutcome: Sendable {
    public var status: Int32
    public var stdout: String
    public var stderr: String
}

/// Runs `executable` with `arguments` and collects its exit status and output. `environment` is
/// added to this process's; stdin is /dev/null; after `timeout` seconds the child is killed.
public func runProcess(
    _ executable: String, _ arguments: [String], cwd: String? = nil, environment: [String: String] = [:],
    timeout: Double? = nil, standardInput: String? = nil
) throws -> ProcessOutcome {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: executable)
    p.arguments = arguments
    if let cwd { p.currentDirectoryURL = URL(fileURLWithPath: cwd) }
    if !environment.isEmpty { p.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new } }
    let out = Pipe(), err = Pipe()
    p.standardOutput = out
    p.standardError = err
    // `standardInput`: the path of a file the child reads as its stdin; else /dev/null.
    p.standardInput = standardInput.flatMap { FileHandle(forReadingAtPath: $0) } ?? FileHandle.nullDevice
    try p.run()
    if let timeout {
        let pid = p.processIdentifier
        DispatchQueue.global().asyncAfter(deadline: .now() + timeout) { [p] in
            if p.isRunning { kill(pid, SIGKILL) }
        }
    }
    // Read both pipes at once: a child that fills one while we wait on the other would hang.
    nonisolated(unsafe) var e = Data()
    let group = DispatchGroup()
    DispatchQueue.global().async(group: group) { e = readToEnd(err.fileHandleForReading.fileDescriptor) }
    let o = readToEnd(out.fileHandleForReading.fileDescriptor)
    group.wait()
    p.waitUntilExit()
    return ProcessOutcome(
        status: p.terminationStatus, stdout: String(decoding: o, as: UTF8.self), stderr: String(decoding: e, as: UTF8.self))
}

/// Everything up to end of file from `fd`, retrying reads a signal interrupts (EINTR), where
/// FileHandle.readDataToEndOfFile traps (seen when many tests' children exit at once).
public func readToEnd(_ fd: Int32) -> Data {
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
