import WritePathEngine
import WritePathResult

/// `writepath.prom`: the aggregated rows in Prometheus' text exposition format (version 0.0.4),
/// for node_exporter's textfile collector or a Pushgateway. One sample per layer × workload of:
/// median IOPS and bandwidth (bytes/s), the latency quantiles of the merged histograms as a
/// summary in seconds (with `_sum` and `_count`), the IOPS ratio to the baseline layer, and the
/// runs and ok runs. Labels: `layer`, `workload`, `host` (and `baseline` on the ratio).
public enum PrometheusFormat {
    /// The quantiles of `writepath_latency_seconds`.
    public static let quantiles: [(label: String, percentile: Double)] = [("0.5", 50), ("0.9", 90), ("0.99", 99), ("0.999", 99.9)]

    public static func render(_ a: Aggregation) -> String {
        let host = a.hosts.map(\.hostname).uniqued().joined(separator: " ")
        func labels(_ r: LayerWorkloadAggregate, _ extra: [(String, String)] = []) -> String {
            let all = [("layer", r.layer), ("workload", r.workloadIdentity), ("host", host)] + extra
            return "{" + all.map { "\($0.0)=\"\(escape($0.1))\"" }.joined(separator: ",") + "}"
        }
        var out = ""
        func family(_ name: String, _ type: String, _ help: String, _ samples: [String]) {
            guard !samples.isEmpty else { return }
            out += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n" + samples.map { $0 + "\n" }.joined()
        }
        family(
            "writepath_iops", "gauge", "Median I/Os per second over the ok repetitions of a layer and workload.",
            a.rows.compactMap { r in r.estimates[.iops].map { "writepath_iops\(labels(r)) \(number($0.median))" } })
        family(
            "writepath_bandwidth_bytes_per_second", "gauge", "Median bandwidth over the ok repetitions, bytes per second.",
            a.rows.compactMap { r in r.estimates[.bw].map { "writepath_bandwidth_bytes_per_second\(labels(r)) \(number($0.median))" } })
        var latency: [String] = []
        for r in a.rows {
            guard let h = r.merged, h.count > 0 else { continue }
            for q in quantiles {
                latency.append(
                    "writepath_latency_seconds\(labels(r, [("quantile", q.label)])) "
                        + number(Double(h.value(atPercentile: q.percentile)) / 1e9)
                )
            }
            latency.append("writepath_latency_seconds_sum\(labels(r)) \(number(h.summary.mean * Double(h.count) / 1e9))")
            latency.append("writepath_latency_seconds_count\(labels(r)) \(h.count)")
        }
        family(
            "writepath_latency_seconds", "summary",
            "Submission-to-completion latency from the merged histograms of the ok repetitions, seconds.", latency)
        family(
            "writepath_iops_ratio", "gauge", "IOPS over the baseline layer's (ratio of geometric means).",
            a.rows.compactMap { r in
                r.iopsRatio.map { "writepath_iops_ratio\(labels(r, [("baseline", a.options.baselineLayer)])) \(number($0.point))" }
            })
        family(
            "writepath_runs", "gauge", "Runs of a layer and workload, of any status.",
            a.rows.map { "writepath_runs\(labels($0)) \($0.runs.count)" })
        family(
            "writepath_ok_runs", "gauge", "Runs of a layer and workload with status ok.",
            a.rows.map { "writepath_ok_runs\(labels($0)) \($0.okRuns.count)" })
        return out
    }

    /// A label value with `\`, `"` and newlines escaped, as the text format requires.
    static func escape(_ s: String) -> String {
        var out = ""
        for ch in s {
            switch ch {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "\n": out += "\\n"
            default: out.append(ch)
            }
        }
        return out
    }

    /// A sample value: finite numbers in plain decimal, `NaN`, `+Inf`, `-Inf` otherwise.
    static func number(_ v: Double) -> String {
        if v.isNaN { return "NaN" }
        if v.isInfinite { return v > 0 ? "+Inf" : "-Inf" }
        if v == v.rounded() && abs(v) < 1e15 { return String(Int64(v)) }
        return "\(v)"
    }
}
