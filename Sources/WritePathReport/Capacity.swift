import Foundation
import WritePathEngine
import WritePathResult

// Capacity planning: throughput-latency curves from sweeps, the highest load that meets a latency
// objective (the SLO point) and the knee (the steps themselves, `SweepStep`, are in WritePathResult;
// the stop rules of a sweep in WritePathRunner). Everything here is a pure
// function of measured points, so it is tested on synthetic curves with known answers.

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
    public var points: [SweepStep]
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
        points: [SweepStep], failedSteps: [Int] = [], source: String = "", stopReason: String? = nil, stopDetail: String? = nil
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
            var points: [SweepStep] = []
            var failed: [Int] = []
            for step in steps.keys.sorted() {
                if let point = SweepStep(stepRuns: steps[step]!, percentile: percentile) {
                    points.append(point)
                } else {
                    failed.append(step)
                }
            }
            let first = group.min { $0.sweep!.step < $1.sweep!.step }!
            var curve = CapacityCurve(
                layer: k.layer, layerName: first.layer.name, workload: first.workload, parameter: k.parameter,
                tenants: k.tenants, percentile: percentile,
                points: points.sorted { $0.offered < $1.offered }, failedSteps: failed, source: source)
            curve.targetFilesystem = group.first { $0.status == .ok }?.target?.filesystem
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
    static func meets(_ p: SweepStep, _ thresholdNs: Double) -> Bool { p.latencyNs <= thresholdNs && p.offeredRateMet != false }

    /// The highest sustained IOPS of `points` whose latency percentile is at most `thresholdNs`.
    ///
    /// The points are taken in order of offered load. The SLO region is the run of steps from the
    /// lowest load up to the first that breaks the objective (its percentile above the threshold,
    /// or, in a rate sweep, its offered rate not met); steps after that are not counted even if they
    /// meet it again (the note says so). The answer is the highest IOPS in that region, moved up to
    /// the crossing by linear interpolation (IOPS against latency) toward the first breaking step
    /// when that step had more throughput and met its rate.
    public static func sloPoint(_ points: [SweepStep], thresholdNs: Double, parameter: String = "step") -> SLOPoint {
        func at(_ p: SweepStep) -> String { "\(parameter)=\(p.value)" }
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
    public static func elasticity(from a: SweepStep, to b: SweepStep) -> Double {
        let dl = log(b.latencyNs / a.latencyNs)
        let dx = log(b.iops / a.iops)
        if dx <= 1e-12 { return dl > 1e-12 ? .infinity : 0 }
        return dl / dx
    }

    /// The knee of `points` (see `Knee` for the definition); nil with fewer than two usable points
    /// (IOPS and latency above 0) or when latency never climbs faster than throughput.
    public static func knee(_ points: [SweepStep], parameter: String = "step") -> Knee? {
        func at(_ p: SweepStep) -> String { "\(parameter)=\(p.value)" }
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
    public static func latency(atIOPS iops: Double, on points: [SweepStep]) -> Double? {
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
