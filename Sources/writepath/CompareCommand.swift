import ArgumentParser
import Foundation
import WritePathEngine
import WritePathReport
import WritePathResult
import WritePathRunner

/// `writepath compare BASELINE CURRENT`: a verdict per layer × workload × metric; exits 1 when
/// anything regressed.
struct CompareCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compare",
        abstract: "Compare results against a baseline; exit 1 when a metric regressed.",
        discussion: """
            BASELINE and CURRENT are result folders or writepath.result/1 JSON files. For each layer × \
            workload × metric (iops, bw_bytes_per_s, p50_ns, p99_ns, p99_9_ns, cpu_ns_per_io) the change \
            is the ratio of geometric means over ok repetitions, with a 95% Welch t interval on log \
            values. Relative to a layer (--relative-to, default host when both sides have it) the change \
            of each layer's ratio to that layer is compared, so a uniformly slower machine changes \
            nothing. One-sided p-values of all metrics × rows are corrected together (--correction, \
            --alpha). regressed: significantly worse after the correction and beyond the threshold; \
            improved: the same, better; unchanged: the interval within ±threshold; inconclusive: \
            otherwise, including "n too small" (fewer than 3 ok repetitions in a group: no interval).

            Exit codes: 0 nothing regressed (or --first-run wrote the baseline), 1 something regressed, \
            2 invalid input.
            """)

    @Argument(help: "The reference results (folder or JSON file).") var baseline: String
    @Argument(help: "The results to judge (folder or JSON file).") var current: String
    @Option(name: .customLong("threshold"), help: "Smallest change that matters, in percent.") var threshold = 5.0
    @Option(
        name: .customLong("metric"),
        help: "Compare only these metrics (repeatable): iops, bw_bytes_per_s, p50_ns, p99_ns, p99_9_ns, cpu_ns_per_io.")
    var metrics: [String] = []
    @Option(
        name: .customLong("relative-to"),
        help: "Compare each layer's ratio to LAYER (default: host when both sides have it), or none for absolute numbers.")
    var relativeTo: String?
    @Option(name: .customLong("alpha"), help: "Family-wise level over all metrics × rows.")
    var alpha = Comparison.defaultAlpha
    @Option(name: .customLong("correction"), help: "holm (default: no false call anywhere, alpha) or bh (Benjamini-Hochberg FDR).")
    var correction = "holm"
    @Option(name: .customLong("output-format"), help: "text or json (every verdict with its numbers).") var outputFormat = "text"
    @Option(
        name: .customLong("match-layer"),
        help: "CURRENT_LAYER=BASELINE_LAYER: judge CURRENT's layer as BASELINE's (an A/B of a setting, e.g. a cap); repeatable.")
    var matchLayers: [String] = []
    @Flag(
        name: .customLong("first-run"),
        help: "When BASELINE does not exist yet (or is an empty folder): write CURRENT there as the baseline and exit 0.")
    var firstRun = false
    @Option(name: .customLong("markdown"), help: "Also write the comparison as Markdown to FILE (e.g. $GITHUB_STEP_SUMMARY).") var markdown:
        String?
    @Option(name: .customLong("junit"), help: "Also write the comparison as JUnit XML to FILE.") var junit: String?
    @Flag(name: .customLong("quiet"), help: "Print only the summary line and regressions.") var quiet = false

    func validate() throws {
        guard threshold > 0, threshold < 1000, threshold.isFinite else {
            throw ValidationError("invalid threshold: '\(threshold)'; expected a percentage above 0, e.g. 5")
        }
        for m in metrics where RunMetric(rawValue: m) == nil {
            throw ValidationError("invalid metric: '\(m)'; expected one of \(RunMetric.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        guard alpha > 0, alpha <= 0.5 else {
            throw ValidationError("invalid alpha: '\(alpha)'; expected a level above 0 and at most 0.5, e.g. 0.05")
        }
        guard MultipleComparisons(rawValue: correction) != nil else {
            throw ValidationError("invalid correction: '\(correction)'; expected holm or bh")
        }
        guard ["text", "json"].contains(outputFormat) else {
            throw ValidationError("invalid output format: '\(outputFormat)'; expected text or json")
        }
        for m in matchLayers
        where m.split(separator: "=", maxSplits: 1).count != 2 || !m.contains(")=") && m.filter({ $0 == "=" }).count > 1 {
            throw ValidationError(
                "invalid --match-layer: '\(m)'; expected CURRENT_LAYER=BASELINE_LAYER, "
                    + "e.g. 'docker-volume(write_iops_limit=500)=docker-volume'")
        }
        if let r = relativeTo, r.isEmpty { throw ValidationError("invalid --relative-to: empty; expected a layer such as host, or none") }
    }

    func run() throws {
        if let markdown { try OutputFile.check(markdown, field: "markdown") }
        if let junit { try OutputFile.check(junit, field: "junit") }
        if firstRun, try writeFirstBaseline() { return }
        let base = try ResultInput.load([baseline])
        var cur = try ResultInput.load([current])
        for m in matchLayers {
            // Split at the `=` after the closing parenthesis when the current layer has parameters.
            let cut = m.range(of: ")=").map { m.index(after: $0.lowerBound) } ?? m.firstIndex(of: "=")!
            let from = LayerIdentity.of(String(m[..<cut])), to = String(m[m.index(after: cut)...])
            guard cur.runs.contains(where: { $0.layerIdentity == from }) else {
                throw WritePathError.invalidInput(field: "--match-layer", message: "'\(from)' is not a layer in CURRENT")
            }
            for s in cur.sources.indices {
                for r in cur.sources[s].document.runs.indices where cur.sources[s].document.runs[r].layerIdentity == from {
                    cur.sources[s].document.runs[r].layer.settings["spec"] = to
                }
            }
        }
        let chosen = metrics.isEmpty ? RunMetric.allCases : metrics.compactMap { RunMetric(rawValue: $0) }
        var reference: String?
        var extraNotes: [String] = []
        switch relativeTo.map({ LayerIdentity.of($0) }) {
        case "none"?: reference = nil
        case let r?:
            for (side, input) in [("BASELINE", base), ("CURRENT", cur)] where !input.runs.contains(where: { $0.layerIdentity == r }) {
                throw WritePathError.invalidInput(
                    field: "--relative-to",
                    message: "'\(r)' is not a layer in \(side); choose a layer both sides ran, or none")
            }
            reference = r
        case nil:
            // Relative to host when both sides ran it and something else; a host-only run is judged absolutely.
            let both = base.runs.contains { $0.layerIdentity == "host" } && cur.runs.contains { $0.layerIdentity == "host" }
            let others = cur.runs.contains { $0.layerIdentity != "host" }
            reference = both && others ? "host" : nil
            if !both { extraNotes.append("absolute comparison: host is not on both sides, so there is no layer to compare relative to") }
        }
        var comparison = Comparison.compare(
            baseline: base, current: cur, threshold: threshold / 100, metrics: chosen,
            relativeTo: reference,
            alpha: alpha, correction: MultipleComparisons(rawValue: correction)!)
        comparison.notes += extraNotes
        if comparison.rows.isEmpty {
            throw WritePathError.invalidInput(field: current, message: "shares no layer × workload with \(baseline); nothing to compare")
        }
        if let markdown { try Output.writeFile(MarkdownReport.render(comparison), to: markdown, field: "markdown") }
        if let junit { try Output.writeFile(JUnitFormat.render(comparison), to: junit, field: "junit") }
        if outputFormat == "json" {
            Output.stdout(try CompareJSONFormat.render(comparison))
        } else if quiet {
            var out = ""
            for r in comparison.regressions { out += "regressed: \(r.label) \(r.metric) \(Comparison.formatChange(r))\n" }
            Output.stdout(out + CompareTextFormat.summary(comparison) + "\n")
        } else {
            Output.stdout(CompareTextFormat.render(comparison))
        }
        if comparison.exitCode != 0 { throw ExitCode(comparison.exitCode) }
    }

    /// `--first-run`: when nothing is at BASELINE (or it is an empty folder), copies CURRENT's result
    /// files there byte for byte and says so; returns false when a baseline exists (compare as usual).
    /// Never replaces a file.
    func writeFirstBaseline() throws -> Bool {
        let fm = FileManager.default
        var isDir: ObjCBool = false
        let exists = fm.fileExists(atPath: baseline, isDirectory: &isDir)
        if exists && !(isDir.boolValue && ((try? fm.contentsOfDirectory(atPath: baseline)) ?? ["?"]).isEmpty) { return false }
        let files = try ResultInput.files(in: current)
        for f in files { _ = try ResultInput.parse(f) }  // only valid results become a baseline
        var written: [String] = []
        if baseline.hasSuffix(".json") {
            guard files.count == 1 else {
                throw WritePathError.invalidInput(
                    field: baseline,
                    message: "is a file name but CURRENT has \(files.count) result files; give a folder")
            }
            try copy(files[0], to: baseline)
            written.append(baseline)
        } else {
            try fm.createDirectory(atPath: baseline, withIntermediateDirectories: true)
            let base = baseline.hasSuffix("/") ? String(baseline.dropLast()) : baseline
            for (i, f) in files.enumerated() {
                let name = files.count == 1 ? "run.json" : String(format: "%03d-", i + 1) + (f as NSString).lastPathComponent
                try copy(f, to: "\(base)/\(name)")
                written.append("\(base)/\(name)")
            }
        }
        Output.stdout(
            "first run: no baseline at \(baseline); wrote CURRENT (\(files.joined(separator: ", "))) as the baseline: "
                + "\(written.joined(separator: ", ")). Nothing compared; exit 0. Commit it to compare later runs against it.\n")
        return true
    }

    func copy(_ from: String, to path: String) throws {
        guard !FileManager.default.fileExists(atPath: path) else {
            throw WritePathError.invalidInput(field: path, message: "already exists; --first-run never replaces a file")
        }
        guard let data = FileManager.default.contents(atPath: from) else {
            throw WritePathError.invalidInput(field: from, message: "cannot be read; check that it exists and is readable")
        }
        try Output.writeFile(String(decoding: data, as: UTF8.self), to: path, field: "BASELINE")
    }
}
