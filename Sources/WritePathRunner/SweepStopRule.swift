import WritePathEngine
import WritePathResult

/// When a sweep stops stepping a layer: the objective far exceeded, or throughput saturated.
public enum SweepStopRule {
    /// Why to stop: `slo_exceeded` or `saturated`, and the numbers.
    public struct Decision: Sendable, Equatable {
        public var reason: String
        public var detail: String
    }

    /// Decides after the newest point (the last of `points`, in step order) whether to stop.
    ///
    /// - `slo_exceeded`: the last `sloAfter` steps all had their percentile above `factor` × the objective.
    /// - `saturated`: for the last `saturationAfter` steps, the marginal gain stayed below `minGain`,
    ///   where the gain of step i is (IOPS_i / max IOPS before i − 1) / (offered_i / offered_{i−1} − 1):
    ///   the share of the added offered load that became added throughput (1: all of it; for a
    ///   doubling of the queue depth, a gain of 0.1 is 10% more IOPS than the best step before). In a
    ///   rate sweep, also when the last `saturationAfter` steps did not reach their offered rate.
    ///   Saturation is judged from throughput alone, which is noisy on a shared machine, so it
    ///   usually wants more steps of evidence than the latency rule.
    public static func evaluate(
        _ points: [SweepStep], objective: LatencyObjective, factor: Double, sloAfter: Int,
        minGain: Double, saturationAfter: Int, parameter: String = "step"
    ) -> Decision? {
        let n = points.count
        if sloAfter >= 1, n >= sloAfter {
            let last = points.suffix(sloAfter)
            let limit = factor * objective.thresholdNs
            if last.allSatisfy({ $0.latencyNs > limit }) {
                let values = last.map { "\(parameter)=\($0.value): \(LatencyObjective.duration($0.latencyNs))" }.joined(separator: ", ")
                return Decision(
                    reason: "slo_exceeded",
                    detail:
                        "\(objective.percentileLabel) above \(trimmedNumber(factor, places: 2))x the objective "
                        + "(\(LatencyObjective.duration(limit))) for \(sloAfter) consecutive steps (\(values))"
                )
            }
        }
        guard saturationAfter >= 1, n >= saturationAfter else { return nil }
        let last = points.suffix(saturationAfter)
        if last.allSatisfy({ $0.offeredRateMet == false }) {
            let values = last.map { "\(parameter)=\($0.value): \(formatSI($0.iops)) IOPS" }.joined(separator: ", ")
            return Decision(
                reason: "saturated",
                detail:
                    "the offered rate was not reached (below \(Int(SweepStep.rateMetFraction * 100))%) for \(saturationAfter) "
                    + "consecutive steps (\(values))"
            )
        }
        guard n >= saturationAfter + 1 else { return nil }
        var gains: [Double] = []
        for i in (n - saturationAfter)..<n {
            let before = points[0..<i].map(\.iops).max()!
            let loadGrowth = points[i].offered / points[i - 1].offered - 1
            guard before > 0, loadGrowth > 0 else { return nil }
            gains.append((points[i].iops / before - 1) / loadGrowth)
        }
        if gains.allSatisfy({ $0 < minGain }) {
            let values = zip(last, gains).map {
                "\(parameter)=\($0.value): \(formatSI($0.iops)) IOPS, gain \(formatDecimal($1, places: 2))"
            }
            return Decision(
                reason: "saturated",
                detail:
                    "throughput stopped growing: less than \(trimmedNumber(minGain * 100, places: 1))% of the added load became "
                    + "throughput for \(saturationAfter) consecutive steps (\(values.joined(separator: "; ")))"
            )
        }
        return nil
    }
}
