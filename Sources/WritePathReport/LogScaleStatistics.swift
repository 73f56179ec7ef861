import Foundation

/// Student's t distribution: the CDF through the regularized incomplete beta function, the
/// quantile by bisection on it. Accurate to about 1e-10, far finer than any interval we print.
public enum StudentT {
    /// P(T ≤ t) for `df` degrees of freedom (df > 0, not necessarily whole: Welch's df is not).
    public static func cdf(_ t: Double, df: Double) -> Double {
        guard t.isFinite else { return t > 0 ? 1 : 0 }
        let x = df / (df + t * t)
        let tail = 0.5 * regularizedIncompleteBeta(x, a: df / 2, b: 0.5)
        return t >= 0 ? 1 - tail : tail
    }

    /// The `p` quantile (0 < p < 1) for `df` degrees of freedom.
    public static func quantile(_ p: Double, df: Double) -> Double {
        if p == 0.5 { return 0 }
        if p < 0.5 { return -quantile(1 - p, df: df) }
        var lo = 0.0, hi = 1.0
        while cdf(hi, df: df) < p && hi < 1e12 { hi *= 2 }
        for _ in 0..<200 {
            let mid = (lo + hi) / 2
            if cdf(mid, df: df) < p { lo = mid } else { hi = mid }
            if hi - lo < 1e-12 * max(1, hi) { break }
        }
        return (lo + hi) / 2
    }

    /// I_x(a, b), by the continued fraction of Numerical Recipes (modified Lentz).
    static func regularizedIncompleteBeta(_ x: Double, a: Double, b: Double) -> Double {
        if x <= 0 { return 0 }
        if x >= 1 { return 1 }
        let lnGammas: Double = lgamma(a + b) - lgamma(a) - lgamma(b)
        let lnPowers: Double = a * Foundation.log(x) + b * Foundation.log(1 - x)
        let lnFront = lnGammas + lnPowers
        if x > (a + 1) / (a + b + 2) { return 1 - regularizedIncompleteBeta(1 - x, a: b, b: a) }
        let tiny = 1e-300
        var c = 1.0, d = 1 - (a + b) * x / (a + 1)
        if abs(d) < tiny { d = tiny }
        d = 1 / d
        var f = d
        for m in 1...300 {
            let m = Double(m)
            var num = m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m))
            d = 1 + num * d; if abs(d) < tiny { d = tiny }
            c = 1 + num / c; if abs(c) < tiny { c = tiny }
            d = 1 / d
            f *= d * c
            num = -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1))
            d = 1 + num * d; if abs(d) < tiny { d = tiny }
            c = 1 + num / c; if abs(c) < tiny { c = tiny }
            d = 1 / d
            let step = d * c
            f *= step
            if abs(step - 1) < 1e-14 { break }
        }
        return exp(lnFront) * f / a
    }
}

/// A linear contrast of the means of log values of several groups, `Σ sign·mean(log group)`, with
/// Welch's standard error and Welch-Satterthwaite degrees of freedom. One group is the t interval
/// on log values; two (+1, −1) are Welch's t on log values, i.e. the log of a ratio; four
/// (+layer, −reference now, −layer, +reference before) are the change of a layer's ratio to a reference.
///
/// Units: `estimate` and `standardError` are natural-log units; `exp(estimate)` is a ratio
/// of geometric means (for lognormal data, of medians).
public struct LogContrast: Sendable, Equatable {
    public var estimate: Double
    public var standardError: Double
    public var degreesOfFreedom: Double

    /// Repetitions every group needs: with fewer, the spread of a group is a guess, not an estimate,
    /// and no interval or verdict that needs one is given ("n too small").
    public static let minimumRepetitions = 3

    /// The contrast; nil when a group has fewer than `minimumRepetitions` values or a value is not
    /// positive and finite (a log is then undefined).
    public init?(_ groups: [(values: [Double], sign: Double)]) {
        var estimate = 0.0, variance = 0.0, dfDenominator = 0.0
        for g in groups {
            guard g.values.count >= Self.minimumRepetitions, g.values.allSatisfy({ $0 > 0 && $0.isFinite }) else { return nil }
            let logs = g.values.map { Foundation.log($0) }
            let n = Double(logs.count)
            let mean = logs.reduce(0, +) / n
            let s2 = logs.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / (n - 1)
            estimate += g.sign * mean
            let v = g.sign * g.sign * s2 / n
            variance += v
            dfDenominator += v * v / (n - 1)
        }
        self.estimate = estimate
        standardError = variance.squareRoot()
        // With no spread at all the df is undefined; any finite value gives the same (zero-width) answer.
        degreesOfFreedom =
            dfDenominator > 0
            ? variance * variance / dfDenominator
            : Double(groups.reduce(0) { $0 + $1.values.count - 1 })
    }

    /// The two-sided `level` interval of the contrast, log units.
    public func interval(level: Double = 0.95) -> (low: Double, high: Double) {
        let q = StudentT.quantile(0.5 + level / 2, df: degreesOfFreedom)
        return (estimate - q * standardError, estimate + q * standardError)
    }

    /// One-sided p-value of "the true contrast is 0" against "it is below 0".
    public var pValueBelowZero: Double {
        guard standardError > 0 else { return estimate < 0 ? 0 : (estimate == 0 ? 0.5 : 1) }
        return StudentT.cdf(estimate / standardError, df: degreesOfFreedom)
    }

    /// One-sided p-value of "the true contrast is 0" against "it is above 0".
    public var pValueAboveZero: Double {
        guard standardError > 0 else { return estimate > 0 ? 0 : (estimate == 0 ? 0.5 : 1) }
        return 1 - StudentT.cdf(estimate / standardError, df: degreesOfFreedom)
    }

    /// The smallest true change (log units, > 0) that a one-sided test at `alpha` detects with
    /// probability `power`, for a contrast with this standard error and df.
    public func minimumDetectable(alpha: Double, power: Double = 0.8) -> Double {
        (StudentT.quantile(1 - alpha, df: degreesOfFreedom) + StudentT.quantile(power, df: degreesOfFreedom)) * standardError
    }
}

/// Adjusting one-sided p-values of a family of comparisons, so that the chance of calling anything
/// in a run with no real change is at most alpha.
public enum MultipleComparisons: String, Sendable, CaseIterable {
    /// Holm's step-down: controls the family-wise error rate under any dependence.
    case holm
    /// Benjamini-Hochberg: controls the false-discovery rate; when nothing changed at all, the chance
    /// of any false call is alpha too (independent or positively dependent tests, as ours are).
    case bh

    /// Adjusted p-values in the order of `p` (compare each with alpha).
    public func adjust(_ p: [Double]) -> [Double] {
        let m = p.count
        guard m > 0 else { return [] }
        let order = p.indices.sorted { p[$0] < p[$1] }
        var adjusted = [Double](repeating: 1, count: m)
        switch self {
        case .holm:
            var running = 0.0
            for (rank, i) in order.enumerated() {
                running = max(running, min(1, Double(m - rank) * p[i]))
                adjusted[i] = running
            }
        case .bh:
            var running = 1.0
            for rank in stride(from: m - 1, through: 0, by: -1) {
                let i = order[rank]
                running = min(running, Double(m) / Double(rank + 1) * p[i])
                adjusted[i] = min(1, running)
            }
        }
        return adjusted
    }

    /// `Holm` or `Benjamini-Hochberg`.
    public var displayName: String { self == .holm ? "Holm" : "Benjamini-Hochberg" }
}
