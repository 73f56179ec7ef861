import Foundation
import WritePathEngine
import WritePathResult

/// What a comparison concluded about one metric of one layer × workload.
public enum Verdict: String, Sendable, CaseIterable {
    /// Significantly better (after the family-wise correction) and beyond the threshold.
    case improved
    /// Significantly worse (after the family-wise correction) and beyond the threshold.
    case regressed
    /// The whole 95% interval of the change lies within ±threshold.
    case unchanged
    /// Neither: not significant, the interval straddles the threshold, or n too small.
    case inconclusive
}

/// One metric of one layer × workload, baseline against current.
public struct MetricComparison: Sendable {
    public var layer: String
    public var workload: String
    /// A `RunMetric` raw value, or `runs` for a layer × workload that stopped producing ok runs.
    public var metric: String
    public var higherIsBetter: Bool
    /// Per-repetition values of the ok runs (units of the metric: ns, bytes/s, IOPS).
    public var baseline: [Double]
    public var current: [Double]
    /// With `Comparison.relativeTo`: the reference layer's values, same workload, each side.
    public var referenceBaseline: [Double] = []
    public var referenceCurrent: [Double] = []
    /// Relative change, a fraction (0.05 is +5%): of the geometric means, or, relative to a
    /// reference layer, of this layer's ratio of geometric means to the reference's.
    public var change: Double?
    /// 95% interval of `change` (Welch t on log values); nil when n is too small.
    public var changeLow: Double?
    public var changeHigh: Double?
    /// One-sided p-value of "no change" against "worse", before and after the family-wise correction.
    public var pWorse: Double?
    public var pWorseAdjusted: Double?
    /// The same against "better".
    public var pBetter: Double?
    public var pBetterAdjusted: Double?
    public var verdict: Verdict
    /// Why, in a few words.
    public var reason: String

    public var baselineMedian: Double? { Stats.median(baseline) }
    public var currentMedian: Double? { Stats.median(current) }
    public var label: String { "\(layer) / \(workload)" }
}

/// BASELINE against CURRENT: a verdict per layer × workload × metric, and notes on what differs
/// between the two (hosts, kernels, layer settings, workloads).
///
/// Absolute: the change of a metric is the ratio of its geometric means over ok repetitions minus
/// one (for lognormal data, of medians), with Welch's t on log values. Relative to a layer R
/// (`relativeTo`): the change of the layer's ratio to R, `(L_cur/R_cur) / (L_base/R_base) − 1`,
/// a four-group Welch contrast on log values, so a uniformly slower machine changes nothing; R
/// itself is not judged. Every group needs `LogContrast.minimumRepetitions` ok repetitions, else
/// the row is inconclusive ("n too small"), with no interval.
///
/// One-sided p-values (worse; better) of every metric row form one family, corrected by `correction`
/// (Holm or Benjamini-Hochberg) at `alpha`. With threshold t (0.05 = 5%):
/// - regressed: significantly worse after the correction and the change beyond t in the bad direction;
/// - improved: the same in the good direction;
/// - unchanged: the 95% interval entirely within ±t;
/// - inconclusive: otherwise.
/// A layer × workload with ok runs in the baseline and only `failed` runs now is regressed
/// (metric `runs`); one that is `unavailable` or `interrupted` now is inconclusive.
public struct Comparison: Sendable {
    public var threshold: Double
    public var rows: [MetricComparison]
    /// Differences between the two sides a reader must know.
    public var notes: [String]
    public var baselinePaths: [String]
    public var currentPaths: [String]
    /// The reference layer of a relative comparison; nil for an absolute one.
    public var relativeTo: String?
    /// The family-wise level.
    public var alpha: Double = defaultAlpha
    public var correction: MultipleComparisons = .holm
    /// How many one-sided tests of each direction the correction covered.
    public var familySize = 0
    /// The host judged against the rest of its fleet (`compare --canary`); nil for BASELINE against CURRENT.
    public var canary: String? = nil

    /// What the two sides are called in tables: `baseline` and `current`, or `fleet` and the canary.
    public var sideNames: (baseline: String, current: String) { canary.map { ("fleet", $0) } ?? ("baseline", "current") }

    public static let defaultAlpha = 0.05

    public var regressions: [MetricComparison] { rows.filter { $0.verdict == .regressed } }
    /// 0 when nothing regressed, 1 when something did.
    public var exitCode: Int32 { regressions.isEmpty ? 0 : 1 }

