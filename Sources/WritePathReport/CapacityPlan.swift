import Foundation
import WritePathEngine
import WritePathResult

/// Every curve of some sweep results, analysed against one latency objective: the SLO point and
/// the knee per layer, and why each layer's sweep stopped.
public struct CapacityAnalysis: Sendable {
    /// One curve and what it says.
    public struct Entry: Sendable {
        public var curve: CapacityCurve
        public var slo: SLOPoint
        public var knee: Knee?
        /// Unique among the entries: the curve's label, plus the source folder when two sources
        /// hold the same layer.
        public var label: String
    }

    public var objective: LatencyObjective
    public var entries: [Entry]

    /// The curves of `input`'s sweep runs at the objective's percentile, each with its SLO point,
    /// knee and the stop reason its document recorded.
    public static func analyze(_ input: ResultInput, objective: LatencyObjective) -> CapacityAnalysis {
        var entries: [Entry] = []
        for source in input.sources {
            for var curve in CapacityCurve.curves(from: source.document.runs, percentile: objective.percentile, source: source.path) {
                if let info = source.document.sweep?.layers.first(where: {
                    $0.layer == curve.layer || LayerIdentity.of($0.layer) == curve.layer
                }),
                    !info.stop_reason.isEmpty
                {
                    curve.stopReason = info.stop_reason
                    curve.stopDetail = info.stop_detail
                }
                entries.append(
                    Entry(
                        curve: curve,
                        slo: Capacity.sloPoint(curve.points, thresholdNs: objective.thresholdNs, parameter: curve.parameter),
                        knee: Capacity.knee(curve.points, parameter: curve.parameter), label: curve.label))
            }
        }
        let counts = Dictionary(entries.map { ($0.label, 1) }, uniquingKeysWith: +)
        for i in entries.indices where counts[entries[i].label]! > 1 {
            let folder = ((entries[i].curve.source as NSString).deletingLastPathComponent as NSString).lastPathComponent
            entries[i].label += " (\(folder.isEmpty ? entries[i].curve.source : folder))"
        }
        return CapacityAnalysis(objective: objective, entries: entries)
    }

    /// The objective recorded by the first sweep document of `input`, if any.
    public static func recordedObjective(_ input: ResultInput) -> LatencyObjective? {
        guard let s = input.sources.lazy.compactMap(\.document.sweep).first else { return nil }
        return LatencyObjective(percentile: s.slo_percentile, thresholdNs: Double(s.slo_ns))
    }
}

/// What has to be carried: tenants, each offering a rate of writes of one size, under a latency
/// objective, keeping some capacity spare.
public struct CapacityDemand: Sendable, Equatable {
    /// Tenants to place.
    public var tenants: Int
    /// I/Os per second each tenant needs.
    public var iopsPerTenant: Double
    /// Bytes per I/O; only sweeps with this block size are used.
    public var bs: UInt64
    public var objective: LatencyObjective
    /// The share of a host's SLO capacity kept spare, 0 ≤ headroom < 1 (0.2: plan with 80%).
    public var headroom: Double

    public init(tenants: Int, iopsPerTenant: Double, bs: UInt64, objective: LatencyObjective, headroom: Double) {
        self.tenants = tenants
        self.iopsPerTenant = iopsPerTenant
        self.bs = bs
        self.objective = objective
        self.headroom = headroom
    }
}

/// How many hosts of one kind (one layer's curve) the demand needs.
public struct PlanRow: Sendable {
    public var entry: CapacityAnalysis.Entry
    /// The SLO point's IOPS: the most one host carries within the objective.
    public var capacityIOPS: Double
    /// `capacityIOPS` × (1 − headroom): what the plan lets one host carry.
    public var usableIOPS: Double
    /// ⌊usable / IOPS per tenant⌋.
    public var tenantsPerHost: Int
    /// ⌈tenants / tenantsPerHost⌉; nil when not even one tenant fits on a host.
    public var hosts: Int?
    /// Tenants on the busiest host when they are spread evenly: ⌈tenants / hosts⌉.
    public var tenantsOnBusiestHost: Int
    /// The busiest host's load, I/Os per second.
    public var loadPerHostIOPS: Double
    /// The share of the SLO capacity left on the busiest host: 1 − load / capacity.
    public var margin: Double?
    /// The curve's latency percentile at that load, nanoseconds (log-log interpolation between
    /// steps; below the lowest step, that step's, an upper bound); nil beyond the measured range.
    public var latencyAtLoadNs: Double?
    /// The busiest host's write bandwidth, bytes per second (load × bs).
    public var bandwidthPerHost: Double
    /// Whether this is the cheapest layer (fewest hosts; ties: lower latency at load, then more capacity).
    public var cheapest: Bool
    public var note: String
}

