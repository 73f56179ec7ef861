import Foundation
import WritePathEngine
import WritePathResult

/// The report's Capacity section, present when the results hold sweeps: per workload a
/// throughput-latency chart (log scales) with one curve per layer, the objective as a line, each
/// layer's SLO point and knee marked; a table of the SLO points, knees, stop reasons and fairness;
/// and, from `writepath plan --html`, the plan.
extension HTMLReport {
    static func capacitySection(_ a: CapacityAnalysis, plan: CapacityPlan?) -> String {
        let labels = a.entries.map(\.label)
        let color = LayerStyles(labels)
        let pl = a.objective.percentileLabel
        var out = "<section id=\"capacity\"><h2>Capacity</h2>\n"
        out += "<p class=\"meta\">Throughput against \(html(pl)) latency as the offered load steps up, one curve per layer; objective "
        out +=
            "<b>\(html(a.objective.description))</b>. ○ SLO point: the highest sustained IOPS whose \(html(pl)) stays within the "
            + "objective "
        out +=
            "(interpolated between the last step within it and the first beyond it). ◆ knee: where latency starts to climb "
            + "faster than "
        out += "throughput (the elasticity Δln latency / Δln IOPS crosses 1). Both axes are logarithmic.</p>\n"
        // One chart per workload shape: curves of different workloads do not share axes.
        var groups: [String] = []
        var byGroup: [String: [CapacityAnalysis.Entry]] = [:]
        for e in a.entries {
            let w = e.curve.workload
            let key = "\(w.name) · rw=\(w.rw.rawValue) bs=\(ByteSize.format(w.bs)) · \(e.curve.parameter) sweep"
            if byGroup[key] == nil { groups.append(key) }
            byGroup[key, default: []].append(e)
        }
        out += "<div class=\"charts\">\n"
        for key in groups {
            out += capacityChart(byGroup[key]!, title: key, objective: a.objective, color: color)
        }
        out += "</div>\n"
        out +=
            "<div class=\"scroll\"><table>\n<caption>Per curve: the SLO point, the knee, why the sweep stopped, fairness</caption>"
            + "\n<thead><tr><th scope=\"col\" class=\"l\">layer</th><th scope=\"col\" class=\"l\">swept</th><th scope=\"col\">"
            + "steps</th><th scope=\"col\">max IOPS</th>"
        out +=
            "<th scope=\"col\">SLO IOPS</th><th scope=\"col\" class=\"l\">found by</th><th scope=\"col\">knee IOPS</th>"
            + "<th scope=\"col\">knee \(html(pl))</th><th scope=\"col\" class=\"l\">stopped</th>"
        out += "<th scope=\"col\">least fair step: Jain</th><th scope=\"col\">min/max</th></tr></thead>\n<tbody>\n"
        for e in a.entries {
            let c = e.curve
            let maxIOPS = c.points.map(\.iops).max()
            // With repetitions, how many ok ones the steps' points aggregate at most.
            let reps = c.points.map(\.repetitions).max() ?? 1
            out += "<tr><th scope=\"row\" class=\"l\">\(color.key(e.label)) \(html(e.label))</th>"
            out +=
                "<td class=\"l\">\(html(c.parameter)) \(html(c.points.map { "\($0.value)" }.joined(separator: ",")))</td><td>"
                + "\(c.points.count)\(c.failedSteps.isEmpty ? "" : " (+\(c.failedSteps.count) failed)")"
                + "\(reps > 1 ? " × \(reps) reps" : "")</td>"
            out += "<td>\(maxIOPS.map { formatSI($0) } ?? "–")</td>"
            out +=
                "<td title=\"\(html(e.slo.note))\">"
                + "\(e.slo.method == .none ? "none" : (e.slo.method == .notReached ? "≥ " : "") + formatSI(e.slo.iops))</td>"
            out += "<td class=\"l\">\(html(e.slo.method.rawValue))</td>"
            out += "<td title=\"\(html(e.knee?.note ?? ""))\">\(e.knee.map { formatSI($0.iops) } ?? "–")</td>"
            out += "<td>\(e.knee.map { html(LatencyObjective.duration($0.latencyNs)) } ?? "–")</td>"
            out += "<td class=\"l\" title=\"\(html(c.stopDetail ?? ""))\">\(html(c.stopReason ?? "–"))</td>"
            let f = c.worstFairness
            out +=
                "<td>\(f.map { formatDecimal($0.jain_index, places: 3) } ?? "–")</td><td>"
                + "\(f.map { formatDecimal($0.min_max_ratio, places: 2) } ?? "–")</td></tr>\n"
        }
        out += "</tbody></table></div>\n"
        if let plan { out += planTable(plan, color: color) }
        out += "</section>\n"
        return out
    }

