import WritePathEngine

/// A latency objective: a percentile of per-I/O latency (submission to completion) that must stay
/// at or below a threshold, e.g. `p99=2ms`.
public struct LatencyObjective: Sendable, Equatable, CustomStringConvertible {
    /// The percentile, 0 < percentile < 100: 99 for p99, 99.9 for p99.9.
    public var percentile: Double
    /// The threshold in nanoseconds.
    public var thresholdNs: Double

    public init(percentile: Double, thresholdNs: Double) {
        self.percentile = percentile
        self.thresholdNs = thresholdNs
    }

    /// Parses `p99=2ms`: `p` and a percentile above 0 and below 100 (`p50`, `p99`, `p99.9`,
    /// `p99_9`), `=`, and a duration with its unit: ns, us (or µs), ms or s (`2ms`, `500us`,
    /// `1.5ms`). Throws `invalidInput` naming `field` with an example of what is accepted.
    public static func parse(_ text: String, field: String = "slo") throws -> LatencyObjective {
        let example = "expected a percentile and a duration, e.g. p99=2ms, p99.9=500us or p50=1.5ms"
        let parts = text.lowercased().split(separator: "=", maxSplits: 1).map { String($0).trimmingCharacters(in: .whitespaces) }
        guard parts.count == 2, parts[0].hasPrefix("p") else {
            throw WritePathError.invalidInput(field: field, message: "'\(text)' is not an objective; \(example)")
        }
        let pText = parts[0].dropFirst().replacingOccurrences(of: "_", with: ".")
        guard let p = Double(pText), p > 0, p < 100 else {
            throw WritePathError.invalidInput(
                field: field, message: "'\(parts[0])' is not a percentile above p0 and below p100; \(example)")
        }
        let units: [(String, Double)] = [("ns", 1), ("us", 1e3), ("µs", 1e3), ("ms", 1e6), ("s", 1e9)]
        for (suffix, scale) in units where parts[1].hasSuffix(suffix) {
            guard let v = Double(parts[1].dropLast(suffix.count)), v > 0, v.isFinite, v * scale <= 3.6e12 else { break }
            return LatencyObjective(percentile: p, thresholdNs: v * scale)
        }
        throw WritePathError.invalidInput(
            field: field, message: "'\(parts[1])' is not a duration with a unit (ns, us, ms or s) above 0 and at most 1h; \(example)")
    }

    /// `p99`, `p99.9`.
    public var percentileLabel: String { "p" + trimmedNumber(percentile, places: 4) }
    /// `p99=2ms`: the form `parse` reads.
    public var text: String { "\(percentileLabel)=\(Self.duration(thresholdNs, compact: true))" }
    /// `p99 <= 2 ms`.
    public var description: String { "\(percentileLabel) <= \(Self.duration(thresholdNs))" }

    /// A duration in nanoseconds in the largest unit that keeps it at 1 or more, to three
    /// significant digits: `2 ms`, `750 us`, `1.25 s`, `800 ns`; `compact` (`2ms`, up to three
    /// decimals) is the form `parse` reads.
    public static func duration(_ ns: Double, compact: Bool = false) -> String {
        let (value, unit): (Double, String) =
            ns >= 1e9 ? (ns / 1e9, "s") : ns >= 1e6 ? (ns / 1e6, "ms") : ns >= 1e3 ? (ns / 1e3, "us") : (ns, "ns")
        // Three significant digits (2 ms, 1.47 ms, 183 us); the compact form keeps what `parse` needs.
        let places = compact ? 3 : (value >= 100 ? 0 : value >= 10 ? 1 : 2)
        return trimmedNumber(value, places: places) + (compact ? "" : " ") + unit
    }
}
