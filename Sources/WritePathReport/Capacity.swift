import Foundation
import WritePathEngine

// Capacity planning: throughput-latency curves from sweeps, the highest load that meets a latency
// objective (the SLO point), the knee, and the stop rules of a sweep. Everything here is a pure
// function of measured points, so it is tested on synthetic curves with known answers.

/// A latency objective: a percentile of per-I/O latency (submission to completion) that must stay
/// at or below a threshold, e.g. `p99=2ms`.
public struct LatencyObjective: Sendable, Equatable, CustomStringConvertible {
    /// The percentile, 0 < percentile < 100: 99 for p99, 99.9 for p99.9.
    public var percentile: Double
    /// The threshold in nanoseconds.
    public var thresholdNs: Double

    public init(percentile: Double, thresholdNs: Double) {
        self.percentile = percentile
        self.thresholdNs = thresholdNs
    }

    /// Parses `p99=2ms`: `p` and a percentile above 0 and below 100 (`p50`, `p99`, `p99.9`,
    /// `p99_9`), `=`, and a duration with its unit: ns, us (or µs), ms or s (`2ms`, `500us`,
    /// `1.5ms`). Throws `invalidInput` naming `field` with an example of what is accepted.
    public static func parse(_ text: String, field: String = "slo") throws -> LatencyObjective {
        let example = "expected a percentile and a duration, e.g. p99=2ms, p99.9=500us or p50=1.5ms"
        let parts = text.lowercased().split(separator: "=", maxSplits: 1).map { String($0).trimmingCharacters(in: .whitespaces) }
        guard parts.count == 2, parts[0].hasPrefix("p") else {
            throw WritePathError.invalidInput(field: field, message: "'\(text)' is not an objective; \(example)")
        }
        let pText = parts[0].dropFirst().replacingOccurrences(of: "_", with: ".")
        guard let p = Double(pText), p > 0, p < 100 else {
            throw WritePathError.invalidInput(
                field: field, message: "'\(parts[0])' is not a percentile above p0 and below p100; \(example)")
        }
        let units: [(String, Double)] = [("ns", 1), ("us", 1e3), ("µs", 1e3), ("ms", 1e6), ("s", 1e9)]
        for (suffix, scale) in units where parts[1].hasSuffix(suffix) {
            guard let v = Double(parts[1].dropLast(suffix.count)), v > 0, v.isFinite, v * scale <= 3.6e12 else { break }
            return LatencyObjective(percentile: p, thresholdNs: v * scale)
        }
        throw WritePathError.invalidInput(
            field: field, message: "'\(parts[1])' is not a duration with a unit (ns, us, ms or s) above 0 and at most 1h; \(example)")
    }

    /// `p99`, `p99.9`.
    public var percentileLabel: String { "p" + trimmedNumber(percentile, places: 4) }
    /// `p99=2ms`: the form `parse` reads.
    public var text: String { "\(percentileLabel)=\(Self.duration(thresholdNs, compact: true))" }
    /// `p99 <= 2 ms`.
    public var description: String { "\(percentileLabel) <= \(Self.duration(thresholdNs))" }

    /// A duration in nanoseconds in the largest unit that keeps it at 1 or more, to three
    /// significant digits: `2 ms`, `750 us`, `1.25 s`, `800 ns`; `compact` (`2ms`, up to three
    /// decimals) is the form `parse` reads.
    public static func duration(_ ns: Double, compact: Bool = false) -> String {
        let (value, unit): (Double, String) =
            ns >= 1e9 ? (ns / 1e9, "s") : ns >= 1e6 ? (ns / 1e6, "ms") : ns >= 1e3 ? (ns / 1e3, "us") : (ns, "ns")
        // Three significant digits (2 ms, 1.47 ms, 183 us); the compact form keeps what `parse` needs.
        let places = compact ? 3 : (value >= 100 ? 0 : value >= 10 ? 1 : 2)
        return trimmedNumber(value, places: places) + (compact ? "" : " ") + unit
    }
}

/// `2`, `2.5`, `99.9`: at most `places` decimals, without trailing zeros.
func trimmedNumber(_ v: Double, places: Int) -> String {
    var s = formatDecimal(v, places: places)
    if s.contains(".") {
        while s.hasSuffix("0") { s.removeLast() }
        if s.hasSuffix(".") { s.removeLast() }
    }
    return s
}

