import WritePathEngine

/// Where a run sits in a load sweep (`writepath sweep`): `runs[].sweep`. Absent from runs that
/// are not part of a sweep, so documents written before sweeps existed read unchanged.
public struct SweepTag: Codable, Sendable, Equatable {
    /// The workload option that was stepped: `iodepth` (I/Os in flight per job) or `rate_iops`
    /// (I/Os per second per job).
    public var parameter: String
    /// The option's value at this step (I/Os in flight per job, or I/Os per second per job).
    public var value: Int
    /// The step's position in the sweep, from 1.
    public var step: Int
    /// This run's tenant, from 1.
    public var tenant: Int
    /// Copies of the workload that ran at once in the layer at this step (1: one tenant).
    public var tenants: Int
    /// The load the whole step offered, over every tenant and job: for `iodepth`, I/Os in flight
    /// (value × numjobs × tenants); for `rate_iops`, I/Os per second (value × numjobs × tenants).
    public var offered: Double
    /// Wall-clock start and end of this tenant's run in the layer, Unix seconds, including what
    /// the layer does around the workload (container start, guest boot): how well tenants overlapped.
    public var wall_start_s: Double
    public var wall_end_s: Double

    public init(
        parameter: String, value: Int, step: Int, tenant: Int, tenants: Int, offered: Double,
        wall_start_s: Double, wall_end_s: Double
    ) {
        self.parameter = parameter
        self.value = value
        self.step = step
        self.tenant = tenant
        self.tenants = tenants
        self.offered = offered
        self.wall_start_s = wall_start_s
        self.wall_end_s = wall_end_s
    }
}

/// How evenly co-located tenants were served, from each tenant's IOPS.
public struct Fairness: Codable, Sendable, Equatable {
    /// Tenants measured.
    public var tenants: Int
    /// The lowest tenant's IOPS over the highest's: 1 is perfectly even, 0 means one tenant was
    /// starved. 0 when every tenant did 0 IOPS.
    public var min_max_ratio: Double
    /// Jain's fairness index, (Σx)² / (n · Σx²) over the tenants' IOPS x: 1 when all are equal,
    /// 1/n when one tenant gets everything; in (0, 1].
    public var jain_index: Double

    public init(tenants: Int, min_max_ratio: Double, jain_index: Double) {
        self.tenants = tenants
        self.min_max_ratio = min_max_ratio
        self.jain_index = jain_index
    }

    /// The fairness of `iops` (one value per tenant, I/Os per second); nil for no tenants or
    /// when every tenant did no I/O (Jain's index is undefined then).
    public init?(iops: [Double]) {
        guard !iops.isEmpty, iops.allSatisfy({ $0 >= 0 && $0.isFinite }) else { return nil }
        let sum = iops.reduce(0, +)
        let squares = iops.reduce(0) { $0 + $1 * $1 }
        guard sum > 0, squares > 0 else { return nil }
        tenants = iops.count
        min_max_ratio = iops.min()! / iops.max()!
        jain_index = sum * sum / (Double(iops.count) * squares)
    }
}

/// One layer's sweep: its steps and why it stopped.
public struct SweepLayerInfo: Codable, Sendable, Equatable {
    /// The layer's identity (`docker-volume(write_iops_limit=500)`), as `runs[].layer.spec`.
    public var layer: String
    /// `completed` (every step ran), `slo_exceeded`, `saturated`, `failed`, `unavailable` or
    /// `interrupted`; empty while the layer is still running.
    public var stop_reason: String
    /// The numbers behind the stop reason, in a sentence.
    public var stop_detail: String
    public var points: [SweepStep]

    public init(layer: String, stop_reason: String, stop_detail: String, points: [SweepStep]) {
        self.layer = layer
        self.stop_reason = stop_reason
        self.stop_detail = stop_detail
        self.points = points
    }
}

