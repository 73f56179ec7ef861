import Foundation
import WritePathEngine
import WritePathResult

#if canImport(Glibc)
    import Glibc
#endif

/// Runs a load sweep: for each layer in turn, the workload at every step of the sweep (with
/// `tenants` copies at once, `repetitions` times back to back), until the steps run out or a stop
/// rule fires, giving one throughput-latency curve per layer.
///
/// Results go to `<results>/<run id>/` like a matrix's: `run.json` (every run so far, each tagged
/// with `runs[].sweep` and its `rep`, and the `sweep` object with every parameter of the sweep and
/// each layer's steps and stop reason; rewritten atomically after every repetition),
/// `runs/NNNN-<layer>-<parameter><value>[-rep<R>].json` (every tenant of one repetition) and
/// `logs/NNNN-.../`. A folder is never overwritten; `init(resuming:)` continues one.
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
        /// Times every step runs, back to back, in each layer (1...`SweepRunner.repetitionRange`).
        public var repetitions = 1
        /// Stop a layer once its objective percentile exceeds this × the objective ...
        public var stopFactor = 4.0
        /// ... for this many consecutive steps.
        public var stopAfter = 2
        /// Saturated when less than this share of the added offered load became throughput ...
        public var minGain = 0.1
        /// ... for this many consecutive steps.
        public var saturationAfter = 3
        /// Receives the progress line, once per repetition of a step.
        public var progress: ((String) -> Void)?
        public init() {}
    }

    /// Below this estimated overlap of the tenants' measured phases, their runs carry a warning.
    public static let minimumOverlap = 0.9
    /// The repetitions per step a sweep accepts.
    public static let repetitionRange = 1...20

    public let layers: [LayerSpec]
    public let workload: Workload
    public let sweep: LoadSweep
    public let objective: LatencyObjective
    public let directory: String
    public let options: Options
    let provenance: Provenance
    let host = HostInfo.probe()
    var results: [RunResult] = []
    var layerInfos: [SweepLayerInfo] = []
    var sequence = 0

    /// One repetition of one step in one layer: every tenant's run of it.
    struct RepetitionKey: Hashable {
        var layer: String
        var step: Int
        var rep: Int
    }

    /// Checks the layers and the workload and makes the run folder.
    public init(
        layers: [LayerSpec], workload: Workload, sweep: LoadSweep, objective: LatencyObjective, options: Options,
        provenance: Provenance
    ) throws {
        try Self.check(layers: layers, workload: workload, sweep: sweep, options: options)
        self.layers = layers
        self.workload = workload
        self.sweep = sweep
        self.objective = objective
        self.options = options
        self.provenance = provenance
        directory = try MatrixRunner.newRunFolder(in: options.resultsRoot, host: host.hostname)
    }

    /// Continues the interrupted sweep in `directory` (see `interruptedSweep`) in that folder. Its
    /// layers, workload, load, objective, tenants, repetitions and stop rules come from its
    /// `run.json`; `options` gives only the engine, scratch folder, `keep` and progress. Every
    /// repetition whose tenants all finished is kept; the runs of one a signal cut short leave
    /// `run.json` (their files stay in `runs/`). Layers whose sweep ended (completed, a stop rule,
    /// failed, unavailable) are not run again; the run files' numbering continues.
    public init(resuming directory: String, options: Options, provenance: Provenance) throws {
        let doc = try Self.interruptedSweep(in: directory)
        let info = doc.sweep!
        let layers = try info.planned_layers!.map { try LayerSpec.parse($0, field: "resume") }
        let sweep = LoadSweep(parameter: LoadSweep.Parameter(rawValue: info.parameter)!, values: info.values)
        var options = options
        options.tenants = info.tenants
        options.repetitions = info.repetitions
        options.stopFactor = info.stop_factor
        options.stopAfter = info.stop_after
        options.minGain = info.min_gain
        options.saturationAfter = info.saturation_after
        try Self.check(layers: layers, workload: info.workload!, sweep: sweep, options: options)
        self.layers = layers
        self.workload = info.workload!
        self.sweep = sweep
        self.objective = try LatencyObjective.parse(info.slo, field: "resume")
        self.options = options
        self.provenance = provenance
        self.directory = directory
        let ended = Set(info.layers.filter { Self.ended($0.stop_reason) }.map(\.layer))
        var tenantsRecorded: [RepetitionKey: Int] = [:]
        for r in doc.runs { if let k = Self.key(r) { tenantsRecorded[k, default: 0] += 1 } }
        let cut = Set(doc.runs.filter { $0.status == .interrupted }.compactMap(Self.key))
        results = doc.runs.filter { r in
            guard !ended.contains(r.layerSpec), let k = Self.key(r) else { return true }
            return !cut.contains(k) && tenantsRecorded[k] == info.tenants
        }
        layerInfos = info.layers
        let fm = FileManager.default
        let names = ["runs", "logs"].flatMap { (try? fm.contentsOfDirectory(atPath: "\(directory)/\($0)")) ?? [] }
        sequence = names.compactMap { Int($0.prefix { $0.isNumber }) }.max() ?? 0
    }

    /// The document of the sweep in `directory`, checked to be one `init(resuming:)` can continue:
    /// a `run.json` with a `sweep` object that is not complete and records its layers and workload.
    /// Throws `invalidInput` naming `resume` otherwise.
    public static func interruptedSweep(in directory: String) throws -> ResultDocument {
        let path = "\(directory)/run.json"
        guard let data = FileManager.default.contents(atPath: path) else {
            throw WritePathError.invalidInput(
                field: "resume", message: "\(directory) has no run.json; give a run folder that writepath sweep made")
        }
        let doc: ResultDocument
        do { doc = try JSONFormat.parse(data, source: path) } catch let WritePathError.invalidInput(_, message) {
            throw WritePathError.invalidInput(field: "resume", message: "\(path): \(message)")
        }
        guard let info = doc.sweep else {
            throw WritePathError.invalidInput(
                field: "resume",
                message:
                    "\(directory) is not a sweep run folder (run.json has no sweep object); a matrix resumes with writepath run --resume")
        }
        guard !info.complete else {
            throw WritePathError.invalidInput(
                field: "resume", message: "the sweep in \(directory) is already complete; there is nothing to resume")
        }
        guard info.planned_layers != nil, info.workload != nil, LoadSweep.Parameter(rawValue: info.parameter) != nil else {
            throw WritePathError.invalidInput(
                field: "resume",
                message:
                    "the sweep in \(directory) does not record its layers and workload (an older writepath wrote it); run the sweep again")
        }
        return doc
    }

    /// Checks what a sweep needs before anything runs: layers, tenants, repetitions, a valid workload at every step.
    static func check(layers: [LayerSpec], workload: Workload, sweep: LoadSweep, options: Options) throws {
        guard !layers.isEmpty else {
            throw WritePathError.invalidInput(field: "layer", message: "give at least one --layer, e.g. --layer host")
        }
        guard options.tenants >= 1 else { throw WritePathError.invalidInput(field: "tenants", message: "must be at least 1") }
        guard repetitionRange.contains(options.repetitions) else {
            throw WritePathError.invalidInput(
                field: "repetitions", message: "'\(options.repetitions)'; expected a whole number from 1 to \(repetitionRange.upperBound)")
        }
        for l in layers { _ = try LayerRegistry.make(l) }
        for v in sweep.values {
            var w = workload
            sweep.apply(v, to: &w)
            try w.validate()
        }
    }

    /// Whether a layer's stop reason ends its sweep for good (not empty, not `interrupted`).
    static func ended(_ stopReason: String) -> Bool { !stopReason.isEmpty && stopReason != "interrupted" }

    static func key(_ r: RunResult) -> RepetitionKey? {
        r.sweep.map { RepetitionKey(layer: r.layerSpec, step: $0.step, rep: r.rep) }
    }

    /// Runs every layer's sweep, or what remains of it when resuming. Returns the document also
    /// written to `run.json`; `sweep.complete` is false when it was interrupted.
    public func run() throws -> ResultDocument {
        // Never the root joined with the run folder's name: `--resume ..` would name the folder above it.
        let scratchFolder = try ScratchFolder.make(root: options.scratchRoot, for: directory)
        let scratch = scratchFolder.path
        defer { if !options.keep { scratchFolder.remove() } }
        var interrupted = false
        var done = Set(results.compactMap(Self.key))
        let started = monotonicNanoseconds()
        let repeated = options.repetitions > 1
        // Time left: the repetitions still to run (at most: a stop rule may end a layer early).
        var timing = RemainingTime()
        let perRun = stepWorkload(sweep.values[0]).runtime + stepWorkload(sweep.values[0]).ramp_time + 1
        func repetitionsLeft(after layerIndex: Int, step: Int, rep: Int) -> [String] {
            var kinds: [String] = []
            for (i, spec) in layers.enumerated() where i >= layerIndex {
                if i > layerIndex, let info = layerInfos.first(where: { $0.layer == spec.description }), Self.ended(info.stop_reason) {
                    continue
                }
                for s in 1...sweep.values.count {
                    for r in 1...options.repetitions where i > layerIndex || s > step || (s == step && r >= rep) {
                        if !done.contains(RepetitionKey(layer: spec.description, step: s, rep: r)) { kinds.append(spec.name) }
                    }
                }
            }
            return kinds
        }
        layerLoop: for (layerIndex, spec) in layers.enumerated() {
            let li: Int
            if let i = layerInfos.firstIndex(where: { $0.layer == spec.description }) {
                if Self.ended(layerInfos[i].stop_reason) { continue }
                li = i
                layerInfos[li] = SweepLayerInfo(layer: spec.description, stop_reason: "", stop_detail: "", points: [])
            } else {
                layerInfos.append(SweepLayerInfo(layer: spec.description, stop_reason: "", stop_detail: "", points: []))
                li = layerInfos.count - 1
            }
            let layer = try LayerRegistry.make(spec)
            var baseInfo = LayerInfo(name: spec.name, settings: layer.recordedSettings())
            baseInfo.settings["spec"] = spec.description
            if case let .unavailable(reason, fix) = layer.availability() {
                var r = RunResult.failed(
                    layer: baseInfo, workload: stepWorkload(sweep.values[0]), rep: 1,
                    error: "layer unavailable: \(reason); \(fix)", status: .unavailable, startedAt: Self.now())
                r.sweep = tag(step: 1, value: sweep.values[0], tenant: 1, start: 0, end: 0)
                sequence += 1
                results.append(r)
                layerInfos[li].stop_reason = "unavailable"
                layerInfos[li].stop_detail = "\(reason); \(fix)"
                let label = MatrixRunner.fileLabel(String(format: "%04d", sequence) + "-\(spec.slug)-unavailable")
                try save(runFile: "\(directory)/runs/\(label).json", [r])
                continue
            }
            var points: [SweepStep] = []
            for (index, value) in sweep.values.enumerated() {
                let step = index + 1
                let at = "\(sweep.parameter.rawValue)=\(value)"
                let w = stepWorkload(value)
                for rep in 1...options.repetitions where !done.contains(RepetitionKey(layer: spec.description, step: step, rep: rep)) {
                    if stopRequested.load(ordering: .relaxed) { interrupted = true }
                    if interrupted {
                        layerInfos[li].stop_reason = "interrupted"
                        layerInfos[li].stop_detail = "stopped by a signal before \(at)" + (repeated ? " rep \(rep)" : "")
                        break layerLoop
                    }
                    sequence += 1
                    let label = MatrixRunner.fileLabel(
                        String(format: "%04d", sequence) + "-\(spec.slug)-\(sweep.parameter.rawValue)\(value)"
                            + (repeated ? "-rep\(rep)" : ""))
                    let elapsed = Double(monotonicNanoseconds() - started) / 1e9
                    let left = timing.estimate(repetitionsLeft(after: layerIndex, step: step, rep: rep), fallback: perRun)
                    options.progress?(
                        "[\(MatrixRunner.duration(elapsed))] \(spec.description): \(at) (step \(step) of \(sweep.values.count)"
                            + (repeated ? ", rep \(rep) of \(options.repetitions))" : ")")
                            + (options.tenants > 1 ? ", \(options.tenants) tenants" : "")
                            + ", ~\(MatrixRunner.duration(left)) left at most")
                    let repStarted = monotonicNanoseconds()
                    let context = LayerContext(
                        engineBinary: options.engineBinary, logDirectory: "\(directory)/logs/\(label)",
                        scratchDirectory: scratch, keep: options.keep, runID: "\(getpid() % 100_000)-\(sequence)")
                    try? FileManager.default.createDirectory(atPath: context.logDirectory, withIntermediateDirectories: true)
                    let startedAt = Self.now()
                    let outcomes = layer.runTenants(w, count: options.tenants, rep: rep, context: context)
                    // Read once: a signal between two tenants must not split a repetition.
                    let stopped = stopRequested.load(ordering: .relaxed)
                    var repRuns: [RunResult] = []
                    for o in outcomes {
                        var r: RunResult
                        switch o.result {
                        case let .success(run): r = run
                        case let .failure(error):
                            let message = (error as? WritePathError)?.description ?? "\(error)"
                            r = RunResult.failed(layer: baseInfo, workload: w, rep: rep, error: message, startedAt: startedAt)
                        }
                        r.layer.settings["spec"] = spec.description
                        r.sweep = tag(step: step, value: value, tenant: o.tenant, start: o.wallStart, end: o.wallEnd)
                        if stopped { r.status = .interrupted }
                        repRuns.append(r)
                    }
                    if let overlap = TenantOverlap.estimate(repRuns), overlap < Self.minimumOverlap {
                        let note =
                            "the \(repRuns.count) tenants were measured together for only about \(Int((overlap * 100).rounded()))% "
                            + "of the runtime "
                            + "(layers reach the workload at different times, e.g. guest boot): their fairness is approximate; "
                            + "raise runtime"
                        for i in repRuns.indices { repRuns[i].warnings.append(note) }
                    }
                    results += repRuns
                    done.insert(RepetitionKey(layer: spec.description, step: step, rep: rep))
                    timing.record(kind: spec.name, wallSeconds: Double(monotonicNanoseconds() - repStarted) / 1e9)
                    try save(runFile: "\(directory)/runs/\(label).json", repRuns)
                    if stopped {
                        interrupted = true
                        break
                    }
                }
                let stepRuns = results.filter { $0.layerSpec == spec.description && $0.sweep?.step == step }
                let point = SweepStep(stepRuns: stepRuns, percentile: objective.percentile)
                layerInfos[li].points.append(summary(step: step, value: value, runs: stepRuns, point: point))
                if interrupted {
                    layerInfos[li].stop_reason = "interrupted"
                    layerInfos[li].stop_detail = "stopped by a signal during \(at)"
                    break layerLoop
                }
                guard let point else {
                    let bad = stepRuns.first { $0.status != .ok }
                    layerInfos[li].stop_reason = "failed"
                    layerInfos[li].stop_detail =
                        at
                        + (bad.map {
                            " tenant \($0.sweep!.tenant)\(repeated ? " rep \($0.rep)" : ""): \($0.error ?? $0.status.description)"
                        }
                            ?? ": no measurement")
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

    /// The step's entry in `sweep.layers[].points[]`: its point (see `SweepStep(stepRuns:percentile:)`), or
    /// zeros without an ok repetition, with the first status that was not ok.
    func summary(step: Int, value: Int, runs: [RunResult], point: SweepStep?) -> SweepStep {
        var s =
            point
            ?? SweepStep(
                step: step, value: value, offered: sweep.offered(value, numjobs: workload.numjobs, tenants: options.tenants),
                iops: 0, latencyNs: 0)
        s.status = runs.first { $0.status != .ok }?.status ?? .ok
        if options.repetitions == 1 { s.repIOPS = [] }
        return s
    }

    func document(complete: Bool) -> ResultDocument {
        ResultDocument(
            writepath: provenance, host: host, runs: results,
            sweep: SweepInfo(
                parameter: sweep.parameter.rawValue, values: sweep.values, tenants: options.tenants,
                slo: objective.text, slo_percentile: objective.percentile, slo_ns: UInt64(objective.thresholdNs),
                stop_factor: options.stopFactor, stop_after: options.stopAfter, min_gain: options.minGain,
                saturation_after: options.saturationAfter, repetitions: options.repetitions,
                planned_layers: layers.map(\.description), workload: workload, layers: layerInfos, complete: complete))
    }

    /// Writes one repetition's runs (every tenant) and the running `run.json`, both atomically.
    func save(runFile: String, _ runs: [RunResult]) throws {
        try writeAtomically(try JSONFormat.render(ResultDocument(writepath: provenance, host: host, runs: runs)), to: runFile)
        try writeAtomically(try JSONFormat.render(document(complete: false)), to: "\(directory)/run.json")
    }

    static func now() -> String { ISO8601DateFormatter().string(from: Date()) }
}
