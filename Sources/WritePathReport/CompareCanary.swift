import Foundation
import WritePathEngine
import WritePathResult

extension Comparison {
    /// One host of a fleet (the canary) against the other hosts: is what each layer costs on the
    /// canary outside the spread of what it costs on the rest of the fleet?
    ///
    /// A layer's cost on a host is its ratio to the reference layer (`relativeTo`, the baseline
    /// layer) of the same host and workload, per metric, on log values: `l_h = mean(log L_h) −
    /// mean(log R_h)`; without a reference (`relativeTo` nil) `l_h = mean(log L_h)`. Over the k other
    /// hosts with ok runs of both, the fleet's mean `μ` and variance `s²` of `l_h`. The canary's
    /// `l_c` is Welch's contrast of its own repetitions (variance `v_c`). The row's change is
    /// `exp(l_c − μ) − 1`: the canary's cost against the fleet's geometric mean cost; its 95% interval
    /// and one-sided p-values come from `(l_c − μ) / √(s²(1 + 1/k) + v_c)` with Welch-Satterthwaite
    /// degrees of freedom (k − 1 for the fleet, Welch's for the canary): a prediction interval for
    /// one more host of the fleet, widened by the canary's own noise.
    ///
    /// The p-values of all rows form one family (`correction` at `alpha`), judged as `compare`
    /// does (`Comparison.judge`, `threshold` a fraction), and then only a row whose cost is also
    /// outside the range the other hosts span (worse than every one of them for `regressed`, better
    /// for `improved`) keeps its verdict; inside it, the row is inconclusive. Rows need two other
    /// hosts and `LogContrast.minimumRepetitions` ok canary repetitions of each group, else they are
    /// inconclusive with the reason. A layer × workload with ok runs on another host and only
    /// `failed` runs on the canary is regressed (metric `runs`).
    ///
    /// In the rows, `baseline` holds one value per other host (the geometric mean of its ok
    /// repetitions; `referenceBaseline` the same for the reference layer), `current` the canary's
    /// repetitions. `input` must label its sources with hosts (a fleet folder does).
    public static func canary(
        _ canary: String, in input: ResultInput, threshold: Double, metrics: [RunMetric] = RunMetric.allCases,
        relativeTo: String? = "host", alpha: Double = defaultAlpha, correction: MultipleComparisons = .holm
    ) -> Comparison {
        let groups = Aggregation.hostGroups(input)
        var hostOrder: [String] = []
        for g in groups { if let h = g.host, !hostOrder.contains(h) { hostOrder.append(h) } }
        let others = hostOrder.filter { $0 != canary }
        var rows: [MetricComparison] = []
        var notes: [String] = []
        func runs(_ host: String, _ layer: String, _ workload: String) -> [RunResult]? {
            groups.first { $0.host == host && $0.group.layer == layer && $0.group.workload == workload }?.group.runs
        }
        func okValues(_ runs: [RunResult]?, _ m: RunMetric) -> [Double] {
            (runs ?? []).filter { $0.status == .ok }.compactMap { m.value($0) }.filter { $0 > 0 && $0.isFinite }
        }
        let reference = relativeTo.map { "its ratio to \($0) on the same host" } ?? "its absolute numbers"
        notes.append(
            "canary \(canary) against the fleet's \(others.count) other hosts (\(others.joined(separator: ", "))): "
                + "for each layer, \(reference), against the spread of the same over the other hosts; "
                + "flagged only outside the fleet's spread (beyond every other host, the threshold and a 95% prediction interval)")
        for c in groups where c.host == canary {
            let layer = c.group.layer, workload = c.group.workload
            if let r = relativeTo, layer == r { continue }
            let fleetRuns = others.compactMap { h in runs(h, layer, workload).map { (host: h, runs: $0) } }
            guard !fleetRuns.isEmpty else {
                notes.append("\(layer) / \(workload) is only on \(canary): not compared")
                continue
            }
            let canaryOK = c.group.runs.filter { $0.status == .ok }
            let fleetOK = fleetRuns.filter { $0.runs.contains { $0.status == .ok } }
            if canaryOK.isEmpty || fleetOK.isEmpty {
                let failedNow = !fleetOK.isEmpty && c.group.runs.contains { $0.status == .failed }
                let statuses = Set((canaryOK.isEmpty ? c.group.runs : fleetRuns.flatMap(\.runs)).map(\.status.description))
                rows.append(
                    MetricComparison(
                        layer: layer, workload: workload, metric: "runs", higherIsBetter: true,
                        baseline: fleetRuns.map { Double($0.runs.filter { $0.status == .ok }.count) }, current: [Double(canaryOK.count)],
                        change: nil, changeLow: nil, changeHigh: nil, verdict: failedNow ? .regressed : .inconclusive,
                        reason: canaryOK.isEmpty
                            ? "no ok runs on \(canary) (\(statuses.sorted().joined(separator: ", "))); "
                                + "\(fleetOK.count) other hosts have some"
                            : "no ok runs on the other hosts (\(statuses.sorted().joined(separator: ", ")))"))
                continue
            }
            for m in metrics {
                let cv = okValues(c.group.runs, m)
                guard !cv.isEmpty else { continue }
                var row = MetricComparison(
                    layer: layer, workload: workload, metric: m.rawValue, higherIsBetter: m.higherIsBetter,
                    baseline: [], current: cv, change: nil, changeLow: nil, changeHigh: nil, verdict: .inconclusive, reason: "")
                var canaryGroups: [(values: [Double], sign: Double)] = [(cv, 1)]
                if let r = relativeTo {
                    let rc = okValues(runs(canary, r, workload), m)
                    guard !rc.isEmpty else {
                        row.reason = "no ok \(r) runs of \(workload) on \(canary) to compare against"
                        rows.append(row)
                        continue
                    }
                    row.referenceCurrent = rc
                    canaryGroups.append((rc, -1))
                }
                // Each other host's cost: log of its geometric mean (over the reference's).
                var fleetLogs: [Double] = []
                for f in fleetRuns {
                    guard let lm = Stats.geometricMean(okValues(f.runs, m)) else { continue }
                    if let r = relativeTo {
                        guard let rm = Stats.geometricMean(okValues(runs(f.host, r, workload), m)) else { continue }
                        row.referenceBaseline.append(rm)
                        fleetLogs.append(log(lm) - log(rm))
                    } else {
                        fleetLogs.append(log(lm))
                    }
                    row.baseline.append(lm)
                }
                guard !fleetLogs.isEmpty else { continue }
                let k = Double(fleetLogs.count)
                let mu = fleetLogs.reduce(0, +) / k
                let means = canaryGroups.compactMap { Stats.geometricMean($0.values) }
                let canaryLog = zip(canaryGroups, means).reduce(0) { $0 + $1.0.sign * log($1.1) }
                row.change = exp(canaryLog - mu) - 1
                let spread = spreadText(canaryLog, fleetLogs, relative: relativeTo != nil, metric: m.rawValue)
                if fleetLogs.count < 2 {
                    row.reason = "fleet too small: \(fleetLogs.count) other host with ok runs, a spread needs 2 (\(spread))"
                } else if let contrast = LogContrast(canaryGroups) {
                    let s2 = fleetLogs.reduce(0) { $0 + ($1 - mu) * ($1 - mu) } / (k - 1)
                    let a = s2 * (1 + 1 / k), b = contrast.standardError * contrast.standardError
                    let se = (a + b).squareRoot()
                    let dfDenominator = a * a / (k - 1) + b * b / contrast.degreesOfFreedom
                    let df = dfDenominator > 0 ? (a + b) * (a + b) / dfDenominator : k - 1
                    let d = canaryLog - mu
                    let q = StudentT.quantile(0.5 + Stats.confidence / 2, df: df)
                    row.changeLow = exp(d - q * se) - 1
                    row.changeHigh = exp(d + q * se) - 1
                    let below = se > 0 ? StudentT.cdf(d / se, df: df) : (d < 0 ? 0 : (d == 0 ? 0.5 : 1))
                    let above = se > 0 ? 1 - below : (d > 0 ? 0 : (d == 0 ? 0.5 : 1))
                    row.pWorse = m.higherIsBetter ? below : above
                    row.pBetter = m.higherIsBetter ? above : below
                    row.reason = spread
                } else {
                    let fewest = canaryGroups.map(\.values.count).min() ?? 0
                    row.reason =
                        "n too small: \(fewest) ok repetitions on \(canary), the interval needs \(LogContrast.minimumRepetitions) "
                        + "in every group (\(spread))"
                }
                rows.append(row)
            }
        }
        for o in others {
            for g in groups where g.host == o && g.group.layer != relativeTo {
                let key = "\(g.group.layer) / \(g.group.workload)"
                if runs(canary, g.group.layer, g.group.workload) == nil, !notes.contains(where: { $0.hasPrefix(key + " is not on") }) {
                    notes.append("\(key) is not on \(canary): not compared")
                }
            }
        }
        let tested = adjustFamily(&rows, correction)
        for i in tested {
            let spread = rows[i].reason
            var (verdict, reason) = judge(rows[i], threshold: threshold, alpha: alpha)
            if verdict == .regressed || verdict == .improved {
                let worse = verdict == .regressed
                if outsideFleet(rows[i], relative: relativeTo != nil, worse: worse) {
                    reason = "outside the fleet's spread, " + reason
                } else {
                    verdict = .inconclusive
                    reason = "\(worse ? "worse" : "better") than the fleet's mean but within its spread"
                }
            }
            (rows[i].verdict, rows[i].reason) = (verdict, "\(reason); \(spread)")
        }
        notes.insert(contentsOf: canaryHostNotes(canary, input), at: 0)
        var out = Comparison(
            threshold: threshold, rows: rows, notes: notes,
            baselinePaths: input.sources.filter { $0.hostLabel != canary }.map(\.path),
            currentPaths: input.sources.filter { $0.hostLabel == canary }.map(\.path), relativeTo: relativeTo, alpha: alpha,
            correction: correction, familySize: tested.count)
        out.canary = canary
        return out
    }