/// One step of a throughput-latency curve.
public struct CurvePoint: Sendable, Equatable {
    /// The step's position in its sweep, from 1.
    public var step: Int
    /// The swept option's value at this step (per job: I/Os in flight or I/Os per second).
    public var value: Int
    /// The offered load over every tenant and job (I/Os in flight for `iodepth` sweeps, I/Os per
    /// second for `rate_iops` sweeps); the curve's order.
    public var offered: Double
    /// Achieved I/Os per second, summed over tenants (with repetitions, the median over the ok ones).
    public var iops: Double
    /// The objective's percentile of per-I/O latency at this step, nanoseconds (the histograms of
    /// every tenant and ok repetition merged).
    public var latencyNs: Double
    /// For rate sweeps: whether at least `Capacity.rateMetFraction` of the offered rate was
    /// achieved; nil for queue-depth sweeps. A step that did not meet its rate counts as beyond
    /// the objective: the engine's latency starts at submission, so the I/Os that waited for a free
    /// slot are not in it, and the real (open-loop) latency grows without bound.
    public var offeredRateMet: Bool?
    /// Each tenant's IOPS, in tenant order (one value with one tenant; with repetitions, each
    /// tenant's median over the ok ones).
    public var tenantIOPS: [Double]
    /// Fairness between the tenants; nil with one tenant.
    public var fairness: Fairness?
    /// Median latency, nanoseconds (merged histograms); 0 when unknown.
    public var p50Ns: Double = 0
    /// Bytes per second of the main direction, summed over tenants; 0 when unknown.
    public var bwBytesPerSecond: Double = 0
    /// With tenants: the estimated share of the runtime they were measured together
    /// (`TenantOverlap`; with repetitions, the lowest of theirs).
    public var overlap: Double?
    /// Each ok repetition's I/Os per second (summed over its tenants), in repetition order;
    /// `iops` is their median. Empty when unknown.
    public var repIOPS: [Double] = []
    /// The repetitions the point aggregates (at least 1).
    public var repetitions: Int { max(repIOPS.count, 1) }

    public init(
        step: Int = 0, value: Int = 0, offered: Double, iops: Double, latencyNs: Double, offeredRateMet: Bool? = nil,
        tenantIOPS: [Double] = [], fairness: Fairness? = nil
    ) {
        self.step = step
        self.value = value
        self.offered = offered
        self.iops = iops
        self.latencyNs = latencyNs
        self.offeredRateMet = offeredRateMet
        self.tenantIOPS = tenantIOPS
        self.fairness = fairness
    }
}

/// One layer's throughput-latency curve from a sweep: its ok steps in order of offered load.
public struct CapacityCurve: Sendable {
    /// The layer's identity (`docker-volume(write_iops_limit=500)`).
    public var layer: String
    /// The layer's kind (`docker-volume`).
    public var layerName: String
    /// The workload of the first step (the swept option at its first value).
    public var workload: Workload
    /// `iodepth` or `rate_iops`.
    public var parameter: String
    /// Tenants that ran at once at every step.
    public var tenants: Int
    /// The latency percentile the points carry (99 for p99).
    public var percentile: Double
    /// Ok steps, in order of offered load.
    public var points: [CurvePoint]
    /// Steps where a tenant's run was not ok (left out of `points`).
    public var failedSteps: [Int]
    /// The result file the curve came from.
    public var source: String
    /// Why the sweep of this layer stopped (`saturated`, ...) and the numbers, when recorded.
    public var stopReason: String?
    public var stopDetail: String?
    /// The filesystem of the first ok run's target (`tmpfs`, `ext4`, ...), when recorded.
    public var targetFilesystem: String?

    /// Whether the target lived in memory (tmpfs, ramfs): the curve measures the engine, not a disk.
    public var memoryBacked: Bool { ["tmpfs", "ramfs", "devtmpfs"].contains(targetFilesystem ?? "") }

