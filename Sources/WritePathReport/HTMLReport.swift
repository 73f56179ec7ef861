import Foundation
import WritePathEngine
import WritePathResult

/// `report.html`: one self-contained file (inline CSS and SVG, no script, no network) with the
/// aggregated table, per workload a throughput chart with 95% whiskers, latency percentile curves
/// from the merged histograms and the per-second series, a write-path diagram per layer annotated
/// with its added p50 latency, the environment, and the warnings. Every text is escaped. With sweep
/// results, a Capacity section (`HTMLReport+Capacity.swift`) shows the throughput-latency curves.
public enum HTMLReport {
    /// Okabe-Ito colours (distinguishable with colour-blindness), one per layer in row order; the
    /// two blues are far apart in the order, so the first layer (the baseline) and the sixth differ.
    static let palette = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#000000", "#56B4E9", "#7f7f7f"]
    /// SVG dash patterns, one per layer in row order (solid first), so lines differ without colour.
    static let dashes = ["", "8 3", "2 2.5", "10 3 2 3", "5 5", "1.5 4", "14 4 4 4", "6 2 1 2 1 2"]

    /// The page for `a`; with `capacity` (sweep results) also the Capacity section, and with `plan`
    /// the plan's table in it.
    public static func render(_ a: Aggregation, capacity: CapacityAnalysis? = nil, plan: CapacityPlan? = nil) -> String {
        var layers: [String] = []
        for r in a.rows where !layers.contains(r.layer) { layers.append(r.layer) }
        let color = LayerStyles(layers)
        var workloads: [String] = []
        for r in a.rows where !workloads.contains(r.workloadIdentity) { workloads.append(r.workloadIdentity) }

        var out = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        out += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
        out += "<title>writepath report\(a.hosts.first.map { " – " + html($0.hostname) } ?? "")</title>\n"
        out += "<style>\n\(css)</style>\n</head>\n<body>\n<main>\n"
        out += "<h1>writepath report</h1>\n"
        var parts: [String] = []
        if !a.rows.isEmpty {
            parts.append("\(a.rows.reduce(0) { $0 + $1.runs.count }) runs, \(layers.count) layers, \(workloads.count) workloads")
        }
        if let capacity {
            let steps = capacity.entries.reduce(0) { $0 + $1.curve.points.count }
            parts.append("\(capacity.entries.count) sweep curve\(capacity.entries.count == 1 ? "" : "s") (\(steps) steps)")
        }
        out += "<p class=\"meta\">\(parts.joined(separator: "; "))"
        if let h = a.hosts.first { out += " on <b>\(html(h.hostname))</b> (Linux \(html(h.kernel)), \(h.cores) cores)" }
        if !a.rows.isEmpty {
            out += "; baseline layer <b>\(html(a.options.baselineLayer))</b>"
            if let v = a.hosts.lazy.compactMap(\.virtualization).first(where: { $0.kind == "vm" }) {
                out += " (itself \(html(v.phrase)), not bare metal)"
            }
        }
        out += ".<br>From \(a.sourcePaths.map { "<code>\(html($0))</code>" }.joined(separator: ", ")).</p>\n"
        let hasRows = !a.rows.isEmpty
        let crossCheck = CrossCheck.renderHTML(a, escape: html)
        out +=
            "<nav>"
            + ((hasRows ? ["cost", "summary"] : []) + (crossCheck.isEmpty ? [] : ["crosscheck"]) + (capacity == nil ? [] : ["capacity"])
            + (a.warnings.isEmpty ? [] : ["warnings"])
            + (hasRows ? ["workloads", "paths"] : []) + ["environment"])
            .map { "<a href=\"#\($0)\">\($0)</a>" }.joined(separator: " · ") + "</nav>\n"
        if hasRows { out += costSection(a, color: color) + summaryTable(a, color: color) }
        out += crossCheck
        if let capacity { out += capacitySection(capacity, plan: plan) }
        if !a.warnings.isEmpty {
            out += "<section id=\"warnings\" class=\"warnings\"><h2>Warnings (\(a.warnings.count))</h2>\n<ul>\n"
            for w in a.warnings { out += "<li>\(html(w))</li>\n" }
            out += "</ul></section>\n"
        }
        out += "<section id=\"workloads\">\n"
        for name in workloads {
            let rows = a.rows.filter { $0.workloadIdentity == name }
            let w = rows[0].workload
            out += "<section class=\"workload\"><h2>Workload <code>\(html(name))</code></h2>\n"
            out +=
                "<p class=\"meta\">rw=\(w.rw.rawValue) bs=\(ByteSize.format(w.bs)) iodepth=\(w.iodepth) numjobs=\(w.numjobs) "
                + "ioengine=\(w.ioengine.rawValue) direct=\(w.direct ? 1 : 0)"
            out +=
                " runtime=\(formatDecimal(w.runtime, places: 1))s ramp=\(formatDecimal(w.ramp_time, places: 1))"
                + "s\(w.fdatasync > 0 ? " fdatasync=\(w.fdatasync)" : "")\(w.fsync > 0 ? " fsync=\(w.fsync)" : "")</p>\n"
            out += "<div class=\"charts\">\n"
            out += throughputChart(rows, color: color)
            out += latencyChart(rows, color: color)
            // References (tmpfs, fio imports) run about ten times faster: their own panel keeps the write paths readable.
            let refs = rows.filter(WritePathCost.isReference), paths = rows.filter { !WritePathCost.isReference($0) }
            out += seriesChart(paths.isEmpty ? rows : paths, color: color)
            if !paths.isEmpty && !refs.isEmpty {
                out += seriesChart(
                    refs, color: color, title: "IOPS per second of the references (not write paths to a disk), on their own scale")
            }
            out += "</div></section>\n"
        }
        out += "</section>\n"
        if hasRows { out += pathsSection(a, layers: layers, color: color) }
        out += environmentSection(a, layers: layers)
        out += "<footer><p>Medians over the ok repetitions of each layer × workload, with 95% t intervals on log values "
        out +=
            "(at least \(LogContrast.minimumRepetitions) repetitions; fewer: n too small, no interval). Latency percentiles (p50, "
            + "p99, p99.9 and the curves) come from the "
        out +=
            "merged HDR histograms of all ok repetitions, never from averaged percentiles. Ratios are of geometric means (Welch t "
            + "on log values); "
        out += "an interval that includes 1 shows no difference. Latency is submission to completion in microseconds.</p>"
        out +=
            "<p>writepath \(html(a.provenance?.version ?? "?")) (\(html(String((a.provenance?.git_commit ?? "").prefix(12)))))</p>"
            + "</footer>\n"
        out += "</main>\n</body>\n</html>\n"
        return out
    }

