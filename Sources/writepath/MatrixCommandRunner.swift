import ArgumentParser
import Foundation
import WritePathEngine
import WritePathReport
import WritePathResult
import WritePathRunner

/// `writepath run --matrix FILE|SUITE` and `--resume DIR`.
struct MatrixCommandRunner {
    var matrix: String?
    var resume: String?
    var results: String
    var keep: Bool
    var quiet: Bool
    var outputFormat: String
    /// `--engine`: every workload with these engines instead of the matrix's own; nil keeps them.
    var engines: [WorkloadEngine]? = nil
    /// `--status-interval`: seconds between repeats of the running run's progress line; with it
    /// every progress line is a full line on stderr, terminal or not. Nil: one line per run (on a
    /// terminal, rewritten in place).
    var statusInterval: Double? = nil

    /// Parses `--engine writepath|fio|writepath,fio`; exit 2 naming the field for anything else.
    static func engines(_ text: String?, resume: String?) throws -> [WorkloadEngine]? {
        guard let text else { return nil }
        if resume != nil {
            throw WritePathError.invalidInput(field: "engine", message: "a resumed matrix keeps its recorded engines; leave --engine out")
        }
        var out: [WorkloadEngine] = []
        for item in text.split(separator: ",") {
            guard let e = WorkloadEngine(rawValue: item.trimmingCharacters(in: .whitespaces)) else {
                throw WritePathError.invalidInput(
                    field: "engine",
                    message: "'\(item)' is not an engine; expected writepath, fio or writepath,fio")
            }
            if !out.contains(e) { out.append(e) }
        }
        guard !out.isEmpty else {
            throw WritePathError.invalidInput(field: "engine", message: "names no engine; expected writepath, fio or writepath,fio")
        }
        return out
    }

    /// The YAML of `--matrix`: a shipped suite's (unless a file of that name exists) or the file's
    /// (- for stdin), and where it came from; exit 2 naming the field when it cannot be read.
    static func matrixText(_ matrix: String) throws -> (text: String, source: String) {
        if let suite = Suites.named(matrix), !FileManager.default.fileExists(atPath: matrix) { return (suite, "suite \(matrix)") }
        guard let data = readInputFile(matrix) else {
            throw WritePathError.invalidInput(
                field: "matrix",
                message: "cannot read '\(matrix)'; give a YAML file (- for stdin) or one of \(Suites.names.joined(separator: ", "))")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw WritePathError.invalidInput(field: "matrix", message: "\(quoted(matrix)) is not UTF-8 text")
        }
        return (text, matrix)
    }

    /// The run folder of the last matrix run in this process (for `demo`).
    nonisolated(unsafe) static var lastDirectory: String?

    func run() throws { _ = try runReturningDirectory() }

    /// Runs the matrix and returns its run folder.
    func runReturningDirectory() throws -> String {
        var spec: MatrixSpec?
        var givenText = ""
        if let matrix {
            let given = try Self.matrixText(matrix)
            spec = try MatrixSpec.parse(given.text, source: given.source)
            givenText = given.text
        }
        if let engines, var s = spec {
            var seen = Set<String>()
            s.workloads = MatrixSpec.withEngines(s.workloads, engines).filter { seen.insert($0.identity).inserted }
            spec = s
        }
        if let resume, let matrix, let given = spec { try checkSame(given, givenText: givenText, matrix: matrix, resume: resume) }
        Signals.install()
        var options = MatrixRunner.Options()
        options.resultsRoot = results
        options.resumeDirectory = resume
        options.keep = keep
        let terminal = Output.stderrIsTerminal && statusInterval == nil
        let status = quiet ? nil : statusInterval.map { StatusRepeater(interval: $0, noun: "run") }
        StatusRepeater.current = status
        defer { status?.stop() }
        if !quiet {
            options.progress = { line in
                Output.stderr(terminal ? "\r\u{1B}[K" + line : line + "\n")
                status?.started(line)
            }
        }
        let runner = try MatrixRunner(
            spec: spec, options: options,
            provenance: Provenance(
                version: BuildInfo.version, git_commit: BuildInfo.gitCommit,
                arguments: Array(CommandLine.arguments.dropFirst())))
        if !quiet {
            Output.stderr(
                "matrix: \(runner.spec.layers.count) layers x \(runner.spec.workloads.count) workloads, repetitions "
                    + "\(runner.spec.repetitions), seed \(runner.spec.seed)\nresults: \(runner.directory)\n"
            )
        }
        MatrixCommandRunner.lastDirectory = runner.directory
        let doc = try runner.run()
        if !quiet && terminal { Output.stderr("\r\u{1B}[K") }
        switch outputFormat {
        case "json": Output.stdout(try JSONFormat.render(doc))
        case "csv": Output.stdout(CSVFormat.render(doc))
        case "none": break
        default: Output.stdout(MatrixSummary.render(doc, directory: runner.directory))
        }
        if doc.matrix?.complete == false {
            Output.stderr("interrupted: finish it with: writepath run --resume \(runner.directory)\n")
            throw ExitCode(130)
        }
        if (doc.matrix?.failed_runs ?? 0) > 0 { throw ExitCode(1) }
        return runner.directory
    }
}