    public init(
        layer: String, layerName: String, workload: Workload, parameter: String, tenants: Int, percentile: Double,
        points: [CurvePoint], failedSteps: [Int] = [], source: String = "", stopReason: String? = nil, stopDetail: String? = nil
    ) {
        self.layer = layer
        self.layerName = layerName
        self.workload = workload
        self.parameter = parameter
        self.tenants = tenants
        self.percentile = percentile
        self.points = points
        self.failedSteps = failedSteps
        self.source = source
        self.stopReason = stopReason
        self.stopDetail = stopDetail
    }

    /// `host`, or `docker-volume ×2 tenants`.
    public var label: String { tenants > 1 ? "\(layer) ×\(tenants) tenants" : layer }

    /// The least fair step: its Jain index and min/max ratio; nil with one tenant.
    public var worstFairness: Fairness? {
        points.compactMap(\.fairness).min { $0.jain_index < $1.jain_index }
    }

    /// One step's point from its runs, one per tenant and repetition (`rep`), tagged with `sweep`.
    /// A repetition counts when every one of its runs is ok and has a main direction. IOPS and
    /// bandwidth are summed over a repetition's tenants, then the median is taken over the ok
    /// repetitions (each tenant's IOPS likewise); the latency `percentile` and p50 come from the
    /// merged histograms of every tenant of every ok repetition (main direction; percentiles are
    /// never averaged); fairness from the tenants' median IOPS with more than one tenant; overlap
    /// is the lowest of the repetitions'. Nil when no repetition is ok.
    public static func point(_ stepRuns: [RunResult], percentile: Double) -> CurvePoint? {
        let tagged = stepRuns.filter { $0.sweep != nil }
        guard let tag = tagged.first?.sweep else { return nil }
        let byRep = Dictionary(grouping: tagged, by: \.rep)
        let okReps = byRep.keys.sorted().map { byRep[$0]!.sorted { $0.sweep!.tenant < $1.sweep!.tenant } }
            .filter { $0.allSatisfy { $0.status == "ok" && $0.mainDirection != nil } }
        guard !okReps.isEmpty else { return nil }
        var merged = LatencyHistogram()
        var repIOPS: [Double] = [], repBW: [Double] = [], repAll: [Double] = [], overlaps: [Double] = []
        var tenantIOPS: [Int: [Double]] = [:]
        for runs in okReps {
            for r in runs {
                let d = r.mainDirection!
                if let h = try? LatencyHistogram(encoded: d.histogram) { merged.add(h) }
                tenantIOPS[r.sweep!.tenant, default: []].append(d.iops)
            }
            repIOPS.append(runs.reduce(0) { $0 + $1.mainDirection!.iops })
            repBW.append(runs.reduce(0) { $0 + $1.mainDirection!.bw_bytes_per_s })
            repAll.append(runs.reduce(0) { $0 + ($1.write?.iops ?? 0) + ($1.read?.iops ?? 0) })
            if runs.count > 1, let o = TenantOverlap.estimate(runs) { overlaps.append(o) }
        }
        let perTenant = tenantIOPS.keys.sorted().map { Stats.median(tenantIOPS[$0]!)! }
        let all = Stats.median(repAll)!
        let rateMet: Bool? = tag.parameter == "rate_iops" ? all >= Capacity.rateMetFraction * tag.offered : nil
        var point = CurvePoint(
            step: tag.step, value: tag.value, offered: tag.offered, iops: Stats.median(repIOPS)!,
            latencyNs: Double(merged.count > 0 ? merged.value(atPercentile: percentile) : 0),
            offeredRateMet: rateMet, tenantIOPS: perTenant,
            fairness: perTenant.count > 1 ? Fairness(iops: perTenant) : nil)
        point.p50Ns = Double(merged.count > 0 ? merged.value(atPercentile: 50) : 0)
        point.bwBytesPerSecond = Stats.median(repBW)!
        point.overlap = overlaps.min()
        point.repIOPS = repIOPS
        return point
    }

