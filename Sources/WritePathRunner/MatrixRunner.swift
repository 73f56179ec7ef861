import Foundation
import WritePathEngine
import WritePathResult

#if canImport(Glibc)
    import Glibc
#endif

/// Runs a matrix: every workload in every layer, round by round, the layer order of each round
/// shuffled from the recorded seed so that drift on a noisy machine spreads over all layers.
///
/// Results go to `<results>/<run id>/`: `matrix.yaml` (the spec with its seed), `run.json` (every
/// run so far, rewritten atomically after each run), `runs/NNNN-<layer>-<workload>-rep<R>.json`
/// and `logs/NNNN-.../`. A folder is never overwritten; `resume` continues one.
public final class MatrixRunner {
    public struct Options {
        /// Folder that holds run folders (`results`).
        public var resultsRoot: String = "results"
        /// Continue this run folder instead of starting a new one.
        public var resumeDirectory: String?
        public var keep = false
        public var engineBinary = EngineRootfs.defaultEngineBinary()
        /// Host folder for targets and bundles (removed afterwards).
        public var scratchRoot = "/var/tmp/writepath-scratch"
        /// Receives the progress line once per run, as it starts: `run K of N, ... elapsed, ~... left | LAYER /
        /// WORKLOAD rep R` (`progressLine`).
        public var progress: ((String) -> Void)?
        public init() {}
    }

    public let spec: MatrixSpec
    public let directory: String
    let options: Options
    var results: [RunResult] = []
    var rounds: [[String]] = []
    var stopReasons: [String: String] = [:]
    var sequence = 0
    let provenance: Provenance
    let host = HostInfo.probe()

    /// Starts a new run folder for `spec`, or, with `options.resumeDirectory`, loads one.
    public init(spec: MatrixSpec?, options: Options, provenance: Provenance) throws {
        self.options = options
        self.provenance = provenance
        let fm = FileManager.default
        if let resume = options.resumeDirectory {
            guard let yaml = try? String(contentsOfFile: "\(resume)/matrix.yaml", encoding: .utf8) else {
                throw WritePathError.invalidInput(field: "resume", message: "\(resume) has no matrix.yaml; give a folder a matrix run made")
            }
            self.spec = try MatrixSpec.parse(yaml, source: "\(resume)/matrix.yaml")
            self.directory = resume
            if let data = fm.contents(atPath: "\(resume)/run.json") {
                let doc = try JSONFormat.parse(data, source: "\(resume)/run.json")
                results = doc.runs.filter { $0.status != .interrupted }
                stopReasons = doc.matrix?.stop_reasons ?? [:]
                sequence = (try? fm.contentsOfDirectory(atPath: "\(resume)/runs").count) ?? results.count
            }
        } else {
            guard let spec else { throw WritePathError.invalidInput(field: "matrix", message: "no matrix given") }
            self.spec = spec
            let dir = try Self.newRunFolder(in: options.resultsRoot, host: host.hostname)
            self.directory = dir
            try writeAtomically(spec.yaml, to: "\(dir)/matrix.yaml")
        }
    }

    /// Makes a new run folder `<resultsRoot>/<run id>` (with `-2`, `-3` ... when that exists)
    /// holding `runs/` and `logs/`, and returns its path. An existing folder is never reused.
    static func newRunFolder(in resultsRoot: String, host: String) throws -> String {
        let fm = FileManager.default
        try OutputFile.ensureFolder(resultsRoot, field: "results")
        let base = "\(resultsRoot)/\(runIdentifier(host: host))"
        var dir = base
        var n = 2
        while fm.fileExists(atPath: dir) { dir = "\(base)-\(n)"; n += 1 }
        try fm.createDirectory(atPath: "\(dir)/runs", withIntermediateDirectories: true)
        try fm.createDirectory(atPath: "\(dir)/logs", withIntermediateDirectories: true)
        return dir
    }

