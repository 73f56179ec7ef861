import FuzzSupport
import Foundation
import WritePathEngine
import WritePathReport

/// One fuzz input: any bytes as a result file. Parsing must return a document or throw
/// `WritePathError.invalidInput`; a parsed document must render back to JSON.
func fuzzResult(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    guard let data else { return 0 }
    let bytes = Data(bytes: data, count: size)
    do {
        let document = try JSONFormat.parse(bytes, source: "fuzz.json")
        _ = try JSONFormat.render(document)
    } catch let error as WritePathError {
        guard error.exitCode == 2 else { fatalError("not invalid input: \(error)") }
    } catch {
        fatalError("unexpected error type: \(error)")
    }
    return 0
}

@main
enum FuzzResultMain {
    static func main() {
        exit(runFuzzer { data, size in fuzzResult(data, size) })
    }
}