    static let css = """
        :root { --fg: #1f2328; --muted: #59636e; --line: #d1d9e0; --soft: #f6f8fa; --warn: #fff8c5; --warnline: #d4a72c; }
        * { box-sizing: border-box; }
        body { margin: 0; color: var(--fg); background: #fff;
               font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
        main { max-width: 1120px; margin: 0 auto; padding: 20px 24px 40px; }
        h1 { font-size: 24px; margin: 0 0 4px; }
        h2 { font-size: 18px; margin: 28px 0 8px; border-bottom: 1px solid var(--line); padding-bottom: 4px; }
        h3 { font-size: 15px; margin: 16px 0 6px; }
        .meta { color: var(--muted); margin: 4px 0 8px; }
        nav a { color: #0969da; text-decoration: none; }
        code { font: 12px ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; background: var(--soft);\
         padding: 1px 4px; border-radius: 4px; }
        table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; margin: 8px 0; }
        th, td { border-bottom: 1px solid var(--line); padding: 4px 7px; text-align: right; vertical-align: top; }
        .scroll { overflow-x: auto; }
        #summary td, #environment td:first-child { white-space: nowrap; }
        #environment td code { white-space: normal; word-break: break-all; }
        th { background: var(--soft); font-weight: 600; }
        th.l, td.l { text-align: left; }
        td.ci { color: var(--muted); font-size: 12px; }
        .swatch { display: inline-block; width: 10px; height: 10px; border-radius: 2px; margin-right: 6px; }
        svg.key { display: inline-block; width: 30px; height: 12px; vertical-align: -1px; }
        caption { text-align: left; color: var(--muted); font-size: 12px; padding: 2px 0 4px; caption-side: top; }
        tbody th { background: none; font-weight: normal; }
        #cost table { margin-bottom: 14px; }
        #cost td, #cost tbody th, #summary tbody th { white-space: nowrap; }
        #cost td.v { text-align: left; white-space: normal; min-width: 14em; }
        #cost tbody.refs th, #cost tbody.refs td { color: var(--muted); }
        #cost th.group { font-weight: 600; text-align: left; background: var(--soft); }
        .warnings ul { padding-left: 0; list-style: none; }
        .warnings li { background: var(--warn); border-left: 4px solid var(--warnline); padding: 4px 10px; margin: 4px 0; }
        .charts { display: grid; grid-template-columns: 1fr 1fr; gap: 8px 20px; }
        .charts figure.wide { grid-column: 1 / -1; }
        figure { margin: 8px 0; }
        figcaption { font-weight: 600; margin-bottom: 4px; }
        svg { width: 100%; height: auto; display: block; }
        svg text { font: 11px system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif; fill: var(--fg); }
        svg .axis { stroke: #8c959f; stroke-width: 1; fill: none; }
        svg .grid { stroke: #eaeef2; stroke-width: 1; fill: none; }
        svg .muted { fill: var(--muted); }
        .note { color: var(--muted); font-style: italic; }
        .path { margin: 10px 0 18px; }
        footer { margin-top: 32px; color: var(--muted); font-size: 12px; border-top: 1px solid var(--line); }
        @media (max-width: 860px) { .charts { grid-template-columns: 1fr; } }
        @media print {
          body { font-size: 10pt; }
          main { max-width: none; padding: 0; }
          nav { display: none; }
          .charts { grid-template-columns: 1fr 1fr; }
          h2 { break-after: avoid; }
          figure, table, .path, .warnings li, tr { break-inside: avoid; }
          section.workload { break-inside: avoid-page; }
        }

        """

    // MARK: - Table

    /// ` <sup>hand-run</sup>` after a layer measured by hand (`writepath run --layer-label`); the warnings say where.
    static func handRunMarker(_ r: LayerWorkloadAggregate) -> String {
        guard let hand = r.handRun else { return "" }
        let title = html("run by hand on \(hand.host.hostname) (Linux \(hand.host.kernel)); see warnings")
        return " <sup class=\"hand-run\" title=\"\(title)\">hand-run</sup>"
    }

