/// Collects one direction's metrics for one job: a histogram per one-second interval that is
/// folded into the total when the interval closes, so each I/O is recorded once.
struct DirectionRecorder {
    var total = LatencyHistogram()
    var interval = LatencyHistogram()
    var ios: UInt64 = 0
    var bytes: UInt64 = 0
    var errors: UInt64 = 0
    var intervalIos: UInt64 = 0
    var intervalBytes: UInt64 = 0
    var series: [SeriesPoint] = []
    /// Each interval's histogram as sparse buckets, so a run can merge its jobs' intervals.
    var intervalBuckets: [[[UInt64]]] = []

    @inline(__always)
    mutating func record(latency: UInt64, bytes n: UInt64) {
        interval.record(latency)
        intervalIos &+= 1
        intervalBytes &+= n
    }

    /// Closes the interval ending `endSeconds` after measuring started, `seconds` long. With
    /// `foldIntoPrevious`, the interval's I/Os extend the previous series point instead.
    /// Never inlined: it runs once a second, off the per-I/O path, and scripts/bench-instructions.sh
    /// leaves it out of the instructions it counts per I/O by this name.
    @inline(never)
    mutating func closeInterval(endSeconds: Double, seconds: Double, foldIntoPrevious: Bool = false) {
        if foldIntoPrevious, let last = series.last {
            let previousSeconds = last.t_s - (series.count > 1 ? series[series.count - 2].t_s : 0)
            let d = max(previousSeconds + seconds, 1e-9)
            var merged = interval
            for b in intervalBuckets[intervalBuckets.count - 1] { merged.record(b[0], count: b[1]) }
            series[series.count - 1] = SeriesPoint(
                t_s: endSeconds, iops: (last.iops * previousSeconds + Double(intervalIos)) / d,
                bw_bytes_per_s: (last.bw_bytes_per_s * previousSeconds + Double(intervalBytes)) / d,
                p99_ns: merged.value(atPercentile: 99))
            intervalBuckets[intervalBuckets.count - 1] = merged.encoded.buckets
        } else {
            let d = max(seconds, 1e-9)
            series.append(
                SeriesPoint(
                    t_s: endSeconds, iops: Double(intervalIos) / d,
                    bw_bytes_per_s: Double(intervalBytes) / d,
                    p99_ns: interval.value(atPercentile: 99)))
            intervalBuckets.append(interval.encoded.buckets)
        }
        total.add(interval)
        ios += intervalIos
        bytes += intervalBytes
        interval.reset()
        intervalIos = 0
        intervalBytes = 0
    }

    /// Forgets everything (the ramp is over).
    mutating func reset() {
        self = DirectionRecorder()
    }

    func result(runtimeSeconds: Double) -> DirectionResult {
        let t = max(runtimeSeconds, 1e-9)
        return DirectionResult(
            ios: ios, bytes: bytes, iops: Double(ios) / t, bw_bytes_per_s: Double(bytes) / t,
            runtime_s: runtimeSeconds, errors: errors, lat_ns: total.summary,
            histogram: total.encoded, series: series)
    }
}

/// Merges the jobs' results of one direction into the run's: counts summed, histograms merged,
/// series summed second by second with p99 from the merged interval histograms.
func mergeDirections(_ parts: [(DirectionRecorder, Double)]) -> DirectionResult? {
    guard !parts.isEmpty else { return nil }
    var total = LatencyHistogram()
    var ios: UInt64 = 0, bytes: UInt64 = 0, errors: UInt64 = 0
    var iops = 0.0, bw = 0.0
    var runtime = 0.0
    for (r, t) in parts {
        total.add(r.total)
        ios += r.ios
        bytes += r.bytes
        errors += r.errors
        iops += Double(r.ios) / max(t, 1e-9)
        bw += Double(r.bytes) / max(t, 1e-9)
        runtime = max(runtime, t)
    }
    let intervals = parts.map { $0.0.series.count }.max() ?? 0
    var series: [SeriesPoint] = []
    var h = LatencyHistogram()
    for k in 0..<intervals {
        h.reset()
        var p = SeriesPoint(t_s: 0, iops: 0, bw_bytes_per_s: 0, p99_ns: 0)
        for (r, _) in parts where k < r.series.count {
            p.t_s = max(p.t_s, r.series[k].t_s)
            p.iops += r.series[k].iops
            p.bw_bytes_per_s += r.series[k].bw_bytes_per_s
            for b in r.intervalBuckets[k] { h.record(b[0], count: b[1]) }
        }
        p.p99_ns = h.value(atPercentile: 99)
        series.append(p)
    }
    return DirectionResult(
        ios: ios, bytes: bytes, iops: iops, bw_bytes_per_s: bw, runtime_s: runtime,
        errors: errors, lat_ns: total.summary, histogram: total.encoded, series: series)
}
