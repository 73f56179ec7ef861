import Foundation
import WritePathEngine
import WritePathReport

#if canImport(Glibc)
    import Glibc
#endif

/// Runs a load sweep: for each layer in turn, the workload at every step of the sweep (with
/// `tenants` copies at once), until the steps run out or a stop rule fires, giving one
/// throughput-latency curve per layer.
///
/// Results go to `<results>/<run id>/` like a matrix's: `run.json` (every run so far, each tagged
/// with `runs[].sweep`, and the `sweep` object with each layer's steps and stop reason; rewritten
/// atomically after every step), `runs/NNNN-<layer>-<parameter><value>[-t<tenant>].json` and
/// `logs/NNNN-.../`. A folder is never overwritten.
public final class SweepRunner {
    public struct Options {
        /// Folder that holds run folders (`results`).
        public var resultsRoot = "results"
        public var keep = false
        public var engineBinary = EngineRootfs.defaultEngineBinary()
        /// Host folder for targets, bundles and guest disks (removed afterwards).
        public var scratchRoot = "/var/tmp/writepath-scratch"
        /// Copies of the workload run at once in the layer at every step.
        public var tenants = 1
        /// Stop a layer once its objective percentile exceeds this × the objective ...
        public var stopFactor = 4.0
        /// ... for this many consecutive steps.
        public var stopAfter = 2
        /// Saturated when less than this share of the added offered load became throughput ...
        public var minGain = 0.1
        /// ... for this many consecutive steps.
        public var saturationAfter = 3
        /// Receives the progress line, once per step.
        public var progress: ((String) -> Void)?
        public init() {}
    }

    /// Below this estimated overlap of the tenants' measured phases, their runs carry a warning.
    public static let minimumOverlap = 0.9

    public let layers: [LayerSpec]
    public let workload: Workload
    public let sweep: LoadSweep
    public let objective: LatencyObjective
    public let directory: String
    let options: Options
    let provenance: Provenance
    let host = HostInfo.probe()
    var results: [RunResult] = []
    var layerInfos: [SweepLayerInfo] = []
    var sequence = 0

    /// Checks the layers and the workload and makes the run folder.
    public init(
        layers: [LayerSpec], workload: Workload, sweep: LoadSweep, objective: LatencyObjective, options: Options,
        provenance: Provenance
    ) throws {
        guard !layers.isEmpty else {
            throw WritePathError.invalidInput(field: "layer", message: "give at least one --layer, e.g. --layer host")
        }
        guard options.tenants >= 1 else { throw WritePathError.invalidInput(field: "tenants", message: "must be at least 1") }
        for l in layers { _ = try LayerRegistry.make(l) }
        for v in sweep.values {
            var w = workload
            sweep.apply(v, to: &w)
            try w.validate()
        }
        self.layers = layers
        self.workload = workload
        self.sweep = sweep
        self.objective = objective
        self.options = options
        self.provenance = provenance
        let fm = FileManager.default
        try fm.createDirectory(atPath: options.resultsRoot, withIntermediateDirectories: true)
        let base = "\(options.resultsRoot)/\(MatrixRunner.runIdentifier(host: host.hostname))"
        var dir = base
        var n = 2
        while fm.fileExists(atPath: dir) { dir = "\(base)-\(n)"; n += 1 }
        try fm.createDirectory(atPath: "\(dir)/runs", withIntermediateDirectories: true)
        try fm.createDirectory(atPath: "\(dir)/logs", withIntermediateDirectories: true)
        directory = dir
    }