    static func summaryTable(_ a: Aggregation, color: LayerStyles) -> String {
        let base = a.options.baselineLayer
        var out = "<section id=\"summary\"><h2>Summary</h2>\n<div class=\"scroll\"><table>\n"
        out += "<caption>Every layer × workload: medians over ok repetitions, merged-histogram latencies, "
        out += "ratios to \(html(base)) with 95% intervals</caption>\n"
        out += "<thead><tr>" + ["layer", "workload"].map { "<th scope=\"col\" class=\"l\">\($0)</th>" }.joined()
        out +=
            [
                "ok/runs", "IOPS", "95% CI", "BW/s", "p50 µs", "p99 µs", "p99.9 µs", "CPU ns/IO", "IOPS vs \(html(base)) [95% CI]",
                "p50 vs \(html(base)) [95% CI]",
            ].map { "<th scope=\"col\">\($0)</th>" }.joined() + "</tr></thead>\n<tbody>\n"
        for r in a.rows {
            let s = r.merged.flatMap { $0.count > 0 ? $0.summary : nil }
            let iops = r.estimates[.iops]
            out += "<tr><th scope=\"row\" class=\"l\">\(color.key(r.layer)) \(html(r.layer))\(handRunMarker(r))</th>"
            out += "<td class=\"l\">\(html(r.workloadIdentity))</td><td>\(r.okRuns.count)/\(r.runs.count)</td>"
            out += "<td>\(iops.map { formatSI($0.median) } ?? "–")</td>"
            out += "<td class=\"ci\">\(iops.flatMap { e in e.low.map { "\(formatSI($0))–\(formatSI(e.high!))" } } ?? "")</td>"
            out += "<td>\(r.estimates[.bw].map { ByteSize.format($0.median) } ?? "–")</td>"
            for v in [s?.p50, s?.p99, s?.p99_9] { out += "<td>\(v.map { TextReport.us(Double($0)) } ?? "–")</td>" }
            out += "<td>\(r.estimates[.cpuPerIO].map { formatDecimal($0.median, places: 0) } ?? "–")</td>"
            for ratio in [r.iopsRatio, r.p50Ratio] {
                if r.layer == base {
                    out += "<td class=\"ci\">baseline</td>"
                } else if let ratio {
                    let same = ratio.intervalIncludesOne == true ? " <span class=\"ci\">(≈)</span>" : ""
                    out += "<td>\(formatDecimal(ratio.point, places: 2))×\(same)<br><span class=\"ci\">\(ratioInterval(ratio))</span></td>"
                } else {
                    out += "<td>–</td>"
                }
            }
            out += "</tr>\n"
        }
        out +=
            "</tbody></table></div>\n<p class=\"meta\">IOPS and BW: medians over ok repetitions; latencies: merged histograms. "
            + "(≈): the 95% interval of the ratio includes 1.</p></section>\n"
        return out
    }

    /// `[0.84, 0.93]`, or `n too small` when the ratio has no interval.
    static func ratioInterval(_ r: Ratio) -> String {
        guard let lo = r.low, let hi = r.high else { return "n too small" }
        return "[\(formatDecimal(lo, places: 2)), \(formatDecimal(hi, places: 2))]"
    }

    // MARK: - Charts

