import Foundation
import Testing

@testable import WritePathEngine
@testable import WritePathReport
@testable import WritePathResult

/// report.html read at a glance: the cost headline first, references off the write paths' scale,
/// lines told apart without colour, intervals printed, distinct engine rows, no empty tables,
/// `scope` and `<caption>` on every table.
@Suite("HTML report headline and legibility")
struct HTMLHeadlineTests {
    /// host 110k, docker-volume 95k (a clear cost), oci-runc 109k, docker-tmpfs 1M; 5 reps each, CV 2%.
    static func aggregation(reps: Int = 5) -> Aggregation {
        var runs = Synthetic.runs(layer: "host", reps: reps, iops: 110_000, noise: 0.02, seed: 1)
        runs += Synthetic.runs(layer: "docker-volume", reps: reps, iops: 95_000, noise: 0.02, seed: 2)
        runs += Synthetic.runs(layer: "oci-runc", reps: reps, iops: 109_000, noise: 0.02, seed: 3)
        runs += Synthetic.runs(layer: "docker-tmpfs", reps: reps, iops: 1_000_000, noise: 0.02, seed: 4)
        for i in runs.indices {
            runs[i].engine.features = ["setup:single_issuer", "iowq:inline"]
            runs[i].iodepth_level = ["8": 100]
        }
        return Aggregation.aggregate(Synthetic.input(runs))
    }

    @Test("the page opens with what each write path costs: ratios with printed intervals, added latency, sorted by cost")
    func headline() throws {
        let page = HTMLReport.render(Self.aggregation())
        let cost = try #require(page.range(of: "<section id=\"cost\">"))
        let summary = try #require(page.range(of: "<section id=\"summary\">"))
        #expect(cost.lowerBound < summary.lowerBound)
        let section = String(page[cost.lowerBound..<summary.lowerBound])
        #expect(section.contains("What each write path costs"))
        // Printed intervals in the cell text, not in title attributes.
        #expect(!section.contains("title="))
        #expect(section.contains(try Regex(#"<td>0\.8\d+x \[0\.\d\d, 0\.\d\d\]</td>"#)), "docker-volume's IOPS ratio with its interval")
        #expect(section.contains("costs 1"), "docker-volume's verdict in words")
        #expect(section.contains("added p50") && section.contains("added p99") && section.contains(" us</td>"))
        // Most costly first; the tmpfs reference in its own group after the write paths.
        let volume = try #require(section.range(of: "docker-volume</th>")), runc = try #require(section.range(of: "oci-runc</th>"))
        let tmpfs = try #require(section.range(of: "docker-tmpfs</th>")),
            refs = try #require(section.range(of: "References, not write paths"))
        #expect(volume.lowerBound < runc.lowerBound && runc.lowerBound < refs.lowerBound && refs.lowerBound < tmpfs.lowerBound)
        // The summary table prints its intervals too.
        let table = String(page[summary.lowerBound...])
        #expect(table.contains("<span class=\"ci\">[0."))
    }

    @Test("with two repetitions the headline says n too small instead of an interval")
    func tooFew() {
        let page = HTMLReport.render(Self.aggregation(reps: 2))
        #expect(page.contains("x (n too small)</td>"))
        #expect(page.contains("n too small to tell"))
        let costs = WritePathCost.table(Self.aggregation(reps: 2))[0].costs
        #expect(costs.allSatisfy { $0.iopsRatio?.low == nil })
    }

    @Test("an engine-bound reference does not set the IOPS axis: its bar is broken and labelled off scale")
    func referenceOffScale() throws {
        let a = Self.aggregation()
        let chart = HTMLReport.throughputChart(a.rows, color: LayerStyles(a.rows.map(\.layer)))
        #expect(chart.contains("off scale (reference)"))
        #expect(chart.contains("Off scale (broken bars): docker-tmpfs"))
        // host's bar: its right end is past the middle of the plot (it would be a stub at 110k of 1M).
        let bar = try Regex(#"<path d="M150\.0 [\d.]+ H([\d.]+) V"#)
        let ends = chart.matches(of: bar).compactMap { Double($0.output[1].substring ?? "") }
        #expect(ends.count == 4)
        #expect(ends[0] > 150 + (540 - 150 - 70) / 2, "host's bar ends at \(ends[0])")
        // Without a reference nothing is off scale.
        let plain = a.rows.filter { $0.layer != "docker-tmpfs" }
        #expect(!HTMLReport.throughputChart(plain, color: LayerStyles(plain.map(\.layer))).contains("off scale"))
    }

    @Test("lines differ by dash pattern and marker as well as colour; host and the sixth layer are not both blue")
    func withoutColour() {
        let a = Self.aggregation()
        let styles = LayerStyles(a.rows.map(\.layer))
        let chart = HTMLReport.latencyChart(a.rows, color: styles)
        let dashes = Set(chart.matches(of: /stroke-dasharray="([^"]+)"/).map { String($0.output.1) })
        #expect(dashes.count == 3, "three of four layers dashed, each differently: \(dashes)")
        #expect(chart.contains("<circle") && chart.contains(" Z\" fill="), "markers")
        for layer in ["host", "docker-volume", "oci-runc", "docker-tmpfs"] {
            #expect(chart.contains(">\(layer)</text>"), "direct label \(layer)")
        }
        let six = LayerStyles(["host", "a", "b", "c", "d", "oci-runc"])
        #expect(six("host") == "#0072B2" && six("oci-runc") != "#56B4E9" && six("oci-runc") != six("host"))
        #expect(Set(["host", "a", "b", "c", "d", "oci-runc"].map(six.dash)).count == 6)
    }

    @Test("the Engine table shows each distinct finding once, with the count of rows sharing it")
    func engineRows() {
        let page = HTMLReport.render(Self.aggregation())
        #expect(page.contains("<b>4 rows</b>: host / rand4k, docker-volume / rand4k, oci-runc / rand4k, docker-tmpfs / rand4k"))
        #expect(page.components(separatedBy: "<td class=\"l\">io_uring").count - 1 == 1)
    }

    @Test("every table has a caption and scoped headers; a sweep-only report has no Layer settings table")
    func tables() throws {
        let page = HTMLReport.render(Self.aggregation())
        let tables = page.components(separatedBy: "<table>").dropFirst()
        #expect(tables.count >= 5)
        for t in tables {
            #expect(t.hasPrefix("\n<caption>"), "a table without caption: \(t.prefix(120))")
            let body = t.components(separatedBy: "</table>")[0]
            #expect(!body.contains("<th>") && !body.contains("<th class=\"l\">"), "a header cell without scope: \(body.prefix(200))")
        }
        let sweepOnly = HTMLReport.render(Aggregation.aggregate(ResultInput(sources: [])), capacity: CapacityPlanTests.analysis)
        #expect(!sweepOnly.contains("Layer settings"))
        #expect(!sweepOnly.contains("id=\"cost\""))
        for t in sweepOnly.components(separatedBy: "<table>").dropFirst() { #expect(t.hasPrefix("\n<caption>")) }
    }
}
