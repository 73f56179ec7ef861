import WritePathEngine
import WritePathResult

/// A comparison as JUnit XML, for CI systems that show test results: one `<testsuite>` per layer,
/// one `<testcase>` per workload × metric (`classname` the layer, `name` `workload metric`).
/// A regressed metric is a `<failure>`; an inconclusive one is `<skipped>` (nothing was shown
/// either way); improved and unchanged pass.
public enum JUnitFormat {
    public static func render(_ c: Comparison) -> String {
        var layers: [String] = []
        for r in c.rows where !layers.contains(r.layer) { layers.append(r.layer) }
        let failures = c.regressions.count
        let skipped = c.rows.filter { $0.verdict == .inconclusive }.count
        var out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        out += "<testsuites name=\"writepath compare\" tests=\"\(c.rows.count)\" failures=\"\(failures)\" skipped=\"\(skipped)\">\n"
        for layer in layers {
            let rows = c.rows.filter { $0.layer == layer }
            out +=
                "  <testsuite name=\"\(xml(layer))\" tests=\"\(rows.count)\" failures=\"\(rows.filter { $0.verdict == .regressed }.count)\""
            out += " skipped=\"\(rows.filter { $0.verdict == .inconclusive }.count)\">\n"
            for r in rows {
                out += "    <testcase classname=\"\(xml(layer))\" name=\"\(xml("\(r.workload) \(r.metric)"))\""
                let detail =
                    "\(c.sideNames.baseline) \(r.baselineMedian.map { Comparison.format($0, metric: r.metric) } ?? "-"), "
                    + "\(c.sideNames.current) "
                    + "\(r.currentMedian.map { Comparison.format($0, metric: r.metric) } ?? "-"), change "
                    + "\(Comparison.formatChange(r)): \(r.reason)"
                switch r.verdict {
                case .regressed:
                    out += ">\n      <failure message=\"\(xml("regressed: " + detail))\" type=\"regression\"/>\n    </testcase>\n"
                case .inconclusive:
                    out += ">\n      <skipped message=\"\(xml("inconclusive: " + detail))\"/>\n    </testcase>\n"
                case .improved, .unchanged:
                    out += ">\n      <system-out>\(xml("\(r.verdict.rawValue): " + detail))</system-out>\n    </testcase>\n"
                }
            }
            out += "  </testsuite>\n"
        }
        out += "</testsuites>\n"
        return out
    }

    /// Escapes text for XML attributes and content; drops characters XML 1.0 cannot hold.
    static func xml(_ s: String) -> String {
        var out = ""
        for u in s.unicodeScalars {
            switch u {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            case "\t", "\n", "\r": out += "&#\(u.value);"
            default:
                if u.value >= 0x20 && !(0xFFFE...0xFFFF).contains(u.value) { out.unicodeScalars.append(u) }
            }
        }
        return out
    }
}