    /// Median IOPS (bandwidth for blocks of 64 KiB and more) per layer as horizontal bars with 95% whiskers.
    /// References that are not write paths to a disk (tmpfs, fio imports; `WritePathCost.isReference`)
    /// do not set the axis: a bar beyond it is broken at the axis end and labelled with its value.
    static func throughputChart(_ rows: [LayerWorkloadAggregate], color: LayerStyles) -> String {
        let useBandwidth = rows[0].workload.bs >= 64 * 1024
        let metric: RunMetric = useBandwidth ? .bw : .iops
        func label(_ v: Double) -> String { useBandwidth ? ByteSize.format(max(v, 0)) + "/s" : formatSI(v) }
        let title = useBandwidth ? "Bandwidth per layer (median, 95% CI)" : "IOPS per layer (median, 95% CI)"
        let plotted = rows.filter { $0.estimates[metric] != nil }
        guard !plotted.isEmpty else { return "<figure><figcaption>\(title)</figcaption><p class=\"note\">no ok runs</p></figure>\n" }
        let width = 540.0, left = 150.0, right = 70.0, top = 8.0, rowH = 26.0
        let height = top + rowH * Double(rows.count) + 30
        let onScale = plotted.filter { !WritePathCost.isReference($0) }
        let maxValue = (onScale.isEmpty ? plotted : onScale).map { max($0.estimates[metric]!.high ?? 0, $0.estimates[metric]!.median) }
            .max()!
        // Bandwidth ticks fall on round numbers of the binary unit the labels use (MiB/s, GiB/s).
        var unit = 1.0
        while useBandwidth && maxValue / (unit * 1024) >= 1 { unit *= 1024 }
        let scaled = niceAxis(maxValue / unit)
        let (axisMax, step) = (scaled.max * unit, scaled.step * unit)
        func x(_ v: Double) -> Double { left + (width - left - right) * v / axisMax }
        var svg = "<svg viewBox=\"0 0 \(f(width)) \(f(height))\" role=\"img\" aria-label=\"\(html(title))\">\n"
        var t = 0.0
        while t <= axisMax + step / 2 {
            svg += "<path class=\"grid\" d=\"M\(f(x(t))) \(f(top)) V\(f(height - 24))\"/>"
            svg += "<text x=\"\(f(x(t)))\" y=\"\(f(height - 10))\" text-anchor=\"middle\" class=\"muted\">\(html(label(t)))</text>\n"
            t += step
        }
        for (i, r) in rows.enumerated() {
            let y = top + rowH * Double(i)
            svg +=
                "<text x=\"\(f(left - 6))\" y=\"\(f(y + rowH / 2 + 4))\" text-anchor=\"end\">\(html(truncate(r.layer, 24)))<title>"
                + "\(html(r.layer))</title></text>\n"
            guard let e = r.estimates[metric] else {
                svg += "<text x=\"\(f(left + 4))\" y=\"\(f(y + rowH / 2 + 4))\" class=\"muted\">no ok run</text>\n"
                continue
            }
            let tip =
                "\(r.layer): median \(label(e.median))" + (e.low.map { " [\(label($0)), \(label(e.high!))]" } ?? "")
                + ", \(e.values.count) reps"
            if e.median > axisMax {
                // Off scale: the bar runs to the axis end, a white zigzag marks the break, the value is written in.
                let xe = x(axisMax) + 12, y0 = y + 5, y1 = y + rowH - 5
                svg +=
                    "<path d=\"M\(f(left)) \(f(y0)) H\(f(xe)) V\(f(y1)) H\(f(left)) Z\" fill=\"\(color(r.layer))\" "
                    + "fill-opacity=\"0.85\"><title>\(html(tip))</title></path>\n"
                let zx = x(axisMax) - 10
                svg +=
                    "<path d=\"M\(f(zx)) \(f(y0 - 2)) l4 \(f((y1 - y0) / 3 + 1)) l-4 \(f((y1 - y0) / 3)) l4 "
                    + "\(f((y1 - y0) / 3 + 1))\" stroke=\"#ffffff\" stroke-width=\"3\" fill=\"none\"/>\n"
                svg +=
                    "<text x=\"\(f(zx - 6))\" y=\"\(f(y + rowH / 2 + 4))\" text-anchor=\"end\" fill=\"#ffffff\" "
                    + "style=\"fill:#ffffff\" font-weight=\"600\">"
                svg += "\(html(label(e.median))) · off scale\(WritePathCost.isReference(r) ? " (reference)" : "")</text>\n"
                continue
            }
            svg +=
                "<path d=\"M\(f(left)) \(f(y + 5)) H\(f(x(e.median))) V\(f(y + rowH - 5)) H\(f(left)) Z\" "
                + "fill=\"\(color(r.layer))\" fill-opacity=\"0.85\"><title>\(html(tip))</title></path>\n"
            var end = x(e.median)
            if let lo = e.low, let hi = e.high {
                let cy = y + rowH / 2
                svg +=
                    "<path d=\"M\(f(x(lo))) \(f(cy)) H\(f(x(hi))) M\(f(x(lo))) \(f(cy - 6)) V\(f(cy + 6)) M\(f(x(hi))) "
                    + "\(f(cy - 6)) V\(f(cy + 6))\" stroke=\"#1f2328\" stroke-width=\"1.5\" fill=\"none\"/>\n"
                end = max(end, x(hi))
            }
            svg += "<text x=\"\(f(end + 5))\" y=\"\(f(y + rowH / 2 + 4))\">\(html(label(e.median)))</text>\n"
        }
        svg += "<path class=\"axis\" d=\"M\(f(left)) \(f(top)) V\(f(height - 24))\"/>\n</svg>\n"
        let off = plotted.filter { $0.estimates[metric]!.median > axisMax }.map(\.layer)
        let note =
            off.isEmpty
            ? ""
            : "<div class=\"meta\">Off scale (broken bars): \(off.map(html).joined(separator: ", ")), "
                + "references that are not write paths to a disk; the axis is set by the other layers.</div>\n"
        return "<figure><figcaption>\(title)</figcaption>\n\(svg)\(note)</figure>\n"
    }

    /// Latency against percentile from each layer's merged histogram: x is -log10(1 - p) (0, 90,
    /// 99, 99.9, ... as HDR plots space them), y is latency on a log scale.
    static func latencyChart(_ rows: [LayerWorkloadAggregate], color: LayerStyles) -> String {
        let title = "Latency by percentile (merged histograms, log scale)"
        let curves = rows.compactMap { r -> (LayerWorkloadAggregate, LatencyHistogram)? in
            guard let h = r.merged, h.count > 0 else { return nil }
            return (r, h)
        }
        guard !curves.isEmpty else { return "<figure><figcaption>\(title)</figcaption><p class=\"note\">no ok runs</p></figure>\n" }
        // Each curve goes as far as its sample supports: 1 - p >= 1 / count.
        let xMax = min(6, max(2, curves.map { log10(Double($0.1.count)) }.max()!.rounded(.up)))
        var points: [(LayerWorkloadAggregate, [(Double, Double)])] = []
        var lo = Double.infinity, hi = 1.0
        for (r, h) in curves {
            let limit = min(xMax, log10(Double(h.count)))
            var pts: [(Double, Double)] = []
            var x = 0.0
            while x <= limit + 1e-9 {
                let p = 100 * (1 - pow(10, -x))
                let v = Double(max(h.value(atPercentile: p), 1))
                pts.append((x, v))
                lo = min(lo, v); hi = max(hi, v)
                x += 0.025
            }
            let maxV = Double(max(h.histogram.maxRecorded, 1))
            pts.append((limit, maxV))
            hi = max(hi, maxV)
            points.append((r, pts))
        }
        let yLo = pow(10, floor(log10(lo))), yHi = pow(10, max(ceil(log10(hi)), log10(yLo) + 1))
        let width = 540.0, height = 300.0, left = 58.0, right = 96.0, top = 10.0, bottom = 44.0
        func px(_ x: Double) -> Double { left + (width - left - right) * x / xMax }
        func py(_ v: Double) -> Double { top + (height - top - bottom) * (1 - (log10(v) - log10(yLo)) / (log10(yHi) - log10(yLo))) }
        var svg = "<svg viewBox=\"0 0 \(f(width)) \(f(height))\" role=\"img\" aria-label=\"\(html(title))\">\n"
        svg += latencyGrid(from: yLo, to: yHi, left: left, right: width - right, y: py)
        for i in 0...Int(xMax) {
            let x = Double(i)
            svg += "<path class=\"grid\" d=\"M\(f(px(x))) \(f(top)) V\(f(height - bottom))\"/>"
            svg +=
                "<text x=\"\(f(px(x)))\" y=\"\(f(height - bottom + 16))\" text-anchor=\"middle\" class=\"muted\">"
                + "\(percentileLabel(i))</text>\n"
        }
        svg +=
            "<text x=\"\(f((left + width - right) / 2))\" y=\"\(f(height - 6))\" text-anchor=\"middle\" class=\"muted\">percentile</text>\n"
        svg += "<path class=\"axis\" d=\"M\(f(left)) \(f(top)) V\(f(height - bottom)) H\(f(width - right))\"/>\n"
        for (r, pts) in points {
            let d = pts.enumerated().map { "\($0.offset == 0 ? "M" : "L")\(f(px($0.element.0))) \(f(py($0.element.1)))" }.joined(
                separator: " ")
            let s = r.merged!.summary
            let tip =
                "\(r.layer): p50 \(TextReport.us(Double(s.p50))) us, p99 \(TextReport.us(Double(s.p99))) us, p99.9 "
                + "\(TextReport.us(Double(s.p99_9))) us, max \(TextReport.us(Double(s.max))) us, \(r.merged!.count) I/Os"
            svg +=
                "<path d=\"\(d)\" fill=\"none\" stroke=\"\(color(r.layer))\" stroke-width=\"2\"\(color.dash(r.layer)) "
                + "stroke-linejoin=\"round\"><title>\(html(tip))</title></path>\n"
            // A marker at every whole number of nines (p0, p90, p99, ...) the curve reaches.
            for (x, v) in pts where abs(x - x.rounded()) < 1e-6 { svg += color.marker(r.layer, x: px(x), y: py(v)) + "\n" }
        }
        svg += directLabels(
            points.map { ($0.0.layer, py($0.1.last!.1)) }, x: width - right + 6, top: top, bottom: height - bottom,
            color: color)
        svg += "</svg>\n"
        return "<figure><figcaption>\(title)</figcaption>\n\(svg)\(legend(points.map { $0.0.layer }, color: color))</figure>\n"
    }