    /// Runs every layer's sweep. Returns the document also written to `run.json`; `sweep.complete`
    /// is false when it was interrupted.
    public func run() throws -> ResultDocument {
        let scratch = "\(options.scratchRoot)/\((directory as NSString).lastPathComponent)"
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        defer { if !options.keep { try? FileManager.default.removeItem(atPath: scratch) } }
        var interrupted = false
        let started = monotonicNanoseconds()
        layerLoop: for spec in layers {
            let layer = try LayerRegistry.make(spec)
            layerInfos.append(SweepLayerInfo(layer: spec.description, stop_reason: "", stop_detail: "", points: []))
            let li = layerInfos.count - 1
            var baseInfo = LayerInfo(name: spec.name, settings: layer.describe())
            baseInfo.settings["spec"] = spec.description
            if case let .unavailable(reason, fix) = layer.availability() {
                var r = RunResult.failed(
                    layer: baseInfo, workload: stepWorkload(sweep.values[0]), rep: 1,
                    error: "layer unavailable: \(reason); \(fix)", status: "unavailable", startedAt: Self.now())
                r.sweep = tag(step: 1, value: sweep.values[0], tenant: 1, start: 0, end: 0)
                sequence += 1
                results.append(r)
                layerInfos[li].stop_reason = "unavailable"
                layerInfos[li].stop_detail = "\(reason); \(fix)"
                try save(runFile: "\(directory)/runs/\(String(format: "%04d", sequence))-\(spec.slug)-unavailable.json", [r])
                continue
            }
            var points: [CurvePoint] = []
            for (index, value) in sweep.values.enumerated() {
                if stopRequested.load(ordering: .relaxed) { interrupted = true }
                if interrupted {
                    layerInfos[li].stop_reason = "interrupted"
                    layerInfos[li].stop_detail = "stopped by a signal before \(sweep.parameter.rawValue)=\(value)"
                    break layerLoop
                }
                sequence += 1
                let label = String(format: "%04d", sequence) + "-\(spec.slug)-\(sweep.parameter.rawValue)\(value)"
                let elapsed = Double(monotonicNanoseconds() - started) / 1e9
                options.progress?(
                    "[\(MatrixRunner.duration(elapsed))] \(spec.description): \(sweep.parameter.rawValue)=\(value) (step \(index + 1) of \(sweep.values.count))"
                        + (options.tenants > 1 ? ", \(options.tenants) tenants" : ""))
                let context = LayerContext(
                    engineBinary: options.engineBinary, logDirectory: "\(directory)/logs/\(label)",
                    scratchDirectory: scratch, keep: options.keep, runID: "\(getpid() % 100_000)-\(sequence)")
                try? FileManager.default.createDirectory(atPath: context.logDirectory, withIntermediateDirectories: true)
                let w = stepWorkload(value)
                let startedAt = Self.now()
                let outcomes = layer.runTenants(w, count: options.tenants, rep: 1, context: context)
                var stepRuns: [RunResult] = []
                for o in outcomes {
                    var r: RunResult
                    switch o.result {
                    case let .success(run): r = run
                    case let .failure(error):
                        let message = (error as? WritePathError)?.description ?? "\(error)"
                        r = RunResult.failed(layer: baseInfo, workload: w, rep: 1, error: message, startedAt: startedAt)
                    }
                    r.layer.settings["spec"] = spec.description
                    r.sweep = tag(step: index + 1, value: value, tenant: o.tenant, start: o.wallStart, end: o.wallEnd)
                    if stopRequested.load(ordering: .relaxed) {
                        r.status = "interrupted"
                        interrupted = true
                    }
                    stepRuns.append(r)
                }
                if let overlap = TenantOverlap.estimate(stepRuns), overlap < Self.minimumOverlap {
                    let note =
                        "the \(stepRuns.count) tenants were measured together for only about \(Int((overlap * 100).rounded()))% of the runtime "
                        + "(layers reach the workload at different times, e.g. guest boot): their fairness is approximate; raise runtime"
                    for i in stepRuns.indices { stepRuns[i].warnings.append(note) }
                }
                results += stepRuns
                let point = CapacityCurve.point(stepRuns, percentile: objective.percentile)
                layerInfos[li].points.append(summary(step: index + 1, value: value, runs: stepRuns, point: point))
                try save(runFile: "\(directory)/runs/\(label).json", stepRuns)
                if interrupted {
                    layerInfos[li].stop_reason = "interrupted"
                    layerInfos[li].stop_detail = "stopped by a signal during \(sweep.parameter.rawValue)=\(value)"
                    break layerLoop
                }
                guard let point else {
                    let bad = stepRuns.first { $0.status != "ok" }
                    layerInfos[li].stop_reason = "failed"
                    layerInfos[li].stop_detail =
                        "\(sweep.parameter.rawValue)=\(value)"
                        + (bad.map { " tenant \($0.sweep!.tenant): \($0.error ?? $0.status)" } ?? ": no measurement")
                    break
                }
                points.append(point)
                if let d = SweepStopRule.evaluate(
                    points, objective: objective, factor: options.stopFactor, sloAfter: options.stopAfter,
                    minGain: options.minGain, saturationAfter: options.saturationAfter,
                    parameter: sweep.parameter.rawValue)
                {
                    layerInfos[li].stop_reason = d.reason
                    layerInfos[li].stop_detail = d.detail
                    break
                }
            }
            if layerInfos[li].stop_reason.isEmpty {
                layerInfos[li].stop_reason = "completed"
                layerInfos[li].stop_detail = "every step ran, up to \(sweep.parameter.rawValue)=\(sweep.values.last!)"
            }
            try writeAtomically(try JSONFormat.render(document(complete: false)), to: "\(directory)/run.json")
        }
        let doc = document(complete: !interrupted)
        try writeAtomically(try JSONFormat.render(doc), to: "\(directory)/run.json")
        return doc
    }

