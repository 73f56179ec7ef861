import ArgumentParser
import Foundation
import WritePathEngine
import WritePathReport

#if canImport(Glibc)
    import Glibc
#endif

/// `writepath verify`: reads a target written with `--verify=crc32c` back against its state file
/// and classifies every block: good, stale, torn, misplaced or missing.
struct VerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check a target written with --verify=crc32c: every block good, stale, torn, misplaced or missing.")

    @Option(name: .customLong("filename"), help: "The target that was written.") var filename: String
    @Option(name: .customLong("state"), help: "The state file (default: FILENAME.wpverify).") var state: String?
    @Option(name: .customLong("direct"), help: "1: read with O_DIRECT, 0: through the page cache.") var direct: String = "1"
    @Option(name: .customLong("output-format"), help: "text or json.") var outputFormat: String = "text"

    func validate() throws {
        guard ["text", "json"].contains(outputFormat) else {
            throw ValidationError("invalid output-format: '\(outputFormat)' is not supported; expected text or json")
        }
        guard ["0", "1"].contains(direct) else {
            throw ValidationError("invalid direct: '\(direct)' is not supported; expected 1 or 0")
        }
    }

    func run() throws {
        guard FileManager.default.fileExists(atPath: filename) else {
            throw WritePathError.invalidInput(field: "filename", message: "\(filename) does not exist")
        }
        let s = try VerifyState.load(from: state ?? VerifyState.path(for: filename), targetBytes: Self.sizeInBytes(filename))
        let result = try Verifier.verify(path: filename, state: s, direct: direct == "1")
        if outputFormat == "json" {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            Output.stdout(String(decoding: try encoder.encode(result), as: UTF8.self) + "\n")
        } else {
            var out = "\(filename): \(VerifyText.line(result))\n"
            for f in result.findings { out += "  offset \(f.offset): \(f.kind): \(f.detail)\n" }
            Output.stdout(out)
        }
        if result.verdict != "pass" { throw ExitCode(1) }
    }

    /// The size of a file or block device in bytes (lseek to the end), or nil when it cannot be opened.
    static func sizeInBytes(_ path: String) -> UInt64? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        let end = lseek(fd, 0, SEEK_END)
        return end < 0 ? nil : UInt64(end)
    }
}