    /// IOPS of every second of every ok repetition, one line per repetition, coloured by layer.
    static func seriesChart(
        _ rows: [LayerWorkloadAggregate], color: LayerStyles,
        title: String = "IOPS per second (each ok repetition)"
    ) -> String {
        var lines: [(String, Int, [SeriesPoint])] = []
        for r in rows { for run in r.okRuns { if let s = run.mainDirection?.series, !s.isEmpty { lines.append((r.layer, run.rep, s)) } } }
        guard !lines.isEmpty else {
            return
                "<figure class=\"wide\"><figcaption>\(title)</figcaption><p class=\"note\">"
                + "no per-second series in these results</p></figure>\n"
        }
        let tMax = max(lines.flatMap { $0.2.map(\.t_s) }.max()!, 1)
        let (yMax, yStep) = niceAxis(lines.flatMap { $0.2.map(\.iops) }.max()!)
        let (xMax, xStep) = niceAxis(tMax)
        let width = 1080.0, height = 240.0, left = 58.0, right = 120.0, top = 10.0, bottom = 40.0
        func px(_ t: Double) -> Double { left + (width - left - right) * t / xMax }
        func py(_ v: Double) -> Double { top + (height - top - bottom) * (1 - v / yMax) }
        var svg = "<svg viewBox=\"0 0 \(f(width)) \(f(height))\" role=\"img\" aria-label=\"\(html(title))\">\n"
        var v = 0.0
        while v <= yMax + yStep / 2 {
            svg += "<path class=\"grid\" d=\"M\(f(left)) \(f(py(v))) H\(f(width - right))\"/>"
            svg += "<text x=\"\(f(left - 6))\" y=\"\(f(py(v) + 4))\" text-anchor=\"end\" class=\"muted\">\(html(formatSI(v)))</text>\n"
            v += yStep
        }
        var t = 0.0
        while t <= xMax + xStep / 2 {
            svg +=
                "<text x=\"\(f(px(t)))\" y=\"\(f(height - bottom + 16))\" text-anchor=\"middle\" class=\"muted\">"
                + "\(formatDecimal(t, places: xStep < 1 ? 1 : 0))</text>\n"
            t += xStep
        }
        svg +=
            "<text x=\"\(f((left + width - right) / 2))\" y=\"\(f(height - 4))\" text-anchor=\"middle\" class=\"muted\">"
            + "seconds since measuring started</text>\n"
        svg += "<path class=\"axis\" d=\"M\(f(left)) \(f(top)) V\(f(height - bottom)) H\(f(width - right))\"/>\n"
        for (layer, rep, s) in lines {
            let d = s.enumerated().map { "\($0.offset == 0 ? "M" : "L")\(f(px($0.element.t_s))) \(f(py($0.element.iops)))" }.joined(
                separator: " ")
            // A single point still shows, as a dot.
            let dot = s.count == 1 ? " stroke-linecap=\"round\" stroke-width=\"5\"" : " stroke-width=\"1.6\""
            svg +=
                "<path d=\"\(s.count == 1 ? d + " h0.01" : d)\" fill=\"none\" stroke=\"\(color(layer))\"\(dot)\(color.dash(layer)) "
                + "stroke-opacity=\"0.85\"><title>\(html("\(layer) rep \(rep)"))</title></path>\n"
            if let lastPoint = s.last { svg += color.marker(layer, x: px(lastPoint.t_s), y: py(lastPoint.iops), r: 3) + "\n" }
        }
        // Each layer named at the right, at the median of its repetitions' last points.
        var ends: [(String, Double)] = []
        for (layer, _, _) in lines where !ends.contains(where: { $0.0 == layer }) {
            let lasts = lines.filter { $0.0 == layer }.compactMap { $0.2.last?.iops }
            ends.append((layer, py(Stats.median(lasts) ?? 0)))
        }
        svg += directLabels(ends, x: width - right + 8, top: top, bottom: height - bottom, color: color)
        svg += "</svg>\n"
        var legendLayers: [String] = []
        for l in lines where !legendLayers.contains(l.0) { legendLayers.append(l.0) }
        return "<figure class=\"wide\"><figcaption>\(title)</figcaption>\n\(svg)\(legend(legendLayers, color: color))</figure>\n"
    }

