#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import Foundation
import WritePathEngine
import WritePathReport
import WritePathRunner

/// Where results go and how they look; shared by `run` and `demo`.
struct ReportOptions {
    var outputFormat: String
    var output: String?
    var results: String?
    var quiet: Bool

    /// Runs `jobs` one after another on this host, then writes the results. A job that fails
    /// before any I/O ends the sequence, but what earlier jobs measured is still written.
    /// Exits 1 (by throwing) when any run failed, 130 when interrupted.
    func runAndReport(_ jobs: [Workload], safety: SafetyOptions, afterEach: ((Workload) -> Void)? = nil) throws {
        for w in jobs { try w.validate() }
        if let output { try checkOutputFolder(output) }
        if let results { try ensureFolder(results) }
        Signals.install()
        var runs: [RunResult] = []
        let showStatus = !quiet && Output.stderrIsTerminal
        var failure: Error?
        for w in jobs {
            if stopRequested.load(ordering: .relaxed) { break }
            var run = WorkloadRun(workload: w, safety: safety)
            let status = StatusLine(totalSeconds: w.runtime + w.ramp_time)
            if showStatus {
                Output.stderr("\(w.name): running\n")
                run.onTick = { status.tick(elapsed: $0, progress: $1) }
            }
            do {
                runs.append(try run.execute())
            } catch {
                failure = error
                status.finish()
                break
            }
            status.finish()
            afterEach?(w)
        }
        let document = ResultDocument(
            writepath: Provenance(version: BuildInfo.version, git_commit: BuildInfo.gitCommit,
                                  arguments: Array(CommandLine.arguments.dropFirst())),
            host: HostInfo.probe(), runs: runs)
        if !runs.isEmpty {
            let text: String
            switch outputFormat {
            case "json": text = try JSONFormat.render(document)
            case "csv": text = CSVFormat.render(document)
            default: text = TextFormat.render(document)
            }
            if let output { try Output.writeAtomically(text, to: output) } else { Output.stdout(text) }
            if let results {
                let name = "\(results)/\(runIdentifier(host: document.host.hostname)).json"
                try Output.writeAtomically(try JSONFormat.render(document), to: name)
                if !quiet { Output.stderr("results: \(name)\n") }
            }
        }
        if let failure { throw failure }
        if stopRequested.load(ordering: .relaxed) { throw ExitCode(130) }
        if runs.contains(where: { $0.status != "ok" }) { throw ExitCode(1) }
    }

    /// Checks, before anything runs, that `--output` can be written: its folder exists and it
    /// is not a folder itself. Measuring for minutes and then failing to save would lose the run.
    func checkOutputFolder(_ path: String) throws {
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDir), isDir.boolValue {
            throw WritePathError.invalidInput(field: "output", message: "\(quoted(path)) is a folder; give a file name")
        }
        let folder = (path as NSString).deletingLastPathComponent
        guard folder.isEmpty || (FileManager.default.fileExists(atPath: folder, isDirectory: &isDir) && isDir.boolValue) else {
            throw WritePathError.invalidInput(field: "output", message: "the folder \(quoted(folder)) does not exist; create it or give another --output")
        }
    }

    func ensureFolder(_ path: String) throws {
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDir) {
            guard isDir.boolValue else { throw WritePathError.invalidInput(field: "results", message: "'\(path)' is not a folder") }
            return
        }
        do { try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true) } catch {
            throw WritePathError.invalidInput(field: "results", message: "cannot create folder '\(path)': \(error.localizedDescription)")
        }
    }
}

/// `writepath demo`: what a new user sees first. Lists which layers can run here (and why not),
/// runs the shipped `quick` suite (host and every container layer) into a new results folder,
/// writes the report and prints the aggregated table and where report.html is.
struct DemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Run the quick suite on every layer available here and write the report (about 4-5 minutes).",
        discussion: "The suite:\n\n\(Suites.quick)")

    @Option(name: .customLong("suite"), help: "quick (default), standard or full.") var suite = "quick"
    @Option(name: .customLong("results"), help: "Folder for the run folder (default results).") var results = "results"
    @Flag(name: .customLong("quiet"), help: "No progress line.") var quiet = false

    func validate() throws {
        guard Suites.named(suite) != nil else {
            throw ValidationError("invalid suite: '\(suite)'; expected quick, standard or full")
        }
    }

    func run() throws {
        let spec = try MatrixSpec.parse(Suites.named(suite)!, source: "suite \(suite)")
        var lines = "layers in the \(suite) suite:\n"
        for l in spec.layers {
            let layer = try LayerRegistry.make(l)
            switch layer.availability() {
            case let .available(detail): lines += "  \(l.description): available (\(detail))\n"
            case let .unavailable(reason, fix): lines += "  \(l.description): UNAVAILABLE: \(reason); fix: \(fix)\n"
            }
        }
        Output.stdout(lines + "\n")
        var failure: Error?
        var directory: String?
        do {
            directory = try MatrixCommandRunner(matrix: suite, resume: nil, results: results, keep: false, quiet: quiet,
                                                outputFormat: "none").runReturningDirectory()
        } catch let e as ExitCode where e.rawValue == 1 {
            failure = e  // some runs failed: still report what was measured
        }
        guard let dir = directory ?? MatrixCommandRunner.lastDirectory else {
            if let failure { throw failure }
            return
        }
        var report = try ReportCommand.parse([dir])
        try report.run()
        if let failure { throw failure }
    }
}
