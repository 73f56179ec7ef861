import WritePathEngine
import WritePathResult

/// The aggregated table on a terminal: one line per layer × workload, medians with 95% intervals,
/// latencies (microseconds) from the merged histograms, and the ratio to the baseline layer.
public enum TextReport {
    public static func render(_ a: Aggregation) -> String {
        // The baseline row says what the "host" is when it is itself a VM.
        let vm = a.hosts.lazy.compactMap(\.virtualization).first { $0.kind == "vm" }
        let baselineCell = vm.map { "baseline (\($0.product ?? $0.phrase))" } ?? "baseline"
        let header = [
            "layer / workload", "ok/runs", "IOPS [95% CI]", "BW/s", "p50 us", "p99 us", "p99.9 us", "CPU ns/IO",
            "IOPS vs \(a.options.baselineLayer)", "MDE",
        ]
        var lines = [header]
        for r in a.rows {
            let s = r.merged.flatMap { $0.count > 0 ? $0.summary : nil }
            lines.append([
                r.label + (r.handRun == nil ? "" : " [hand-run]"), "\(r.okRuns.count)/\(r.runs.count)",
                r.estimates[.iops].map { withInterval($0, formatSI) } ?? "-",
                r.estimates[.bw].map { ByteSize.format($0.median) } ?? "-",
                s.map { us(Double($0.p50)) } ?? "-", s.map { us(Double($0.p99)) } ?? "-", s.map { us(Double($0.p99_9)) } ?? "-",
                r.estimates[.cpuPerIO].map { formatDecimal($0.median, places: 0) } ?? "-",
                r.iopsRatio.map { ratio($0) } ?? (r.layer == a.options.baselineLayer ? baselineCell : "-"),
                r.iopsMinimumDetectableDrop.map { "-" + formatDecimal($0 * 100, places: 0) + "%" } ?? "-",
            ])
        }
        let widths = header.indices.map { i in lines.map { $0[i].count }.max() ?? 0 }
        var out = ""
        for line in lines {
            var text = ""
            for i in line.indices {
                let cell = line[i]
                let pad = String(repeating: " ", count: widths[i] - cell.count)
                text += i == 0 ? cell + pad : "  " + pad + cell
            }
            out += text + "\n"
        }
        let startup = StartupTimes.rows(a)
        if !startup.isEmpty {
            out += "\nstart-up and teardown (median [min, max]):\n"
            for s in startup {
                out += "  \(s.layer): \(s.kind == "boot_s" ? "boot" : "start-up") \(StartupTimes.summary(s.startup))"
                out += s.teardown.isEmpty ? "\n" : ", teardown \(StartupTimes.summary(s.teardown))\n"
            }
        }
        out += CrossCheck.renderText(a)
        out += HostSpread.renderText(a)
        if a.rows.contains(where: { $0.iopsMinimumDetectableDrop != nil }) {
            out += "MDE: the smallest drop of a layer's IOPS ratio to \(a.options.baselineLayer) that `compare` of two runs like this one"
            out += " catches 4 times in 5 (one-sided, alpha \(formatDecimal(a.options.alpha, places: 2)) over all rows × metrics)\n"
        }
        if !a.warnings.isEmpty {
            out += "\n"
            for w in a.warnings { out += "warning: \(w)\n" }
        }
        return printableLines(out)
    }

    /// `12.3k [11.9k, 12.6k]`, or `12.3k (n too small)` below the repetitions an interval needs.
    static func withInterval(_ e: Estimate, _ format: (Double) -> String) -> String {
        guard let lo = e.low, let hi = e.high else { return format(e.median) + (e.tooFewForInterval ? " (n too small)" : "") }
        return "\(format(e.median)) [\(format(lo)), \(format(hi))]"
    }

    /// `0.93x [0.90, 0.97]`.
    static func ratio(_ r: Ratio) -> String {
        var s = formatDecimal(r.point, places: 2) + "x"
        if let lo = r.low, let hi = r.high { s += " [\(formatDecimal(lo, places: 2)), \(formatDecimal(hi, places: 2))]" }
        return s
    }

    /// Nanoseconds as microseconds, 1 decimal (2 below 10 us).
    static func us(_ ns: Double) -> String { formatDecimal(ns / 1000, places: ns < 10_000 ? 2 : 1) }
}
