/// Statistics the runner needs as well as the reports: the median and the spread of repetitions.
/// The intervals and ratios only reports use are added in WritePathReport.
public enum Stats {
    /// The median; nil when `values` is empty.
    public static func median(_ values: [Double]) -> Double? {
        guard !values.isEmpty else { return nil }
        let s = values.sorted()
        return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
    }

    /// Sample standard deviation over the mean; nil for fewer than two values or a zero mean.
    public static func coefficientOfVariation(_ values: [Double]) -> Double? {
        guard values.count >= 2 else { return nil }
        let mean = values.reduce(0, +) / Double(values.count)
        guard mean != 0 else { return nil }
        let variance = values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(values.count - 1)
        return variance.squareRoot() / abs(mean)
    }
}
