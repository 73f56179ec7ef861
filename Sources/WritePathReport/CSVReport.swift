import WritePathEngine
import WritePathResult

/// The report's CSV files: `report.csv`, one row per layer × workload (aggregated), and
/// `report-runs.csv`, one row per run (`CSVFormat`, with the layer identity in `layer`).
///
/// `report.csv` columns (stable: columns are only ever added at the end). Empty means "not
/// available" (no ok run, one repetition, or no baseline). Units: ns, bytes/s, ratios as x.
///
///     layer                      layer identity (matrix spec, e.g. docker-volume(write_iops_limit=500), else name)
///     layer_name                 layer kind (host, docker-volume, qemu-..., fio imports: the --as-layer name)
///     workload, direction        workload name (with ` [fio]` for engine fio); write or read (the direction the metrics describe)
///     rw, bs, iodepth, numjobs   the workload (bs in bytes)
///     runs, ok_runs              runs of any status; runs with status ok (the only ones with metrics)
///     iops_median, iops_ci_low, iops_ci_high, iops_cv                          over ok repetitions
///     bw_bytes_per_s_median, bw_bytes_per_s_ci_low, bw_bytes_per_s_ci_high, bw_bytes_per_s_cv
///     p50_ns_median, p50_ns_ci_low, p50_ns_ci_high        per-repetition p50, median over repetitions
///     p99_ns_median, p99_ns_ci_low, p99_ns_ci_high
///     p99_9_ns_median, p99_9_ns_ci_low, p99_9_ns_ci_high
///     cpu_ns_per_io_median, cpu_ns_per_io_ci_low, cpu_ns_per_io_ci_high
///     merged_ios                 I/Os in the merged histogram
///     merged_lat_min_ns, merged_lat_p50_ns, merged_lat_p90_ns, merged_lat_p99_ns, merged_lat_p99_9_ns,
///     merged_lat_p99_99_ns, merged_lat_max_ns     percentiles of all ok repetitions' merged histograms
///     baseline_layer             the layer ratios are relative to
///     iops_ratio, iops_ratio_ci_low, iops_ratio_ci_high, iops_ratio_ci_includes_1   geometric-mean IOPS / baseline's
///     p50_ratio, p50_ratio_ci_low, p50_ratio_ci_high, p50_ratio_ci_includes_1       geometric-mean p50 / baseline's
///     added_p50_ns               merged p50 minus the baseline's merged p50
///     noisy                      1 when the IOPS CV is above the threshold
///     statuses                   count per status, e.g. "ok=3 failed=1"
///     iops_mde                   smallest drop of the IOPS ratio to the baseline (fraction) compare catches 4 times in 5
///     host                       the host of the row (a fleet: its inventory name); for results of one host, the hosts
///                                of the results (space-separated when several)
///     host_cpu, host_kernel, host_virtualization   what that host's results say of it (host_kernel: the kernels
///                                of the results when not a fleet; the others empty)
///     first_started_at           when the row's first run started (UTC ISO 8601)
///     writepath_commit           the commit of the writepath that wrote the first result document
///
/// CIs are 95% t intervals on log values (at least 3 repetitions; empty below: n too small).
public enum CSVReport {
    /// The columns of `report.csv`.
    public static var columns: [String] {
        var c = ["layer", "layer_name", "workload", "direction", "rw", "bs", "iodepth", "numjobs", "runs", "ok_runs"]
        c += ["iops", "bw_bytes_per_s"].flatMap { ["\($0)_median", "\($0)_ci_low", "\($0)_ci_high", "\($0)_cv"] }
        c += ["p50_ns", "p99_ns", "p99_9_ns", "cpu_ns_per_io"].flatMap { ["\($0)_median", "\($0)_ci_low", "\($0)_ci_high"] }
        c += [
            "merged_ios", "merged_lat_min_ns", "merged_lat_p50_ns", "merged_lat_p90_ns", "merged_lat_p99_ns",
            "merged_lat_p99_9_ns", "merged_lat_p99_99_ns", "merged_lat_max_ns", "baseline_layer",
        ]
        c += ["iops_ratio", "p50_ratio"].flatMap { ["\($0)", "\($0)_ci_low", "\($0)_ci_high", "\($0)_ci_includes_1"] }
        c += ["added_p50_ns", "noisy", "statuses", "iops_mde"]
        c += ["host", "host_cpu", "host_kernel", "host_virtualization", "first_started_at", "writepath_commit"]
        return c
    }

