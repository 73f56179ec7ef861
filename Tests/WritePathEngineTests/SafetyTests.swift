import Foundation
import Testing
import WritePathTestSupport

@testable import WritePathEngine

#if canImport(Glibc)
    import Glibc
#endif

@Suite("Target safety and alignment", .serialized)
struct SafetyTests {
    @Test("an existing file writepath did not create is refused unless --overwrite")
    func existingFile() throws {
        let dir = scratchFolder("safety")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = "\(dir)/precious.dat"
        let data = Data(repeating: 0xAB, count: 1 << 20)
        FileManager.default.createFile(atPath: path, contents: data)
        var w = Workload()
        w.filename = path
        w.size = 1 << 20
        do {
            _ = try WorkloadRun(workload: w).execute()
            Issue.record("wrote over a file it did not create")
        } catch let e as WritePathError {
            #expect(e.exitCode == 2)
            #expect(e.description.contains("--overwrite"))
        }
        #expect(FileManager.default.contents(atPath: path) == data, "the file was changed")
        let result = try WorkloadRun(workload: w, safety: SafetyOptions(overwrite: true)).execute()
        #expect(result.error == nil)
    }

    @Test("a file writepath created is reused without --overwrite")
    func reuse() throws {
        let dir = scratchFolder("reuse")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var w = Workload()
        w.filename = "\(dir)/mine.dat"
        w.size = 1 << 20
        #expect(try WorkloadRun(workload: w).execute().target?.created == true)
        #expect(try WorkloadRun(workload: w).execute().target?.created == false)
    }

    @Test("bs, offset and size that break O_DIRECT alignment are invalid input")
    func alignment() throws {
        let dir = scratchFolder("align")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        for (key, value) in [("bs", "1000"), ("offset", "100"), ("size", "1000000")] {
            var w = Workload()
            w.filename = "\(dir)/a.dat"
            w.size = 1 << 20
            try w.set(key, value)
            do {
                _ = try WorkloadRun(workload: w).execute()
                Issue.record("\(key)=\(value) was accepted")
            } catch let e as WritePathError {
                #expect(e.exitCode == 2)
                #expect(e.description.hasPrefix("invalid \(key):"), "\(e)")
                #expect(e.description.contains("O_DIRECT"))
            }
        }
        // Buffered I/O has no alignment rule.
        var w = Workload()
        w.filename = "\(dir)/b.dat"
        w.size = 1_000_000
        w.bs = 1000
        w.direct = false
        #expect(try WorkloadRun(workload: w).execute().write?.ios == 1000)
    }
}

/// Runs a program and returns its standard output; throws when it exits non-zero.
func shell(_ arguments: String...) throws -> String {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    p.arguments = arguments
    let pipe = Pipe()
    p.standardOutput = pipe
    p.standardError = FileHandle.nullDevice
    try p.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    guard p.terminationStatus == 0 else { throw WritePathError.system(call: arguments[0], path: "", errno: EIO, hint: "") }
    return String(decoding: data, as: UTF8.self)
}
