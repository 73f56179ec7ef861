import WritePathEngine

/// Markdown for a CI job summary (`$GITHUB_STEP_SUMMARY`): the aggregated table with verdict
/// lines (`summary.md`), and a comparison's verdicts (`writepath compare --markdown`).
public enum MarkdownReport {
    /// `summary.md`: medians with 95% intervals, merged-histogram percentiles (us), ratios to the
    /// baseline layer, then one line per layer saying whether it differs from the baseline, then warnings.
    public static func render(_ a: Aggregation) -> String {
        let base = a.options.baselineLayer
        var out = "## writepath report\n\n"
        if let h = a.hosts.first {
            out += "\(cell(h.hostname)): Linux \(cell(h.kernel)), \(cell(h.cpu)), \(h.cores) cores, \(ByteSize.format(h.memory_bytes)) RAM"
            if let p = a.provenance { out += "; writepath \(cell(p.version)) (\(cell(String(p.git_commit.prefix(12)))))" }
            out += "\n\n"
        }
        out += "| layer | workload | ok/runs | IOPS [95% CI] | BW/s | p50 us | p99 us | p99.9 us | CPU ns/IO | IOPS vs \(cell(base)) | p50 vs \(cell(base)) |\n"
        out += "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n"
        for r in a.rows {
            let s = r.merged.flatMap { $0.count > 0 ? $0.summary : nil }
            let isBase = r.layer == base
            var cols: [String] = [cell(r.layer) + (r.handRun == nil ? "" : " (hand-run)"), cell(r.workloadIdentity),
                                  "\(r.okRuns.count)/\(r.runs.count)"]
            cols.append(r.estimates[.iops].map { TextReport.withInterval($0, TextFormat.si) } ?? "-")
            cols.append(r.estimates[.bw].map { ByteSize.format($0.median) } ?? "-")
            for v: UInt64? in [s?.p50, s?.p99, s?.p99_9] { cols.append(v.map { TextReport.us(Double($0)) } ?? "-") }
            cols.append(r.estimates[.cpuPerIO].map { formatDecimal($0.median, places: 0) } ?? "-")
            for ratio: Ratio? in [r.iopsRatio, r.p50Ratio] { cols.append(isBase ? "baseline" : (ratio.map(TextReport.ratio) ?? "-")) }
            out += "| " + cols.joined(separator: " | ") + " |\n"
        }
        let verdicts = verdictLines(a)
        if !verdicts.isEmpty {
            out += "\n### Against \(cell(base))\n\n"
            for v in verdicts { out += "- \(v)\n" }
        }
        if !a.warnings.isEmpty {
            out += "\n### Warnings\n\n"
            for w in a.warnings { out += "- \(cell(w))\n" }
        }
        out += "\nMedians over ok repetitions with 95% bootstrap intervals; latency percentiles from the merged histograms of all ok repetitions.\n"
        return out
    }

    /// One sentence per non-baseline row: faster, slower or not distinguishable from the baseline.
    public static func verdictLines(_ a: Aggregation) -> [String] {
        var lines: [String] = []
        for r in a.rows where r.layer != a.options.baselineLayer {
            guard let ratio = r.iopsRatio else { continue }
            let pct = formatDecimal(abs(ratio.point - 1) * 100, places: 1)
            var line = "**\(cell(r.label))**: "
            switch ratio.intervalIncludesOne {
            case nil: line += "IOPS \(ratio.point >= 1 ? "+" : "-")\(pct)% (one repetition, no interval)"
            case true?: line += "IOPS not distinguishable from \(cell(a.options.baselineLayer)) (\(TextReport.ratio(ratio)))"
            case false?: line += "IOPS \(ratio.point >= 1 ? "higher" : "lower") by \(pct)% (\(TextReport.ratio(ratio)))"
            }
            if let added = r.addedP50Nanoseconds {
                line += ", p50 \(added >= 0 ? "+" : "")\(TextReport.us(added)) us"
            }
            lines.append(line)
        }
        return lines
    }

    /// A comparison as Markdown: the verdict, regressions first, then every row and the notes.
    public static func render(_ c: Comparison) -> String {
        var out = "## writepath compare: \(c.regressions.isEmpty ? "no regression" : "\(c.regressions.count) regressed")\n\n"
        out += CompareTextFormat.summary(c) + "\n\n"
        let ordered = c.rows.filter { $0.verdict == .regressed } + c.rows.filter { $0.verdict != .regressed }
        out += "| layer | workload | metric | baseline | current | change [95% CI] | verdict |\n|---|---|---|---:|---:|---:|---|\n"
        for r in ordered {
            let verdict = r.verdict == .regressed ? "**regressed**" : r.verdict.rawValue
            out += "| \(cell(r.layer)) | \(cell(r.workload)) | \(r.metric) | \(r.baselineMedian.map { Comparison.format($0, metric: r.metric) } ?? "-") | "
            out += "\(r.currentMedian.map { Comparison.format($0, metric: r.metric) } ?? "-") | \(Comparison.formatChange(r)) | \(verdict) |\n"
        }
        if !c.notes.isEmpty {
            out += "\n### Notes\n\n"
            for n in c.notes { out += "- \(cell(n))\n" }
        }
        return out
    }

    /// Text safe inside a table cell: pipes escaped, newlines flattened, HTML brackets neutralised.
    static func cell(_ s: String) -> String {
        var out = ""
        for ch in s {
            switch ch {
            case "|": out += "\\|"
            case "\n", "\r": out += " "
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            default: out.append(ch)
            }
        }
        return out
    }
}
