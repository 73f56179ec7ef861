import Foundation
import Testing

/// The README and docs/ stay true: their links resolve, the first screen says what the Makefile
/// does, and every `writepath` subcommand an example uses exists.
@Suite("Report docs: README and docs/ pages")
struct ReportDocsTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path

    static func read(_ relative: String) -> String { (try? String(contentsOfFile: "\(root)/\(relative)", encoding: .utf8)) ?? "" }

    static var pages: [String] {
        let docs = (try? FileManager.default.contentsOfDirectory(atPath: "\(root)/docs")) ?? []
        return ["README.md", "results/README.md", "docs/ci/README.md"] + docs.filter { $0.hasSuffix(".md") }.map { "docs/\($0)" }
    }

    @Test("every relative link in README.md and docs/ names a file that exists")
    func links() throws {
        let link = try Regex(#"\]\(([^)#:]+)(#[^)]*)?\)"#)
        var checked = 0
        for page in Self.pages {
            let text = Self.read(page)
            #expect(!text.isEmpty, "\(page) is missing or empty")
            let dir = (page as NSString).deletingLastPathComponent
            for m in text.matches(of: link) {
                let target = String(m.output[1].substring ?? "")
                let path = ((dir.isEmpty ? Self.root : "\(Self.root)/\(dir)") as NSString).appendingPathComponent(target)
                #expect(FileManager.default.fileExists(atPath: path), "\(page) links to \(target), which does not exist")
                checked += 1
            }
        }
        #expect(checked > 20)
    }

    @Test("the README's first screen: the two commands as the Makefile has them, root, dockerd, the binary, the contents")
    func firstScreen() {
        let readme = Self.read("README.md")
        let first = readme.split(separator: "\n", omittingEmptySubsequences: false).prefix(30).joined(separator: "\n")
        for needle in ["make demo", "make test", "root", "dockerd", ".build/release/writepath", "results/<UTC time>-<host>/", "Contents:"] {
            #expect(first.contains(needle), "the README's first 30 lines lack \(needle)")
        }
        let makefile = Self.read("Makefile")
        #expect(makefile.contains("RELEASE := .build/release/writepath"))
        #expect(makefile.contains("scripts/start-dockerd.sh"))
        for target in ["demo:", "test:"] { #expect(makefile.contains("\n\(target)\n"), "Makefile has no \(target) target") }
        // Every anchor of the contents line is a heading of the README.
        let anchors = readme.matches(of: /\]\(#([a-z0-9-]+)\)/).map { String($0.output.1) }
        let headings = readme.split(separator: "\n").filter { $0.hasPrefix("## ") }.map {
            $0.dropFirst(3).lowercased().replacingOccurrences(of: " ", with: "-").filter { $0.isLetter || $0.isNumber || $0 == "-" }
        }
        #expect(anchors.count >= 7)
        for a in anchors { #expect(headings.contains(a), "contents link #\(a) has no heading") }
    }

    @Test("every subcommand a README or docs example runs is one writepath has")
    func subcommands() {
        let known: Set<String> = ["run", "sweep", "plan", "report", "compare", "layers", "verify", "guest-image", "fleet", "k8s", "demo"]
        let main = Self.read("Sources/writepath/WritePath.swift")
        for sub in known where sub != "demo" {
            #expect(main.localizedCaseInsensitiveContains(sub.replacingOccurrences(of: "-", with: "")), "WritePath.swift lacks \(sub)")
        }
        var examples = 0
        for page in Self.pages {
            var inCode = false
            for line in Self.read(page).split(separator: "\n", omittingEmptySubsequences: false) {
                if line.hasPrefix("```") { inCode.toggle(); continue }
                guard inCode, let m = line.firstMatch(of: /^\$? *writepath ([a-z0-9-]+)/) else { continue }
                examples += 1
                #expect(known.contains(String(m.output.1)), "\(page): an example runs writepath \(m.output.1)")
            }
        }
        #expect(examples > 20)
    }
}