    /// A label at the right end of each line (layer, y of its last point), nudged apart so that
    /// no two overlap; a line is named where it ends, not only by its colour.
    static func directLabels(_ ends: [(String, Double)], x: Double, top: Double, bottom: Double, color: LayerStyles) -> String {
        let gap = 12.0
        var placed = ends.sorted { $0.1 < $1.1 }
        for i in placed.indices.dropFirst() where placed[i].1 < placed[i - 1].1 + gap { placed[i].1 = placed[i - 1].1 + gap }
        // Pushed below the plot: shift the whole stack up.
        if let last = placed.last, last.1 > bottom + 4 {
            let shift = last.1 - (bottom + 4)
            for i in placed.indices { placed[i].1 = max(top + 4, placed[i].1 - shift) }
        }
        return placed.map {
            "<text x=\"\(f(x))\" y=\"\(f($0.1 + 4))\" fill=\"\(color($0.0))\" style=\"fill:\(color($0.0))\">"
                + "\(html(truncate($0.0, 16)))</text>\n"
        }
        .joined()
    }

    static func legend(_ layers: [String], color: LayerStyles) -> String {
        "<div class=\"meta\">"
            + layers.map { "<span style=\"margin-right:14px;white-space:nowrap\">\(color.key($0)) \(html($0))</span>" }.joined()
            + "</div>\n"
    }

    // MARK: - Write paths

    /// One box of a write-path diagram; `group` marks the boxes inside the container or guest.
    struct Box { var title: String; var detail: String; var group: Bool }

    /// The boxes a write crosses in `layerName`'s write path, from the application to the device, as
    /// the layer recorded it (`LayerWritePath` in its settings). A run that recorded none (written
    /// before layers recorded their path) gets one box for the layer between the engine and the host.
    static func writePath(layerName: String, settings: [String: String]) -> (boxes: [Box], group: String?) {
        guard let path = LayerWritePath(settings: settings) else {
            let steps = [LayerWritePath.application, LayerWritePath.Step(layerName, "layer", boxed: true)] + LayerWritePath.host
            return (steps.map { Box(title: $0.title, detail: $0.detail, group: $0.boxed) }, "layer (no write path recorded)")
        }
        return (path.steps.map { Box(title: $0.title, detail: $0.detail, group: $0.boxed) }, path.box)
    }

    static func pathsSection(_ a: Aggregation, layers: [String], color: LayerStyles) -> String {
        var out =
            "<section id=\"paths\"><h2>Write paths</h2>\n<p class=\"meta\">"
            + "What a write crosses in each layer. The note under each diagram is the measured p50 latency (merged "
            + "histograms) added relative to <b>\(html(a.options.baselineLayer))</b>, per workload.</p>\n"
        for layer in layers {
            let rows = a.rows.filter { $0.layer == layer }
            let first = rows[0]
            let (boxes, group) = writePath(layerName: first.layerName, settings: first.settings)
            let boxW = 128.0, boxH = 46.0, gap = 30.0, top = 22.0
            let width = 12 + Double(boxes.count) * (boxW + gap)
            var svg =
                "<svg viewBox=\"0 0 \(f(max(width, 900))) \(f(top + boxH + 14))\" role=\"img\" "
                + "aria-label=\"\(html("write path of \(layer)"))\" style=\"max-width:\(Int(max(width, 900)))px\">\n"
            if let group, let firstIn = boxes.firstIndex(where: \.group), let lastIn = boxes.lastIndex(where: \.group) {
                let x0 = 6 + Double(firstIn) * (boxW + gap) - 6, x1 = 6 + Double(lastIn) * (boxW + gap) + boxW + 6
                svg +=
                    "<path d=\"M\(f(x0)) \(f(top - 16)) H\(f(x1)) V\(f(top + boxH + 8)) H\(f(x0)) Z\" fill=\"none\" "
                    + "stroke=\"\(color(layer))\" stroke-dasharray=\"5 4\"/>\n"
                svg += "<text x=\"\(f(x0 + 6))\" y=\"\(f(top - 4))\" class=\"muted\">\(html(group))</text>\n"
            }
            for (i, b) in boxes.enumerated() {
                let x = 6 + Double(i) * (boxW + gap)
                svg +=
                    "<path d=\"M\(f(x)) \(f(top)) h\(f(boxW)) v\(f(boxH)) h\(f(-boxW)) Z\" "
                    + "fill=\"\(b.group ? "#f6f8fa" : "#ffffff")\" stroke=\"#57606a\"/>\n"
                svg +=
                    "<text x=\"\(f(x + boxW / 2))\" y=\"\(f(top + 19))\" text-anchor=\"middle\" font-weight=\"600\">"
                    + "\(html(truncate(b.title, 20)))</text>\n"
                svg +=
                    "<text x=\"\(f(x + boxW / 2))\" y=\"\(f(top + 35))\" text-anchor=\"middle\" class=\"muted\">"
                    + "\(html(truncate(b.detail, 22)))</text>\n"
                if i < boxes.count - 1 {
                    let ax = x + boxW + 3, ay = top + boxH / 2
                    svg +=
                        "<path d=\"M\(f(ax)) \(f(ay)) h\(f(gap - 10)) m-6 -4 l6 4 l-6 4\" stroke=\"#57606a\" stroke-width=\"1.5\" "
                        + "fill=\"none\"/>\n"
                }
            }
            svg += "</svg>\n"
            var notes: [String] = []
            for r in rows {
                if layer == a.options.baselineLayer {
                    notes.append(
                        "\(html(r.workloadIdentity)): baseline"
                            + (r.merged.map { ", p50 \(TextReport.us(Double($0.value(atPercentile: 50)))) µs" } ?? ""))
                } else if let added = r.addedP50Nanoseconds {
                    notes.append("\(html(r.workloadIdentity)): <b>\(added >= 0 ? "+" : "−")\(TextReport.us(abs(added))) µs</b> p50")
                } else {
                    notes.append("\(html(r.workloadIdentity)): no comparison (\(r.okRuns.isEmpty ? "no ok runs" : "no baseline"))")
                }
            }
            out +=
                "<div class=\"path\"><h3>\(color.key(layer)) \(html(layer))</h3>\n\(svg)<div class=\"meta\">"
                + "\(notes.joined(separator: " · "))</div></div>\n"
        }
        return out + "</section>\n"
    }