    /// Settings that differ from run to run without changing the write path.
    static let ignoredSettings: Set<String> = Aggregation.perRunSettings.union(["image"]).union(LayerIdentity.locationParameters)

    /// Compares `current` against `baseline`; `threshold` is a fraction (0.05 = 5%). `relativeTo`
    /// names the reference layer of a relative comparison (nil: absolute).
    public static func compare(
        baseline: ResultInput, current: ResultInput, threshold: Double,
        metrics: [RunMetric] = RunMetric.allCases, relativeTo: String? = nil,
        alpha: Double = defaultAlpha, correction: MultipleComparisons = .holm
    ) -> Comparison {
        var rows: [MetricComparison] = []
        var notes: [String] = []
        let baseGroups = Aggregation.group(baseline.runs)
        let curGroups = Aggregation.group(current.runs)
        typealias Groups = [(layer: String, workload: String, runs: [RunResult])]
        func okValues(_ g: Groups, layer: String, workload: String, _ m: RunMetric) -> [Double]? {
            guard let found = g.first(where: { $0.layer == layer && $0.workload == workload }) else { return nil }
            return found.runs.filter { $0.status == .ok }.compactMap { m.value($0) }
        }
        if let r = relativeTo {
            notes.append("relative to \(r): each layer's ratio to \(r) is compared, not its absolute numbers; \(r) itself is not judged")
        }
        for c in curGroups {
            if let r = relativeTo, c.layer == r { continue }
            guard let b = baseGroups.first(where: { $0.layer == c.layer && $0.workload == c.workload }) else {
                notes.append("\(c.layer) / \(c.workload) is only in CURRENT: not compared")
                continue
            }
            let bOK = b.runs.filter { $0.status == .ok }, cOK = c.runs.filter { $0.status == .ok }
            if let bw = bOK.first?.workload, let cw = cOK.first?.workload {
                // Where the target lives is the layer's business; every other option must match.
                func options(_ w: Workload) -> [String] {
                    w.commandLineArguments.filter { !$0.hasPrefix("--directory=") && !$0.hasPrefix("--filename=") }
                }
                if options(bw) != options(cw) {
                    notes.append(
                        "\(c.layer) / \(c.workload): the workload differs: baseline \(options(bw).joined(separator: " ")) vs "
                            + "current \(options(cw).joined(separator: " "))"
                    )
                }
            }
            if let bs = bOK.first?.layer.settings, let cs = cOK.first?.layer.settings {
                let keys = Set(bs.keys).union(cs.keys).subtracting(ignoredSettings).sorted()
                let diffs = keys.filter { bs[$0] != cs[$0] }.map { "\($0): \(bs[$0] ?? "-") -> \(cs[$0] ?? "-")" }
                if !diffs.isEmpty { notes.append("\(c.layer) / \(c.workload): layer settings differ: \(diffs.joined(separator: ", "))") }
            }
            if cOK.isEmpty || bOK.isEmpty {
                let failedNow = !bOK.isEmpty && c.runs.contains { $0.status == .failed }
                let statuses = Set((bOK.isEmpty ? b.runs : c.runs).map(\.status.description)).sorted().joined(separator: ", ")
                rows.append(
                    MetricComparison(
                        layer: c.layer, workload: c.workload, metric: "runs", higherIsBetter: true,
                        baseline: [Double(bOK.count)], current: [Double(cOK.count)], change: nil, changeLow: nil, changeHigh: nil,
                        verdict: failedNow ? .regressed : .inconclusive,
                        reason: bOK.isEmpty
                            ? "no ok runs in BASELINE (\(statuses))" : "no ok runs in CURRENT (\(statuses)); BASELINE had \(bOK.count)"))
                continue
            }
            for m in metrics {
                let bv = bOK.compactMap { m.value($0) }, cv = cOK.compactMap { m.value($0) }
                guard !bv.isEmpty, !cv.isEmpty else { continue }
                var row = MetricComparison(
                    layer: c.layer, workload: c.workload, metric: m.rawValue, higherIsBetter: m.higherIsBetter,
                    baseline: bv, current: cv, change: nil, changeLow: nil, changeHigh: nil,
                    verdict: .inconclusive, reason: "")
                var groups: [(values: [Double], sign: Double)] = [(cv, 1), (bv, -1)]
                if let r = relativeTo {
                    guard let rb = okValues(baseGroups, layer: r, workload: c.workload, m), !rb.isEmpty,
                        let rc = okValues(curGroups, layer: r, workload: c.workload, m), !rc.isEmpty
                    else {
                        row.reason = "no ok \(r) runs of \(c.workload) on both sides to compare against"
                        rows.append(row)
                        continue
                    }
                    row.referenceBaseline = rb
                    row.referenceCurrent = rc
                    groups += [(rc, -1), (rb, 1)]
                }
                let means = groups.compactMap { Stats.geometricMean($0.values) }
                if means.count == groups.count {
                    row.change = exp(zip(groups, means).reduce(0) { $0 + $1.0.sign * log($1.1) }) - 1
                }
                if let contrast = LogContrast(groups) {
                    let i = contrast.interval(level: Stats.confidence)
                    row.changeLow = exp(i.low) - 1
                    row.changeHigh = exp(i.high) - 1
                    row.pWorse = m.higherIsBetter ? contrast.pValueBelowZero : contrast.pValueAboveZero
                    row.pBetter = m.higherIsBetter ? contrast.pValueAboveZero : contrast.pValueBelowZero
                } else {
                    let fewest = groups.map(\.values.count).min() ?? 0
                    row.reason =
                        Stats.median(bv) == 0
                        ? "baseline is 0: no relative change"
                        : fewest < LogContrast.minimumRepetitions
                            ? "n too small: \(fewest) ok repetitions, the interval needs \(LogContrast.minimumRepetitions) in every group"
                            : "a value is zero or negative: no interval on log values"
                }
                rows.append(row)
            }
        }
        for b in baseGroups where !curGroups.contains(where: { $0.layer == b.layer && $0.workload == b.workload }) {
            notes.append("\(b.layer) / \(b.workload) is only in BASELINE: not compared")
        }
        let tested = adjustFamily(&rows, correction)
        for i in tested { (rows[i].verdict, rows[i].reason) = judge(rows[i], threshold: threshold, alpha: alpha) }
        notes.insert(contentsOf: hostNotes(baseline, current), at: 0)
        return Comparison(
            threshold: threshold, rows: rows, notes: notes, baselinePaths: baseline.sources.map(\.path),
            currentPaths: current.sources.map(\.path), relativeTo: relativeTo, alpha: alpha, correction: correction,
            familySize: tested.count)
    }