    static func planTable(_ plan: CapacityPlan, color: LayerStyles) -> String {
        let d = plan.demand
        var out =
            "<h3>Plan</h3>\n<p class=\"meta\">Demand: <b>\(d.tenants)</b> tenants × <b>\(html(formatSI(d.iopsPerTenant)))</b> IOPS of "
        out +=
            "\(html(ByteSize.format(d.bs))), objective \(html(d.objective.description)), headroom "
            + "\(html(trimmedNumber(d.headroom * 100, places: 1)))%: "
        out += "a host carries ⌊SLO IOPS × (1 − headroom) / IOPS per tenant⌋ tenants; hosts = ⌈tenants / that⌉.</p>\n"
        out +=
            "<div class=\"scroll\"><table>\n<caption>Hosts needed per layer for the demand</caption>\n<thead><tr>"
            + "<th scope=\"col\" class=\"l\">layer</th><th scope=\"col\">SLO IOPS</th><th scope=\"col\">usable</th>"
            + "<th scope=\"col\">tenants/host</th><th scope=\"col\">hosts</th>"
        out +=
            "<th scope=\"col\">busiest host</th><th scope=\"col\">margin</th><th scope=\"col\">"
            + "\(html(d.objective.percentileLabel)) at load</th><th scope=\"col\" class=\"l\">note</th></tr></thead>\n<tbody>\n"
        for r in plan.rows {
            out +=
                "<tr><th scope=\"row\" class=\"l\">\(color.key(r.entry.label)) "
                + "\(html(r.entry.label))\(r.cheapest ? " <b>(cheapest)</b>" : "")</th>"
            out +=
                "<td>\(r.entry.slo.method == .notReached ? "≥ " : "")\(html(formatSI(r.capacityIOPS)))</td><td>"
                + "\(html(formatSI(r.usableIOPS)))</td>"
            out += "<td>\(r.tenantsPerHost)</td><td>\(r.hosts.map(String.init) ?? "–")</td>"
            let busiest =
                r.hosts == nil
                ? "–" : "\(r.tenantsOnBusiestHost) × \(html(formatSI(d.iopsPerTenant))) = \(html(formatSI(r.loadPerHostIOPS)))"
            out += "<td>\(busiest)</td>"
            out += "<td>\(r.margin.map { formatDecimal($0 * 100, places: 1) + "%" } ?? "–")</td>"
            out += "<td>\(r.latencyAtLoadNs.map { html(LatencyObjective.duration($0)) } ?? "–")</td>"
            out += "<td class=\"l\">\(html(r.note))</td></tr>\n"
        }
        out += "</tbody></table></div>\n"
        for x in plan.excluded { out += "<p class=\"note\">left out: \(html(x))</p>\n" }
        return out
    }

    /// A round axis value: `500`, `2k`, `10k`, `1M`.
    static func countLabel(_ v: Double) -> String {
        if v >= 1e6 { return trimmedNumber(v / 1e6, places: 1) + "M" }
        if v >= 1e3 { return trimmedNumber(v / 1e3, places: 1) + "k" }
        return trimmedNumber(v, places: 1)
    }

