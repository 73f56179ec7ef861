import WritePathEngine
import WritePathResult

/// A short human summary in fio's spirit.
public enum TextFormat {
    public static func render(_ document: ResultDocument) -> String {
        var out = ""
        let h = document.host
        out +=
            "writepath \(document.writepath.version) (\(document.writepath.git_commit.prefix(12))) on \(h.hostname): Linux "
            + "\(h.kernel), \(h.cores) cores, \(ByteSize.format(h.memory_bytes)) RAM"
        if let v = h.virtualization, v.kind == "vm" { out += ", on \(v.phrase)" }
        out += "\n"
        for run in document.runs { out += render(run) }
        return printableLines(out)
    }

    public static func render(_ run: RunResult) -> String {
        let w = run.workload
        var out = "\n"
        let layer = run.layer.name == "host" ? "" : " [\(run.layer.name)]"
        let target = run.target.map { "\(printable($0.path)) (\($0.filesystem ?? $0.kind))" } ?? "-"
        out +=
            "\(printable(w.name))\(printable(layer)): rw=\(w.rw.rawValue) bs=\(ByteSize.format(w.bs)) iodepth=\(w.iodepth) "
            + "numjobs=\(w.numjobs) ioengine=\(w.ioengine.rawValue) direct=\(w.direct ? 1 : 0) rep=\(run.rep) -> \(target)\n"
        if let d = run.write { out += direction("write", d) }
        if let d = run.read { out += direction("read", d) }
        if let f = run.flush {
            out +=
                "  flush: ios=\(f.ios) errors=\(f.errors) lat (usec): p50=\(us(f.lat_ns.p50)) p99=\(us(f.lat_ns.p99)) "
                + "max=\(us(f.lat_ns.max))\n"
        }
        let c = run.cpu
        out +=
            "  cpu: usr=\(formatDecimal(c.user_s, places: 2))s sys=\(formatDecimal(c.sys_s, places: 2))s "
            + "ctx=\(c.ctx_voluntary)/\(c.ctx_involuntary) cpu/io=\(formatDecimal(c.cpu_ns_per_io, places: 0))ns (process "
            + "\(formatDecimal(c.process_cpu_ns_per_io, places: 0))ns)\n"
        if let levels = run.iodepth_level {
            out += "  IO depths: " + IODepthText.line(levels) + "\n"
        }
        out += "  engine: \(run.engine.name) [\(run.engine.features.joined(separator: ", "))]\n"
        if let d = run.target?.direct_io, !d.note.isEmpty { out += "  direct I/O: \(d.note)\n" }
        if let v = run.verify { out += "  verify: \(VerifyText.line(v))\n" }
        if let d = run.durability { out += "  durability: \(d.verdict): \(d.evidence)\n" }
        for warning in run.warnings { out += "  warning: \(printable(warning))\n" }
        if run.status != .ok { out += "  FAILED: \(printable(run.error ?? "unknown error"))\n" }
        return printableLines(out)
    }

    static func direction(_ name: String, _ d: DirectionResult) -> String {
        var out =
            "  \(name): IOPS=\(formatSI(d.iops)) BW=\(ByteSize.format(d.bw_bytes_per_s))/s ios=\(d.ios) "
            + "bytes=\(ByteSize.format(d.bytes)) runtime=\(formatDecimal(d.runtime_s, places: 2))s"
        if d.errors > 0 { out += " errors=\(d.errors)" }
        out += "\n"
        let l = d.lat_ns
        out +=
            "    lat (usec): min=\(us(l.min)) mean=\(formatDecimal(l.mean / 1000, places: 2)) "
            + "stddev=\(formatDecimal(l.stddev / 1000, places: 2)) max=\(us(l.max))\n"
        out += "    lat (usec): p50=\(us(l.p50)) p90=\(us(l.p90)) p99=\(us(l.p99)) p99.9=\(us(l.p99_9)) p99.99=\(us(l.p99_99))\n"
        return out
    }

    /// Nanoseconds as microseconds with two decimals.
    static func us(_ ns: UInt64) -> String { formatDecimal(Double(ns) / 1000, places: 2) }

}

/// fio's "IO depths" line: `1=0.1% 2=0.2% ... 32=99.7% >=64=0.0%`.
public enum IODepthText {
    public static func line(_ levels: [String: Double]) -> String {
        IODepthLevels.names.map { "\($0)=\(formatDecimal(levels[$0] ?? 0, places: 1))%" }.joined(separator: " ")
    }
}

/// One line for a verify verdict.
public enum VerifyText {
    public static func line(_ v: VerifyResult) -> String {
        var out =
            "\(v.verdict) (\(v.method)): \(v.blocks) blocks, \(v.good) good, \(v.unwritten) unwritten, \(v.stale) stale, \(v.torn) "
            + "torn, \(v.misplaced) misplaced, \(v.missing) missing"
        if let f = v.findings.first { out += "; first: offset \(f.offset) \(f.kind): \(f.detail)" }
        return out
    }
}

extension TextFormat {
    /// fio's `group_reporting`: for each group in `reporting`, the sums over its jobs (IOPS and
    /// bandwidth summed; latency percentiles from the merged histograms, in microseconds). Empty
    /// when no group is reported.
    public static func groupSums(_ document: ResultDocument, reporting: Set<Int>) -> String {
        var out = ""
        for group in reporting.sorted() {
            let runs = document.runs.filter { $0.group == group && $0.status == .ok }
            guard !runs.isEmpty else { continue }
            out += "\ngroup \(group) (\(runs.map(\.workload.name).joined(separator: ", "))):\n"
            for (name, pick) in [("write", { (r: RunResult) in r.write }), ("read", { (r: RunResult) in r.read })] {
                let ds = runs.compactMap(pick)
                guard !ds.isEmpty else { continue }
                var merged = LatencyHistogram()
                for d in ds { if let h = try? LatencyHistogram(encoded: d.histogram) { merged.add(h) } }
                let iops = ds.reduce(0) { $0 + $1.iops }, bw = ds.reduce(0) { $0 + $1.bw_bytes_per_s }
                let ios = ds.reduce(UInt64(0)) { $0 + $1.ios }
                out += "  \(name): IOPS=\(formatSI(iops)) BW=\(ByteSize.format(bw))/s ios=\(ios)"
                out += " lat (usec): p50=\(us(merged.value(atPercentile: 50))) p99=\(us(merged.value(atPercentile: 99)))\n"
            }
        }
        return out
    }
}