    /// The workload at one step.
    func stepWorkload(_ value: Int) -> Workload {
        var w = workload
        sweep.apply(value, to: &w)
        return w
    }

    func tag(step: Int, value: Int, tenant: Int, start: Double, end: Double) -> SweepTag {
        SweepTag(
            parameter: sweep.parameter.rawValue, value: value, step: step, tenant: tenant, tenants: options.tenants,
            offered: sweep.offered(value, numjobs: workload.numjobs, tenants: options.tenants), wall_start_s: start, wall_end_s: end)
    }

    func summary(step: Int, value: Int, runs: [RunResult], point: CurvePoint?) -> SweepStepSummary {
        let tenantIOPS = runs.map { $0.mainDirection?.iops ?? 0 }
        return SweepStepSummary(
            step: step, value: value, offered: sweep.offered(value, numjobs: workload.numjobs, tenants: options.tenants),
            iops: tenantIOPS.reduce(0, +), bw_bytes_per_s: runs.reduce(0) { $0 + ($1.mainDirection?.bw_bytes_per_s ?? 0) },
            p50_ns: UInt64(point?.p50Ns ?? 0), slo_percentile_ns: UInt64(point?.latencyNs ?? 0),
            status: runs.first { $0.status != "ok" }?.status ?? "ok", tenant_iops: tenantIOPS,
            fairness: runs.count > 1 ? Fairness(iops: tenantIOPS) : nil, overlap: runs.count > 1 ? TenantOverlap.estimate(runs) : nil)
    }

    func document(complete: Bool) -> ResultDocument {
        ResultDocument(
            writepath: provenance, host: host, runs: results,
            sweep: SweepInfo(
                parameter: sweep.parameter.rawValue, values: sweep.values, tenants: options.tenants,
                slo: objective.text, slo_percentile: objective.percentile, slo_ns: UInt64(objective.thresholdNs),
                stop_factor: options.stopFactor, stop_after: options.stopAfter, min_gain: options.minGain,
                saturation_after: options.saturationAfter,
                layers: layerInfos, complete: complete))
    }

    /// Writes one step's runs (every tenant) and the running `run.json`, both atomically.
    func save(runFile: String, _ runs: [RunResult]) throws {
        try writeAtomically(try JSONFormat.render(ResultDocument(writepath: provenance, host: host, runs: runs)), to: runFile)
        try writeAtomically(try JSONFormat.render(document(complete: false)), to: "\(directory)/run.json")
    }

    static func now() -> String { ISO8601DateFormatter().string(from: Date()) }
}