    /// `report.csv`: the header and one row per layer × workload.
    public static func render(_ aggregation: Aggregation) -> String {
        var out = columns.joined(separator: ",") + "\n"
        let hosts = aggregation.hosts.map(\.hostname).uniqued().joined(separator: " ")
        let kernels = aggregation.hosts.map(\.kernel).uniqued().joined(separator: " ")
        let commit = aggregation.provenance?.git_commit ?? ""
        for r in aggregation.rows {
            // ISO 8601 UTC strings sort as times.
            let first = r.runs.map(\.started_at).filter { !$0.isEmpty }.min() ?? ""
            let v = row(r, baseline: aggregation.options.baselineLayer, hosts: hosts, kernels: kernels)
            out +=
                (v + [first, commit])
                .map(CSVFormat.escape).joined(separator: ",") + "\n"
        }
        return out
    }

    /// `report-runs.csv`: `CSVFormat`'s columns, one row per run, `layer` holding the identity.
    public static func renderRuns(_ input: ResultInput) -> String {
        var out = CSVFormat.columns.joined(separator: ",") + "\n"
        for (document, run) in input.sources.flatMap({ s in s.document.runs.map { (s.document, $0) } }) {
            var v = CSVFormat.row(run, in: document)
            v[0] = run.layerIdentity
            out += v.map(CSVFormat.escape).joined(separator: ",") + "\n"
        }
        return out
    }

    /// `hosts` and `kernels`: what the host columns say for a row of results of one host (no
    /// `r.host`): the results' host names and kernels.
    static func row(_ r: LayerWorkloadAggregate, baseline: String, hosts: String = "", kernels: String = "") -> [String] {
        func n(_ d: Double?) -> String { d.map { CSVFormat.num($0) } ?? "" }
        let w = r.workload
        var v = [
            r.layer, r.layerName, r.workloadIdentity, r.direction, w.rw.rawValue, "\(w.bs)", "\(w.iodepth)", "\(w.numjobs)",
            "\(r.runs.count)", "\(r.okRuns.count)",
        ]
        for m in [RunMetric.iops, .bw] {
            let e = r.estimates[m]
            v += [n(e?.median), n(e?.low), n(e?.high), n(e?.cv)]
        }
        for m in [RunMetric.p50, .p99, .p99_9, .cpuPerIO] {
            let e = r.estimates[m]
            v += [n(e?.median), n(e?.low), n(e?.high)]
        }
        if let h = r.merged, h.count > 0 {
            let s = h.summary
            v += ["\(h.count)", "\(s.min)", "\(s.p50)", "\(s.p90)", "\(s.p99)", "\(s.p99_9)", "\(s.p99_99)", "\(s.max)"]
        } else {
            v += Array(repeating: "", count: 8)
        }
        v.append(baseline)
        for ratio in [r.iopsRatio, r.p50Ratio] {
            v += [n(ratio?.point), n(ratio?.low), n(ratio?.high), ratio?.intervalIncludesOne.map { $0 ? "1" : "0" } ?? ""]
        }
        var counts: [String: Int] = [:]
        for run in r.runs { counts[run.status.description, default: 0] += 1 }
        v += [
            n(r.addedP50Nanoseconds), r.noisy ? "1" : "0",
            counts.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " "),
            n(r.iopsMinimumDetectableDrop),
        ]
        let h = r.hostInfo
        v += [r.host ?? hosts, h?.cpu ?? "", h?.kernel ?? kernels, h?.virtualization?.phrase ?? (h == nil ? "" : "none found")]
        return v
    }
}

extension Array where Element: Hashable {
    /// The elements in first-seen order without repeats.
    func uniqued() -> [Element] {
        var seen = Set<Element>()
        return filter { seen.insert($0).inserted }
    }
}
