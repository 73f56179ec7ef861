import WritePathEngine
import WritePathResult

extension HTMLReport {
    /// The page's headline, "What each write path costs": per workload, each layer's IOPS and p99
    /// against the baseline layer with the 95% interval printed (or "n too small"), the added p50
    /// and p99 latency in microseconds, sorted by cost, the verdict in words; references that are
    /// not write paths to a disk (tmpfs, fio imports) in their own group below.
    static func costSection(_ a: Aggregation, color: LayerStyles) -> String {
        let base = html(a.options.baselineLayer)
        var out = "<section id=\"cost\"><h2>What each write path costs</h2>\n"
        out += "<p class=\"meta\">Each layer against <b>\(base)</b> on the same workload: IOPS and p99 latency as ratios "
        out += "(1.00x = the same; IOPS below 1 and p99 above 1 cost), with 95% intervals in brackets (below "
        out += "\(LogContrast.minimumRepetitions) ok repetitions a side: n too small, no interval), and the latency each adds "
        out += "(merged histograms, µs). Most costly first.</p>\n"
        for (workload, baseline, costs) in WritePathCost.table(a) where !costs.isEmpty {
            let w = (baseline ?? a.rows.first { $0.workloadIdentity == workload }!).workload
            var caption = "<code>\(html(workload))</code> (\(w.rw.rawValue) \(ByteSize.format(w.bs)) iodepth \(w.iodepth)): against \(base)"
            if let b = baseline, let iops = b.estimates[.iops], let m = b.merged, m.count > 0 {
                caption += " at \(formatSI(iops.median)) IOPS, p50 \(TextReport.us(Double(m.value(atPercentile: 50)))) µs, "
                caption += "p99 \(TextReport.us(Double(m.value(atPercentile: 99)))) µs"
            } else if baseline == nil {
                caption += ": not in these results, so no comparison"
            }
            out += "<div class=\"scroll\"><table>\n<caption>\(caption)</caption>\n<thead><tr><th scope=\"col\" class=\"l\">layer</th>"
            out += ["IOPS", "IOPS vs \(base) [95% CI]", "p99 vs \(base) [95% CI]", "added p50", "added p99"]
                .map { "<th scope=\"col\">\($0)</th>" }.joined()
            out += "<th scope=\"col\" class=\"l\">verdict</th></tr></thead>\n"
            let paths = costs.filter { !$0.isReference }, refs = costs.filter(\.isReference)
            for (group, rows) in [("", paths), ("refs", refs)] where !rows.isEmpty {
                out +=
                    group.isEmpty
                    ? "<tbody>\n"
                    : "<tbody class=\"refs\">\n<tr><th scope=\"rowgroup\" colspan=\"7\" class=\"group\">"
                        + "References, not write paths to a disk (memory or imported numbers): on their own scale in the charts</th></tr>\n"
                for c in rows {
                    out += "<tr><th scope=\"row\" class=\"l\">\(color.key(c.layer)) \(html(c.layer))</th>"
                    out += "<td>\(c.iops.map(formatSI) ?? "–")</td>"
                    out += "<td>\(html(WritePathCost.ratioText(c.iopsRatio)))</td><td>\(html(WritePathCost.ratioText(c.p99Ratio)))</td>"
                    out +=
                        "<td>\(html(WritePathCost.addedText(c.addedP50Nanoseconds)))</td>"
                        + "<td>\(html(WritePathCost.addedText(c.addedP99Nanoseconds)))</td>"
                    out += "<td class=\"v\">\(html(c.verdict))</td></tr>\n"
                }
                out += "</tbody>\n"
            }
            out += "</table></div>\n"
        }
        return out + "</section>\n"
    }
}
