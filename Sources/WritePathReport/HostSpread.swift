import WritePathEngine
import WritePathResult

/// Layer × workload over the hosts of a fleet: each host's median IOPS and IOPS ratio to that
/// host's own baseline layer, and the spread between hosts. Empty for results of one host.
public enum HostSpread {
    /// One layer × workload over hosts.
    public struct Row: Sendable, Equatable {
        public var layer: String
        public var workload: String
        /// Hosts with an ok run of this layer × workload, in report order.
        public var hosts: [String]
        /// Each host's median IOPS (I/Os per second), in `hosts` order.
        public var iops: [Double]
        /// Each host's IOPS ratio to its baseline layer, where it has one.
        public var ratios: [Double?]
        /// The largest host median over the smallest (1 = no spread); nil below two hosts.
        public var spread: Double? { iops.count > 1 && (iops.min() ?? 0) > 0 ? iops.max()! / iops.min()! : nil }
    }

    /// The rows of `a` (whose rows carry a host), layer × workload in first-seen order.
    public static func rows(_ a: Aggregation) -> [Row] {
        var out: [Row] = []
        for r in a.rows {
            guard let host = r.host, let iops = r.estimates[.iops]?.median else { continue }
            if let i = out.firstIndex(where: { $0.layer == r.layer && $0.workload == r.workloadIdentity }) {
                out[i].hosts.append(host)
                out[i].iops.append(iops)
                out[i].ratios.append(r.iopsRatio?.point)
            } else {
                out.append(Row(layer: r.layer, workload: r.workloadIdentity, hosts: [host], iops: [iops], ratios: [r.iopsRatio?.point]))
            }
        }
        return out
    }

    /// The text section: one line per layer × workload with the lowest and highest host.
    public static func renderText(_ a: Aggregation) -> String {
        let rows = rows(a)
        guard !rows.isEmpty else { return "" }
        var out = "\nacross hosts (median IOPS per host; spread = highest / lowest):\n"
        for r in rows {
            let lo = r.iops.indices.min { r.iops[$0] < r.iops[$1] }!, hi = r.iops.indices.max { r.iops[$0] < r.iops[$1] }!
            out += "  \(r.layer) / \(r.workload): \(r.hosts.count) hosts, lowest \(r.hosts[lo]) \(formatSI(r.iops[lo]))"
            out += ", highest \(r.hosts[hi]) \(formatSI(r.iops[hi]))"
            out += r.spread.map { ", spread \(formatDecimal($0, places: 2))x" } ?? ""
            let ratios = r.ratios.compactMap { $0 }
            if let rmin = ratios.min(), let rmax = ratios.max() {
                out += ", vs \(a.options.baselineLayer) \(formatDecimal(rmin, places: 2))x-\(formatDecimal(rmax, places: 2))x"
            }
            out += "\n"
        }
        return out
    }

    /// `report-hosts.csv`: one row per layer × workload × host (columns: layer, workload, host,
    /// iops_median, iops_ratio, hosts, iops_spread; the last two repeat the layer × workload's).
    public static func renderCSV(_ a: Aggregation) -> String {
        var out = "layer,workload,host,iops_median,iops_ratio,hosts,iops_spread\n"
        for r in rows(a) {
            for i in r.hosts.indices {
                let fields = [
                    r.layer, r.workload, r.hosts[i], CSVFormat.num(r.iops[i]), r.ratios[i].map { CSVFormat.num($0) } ?? "",
                    "\(r.hosts.count)", r.spread.map { CSVFormat.num($0) } ?? "",
                ]
                out += fields.map(CSVFormat.escape).joined(separator: ",") + "\n"
            }
        }
        return out
    }
}