    /// IOPS (x, log) against the objective's percentile (y, log): one polyline per layer through
    /// its steps, the objective as a dashed line, ○ at each SLO point and ◆ at each knee.
    static func capacityChart(
        _ entries: [CapacityAnalysis.Entry], title: String, objective: LatencyObjective,
        color: LayerStyles
    ) -> String {
        let pts = entries.flatMap { $0.curve.points }.filter { $0.iops > 0 && $0.latencyNs > 0 }
        guard !pts.isEmpty else {
            return "<figure class=\"wide\"><figcaption>\(html(title))</figcaption><p class=\"note\">no ok steps</p></figure>\n"
        }
        let pl = objective.percentileLabel
        let xs = pts.map(\.iops) + entries.compactMap { $0.slo.iops > 0 ? $0.slo.iops : nil }
        let ys = pts.map(\.latencyNs) + [objective.thresholdNs]
        let xLo = pow(10, floor(log10(xs.min()!))), xHi = pow(10, max(ceil(log10(xs.max()!)), log10(xLo) + 1))
        let yLo = pow(10, floor(log10(ys.min()!))), yHi = pow(10, max(ceil(log10(ys.max()!)), log10(yLo) + 1))
        let width = 1080.0, height = 380.0, left = 64.0, right = 20.0, top = 12.0, bottom = 44.0
        func px(_ v: Double) -> Double { left + (width - left - right) * (log10(v) - log10(xLo)) / (log10(xHi) - log10(xLo)) }
        func py(_ v: Double) -> Double { top + (height - top - bottom) * (1 - (log10(v) - log10(yLo)) / (log10(yHi) - log10(yLo))) }
        var svg =
            "<svg viewBox=\"0 0 \(f(width)) \(f(height))\" role=\"img\" aria-label=\""
            + "\(html("throughput against \(pl) latency: \(title)"))\">\n"
        svg += latencyGrid(from: yLo, to: yHi, left: left, right: width - right, y: py)
        var d = log10(xLo)
        while d <= log10(xHi) + 1e-9 {
            let v = pow(10, d)
            svg += "<path class=\"grid\" d=\"M\(f(px(v))) \(f(top)) V\(f(height - bottom))\"/>"
            svg +=
                "<text x=\"\(f(px(v)))\" y=\"\(f(height - bottom + 16))\" text-anchor=\"middle\" class=\"muted\">"
                + "\(html(countLabel(v)))</text>\n"
            for m in [2.0, 5.0] where v * m < xHi {
                svg += "<path class=\"grid\" d=\"M\(f(px(v * m))) \(f(top)) V\(f(height - bottom))\" stroke-dasharray=\"2 3\"/>"
                svg +=
                    "<text x=\"\(f(px(v * m)))\" y=\"\(f(height - bottom + 16))\" text-anchor=\"middle\" class=\"muted\">"
                    + "\(html(countLabel(v * m)))</text>\n"
            }
            d += 1
        }
        svg +=
            "<text x=\"\(f((left + width - right) / 2))\" y=\"\(f(height - 6))\" text-anchor=\"middle\" class=\"muted\">"
            + "IOPS (log scale)</text>\n"
        svg +=
            "<text x=\"14\" y=\"\(f((top + height - bottom) / 2))\" text-anchor=\"middle\" class=\"muted\" transform=\"rotate(-90 "
            + "14 \(f((top + height - bottom) / 2)))\">\(html(pl)) latency</text>\n"
        svg += "<path class=\"axis\" d=\"M\(f(left)) \(f(top)) V\(f(height - bottom)) H\(f(width - right))\"/>\n"
        let sy = py(objective.thresholdNs)
        svg +=
            "<path d=\"M\(f(left)) \(f(sy)) H\(f(width - right))\" stroke=\"#cf222e\" stroke-width=\"1.5\" stroke-dasharray=\"6 "
            + "4\" fill=\"none\"/>"
        svg +=
            "<text x=\"\(f(width - right - 4))\" y=\"\(f(sy - 5))\" text-anchor=\"end\" fill=\"#cf222e\" style=\"fill:#cf222e\">"
            + "objective \(html(objective.description))</text>\n"
        for e in entries {
            let c = color(e.label)
            let p = e.curve.points.filter { $0.iops > 0 && $0.latencyNs > 0 }
            guard !p.isEmpty else { continue }
            let path = p.enumerated().map { "\($0.offset == 0 ? "M" : "L")\(f(px($0.element.iops))) \(f(py($0.element.latencyNs)))" }
                .joined(separator: " ")
            svg +=
                "<path d=\"\(path)\" fill=\"none\" stroke=\"\(c)\" stroke-width=\"2\"\(color.dash(e.label)) stroke-linejoin=\"round\"/>\n"
            for q in p {
                let tip =
                    "\(e.label): \(e.curve.parameter)=\(q.value), \(formatSI(q.iops)) IOPS, \(pl) \(LatencyObjective.duration(q.latencyNs))"
                    + (q.offeredRateMet == false ? ", offered rate not met" : "")
                    + (q.fairness.map { ", Jain \(formatDecimal($0.jain_index, places: 3))" } ?? "")
                let fill = q.offeredRateMet == false ? "#ffffff" : c
                svg +=
                    "<circle cx=\"\(f(px(q.iops)))\" cy=\"\(f(py(q.latencyNs)))\" r=\"3.5\" fill=\"\(fill)\" stroke=\"\(c)\">"
                    + "<title>\(html(tip))</title></circle>"
                svg +=
                    "<text x=\"\(f(px(q.iops) + 5))\" y=\"\(f(py(q.latencyNs) - 5))\" class=\"muted\" style=\"font-size:9px\">"
                    + "\(q.value)</text>\n"
            }
            if e.slo.iops > 0, e.slo.method != .none {
                let tip = "\(e.label): SLO point \(formatSI(e.slo.iops)) IOPS (\(e.slo.method.rawValue)): \(e.slo.note)"
                svg +=
                    "<circle cx=\"\(f(px(e.slo.iops)))\" cy=\"\(f(py(max(e.slo.latencyNs, yLo))))\" r=\"8\" fill=\"none\" "
                    + "stroke=\"\(c)\" stroke-width=\"2\"><title>\(html(tip))</title></circle>\n"
            }
            if let k = e.knee {
                let (x, y) = (px(k.iops), py(k.latencyNs))
                let tip = "\(e.label): knee \(formatSI(k.iops)) IOPS, \(pl) \(LatencyObjective.duration(k.latencyNs)): \(k.note)"
                svg +=
                    "<path d=\"M\(f(x)) \(f(y - 7)) L\(f(x + 7)) \(f(y)) L\(f(x)) \(f(y + 7)) L\(f(x - 7)) \(f(y)) Z\" "
                    + "fill=\"\(c)\" stroke=\"#1f2328\" stroke-width=\"1\"><title>\(html(tip))</title></path>\n"
            }
        }
        svg += "</svg>\n"
        return
            "<figure class=\"wide\"><figcaption>\(html(title)): IOPS against \(html(pl)) latency</figcaption>"
            + "\n\(svg)\(legend(entries.map(\.label), color: color))</figure>\n"
    }
}
