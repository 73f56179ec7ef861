import Foundation
import Testing
import WritePathEngine
import WritePathReport
import WritePathResult
import WritePathRunner

#if canImport(Glibc)
    import Glibc
#endif

/// The committed bad-input corpus (Tests/Corpus/bad-input) run through the built binary, and the
/// fuzzers' regressions (Tests/Corpus/fuzz-regressions) run through the parsers.
///
/// Corpus layout, one case per file:
/// - `cli/NAME.args`: the arguments, one per line; `cli-report/` the same for `report` and
///   `compare`, run only when this writepath has `report`.
/// - `jobfiles/NAME.fio`: run as `writepath run NAME.fio`.
/// - `matrix/NAME.yaml`: run as `writepath run --matrix NAME.yaml --results results`.
/// - `results/NAME.json`: parsed with `JSONFormat.parse`; also run as `writepath report NAME.json`,
///   `compare NAME.json GOOD` and `compare GOOD NAME.json` when this writepath has them.
/// - `fio-import/NAME.json`: fio JSON output gone wrong, read with `FioImport.document` and run as
///   `writepath report --import-fio NAME.json`.
///
/// Each case names the text its error line must contain: a first line `# expect: TEXT` (`; expect:`
/// in job files), or a sidecar `NAME.expect` (for empty, binary and JSON files). `@TMP@` in a case
/// stands for its scratch folder, which holds `sentinel.dat` (a file writepath did not create) that
/// no case may change. Files are copied into the scratch folder and run from there.
enum Corpus {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Corpus").path
    static let badInput = "\(root)/bad-input"
    static let goodResult = "\(root)/good/result.json"

    /// Case files (not sidecars) in `folder` of the bad-input corpus, relative to it.
    static func cases(_ folder: String) -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: "\(badInput)/\(folder)")) ?? []
        return names.filter { !$0.hasSuffix(".expect") && !$0.hasPrefix(".") }.sorted().map { "\(folder)/\($0)" }
    }

    static let commandLineCases = cases("cli")
    static let reportCommandLineCases = cases("cli-report")
    static let jobFileCases = cases("jobfiles")
    static let matrixCases = cases("matrix")
    static let resultCases = cases("results")
    static let fioImportCases = cases("fio-import")

    /// The text the error line of `path` must contain (with `@TMP@` still in it).
    static func expectation(_ path: String) throws -> String {
        let sidecar = (path as NSString).deletingPathExtension + ".expect"
        if let data = FileManager.default.contents(atPath: sidecar) {
            return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        }
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        let firstLine = String(decoding: data.prefix(while: { $0 != 0x0A }), as: UTF8.self)
        for marker in ["# expect: ", "; expect: "] where firstLine.hasPrefix(marker) {
            return String(firstLine.dropFirst(marker.count)).trimmingCharacters(in: .whitespaces)
        }
        throw CorpusError("\(path) names no expected error text (first line '# expect: ...' or NAME.expect)")
    }
}

struct CorpusError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// A scratch folder for one case, with a sentinel file that must come out unchanged.
struct CaseScratch {
    let path: String
    let sentinel: String
    static let sentinelContents = Data("precious data writepath did not create; no input may change it\n".utf8)