    /// The curves in `runs`: runs tagged with `sweep`, grouped by layer identity, workload name,
    /// swept option and tenants, one point per step (`point`). A step's IOPS is the sum over its
    /// tenants (the median over repetitions), its latency the `percentile` of the merged histograms
    /// of its runs (main direction: write, else read). Steps without an ok repetition are left out
    /// and listed in `failedSteps`.
    public static func curves(from runs: [RunResult], percentile: Double, source: String = "") -> [CapacityCurve] {
        struct Key: Hashable { var layer: String; var workload: String; var parameter: String; var tenants: Int }
        var order: [Key] = []
        var groups: [Key: [RunResult]] = [:]
        let labels = LayerIdentity.labels(runs)
        for r in runs {
            guard let tag = r.sweep else { continue }
            let k = Key(layer: labels[r.layerSpec]!, workload: r.workload.name, parameter: tag.parameter, tenants: tag.tenants)
            if groups[k] == nil { order.append(k) }
            groups[k, default: []].append(r)
        }
        var curves: [CapacityCurve] = []
        for k in order {
            let group = groups[k]!
            var steps: [Int: [RunResult]] = [:]
            for r in group { steps[r.sweep!.step, default: []].append(r) }
            var points: [CurvePoint] = []
            var failed: [Int] = []
            for step in steps.keys.sorted() {
                if let point = point(steps[step]!, percentile: percentile) { points.append(point) } else { failed.append(step) }
            }
            let first = group.min { $0.sweep!.step < $1.sweep!.step }!
            var curve = CapacityCurve(
                layer: k.layer, layerName: first.layer.name, workload: first.workload, parameter: k.parameter,
                tenants: k.tenants, percentile: percentile,
                points: points.sorted { $0.offered < $1.offered }, failedSteps: failed, source: source)
            curve.targetFilesystem = group.first { $0.status == "ok" }?.target?.filesystem
            curves.append(curve)
        }
        return curves
    }
}

/// The highest sustained throughput whose latency percentile meets the objective.
public struct SLOPoint: Sendable, Equatable {
    public enum Method: String, Sendable {
        /// A measured step: the next step broke the objective without adding throughput.
        case measured
        /// Linear interpolation (IOPS against latency) between the last step that met the objective
        /// and the first that broke it.
        case interpolated
        /// Every step met the objective: `iops` is the highest measured and the capacity is at least that.
        case notReached = "not_reached"
        /// Even the lowest step broke the objective: no load meets it.
        case none
    }
    public var method: Method
    /// I/Os per second at the objective (0 for `none`).
    public var iops: Double
    /// The percentile there, nanoseconds (the objective itself when interpolated).
    public var latencyNs: Double
    /// The offered load there (interpolated like `iops`).
    public var offered: Double
    /// The last step that met the objective and the first that did not (nil where there is none).
    public var lowerStep: Int?
    public var upperStep: Int?
    /// What the reader must know: how it was found, steps that met the objective again later.
    public var note: String
}

/// Where latency starts to climb faster than throughput.
///
/// Definition: between consecutive steps a → b (in order of offered load) the curve's elasticity
/// is e = Δln(latency) / Δln(IOPS): the percentage latency grows per percentage of throughput
/// gained. (When IOPS did not grow, e is +∞ if latency grew and 0 otherwise.) Below the knee
/// e ≤ 1: more load buys at least as much throughput as it costs latency; the knee is where e
/// first exceeds 1. Each segment's elasticity is placed at its midpoint on log(IOPS) and the knee
/// is where the elasticity crosses 1, interpolated linearly on log(IOPS) between the last segment
/// with e ≤ 1 and the first with e > 1. When the first segment is already steeper, the knee is the
/// first step; when the first steep segment gained no throughput, it is the step where throughput
/// stopped. For an M/M/1 queue, latency = s/(1-ρ) and IOPS = ρ/s, so e = ρ/(1-ρ) and the knee is at
/// ρ = 0.5, latency 2s.
public struct Knee: Sendable, Equatable {
    /// I/Os per second at the knee.
    public var iops: Double
    /// The percentile there, nanoseconds (log-log interpolation along the curve when interpolated).
    public var latencyNs: Double
    /// The offered load there (interpolated on log scales like `iops`).
    public var offered: Double
    /// The measured step where the first steep segment starts.
    public var step: Int
    /// The swept option's value at `step`.
    public var value: Int
    /// Whether `iops` lies between steps (interpolated) rather than on one.
    public var interpolated: Bool
    /// The elasticity of the first steep segment (may be +∞).
    public var elasticity: Double
    public var note: String
}

/// The analysis of throughput-latency curves: the SLO point and the knee.
public enum Capacity {
    /// In a rate sweep, a step whose achieved IOPS (every direction) is below this fraction of the
    /// offered rate did not meet its rate.
    public static let rateMetFraction = 0.9

