#if canImport(Glibc)
import Glibc
#endif
import FuzzSupport
import WritePathEngine

/// One fuzz input: any bytes as a fio job file. Parsing must return workloads or throw
/// `WritePathError.invalidInput`; a trap (precondition, bounds, unwrap) is a bug the fuzzer reports.
func fuzzJobFile(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    guard let data else { return 0 }
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    do {
        for w in try FioJobFile.parse(text, path: "fuzz.fio") { try w.validate() }
    } catch let error as WritePathError {
        guard error.exitCode == 2 else { fatalError("not invalid input: \(error)") }
    } catch {
        fatalError("unexpected error type: \(error)")
    }
    return 0
}

@main
enum FuzzJobFileMain {
    static func main() {
        exit(runFuzzer { data, size in fuzzJobFile(data, size) })
    }
}
