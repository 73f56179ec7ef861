import Foundation
import Testing
import WritePathTestSupport

@testable import WritePathEngine
@testable import WritePathReport

/// summary.md as a GitHub job summary shows it: rendered by cmark-gfm (GitHub's Markdown) and
/// laid out by headless Chromium, the headline tables have at most 6 columns and the details are
/// collapsed; scripts/screenshots.sh writes report.png, report-phone.png and summary.png.
@Suite("summary.md as a job summary, and the screenshots make demo takes", .serialized)
struct SummaryScreenshotTests {
    /// A report folder of the headline tests' results: report.html and summary.md.
    static func folder(_ name: String) throws -> String {
        let dir = scratchFolder(name)
        let a = HTMLHeadlineTests.aggregation()
        try HTMLReport.render(a).write(toFile: "\(dir)/report.html", atomically: true, encoding: .utf8)
        try MarkdownReport.render(a).write(toFile: "\(dir)/summary.md", atomically: true, encoding: .utf8)
        return dir
    }

    @Test(
        "rendered as GitHub renders it, in a real browser: every table has at most 6 columns, the details are collapsed",
        Precondition.chromium.trait, Precondition.cmarkGFM.trait)
    func jobSummary() throws {
        let dir = try Self.folder("summary-html")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let html = try runProcess("\(ReportDocsTests.root)/scripts/summary-html.sh", ["\(dir)/summary.md"])
        #expect(html.status == 0, "\(html.stderr)")
        try html.stdout.write(toFile: "\(dir)/summary.html", atomically: true, encoding: .utf8)
        let dom = try runProcess(
            ChromiumTests.chromium!, ChromiumTests.flags("\(dir)/profile") + ["--dump-dom", "file://\(dir)/summary.html"], timeout: 120)
        #expect(dom.status == 0, "\(dom.stderr)")
        let page = dom.stdout
        #expect(page.contains("<h3>What each write path costs</h3>"))
        // Each table with the <details> it sits in, if any, as the browser built the DOM.
        var tables: [(columns: Int, inDetails: Bool)] = []
        var rest = Substring(page)
        while let start = rest.range(of: "<table") {
            let before = page[page.startIndex..<start.lowerBound]
            let open = before.components(separatedBy: "<details").count - before.components(separatedBy: "</details>").count
            let end = try #require(rest[start.lowerBound...].range(of: "</table>"))
            let table = rest[start.lowerBound..<end.upperBound]
            let head = table.components(separatedBy: "</tr>")[0]
            // Header cells: `<th>` or `<th align=...>`, not `<thead>`.
            tables.append((head.components(separatedBy: "<th>").count + head.components(separatedBy: "<th ").count - 2, open > 0))
            rest = rest[end.upperBound...]
        }
        #expect(tables.count >= 3, "\(tables)")
        #expect(tables.allSatisfy { $0.columns >= 2 && $0.columns <= 6 }, "\(tables)")
        // The headline tables are shown; the full numbers are collapsed, and nothing is open.
        #expect(tables.first?.inDetails == false && tables.contains { $0.inDetails })
        #expect(page.contains("<summary>All numbers") && page.contains("<summary>Warnings"))
        #expect(!page.contains("<details open"))
    }

    @Test(
        "scripts/screenshots.sh --newest writes report.png, report-phone.png and summary.png into the newest report folder",
        Precondition.chromium.trait, Precondition.cmarkGFM.trait)
    func screenshots() throws {
        let root = scratchFolder("screenshots")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let fm = FileManager.default
        let old = try Self.folder("screenshots-old"), dir = try Self.folder("screenshots-new")
        try fm.moveItem(atPath: old, toPath: "\(root)/old")
        try fm.moveItem(atPath: dir, toPath: "\(root)/new")
        try fm.setAttributes([.modificationDate: Date(timeIntervalSinceNow: -3600)], ofItemAtPath: "\(root)/old/report.html")
        let s = try runProcess("\(ReportDocsTests.root)/scripts/screenshots.sh", ["--newest", root], timeout: 300)
        #expect(s.status == 0, "\(s.stderr)")
        let shots = [("report.png", 1280, 2400, 50_000), ("report-phone.png", 390, 2400, 20_000), ("summary.png", 1280, 1400, 30_000)]
        for (name, width, height, least) in shots {
            #expect(!fm.fileExists(atPath: "\(root)/old/\(name)"))
            let data = try Data(contentsOf: URL(fileURLWithPath: "\(root)/new/\(name)"))
            #expect(data.count > least, "\(name) is \(data.count) bytes; an empty page is much smaller")
            // PNG: the signature, then IHDR's width and height (big-endian) at bytes 16 and 20.
            #expect(data.prefix(8) == Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]))
            let w = data[16..<20].reduce(0) { $0 << 8 | Int($1) }, h = data[20..<24].reduce(0) { $0 << 8 | Int($1) }
            #expect(w == width && h == height, "\(name) is \(w)x\(h)")
        }
        let bad = try runProcess("\(ReportDocsTests.root)/scripts/screenshots.sh", ["\(root)/missing"])
        #expect(bad.status == 2 && bad.stderr.contains("has no report.html"), "\(bad.stderr)")
    }
}