    static func meets(_ p: CurvePoint, _ thresholdNs: Double) -> Bool { p.latencyNs <= thresholdNs && p.offeredRateMet != false }

    /// The highest sustained IOPS of `points` whose latency percentile is at most `thresholdNs`.
    ///
    /// The points are taken in order of offered load. The SLO region is the run of steps from the
    /// lowest load up to the first that breaks the objective (its percentile above the threshold,
    /// or, in a rate sweep, its offered rate not met); steps after that are not counted even if they
    /// meet it again (the note says so). The answer is the highest IOPS in that region, moved up to
    /// the crossing by linear interpolation (IOPS against latency) toward the first breaking step
    /// when that step had more throughput and met its rate.
    public static func sloPoint(_ points: [CurvePoint], thresholdNs: Double, parameter: String = "step") -> SLOPoint {
        func at(_ p: CurvePoint) -> String { "\(parameter)=\(p.value)" }
        let sorted = points.enumerated().sorted { ($0.element.offered, $0.offset) < ($1.element.offered, $1.offset) }.map(\.element)
        guard let firstPoint = sorted.first else {
            return SLOPoint(method: .none, iops: 0, latencyNs: 0, offered: 0, lowerStep: nil, upperStep: nil, note: "no measured steps")
        }
        var end = 0
        while end < sorted.count && meets(sorted[end], thresholdNs) { end += 1 }
        guard end > 0 else {
            let why =
                firstPoint.offeredRateMet == false
                ? "did not reach its offered rate" : "had \(LatencyObjective.duration(firstPoint.latencyNs))"
            return SLOPoint(
                method: .none, iops: 0, latencyNs: firstPoint.latencyNs, offered: firstPoint.offered, lowerStep: nil,
                upperStep: firstPoint.step, note: "the lowest step (\(at(firstPoint))) already \(why), beyond the objective")
        }
        let region = sorted[0..<end]
        let best = region.max { $0.iops < $1.iops }!
        var later = ""
        if end < sorted.count, let again = sorted[(end + 1)...].first(where: { meets($0, thresholdNs) }) {
            later = "; \(at(again)) met the objective again after a step that broke it, not counted"
        }
        guard end < sorted.count else {
            return SLOPoint(
                method: .notReached, iops: best.iops, latencyNs: best.latencyNs, offered: best.offered, lowerStep: best.step,
                upperStep: nil, note: "every step met the objective (sweep to a higher load)")
        }
        let good = sorted[end - 1], bad = sorted[end]
        if bad.offeredRateMet != false, bad.iops > good.iops, bad.latencyNs > good.latencyNs {
            let fraction = (thresholdNs - good.latencyNs) / (bad.latencyNs - good.latencyNs)
            let iops = good.iops + fraction * (bad.iops - good.iops)
            if iops > best.iops {
                return SLOPoint(
                    method: .interpolated, iops: iops, latencyNs: thresholdNs,
                    offered: good.offered + fraction * (bad.offered - good.offered), lowerStep: good.step, upperStep: bad.step,
                    note: "interpolated between \(at(good)) and \(at(bad))\(later)")
            }
        }
        let why =
            bad.offeredRateMet == false
            ? "did not reach its offered rate"
            : bad.iops <= good.iops ? "added no throughput" : "had \(LatencyObjective.duration(bad.latencyNs))"
        return SLOPoint(
            method: .measured, iops: best.iops, latencyNs: best.latencyNs, offered: best.offered, lowerStep: best.step,
            upperStep: bad.step, note: "measured at \(at(best)); the first step beyond the objective, \(at(bad)), \(why)\(later)")
    }

    /// The elasticity Δln(latency) / Δln(IOPS) from `a` to `b` (see `Knee`).
    public static func elasticity(from a: CurvePoint, to b: CurvePoint) -> Double {
        let dl = log(b.latencyNs / a.latencyNs)
        let dx = log(b.iops / a.iops)
        if dx <= 1e-12 { return dl > 1e-12 ? .infinity : 0 }
        return dl / dx
    }

