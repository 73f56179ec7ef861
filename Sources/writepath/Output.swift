import Foundation
import WritePathEngine
import WritePathRunner

#if canImport(Glibc)
    import Glibc
#endif

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

/// The status of a running workload on stderr: on a terminal one line rewritten in place every
/// second; with `--status-interval N` (fio's option) also a full line every N seconds, terminal
/// or not (CI logs), so stdout stays clean for JSON. Each line has the elapsed time, the time
/// left and the ETA (wall clock, UTC), the IOPS and bandwidth since the last line, and the IOPS
/// over the whole run so far.
final class StatusLine: @unchecked Sendable {
    /// Seconds the phase runs (runtime plus ramp); 0 when it runs until `totalBytes` are written.
    let total: Double
    /// Bytes the phase writes when it is not time based (size × numjobs), else 0.
    let totalBytes: UInt64
    /// Seconds between two full status lines; nil: only the terminal line.
    let interval: Double?
    /// Whether stderr is a terminal (the in-place line).
    let terminal: Bool
    /// The jobs the line is about.
    let label: String
    var lastIOs: UInt64 = 0
    var lastBytes: UInt64 = 0
    var lastTime = 0.0
    var lastLine = 0.0
    var linesIOs: UInt64 = 0
    var linesBytes: UInt64 = 0
    var shown = false

    init(totalSeconds: Double, totalBytes: UInt64 = 0, interval: Double? = nil, terminal: Bool = true, label: String = "") {
        total = totalSeconds
        self.totalBytes = totalBytes
        self.interval = interval
        self.terminal = terminal
        self.label = label
    }

    func tick(elapsed: Double, progress: [JobProgress]) {
        let ios = progress.reduce(0) { $0 + $1.ios.load(ordering: .relaxed) }
        let bytes = progress.reduce(0) { $0 + $1.bytes.load(ordering: .relaxed) }
        let dt = max(elapsed - lastTime, 1e-3)
        let iops = Double(ios &- lastIOs) / dt
        let bw = Double(bytes &- lastBytes) / dt
        lastIOs = ios; lastBytes = bytes; lastTime = elapsed
        let left = Self.secondsLeft(elapsed: elapsed, total: total, bytes: bytes, totalBytes: totalBytes)
        if terminal {
            Output.stderr("\r\u{1B}[K" + Self.line(elapsed: elapsed, total: total, left: left, iops: iops, bw: bw, averageIOPS: nil))
            shown = true
        }
        // Within half a tick of the interval: ticks come about once a second.
        if let interval, elapsed - lastLine >= interval - 0.5 {
            let span = max(elapsed - lastLine, 1e-3)
            let line = Self.line(
                elapsed: elapsed, total: total, left: left, iops: Double(ios &- linesIOs) / span,
                bw: Double(bytes &- linesBytes) / span, averageIOPS: elapsed > 0 ? Double(ios) / elapsed : nil)
            Output.stderr((terminal ? "\r\u{1B}[K" : "") + (label.isEmpty ? "" : "\(label): ") + line + "\n")
            lastLine = elapsed; linesIOs = ios; linesBytes = bytes
        }
    }

    func finish() {
        if shown { Output.stderr("\r\u{1B}[K") }
    }

    /// Seconds left: of the runtime when time based, else from the bytes left at the rate so far;
    /// nil when neither is known yet.
    static func secondsLeft(elapsed: Double, total: Double, bytes: UInt64, totalBytes: UInt64) -> Double? {
        if total > 0 { return max(total - elapsed, 0) }
        guard totalBytes > 0, bytes > 0, elapsed > 0 else { return nil }
        return Double(totalBytes &- min(bytes, totalBytes)) / (Double(bytes) / elapsed)
    }

    /// `[12s of 30s, 18s left, ETA 09:20:01 UTC] IOPS=110.2k BW=430.5MiB/s (avg IOPS=108.9k)`.
    static func line(
        elapsed: Double, total: Double, left: Double?, iops: Double, bw: Double, averageIOPS: Double?,
        now: Date = Date()
    ) -> String {
        var line = "[\(formatDecimal(elapsed, places: 0))s"
        if total > 0 { line += " of \(formatDecimal(total, places: 0))s" }
        if let left {
            line += ", \(formatDecimal(left, places: 0))s left, ETA \(eta(now.addingTimeInterval(left)))"
        }
        line += "] IOPS=\(iopsText(iops)) BW=\(ByteSize.format(bw))/s"
        if let averageIOPS { line += " (avg IOPS=\(iopsText(averageIOPS)))" }
        return line
    }

    /// `09:20:01 UTC`.
    static func eta(_ date: Date) -> String {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "UTC")
        f.dateFormat = "HH:mm:ss"
        return f.string(from: date) + " UTC"
    }

    static func iopsText(_ v: Double) -> String {
        v >= 10_000 ? formatDecimal(v / 1000, places: 1) + "k" : formatDecimal(v, places: 0)
    }
}