    // MARK: - Environment

    static func environmentSection(_ a: Aggregation, layers: [String]) -> String {
        var out = "<section id=\"environment\"><h2>Environment</h2>\n<table>\n<caption>Host, software and the run</caption>\n"
        func row(_ k: String, _ v: String) {
            out += "<tr><th scope=\"row\" class=\"l\">\(html(k))</th><td class=\"l\">\(html(v))</td></tr>\n"
        }
        for h in a.hosts {
            row("host", h.hostname)
            row("kernel", "Linux \(h.kernel) \(h.kernel_version)")
            row("CPU", h.cpu)
            if let v = h.virtualization { row("runs on", "\(v.phrase): \(v.evidence)") }
            row("cores", "\(h.cores)")
            row("memory", ByteSize.format(h.memory_bytes))
        }
        let all = a.rows.map(\.settings)
        func first(_ keys: [String]) -> String? {
            for s in all { for k in keys { if let v = s[k] { return v } } }
            return nil
        }
        if let v = first(["docker_version"]) { row("Docker", v) }
        if let v = first(["storage_driver"]) { row("storage driver", v) }
        if let v = first(["runtime_version"]) { row("OCI runtime", v) }
        if let v = first(["cgroup_version"]) { row("cgroup", v) }
        if let v = first(["qemu_version"]) { row("QEMU", v) }
        if let v = first(["xen_version"]) { row("Xen", v) }
        if let v = first(["accel"]) { row("accel", v) }
        if let p = a.provenance {
            row("writepath", "\(p.version) (\(p.git_commit))")
            row("command", p.arguments.joined(separator: " "))
        }
        if let m = a.matrix {
            row(
                "matrix",
                "seed \(m.seed), repetitions \(m.repetitions), \(m.total_runs) runs, \(m.failed_runs) not "
                    + "ok\(m.complete ? "" : ", incomplete")"
            )
        }
        out += "</table>\n"
        // A sweep-only report has no rows, so no layer settings table (its curves carry their own).
        if !layers.isEmpty {
            out += "<h3>Layer settings</h3>\n<table>\n<caption>What each layer recorded about itself</caption>\n"
            out += "<thead><tr><th scope=\"col\" class=\"l\">layer</th><th scope=\"col\" class=\"l\">settings</th></tr></thead>\n<tbody>\n"
            for layer in layers {
                let s = a.rows.first { $0.layer == layer }!.settings
                // The write path is drawn above, not repeated as text.
                let text = s.filter { $0.key != LayerWritePath.settingsKey }.sorted { $0.key < $1.key }.map {
                    "\(html($0.key))=<code>\(html($0.value))</code>"
                }.joined(separator: " ")
                out += "<tr><th scope=\"row\" class=\"l\">\(html(layer))</th><td class=\"l\">\(text.isEmpty ? "–" : text)</td></tr>\n"
            }
            out += "</tbody></table>\n"
        }
        // What the engine found in each layer: the same binary can take different kernel paths.
        let engineRows = a.rows.compactMap { row in (row.okRuns.first ?? row.runs.first).map { (row.label, $0) } }
        if engineRows.contains(where: { !$0.1.engine.features.isEmpty || $0.1.iodepth_level != nil }) {
            out += "<h3>Engine</h3>\n<p class=\"meta\">As the engine found it (first ok run of each row): its setup, whether the kernel "
            out += "did the writes inline or handed them to io-wq worker threads (<code>iowq:punted</code>), and the queue depths "
            out += "submissions were made at (fio's IO depths), and how that path differs from the baseline layer's: "
            out += "<b>engine</b> differences mean the layer forced another engine path (its ratio is not the layer's cost "
            out += "alone); <i>layer</i> differences are what the layer's target did with the writes. "
            out += "Rows with the same finding are shown once, with the layers and workloads that share it.</p>\n<table>\n"
            out += "<caption>Engine path per distinct finding</caption>\n<thead><tr><th scope=\"col\" class=\"l\">layer / workload</th>"
            out += "<th scope=\"col\" class=\"l\">engine</th><th scope=\"col\" class=\"l\">IO depths</th>"
            out += "<th scope=\"col\" class=\"l\">against \(html(a.options.baselineLayer))</th></tr></thead>\n<tbody>\n"
            let parity = EngineParity.findings(a.rows, baselineLayer: a.options.baselineLayer)
            // One row per distinct (engine, IO depths, against the baseline) finding, in first-seen order.
            var distinct: [(cells: String, labels: [String])] = []
            for (label, r) in engineRows {
                let features = r.engine.features.isEmpty ? "" : " <code>\(html(r.engine.features.joined(separator: ", ")))</code>"
                var cells = "<td class=\"l\">\(html(r.engine.name))\(features)</td>"
                cells += "<td class=\"l\">\(r.iodepth_level.map { html(IODepthText.line($0)) } ?? "–")</td>"
                let finding = parity.first { $0.label == label }
                var against = (finding?.engineDifferences ?? []).map { "<b>engine</b>: \(html($0))" }
                against += (finding?.layerDifferences ?? []).map { "<i>layer</i>: \(html($0))" }
                cells += "<td class=\"l\">\(against.isEmpty ? "same path" : against.joined(separator: "<br>"))</td>"
                if let i = distinct.firstIndex(where: { $0.cells == cells }) {
                    distinct[i].labels.append(label)
                } else {
                    distinct.append((cells, [label]))
                }
            }
            for d in distinct {
                let count = d.labels.count > 1 ? "<b>\(d.labels.count) rows</b>: " : ""
                out += "<tr><th scope=\"row\" class=\"l\">\(count)\(d.labels.map(html).joined(separator: ", "))</th>\(d.cells)</tr>\n"
            }
            out += "</tbody></table>\n"
        }
        let startup = StartupTimes.rows(a)
        if !startup.isEmpty {
            out += "<h3>Start-up and teardown</h3>\n<p class=\"meta\">Wall time from starting the box to the engine's jobs "
            out += "starting (containers; guests: boot), and from the jobs' end until the box was gone: median [min, max] over runs.</p>\n"
            out += "<table>\n<caption>Start-up and teardown per layer</caption>\n<thead><tr><th scope=\"col\" class=\"l\">layer</th>"
            out += "<th scope=\"col\" class=\"l\">start-up</th><th scope=\"col\" class=\"l\">teardown</th></tr></thead>\n<tbody>\n"
            for s in startup {
                let up = (s.kind == "boot_s" ? "boot " : "") + StartupTimes.summary(s.startup)
                out += "<tr><th scope=\"row\" class=\"l\">\(html(s.layer))</th><td class=\"l\">\(html(up))</td>"
                out += "<td class=\"l\">\(html(StartupTimes.summary(s.teardown)))</td></tr>\n"
            }
            out += "</tbody></table>\n"
        }
        out += "</section>\n"
        return out
    }

