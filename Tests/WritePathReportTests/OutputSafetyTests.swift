import Foundation
import Testing
import WritePathReport

@testable import WritePathEngine

/// Reports that a hostile workload name or an odd baseline cannot break (issue 12).
@Suite("Report output safety: CSV formulas, terminal control characters, a baseline of 0")
struct OutputSafetyTests {
    @Test(
        "CSV cells a spreadsheet would run as a formula get a leading ' (OWASP); numbers stay numbers",
        arguments: [
            ("=HYPERLINK(\"http://x\",\"y\")", "\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\""),
            ("+cmd", "'+cmd"), ("-2+3", "'-2+3"), ("@SUM(A1)", "'@SUM(A1)"), ("\tx", "'\tx"), ("\rx", "\"'\rx\""),
            ("-12.5", "-12.5"), ("+3", "+3"), ("plain", "plain"), ("a=b", "a=b"),
        ])
    func csvFormulaInjection(cell: String, expected: String) {
        #expect(CSVFormat.escape(cell) == expected)
    }

    @Test("report.csv of a run named =HYPERLINK(...) starts no cell with =")
    func reportCSV() {
        let runs = Synthetic.runs(layer: "host", workload: "=HYPERLINK(\"http://evil\",\"x\")", reps: 2, iops: 1000, noise: 0.01, seed: 3)
        let csv = CSVReport.render(Aggregation.aggregate(Synthetic.input(runs)))
        #expect(csv.contains("'=HYPERLINK"))
        for line in csv.split(separator: "\n") {
            #expect(!line.hasPrefix("=") && !line.contains(",=") && !line.contains(",\"="), "\(line)")
        }
    }

    @Test("text output escapes control characters from a job name")
    func textEscapes() {
        var run = Synthetic.run(layer: "host", workload: "a\u{1B}[2J\u{1B}]0;pwned\u{07}b", rep: 1, iops: 1000, latencyNs: 1000, seed: 1)
        run.warnings = ["w\u{1B}[31m"]
        let text = TextFormat.render(Synthetic.document([run]))
        #expect(!text.unicodeScalars.contains { $0.value < 0x20 && $0 != "\n" || $0.value == 0x7F || (0x80..<0xA0).contains($0.value) })
        #expect(text.contains("a\\u{1B}[2J"))
        let table = TextReport.render(Aggregation.aggregate(Synthetic.input([run])))
        #expect(!table.contains("\u{1B}"))
    }

    @Test("compare with a baseline of 0 IOPS shows the IOPS and bandwidth rows, saying the baseline is 0")
    func zeroBaseline() {
        var zero = Synthetic.run(layer: "host", rep: 1, iops: 0, latencyNs: 1000, seed: 1)
        zero.write?.iops = 0
        zero.write?.bw_bytes_per_s = 0
        let base = Synthetic.input([zero])
        let cur = Synthetic.input([Synthetic.run(layer: "host", rep: 1, iops: 1000, latencyNs: 1000, seed: 1)])
        let c = Comparison.compare(baseline: base, current: cur, threshold: 0.05)
        for metric in ["iops", "bw"] {
            let row = c.rows.first { $0.metric.hasPrefix(metric) }
            #expect(row != nil, "no \(metric) row: \(c.rows.map(\.metric))")
            #expect(row?.verdict == .inconclusive)
            #expect(row?.reason == "baseline is 0: no relative change")
        }
        #expect(CompareTextFormat.render(c).contains("baseline is 0"))
    }
}
