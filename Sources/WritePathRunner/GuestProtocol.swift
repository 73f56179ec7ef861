import Foundation
import WritePathEngine

#if canImport(Glibc)
    import Glibc
#endif

/// The protocol between writepath and its guests (QEMU guests, Xen domUs, the nested Xen rig's
/// dom0): the scripts the guests run, the engine's command line on the kernel command line, the
/// lines the guest writes to its channel (`WRITEPATH-BOOTED`, `WRITEPATH-ERROR`, the result
/// envelope), and the console log's telling lines.
///
/// The channel is the second serial port (QEMU: a file on the host), or the domU's console on a
/// Xen host. Line by line: `WRITEPATH-BOOTED <uptime>` when the test disk is there,
/// `WRITEPATH-ERROR <why>` on failure, `WRITEPATH-STDERR <base64 of the engine's stderr tail>`,
/// then the envelope `WRITEPATH-RESULT-BEGIN rc=N len=BYTES sha256=HEX`, base64 of the gzip of the
/// engine's JSON (writepath's result, or fio's), `WRITEPATH-RESULT-END`.
enum GuestProtocol {
    /// The scripts guests run, kept as files (Sources/WritePathRunner/Resources, checked by
    /// shellcheck) and copied by the build next to the binary.
    enum Script: String, CaseIterable {
        /// The init of QEMU guests and Xen domUs.
        case guestInit = "guest-init.sh"
        /// The init of the nested Xen rig's dom0.
        case dom0Init = "xen-dom0-init.sh"
        /// The block hotplug script libxl runs in that dom0.
        case blockHotplug = "xen-block-hotplug.sh"
        /// The command of a Docker Swarm task: the engine's result on stdout in the envelope (Swarm.swift).
        case swarmTask = "swarm-task.sh"

        /// The resource folder SwiftPM copies beside the binary (`<package>_<target>.resources`).
        static let bundleName = "writepath_WritePathRunner.resources"

        /// Where the script is: in the resource folder beside this executable, or beside the
        /// test bundle's main executable.
        var path: String? {
            let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
            let folders = [(exe as NSString).deletingLastPathComponent, Bundle.main.bundlePath]
            return folders.map { "\($0)/\(Self.bundleName)/\(rawValue)" }.first { FileManager.default.fileExists(atPath: $0) }
        }

        /// The script's text; an error naming where it was looked for when it is missing.
        func text() throws -> String {
            guard let path, let text = try? String(contentsOfFile: path, encoding: .utf8) else {
                throw WritePathError.system(
                    call: "open", path: "\(Self.bundleName)/\(rawValue)", errno: ENOENT,
                    hint: "the guest scripts are installed beside the writepath binary; copy \(Self.bundleName) with it")
            }
            return text
        }
    }

    /// The engine's command line for the guest's init, base64 of one argument per line (`wp.args=`).
    static func encodedArguments(_ argv: [String]) -> String {
        Data(argv.joined(separator: "\n").utf8).base64EncodedString()
    }

    /// The console's telling lines: a fault report, the domU's last lines and dom0's complaint
    /// (nested Xen), else the last `n` lines before the power-off noise.
    static func consoleTail(_ path: String, lines n: Int = 6) -> String {
        var lines = ((try? String(contentsOfFile: path, encoding: .utf8)) ?? "")
            .replacingOccurrences(of: "\r", with: "").split(separator: "\n").map(String.init)
        if let off = lines.firstIndex(where: { $0.contains("reboot: Power down") }) { lines = Array(lines[..<off]) }
        let faults = lines.filter { $0.contains("Triple fault") || $0.contains("crashed") || $0.contains("Kernel panic") }.prefix(2)
        let told = lines.filter { $0.hasPrefix("domU| ") || $0.hasPrefix("wp-dom0:") }.suffix(n)
        let picked = Array(faults) + Array(told)
        return (picked.isEmpty ? Array(lines.suffix(n)) : picked).joined(separator: " | ")
    }

    /// Throws when the guest said it failed (`WRITEPATH-ERROR`, an I/O error) or was stopped
    /// before its result (`stopped` says why: a timeout), naming `call` and `layer`, with the
    /// console's telling lines.
    static func checkBoot(_ progress: Progress, stopped: String?, call: String, layer: String, consoleTail: String) throws {
        if let error = progress.error {
            throw WritePathError.system(call: call, path: layer, errno: EIO, hint: "\(error); last console lines: \(consoleTail)")
        }
        if let stopped {
            throw WritePathError.system(call: call, path: layer, errno: ETIMEDOUT, hint: "\(stopped); last console lines: \(consoleTail)")
        }
    }

    /// What the channel has said so far, as lines arrive (the nested rig's dom0 lines included).
    /// Times are seconds since the box started.
    struct Progress {
        var dom0Up: Double?
        var xenVersion: String?
        var domUCreated: Double?
        var booted: Double?
        var guestUptime: String?
        var resultEnd: Double?
        var done: Double?
        var error: String?
        var xenstore: [String: String] = [:]