    init(_ name: String) throws {
        let safe = String(name.map { $0.isLetter || $0.isNumber || $0 == "-" ? $0 : "_" })
        path = "/dev/shm/writepath-corpus-\(getpid())-\(safe)"
        try? FileManager.default.removeItem(atPath: path)
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: "\(path)/empty-folder", withIntermediateDirectories: true)
        sentinel = "\(path)/sentinel.dat"
        try CaseScratch.sentinelContents.write(to: URL(fileURLWithPath: sentinel))
        // An old timestamp, so that any write (even of the same bytes) shows.
        var times = [timespec(tv_sec: 1_000_000_000, tv_nsec: 0), timespec(tv_sec: 1_000_000_000, tv_nsec: 0)]
        _ = utimensat(AT_FDCWD, sentinel, &times, 0)
    }

    func substitute(_ text: String) -> String { text.replacingOccurrences(of: "@TMP@", with: path) }

    func substitute(_ data: Data) -> Data {
        // Byte-wise, so that files that are not UTF-8 stay exactly as committed.
        let marker = Array("@TMP@".utf8), replacement = Array(path.utf8)
        let bytes = [UInt8](data)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var i = 0
        while i < bytes.count {
            if i + marker.count <= bytes.count && Array(bytes[i..<i + marker.count]) == marker {
                out += replacement
                i += marker.count
            } else {
                out.append(bytes[i])
                i += 1
            }
        }
        return Data(out)
    }

    /// Copies a corpus file into the scratch folder, `@TMP@` replaced; returns its name there.
    func place(_ corpusPath: String) throws -> String {
        let name = (corpusPath as NSString).lastPathComponent
        try substitute(Data(contentsOf: URL(fileURLWithPath: corpusPath))).write(to: URL(fileURLWithPath: "\(path)/\(name)"))
        return name
    }

    func sentinelIsIntact() -> Bool {
        var st = stat()
        guard stat(sentinel, &st) == 0, st.st_mtim.tv_sec == 1_000_000_000 else { return false }
        return FileManager.default.contents(atPath: sentinel) == CaseScratch.sentinelContents
    }

    func remove() { try? FileManager.default.removeItem(atPath: path) }
}

/// Paths outside the scratch folder that a case names: for each, the first part that does not
/// exist. None of them may exist after the run (writepath must not create folders or files there).
func missingOutsidePaths(in text: String, scratch: String) -> [String] {
    var found: [String] = []
    let pattern = try! NSRegularExpression(pattern: "/[A-Za-z0-9._/-]+")
    let ns = text as NSString
    for m in pattern.matches(in: text, range: NSRange(location: 0, length: ns.length)) {
        let p = ns.substring(with: m.range)
        if p.hasPrefix(scratch) { continue }
        var prefix = ""
        for part in p.split(separator: "/") {
            prefix += "/\(part)"
            if !FileManager.default.fileExists(atPath: prefix) {
                found.append(prefix)
                break
            }
        }
    }
    return found
}

/// Runs one bad input and checks everything the corpus promises.
func expectRejected(_ arguments: [String], expect: String, scratch: CaseScratch, caseText: String, label: String) throws {
    let packageRoot = URL(fileURLWithPath: Corpus.root).deletingLastPathComponent().deletingLastPathComponent().path
    let rootBefore = Set((try? FileManager.default.contentsOfDirectory(atPath: packageRoot)) ?? [])
    let outside = missingOutsidePaths(in: caseText, scratch: scratch.path)

    let r = try writepath(arguments, cwd: scratch.path, environment: ["TMPDIR": scratch.path], timeout: 60)

    let lines = r.stderr.split(separator: "\n", omittingEmptySubsequences: false).filter { !$0.isEmpty }
    #expect(r.status == 2, "\(label): exit \(r.status), stderr: \(r.stderr.prefix(500))")
    #expect(lines.count == 1 && r.stderr.hasSuffix("\n"), "\(label): not exactly one line on stderr: \(r.stderr.prefix(500))")
    #expect(r.stderr.hasPrefix("writepath: error: "), "\(label): \(r.stderr.prefix(500))")
    #expect(r.stderr.contains(expect), "\(label): expected '\(expect)' in: \(r.stderr.prefix(500))")
    #expect(r.stdout.isEmpty, "\(label): stdout: \(r.stdout.prefix(500))")
    for crash in ["Fatal error", "Stack dump", "Illegal instruction", "Segmentation fault", "backtrace", "Current stack trace"] {
        #expect(!r.stderr.contains(crash), "\(label): \(crash): \(r.stderr.prefix(500))")
    }
    #expect(scratch.sentinelIsIntact(), "\(label): the sentinel file next to the target was changed")
    for p in outside {
        #expect(!FileManager.default.fileExists(atPath: p), "\(label): created \(p) outside its scratch folder")
    }
    let rootAfter = Set((try? FileManager.default.contentsOfDirectory(atPath: packageRoot)) ?? [])
    #expect(
        rootAfter.subtracting(rootBefore).filter { !$0.hasPrefix(".") }.isEmpty,
        "\(label): created \(rootAfter.subtracting(rootBefore)) in the package folder")
}

