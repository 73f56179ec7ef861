import WritePathEngine
import WritePathResult

/// What one layer's write path costs a workload against the baseline layer: the headline of
/// `report.html` and `summary.md` ("what does each write path cost me?").
public struct WritePathCost: Sendable, Equatable {
    /// The layer's label in the results (`docker-volume(write_iops_limit=500)`).
    public var layer: String
    /// The workload's identity (`rand4k`, `rand4k [fio]`).
    public var workload: String
    /// True for a reference that is not a write path to a disk: a layer writing to memory (tmpfs)
    /// or numbers imported from fio. It is drawn on its own scale and listed after the write paths.
    public var isReference: Bool
    /// Median IOPS of the layer's ok repetitions.
    public var iops: Double?
    /// The layer's IOPS over the baseline's (ratio of geometric means, 95% Welch interval on logs).
    public var iopsRatio: Ratio?
    /// The layer's per-repetition p99 latency over the baseline's, same method.
    public var p99Ratio: Ratio?
    /// Merged-histogram p50 minus the baseline's, nanoseconds (negative: lower than the baseline).
    public var addedP50Nanoseconds: Double?
    /// Merged-histogram p99 minus the baseline's, nanoseconds.
    public var addedP99Nanoseconds: Double?

    /// The verdict in words: `costs 12.0% of IOPS, p99 +31.2 us`, `no measurable cost`, `n too small ...`.
    public var verdict: String {
        guard let r = iopsRatio else { return "no comparison (no ok runs in the layer or the baseline)" }
        let pct = formatDecimal(abs(r.point - 1) * 100, places: 1)
        let p99 = addedP99Nanoseconds.map { ", p99 \($0 >= 0 ? "+" : "−")\(TextReport.us(abs($0))) us" } ?? ""
        if isReference {
            return "reference, not a write path to a disk: \(formatDecimal(r.point, places: 2))x the baseline's IOPS\(p99)"
        }
        switch r.intervalIncludesOne {
        case nil: return "n too small to tell (under \(LogContrast.minimumRepetitions) ok repetitions a side)"
        case true?: return "no measurable cost: the IOPS interval includes the baseline\(p99)"
        case false?: return r.point < 1 ? "costs \(pct)% of IOPS\(p99)" : "\(pct)% more IOPS than the baseline\(p99)"
        }
    }

    /// Whether a row is a reference rather than a write path: tmpfs (the data stays in memory, so
    /// the engine's speed is measured) or an import from fio.
    public static func isReference(_ r: LayerWorkloadAggregate) -> Bool {
        if r.settings["source"] == "fio" || r.layerName.lowercased().contains("tmpfs") { return true }
        return (r.okRuns.first ?? r.runs.first)?.target?.filesystem == "tmpfs"
    }

    /// Per workload (first-seen order), every layer but the baseline, write paths first, most
    /// costly (lowest IOPS ratio) first; references last.
    public static func table(_ a: Aggregation) -> [(workload: String, baseline: LayerWorkloadAggregate?, costs: [WritePathCost])] {
        var workloads: [String] = []
        for r in a.rows where !workloads.contains(r.workloadIdentity) { workloads.append(r.workloadIdentity) }
        let baseLayer = a.options.baselineLayer
        return workloads.map { w in
            let rows = a.rows.filter { $0.workloadIdentity == w }
            let base = rows.first { $0.layer == baseLayer }
            var costs = rows.filter { $0.layer != baseLayer }.map { r -> WritePathCost in
                var c = WritePathCost(
                    layer: r.layer, workload: w, isReference: isReference(r), iops: r.estimates[.iops]?.median,
                    iopsRatio: r.iopsRatio, p99Ratio: nil, addedP50Nanoseconds: r.addedP50Nanoseconds,
                    addedP99Nanoseconds: nil)
                if let base {
                    c.p99Ratio = Stats.ratioOfMedians(r.estimates[.p99]?.values ?? [], base.estimates[.p99]?.values ?? [])
                    if let m = r.merged, let b = base.merged, m.count > 0, b.count > 0 {
                        c.addedP99Nanoseconds = Double(m.value(atPercentile: 99)) - Double(b.value(atPercentile: 99))
                    }
                }
                return c
            }
            costs.sort { x, y in
                if x.isReference != y.isReference { return !x.isReference }
                return (x.iopsRatio?.point ?? .infinity) < (y.iopsRatio?.point ?? .infinity)
            }
            return (w, base, costs)
        }
    }

    /// `0.88x [0.84, 0.93]`, or `0.88x (n too small)` without an interval.
    public static func ratioText(_ r: Ratio?) -> String {
        guard let r else { return "–" }
        let point = formatDecimal(r.point, places: 2) + "x"
        guard let lo = r.low, let hi = r.high else { return point + " (n too small)" }
        return point + " [\(formatDecimal(lo, places: 2)), \(formatDecimal(hi, places: 2))]"
    }

    /// `+31.2 us`, `−4.10 us`, or `–`.
    public static func addedText(_ ns: Double?) -> String {
        guard let ns else { return "–" }
        return (ns >= 0 ? "+" : "−") + TextReport.us(abs(ns)) + " us"
    }
}
