import Foundation
import WritePathEngine
import WritePathResult

/// One CSV row per run with every setting and metric. The header is stable: columns are only
/// ever added at the end. Latencies are nanoseconds, bandwidth bytes per second, CPU seconds.
/// `layer_settings` is one JSON object (keys sorted, values strings) in one quoted cell, so values
/// with spaces, commas or `=` survive; the last columns say where a row came from (`host`,
/// `kernel`, `started_at` in UTC ISO 8601, `writepath_commit`), so stacked runs stay apart.
public enum CSVFormat {
    static let latencyFields = ["min", "mean", "stddev", "p50", "p90", "p99", "p99_9", "p99_99", "max"]

    /// The header row's column names.
    public static var columns: [String] {
        var c = [
            "layer", "workload", "rep", "status", "ioengine", "rw", "rwmixwrite", "bs", "iodepth", "numjobs",
            "size", "offset", "direct", "sync", "runtime", "time_based", "ramp_time", "rate_iops", "fsync",
            "fdatasync", "random_distribution", "buffer_pattern", "seed", "target", "filesystem",
        ]
        for d in ["write", "read"] {
            c += ["\(d)_ios", "\(d)_bytes", "\(d)_iops", "\(d)_bw_bytes_per_s", "\(d)_runtime_s", "\(d)_errors"]
            c += latencyFields.map { "\(d)_lat_\($0)_ns" }
        }
        c += [
            "flush_ios", "flush_lat_p50_ns", "flush_lat_p99_ns", "cpu_user_s", "cpu_sys_s", "ctx_voluntary",
            "ctx_involuntary", "cpu_ns_per_io", "process_cpu_ns_per_io", "direct_bypassed_page_cache",
            "engine_features", "layer_settings", "error", "verify_verdict", "verify_bad_blocks",
        ]
        c += provenanceColumns
        return c
    }

    /// Where a row came from: the host's name and kernel, when the run started (UTC ISO 8601), the
    /// writepath commit that measured it.
    public static let provenanceColumns = ["host", "kernel", "started_at", "writepath_commit"]

    public static func render(_ document: ResultDocument) -> String {
        var out = columns.joined(separator: ",") + "\n"
        for run in document.runs { out += row(run, in: document).map(escape).joined(separator: ",") + "\n" }
        return out
    }

    /// `layer_settings` as one JSON object with sorted keys: `{"cpus":"1","storage":"bind mount"}`.
    public static func settingsJSON(_ settings: [String: String]) -> String {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? e.encode(settings)).flatMap { String(data: $0, encoding: .utf8) } ?? "{}"
    }

    /// The row of `r`, a run of `document`.
    static func row(_ r: RunResult, in document: ResultDocument) -> [String] {
        row(r) + [document.host.hostname, document.host.kernel, r.started_at, document.writepath.git_commit]
    }

    static func row(_ r: RunResult) -> [String] {
        let w = r.workload
        var v: [String] = [
            r.layer.name, w.name, "\(r.rep)", r.status.description, w.ioengine.rawValue, w.rw.rawValue, "\(w.rwmixwrite)",
            "\(w.bs)", "\(w.iodepth)", "\(w.numjobs)", w.size.map { "\($0)" } ?? "", "\(w.offset)",
            w.direct ? "1" : "0", w.sync ? "1" : "0", "\(w.runtime)", w.time_based ? "1" : "0",
            "\(w.ramp_time)", "\(w.rate_iops)", "\(w.fsync)", "\(w.fdatasync)",
            w.random_distribution.description, w.buffer_pattern.rawValue, "\(w.seed)",
            r.target?.path ?? "", r.target?.filesystem ?? "",
        ]
        for d in [r.write, r.read] {
            if let d {
                v += ["\(d.ios)", "\(d.bytes)", num(d.iops), num(d.bw_bytes_per_s), num(d.runtime_s), "\(d.errors)"]
                let l = d.lat_ns
                v += ["\(l.min)", num(l.mean), num(l.stddev), "\(l.p50)", "\(l.p90)", "\(l.p99)", "\(l.p99_9)", "\(l.p99_99)", "\(l.max)"]
            } else {
                v += Array(repeating: "", count: 6 + latencyFields.count)
            }
        }
        v += [r.flush.map { "\($0.ios)" } ?? "", r.flush.map { "\($0.lat_ns.p50)" } ?? "", r.flush.map { "\($0.lat_ns.p99)" } ?? ""]
        let c = r.cpu
        v += [
            num(c.user_s), num(c.sys_s), "\(c.ctx_voluntary)", "\(c.ctx_involuntary)", num(c.cpu_ns_per_io), num(c.process_cpu_ns_per_io),
        ]
        v += [
            r.target?.direct_io?.bypassed_page_cache.map { $0 ? "1" : "0" } ?? "",
            r.engine.features.joined(separator: " "),
            settingsJSON(r.layer.settings),
            r.error ?? "", r.verify?.verdict ?? "", r.verify.map { "\($0.bad)" } ?? "",
        ]
        return v
    }

    static func num(_ d: Double) -> String { formatDecimal(d, places: 3) }

    /// Quotes a field when it holds a comma, quote or newline (RFC 4180). A cell that a spreadsheet
    /// would take for a formula (starting with `=`, `+`, `-`, `@`, tab or carriage return) and is
    /// not a plain number gets a leading `'`, as OWASP's "CSV Injection" advises.
    public static func escape(_ s: String) -> String {
        var s = s
        if let first = s.unicodeScalars.first, "=+-@\t\r".unicodeScalars.contains(first), Double(s) == nil {
            s = "'" + s
        }
        guard s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return s }
        return "\"" + s.replacingAll("\"", "\"\"") + "\""
    }
}

extension String {
    func replacingAll(_ a: Character, _ b: String) -> String {
        var out = ""
        for c in self { if c == a { out += b } else { out.append(c) } }
        return out
    }
}