@Suite("Bad-input corpus: exit 2, one line naming the problem, nothing created or changed", .serialized)
struct BadInputCorpusTests {
    @Test("the corpus has at least 60 cases, each naming its expected error")
    func corpusSize() throws {
        let all =
            Corpus.commandLineCases + Corpus.reportCommandLineCases + Corpus.jobFileCases + Corpus.matrixCases + Corpus.resultCases
            + Corpus.fioImportCases
        #expect(all.count >= 60, "only \(all.count) cases")
        for c in all { _ = try Corpus.expectation("\(Corpus.badInput)/\(c)") }
        #expect(try JSONFormat.parse(Data(contentsOf: URL(fileURLWithPath: Corpus.goodResult)), source: "good").runs.count == 1)
    }

    @Test("command lines", arguments: Corpus.commandLineCases)
    func commandLine(_ name: String) throws {
        try runArgumentsCase(name)
    }

    @Test("report and compare command lines", arguments: Corpus.reportCommandLineCases)
    func reportCommandLine(_ name: String) throws {
        try runArgumentsCase(name)
    }

    func runArgumentsCase(_ name: String) throws {
        let path = "\(Corpus.badInput)/\(name)"
        let scratch = try CaseScratch(name)
        defer { scratch.remove() }
        let text = try String(contentsOfFile: path, encoding: .utf8)
        let arguments = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            .filter { !$0.hasPrefix("# expect: ") }.dropLast(text.hasSuffix("\n") ? 1 : 0).map { scratch.substitute($0) }
        try expectRejected(
            arguments, expect: scratch.substitute(try Corpus.expectation(path)), scratch: scratch,
            caseText: scratch.substitute(text), label: name)
    }

    @Test("fio job files", arguments: Corpus.jobFileCases)
    func jobFile(_ name: String) throws {
        let scratch = try CaseScratch(name)
        defer { scratch.remove() }
        let path = "\(Corpus.badInput)/\(name)"
        let file = try scratch.place(path)
        try expectRejected(
            ["run", file], expect: scratch.substitute(try Corpus.expectation(path)), scratch: scratch,
            caseText: String(decoding: scratch.substitute(try Data(contentsOf: URL(fileURLWithPath: path))), as: UTF8.self), label: name)
    }

    @Test("matrix files", arguments: Corpus.matrixCases)
    func matrix(_ name: String) throws {
        let scratch = try CaseScratch(name)
        defer { scratch.remove() }
        let path = "\(Corpus.badInput)/\(name)"
        let file = try scratch.place(path)
        try expectRejected(
            ["run", "--matrix", file, "--results", "results", "--quiet"], expect: scratch.substitute(try Corpus.expectation(path)),
            scratch: scratch,
            caseText: String(decoding: scratch.substitute(try Data(contentsOf: URL(fileURLWithPath: path))), as: UTF8.self),
            label: name)
        #expect(!FileManager.default.fileExists(atPath: "\(scratch.path)/results"), "\(name): a rejected matrix made a results folder")
    }

