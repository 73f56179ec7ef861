import ArgumentParser
import Foundation
import WritePathEngine
import WritePathReport
import WritePathResult
import WritePathRunner

/// `writepath sweep`: steps the offered load (queue depth or rate) in each layer and records a
/// throughput-latency curve per layer, with the SLO point and the knee.
struct SweepCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sweep",
        abstract: "Step the offered load in each layer: throughput-latency curves, the SLO point and the knee.",
        usage: "writepath sweep [<workload options>] [<options>]",
        discussion: """
            For each --layer in turn, runs the workload at every step of --sweep (default iodepth=1:max=256, \
            that is 1, 2, 4 ... 256), each step a normal run in the result schema tagged with runs[].sweep, \
            until the steps run out or a stop rule fires: the objective's percentile above --stop-factor x \
            the objective for --stop-after consecutive steps (slo_exceeded), or less than --min-gain of the \
            added load becoming throughput for --saturation-after consecutive steps (saturated).

            With --tenants N every step runs N copies at once in the layer (N host jobs, containers or \
            guests) and records each tenant and the fairness between them (min/max IOPS, Jain's index).

            With --repetitions N every step runs N times back to back; its curve point (what the stop rules, \
            the SLO point and the knee use) is the median IOPS and bandwidth over the ok repetitions, with the \
            latency percentiles of their merged histograms.

            --resume DIR continues an interrupted sweep in its own folder: finished steps are kept, the \
            sweep goes on from the first unfinished one, with the parameters DIR recorded (options given \
            with --resume must match them).

            Workload defaults for a sweep: --rw=randwrite --size=64m --runtime=5 --time_based, and with a \
            rate_iops sweep --iodepth=32. Results: <results>/<run id>/run.json, runs/, logs/.

            Exit codes: 0 done, 1 a step failed or a layer was unavailable, 2 invalid input, 130 interrupted.
            """)

    @Option(
        name: .customLong("layer"), help: "A layer, repeatable: host, docker-volume, docker-volume:write_iops_limit=500 (default host).")
    var layers: [String] = []
    @OptionGroup var workload: WorkloadOptions
    @Option(
        name: .customLong("sweep"),
        help: "iodepth=1,2,4,8 | iodepth=1:max=256 | rate_iops=1000:step=1000:max=20k | ...:factor=2 (default iodepth=1:max=256).")
    var sweep: String?
    @Option(name: .customLong("slo"), help: "Latency objective: a percentile and a duration, e.g. p99=2ms, p99.9=500us (default p99=2ms).")
    var slo: String?
    @Option(name: .customLong("tenants"), help: "Copies of the workload run at once in the layer at every step (default 1).")
    var tenants: Int?
    @Option(name: .customLong("repetitions"), help: "Times every step runs, back to back; the point is their median (1 to 20, default 1).")
    var repetitions: Int?
    @Option(name: .customLong("stop-factor"), help: "Stop a layer once its percentile exceeds this x the objective (default 4) ...")
    var stopFactor: Double?
    @Option(name: .customLong("stop-after"), help: "... for this many consecutive steps (default 2).")
    var stopAfter: Int?
    @Option(
        name: .customLong("min-gain"), help: "Saturated when less than this share of the added load becomes throughput (default 0.1) ...")
    var minGain: Double?
    @Option(name: .customLong("saturation-after"), help: "... for this many consecutive steps (default 3).")
    var saturationAfter: Int?
    @Option(name: .customLong("resume"), help: "Continue the interrupted sweep in DIR (a run folder) with its recorded parameters.")
    var resume: String?
    @Option(name: .customLong("results"), help: "Folder for the run folder (default results).") var results: String?
    @Option(name: .customLong("scratch"), help: "Host folder for targets and guest disks.")
    var scratch: String = "/var/tmp/writepath-scratch"
    @Option(name: .customLong("output-format"), help: "text, json, csv (the curves) or none.") var outputFormat: String = "text"
    @Flag(name: .customLong("keep"), help: "Keep containers, volumes, bundles and mounts (for debugging).") var keep = false
    @Flag(name: .customLong("quiet"), help: "No progress lines on stderr.") var quiet = false
    @Option(
        name: .customLong("status-interval"),
        help: "Also repeat the current step's status line (with time left) on stderr every SECONDS while it runs.")
    var statusInterval: Double?

    func validate() throws {
        try validateStatusInterval(statusInterval)
        guard ["text", "json", "csv", "none"].contains(outputFormat) else {
            throw ValidationError("invalid output-format: '\(outputFormat)' is not supported; expected text, json, csv or none")
        }
        if let tenants, !(1...64).contains(tenants) {
            throw ValidationError("invalid tenants: '\(tenants)'; expected a whole number from 1 to 64")
        }
        if let repetitions, !SweepRunner.repetitionRange.contains(repetitions) {
            throw ValidationError(
                "invalid repetitions: '\(repetitions)'; expected a whole number from 1 to \(SweepRunner.repetitionRange.upperBound)")
        }
        if let stopFactor, !(stopFactor >= 1 && stopFactor.isFinite) {
            throw ValidationError("invalid stop-factor: '\(stopFactor)'; expected a number of at least 1, e.g. 4")
        }
        if let stopAfter, !(1...16).contains(stopAfter) {
            throw ValidationError("invalid stop-after: '\(stopAfter)'; expected a whole number from 1 to 16")
        }
        if let saturationAfter, !(1...16).contains(saturationAfter) {
            throw ValidationError("invalid saturation-after: '\(saturationAfter)'; expected a whole number from 1 to 16")
        }
        if let minGain, !(minGain >= 0 && minGain < 1) {
            throw ValidationError("invalid min-gain: '\(minGain)'; expected a fraction from 0 to below 1, e.g. 0.1")
        }
        if resume != nil, results != nil {
            throw ValidationError("invalid results: a resumed sweep stays in its own folder; leave out --results with --resume")
        }
    }

    /// The workload every step starts from: the sweep defaults, then the options given.
    func baseWorkload(_ load: LoadSweep) throws -> Workload {
        let given = Dictionary(workload.given, uniquingKeysWith: { a, _ in a })
        if given[load.parameter.rawValue] != nil {
            throw WritePathError.invalidInput(
                field: load.parameter.rawValue, message: "is what --sweep steps; leave it out or change --sweep")
        }
        for key in ["filename", "directory"] where given[key] != nil {
            throw WritePathError.invalidInput(
                field: key, message: "each layer places its own target; for the host use --layer host:directory=DIR or --scratch DIR")
        }
        var w = Workload()
        w.rw = .randwrite
        w.size = 64 << 20
        w.runtime = 5
        w.time_based = true
        if load.parameter == .rate_iops { w.iodepth = 32 }
        try workload.apply(to: &w)
        return w
    }

    func run() throws {
        let runner: SweepRunner
        if let resume {
            let recorded = try SweepRunner.interruptedSweep(in: resume)
            try checkAgainst(recorded.sweep!, directory: resume)
            Signals.install()
            runner = try SweepRunner(resuming: resume, options: runnerOptions(), provenance: provenance())
        } else {
            let objective = try LatencyObjective.parse(slo ?? "p99=2ms", field: "slo")
            let load = try LoadSweep.parse(sweep ?? "iodepth=1:max=256", field: "sweep")
            let specs = try (layers.isEmpty ? ["host"] : layers).map { try LayerSpec.parse($0, field: "layer") }
            let base = try baseWorkload(load)
            Signals.install()
            var options = runnerOptions()
            options.resultsRoot = results ?? "results"
            options.tenants = tenants ?? 1
            options.repetitions = repetitions ?? 1
            options.stopFactor = stopFactor ?? 4
            options.stopAfter = stopAfter ?? 2
            options.minGain = minGain ?? 0.1
            options.saturationAfter = saturationAfter ?? 3
            runner = try SweepRunner(
                layers: specs, workload: base, sweep: load, objective: objective, options: options, provenance: provenance())
        }
        if !quiet {
            let t = runner.options.tenants, n = runner.options.repetitions
            Output.stderr(
                "sweep: \(runner.sweep) on \(runner.layers.map(\.description).joined(separator: ", ")), \(t) tenant\(t == 1 ? "" : "s")"
                    + (n > 1 ? ", \(n) repetitions" : "") + ", objective \(runner.objective)\n"
                    + (resume != nil ? "resuming: " : "results: ") + "\(runner.directory)\n")
        }
        let doc: ResultDocument
        do { doc = try runner.run() } catch { StatusRepeater.current?.stop(); throw error }
        StatusRepeater.current?.stop()
        let analysis = CapacityAnalysis.analyze(
            ResultInput(sources: [.init(path: "\(runner.directory)/run.json", document: doc)]), objective: runner.objective)
        switch outputFormat {
        case "json": Output.stdout(try JSONFormat.render(doc))
        case "csv": Output.stdout(CapacityCSV.curves(analysis))
        case "none": break
        default:
            var out = CapacityText.curves(analysis)
            for l in doc.sweep?.layers ?? [] where l.stop_reason == "unavailable" || (l.points.isEmpty && l.stop_reason != "completed") {
                out += "\n\(l.layer): \(l.stop_reason): \(l.stop_detail)\n"
            }
            out +=
                "\n\(doc.runs.count) runs, \(doc.runs.filter { $0.status != .ok }.count) not ok; results in \(runner.directory)/run.json\n"
            Output.stdout(out)
        }
        if doc.sweep?.complete == false {
            Output.stderr("interrupted: finish it with: writepath sweep --resume \(runner.directory)\n")
            throw ExitCode(130)
        }
        if doc.runs.contains(where: { $0.status != .ok }) { throw ExitCode(1) }
    }

    /// The options every sweep takes from the command line, new or resumed.
    func runnerOptions() -> SweepRunner.Options {
        var options = SweepRunner.Options()
        options.keep = keep
        options.scratchRoot = scratch
        if !quiet {
            let status = statusInterval.map { StatusRepeater(interval: $0, noun: "step") }
            StatusRepeater.current = status
            options.progress = { line in
                Output.stderr(line + "\n")
                status?.started(line)
            }
        }
        return options
    }

    func provenance() -> Provenance {
        Provenance(version: BuildInfo.version, git_commit: BuildInfo.gitCommit, arguments: Array(CommandLine.arguments.dropFirst()))
    }

    /// With --resume: every sweep parameter given on the command line must be the one `recorded`
    /// (the parameters not given come from the folder). Throws `invalidInput` naming the first
    /// option that differs.
    func checkAgainst(_ recorded: SweepInfo, directory: String) throws {
        func conflict(_ field: String, _ ran: String) -> WritePathError {
            .invalidInput(
                field: field,
                message: "the sweep in \(directory) ran with \(ran); leave out --\(field) with --resume or give the same value")
        }
        if !layers.isEmpty {
            let given = try layers.map { try LayerSpec.parse($0, field: "layer").description }
            if given != recorded.planned_layers {
                throw conflict("layer", recorded.planned_layers!.map { "--layer \($0)" }.joined(separator: " "))
            }
        }
        if let sweep {
            let given = try LoadSweep.parse(sweep, field: "sweep")
            if given.parameter.rawValue != recorded.parameter || given.values != recorded.values {
                throw conflict("sweep", "--sweep \(recorded.parameter)=\(recorded.values.map(String.init).joined(separator: ","))")
            }
        }
        if let slo {
            let given = try LatencyObjective.parse(slo, field: "slo")
            if given.percentile != recorded.slo_percentile || UInt64(given.thresholdNs) != recorded.slo_ns {
                throw conflict("slo", "--slo \(recorded.slo)")
            }
        }
        if let tenants, tenants != recorded.tenants { throw conflict("tenants", "--tenants \(recorded.tenants)") }
        if let repetitions, repetitions != recorded.repetitions { throw conflict("repetitions", "--repetitions \(recorded.repetitions)") }
        if let stopFactor, stopFactor != recorded.stop_factor { throw conflict("stop-factor", "--stop-factor \(recorded.stop_factor)") }
        if let stopAfter, stopAfter != recorded.stop_after { throw conflict("stop-after", "--stop-after \(recorded.stop_after)") }
        if let minGain, minGain != recorded.min_gain { throw conflict("min-gain", "--min-gain \(recorded.min_gain)") }
        if let saturationAfter, saturationAfter != recorded.saturation_after {
            throw conflict("saturation-after", "--saturation-after \(recorded.saturation_after)")
        }
        for (key, value) in workload.given {
            var w = recorded.workload!
            try w.set(key, value)
            if w != recorded.workload! {
                throw conflict(key, recorded.workload!.commandLineArguments.first { $0.hasPrefix("--\(key)=") } ?? "the default --\(key)")
            }
        }
    }
}
