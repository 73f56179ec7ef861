import WritePathEngine
import WritePathResult

/// Markdown for a CI job summary (`$GITHUB_STEP_SUMMARY`): the aggregated table with verdict
/// lines (`summary.md`), and a comparison's verdicts (`writepath compare --markdown`).
public enum MarkdownReport {
    /// The most columns a `summary.md` table has: a job summary (GitHub's is about 900 px wide)
    /// shows six short columns without wrapping a cell.
    public static let maximumColumns = 6

    /// `summary.md`, sized for a CI job summary: the headline "what each write path costs" (one
    /// small table per workload: IOPS, ratios to the baseline with their 95% intervals or
    /// "n too small", added p99, a short verdict), one line per layer against the baseline, and the
    /// full numbers split into tables of at most `maximumColumns` columns inside `<details>`.
    public static func render(_ a: Aggregation) -> String {
        let base = cell(a.options.baselineLayer)
        var out = "## writepath report\n\n"
        if let h = a.hosts.first {
            out += "\(cell(h.hostname)): Linux \(cell(h.kernel)), \(cell(h.cpu)), \(h.cores) cores, \(ByteSize.format(h.memory_bytes)) RAM"
            if let p = a.provenance { out += "; writepath \(cell(p.version)) (\(cell(String(p.git_commit.prefix(12)))))" }
            out += "\n\n"
        }
        out += "### What each write path costs\n\n"
        for (workload, baseline, costs) in WritePathCost.table(a) where !costs.isEmpty {
            out += "**\(cell(workload))** against \(base)"
            if let b = baseline, let iops = b.estimates[.iops] {
                out +=
                    " (\(formatSI(iops.median)) IOPS"
                    + (b.merged.flatMap { $0.count > 0 ? $0 : nil }.map {
                        ", p99 \(TextReport.us(Double($0.value(atPercentile: 99)))) us"
                    } ?? "") + ")"
            } else if baseline == nil {
                out += ": the baseline is not in these results"
            }
            out += "\n\n| layer | IOPS | IOPS vs \(base) | p99 vs \(base) | added p99 | verdict |\n|---|---:|---:|---:|---:|---|\n"
            for c in costs {
                out +=
                    "| "
                    + [
                        cell(c.layer), c.iops.map(formatSI) ?? "-", WritePathCost.ratioText(c.iopsRatio),
                        WritePathCost.ratioText(c.p99Ratio), WritePathCost.addedText(c.addedP99Nanoseconds), shortVerdict(c),
                    ]
                    .joined(separator: " | ") + " |\n"
            }
            out += "\n"
        }
        let verdicts = verdictLines(a)
        if !verdicts.isEmpty {
            out += "### Against \(base)\n\n"
            for v in verdicts { out += "- \(v)\n" }
            out += "\n"
        }
        out += "<details><summary>All numbers (\(a.rows.count) layer × workload rows)</summary>\n\n"
        out += "| layer / workload | ok/runs | IOPS [95% CI] | BW/s | CPU ns/IO |\n|---|---:|---:|---:|---:|\n"
        for r in a.rows {
            out +=
                "| "
                + [
                    cell(r.label) + (r.handRun == nil ? "" : " (hand-run)"), "\(r.okRuns.count)/\(r.runs.count)",
                    r.estimates[.iops].map { TextReport.withInterval($0, formatSI) } ?? "-",
                    r.estimates[.bw].map { ByteSize.format($0.median) } ?? "-",
                    r.estimates[.cpuPerIO].map { formatDecimal($0.median, places: 0) } ?? "-",
                ].joined(separator: " | ") + " |\n"
        }
        out += "\n| layer / workload | p50 us | p99 us | p99.9 us | added p50 |\n|---|---:|---:|---:|---:|\n"
        for r in a.rows {
            let s = r.merged.flatMap { $0.count > 0 ? $0.summary : nil }
            var cols = [cell(r.label)]
            for v: UInt64? in [s?.p50, s?.p99, s?.p99_9] { cols.append(v.map { TextReport.us(Double($0)) } ?? "-") }
            cols.append(r.layer == a.options.baselineLayer ? "baseline" : WritePathCost.addedText(r.addedP50Nanoseconds))
            out += "| " + cols.joined(separator: " | ") + " |\n"
        }
        out += "\nMedians over ok repetitions with 95% t intervals on log values (fewer than \(LogContrast.minimumRepetitions) ok "
        out += "repetitions: n too small); latency percentiles from the merged histograms of all ok repetitions.\n\n</details>\n"
        if !a.warnings.isEmpty {
            out += "\n<details><summary>Warnings (\(a.warnings.count))</summary>\n\n"
            for w in a.warnings { out += "- \(cell(w))\n" }
            out += "\n</details>\n"
        }
        return out
    }

    /// A verdict short enough for one table cell: `costs 12.0%`, `no measurable cost`, `n too small`.
    static func shortVerdict(_ c: WritePathCost) -> String {
        guard let r = c.iopsRatio else { return "no comparison" }
        if c.isReference { return "reference" }
        let pct = formatDecimal(abs(r.point - 1) * 100, places: 1)
        switch r.intervalIncludesOne {
        case nil: return "n too small"
        case true?: return "no measurable cost"
        case false?: return r.point < 1 ? "**costs \(pct)%**" : "\(pct)% faster"
        }
    }

    /// One sentence per non-baseline row: faster, slower or not distinguishable from the baseline.
    public static func verdictLines(_ a: Aggregation) -> [String] {
        var lines: [String] = []
        for r in a.rows where r.layer != a.options.baselineLayer {
            guard let ratio = r.iopsRatio else { continue }
            let pct = formatDecimal(abs(ratio.point - 1) * 100, places: 1)
            var line = "**\(cell(r.label))**: "
            switch ratio.intervalIncludesOne {
            case nil: line += "IOPS \(ratio.point >= 1 ? "+" : "-")\(pct)% (n too small for an interval)"
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
        out += "| layer | workload | metric | \(cell(c.sideNames.baseline)) | \(cell(c.sideNames.current)) | change [95% CI] | verdict |\n"
        out += "|---|---|---|---:|---:|---:|---|\n"
        for r in ordered {
            let verdict = r.verdict == .regressed ? "**regressed**" : r.verdict.rawValue
            out +=
                "| \(cell(r.layer)) | \(cell(r.workload)) | \(r.metric) | "
                + "\(r.baselineMedian.map { Comparison.format($0, metric: r.metric) } ?? "-") | "
            out +=
                "\(r.currentMedian.map { Comparison.format($0, metric: r.metric) } ?? "-") | \(Comparison.formatChange(r)) | \(verdict) |\n"
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
