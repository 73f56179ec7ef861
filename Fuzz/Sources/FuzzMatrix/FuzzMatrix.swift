#if canImport(Glibc)
import Glibc
#endif
import FuzzSupport
import WritePathEngine
import WritePathRunner

/// One fuzz input: any bytes as a matrix file. Parsing must return a spec or throw
/// `WritePathError.invalidInput`; the spec must also survive its own YAML round trip (`--resume`).
func fuzzMatrix(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    guard let data else { return 0 }
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    do {
        let spec = try MatrixSpec.parse(text, source: "fuzz.yaml")
        // What --resume reads back must parse to the same matrix.
        let again = try MatrixSpec.parse(spec.yaml, source: "matrix.yaml")
        guard again == spec else { fatalError("matrix.yaml does not round-trip:\n\(spec.yaml)") }
    } catch let error as WritePathError {
        guard error.exitCode == 2 else { fatalError("not invalid input: \(error)") }
    } catch {
        fatalError("unexpected error type: \(error)")
    }
    return 0
}

@main
enum FuzzMatrixMain {
    static func main() {
        exit(runFuzzer { data, size in fuzzMatrix(data, size) })
    }
}