/// How a sweep was run: `run.json`'s `sweep` object (the runs are in `runs[]`, tagged with `sweep`).
/// It records every parameter of the sweep, so that `writepath sweep --resume` can continue it.
public struct SweepInfo: Codable, Sendable, Equatable {
    /// `iodepth` or `rate_iops`.
    public var parameter: String
    /// The values planned, per job, in order (a layer may stop before the last).
    public var values: [Int]
    /// Copies of the workload run at once in the layer at every step.
    public var tenants: Int
    /// The latency objective, as given: `p99=2ms`.
    public var slo: String
    /// Its percentile (99 for p99) and threshold in nanoseconds.
    public var slo_percentile: Double
    public var slo_ns: UInt64
    /// A layer stops once its objective percentile exceeds `stop_factor` × the objective for
    /// `stop_after` consecutive steps.
    public var stop_factor: Double
    /// Consecutive steps the latency stop condition must hold.
    public var stop_after: Int
    /// A layer is saturated when, for `saturation_after` consecutive steps, less than this fraction
    /// of the added offered load became added throughput (see `SweepStopRule`).
    public var min_gain: Double
    public var saturation_after: Int
    /// Times every step runs, back to back, in each layer (`runs[].rep` 1...repetitions); 1 in
    /// documents written before repetitions existed.
    public var repetitions: Int
    /// Every layer the sweep steps, in order, as `--layer` reads them (`docker-volume(write_iops_limit=500)`);
    /// `layers` holds only those started so far. Absent in documents written before resuming existed.
    public var planned_layers: [String]?
    /// The workload every step starts from (each step sets the swept option); absent in documents
    /// written before resuming existed.
    public var workload: Workload?
    public var layers: [SweepLayerInfo]
    public var complete: Bool

    public init(
        parameter: String, values: [Int], tenants: Int, slo: String, slo_percentile: Double, slo_ns: UInt64,
        stop_factor: Double, stop_after: Int, min_gain: Double, saturation_after: Int, repetitions: Int = 1,
        planned_layers: [String]? = nil, workload: Workload? = nil, layers: [SweepLayerInfo], complete: Bool
    ) {
        self.parameter = parameter
        self.values = values
        self.tenants = tenants
        self.slo = slo
        self.slo_percentile = slo_percentile
        self.slo_ns = slo_ns
        self.stop_factor = stop_factor
        self.stop_after = stop_after
        self.min_gain = min_gain
        self.saturation_after = saturation_after
        self.repetitions = repetitions
        self.planned_layers = planned_layers
        self.workload = workload
        self.layers = layers
        self.complete = complete
    }

    enum CodingKeys: String, CodingKey {
        case parameter, values, tenants, slo, slo_percentile, slo_ns, stop_factor, stop_after, min_gain, saturation_after,
            repetitions, planned_layers, workload, layers, complete
    }

    /// Decodes a sweep recorded by any version of writepath.result/1: `repetitions` defaults to 1.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        parameter = try c.decode(String.self, forKey: .parameter)
        values = try c.decode([Int].self, forKey: .values)
        tenants = try c.decode(Int.self, forKey: .tenants)
        slo = try c.decode(String.self, forKey: .slo)
        slo_percentile = try c.decode(Double.self, forKey: .slo_percentile)
        slo_ns = try c.decode(UInt64.self, forKey: .slo_ns)
        stop_factor = try c.decode(Double.self, forKey: .stop_factor)
        stop_after = try c.decode(Int.self, forKey: .stop_after)
        min_gain = try c.decode(Double.self, forKey: .min_gain)
        saturation_after = try c.decode(Int.self, forKey: .saturation_after)
        repetitions = try c.decodeIfPresent(Int.self, forKey: .repetitions) ?? 1
        planned_layers = try c.decodeIfPresent([String].self, forKey: .planned_layers)
        workload = try c.decodeIfPresent(Workload.self, forKey: .workload)
        layers = try c.decode([SweepLayerInfo].self, forKey: .layers)
        complete = try c.decode(Bool.self, forKey: .complete)
    }
}
