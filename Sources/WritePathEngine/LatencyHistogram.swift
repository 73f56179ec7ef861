import Histogram

/// Latencies in nanoseconds, recorded into an HDR histogram (3 significant digits) that holds
/// values from 1 ns to one hour. A larger value is clamped to one hour and counted in
/// `clampedCount`, so that no I/O disappears from the count.
public struct LatencyHistogram: Sendable {
    /// The largest latency the histogram tracks: one hour in nanoseconds.
    public static let highestTrackableNanoseconds: UInt64 = 3_600_000_000_000
    public private(set) var histogram: Histogram<UInt64>
    /// Values above one hour, recorded as one hour.
    public private(set) var clampedCount: UInt64 = 0

    public init() {
        histogram = Histogram<UInt64>(
            lowestDiscernibleValue: 1, highestTrackableValue: Self.highestTrackableNanoseconds, numberOfSignificantValueDigits: .three)
    }

    /// Records one latency of `nanoseconds`.
    @inline(__always)
    public mutating func record(_ nanoseconds: UInt64) {
        if _slowPath(nanoseconds > Self.highestTrackableNanoseconds) {
            clampedCount += 1
            histogram.record(Self.highestTrackableNanoseconds)
        } else {
            histogram.record(nanoseconds)
        }
    }

    /// Records `count` latencies of `nanoseconds`.
    public mutating func record(_ nanoseconds: UInt64, count: UInt64) {
        histogram.record(min(nanoseconds, Self.highestTrackableNanoseconds), count: count)
    }

    public mutating func add(_ other: LatencyHistogram) {
        histogram.add(other.histogram)
        clampedCount += other.clampedCount
    }

    public mutating func reset() {
        histogram.reset()
        clampedCount = 0
    }

    public var count: UInt64 { histogram.totalCount }

    /// The value at `percentile` (0...100) in nanoseconds; 0 when empty.
    public func value(atPercentile percentile: Double) -> UInt64 {
        count == 0 ? 0 : histogram.valueAtPercentile(percentile)
    }

    /// Summary statistics in nanoseconds.
    public var summary: LatencySummary {
        guard count > 0 else { return LatencySummary() }
        return LatencySummary(
            min: histogram.min, mean: histogram.mean, stddev: histogram.stdDeviation,
            p50: value(atPercentile: 50), p90: value(atPercentile: 90), p99: value(atPercentile: 99),
            p99_9: value(atPercentile: 99.9), p99_99: value(atPercentile: 99.99), max: histogram.maxRecorded)
    }

    /// The histogram as a sparse bucket list that `init(encoded:)` turns back into an equal
    /// histogram, so that runs can be merged later.
    public var encoded: EncodedHistogram {
        var buckets: [[UInt64]] = []
        for v in histogram.recordedValues() {
            buckets.append([histogram.lowestEquivalentForValue(v.value), v.count])
        }
        return EncodedHistogram(
            unit: "ns", significant_digits: 3, lowest_discernible: 1,
            highest_trackable: Self.highestTrackableNanoseconds, clamped: clampedCount,
            min: count == 0 ? nil : histogram.min, max: count == 0 ? nil : histogram.maxRecorded, buckets: buckets)
    }

    /// Rebuilds a histogram from its encoded form. Throws when a bucket is malformed.
    public init(encoded: EncodedHistogram) throws {
        self.init()
        var minPending = encoded.min
        var maxPending = encoded.max
        for b in encoded.buckets {
            guard b.count == 2, b[0] <= Self.highestTrackableNanoseconds else {
                throw WritePathError.invalidInput(field: "histogram", message: "bucket \(b) is not [value_ns, count] within 1 hour")
            }
            // The exact minimum and maximum replace one count of their buckets, so that the
            // decoded histogram reports the same min, max and percentiles as the original.
            var count = b[1]
            for exact in [maxPending, minPending] {
                if let e = exact, count > 0, e <= Self.highestTrackableNanoseconds, histogram.valuesAreEquivalent(e, b[0]) {
                    histogram.record(e)
                    count -= 1
                    if e == maxPending { maxPending = nil } else { minPending = nil }
                }
            }
            // The rest of the minimum's bucket goes at the minimum, not below it.
            if count > 0 { histogram.record(Swift.max(b[0], encoded.min ?? 0), count: count) }
        }
        clampedCount = encoded.clamped
    }
}

/// Latency statistics of one direction in nanoseconds: the JSON `lat_ns` object.
public struct LatencySummary: Codable, Equatable, Sendable {
    public var min: UInt64 = 0
    public var mean: Double = 0
    public var stddev: Double = 0
    public var p50: UInt64 = 0
    public var p90: UInt64 = 0
    public var p99: UInt64 = 0
    public var p99_9: UInt64 = 0
    public var p99_99: UInt64 = 0
    public var max: UInt64 = 0
}

/// An HDR histogram as JSON: `buckets` holds `[lowest value in ns, count]` for each non-empty
/// bucket, enough to merge runs and recompute any percentile.
public struct EncodedHistogram: Codable, Equatable, Sendable {
    public var unit: String
    public var significant_digits: Int
    public var lowest_discernible: UInt64
    public var highest_trackable: UInt64
    public var clamped: UInt64
    /// Exact smallest and largest values recorded (the buckets alone hold them to 3 digits).
    public var min: UInt64?
    public var max: UInt64?
    public var buckets: [[UInt64]]
}
