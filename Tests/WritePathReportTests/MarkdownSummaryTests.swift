import Foundation
import Testing

@testable import WritePathEngine
@testable import WritePathReport

/// summary.md fits a CI job summary: small tables, short cells, the details collapsed.
@Suite("Markdown summary for a CI job summary")
struct MarkdownSummaryTests {
    @Test("every table has at most 6 columns and no row is wider than a job summary shows without wrapping")
    func fits() throws {
        let a = HTMLHeadlineTests.aggregation()
        let md = MarkdownReport.render(a)
        let rows = md.split(separator: "\n").filter { $0.hasPrefix("|") }
        #expect(rows.count > 10)
        for row in rows {
            // Unescaped pipes separate cells; "| a | b |" has 2 cells.
            let cells = row.replacingOccurrences(of: "\\|", with: "").split(separator: "|", omittingEmptySubsequences: false).dropFirst()
                .dropLast()
            #expect(cells.count <= MarkdownReport.maximumColumns, "\(cells.count) columns: \(row)")
            // About 7 px a character: 110 characters stay within GitHub's ~900 px summary width.
            #expect(row.count <= 110, "\(row.count) characters: \(row)")
            for c in cells { #expect(c.trimmingCharacters(in: .whitespaces).count <= 32, "a long cell: \(c)") }
        }
    }

    @Test("the headline comes first, with printed intervals and short verdicts; details and warnings are collapsed")
    func layout() throws {
        let md = MarkdownReport.render(HTMLHeadlineTests.aggregation())
        let headline = try #require(md.range(of: "### What each write path costs"))
        let details = try #require(md.range(of: "<details><summary>All numbers"))
        #expect(headline.lowerBound < details.lowerBound)
        #expect(md.contains("| layer | IOPS | IOPS vs host | p99 vs host | added p99 | verdict |"))
        #expect(md.contains(try Regex(#"\| docker-volume \| [\d.]+k \| 0\.8\dx \[0\.\d\d, 0\.\d\d\] \|"#)))
        #expect(md.contains("**costs 1"))
        #expect(md.contains("| docker-tmpfs |") && md.contains("| reference |"))
        #expect(md.contains("</details>"))
        let two = MarkdownReport.render(HTMLHeadlineTests.aggregation(reps: 2))
        #expect(two.contains("x (n too small) |") && two.contains("| n too small |"))
    }
}
