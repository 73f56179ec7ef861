import WritePathEngine

/// One step of a sweep in one layer, the point of its throughput-latency curve: what the runner's
/// stop rules judge, what `run.json` records as `sweep.layers[].points[]`, and what the capacity
/// reports draw. The runs themselves (one per tenant and repetition) are in `runs[]`. In JSON the
/// latencies are whole nanoseconds (`p50_ns`, `slo_percentile_ns`); `offeredRateMet` is not
/// recorded (nil when read back).
public struct SweepStep: Codable, Sendable, Equatable {
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
    /// For rate sweeps: whether at least `rateMetFraction` of the offered rate was
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
    /// `ok`, or the first status of the step's runs that was not (a step without an ok repetition
    /// has 0 for its measurements).
    public var status: RunStatus = .ok

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

    enum CodingKeys: String, CodingKey {
        case step, value, offered, iops, bw_bytes_per_s, p50_ns, slo_percentile_ns, status, tenant_iops, fairness, overlap,
            rep_iops
    }

    /// As `writepath.result/1` spells a step; `rep_iops` only with more than one repetition.
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(step, forKey: .step)
        try c.encode(value, forKey: .value)
        try c.encode(offered, forKey: .offered)
        try c.encode(iops, forKey: .iops)
        try c.encode(bwBytesPerSecond, forKey: .bw_bytes_per_s)
        try c.encode(UInt64(p50Ns), forKey: .p50_ns)
        try c.encode(UInt64(latencyNs), forKey: .slo_percentile_ns)
        try c.encode(status, forKey: .status)
        try c.encode(tenantIOPS, forKey: .tenant_iops)
        try c.encodeIfPresent(fairness, forKey: .fairness)
        try c.encodeIfPresent(overlap, forKey: .overlap)
        if !repIOPS.isEmpty { try c.encode(repIOPS, forKey: .rep_iops) }
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        step = try c.decode(Int.self, forKey: .step)
        value = try c.decode(Int.self, forKey: .value)
        offered = try c.decode(Double.self, forKey: .offered)
        iops = try c.decode(Double.self, forKey: .iops)
        bwBytesPerSecond = try c.decode(Double.self, forKey: .bw_bytes_per_s)
        p50Ns = Double(try c.decode(UInt64.self, forKey: .p50_ns))
        latencyNs = Double(try c.decode(UInt64.self, forKey: .slo_percentile_ns))
        status = try c.decode(RunStatus.self, forKey: .status)
        tenantIOPS = try c.decode([Double].self, forKey: .tenant_iops)
        fairness = try c.decodeIfPresent(Fairness.self, forKey: .fairness)
        overlap = try c.decodeIfPresent(Double.self, forKey: .overlap)
        repIOPS = try c.decodeIfPresent([Double].self, forKey: .rep_iops) ?? []
        offeredRateMet = nil
    }

    /// In a rate sweep, a step whose achieved IOPS (every direction) is below this fraction of the
    /// offered rate did not meet its rate.
    public static let rateMetFraction = 0.9

    /// One step's point from its runs, one per tenant and repetition (`rep`), tagged with `sweep`.
    /// A repetition counts when every one of its runs is ok and has a main direction. IOPS and
    /// bandwidth are summed over a repetition's tenants, then the median is taken over the ok
    /// repetitions (each tenant's IOPS likewise); the latency `percentile` and p50 come from the
    /// merged histograms of every tenant of every ok repetition (main direction; percentiles are
    /// never averaged); fairness from the tenants' median IOPS with more than one tenant; overlap
    /// is the lowest of the repetitions'. Nil when no repetition is ok.
    public init?(stepRuns: [RunResult], percentile: Double) {
        let tagged = stepRuns.filter { $0.sweep != nil }
        guard let tag = tagged.first?.sweep else { return nil }
        let byRep = Dictionary(grouping: tagged, by: \.rep)
        let okReps = byRep.keys.sorted().map { byRep[$0]!.sorted { $0.sweep!.tenant < $1.sweep!.tenant } }
            .filter { $0.allSatisfy { $0.status == .ok && $0.mainDirection != nil } }
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
        let rateMet: Bool? = tag.parameter == "rate_iops" ? all >= Self.rateMetFraction * tag.offered : nil
        self.init(
            step: tag.step, value: tag.value, offered: tag.offered, iops: Stats.median(repIOPS)!,
            latencyNs: Double(merged.count > 0 ? merged.value(atPercentile: percentile) : 0),
            offeredRateMet: rateMet, tenantIOPS: perTenant,
            fairness: perTenant.count > 1 ? Fairness(iops: perTenant) : nil)
        p50Ns = Double(merged.count > 0 ? merged.value(atPercentile: 50) : 0)
        bwBytesPerSecond = Stats.median(repBW)!
        overlap = overlaps.min()
        self.repIOPS = repIOPS
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
