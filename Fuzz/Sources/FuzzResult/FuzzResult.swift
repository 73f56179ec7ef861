#if canImport(Glibc)
import Glibc
#endif
import Foundation
import FuzzSupport
import WritePathEngine
import WritePathReport
import WritePathResult

/// One fuzz input: any bytes as a result file. Parsing must return a document or throw
/// `WritePathError.invalidInput`. A document that parses must then survive everything `report`
/// and `compare` do with it: histograms rebuilt from their buckets, aggregation, comparison with
/// itself, and every output format.
func fuzzResult(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    guard let data else { return 0 }
    let bytes = Data(bytes: data, count: size)
    let document: ResultDocument
    do {
        document = try JSONFormat.parse(bytes, source: "fuzz.json")
    } catch let error as WritePathError {
        guard error.exitCode == 2 else { fatalError("not invalid input: \(error)") }
        return 0
    } catch {
        fatalError("unexpected error type: \(error)")
    }
    do { _ = try JSONFormat.render(document) } catch { fatalError("a parsed document does not render: \(error)") }
    _ = TextFormat.render(document)
    _ = CSVFormat.render(document)
    let input = ResultInput(sources: [ResultInput.Source(path: "fuzz.json", document: document)])
    let aggregation = Aggregation.aggregate(input)
    _ = TextReport.render(aggregation)
    _ = CSVReport.render(aggregation)
    _ = CSVReport.renderRuns(input)
    _ = MarkdownReport.render(aggregation)
    _ = HTMLReport.render(aggregation)
    let comparison = Comparison.compare(baseline: input, current: input, threshold: 0.05, metrics: RunMetric.allCases)
    _ = CompareTextFormat.render(comparison)
    _ = MarkdownReport.render(comparison)
    _ = JUnitFormat.render(comparison)
    return 0
}

@main
enum FuzzResultMain {
    static func main() {
        exit(runFuzzer { data, size in fuzzResult(data, size) })
    }
}
