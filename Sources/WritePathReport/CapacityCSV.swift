import WritePathEngine
import WritePathResult

/// Capacity as CSV (columns stable: new ones only at the end; empty = not available; IOPS are
/// I/Os per second, latencies nanoseconds, bandwidth bytes per second, shares as fractions).
public enum CapacityCSV {
    /// `writepath plan --output-format csv`: one row per layer, cheapest first.
    ///
    ///     layer, label, layer_name, tenants_measured, parameter, rw, bs   the curve and its workload
    ///     objective, percentile, objective_ns                              e.g. p99=2ms, 99, 2000000
    ///     slo_iops, slo_method, slo_latency_ns                             the SLO point (measured, interpolated, not_reached, none)
    ///     headroom, usable_iops                                            usable = slo_iops x (1 - headroom)
    ///     demand_tenants, iops_per_tenant, tenants_per_host, hosts         hosts empty when no tenant fits
    ///     tenants_on_busiest_host, load_per_host_iops, bw_per_host_bytes_per_s, margin, latency_at_load_ns
    ///     knee_iops, knee_latency_ns, stop_reason, cheapest, note, source
    public static let planColumns = [
        "layer", "label", "layer_name", "tenants_measured", "parameter", "rw", "bs", "objective", "percentile", "objective_ns",
        "slo_iops", "slo_method", "slo_latency_ns", "headroom", "usable_iops", "demand_tenants", "iops_per_tenant",
        "tenants_per_host", "hosts", "tenants_on_busiest_host", "load_per_host_iops", "bw_per_host_bytes_per_s", "margin",
        "latency_at_load_ns", "knee_iops", "knee_latency_ns", "stop_reason", "cheapest", "note", "source",
    ]

    public static func plan(_ plan: CapacityPlan) -> String {
        let d = plan.demand
        var out = planColumns.joined(separator: ",") + "\n"
        for r in plan.rows { out += planValues(r, d).map(CSVFormat.escape).joined(separator: ",") + "\n" }
        return out
    }

    /// One plan row's cells, in `planColumns` order.
    static func planValues(_ r: PlanRow, _ d: CapacityDemand) -> [String] {
        let c = r.entry.curve
        return [
            c.layer, r.entry.label, c.layerName, "\(c.tenants)", c.parameter, c.workload.rw.rawValue, "\(c.workload.bs)",
            d.objective.text, num(d.objective.percentile), num(d.objective.thresholdNs),
            num(r.capacityIOPS), r.entry.slo.method.rawValue, num(r.entry.slo.latencyNs), num(d.headroom), num(r.usableIOPS),
            "\(d.tenants)", num(d.iopsPerTenant), "\(r.tenantsPerHost)", r.hosts.map(String.init) ?? "",
            r.hosts == nil ? "" : "\(r.tenantsOnBusiestHost)", r.hosts == nil ? "" : num(r.loadPerHostIOPS),
            r.hosts == nil ? "" : num(r.bandwidthPerHost), r.margin.map(num) ?? "", r.latencyAtLoadNs.map(num) ?? "",
            r.entry.knee.map { num($0.iops) } ?? "", r.entry.knee.map { num($0.latencyNs) } ?? "", c.stopReason ?? "",
            r.cheapest ? "1" : "0", r.note, c.source,
        ]
    }

    /// `capacity.csv` of a report: one row per curve point.
    ///
    ///     layer, label, parameter, tenants, step, value, offered      offered: I/Os in flight (iodepth) or I/Os per second (rate_iops)
    ///     iops, bw_bytes_per_s, p50_ns, percentile, latency_ns         latency_ns at the objective's percentile
    ///     offered_rate_met, tenant_iops, min_max_ratio, jain_index     tenant_iops separated by spaces
    ///     slo_iops, slo_method, knee_iops, stop_reason                 the curve's, repeated on each row
    ///     overlap                                                      tenants' estimated measured-together share
    ///     repetitions, rep_iops                                        ok repetitions aggregated; each one's IOPS, separated by spaces
    public static let curveColumns = [
        "layer", "label", "parameter", "tenants", "step", "value", "offered", "iops", "bw_bytes_per_s", "p50_ns", "percentile",
        "latency_ns", "offered_rate_met", "tenant_iops", "min_max_ratio", "jain_index", "slo_iops", "slo_method", "knee_iops",
        "stop_reason",
        "overlap", "repetitions", "rep_iops",
    ]

    public static func curves(_ a: CapacityAnalysis) -> String {
        var out = curveColumns.joined(separator: ",") + "\n"
        for e in a.entries {
            let c = e.curve
            for p in c.points {
                let v: [String] = [
                    c.layer, e.label, c.parameter, "\(c.tenants)", "\(p.step)", "\(p.value)", num(p.offered), num(p.iops),
                    num(p.bwBytesPerSecond), num(p.p50Ns), num(a.objective.percentile), num(p.latencyNs),
                    p.offeredRateMet.map { $0 ? "1" : "0" } ?? "", p.tenantIOPS.map(num).joined(separator: " "),
                    p.fairness.map { num($0.min_max_ratio) } ?? "", p.fairness.map { num($0.jain_index) } ?? "",
                    num(e.slo.iops), e.slo.method.rawValue, e.knee.map { num($0.iops) } ?? "", c.stopReason ?? "",
                    p.overlap.map(num) ?? "", "\(p.repetitions)", p.repIOPS.map(num).joined(separator: " "),
                ]
                out += v.map(CSVFormat.escape).joined(separator: ",") + "\n"
            }
        }
        return out
    }

    static func num(_ d: Double) -> String { CSVFormat.num(d) }
}