    /// Whether the canary's cost lies beyond every other host's: below the lowest (for `worse` of a
    /// higher-is-better metric) and so on.
    static func outsideFleet(_ r: MetricComparison, relative: Bool, worse: Bool) -> Bool {
        let fleet = fleetCosts(r, relative: relative)
        guard let canary = canaryCost(r, relative: relative), let lo = fleet.min(), let hi = fleet.max() else { return false }
        let lowIsWorse = r.higherIsBetter
        return worse == lowIsWorse ? canary < lo : canary > hi
    }

    /// Each other host's cost of the row (its ratio to the reference, or its value).
    static func fleetCosts(_ r: MetricComparison, relative: Bool) -> [Double] {
        relative ? zip(r.baseline, r.referenceBaseline).map { $0 / $1 } : r.baseline
    }

    /// The canary's cost of the row, from the geometric means of its repetitions.
    static func canaryCost(_ r: MetricComparison, relative: Bool) -> Double? {
        guard let l = Stats.geometricMean(r.current) else { return nil }
        guard relative else { return l }
        return Stats.geometricMean(r.referenceCurrent).map { l / $0 }
    }

    /// `0.12x on the canary, 0.85x-0.93x on 3 other hosts` (ratios), or the values themselves.
    static func spreadText(_ canaryLog: Double, _ fleetLogs: [Double], relative: Bool, metric: String) -> String {
        let f = { (v: Double) in relative ? formatDecimal(exp(v), places: 2) + "x" : format(exp(v), metric: metric) }
        let lo = fleetLogs.min()!, hi = fleetLogs.max()!
        let range = lo == hi ? f(lo) : "\(f(lo))-\(f(hi))"
        return "\(f(canaryLog)) on the canary, \(range) on \(fleetLogs.count) other host\(fleetLogs.count == 1 ? "" : "s")"
    }

    /// What the canary's results say about it that differs from the other hosts (kernel, CPU, ...).
    static func canaryHostNotes(_ canary: String, _ input: ResultInput) -> [String] {
        let mine = input.sources.filter { $0.hostLabel == canary }.map(\.document.host)
        let theirs = input.sources.filter { $0.hostLabel != canary }.map(\.document.host)
        let fields: [(String, (HostInfo) -> String)] = [
            ("kernel", { $0.kernel }), ("CPU", { $0.cpu }), ("cores", { "\($0.cores)" }), ("memory", { ByteSize.format($0.memory_bytes) }),
        ]
        var notes: [String] = []
        for (name, f) in fields {
            let c = Set(mine.map(f)), o = Set(theirs.map(f))
            if !c.isSubset(of: o) {
                notes.append(
                    "\(name) differs: \(canary) \(c.sorted().joined(separator: ", ")), the fleet \(o.sorted().joined(separator: ", "))")
            }
        }
        return notes
    }
}
