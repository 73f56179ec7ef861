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

            --canary HOST FLEET_DIR judges one host of a `writepath fleet` folder against the other hosts: \
            each layer's ratio to the baseline layer on HOST against the spread of the same ratio over the \
            others (a 95% prediction interval for one more host, widened by HOST's own noise); regressed \
            only when also worse than every other host. Same verdicts, threshold, correction, outputs and \
            exit codes; --match-layer maps HOST's layers.

            Exit codes: 0 nothing regressed (or --first-run wrote the baseline), 1 something regressed, \
            2 invalid input.
            """)

    @Argument(help: "The reference results (folder or JSON file); with --canary, the fleet folder.") var baseline: String
    @Argument(help: "The results to judge (folder or JSON file); not with --canary.") var current: String?
    @Option(
        name: .customLong("canary"),
        help: "HOST: judge this host of the fleet folder against the fleet's other hosts (compare --canary HOST FLEET_DIR).")
    var canary: String?
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
        if let canary {
            if canary.isEmpty { throw ValidationError("invalid --canary: empty; expected a host of the fleet folder") }
            if current != nil {
                throw ValidationError("--canary takes one fleet folder, not BASELINE and CURRENT: compare --canary HOST FLEET_DIR")
            }
            if firstRun { throw ValidationError("--first-run does not go with --canary: the fleet is the baseline") }
        } else if current == nil {
            throw ValidationError("missing CURRENT: give BASELINE and CURRENT, or --canary HOST FLEET_DIR")
        }
    }

    func run() throws {
        if let markdown { try OutputFile.check(markdown, field: "markdown") }
        if let junit { try OutputFile.check(junit, field: "junit") }
        if let canary { return try emit(compareCanary(canary)) }
        guard let current else { return }
        if firstRun, try writeFirstBaseline() { return }
        let base = try ResultInput.load([baseline])
        var cur = try ResultInput.load([current])
        try applyMatchLayers(in: &cur, side: "CURRENT") { _ in true }
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
        try emit(comparison)
    }

    var chosen: [RunMetric] { metrics.isEmpty ? RunMetric.allCases : metrics.compactMap { RunMetric(rawValue: $0) } }

    /// `--match-layer`: the runs of `input`'s sources that `include` picks, of layer CURRENT_LAYER,
    /// are judged as BASELINE_LAYER (their `spec` setting rewritten).
    func applyMatchLayers(in input: inout ResultInput, side: String, _ include: (ResultInput.Source) -> Bool) throws {
        for m in matchLayers {
            // Split at the `=` after the closing parenthesis when the current layer has parameters.
            let cut = m.range(of: ")=").map { m.index(after: $0.lowerBound) } ?? m.firstIndex(of: "=")!
            let from = LayerIdentity.of(String(m[..<cut])), to = String(m[m.index(after: cut)...])
            guard input.sources.filter(include).flatMap(\.document.runs).contains(where: { $0.layerIdentity == from }) else {
                throw WritePathError.invalidInput(field: "--match-layer", message: "'\(from)' is not a layer in \(side)")
            }
            for s in input.sources.indices where include(input.sources[s]) {
                for r in input.sources[s].document.runs.indices where input.sources[s].document.runs[r].layerIdentity == from {
                    input.sources[s].document.runs[r].layer.settings["spec"] = to
                }
            }
        }
    }

    /// `--canary HOST FLEET_DIR`: HOST's layer costs against the other hosts' (see
    /// `Comparison.canary`). Exit 2 for a folder that is not a fleet folder, an unknown host, a host
    /// without results, or fewer than two other hosts with results.
    func compareCanary(_ host: String) throws -> Comparison {
        let dir = baseline
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: dir, isDirectory: &isDir), isDir.boolValue else {
            throw WritePathError.invalidInput(field: dir, message: "no such folder; --canary takes the fleet folder writepath fleet wrote")
        }
        guard let files = ResultInput.fleetFiles(in: dir) else {
            throw WritePathError.invalidInput(
                field: dir, message: "is not a fleet folder (no fleet.json beside host folders); --canary takes a writepath fleet folder")
        }
        let base = dir.count > 1 && dir.hasSuffix("/") ? String(dir.dropLast()) : dir
        let record = FileManager.default.contents(atPath: "\(base)/fleet.json").flatMap {
            try? JSONDecoder().decode(FleetRecord.self, from: $0)
        }
        let withResults = Set(files.map(\.host))
        let known = record.map { $0.hosts.map(\.host) } ?? withResults.sorted()
        guard known.contains(host) || withResults.contains(host) else {
            throw WritePathError.invalidInput(
                field: "--canary", message: "'\(host)' is not a host of \(dir); its hosts: \(known.joined(separator: ", "))")
        }
        guard withResults.contains(host) else {
            let why = record?.hosts.first { $0.host == host }.map {
                "fleet.json: \($0.status.rawValue)\($0.reason.map { ", \($0)" } ?? "")"
            }
            throw WritePathError.invalidInput(
                field: "--canary", message: "'\(host)' has no results in \(dir)\(why.map { " (\($0))" } ?? "")")
        }
        let others = withResults.subtracting([host]).sorted()
        guard others.count >= 2 else {
            throw WritePathError.invalidInput(
                field: dir,
                message: "has \(others.count) other host\(others.count == 1 ? "" : "s") with results (\(others.joined(separator: ", "))); "
                    + "a fleet's spread needs at least 2 besides the canary")
        }
        var input = try ResultInput.load([dir])
        try applyMatchLayers(in: &input, side: "the results of \(host)") { $0.hostLabel == host }
        let reference: String?
        switch relativeTo.map({ LayerIdentity.of($0) }) {
        case "none"?: reference = nil
        case let r?:
            for h in [host] + others
            where !input.sources.contains(where: { $0.hostLabel == h && $0.document.runs.contains { $0.layerIdentity == r } }) {
                throw WritePathError.invalidInput(
                    field: "--relative-to", message: "'\(r)' is not a layer on \(h); choose a layer every host ran, or none")
            }
            reference = r
        case nil:
            let everywhere = ([host] + others).allSatisfy { h in
                input.sources.contains { $0.hostLabel == h && $0.document.runs.contains { $0.layerIdentity == "host" } }
            }
            reference = everywhere ? "host" : nil
        }
        var comparison = Comparison.canary(
            host, in: input, threshold: threshold / 100, metrics: chosen, relativeTo: reference, alpha: alpha,
            correction: MultipleComparisons(rawValue: correction)!)
        if reference == nil && relativeTo == nil {
            comparison.notes.append("absolute comparison: host is not on every host, so there is no layer to compare relative to")
        }
        if comparison.rows.isEmpty {
            throw WritePathError.invalidInput(
                field: "--canary", message: "'\(host)' shares no layer × workload with the other hosts of \(dir); nothing to compare")
        }
        return comparison
    }

    /// Writes the comparison where asked (Markdown, JUnit, stdout as text or JSON); exit 1 on a regression.
    func emit(_ comparison: Comparison) throws {
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
        guard let current else { return false }
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
