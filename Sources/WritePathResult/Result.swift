import WritePathEngine

/// The JSON result document, `writepath.result/1`: the public contract every later part reads.
/// Field names are stable; new fields may be added, none renamed or removed within version 1.
public struct ResultDocument: Codable, Sendable {
    public static let currentSchema = "writepath.result/1"
    public var schema: String = ResultDocument.currentSchema
    public var writepath: Provenance
    public var host: HostInfo
    public var runs: [RunResult]
    /// Present in a matrix's `run.json`.
    public var matrix: MatrixInfo?
    /// Present in a sweep's `run.json` (`writepath sweep`).
    public var sweep: SweepInfo?

    public init(writepath: Provenance, host: HostInfo, runs: [RunResult], matrix: MatrixInfo? = nil, sweep: SweepInfo? = nil) {
        self.writepath = writepath
        self.host = host
        self.runs = runs
        self.matrix = matrix
        self.sweep = sweep
    }
}

/// Which writepath produced a result, and how it was called.
public struct Provenance: Codable, Sendable {
    public var version: String
    public var git_commit: String
    /// The command line, argv[0] excluded.
    public var arguments: [String]
    public init(version: String, git_commit: String, arguments: [String]) {
        self.version = version
        self.git_commit = git_commit
        self.arguments = arguments
    }
}

/// The layer a run was measured in: `name` plus every setting that matters to it.
public struct LayerInfo: Codable, Sendable, Equatable {
    public var name: String
    /// Settings as strings (storage driver, runtime, limits, versions, accel, ...).
    public var settings: [String: String]

    public init(name: String, settings: [String: String] = [:]) {
        self.name = name
        self.settings = settings
    }

    struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    /// Encoded flat: `{"name": "host", "storage_driver": "overlay2", ...}`.
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: Key.self)
        try c.encode(name, forKey: Key(stringValue: "name"))
        for (k, v) in settings.sorted(by: { $0.key < $1.key }) where k != "name" {
            try c.encode(v, forKey: Key(stringValue: k))
        }
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: Key.self)
        name = try c.decode(String.self, forKey: Key(stringValue: "name"))
        settings = [:]
        for k in c.allKeys where k.stringValue != "name" {
            if let s = try? c.decode(String.self, forKey: k) {
                settings[k.stringValue] = s
            } else if let i = try? c.decode(Int64.self, forKey: k) {
                settings[k.stringValue] = String(i)
            } else if let d = try? c.decode(Double.self, forKey: k) {
                settings[k.stringValue] = String(d)
            } else if let b = try? c.decode(Bool.self, forKey: k) {
                settings[k.stringValue] = String(b)
            }
        }
    }
}

/// What became of a run: `runs[].status`, spelled in JSON as the strings `ok`, `failed`,
/// `unavailable` and `interrupted`.
public enum RunStatus: Sendable, Hashable, Codable, CustomStringConvertible {
    /// Every I/O and call succeeded: the only status whose metrics count.
    case ok
    /// An I/O or call failed; the metrics cover what completed and `error` says what failed.
    case failed
    /// The layer cannot run on this machine; `error` gives the reason and the fix. No metrics.
    case unavailable
    /// A signal stopped the matrix or sweep during this run; `--resume` runs it again.
    case interrupted
    /// A status this version does not know, from a file another version wrote: kept as spelled, so
    /// the file reads and writes back unchanged, and never counted as ok.
    case unrecognized(String)

    /// The status spelled `text`.
    public init(_ text: String) {
        switch text {
        case "ok": self = .ok
        case "failed": self = .failed
        case "unavailable": self = .unavailable
        case "interrupted": self = .interrupted
        default: self = .unrecognized(text)
        }
    }

    /// The JSON spelling.
    public var description: String {
        switch self {
        case .ok: return "ok"
        case .failed: return "failed"
        case .unavailable: return "unavailable"
        case .interrupted: return "interrupted"
        case let .unrecognized(text): return text
        }
    }

    public init(from decoder: Decoder) throws { self.init(try decoder.singleValueContainer().decode(String.self)) }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }
}

/// One workload run once in one layer: `runs[]`. The engine's measurement (`RunMeasurement`:
/// metrics, target, error, warnings, ...) plus who ran it; encoded as one flat JSON object, and
/// the measurement's fields read and set as the run's own (`run.write`, `run.error = ...`).
@dynamicMemberLookup
public struct RunResult: Codable, Sendable {
    public var layer: LayerInfo
    public var workload: Workload
    /// Repetition number, from 1.
    public var rep: Int
    /// `ok`, or `failed` when any I/O or call failed (metrics then cover what completed).
    public var status: RunStatus
    /// What the engine measured.
    public var measurement: RunMeasurement
    /// In a sweep: the step and tenant this run was (absent otherwise).
    public var sweep: SweepTag? = nil
    /// fio's reporting group of this job, from 0, for job files with several jobs: a new group
    /// starts at each `stonewall` or `new_group` (absent otherwise).
    public var group: Int? = nil

    /// The run of `measurement` as `layer`'s repetition `rep`: `ok` when it has no error, else `failed`.
    public init(layer: LayerInfo, workload: Workload, rep: Int, measurement: RunMeasurement) {
        self.layer = layer
        self.workload = workload
        self.rep = rep
        self.status = measurement.error == nil ? .ok : .failed
        self.measurement = measurement
    }

    public subscript<T>(dynamicMember field: WritableKeyPath<RunMeasurement, T>) -> T {
        get { measurement[keyPath: field] }
        set { measurement[keyPath: field] = newValue }
    }

