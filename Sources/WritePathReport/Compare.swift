import WritePathEngine

/// What a comparison concluded about one metric of one layer × workload.
public enum Verdict: String, Sendable, CaseIterable {
    /// The whole 95% interval of the change is beyond the threshold in the good direction.
    case improved
    /// The whole 95% interval of the change is beyond the threshold in the bad direction.
    case regressed
    /// The whole 95% interval of the change lies within ±threshold.
    case unchanged
    /// Neither: the interval straddles the threshold, or there are too few repetitions.
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
    /// Relative change of the medians, `median(current) / median(baseline) - 1` (0.05 is +5%).
    public var change: Double?
    /// 95% bootstrap interval of `change`; nil with one repetition on either side.
    public var changeLow: Double?
    public var changeHigh: Double?
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
/// The change of a metric is the ratio of the medians over ok repetitions minus one; its 95%
/// interval comes from a percentile bootstrap (2000 resamples of each side, fixed seed). With
/// `threshold` t (0.05 = 5%):
/// - regressed: the interval lies entirely beyond t in the bad direction (lower IOPS or
///   bandwidth; higher latency or CPU per I/O);
/// - improved: entirely beyond t in the good direction;
/// - unchanged: entirely within ±t;
/// - inconclusive: otherwise.
/// With one repetition on either side there is no interval: the point change must exceed 2t to be
/// called regressed or improved; anything smaller is inconclusive.
/// A layer × workload with ok runs in the baseline and only `failed` runs now is regressed
/// (metric `runs`); one that is `unavailable` or `interrupted` now is inconclusive.
public struct Comparison: Sendable {
    public var threshold: Double
    public var rows: [MetricComparison]
    /// Differences between the two sides a reader must know.
    public var notes: [String]
    public var baselinePaths: [String]
    public var currentPaths: [String]

    public var regressions: [MetricComparison] { rows.filter { $0.verdict == .regressed } }
    /// 0 when nothing regressed, 1 when something did.
    public var exitCode: Int32 { regressions.isEmpty ? 0 : 1 }

    /// Settings that differ from run to run without changing the write path.
    static let ignoredSettings: Set<String> = Aggregation.perRunSettings.union(["image"])

    /// Compares `current` against `baseline`; `threshold` is a fraction (0.05 = 5%).
    public static func compare(baseline: ResultInput, current: ResultInput, threshold: Double,
                               metrics: [RunMetric] = RunMetric.allCases) -> Comparison {
        var rows: [MetricComparison] = []
        var notes: [String] = []
        let baseGroups = Aggregation.group(baseline.runs)
        let curGroups = Aggregation.group(current.runs)
        for c in curGroups {
            guard let b = baseGroups.first(where: { $0.layer == c.layer && $0.workload == c.workload }) else {
                notes.append("\(c.layer) / \(c.workload) is only in CURRENT: not compared")
                continue
            }
            let bOK = b.runs.filter { $0.status == "ok" }, cOK = c.runs.filter { $0.status == "ok" }
            if let bw = bOK.first?.workload, let cw = cOK.first?.workload {
                // Where the target lives is the layer's business; every other option must match.
                func options(_ w: Workload) -> [String] {
                    w.commandLineArguments.filter { !$0.hasPrefix("--directory=") && !$0.hasPrefix("--filename=") }
                }
                if options(bw) != options(cw) {
                    notes.append("\(c.layer) / \(c.workload): the workload differs: baseline \(options(bw).joined(separator: " ")) vs current \(options(cw).joined(separator: " "))")
                }
            }
            if let bs = bOK.first?.layer.settings, let cs = cOK.first?.layer.settings {
                let keys = Set(bs.keys).union(cs.keys).subtracting(ignoredSettings).sorted()
                let diffs = keys.filter { bs[$0] != cs[$0] }.map { "\($0): \(bs[$0] ?? "-") -> \(cs[$0] ?? "-")" }
                if !diffs.isEmpty { notes.append("\(c.layer) / \(c.workload): layer settings differ: \(diffs.joined(separator: ", "))") }
            }
            if cOK.isEmpty || bOK.isEmpty {
                let failedNow = !bOK.isEmpty && c.runs.contains { $0.status == "failed" }
                let statuses = Set((bOK.isEmpty ? b.runs : c.runs).map(\.status)).sorted().joined(separator: ", ")
                rows.append(MetricComparison(
                    layer: c.layer, workload: c.workload, metric: "runs", higherIsBetter: true,
                    baseline: [Double(bOK.count)], current: [Double(cOK.count)], change: nil, changeLow: nil, changeHigh: nil,
                    verdict: failedNow ? .regressed : .inconclusive,
                    reason: bOK.isEmpty ? "no ok runs in BASELINE (\(statuses))" : "no ok runs in CURRENT (\(statuses)); BASELINE had \(bOK.count)"))
                continue
            }
            for m in metrics {
                let bv = bOK.compactMap { m.value($0) }, cv = cOK.compactMap { m.value($0) }
                let seed = Stats.seed(for: "\(c.layer)/\(c.workload)/\(m.rawValue)/compare")
                guard let ratio = Stats.ratioOfMedians(cv, bv, seed: seed) else {
                    // A median of 0 in BASELINE has no relative change; show the row rather than drop it.
                    if !bv.isEmpty, !cv.isEmpty, Stats.median(bv) == 0 {
                        rows.append(MetricComparison(
                            layer: c.layer, workload: c.workload, metric: m.rawValue, higherIsBetter: m.higherIsBetter, baseline: bv,
                            current: cv, change: nil, changeLow: nil, changeHigh: nil, verdict: .inconclusive,
                            reason: "baseline is 0: no relative change"))
                    }
                    continue
                }
                let (verdict, reason) = judge(change: ratio.point - 1, low: ratio.low.map { $0 - 1 }, high: ratio.high.map { $0 - 1 },
                                              threshold: threshold, higherIsBetter: m.higherIsBetter)
                rows.append(MetricComparison(
                    layer: c.layer, workload: c.workload, metric: m.rawValue, higherIsBetter: m.higherIsBetter, baseline: bv, current: cv,
                    change: ratio.point - 1, changeLow: ratio.low.map { $0 - 1 }, changeHigh: ratio.high.map { $0 - 1 },
                    verdict: verdict, reason: reason))
            }
        }
        for b in baseGroups where !curGroups.contains(where: { $0.layer == b.layer && $0.workload == b.workload }) {
            notes.append("\(b.layer) / \(b.workload) is only in BASELINE: not compared")
        }
        notes.insert(contentsOf: hostNotes(baseline, current), at: 0)
        return Comparison(threshold: threshold, rows: rows, notes: notes, baselinePaths: baseline.sources.map(\.path),
                          currentPaths: current.sources.map(\.path))
    }

