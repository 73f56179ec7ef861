import WritePathEngine
import WritePathResult

/// Whether writepath's engine and fio see the same cost of a layer.
public enum CrossCheckVerdict: String, Sendable {
    /// The two IOPS-ratio intervals overlap.
    case agree
    /// They do not: one engine sees a layer cost the other does not.
    case disagree
    /// At least one side has no interval (fewer than two ok repetitions of it or its baseline).
    case tooNoisy = "too noisy to tell"
    /// One engine has no ratio at all (no ok runs in the layer or the baseline).
    case missing = "no ratio"
}

/// One layer × workload of the cross-check: the layer's IOPS ratio to the baseline layer as
/// writepath's engine measured it and as fio measured it, each with its 95% interval.
public struct CrossCheckRow: Sendable {
    public var layer: String
    /// The workload's name (the same for both engines).
    public var workload: String
    /// From `Aggregation`'s ratio of medians (`LayerWorkloadAggregate.iopsRatio`).
    public var writepath: Ratio?
    public var fio: Ratio?
    /// Ok repetitions of each engine in this layer.
    public var writepathRuns: Int
    public var fioRuns: Int
    public var verdict: CrossCheckVerdict
}

/// The cross-check of a matrix run with both engines (`engines: [writepath, fio]`): per workload,
/// each non-baseline layer's IOPS ratio by writepath and by fio, and a verdict.
public enum CrossCheck {
    /// The rows of every workload that has runs of both engines, in the aggregation's order.
    public static func rows(_ a: Aggregation) -> [CrossCheckRow] {
        let base = a.options.baselineLayer
        var out: [CrossCheckRow] = []
        for w in a.rows where w.workload.engine == .writepath && w.layer != base {
            guard let f = a.rows.first(where: { $0.layer == w.layer && $0.workload.name == w.workload.name && $0.workload.engine == .fio })
            else { continue }
            out.append(
                CrossCheckRow(
                    layer: w.layer, workload: w.workload.name, writepath: w.iopsRatio, fio: f.iopsRatio,
                    writepathRuns: w.okRuns.count, fioRuns: f.okRuns.count,
                    verdict: verdict(w.iopsRatio, f.iopsRatio)))
        }
        return out
    }

    /// agree when both intervals overlap, disagree when they do not, too noisy without both.
    public static func verdict(_ writepath: Ratio?, _ fio: Ratio?) -> CrossCheckVerdict {
        guard let writepath, let fio else { return .missing }
        guard let wl = writepath.low, let wh = writepath.high, let fl = fio.low, let fh = fio.high else { return .tooNoisy }
        return wl <= fh && fl <= wh ? .agree : .disagree
    }

    /// The text table: one line per layer × workload, or "" without rows of both engines.
    public static func renderText(_ a: Aggregation) -> String {
        let rows = rows(a)
        guard !rows.isEmpty else { return "" }
        let base = a.options.baselineLayer
        let header = ["layer / workload", "writepath IOPS vs \(base) [95% CI]", "fio IOPS vs \(base) [95% CI]", "n wp/fio", "verdict"]
        var lines = [header]
        for r in rows {
            lines.append([
                "\(r.layer) / \(r.workload)", r.writepath.map(TextReport.ratio) ?? "-", r.fio.map(TextReport.ratio) ?? "-",
                "\(r.writepathRuns)/\(r.fioRuns)", r.verdict.rawValue,
            ])
        }
        let widths = header.indices.map { i in lines.map { $0[i].count }.max() ?? 0 }
        var out = "\ncross-check: each layer's IOPS ratio to \(base) as writepath's engine and as fio measured it\n"
        for line in lines {
            out +=
                line.indices.map { i in
                    let pad = String(repeating: " ", count: widths[i] - line[i].count)
                    return i == 0 ? line[i] + pad : pad + line[i]
                }.joined(separator: "  ") + "\n"
        }
        return out
    }

    /// The HTML section (`id="crosscheck"`), or "" without rows of both engines.
    static func renderHTML(_ a: Aggregation, escape: (String) -> String) -> String {
        let rows = rows(a)
        guard !rows.isEmpty else { return "" }
        let base = escape(a.options.baselineLayer)
        var out = "<section id=\"crosscheck\"><h2>Cross-check with fio</h2>\n"
        out += "<p class=\"meta\">Each layer's IOPS ratio to \(base) as writepath's engine measured it and as fio measured it in the "
        out += "same matrix, with 95% bootstrap intervals. <b>agree</b>: the intervals overlap; <b>disagree</b>: they do not (one "
        out += "engine sees a layer cost the other does not); <b>too noisy to tell</b>: a side has fewer than two ok repetitions.</p>\n"
        out +=
            "<div class=\"scroll\"><table>\n<caption>Each layer against the baseline as each engine measured it</caption>\n<thead>"
            + "<tr><th scope=\"col\" class=\"l\">layer</th><th scope=\"col\" class=\"l\">workload</th>"
        out +=
            "<th scope=\"col\">writepath vs \(base)</th><th scope=\"col\">95% CI</th><th scope=\"col\">fio vs \(base)</th>"
            + "<th scope=\"col\">95% CI</th><th scope=\"col\">n wp/fio</th>"
        out += "<th scope=\"col\" class=\"l\">verdict</th></tr></thead>\n<tbody>\n"
        func cells(_ r: Ratio?) -> String {
            guard let r else { return "<td>–</td><td class=\"ci\"></td>" }
            var ci = ""
            if let lo = r.low, let hi = r.high { ci = "\(formatDecimal(lo, places: 2))–\(formatDecimal(hi, places: 2))" }
            return "<td>\(formatDecimal(r.point, places: 2))x</td><td class=\"ci\">\(ci)</td>"
        }
        for r in rows {
            let mark = r.verdict == .disagree ? "<b>\(r.verdict.rawValue)</b>" : r.verdict.rawValue
            out += "<tr><td class=\"l\">\(escape(r.layer))</td><td class=\"l\">\(escape(r.workload))</td>"
            out += cells(r.writepath) + cells(r.fio)
            out += "<td>\(r.writepathRuns)/\(r.fioRuns)</td><td class=\"l\">\(mark)</td></tr>\n"
        }
        out += "</tbody></table></div></section>\n"
        return out
    }
}