    enum CodingKeys: String, CodingKey { case layer, workload, rep, status, sweep, group }

    /// One object: the run's own keys and the measurement's side by side.
    public func encode(to encoder: Encoder) throws {
        try measurement.encode(to: encoder)
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(layer, forKey: .layer)
        try c.encode(workload, forKey: .workload)
        try c.encode(rep, forKey: .rep)
        try c.encode(status, forKey: .status)
        try c.encodeIfPresent(sweep, forKey: .sweep)
        try c.encodeIfPresent(group, forKey: .group)
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        layer = try c.decode(LayerInfo.self, forKey: .layer)
        workload = try c.decode(Workload.self, forKey: .workload)
        rep = try c.decode(Int.self, forKey: .rep)
        status = try c.decode(RunStatus.self, forKey: .status)
        measurement = try RunMeasurement(from: decoder)
        sweep = try c.decodeIfPresent(SweepTag.self, forKey: .sweep)
        group = try c.decodeIfPresent(Int.self, forKey: .group)
    }
}

extension RunResult {
    /// A run that produced no measurement: `status` is `failed` (or `unavailable` for a layer that
    /// cannot run here) and `error` says why. It has no metrics, so it never counts as throughput.
    public static func failed(
        layer: LayerInfo, workload: Workload, rep: Int, error: String, status: RunStatus = .failed,
        startedAt: String
    ) -> RunResult {
        var run = RunResult(
            layer: layer, workload: workload, rep: rep,
            measurement: .none(engine: workload.ioengine.rawValue, error: error, startedAt: startedAt))
        run.status = status
        return run
    }
}

extension RunResult {
    /// The layer as a matrix named it (`docker-volume(write_iops_limit=500)`), else its name, without
    /// the parameters that only say where it writes (`LayerIdentity.locationParameters`): `host(directory=/tmp/x)`
    /// is `host`, so runs in different scratch folders are the same layer.
    public var layerIdentity: String { LayerIdentity.of(layerSpec) }
    /// The layer exactly as the run was made in it, location parameters included: within one run
    /// folder, `host` and `host(directory=/data)` are two layers.
    public var layerSpec: String { layer.settings["spec"] ?? layer.name }
    /// Write when the run writes, else read.
    public var mainDirection: DirectionResult? { self.write ?? self.read }
    /// `write`, `read` or `-`.
    public var mainDirectionName: String { self.write != nil ? "write" : (self.read != nil ? "read" : "-") }
}

/// What makes two layers the same layer: the name and the parameters that change the write path.
public enum LayerIdentity {
    /// The label each run's layer goes by in one set of results: its identity, unless two layers
    /// of the set differ only in where they write (`host` and `host(directory=/data)` side by
    /// side), which then keep their full spec.
    public static func labels(_ runs: [RunResult]) -> [String: String] {
        var specsOf: [String: Set<String>] = [:]
        for r in runs { specsOf[r.layerIdentity, default: []].insert(r.layerSpec) }
        var out: [String: String] = [:]
        for r in runs { out[r.layerSpec] = specsOf[r.layerIdentity]!.count > 1 ? r.layerSpec : r.layerIdentity }
        return out
    }

    /// Parameters that say where a layer writes, not how: settings, not identity.
    public static let locationParameters: Set<String> = ["directory", "path", "scratch", "scratch_root", "host_path", "filename"]

    /// `spec` (`name` or `name(k=v,...)`, as `LayerSpec.description` prints it) without location parameters.
    public static func of(_ spec: String) -> String {
        guard let open = spec.firstIndex(of: "("), spec.hasSuffix(")") else { return spec }
        let name = String(spec[..<open])
        let inner = spec[spec.index(after: open)..<spec.index(before: spec.endIndex)]
        // A value may hold a comma (a path): a piece without `=` belongs to the one before.
        var items: [String] = []
        for piece in inner.split(separator: ",", omittingEmptySubsequences: false) {
            if piece.contains("=") || items.isEmpty { items.append(String(piece)) } else { items[items.count - 1] += "," + piece }
        }
        let kept = items.filter { item in
            let key = item.split(separator: "=", maxSplits: 1).first.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
            return !locationParameters.contains(key)
        }
        return kept.isEmpty ? name : "\(name)(\(kept.joined(separator: ",")))"
    }
}

/// How a matrix was run: `run.json`'s `matrix` object.
public struct MatrixInfo: Codable, Sendable {
    /// The seed that shuffled the layer order of each round.
    public var seed: UInt64
    /// `3`, or `auto` with its bounds.
    public var repetitions: String
    /// Each round's layer order, as layer descriptions.
    public var rounds: [[String]]
    /// For each layer and workload (`layer / workload`), why its repetitions stopped.
    public var stop_reasons: [String: String]
    public var total_runs: Int
    public var failed_runs: Int
    public var complete: Bool

    public init(
        seed: UInt64, repetitions: String, rounds: [[String]], stop_reasons: [String: String], total_runs: Int,
        failed_runs: Int, complete: Bool
    ) {
        self.seed = seed
        self.repetitions = repetitions
        self.rounds = rounds
        self.stop_reasons = stop_reasons
        self.total_runs = total_runs
        self.failed_runs = failed_runs
        self.complete = complete
    }
}

extension WorkloadRun {
    /// Runs the workload on this machine (`execute()`) as `layer`'s repetition `rep`.
    public func execute(layer: LayerInfo = LayerInfo(name: "host"), rep: Int = 1) throws -> RunResult {
        RunResult(layer: layer, workload: workload, rep: rep, measurement: try execute())
    }
}
