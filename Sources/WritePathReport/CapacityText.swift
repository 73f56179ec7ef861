import WritePathEngine
import WritePathResult

/// Capacity on a terminal: each layer's curve with its SLO point and knee (`writepath sweep`,
/// `writepath report`), and the plan (`writepath plan`). Latencies in microseconds unless a unit
/// is printed; IOPS with SI suffixes.
public enum CapacityText {
    /// One block per curve: the steps, why the sweep stopped, the SLO point and the knee. With
    /// repetitions, each step's ok repetitions and the lowest and highest of their IOPS.
    public static func curves(_ a: CapacityAnalysis) -> String {
        var out = ""
        let pl = a.objective.percentileLabel
        for e in a.entries {
            let c = e.curve
            out +=
                "\n\(e.label): \(c.parameter) sweep of \(c.workload.name) (rw=\(c.workload.rw.rawValue) "
                + "bs=\(ByteSize.format(c.workload.bs)))"
            if let reason = c.stopReason { out += ", stopped: \(reason)" }
            out += "\n"
            let repeated = c.points.contains { $0.repetitions > 1 }
            var lines = [
                [c.parameter, "offered", "IOPS", "BW/s", "p50 us", "\(pl) us"]
                    + (repeated ? ["reps", "rep IOPS"] : [])
                    + (c.tenants > 1 ? ["tenant IOPS", "min/max", "Jain", "overlap"] : [])
            ]
            for p in c.points {
                var l = [
                    "\(p.value)", offered(p.offered, parameter: c.parameter),
                    formatSI(p.iops) + (p.offeredRateMet == false ? " (rate not met)" : ""),
                    ByteSize.format(UInt64(max(p.bwBytesPerSecond, 0))), TextReport.us(p.p50Ns), TextReport.us(p.latencyNs),
                ]
                if repeated {
                    l.append("\(p.repetitions)")
                    l.append(p.repIOPS.isEmpty ? "-" : "\(formatSI(p.repIOPS.min()!))-\(formatSI(p.repIOPS.max()!))")
                }
                if c.tenants > 1 {
                    l.append(p.tenantIOPS.map { formatSI($0) }.joined(separator: "/"))
                    l.append(p.fairness.map { formatDecimal($0.min_max_ratio, places: 2) } ?? "-")
                    l.append(p.fairness.map { formatDecimal($0.jain_index, places: 3) } ?? "-")
                    l.append(p.overlap.map { "\(Int(($0 * 100).rounded()))%" } ?? "-")
                }
                lines.append(l)
            }
            out += table(lines, indent: "  ")
            if !c.failedSteps.isEmpty { out += "  failed steps: \(c.failedSteps.map(String.init).joined(separator: ", "))\n" }
            if let d = c.stopDetail, !d.isEmpty { out += "  stop: \(d)\n" }
            out += "  SLO \(a.objective): \(sloText(e.slo))\n"
            out += "  knee: \(c.points.count < 2 ? "needs at least two ok steps" : kneeText(e.knee, percentile: pl))\n"
            if let f = c.worstFairness {
                out +=
                    "  fairness (least fair step): Jain \(formatDecimal(f.jain_index, places: 3)), min/max "
                    + "\(formatDecimal(f.min_max_ratio, places: 2))\n"
            }
        }
        return out
    }

    /// `38.2k IOPS (interpolated between iodepth=8 and iodepth=16)`.
    public static func sloText(_ s: SLOPoint) -> String {
        switch s.method {
        case .none: return "none (\(s.note))"
        case .notReached: return "at least \(formatSI(s.iops)) IOPS (\(s.note))"
        case .measured, .interpolated:
            return "\(formatSI(s.iops)) IOPS at \(LatencyObjective.duration(s.latencyNs)) (\(s.note))"
        }
    }