    /// The knee of `points` (see `Knee` for the definition); nil with fewer than two usable points
    /// (IOPS and latency above 0) or when latency never climbs faster than throughput.
    public static func knee(_ points: [CurvePoint], parameter: String = "step") -> Knee? {
        func at(_ p: CurvePoint) -> String { "\(parameter)=\(p.value)" }
        let p = points.filter { $0.iops > 0 && $0.latencyNs > 0 }.enumerated()
            .sorted { ($0.element.offered, $0.offset) < ($1.element.offered, $1.offset) }.map(\.element)
        guard p.count >= 2 else { return nil }
        let e = (0..<(p.count - 1)).map { elasticity(from: p[$0], to: p[$0 + 1]) }
        guard let k = e.firstIndex(where: { $0 > 1 }) else { return nil }
        if k == 0 {
            return Knee(
                iops: p[0].iops, latencyNs: p[0].latencyNs, offered: p[0].offered, step: p[0].step, value: p[0].value,
                interpolated: false, elasticity: e[0],
                note: "latency already climbed faster than throughput between the first two steps: the knee is at or below the first step")
        }
        guard e[k].isFinite else {
            return Knee(
                iops: p[k].iops, latencyNs: p[k].latencyNs, offered: p[k].offered, step: p[k].step, value: p[k].value,
                interpolated: false, elasticity: e[k], note: "throughput stopped growing after \(at(p[k]))")
        }
        let m0 = (log(p[k - 1].iops) + log(p[k].iops)) / 2
        let m1 = (log(p[k].iops) + log(p[k + 1].iops)) / 2
        let t = (1 - e[k - 1]) / (e[k] - e[k - 1])
        let lnX = m0 + t * (m1 - m0)
        let x = exp(lnX)
        // Latency and offered load at x, log-log along the segment that holds it.
        let j = lnX <= log(p[k].iops) ? k - 1 : k
        let (a, b) = (p[j], p[j + 1])
        let u = (lnX - log(a.iops)) / (log(b.iops) - log(a.iops))
        let lat = exp(log(a.latencyNs) + u * (log(b.latencyNs) - log(a.latencyNs)))
        let offered = exp(log(a.offered) + u * (log(b.offered) - log(a.offered)))
        return Knee(
            iops: x, latencyNs: lat, offered: offered, step: p[k].step, value: p[k].value, interpolated: true, elasticity: e[k],
            note: "elasticity crosses 1 between \(at(p[k - 1])) and \(at(p[k + 1]))")
    }

    /// The curve's latency percentile at `iops`, nanoseconds, interpolated on log scales between
    /// the first two adjacent steps (in order of offered load) that bracket it; nil when no
    /// segment holds it (beyond the measured range).
    public static func latency(atIOPS iops: Double, on points: [CurvePoint]) -> Double? {
        let p = points.filter { $0.iops > 0 && $0.latencyNs > 0 }.sorted { $0.offered < $1.offered }
        guard iops > 0, !p.isEmpty else { return nil }
        if let exact = p.first(where: { abs($0.iops - iops) <= 1e-9 * iops }) { return exact.latencyNs }
        for i in 0..<max(p.count - 1, 0) where min(p[i].iops, p[i + 1].iops) <= iops && iops <= max(p[i].iops, p[i + 1].iops) {
            let u = (log(iops) - log(p[i].iops)) / (log(p[i + 1].iops) - log(p[i].iops))
            return exp(log(p[i].latencyNs) + u * (log(p[i + 1].latencyNs) - log(p[i].latencyNs)))
        }
        if iops < p[0].iops { return p[0].latencyNs }  // below the lowest load: no worse than there
        return nil
    }
}

/// How much co-located tenants' measured phases overlapped. Tenants start together, but each
/// layer takes its own time to reach the workload (a guest boots, a container starts), so with a
/// short runtime they may not have been measured at the same time, and their fairness says little.
public enum TenantOverlap {
    /// The estimated measured phase of a tenant's run, Unix seconds: from its wall-clock start plus
    /// the layer's recorded boot time (`boot_s`, guests) plus `ramp_time`, for the measured runtime.
    /// Container start-up is not recorded and not counted. Nil without a sweep tag or wall times.
    public static func window(_ r: RunResult) -> (start: Double, end: Double)? {
        guard let tag = r.sweep, tag.wall_start_s > 0 else { return nil }
        let start = tag.wall_start_s + (Double(r.layer.settings["boot_s"] ?? "") ?? 0) + r.workload.ramp_time
        return (start, start + (r.mainDirection?.runtime_s ?? r.workload.runtime))
    }

