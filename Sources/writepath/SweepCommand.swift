import ArgumentParser
import Foundation
import WritePathEngine
import WritePathReport
import WritePathRunner

/// `writepath sweep`: steps the offered load (queue depth or rate) in each layer and records a
/// throughput-latency curve per layer, with the SLO point and the knee.
struct SweepCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sweep",
        abstract: "Step the offered load in each layer: throughput-latency curves, the SLO point and the knee.",
        discussion: """
            For each --layer in turn, runs the workload at every step of --sweep (default iodepth=1:max=256, \
            that is 1, 2, 4 ... 256), each step a normal run in the result schema tagged with runs[].sweep, \
            until the steps run out or a stop rule fires: the objective's percentile above --stop-factor x \
            the objective for --stop-after consecutive steps (slo_exceeded), or less than --min-gain of the \
            added load becoming throughput for --saturation-after consecutive steps (saturated).

            With --tenants N every step runs N copies at once in the layer (N host jobs, containers or \
            guests) and records each tenant and the fairness between them (min/max IOPS, Jain's index).

            Workload defaults for a sweep: --rw=randwrite --size=64m --runtime=5 --time_based, and with a \
            rate_iops sweep --iodepth=32. Results: <results>/<run id>/run.json, runs/, logs/.

            Exit codes: 0 done, 1 a step failed or a layer was unavailable, 2 invalid input, 130 interrupted.
            """)

    @Option(
        name: .customLong("layer"), help: "A layer, repeatable: host, docker-volume, docker-volume:write_iops_limit=500 (default host).")
    var layers: [String] = []
    @OptionGroup(title: "Workload (fio names)") var workload: WorkloadOptions
    @Option(name: .customLong("sweep"), help: "iodepth=1,2,4,8 | iodepth=1:max=256 | rate_iops=1000:step=1000:max=20k | ...:factor=2.")
    var sweep: String = "iodepth=1:max=256"
    @Option(name: .customLong("slo"), help: "Latency objective: a percentile and a duration, e.g. p99=2ms, p99.9=500us.")
    var slo: String = "p99=2ms"
    @Option(name: .customLong("tenants"), help: "Copies of the workload run at once in the layer at every step.")
    var tenants: Int = 1
    @Option(name: .customLong("stop-factor"), help: "Stop a layer once its percentile exceeds this x the objective ...")
    var stopFactor: Double = 4
    @Option(name: .customLong("stop-after"), help: "... for this many consecutive steps.")
    var stopAfter: Int = 2
    @Option(name: .customLong("min-gain"), help: "Saturated when less than this share of the added load becomes throughput ...")
    var minGain: Double = 0.1
    @Option(name: .customLong("saturation-after"), help: "... for this many consecutive steps.")
    var saturationAfter: Int = 3
    @Option(name: .customLong("results"), help: "Folder for the run folder.") var results: String = "results"
    @Option(name: .customLong("scratch"), help: "Host folder for targets and guest disks.")
    var scratch: String = "/var/tmp/writepath-scratch"
    @Option(name: .customLong("output-format"), help: "text, json, csv (the curves) or none.") var outputFormat: String = "text"
    @Flag(name: .customLong("keep"), help: "Keep containers, volumes, bundles and mounts (for debugging).") var keep = false
    @Flag(name: .customLong("quiet"), help: "No progress lines on stderr.") var quiet = false

    func validate() throws {
        guard ["text", "json", "csv", "none"].contains(outputFormat) else {
            throw ValidationError("invalid output-format: '\(outputFormat)' is not supported; expected text, json, csv or none")
        }
        guard (1...64).contains(tenants) else {
            throw ValidationError("invalid tenants: '\(tenants)'; expected a whole number from 1 to 64")
        }
        guard stopFactor >= 1, stopFactor.isFinite else {
            throw ValidationError("invalid stop-factor: '\(stopFactor)'; expected a number of at least 1, e.g. 4")
        }
        guard (1...16).contains(stopAfter) else {
            throw ValidationError("invalid stop-after: '\(stopAfter)'; expected a whole number from 1 to 16")
        }
        guard (1...16).contains(saturationAfter) else {
            throw ValidationError("invalid saturation-after: '\(saturationAfter)'; expected a whole number from 1 to 16")
        }
        guard minGain >= 0, minGain < 1 else {
            throw ValidationError("invalid min-gain: '\(minGain)'; expected a fraction from 0 to below 1, e.g. 0.1")
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
        let objective = try LatencyObjective.parse(slo, field: "slo")
        let load = try LoadSweep.parse(sweep, field: "sweep")
        let specs = try (layers.isEmpty ? ["host"] : layers).map { try LayerSpec.parse($0, field: "layer") }
        let base = try baseWorkload(load)
        Signals.install()
        var options = SweepRunner.Options()
        options.resultsRoot = results
        options.keep = keep
        options.scratchRoot = scratch
        options.tenants = tenants
        options.stopFactor = stopFactor
        options.stopAfter = stopAfter
        options.minGain = minGain
        options.saturationAfter = saturationAfter
        if !quiet { options.progress = { Output.stderr($0 + "\n") } }
        let runner = try SweepRunner(
            layers: specs, workload: base, sweep: load, objective: objective, options: options,
            provenance: Provenance(
                version: BuildInfo.version, git_commit: BuildInfo.gitCommit,
                arguments: Array(CommandLine.arguments.dropFirst())))
        if !quiet {
            Output.stderr(
                "sweep: \(load) on \(specs.map(\.description).joined(separator: ", ")), \(tenants) tenant\(tenants == 1 ? "" : "s"), objective \(objective)\nresults: \(runner.directory)\n"
            )
        }
        let doc = try runner.run()
        let analysis = CapacityAnalysis.analyze(
            ResultInput(sources: [.init(path: "\(runner.directory)/run.json", document: doc)]), objective: objective)
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
                "\n\(doc.runs.count) runs, \(doc.runs.filter { $0.status != "ok" }.count) not ok; results in \(runner.directory)/run.json\n"
            Output.stdout(out)
        }
        if doc.sweep?.complete == false { throw ExitCode(130) }
        if doc.runs.contains(where: { $0.status != "ok" }) { throw ExitCode(1) }
    }
}