extension MatrixCommandRunner {
    /// With --resume, a --matrix given too must be the one the run folder recorded (layers, workloads,
    /// repetitions, and the seed when the file names one), as `sweep --resume` checks its parameters.
    func checkSame(_ given: MatrixSpec, givenText: String, matrix: String, resume: String) throws {
        guard let text = try? String(contentsOfFile: "\(resume)/matrix.yaml", encoding: .utf8) else { return }  // the runner says why
        let recorded = try MatrixSpec.parse(text, source: "\(resume)/matrix.yaml")
        let namesSeed = givenText.split(separator: "\n").contains { $0.trimmingCharacters(in: .whitespaces).hasPrefix("seed:") }
        var differs: [String] = []
        if given.layers != recorded.layers { differs.append("layers") }
        if given.workloads != recorded.workloads { differs.append("workloads") }
        if given.repetitions != recorded.repetitions { differs.append("repetitions") }
        if namesSeed && given.seed != recorded.seed { differs.append("seed") }
        guard differs.isEmpty else {
            throw WritePathError.invalidInput(
                field: "matrix",
                message: "\(quoted(matrix)) is not the matrix of \(resume) (its \(differs.joined(separator: ", ")) differ); "
                    + "leave out --matrix with --resume or give the same matrix")
        }
    }
}

/// The matrix's summary on the terminal: one line per layer and workload with the median.
enum MatrixSummary {
    static func render(_ doc: ResultDocument, directory: String) -> String {
        // The smallest drop of each layer's IOPS ratio to host a compare of two runs like this one catches (80% power).
        let aggregation = Aggregation.aggregate(ResultInput(sources: [ResultInput.Source(path: directory, document: doc)]))
        var mde: [String: Double] = [:]
        for r in aggregation.rows { if let d = r.iopsMinimumDetectableDrop { mde[r.label] = d } }
        var out = "\nlayer / workload                                   runs   median IOPS    median BW/s   median p99 (us)"
        out += "  MDE vs host  status\n"
        var order: [String] = []
        var groups: [String: [RunResult]] = [:]
        for r in doc.runs {
            let key = "\(r.layerSpec) / \(r.workload.identity)"
            if groups[key] == nil { order.append(key) }
            groups[key, default: []].append(r)
        }
        for key in order {
            let runs = groups[key]!
            let ok = runs.filter { $0.status == .ok }
            let iops = median(ok.compactMap { $0.write?.iops ?? $0.read?.iops })
            let bw = median(ok.compactMap { $0.write?.bw_bytes_per_s ?? $0.read?.bw_bytes_per_s })
            let p99 = median(ok.compactMap { r in (r.write?.lat_ns.p99 ?? r.read?.lat_ns.p99).map { Double($0) } })
            let status =
                ok.count == runs.count
                ? "ok" : "\(runs.count - ok.count) not ok: \(runs.first { $0.status != .ok }?.error?.prefix(60) ?? "")"
            func col(_ s: String, _ w: Int) -> String { s.count >= w ? s : String(repeating: " ", count: w - s.count) + s }
            let name = key.count > 50 ? String(key.prefix(50)) : key + String(repeating: " ", count: 50 - key.count)
            out +=
                "\(name) \(col("\(runs.count)", 5)) \(col(iops.map { formatSI($0) } ?? "-", 13)) "
                + "\(col(bw.map { ByteSize.format($0) } ?? "-", 14)) \(col(p99.map { formatDecimal($0 / 1000, places: 1) } ?? "-", 17))"
            out += "  \(col(mde[key].map { "-" + formatDecimal($0 * 100, places: 0) + "%" } ?? "-", 11))  \(status)\n"
        }
        if let m = doc.matrix {
            out += "\n\(m.total_runs) runs, \(m.failed_runs) not ok, seed \(m.seed); results in \(directory)/run.json\n"
            if !mde.isEmpty {
                out += "MDE vs host: the smallest drop of a layer's IOPS ratio to host that `writepath compare` of two runs like this one"
                out += " catches 4 times in 5 (alpha 0.05 over all rows × metrics)\n"
            }
        }
        return out
    }

    static func median(_ v: [Double]) -> Double? { Stats.median(v) }
}