    @Test("result files: the parser names the problem; report and compare reject them", arguments: Corpus.resultCases)
    func resultFile(_ name: String) throws {
        let path = "\(Corpus.badInput)/\(name)"
        let expect = try Corpus.expectation(path)
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        let source = (path as NSString).lastPathComponent
        do {
            _ = try JSONFormat.parse(data, source: source)
            Issue.record("\(name): parsed as a valid result document")
        } catch let error as WritePathError {
            #expect(error.exitCode == 2, "\(name): \(error)")
            #expect(error.description.contains(expect), "\(name): expected '\(expect)' in: \(error.description.prefix(500))")
            #expect(error.description.contains(source), "\(name): the message does not name the file: \(error.description.prefix(500))")
        }
        for arguments in [["report", source], ["compare", source, "good.json"], ["compare", "good.json", source]] {
            let scratch = try CaseScratch("\(name)-\(arguments[0])-\(arguments[1])")
            defer { scratch.remove() }
            _ = try scratch.place(path)
            try FileManager.default.copyItem(atPath: Corpus.goodResult, toPath: "\(scratch.path)/good.json")
            try expectRejected(
                arguments, expect: expect, scratch: scratch, caseText: "", label: "\(name): \(arguments.joined(separator: " "))")
        }
    }
}

extension BadInputCorpusTests {
    @Test("fio JSON for --import-fio: the importer names the problem; report rejects it", arguments: Corpus.fioImportCases)
    func fioImport(_ name: String) throws {
        let path = "\(Corpus.badInput)/\(name)"
        let expect = try Corpus.expectation(path)
        let scratch = try CaseScratch(name)
        defer { scratch.remove() }
        let file = try scratch.place(path)
        let host = HostInfo.probe()
        do {
            _ = try FioImport.document(
                paths: ["\(scratch.path)/\(file)"], layer: "fio", host: host,
                provenance: Provenance(version: "t", git_commit: "t", arguments: []))
            Issue.record("\(name): imported as valid fio output")
        } catch let error as WritePathError {
            #expect(error.exitCode == 2, "\(name): \(error)")
            #expect(error.description.contains(expect), "\(name): expected '\(expect)' in: \(error.description.prefix(500))")
        }
        try expectRejected(
            ["report", "--import-fio", file, "--output-dir", "report"], expect: expect, scratch: scratch,
            caseText: "", label: name)
        #expect(!FileManager.default.fileExists(atPath: "\(scratch.path)/report/report.html"), "\(name): a report was written")
    }
}

/// Inputs the fuzzers (scripts/fuzz.sh) found that once crashed a parser, kept so that they never
/// do again: each goes through the same calls as in its fuzz target, and must either get through
/// or be rejected with `invalidInput`.
@Suite("Fuzzer regressions parse or are rejected, never crash")
struct FuzzRegressionTests {
    static let root = "\(Corpus.root)/fuzz-regressions"

    static func files(_ folder: String) -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: "\(root)/\(folder)")) ?? []
        return names.filter { !$0.hasPrefix(".") }.sorted().map { "\(folder)/\($0)" }
    }

    static let all = files("jobfile") + files("matrix") + files("result")

    @Test("each regression input", arguments: all)
    func regression(_ name: String) throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: "\(Self.root)/\(name)"))
        do {
            switch name.split(separator: "/").first {
            case "jobfile": _ = try FioJobFile.parse(String(decoding: data, as: UTF8.self), path: "fuzz")
            case "matrix": _ = try MatrixSpec.parse(String(decoding: data, as: UTF8.self), source: "fuzz")
            default:
                // As the fuzz target does: a document that parses goes through report and compare.
                let document = try JSONFormat.parse(data, source: "fuzz")
                _ = try JSONFormat.render(document) + TextFormat.render(document) + CSVFormat.render(document)
                let input = ResultInput(sources: [ResultInput.Source(path: "fuzz", document: document)])
                let aggregation = Aggregation.aggregate(input)
                _ = TextReport.render(aggregation) + HTMLReport.render(aggregation) + CSVReport.render(aggregation)
                let comparison = Comparison.compare(baseline: input, current: input, threshold: 0.05, metrics: RunMetric.allCases)
                _ = CompareTextFormat.render(comparison) + JUnitFormat.render(comparison)
            }
        } catch let error as WritePathError {
            #expect(error.exitCode == 2, "\(name): \(error)")
            #expect(!error.description.contains("\n"), "\(name): a message of more than one line")
        }
    }
}