    /// `20261126T101500Z-myhost`: a file name, whatever the host name holds (`/` becomes `_`).
    public static func runIdentifier(host: String) -> String {
        let host = ScratchFolder.safeName(host.replacingOccurrences(of: "/", with: "_"))
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "UTC")
        f.dateFormat = "yyyyMMdd'T'HHmmss'Z'"
        return "\(f.string(from: Date()))-\(host)"
    }

    struct Key: Hashable { var layer: String; var workload: String; var rep: Int }

    func key(_ r: RunResult) -> Key {
        Key(layer: r.layer.settings["spec"] ?? r.layer.name, workload: r.workload.identity, rep: r.rep)
    }

    /// Runs what remains of the matrix. Returns the document also written to `run.json`;
    /// `matrix.complete` is false when it was interrupted.
    public func run() throws -> ResultDocument {
        let layers = try spec.layers.map { try LayerRegistry.make($0) }
        let availability = layers.map { $0.availability() }
        // Never the root joined with the run folder's name: `--resume ..` would name the folder above it.
        let scratchFolder = try ScratchFolder.make(root: options.scratchRoot, for: directory)
        let scratch = scratchFolder.path
        defer { if !options.keep { scratchFolder.remove() } }
        var done = Set(results.map(key))
        let started = monotonicNanoseconds()
        // Time left: the runs still to come, each at the mean wall time of its layer kind so far.
        var timing = RemainingTime()
        var interrupted = false
        var rng = Xoshiro256(seed: spec.seed)
        rounds = []

        roundLoop: for round in 1...spec.repetitions.maximum {
            var order = Array(spec.layers.indices)
            order.shuffle(using: &rng)  // consumed every round, so a resume replays the same order
            rounds.append(order.map { spec.layers[$0].description })
            for li in order {
                let layerSpec = spec.layers[li]
                for workload in spec.workloads {
                    let pair = "\(layerSpec.description) / \(workload.identity)"
                    if stopReasons[pair] != nil { continue }
                    let k = Key(layer: layerSpec.description, workload: workload.identity, rep: round)
                    if done.contains(k) { continue }
                    if stopRequested.load(ordering: .relaxed) { interrupted = true; break roundLoop }
                    sequence += 1
                    let label = Self.fileLabel(
                        String(format: "%04d", sequence) + "-\(layerSpec.slug)-\(workload.name)"
                            + (workload.engine == .writepath ? "" : "-\(workload.engine.rawValue)") + "-rep\(round)")
                    let left = runsLeft(done: done)
                    options.progress?(
                        progressLine(
                            run: results.count + 1, of: results.count + left.count,
                            elapsed: Double(monotonicNanoseconds() - started) / 1e9,
                            left: timing.estimate(left, fallback: plannedSeconds),
                            current: "\(layerSpec.description) / \(workload.identity) rep \(round)"))
                    let runStarted = monotonicNanoseconds()
                    var result: RunResult
                    let startedAt = ISO8601DateFormatter().string(from: Date())
                    var info = LayerInfo(name: layerSpec.name, settings: layers[li].recordedSettings())
                    info.settings["spec"] = layerSpec.description
                    var layerAvailability = availability[li]
                    if case .available = layerAvailability { layerAvailability = layers[li].engineAvailability(workload) }
                    if case let .unavailable(reason, fix) = layerAvailability {
                        result = RunResult.failed(
                            layer: info, workload: workload, rep: round,
                            error: "layer unavailable: \(reason); \(fix)", status: .unavailable, startedAt: startedAt)
                        stopReasons[pair] = "layer unavailable: \(reason)"
                    } else {
                        let context = LayerContext(
                            engineBinary: options.engineBinary, logDirectory: "\(directory)/logs/\(label)",
                            scratchDirectory: scratch, keep: options.keep,
                            runID: "\(getpid() % 100_000)-\(sequence)")
                        try? FileManager.default.createDirectory(atPath: context.logDirectory, withIntermediateDirectories: true)
                        do {
                            result = try layers[li].runTimed(workload, rep: round, context: context)
                            result.layer.settings["spec"] = layerSpec.description
                        } catch {
                            let message = (error as? WritePathError)?.description ?? "\(error)"
                            result = RunResult.failed(layer: info, workload: workload, rep: round, error: message, startedAt: startedAt)
                        }
                        if stopRequested.load(ordering: .relaxed) {
                            result.status = .interrupted
                            interrupted = true
                        }
                    }
                    if workload.engine == .fio { result.engine.name = "fio" }
                    results.append(result)
                    done.insert(k)
                    timing.record(kind: layerSpec.name, wallSeconds: Double(monotonicNanoseconds() - runStarted) / 1e9)
                    try save(runFile: "\(directory)/runs/\(label).json", result)
                    if interrupted { break roundLoop }
                }
            }
            updateStopReasons(round: round)
            if spec.layers.allSatisfy({ l in spec.workloads.allSatisfy { stopReasons["\(l.description) / \($0.identity)"] != nil } }) {
                break
            }
        }
        let doc = document(complete: !interrupted)
        try writeAtomically(try JSONFormat.render(doc), to: "\(directory)/run.json")
        return doc
    }

    /// The layer kind (`host`, `docker-volume`, `qemu-nvme`, ...) of every run still to come, the
    /// next one included: each layer × workload × repetition up to the maximum that has not run,
    /// of the pairs that have not stopped. With `auto` repetitions some of them may never run.
    func runsLeft(done: Set<Key>) -> [String] {
        var kinds: [String] = []
        for l in spec.layers {
            for w in spec.workloads where stopReasons["\(l.description) / \(w.identity)"] == nil {
                for rep in 1...spec.repetitions.maximum where !done.contains(Key(layer: l.description, workload: w.identity, rep: rep)) {
                    kinds.append(l.name)
                }
            }
        }
        return kinds
    }

    /// Seconds a run is guessed to take before any has finished: the workloads' mean runtime and
    /// ramp time, plus a second to start.
    var plannedSeconds: Double {
        spec.workloads.reduce(0) { $0 + $1.runtime + $1.ramp_time + 1 } / Double(max(spec.workloads.count, 1))
    }

    /// The progress line of the run about to start: `run 3 of 24, 1m05s elapsed, ~4m10s left | docker-volume
    /// / rand-4k rep 1`. `of` counts the runs so far and those left; with `auto` repetitions it and
    /// the time left are upper bounds ("at most"), as a pair may stop early. Seconds.
    func progressLine(run: Int, of total: Int, elapsed: Double, left: Double, current: String) -> String {
        let bound: String
        if case .auto = spec.repetitions { bound = " at most" } else { bound = "" }
        return "run \(run) of \(total)\(bound), \(Self.duration(elapsed)) elapsed, ~\(Self.duration(left)) left\(bound) | \(current)"
    }

    /// After a round: decides which pairs have had enough repetitions.
    func updateStopReasons(round: Int) {
        for l in spec.layers {
            for w in spec.workloads {
                let pair = "\(l.description) / \(w.identity)"
                if stopReasons[pair] != nil { continue }
                let runs = results.filter {
                    ($0.layer.settings["spec"] ?? $0.layer.name) == l.description && $0.workload.identity == w.identity
                }
                let ok = runs.filter { $0.status == .ok }
                let values = ok.compactMap { $0.write?.iops ?? $0.read?.iops }
                let cv = Stats.coefficientOfVariation(values)
                let cvText = cv.map { "cv \(formatDecimal($0 * 100, places: 2))%" } ?? "cv n/a"
                switch spec.repetitions {
                case let .fixed(n):
                    if round >= n { stopReasons[pair] = "fixed: \(n) repetitions, \(ok.count) ok, \(cvText)" }
                case let .auto(minimum, maximum, target):
                    let failures = runs.suffix(2).filter { $0.status != .ok }.count
                    if failures == 2 {
                        stopReasons[pair] = "failed twice in a row"
                    } else if let cv, ok.count >= minimum, cv < target {
                        stopReasons[pair] = "\(cvText) below \(formatDecimal(target * 100, places: 2))% after \(ok.count) repetitions"
                    } else if round >= maximum {
                        stopReasons[pair] = "maximum of \(maximum) repetitions reached, \(cvText)"
                    }
                }
            }
        }
    }

    func document(complete: Bool) -> ResultDocument {
        ResultDocument(
            writepath: provenance, host: host, runs: results,
            matrix: MatrixInfo(
                seed: spec.seed, repetitions: spec.repetitions.description, rounds: rounds,
                stop_reasons: stopReasons, total_runs: results.count,
                failed_runs: results.filter { $0.status != .ok }.count, complete: complete))
    }

    /// Writes one run's file and the running `run.json`, both atomically.
    func save(runFile: String, _ result: RunResult) throws {
        let single = ResultDocument(writepath: provenance, host: host, runs: [result])
        try writeAtomically(try JSONFormat.render(single), to: runFile)
        try writeAtomically(try JSONFormat.render(document(complete: false)), to: "\(directory)/run.json")
    }

    /// Longest label of a run's files (`runs/<label>.json`, `logs/<label>/`) in bytes: with the
    /// extension and a temporary file's suffix it stays below NAME_MAX (255).
    static let maximumLabelBytes = 200

    /// `label` as a file name: characters other than letters, digits, `-`, `_`, `.`, `=` become `_`;
    /// when longer than `maximumLabelBytes`, cut and ended with a hash of the whole, so that long
    /// layer and workload names still give distinct names a filesystem accepts.
    static func fileLabel(_ label: String) -> String {
        var safe = String(label.map { $0.isASCII && ($0.isLetter || $0.isNumber || "-_.=".contains($0)) ? $0 : "_" })
        guard safe.utf8.count > maximumLabelBytes else { return safe }
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325  // FNV-1a 64 of the whole label
        for b in label.utf8 { hash = (hash ^ UInt64(b)) &* 0x100_0000_01b3 }
        let suffix = "-" + String(hash, radix: 16)
        while safe.utf8.count + suffix.utf8.count > maximumLabelBytes { safe.removeLast() }
        return safe + suffix
    }

    /// `42s`, `3m05s`: a duration in seconds, rounded to whole seconds.
    public static func duration(_ s: Double) -> String {
        let t = Int(s.rounded())
        return t >= 60 ? "\(t / 60)m\(String(format: "%02d", t % 60))s" : "\(t)s"
    }
}

