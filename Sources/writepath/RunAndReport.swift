#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import Foundation
import WritePathEngine
import WritePathReport

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

/// `writepath demo`: the embedded default workload set on this host.
struct DemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Run the embedded default workload set on this host (about 30 s).",
        discussion: "The set, as a fio job file:\n\n\(DefaultJobs.demo)")

    @Option(name: .customLong("directory"), help: "Scratch folder for the target files (created; files removed afterwards).")
    var directory: String = "./writepath-demo"
    @Option(name: .customLong("runtime"), help: "Seconds per workload (default 5).") var runtime: String?
    @Option(name: .customLong("output-format"), help: "text (default), json or csv.") var outputFormat: String = "text"
    @Option(name: .customLong("results"), help: "Also write the JSON result into DIR.") var results: String?
    @Flag(name: .customLong("quiet"), help: "No status line on stderr.") var quiet = false

    func validate() throws {
        guard ["text", "json", "csv"].contains(outputFormat) else {
            throw ValidationError("invalid output-format: \(quoted(outputFormat)) is not supported; expected text, json or csv")
        }
    }

    func run() throws {
        var jobs = try FioJobFile.parse(DefaultJobs.demo, path: "demo")
        for i in jobs.indices {
            try jobs[i].set("directory", directory)
            if let runtime { try jobs[i].set("runtime", runtime) }
        }
        let created = !FileManager.default.fileExists(atPath: directory)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer {
            for w in jobs { unlink(Target.path(for: w, jobIndex: 0)) }
            if created { rmdir(directory) }
        }
        try ReportOptions(outputFormat: outputFormat, output: nil, results: results, quiet: quiet)
            .runAndReport(jobs, safety: SafetyOptions(), afterEach: { unlink(Target.path(for: $0, jobIndex: 0)) })
    }
}