    // MARK: - Helpers

    /// A latency chart's horizontal grid: a line and a label at every power of ten from `yLo` to
    /// `yHi` nanoseconds, from x `left` to `right`; `y` maps a latency to its y coordinate.
    static func latencyGrid(from yLo: Double, to yHi: Double, left: Double, right: Double, y: (Double) -> Double) -> String {
        var out = ""
        var d = log10(yLo)
        while d <= log10(yHi) + 1e-9 {
            let v = pow(10, d)
            out += "<path class=\"grid\" d=\"M\(f(left)) \(f(y(v))) H\(f(right))\"/>"
            out += "<text x=\"\(f(left - 6))\" y=\"\(f(y(v) + 4))\" text-anchor=\"end\" class=\"muted\">\(html(durationLabel(v)))</text>\n"
            d += 1
        }
        return out
    }

    /// Escapes `&`, `<`, `>`, `"` and `'` for HTML text and attribute values.
    public static func html(_ s: String) -> String {
        var out = ""
        out.reserveCapacity(s.utf8.count)
        for ch in s {
            switch ch {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(ch)
            }
        }
        return out
    }

    static func truncate(_ s: String, _ n: Int) -> String { s.count <= n ? s : String(s.prefix(n - 1)) + "…" }

    /// A coordinate with one decimal.
    static func f(_ v: Double) -> String { formatDecimal(v, places: 1) }

    /// An axis maximum at or above `v` and a round step (1, 2 or 5 × 10^k) giving about five ticks.
    static func niceAxis(_ v: Double) -> (max: Double, step: Double) {
        guard v > 0, v.isFinite else { return (1, 0.2) }
        let raw = v / 5
        let mag = pow(10, floor(log10(raw)))
        let n = raw / mag
        let step = (n <= 1 ? 1 : n <= 2 ? 2 : n <= 5 ? 5 : 10) * mag
        return ((v / step).rounded(.up) * step, step)
    }

    /// `0`, `90`, `99`, `99.9`, ... for -log10(1 - p) = 0, 1, 2, 3, ...
    static func percentileLabel(_ nines: Int) -> String {
        switch nines {
        case ...0: return "0"
        case 1: return "90"
        case 2: return "99"
        default: return "99." + String(repeating: "9", count: nines - 2)
        }
    }

    /// A nanosecond value at a decade: `100 ns`, `1 µs`, `10 ms`, `1 s`.
    static func durationLabel(_ ns: Double) -> String {
        if ns >= 1e9 { return formatDecimal(ns / 1e9, places: 0) + " s" }
        if ns >= 1e6 { return formatDecimal(ns / 1e6, places: 0) + " ms" }
        if ns >= 1e3 { return formatDecimal(ns / 1e3, places: 0) + " µs" }
        return formatDecimal(ns, places: 0) + " ns"
    }
}