/// Writes `text` to `path` atomically: a temporary file in the same folder, fsync, rename.
public func writeAtomically(_ text: String, to path: String) throws {
    let dir = (path as NSString).deletingLastPathComponent
    let base = (dir.isEmpty ? "." : dir) + "/.\((path as NSString).lastPathComponent).tmp.\(getpid())"
    // O_EXCL: a file of the temporary's name that the user had is never truncated.
    var tmp = base
    var fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
    var n = 2
    while fd < 0 && errno == EEXIST && n < 100 {
        tmp = "\(base).\(n)"
        n += 1
        fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
    }
    guard fd >= 0 else {
        throw WritePathError.system(call: "open", path: tmp, errno: errno, hint: "check that the folder exists and is writable")
    }
    var failure: Int32 = 0
    let bytes = Array(text.utf8)
    var done = 0
    while done < bytes.count {
        let r = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + done, bytes.count - done) }
        if r < 0 { if errno == EINTR { continue }; failure = errno; break }
        done += r
    }
    if failure == 0 && fsync(fd) != 0 { failure = errno }
    close(fd)
    if failure != 0 {
        unlink(tmp)
        throw WritePathError.system(call: "write", path: tmp, errno: failure, hint: hintFor(errno: failure))
    }
    if rename(tmp, path) != 0 {
        let e = errno
        unlink(tmp)
        throw WritePathError.system(call: "rename", path: path, errno: e, hint: "")
    }
}