    /// One family of tests per direction over every tested row (`pWorse` set): sets the adjusted
    /// p-values and returns the tested rows' indices.
    static func adjustFamily(_ rows: inout [MetricComparison], _ correction: MultipleComparisons) -> [Int] {
        let tested = rows.indices.filter { rows[$0].pWorse != nil }
        let worse = correction.adjust(tested.map { rows[$0].pWorse! })
        let better = correction.adjust(tested.map { rows[$0].pBetter! })
        for (k, i) in tested.enumerated() {
            rows[i].pWorseAdjusted = worse[k]
            rows[i].pBetterAdjusted = better[k]
        }
        return tested
    }

    /// The verdict of a tested row (adjusted p-values set), as documented on the type.
    public static func judge(_ r: MetricComparison, threshold t: Double, alpha: Double) -> (Verdict, String) {
        guard let change = r.change, let low = r.changeLow, let high = r.changeHigh,
            let pw = r.pWorseAdjusted, let pb = r.pBetterAdjusted
        else { return (.inconclusive, r.reason) }
        // g > 0 is better, whatever the metric.
        let g = r.higherIsBetter ? change : -change
        let gl = r.higherIsBetter ? low : -high, gh = r.higherIsBetter ? high : -low
        let p = { (v: Double) in "adjusted p \(formatDecimal(v, places: v < 0.001 ? 5 : 3))" }
        if pw <= alpha && g < -t { return (.regressed, "worse beyond the threshold, \(p(pw))") }
        if pb <= alpha && g > t { return (.improved, "better beyond the threshold, \(p(pb))") }
        if gl >= -t && gh <= t { return (.unchanged, "interval within the threshold") }
        if pw <= alpha { return (.inconclusive, "significantly worse (\(p(pw))) but the change is within the threshold") }
        if pb <= alpha { return (.inconclusive, "significantly better (\(p(pb))) but the change is within the threshold") }
        return (.inconclusive, "not significant (\(p(min(pw, pb)))), interval crosses the threshold")
    }