/// The plan: one row per curve, cheapest first.
public struct CapacityPlan: Sendable {
    public var demand: CapacityDemand
    /// Cheapest first; layers that cannot carry one tenant last.
    public var rows: [PlanRow]
    /// Curves left out, and why (another block size, no ok steps).
    public var excluded: [String]

    public var cheapest: PlanRow? { rows.first { $0.cheapest } }
}

/// Turns curves into a plan.
public enum CapacityPlanner {
    /// Plans `demand` on each of `analysis`'s curves whose workload has the demand's block size.
    ///
    /// Per curve: capacity C = the SLO point's IOPS (`Capacity.sloPoint`, at the demand's objective);
    /// usable U = C × (1 − headroom); tenants per host k = ⌊U / IOPS per tenant⌋; hosts H = ⌈tenants / k⌉
    /// (none when k = 0); the busiest host carries ⌈tenants / H⌉ tenants, and the margin is
    /// 1 − its load / C. The cheapest layer needs the fewest hosts; ties go to the lower latency at
    /// the planned load, then to the larger capacity.
    public static func plan(_ analysis: CapacityAnalysis, demand: CapacityDemand) -> CapacityPlan {
        var rows: [PlanRow] = []
        var excluded: [String] = []
        for e in analysis.entries {
            guard e.curve.workload.bs == demand.bs else {
                excluded.append(
                    "\(e.label): measured with bs=\(ByteSize.format(e.curve.workload.bs)), the demand is bs=\(ByteSize.format(demand.bs))")
                continue
            }
            guard !e.curve.points.isEmpty else {
                excluded.append("\(e.label): no ok steps")
                continue
            }
            let c = e.slo.iops
            let usable = c * (1 - demand.headroom)
            let k = Int((usable / demand.iopsPerTenant + 1e-9).rounded(.down))
            var notes: [String] = []
            if e.slo.method == .notReached { notes.append("capacity is a lower bound") }
            if e.curve.tenants > 1 { notes.append("measured with \(e.curve.tenants) co-located tenants") }
            if e.curve.memoryBacked { notes.append("target in memory (\(e.curve.targetFilesystem!)): measures the engine, not a disk") }
            if e.curve.workload.rw.reads && e.curve.workload.rw.writes { notes.append("mixed workload: capacity counts writes") }
            let hosts: Int? = k > 0 ? (demand.tenants + k - 1) / k : nil
            var busiest = 0, load = 0.0
            var margin: Double?, latency: Double?
            if let hosts {
                busiest = (demand.tenants + hosts - 1) / hosts
                load = Double(busiest) * demand.iopsPerTenant
                margin = c > 0 ? 1 - load / c : nil
                latency = Capacity.latency(atIOPS: load, on: e.curve.points)
            } else if c > 0 {
                notes.append(
                    "one tenant (\(formatSI(demand.iopsPerTenant)) IOPS) needs more than the usable \(formatSI(usable)) IOPS of a host"
                )
            }
            rows.append(
                PlanRow(
                    entry: e, capacityIOPS: c, usableIOPS: usable, tenantsPerHost: k, hosts: hosts, tenantsOnBusiestHost: busiest,
                    loadPerHostIOPS: load, margin: margin, latencyAtLoadNs: latency,
                    bandwidthPerHost: load * Double(demand.bs), cheapest: false, note: notes.joined(separator: "; ")))
        }
        rows.sort { a, b in
            switch (a.hosts, b.hosts) {
            case (nil, nil): return a.capacityIOPS > b.capacityIOPS
            case (nil, _): return false
            case (_, nil): return true
            case let (x?, y?):
                if x != y { return x < y }
                let la = a.latencyAtLoadNs ?? .infinity, lb = b.latencyAtLoadNs ?? .infinity
                if la != lb { return la < lb }
                return a.capacityIOPS > b.capacityIOPS
            }
        }
        if !rows.isEmpty, rows[0].hosts != nil { rows[0].cheapest = true }
        return CapacityPlan(demand: demand, rows: rows, excluded: excluded)
    }
}
