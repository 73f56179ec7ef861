import ArgumentParser
import Foundation
import WritePathEngine
import WritePathReport
import WritePathResult
import WritePathRunner

#if canImport(Glibc)
    import Glibc
#endif

/// Where results go and how they look; shared by `run` and `demo`.
struct ReportOptions {
    var outputFormat: String
    var output: String?
    var results: String?
    var quiet: Bool
    /// `--status-interval`: seconds between status lines on stderr, printed also when stderr is
    /// not a terminal; nil: a live line on a terminal only.
    var statusInterval: Double? = nil
    /// `--layer-label`: the runs are tagged as that layer and as made by hand.
    var layerLabel: LayerLabel? = nil

    /// Runs `jobs` on this host, then writes the results. Without `schedule` the jobs run one
    /// after another; with it (a job file's sections) they run as fio runs them: all at once,
    /// except that a job with `stonewall` waits until every job before it has ended. A job that
    /// fails before any I/O ends the sequence, but what the jobs measured is still written.
    /// Exits 1 (by throwing) when any run failed, 130 when interrupted.
    func runAndReport(
        _ jobs: [Workload], schedule: [FioJobFile.Scheduling]? = nil, safety: SafetyOptions,
        afterEach: ((Workload) -> Void)? = nil
    ) throws {
        for w in jobs { try w.validate() }
        if let output { try OutputFile.check(output, field: "output") }
        if let results { try ensureFolder(results) }
        Signals.install()
        var runs: [RunResult] = []
        let host = HostInfo.probe()
        let terminal = Output.stderrIsTerminal
        let showStatus = !quiet && (terminal || statusInterval != nil)
        var failure: Error?
        for phase in Self.phases(jobs.count, schedule) {
            if stopRequested.load(ordering: .relaxed) { break }
            let phaseJobs = phase.map { jobs[$0] }
            let timeBased = phaseJobs.allSatisfy { $0.time_based }
            let status = StatusLine(
                totalSeconds: timeBased ? phaseJobs.map { $0.runtime + $0.ramp_time }.max() ?? 0 : 0,
                totalBytes: timeBased ? 0 : phaseJobs.reduce(0) { $0 + ($1.size ?? 0) * UInt64($1.numjobs) },
                interval: statusInterval, terminal: terminal, label: phaseJobs.map(\.name).joined(separator: ", "))
            var prepared = phaseJobs.map { WorkloadRun(workload: $0, safety: safety) }
            if showStatus {
                Output.stderr("\(phaseJobs.map(\.name).joined(separator: ", ")): running\n")
                prepared[0].onTick = { status.tick(elapsed: $0, progress: $1) }
            }
            let outcomes = WorkloadRun.executeConcurrently(prepared)
            status.finish()
            for (k, outcome) in outcomes.enumerated() {
                switch outcome {
                case let .success(measurement):
                    var run = RunResult(
                        layer: layerLabel?.layer ?? LayerInfo(name: "host"), workload: phaseJobs[k], rep: 1, measurement: measurement)
                    if let schedule, jobs.count > 1 { run.group = Self.groups(schedule)[phase[k]] }
                    if let layerLabel { run.hand_run = HandRun(label: layerLabel.text, host: host) }
                    runs.append(run)
                    afterEach?(phaseJobs[k])
                case let .failure(error): failure = failure ?? error
                }
            }
            if failure != nil { break }
        }
        let document = ResultDocument(
            writepath: Provenance(
                version: BuildInfo.version, git_commit: BuildInfo.gitCommit,
                arguments: Array(CommandLine.arguments.dropFirst())),
            host: host, runs: runs)
        if !runs.isEmpty {
            let text: String
            switch outputFormat {
            case "json": text = try JSONFormat.render(document)
            case "csv": text = CSVFormat.render(document)
            default:
                text =
                    TextFormat.render(document)
                    + TextFormat.groupSums(document, reporting: Self.reportedGroups(jobs.count, schedule))
            }
            var late: [String] = []
            if let output {
                do { try Output.writeFile(text, to: output, field: "output") } catch {
                    late.append(keep(text, failed: "--output \(output)", error: error, ext: outputFormat == "text" ? "txt" : outputFormat))
                }
            } else {
                Output.stdout(text)
            }
            if let results {
                let json = try JSONFormat.render(document)
                do {
                    // A new file every run: two runs in the same second never share one.
                    let base = MatrixRunner.runIdentifier(host: document.host.hostname)
                    let name = try OutputFile.writeNew(json, folder: results, base: base, ext: "json")
                    if !quiet { Output.stderr("results: \(name)\n") }
                } catch {
                    late.append(keep(json, failed: "--results \(results)", error: error, ext: "json"))
                }
            }
            // A run that failed says why on stderr too, not only inside the result.
            for r in runs where r.status == .failed { Output.stderr("writepath: error: \(r.workload.name): \(r.error ?? "failed")\n") }
            if !late.isEmpty {
                for line in late { Output.stderr("writepath: error: \(line)\n") }
                throw ExitCode(1)
            }
        }
        if let failure { throw failure }
        if stopRequested.load(ordering: .relaxed) { throw ExitCode(130) }
        if runs.contains(where: { $0.status != .ok }) { throw ExitCode(1) }
    }