    /// The verdict for a relative `change` with its interval (fractions), as documented on the type.
    public static func judge(change: Double, low: Double?, high: Double?, threshold t: Double,
                             higherIsBetter: Bool) -> (Verdict, String) {
        // g > 0 is better, whatever the metric.
        let g = higherIsBetter ? change : -change
        guard let low, let high else {
            if g < -2 * t { return (.regressed, "one repetition: change beyond 2x the threshold") }
            if g > 2 * t { return (.improved, "one repetition: change beyond 2x the threshold") }
            return (.inconclusive, "one repetition: no interval, change within 2x the threshold")
        }
        let gl = higherIsBetter ? low : -high, gh = higherIsBetter ? high : -low
        if gh < -t { return (.regressed, "interval entirely beyond the threshold, worse") }
        if gl > t { return (.improved, "interval entirely beyond the threshold, better") }
        if gl >= -t && gh <= t { return (.unchanged, "interval within the threshold") }
        return (.inconclusive, "interval crosses the threshold")
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
            notes.append("writepath: baseline \(Set(bv).sorted().joined(separator: ", ")) vs current \(Set(cv).sorted().joined(separator: ", "))")
        }
        return notes
    }

    /// A metric's value for people: IOPS with an SI suffix, bytes/s, microseconds.
    public static func format(_ value: Double, metric: String) -> String {
        switch metric {
        case RunMetric.iops.rawValue: return TextFormat.si(value)
        case RunMetric.bw.rawValue: return ByteSize.format(value) + "/s"
        case RunMetric.cpuPerIO.rawValue: return formatDecimal(value, places: 0) + " ns"
        case "runs": return formatDecimal(value, places: 0) + " ok"
        default: return TextReport.us(value) + " us"
        }
    }

    /// `-20.1% [-22.0%, -18.3%]`.
    public static func formatChange(_ row: MetricComparison) -> String {
        guard let c = row.change else { return "-" }
        func pct(_ v: Double) -> String { (v >= 0 ? "+" : "") + formatDecimal(v * 100, places: 1) + "%" }
        guard let lo = row.changeLow, let hi = row.changeHigh else { return pct(c) }
        return "\(pct(c)) [\(pct(lo)), \(pct(hi))]"
    }
}

/// A comparison on a terminal: one line per layer × workload × metric, then notes and a total.
public enum CompareTextFormat {
    public static func render(_ c: Comparison) -> String {
        var lines = [["layer / workload", "metric", "baseline", "current", "change [95% CI]", "verdict"]]
        for r in c.rows {
            lines.append([r.label, r.metric, r.baselineMedian.map { Comparison.format($0, metric: r.metric) } ?? "-",
                          r.currentMedian.map { Comparison.format($0, metric: r.metric) } ?? "-", Comparison.formatChange(r),
                          r.verdict.rawValue + (r.verdict == .inconclusive || r.metric == "runs" ? " (\(r.reason))" : "")])
        }
        let widths = (0..<6).map { i in lines.map { $0[i].count }.max() ?? 0 }
        var out = ""
        for line in lines {
            out += line.indices.map { i in
                let pad = String(repeating: " ", count: widths[i] - line[i].count)
                return i == 0 || i == 1 || i == 5 ? line[i] + (i == 5 ? "" : pad) : pad + line[i]
            }.joined(separator: "  ") + "\n"
        }
        for n in c.notes { out += "note: \(n)\n" }
        out += summary(c) + "\n"
        return printableLines(out)
    }

    /// `2 regressed, 1 improved, 30 unchanged, 3 inconclusive (threshold 5%)`.
    public static func summary(_ c: Comparison) -> String {
        let counts = Verdict.allCases.map { v in "\(c.rows.filter { $0.verdict == v }.count) \(v.rawValue)" }
        return counts.joined(separator: ", ") + " (threshold \(formatDecimal(c.threshold * 100, places: 1))%)"
    }
}