    /// `20.1k IOPS, p99 1.1 ms (elasticity crosses 1 between ...)` or `none within the sweep`.
    public static func kneeText(_ k: Knee?, percentile: String) -> String {
        guard let k else { return "none within the sweep (latency never grew faster than throughput)" }
        return "\(formatSI(k.iops)) IOPS, \(percentile) \(LatencyObjective.duration(k.latencyNs)) (\(k.note))"
    }

    /// The plan as a table, the cheapest layer, and what was left out.
    public static func plan(_ plan: CapacityPlan) -> String {
        let d = plan.demand
        let pl = d.objective.percentileLabel
        var out = "demand: \(d.tenants) tenants x \(formatSI(d.iopsPerTenant)) IOPS of \(ByteSize.format(d.bs)) "
        out +=
            "(\(ByteSize.format(UInt64(d.iopsPerTenant * Double(d.bs))))/s each, \(formatSI(d.iopsPerTenant * Double(d.tenants))) "
            + "IOPS in all), "
        out += "objective \(d.objective), headroom \(trimmedNumber(d.headroom * 100, places: 1))%\n\n"
        var lines = [
            [
                "layer", "SLO IOPS", "found by", "usable IOPS", "tenants/host", "hosts", "busiest host", "load/host", "margin",
                "\(pl) at load", "knee IOPS",
            ]
        ]
        for r in plan.rows {
            let s = r.entry.slo
            lines.append([
                r.entry.label + (r.cheapest ? " *" : ""),
                (s.method == .notReached ? ">=" : "") + formatSI(r.capacityIOPS),
                s.method.rawValue,
                formatSI(r.usableIOPS),
                "\(r.tenantsPerHost)",
                r.hosts.map(String.init) ?? "-",
                r.hosts == nil ? "-" : "\(r.tenantsOnBusiestHost) tenants",
                r.hosts == nil ? "-" : formatSI(r.loadPerHostIOPS),
                r.margin.map { formatDecimal($0 * 100, places: 1) + "%" } ?? "-",
                r.latencyAtLoadNs.map { LatencyObjective.duration($0) } ?? "-",
                r.entry.knee.map { formatSI($0.iops) } ?? "-",
            ])
        }
        out += table(lines, indent: "")
        if let best = plan.cheapest, let hosts = best.hosts {
            out +=
                "\ncheapest: \(best.entry.label): \(hosts) host\(hosts == 1 ? "" : "s") for \(d.tenants) tenants, up to "
                + "\(best.tenantsPerHost) per host; "
            out +=
                "the busiest host carries \(best.tenantsOnBusiestHost) (\(formatSI(best.loadPerHostIOPS)) IOPS, "
                + "\(ByteSize.format(UInt64(best.bandwidthPerHost)))/s), "
            out += "leaving \(formatDecimal((best.margin ?? 0) * 100, places: 1))% of its SLO capacity\n"
        } else {
            out += "\nno layer carries a tenant within the objective\n"
        }
        var notes: [String] = []
        for r in plan.rows {
            notes.append("\(r.entry.label): SLO point: \(r.entry.slo.note)\(r.note.isEmpty ? "" : "; \(r.note)")")
        }
        notes += plan.excluded.map { "left out: \($0)" }
        if !notes.isEmpty { out += "\n" + notes.map { "note: \($0)\n" }.joined() }
        return out
    }

    /// `8` (in flight) or `8.0k/s`.
    static func offered(_ v: Double, parameter: String) -> String {
        parameter == "rate_iops" ? formatSI(v) + "/s" : formatDecimal(v, places: 0)
    }

    /// Columns padded to their widest cell; the first left-aligned, the rest right-aligned.
    static func table(_ lines: [[String]], indent: String) -> String {
        guard let header = lines.first else { return "" }
        let widths = header.indices.map { i in lines.map { i < $0.count ? $0[i].count : 0 }.max() ?? 0 }
        var out = ""
        for line in lines {
            var text = indent
            for i in line.indices {
                let pad = String(repeating: " ", count: max(widths[i] - line[i].count, 0))
                text += i == 0 ? line[i] + pad : "  " + pad + line[i]
            }
            out += text + "\n"
        }
        return out
    }
}