    /// The jobs that start together, in order: a new phase at each job with `stonewall`; one job
    /// a phase without a schedule.
    static func phases(_ count: Int, _ schedule: [FioJobFile.Scheduling]?) -> [[Int]] {
        guard let schedule else { return (0..<count).map { [$0] } }
        var phases: [[Int]] = []
        for i in 0..<count {
            if i == 0 || schedule[i].stonewall { phases.append([i]) } else { phases[phases.count - 1].append(i) }
        }
        return phases
    }

    /// Each job's reporting group, as fio numbers them: a new group at each `stonewall` or `new_group`.
    static func groups(_ schedule: [FioJobFile.Scheduling]) -> [Int] {
        var group = 0
        return schedule.enumerated().map { i, s in
            if i > 0 && (s.stonewall || s.newGroup) { group += 1 }
            return group
        }
    }

    /// The groups whose sums the text output shows: those with `group_reporting` on any job.
    static func reportedGroups(_ count: Int, _ schedule: [FioJobFile.Scheduling]?) -> Set<Int> {
        guard let schedule, count > 1 else { return [] }
        let g = groups(schedule)
        return Set(schedule.indices.filter { schedule[$0].groupReporting }.map { g[$0] })
    }

    /// Keeps a measured result that could not be written where asked; returns the line that says where.
    func keep(_ text: String, failed what: String, error: Error, ext: String) -> String {
        let reason = (error as? WritePathError)?.description ?? "\(error)"
        if let kept = OutputFile.rescue(text, name: "result", ext: ext) {
            return "could not write \(what): \(reason); the result is kept in \(kept)"
        }
        return "could not write \(what): \(reason); nowhere to keep the result (TMPDIR, /var/tmp and /tmp failed)"
    }

    func ensureFolder(_ path: String) throws { try OutputFile.ensureFolder(path, field: "results") }
}

/// `writepath demo`: what a new user sees first. Lists which layers can run here (and why not),
/// runs the shipped `quick` suite (host and every container layer) into a new results folder,
/// writes the report and prints the aggregated table and where report.html is.
struct DemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Run the quick suite on every layer available here and write the report (about 4-5 minutes).",
        discussion: "The suite:\n\n\(Suites.quick)")

    @Option(name: .customLong("suite"), help: "quick, standard or full.") var suite = "quick"
    @Option(name: .customLong("results"), help: "Folder for the run folder.") var results = "results"
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
            directory = try MatrixCommandRunner(
                matrix: suite, resume: nil, results: results, keep: false, quiet: quiet,
                outputFormat: "none"
            ).runReturningDirectory()
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