    /// The share of the longest measured phase during which every tenant was measuring:
    /// max(0, earliest end − latest start) / longest phase, 0...1. Nil for fewer than two runs or
    /// without windows.
    public static func estimate(_ runs: [RunResult]) -> Double? {
        let w = runs.compactMap(window)
        guard w.count >= 2, w.count == runs.count else { return nil }
        let longest = w.map { $0.end - $0.start }.max()!
        guard longest > 0 else { return nil }
        return min(1, max(0, w.map(\.end).min()! - w.map(\.start).max()!) / longest)
    }
}

/// When a sweep stops stepping a layer: the objective far exceeded, or throughput saturated.
public enum SweepStopRule {
    /// Why to stop: `slo_exceeded` or `saturated`, and the numbers.
    public struct Decision: Sendable, Equatable {
        public var reason: String
        public var detail: String
    }

    /// Decides after the newest point (the last of `points`, in step order) whether to stop.
    ///
    /// - `slo_exceeded`: the last `sloAfter` steps all had their percentile above `factor` × the objective.
    /// - `saturated`: for the last `saturationAfter` steps, the marginal gain stayed below `minGain`,
    ///   where the gain of step i is (IOPS_i / max IOPS before i − 1) / (offered_i / offered_{i−1} − 1):
    ///   the share of the added offered load that became added throughput (1: all of it; for a
    ///   doubling of the queue depth, a gain of 0.1 is 10% more IOPS than the best step before). In a
    ///   rate sweep, also when the last `saturationAfter` steps did not reach their offered rate.
    ///   Saturation is judged from throughput alone, which is noisy on a shared machine, so it
    ///   usually wants more steps of evidence than the latency rule.
    public static func evaluate(
        _ points: [CurvePoint], objective: LatencyObjective, factor: Double, sloAfter: Int,
        minGain: Double, saturationAfter: Int, parameter: String = "step"
    ) -> Decision? {
        let n = points.count
        if sloAfter >= 1, n >= sloAfter {
            let last = points.suffix(sloAfter)
            let limit = factor * objective.thresholdNs
            if last.allSatisfy({ $0.latencyNs > limit }) {
                let values = last.map { "\(parameter)=\($0.value): \(LatencyObjective.duration($0.latencyNs))" }.joined(separator: ", ")
                return Decision(
                    reason: "slo_exceeded",
                    detail:
                        "\(objective.percentileLabel) above \(trimmedNumber(factor, places: 2))x the objective (\(LatencyObjective.duration(limit))) for \(sloAfter) consecutive steps (\(values))"
                )
            }
        }
        guard saturationAfter >= 1, n >= saturationAfter else { return nil }
        let last = points.suffix(saturationAfter)
        if last.allSatisfy({ $0.offeredRateMet == false }) {
            let values = last.map { "\(parameter)=\($0.value): \(TextFormat.si($0.iops)) IOPS" }.joined(separator: ", ")
            return Decision(
                reason: "saturated",
                detail:
                    "the offered rate was not reached (below \(Int(Capacity.rateMetFraction * 100))%) for \(saturationAfter) consecutive steps (\(values))"
            )
        }
        guard n >= saturationAfter + 1 else { return nil }
        var gains: [Double] = []
        for i in (n - saturationAfter)..<n {
            let before = points[0..<i].map(\.iops).max()!
            let loadGrowth = points[i].offered / points[i - 1].offered - 1
            guard before > 0, loadGrowth > 0 else { return nil }
            gains.append((points[i].iops / before - 1) / loadGrowth)
        }
        if gains.allSatisfy({ $0 < minGain }) {
            let values = zip(last, gains).map {
                "\(parameter)=\($0.value): \(TextFormat.si($0.iops)) IOPS, gain \(formatDecimal($1, places: 2))"
            }
            return Decision(
                reason: "saturated",
                detail:
                    "throughput stopped growing: less than \(trimmedNumber(minGain * 100, places: 1))% of the added load became throughput for \(saturationAfter) consecutive steps (\(values.joined(separator: "; ")))"
            )
        }
        return nil
    }
}
