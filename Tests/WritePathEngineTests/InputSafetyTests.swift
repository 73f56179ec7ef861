import Foundation
import Testing

@testable import WritePathEngine

#if canImport(Glibc)
    import Glibc
#endif

/// Inputs as fio reads them, and inputs crafted to break writepath (issue 12).
@Suite("Job-file syntax, target paths and state files as fio and a hostile user write them")
struct InputSafetyTests {
    @Test("# and ; start a comment at the start of a line or after a blank: filename=/mnt/t/run#1.dat keeps its #")
    func commentsOnlyAtLineStart() throws {
        let text = "# a comment\n[j]\n  ; an indented comment\nfilename=/mnt/t/run#1.dat\n\t# another\nsize=1m # a trailing one\n"
        let jobs = try FioJobFile.parse(text, path: "j.fio")
        #expect(jobs.count == 1)
        #expect(jobs[0].filename == "/mnt/t/run#1.dat")
        #expect(jobs[0].size == 1 << 20)
    }

    @Test("${VAR} expands from the environment; fio's $ncpus, $mb_memory and $pagesize expand to this host's values")
    func environmentExpansion() throws {
        let text = "[j]\nfilename=${WPX}/run-${WPY}.dat\nsize=$pagesize\nbs=$pagesize\nnumjobs=$ncpus\n"
        let jobs = try FioJobFile.parse(text, path: "j.fio", environment: ["WPX": "/mnt/t", "WPY": "a b"])
        #expect(jobs[0].filename == "/mnt/t/run-a b.dat")
        #expect(jobs[0].size == UInt64(sysconf(Int32(_SC_PAGESIZE))))
        #expect(jobs[0].numjobs == Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
        let mb = try FioJobFile.expand("x=$mb_memory", environment: [:], at: "t")
        #expect(mb == "x=\(UInt64(sysconf(Int32(_SC_PHYS_PAGES))) * UInt64(sysconf(Int32(_SC_PAGESIZE))) >> 20)")
        // Text that only looks like a variable stays as it is.
        #expect(try FioJobFile.expand("a=${}b$x{", environment: [:], at: "t") == "a=${}b$x{")
    }

    @Test("an unset ${VAR} is refused naming it (fio would silently put nothing there)")
    func unsetVariable() {
        #expect {
            _ = try FioJobFile.parse("[j]\nfilename=${WP_SURELY_UNSET}/x.dat\nsize=1m\n", path: "j.fio", environment: [:])
        } throws: { error in
            guard case let WritePathError.invalidInput(field, message) = error else { return false }
            return field == "j.fio:2" && message.contains("${WP_SURELY_UNSET} is not set")
        }
    }

    @Test("--directory D --filename data.bin is D/data.bin, as in fio; an absolute filename with a directory is refused")
    func directoryAndFilename() throws {
        var w = Workload()
        w.directory = "/mnt/d"
        w.filename = "data.bin"
        #expect(Target.path(for: w, jobIndex: 0) == "/mnt/d/data.bin")
        w.directory = "/mnt/d/"
        #expect(Target.path(for: w, jobIndex: 0) == "/mnt/d/data.bin")
        w.directory = nil
        #expect(Target.path(for: w, jobIndex: 0) == "data.bin")
        w.filename = "/abs/data.bin"
        #expect(Target.path(for: w, jobIndex: 0) == "/abs/data.bin")
        w.directory = "/mnt/d"
        #expect(throws: WritePathError.self) { try w.validate() }
    }

    @Test("a crafted .wpverify claiming 2^39 blocks is refused before anything is allocated")
    func craftedStateFile() throws {
        let dir = scratchFolder("wpverify", base: "/dev/shm")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        func write(_ words: [UInt64], extra: Int = 0) -> String {
            let path = "\(dir)/s\(words[3]).wpverify"
            var data = Data()
            for w in words { withUnsafeBytes(of: w.littleEndian) { data.append(contentsOf: $0) } }
            data.append(Data(count: extra))
            FileManager.default.createFile(atPath: path, contents: data)
            return path
        }
        let magic: UInt64 = 0x3254_5453_5650_5057
        let huge = write([magic, 4096, 0, 1 << 39, 1, 0, 1])
        #expect { _ = try VerifyState.load(from: huge) } throws: { e in
            "\(e)".contains("claims 549755813888 blocks")
        }
        // Counts that fit the file but not the target.
        let big = write([magic, 4096, 0, 1024, 1, 0, 1], extra: 1024 * 8)
        #expect(try VerifyState.load(from: big).latest.count == 1024)
        #expect { _ = try VerifyState.load(from: big, targetBytes: 1 << 20) } throws: { e in
            "\(e)".contains("beyond the target's 1048576 bytes")
        }
        #expect(try VerifyState.load(from: big, targetBytes: 4 << 20).latest.count == 1024)
        // Offset + blocks × bs that overflows.
        let overflow = write([magic, 1 << 30, UInt64.max - 10, 8, 1, 0, 1], extra: 64)
        #expect(throws: WritePathError.self) { _ = try VerifyState.load(from: overflow, targetBytes: 1 << 20) }
    }

    @Test("control characters in data shown on a terminal are escaped")
    func printableText() {
        #expect(printable("a\u{1B}[2Jb\rc") == "a\\u{1B}[2Jb\\rc")
        #expect(printable("plain name") == "plain name")
        #expect(printableLines("x\u{1B}]0;t\u{07}\ny\n") == "x\\u{1B}]0;t\\u{07}\ny\n")
    }
}
