import Histogram
import WritePathEngine
import WritePathResult

/// `.hgrm` files: HdrHistogram's percentile distribution (the text `outputPercentileDistribution`
/// writes, as Java's HistogramLogProcessor and hdrhistogram-swift do), one per layer × workload
/// from its merged histogram, for HdrHistogram's plotter
/// (https://hdrhistogram.github.io/HdrHistogram/plotFiles.html). Values are in microseconds.
public enum HgrmFormat {
    /// Nanoseconds per output unit: values are written in microseconds.
    public static let scalingRatio = 1000.0

    /// Per row with a merged histogram, its file name (`<layer>--<workload>.hgrm`, made safe) and text.
    public static func files(_ a: Aggregation) -> [(name: String, text: String)] {
        a.rows.compactMap { r in
            guard let h = r.merged, h.count > 0 else { return nil }
            return ("\(safe(r.layer))--\(safe(r.workloadIdentity)).hgrm", render(h))
        }
    }

    /// The percentile distribution of `h`, values in microseconds.
    public static func render(_ h: LatencyHistogram) -> String {
        var out = ""
        h.histogram.outputPercentileDistribution(to: &out, outputValueUnitScalingRatio: scalingRatio)
        return out
    }

    /// Letters, digits and `-_.=` kept, everything else `_`.
    static func safe(_ s: String) -> String {
        String(s.map { $0.isASCII && ($0.isLetter || $0.isNumber || "-_.=".contains($0)) ? $0 : "_" })
    }
}
