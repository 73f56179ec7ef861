#if canImport(Glibc)
import Glibc
#endif
import Foundation
import WritePathEngine
import WritePathRunner

/// Output destinations: stdout, the files the user names (see `OutputFile`), and the status line on stderr.
enum Output {
    /// Writes `text` to the file the user named: a regular file (or nothing) is replaced
    /// atomically, a device node, FIFO or symlink is written in place (see `OutputFile`).
    static func writeFile(_ text: String, to path: String, field: String) throws {
        try OutputFile.write(text, to: path, field: field)
    }

    static func stdout(_ text: String) {
        FileHandle.standardOutput.write(Data(text.utf8))
    }

    static func stderr(_ text: String) {
        FileHandle.standardError.write(Data(text.utf8))
    }

    static var stderrIsTerminal: Bool { isatty(2) == 1 }
}

/// The live one-line status on stderr: elapsed, remaining, IOPS and bandwidth of the last second.
final class StatusLine: @unchecked Sendable {
    let total: Double
    var lastIOs: UInt64 = 0
    var lastBytes: UInt64 = 0
    var lastTime = 0.0
    var shown = false

    init(totalSeconds: Double) { total = totalSeconds }

    func tick(elapsed: Double, progress: [JobProgress]) {
        let ios = progress.reduce(0) { $0 + $1.ios.load(ordering: .relaxed) }
        let bytes = progress.reduce(0) { $0 + $1.bytes.load(ordering: .relaxed) }
        let dt = max(elapsed - lastTime, 1e-3)
        let iops = Double(ios &- lastIOs) / dt
        let bw = Double(bytes &- lastBytes) / dt
        lastIOs = ios; lastBytes = bytes; lastTime = elapsed
        var line = "[\(formatDecimal(elapsed, places: 0))s"
        if total > 0 { line += " of \(formatDecimal(total, places: 0))s, \(formatDecimal(max(total - elapsed, 0), places: 0))s left" }
        line += "] IOPS=\(iopsText(iops)) BW=\(ByteSize.format(bw))/s"
        Output.stderr("\r\u{1B}[K" + line)
        shown = true
    }

    func finish() {
        if shown { Output.stderr("\r\u{1B}[K") }
    }

    func iopsText(_ v: Double) -> String {
        v >= 10_000 ? formatDecimal(v / 1000, places: 1) + "k" : formatDecimal(v, places: 0)
    }
}
