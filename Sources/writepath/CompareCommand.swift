import ArgumentParser
import Foundation
import WritePathEngine
import WritePathReport
import WritePathRunner

/// `writepath compare BASELINE CURRENT`: a verdict per layer × workload × metric; exits 1 when
/// anything regressed.
struct CompareCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compare",
        abstract: "Compare results against a baseline; exit 1 when a metric regressed.",
        discussion: """
            BASELINE and CURRENT are result folders or writepath.result/1 JSON files. For each layer ×
            workload × metric (iops, bw_bytes_per_s, p50_ns, p99_ns, p99_9_ns, cpu_ns_per_io) the change
            is the ratio of the medians over ok repetitions, with a 95% bootstrap interval. regressed:
            the interval lies entirely beyond the threshold in the bad direction (lower IOPS or
            bandwidth, higher latency or CPU); improved: entirely beyond it in the good one; unchanged:
            entirely within ±threshold; inconclusive: otherwise. With one repetition on a side there
            is no interval: the change must exceed twice the threshold to count.
            Exit codes: 0 nothing regressed, 1 something regressed, 2 invalid input.
            """)

    @Argument(help: "The reference results (folder or JSON file).") var baseline: String
    @Argument(help: "The results to judge (folder or JSON file).") var current: String
    @Option(name: .customLong("threshold"), help: "Smallest change that matters, in percent (default 5).") var threshold = 5.0
    @Option(name: .customLong("metric"), help: "Compare only these metrics (repeatable): iops, bw_bytes_per_s, p50_ns, p99_ns, p99_9_ns, cpu_ns_per_io.")
    var metrics: [String] = []
    @Option(name: .customLong("markdown"), help: "Also write the comparison as Markdown to FILE (e.g. $GITHUB_STEP_SUMMARY).") var markdown: String?
    @Option(name: .customLong("junit"), help: "Also write the comparison as JUnit XML to FILE.") var junit: String?
    @Flag(name: .customLong("quiet"), help: "Print only the summary line and regressions.") var quiet = false

    func validate() throws {
        guard threshold > 0, threshold < 1000, threshold.isFinite else {
            throw ValidationError("invalid threshold: '\(threshold)'; expected a percentage above 0, e.g. 5")
        }
        for m in metrics where RunMetric(rawValue: m) == nil {
            throw ValidationError("invalid metric: '\(m)'; expected one of \(RunMetric.allCases.map(\.rawValue).joined(separator: ", "))")
        }
    }

    func run() throws {
        if let markdown { try OutputFile.check(markdown, field: "markdown") }
        if let junit { try OutputFile.check(junit, field: "junit") }
        let base = try ResultInput.load([baseline])
        let cur = try ResultInput.load([current])
        let chosen = metrics.isEmpty ? RunMetric.allCases : metrics.compactMap { RunMetric(rawValue: $0) }
        let comparison = Comparison.compare(baseline: base, current: cur, threshold: threshold / 100, metrics: chosen)
        if comparison.rows.isEmpty {
            throw WritePathError.invalidInput(field: current, message: "shares no layer × workload with \(baseline); nothing to compare")
        }
        if let markdown { try Output.writeFile(MarkdownReport.render(comparison), to: markdown, field: "markdown") }
        if let junit { try Output.writeFile(JUnitFormat.render(comparison), to: junit, field: "junit") }
        if quiet {
            var out = ""
            for r in comparison.regressions { out += "regressed: \(r.label) \(r.metric) \(Comparison.formatChange(r))\n" }
            Output.stdout(out + CompareTextFormat.summary(comparison) + "\n")
        } else {
            Output.stdout(CompareTextFormat.render(comparison))
        }
        if comparison.exitCode != 0 { throw ExitCode(comparison.exitCode) }
    }
}