        /// Reads the whole lines of `text`; a last line without its newline is still being written.
        mutating func update(from text: String, at elapsed: Double) {
            // "\r\n" is one Character in Swift: drop the carriage returns (a pty sends them) first.
            var lines = text.replacingOccurrences(of: "\r", with: "").split(separator: "\n", omittingEmptySubsequences: false)
            lines.removeLast()
            for raw in lines where raw.hasPrefix("WRITEPATH-") {
                let line = raw.trimmingCharacters(in: .whitespacesAndNewlines)
                let words = line.split(separator: " ").map(String.init)
                if dom0Up == nil, line.hasPrefix("WRITEPATH-DOM0-UP") {
                    dom0Up = elapsed
                    xenVersion = words.count > 2 ? words[2] : nil
                } else if domUCreated == nil, line.hasPrefix("WRITEPATH-DOMU-CREATED") {
                    domUCreated = elapsed
                } else if xenstore.isEmpty, line.hasPrefix("WRITEPATH-XENSTORE") {
                    for w in words.dropFirst() {
                        let kv = w.split(separator: "=", maxSplits: 1).map(String.init)
                        if kv.count == 2 { xenstore[kv[0]] = kv[1] }
                    }
                } else if booted == nil, line.hasPrefix("WRITEPATH-BOOTED") {
                    booted = elapsed
                    guestUptime = words.count > 1 ? words[1] : nil
                } else if resultEnd == nil, line == "WRITEPATH-RESULT-END" {
                    resultEnd = elapsed
                } else if done == nil, line.hasPrefix("WRITEPATH-DOM0-DONE") {
                    done = elapsed
                } else if error == nil, line.hasPrefix("WRITEPATH-ERROR") {
                    error = String(line.dropFirst("WRITEPATH-ERROR".count)).trimmingCharacters(in: .whitespaces)
                }
            }
        }
    }
}

/// The guest's result envelope (see `GuestProtocol`). A truncated or garbled envelope is an
/// error, never a number.
enum GuestEnvelope {
    /// What the engine in the guest left: its output (JSON), exit status and stderr tail.
    struct Contents {
        var output: Data
        var status: Int32
        var stderr: String
    }

    /// Opens the envelope in `text` (the channel). `host` says how the box itself ended
    /// (`qemu exit 1: ...`; empty on a Xen host), for the error when there is no envelope.
    static func open(_ text: String, host: String, consoleTail: String) throws -> Contents {
        let lines = text.replacingOccurrences(of: "\r", with: "").split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let stderrLine = lines.first { $0.hasPrefix("WRITEPATH-STDERR ") }
        let guestStderr =
            stderrLine.flatMap { Data(base64Encoded: String($0.dropFirst("WRITEPATH-STDERR ".count))) }
            .map { String(decoding: $0, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines) } ?? ""
        guard let begin = lines.firstIndex(where: { $0.hasPrefix("WRITEPATH-RESULT-BEGIN") }) else {
            let how = host.isEmpty ? "" : " (\(host))"
            throw WritePathError.system(
                call: "guest", path: "result channel", errno: EIO,
                hint: "no result from the guest\(how); last console lines: \(consoleTail)")
        }
        guard let end = lines[begin...].firstIndex(where: { $0 == "WRITEPATH-RESULT-END" }) else {
            throw WritePathError.system(
                call: "guest", path: "result channel", errno: EIO,
                hint: "the result envelope is truncated (no END line)")
        }
        var fields: [String: String] = [:]
        for part in lines[begin].split(separator: " ").dropFirst() {
            let kv = part.split(separator: "=", maxSplits: 1)
            if kv.count == 2 { fields[String(kv[0])] = String(kv[1]) }
        }
        guard let length = fields["len"].flatMap(Int.init), let sum = fields["sha256"], let rc = fields["rc"].flatMap(Int32.init) else {
            throw WritePathError.system(
                call: "guest", path: "result channel", errno: EIO,
                hint: "the envelope header is garbled: \(lines[begin])")
        }
        let body = lines[(begin + 1)..<end].joined()
        guard let gz = Data(base64Encoded: body) else {
            throw WritePathError.system(call: "guest", path: "result channel", errno: EIO, hint: "the envelope body is not base64")
        }
        let unzip = try Command.run("gzip", ["-dc"], timeout: 60, stdin: gz)
        let output = Data(unzip.stdout.utf8)
        guard unzip.succeeded, output.count == length else {
            throw WritePathError.system(
                call: "guest", path: "result channel", errno: EIO,
                hint: "the result is \(output.count) bytes, the envelope says \(length): truncated or garbled")
        }
        let check = try Command.run("sha256sum", [], timeout: 30, stdin: output)
        guard check.stdout.hasPrefix(sum) else {
            throw WritePathError.system(
                call: "guest", path: "result channel", errno: EIO,
                hint: "the result's checksum does not match: garbled in transit")
        }
        return Contents(output: output, status: rc, stderr: guestStderr)
    }
}