    static func hostNotes(_ baseline: ResultInput, _ current: ResultInput) -> [String] {
        var notes: [String] = []
        let bh = baseline.sources.map(\.document.host), ch = current.sources.map(\.document.host)
        func distinct(_ f: (HostInfo) -> String, _ hosts: [HostInfo]) -> [String] {
            var out: [String] = []
            for h in hosts where !out.contains(f(h)) { out.append(f(h)) }
            return out
        }
        let fields: [(String, (HostInfo) -> String)] = [
            ("host", { $0.hostname }), ("kernel", { $0.kernel }), ("CPU", { $0.cpu }), ("cores", { "\($0.cores)" }),
            ("memory", { ByteSize.format($0.memory_bytes) }),
        ]
        for (name, f) in fields {
            let b = distinct(f, bh), c = distinct(f, ch)
            if b != c { notes.append("\(name) differs: baseline \(b.joined(separator: ", ")) vs current \(c.joined(separator: ", "))") }
        }
        let bv = baseline.sources.map { "\($0.document.writepath.version) (\($0.document.writepath.git_commit.prefix(12)))" }
        let cv = current.sources.map { "\($0.document.writepath.version) (\($0.document.writepath.git_commit.prefix(12)))" }
        if Set(bv) != Set(cv) {
            notes.append(
                "writepath: baseline \(Set(bv).sorted().joined(separator: ", ")) vs current \(Set(cv).sorted().joined(separator: ", "))")
        }
        return notes
    }

    /// A metric's value for people: IOPS with an SI suffix, bytes/s, microseconds.
    public static func format(_ value: Double, metric: String) -> String {
        switch metric {
        case RunMetric.iops.rawValue: return formatSI(value)
        case RunMetric.bw.rawValue: return ByteSize.format(value) + "/s"
        case RunMetric.cpuPerIO.rawValue: return formatDecimal(value, places: 0) + " ns"
        case "runs": return formatDecimal(value, places: 0) + " ok"
        default: return TextReport.us(value) + " us"
        }
    }

    /// `-20.1% [-22.0%, -18.3%]`, or `-20.1% (n too small)` without an interval.
    public static func formatChange(_ row: MetricComparison) -> String {
        guard let c = row.change else { return "-" }
        func pct(_ v: Double) -> String { (v >= 0 ? "+" : "") + formatDecimal(v * 100, places: 1) + "%" }
        guard let lo = row.changeLow, let hi = row.changeHigh else {
            return pct(c) + (row.reason.hasPrefix("n too small") ? " (n too small)" : "")
        }
        return "\(pct(c)) [\(pct(lo)), \(pct(hi))]"
    }
}

/// A comparison on a terminal: one line per layer × workload × metric, then notes and a total.
public enum CompareTextFormat {
    public static func render(_ c: Comparison) -> String {
        var lines = [["layer / workload", "metric", c.sideNames.baseline, c.sideNames.current, "change [95% CI]", "verdict"]]
        for r in c.rows {
            lines.append([
                r.label, r.metric, r.baselineMedian.map { Comparison.format($0, metric: r.metric) } ?? "-",
                r.currentMedian.map { Comparison.format($0, metric: r.metric) } ?? "-", Comparison.formatChange(r),
                r.verdict.rawValue + (r.verdict != .unchanged || r.metric == "runs" ? " (\(r.reason))" : ""),
            ])
        }
        let widths = (0..<6).map { i in lines.map { $0[i].count }.max() ?? 0 }
        var out = ""
        for line in lines {
            out +=
                line.indices.map { i in
                    let pad = String(repeating: " ", count: widths[i] - line[i].count)
                    return i == 0 || i == 1 || i == 5 ? line[i] + (i == 5 ? "" : pad) : pad + line[i]
                }.joined(separator: "  ") + "\n"
        }
        for n in c.notes { out += "note: \(n)\n" }
        out += summary(c) + "\n"
        return printableLines(out)
    }

    /// `2 regressed, 1 improved, 30 unchanged, 3 inconclusive (threshold 5%, alpha 0.05 family-wise,
    /// Benjamini-Hochberg over 60 tests, relative to host)`.
    public static func summary(_ c: Comparison) -> String {
        let counts = Verdict.allCases.map { v in "\(c.rows.filter { $0.verdict == v }.count) \(v.rawValue)" }
        return counts.joined(separator: ", ") + " (threshold \(formatDecimal(c.threshold * 100, places: 1))%"
            + ", alpha \(formatDecimal(c.alpha, places: 3))"
            + " family-wise, \(c.correction.displayName) over \(c.familySize) tests, "
            + (c.relativeTo.map { "relative to \($0)" } ?? "absolute") + (c.canary.map { ", canary \($0) against the fleet" } ?? "") + ")"
    }
}
