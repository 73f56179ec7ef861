import ArgumentParser
import Foundation
import WritePathEngine
import WritePathReport
import WritePathResult
import WritePathRunner

/// `writepath report`: aggregates results into report.html, report.csv, report-runs.csv and
/// summary.md, writes the exports (results-long.csv, results.jsonl, writepath.prom, hgrm/), and
/// prints the aggregated table.
struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Aggregate results into report.html, report.csv and summary.md.",
        discussion: """
            RESULTS are matrix run folders (results/<run id>), folders of result JSON files, or \
            writepath.result/1 JSON files. The report goes into the folder given (for files: next \
            to the first file) unless --output-dir says otherwise. Medians over repetitions with 95% \
            bootstrap intervals; latency percentiles from the merged histograms.

            Exit codes: 0 written, 1 a file could not be written, 2 invalid input.
            """)

    @Argument(help: "Results folders or writepath.result/1 JSON files.") var results: [String] = []
    @Option(name: .customLong("output-dir"), help: "Folder for the report files (created).") var outputDirectory: String?
    @Option(name: .customLong("baseline-layer"), help: "The layer others are compared with.") var baselineLayer = "host"
    @Option(
        name: .customLong("cv-threshold"), help: "Flag a layer × workload as noisy above this IOPS coefficient of variation (0.1 = 10%).")
    var cvThreshold = 0.1
    @Option(name: .customLong("import-fio"), help: "Also read fio JSON output (fio --output-format=json); repeatable.") var importFio:
        [String] = []
    @Option(name: .customLong("as-layer"), help: "The layer name for --import-fio runs.") var asLayer = "fio"
    @Option(
        name: .customLong("slo"),
        help: "Latency objective for sweep results' Capacity section, e.g. p99=2ms (default: the one the sweep recorded).")
    var slo: String?
    @Flag(name: .customLong("quiet"), help: "Print only where the report is.") var quiet = false

    func validate() throws {
        guard !results.isEmpty || !importFio.isEmpty else {
            throw ValidationError("invalid RESULTS: give a results folder, result JSON files, or --import-fio FILE")
        }
        guard cvThreshold > 0, cvThreshold.isFinite else {
            throw ValidationError("invalid cv-threshold: '\(cvThreshold)'; expected a positive fraction such as 0.1")
        }
        guard !asLayer.isEmpty, !asLayer.contains("/") else {
            throw ValidationError("invalid as-layer: '\(asLayer)'; expected a non-empty name without '/'")
        }
    }

    func run() throws {
        var input = results.isEmpty ? ResultInput(sources: []) : try ResultInput.load(results)
        if !importFio.isEmpty {
            let doc = try FioImport.document(
                paths: importFio, layer: asLayer, host: HostInfo.probe(),
                provenance: Provenance(
                    version: BuildInfo.version, git_commit: BuildInfo.gitCommit, arguments: Array(CommandLine.arguments.dropFirst())))
            input.sources += [ResultInput.Source(path: importFio.joined(separator: ", "), document: doc)]
        }
        // Results from before layers recorded their write path: the registry's layers describe it.
        LayerRegistry.fillWritePaths(&input)
        guard !input.runs.isEmpty else {
            throw WritePathError.invalidInput(field: input.sources.first?.path ?? "RESULTS", message: "holds no runs; nothing to report")
        }
        // Sweep runs are curves: the Capacity section, at --slo or the objective the sweep recorded.
        var capacity: CapacityAnalysis?
        if input.runs.contains(where: { $0.sweep != nil }) {
            let objective =
                try slo.map { try LatencyObjective.parse($0, field: "slo") } ?? CapacityAnalysis.recordedObjective(input)
                ?? LatencyObjective(percentile: 99, thresholdNs: 2e6)
            capacity = CapacityAnalysis.analyze(input, objective: objective)
        } else if let slo {
            _ = try LatencyObjective.parse(slo, field: "slo")
        }
        let directory = try outputFolder()
        let aggregation = Aggregation.aggregate(input, options: Aggregation.Options(baselineLayer: baselineLayer, cvThreshold: cvThreshold))
        var files = [
            ("report.html", HTMLReport.render(aggregation, capacity: capacity)),
            ("report.csv", CSVReport.render(aggregation)),
            ("report-runs.csv", CSVReport.renderRuns(input)),
            ("summary.md", MarkdownReport.render(aggregation)),
        ]
        // The long format for notebooks and dashboards: one row per run × direction.
        let long = LongTable.of(input)
        files += [("results-long.csv", LongCSVFormat.render(long)), ("results.jsonl", JSONLinesFormat.render(long))]
        if let capacity { files.append(("capacity.csv", CapacityCSV.curves(capacity))) }
        if aggregation.rows.contains(where: { $0.host != nil }) { files.append(("report-hosts.csv", HostSpread.renderCSV(aggregation))) }
        // Exports for dashboards and plotters: Prometheus' text format, HdrHistogram's .hgrm per row.
        let hgrm = HgrmFormat.files(aggregation)
        if !aggregation.rows.isEmpty { files.append(("writepath.prom", PrometheusFormat.render(aggregation))) }
        if !hgrm.isEmpty {
            if mkdir("\(directory)/hgrm", 0o755) != 0 && errno != EEXIST {
                throw WritePathError.system(
                    call: "mkdir", path: "\(directory)/hgrm", errno: errno, hint: "cannot make the folder for the .hgrm files")
            }
            files += hgrm.map { ("hgrm/\($0.name)", $0.text) }
        }
        for (name, text) in files { try Output.writeFile(text, to: "\(directory)/\(name)", field: "output-dir") }
        if !quiet {
            if !aggregation.rows.isEmpty || capacity == nil { Output.stdout(TextReport.render(aggregation) + "\n") }
            if let capacity {
                var text = "capacity (objective \(capacity.objective)):" + CapacityText.curves(capacity) + "\n"
                if aggregation.rows.isEmpty {
                    text += aggregation.warnings.map { "warning: \($0)\n" }.joined() + (aggregation.warnings.isEmpty ? "" : "\n")
                }
                Output.stdout(text)
            }
        }
        Output.stdout("report: \(directory)/report.html\n")
        if !quiet {
            Output.stdout(
                "tables: \(directory)/report.csv, \(directory)/report-runs.csv, "
                    + "\(directory)/summary.md\(capacity == nil ? "" : ", \(directory)/capacity.csv")\n"
            )
            Output.stdout("long format: \(directory)/results-long.csv, \(directory)/results.jsonl (one row per run × direction)\n")
            if !aggregation.rows.isEmpty {
                let histograms = hgrm.isEmpty ? "" : ", \(directory)/hgrm/*.hgrm (\(hgrm.count) HdrHistogram distributions)"
                Output.stdout("exports: \(directory)/writepath.prom (Prometheus)\(histograms)\n")
            }
        }
    }

    /// `--output-dir`, else the first folder given, else the folder of the first file.
    func outputFolder() throws -> String {
        let fm = FileManager.default
        var isDir: ObjCBool = false
        let folder: String
        if let outputDirectory {
            folder = outputDirectory
        } else if let first = results.first ?? importFio.first {
            if fm.fileExists(atPath: first, isDirectory: &isDir), isDir.boolValue {
                folder = first
            } else {
                let parent = (first as NSString).deletingLastPathComponent
                folder = parent.isEmpty ? "." : parent
            }
        } else {
            folder = "."
        }
        let trimmed = folder.count > 1 && folder.hasSuffix("/") ? String(folder.dropLast()) : folder
        if fm.fileExists(atPath: trimmed, isDirectory: &isDir) {
            guard isDir.boolValue else { throw WritePathError.invalidInput(field: "output-dir", message: "'\(trimmed)' is not a folder") }
        } else {
            do { try fm.createDirectory(atPath: trimmed, withIntermediateDirectories: true) } catch {
                throw WritePathError.invalidInput(
                    field: "output-dir", message: "cannot create folder '\(trimmed)': \(error.localizedDescription)")
            }
        }
        return trimmed
    }
}
