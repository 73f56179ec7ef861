import Foundation
import WritePathResult

/// A comparison as JSON (`writepath compare --output-format json`): schema `writepath.compare/1`,
/// every verdict with its numbers. Changes are fractions (0.05 is +5%), values in the metric's
/// units (IOPS, bytes/s, ns), p-values one-sided. With `canary` (the host judged against its fleet),
/// a row's `baseline` holds one value per other host of the fleet, its `current` the canary's repetitions.
public enum CompareJSONFormat {
    public static let schema = "writepath.compare/1"

    public static func render(_ c: Comparison) throws -> String {
        func number(_ v: Double?) -> Any { v.map { $0.isFinite ? $0 as Any : NSNull() } ?? NSNull() }
        let rows: [[String: Any]] = c.rows.map { r in
            [
                "layer": r.layer, "workload": r.workload, "metric": r.metric, "higher_is_better": r.higherIsBetter,
                "baseline": r.baseline, "current": r.current,
                "reference_baseline": r.referenceBaseline, "reference_current": r.referenceCurrent,
                "baseline_median": number(r.baselineMedian), "current_median": number(r.currentMedian),
                "change": number(r.change), "change_ci_low": number(r.changeLow), "change_ci_high": number(r.changeHigh),
                "p_worse": number(r.pWorse), "p_worse_adjusted": number(r.pWorseAdjusted),
                "p_better": number(r.pBetter), "p_better_adjusted": number(r.pBetterAdjusted),
                "verdict": r.verdict.rawValue, "reason": r.reason,
            ]
        }
        var counts: [String: Int] = [:]
        for v in Verdict.allCases { counts[v.rawValue] = c.rows.filter { $0.verdict == v }.count }
        let doc: [String: Any] = [
            "schema": schema, "threshold": c.threshold, "alpha": c.alpha, "correction": c.correction.rawValue,
            "family_size": c.familySize, "relative_to": c.relativeTo.map { $0 as Any } ?? NSNull(),
            "confidence": Stats.confidence, "minimum_repetitions": LogContrast.minimumRepetitions,
            "baseline_paths": c.baselinePaths, "current_paths": c.currentPaths, "notes": c.notes,
            "counts": counts, "exit_code": Int(c.exitCode), "rows": rows, "canary": c.canary.map { $0 as Any } ?? NSNull(),
        ]
        let data = try JSONSerialization.data(withJSONObject: doc, options: [.prettyPrinted, .sortedKeys])
        return String(decoding: data, as: UTF8.self) + "\n"
    }
}
