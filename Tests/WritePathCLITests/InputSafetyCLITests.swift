import Foundation
import Testing
import WritePathTestSupport

#if canImport(Glibc)
    import Glibc
#endif

/// Issue 12, through the built binary: where the target lands, what job files mean, crafted state files.
@Suite("Inputs as fio reads them, and crafted ones", .serialized)
struct InputSafetyCLITests {
    @Test("--directory D --filename data.bin writes D/data.bin, and a data.bin in the current folder is left as it was")
    func directoryWithRelativeFilename() throws {
        let dir = scratch("dirfile")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.createDirectory(atPath: "\(dir)/D", withIntermediateDirectories: true)
        let precious = Data("the user's data.bin in the current folder\n".utf8)
        FileManager.default.createFile(atPath: "\(dir)/data.bin", contents: precious)
        let r = try writepath(["run", "--directory", "D", "--filename", "data.bin", "--size", "1m", "--output-format", "json"], cwd: dir)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(FileManager.default.contents(atPath: "\(dir)/data.bin") == precious)
        let size = (try? FileManager.default.attributesOfItem(atPath: "\(dir)/D/data.bin")[.size] as? Int) ?? nil
        #expect(size == 1 << 20)
        #expect(r.stdout.contains("\"path\" : \"D/data.bin\"") || r.stdout.contains("\"path\":\"D/data.bin\""), "\(r.stdout.prefix(2000))")
    }

    @Test("a job file's filename=.../run#1.dat keeps its #, and ${VAR} expands from the environment")
    func jobFileHashAndVariables() throws {
        let dir = scratch("jobhash")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try "; a comment\n[j]\n  # another\nfilename=${WP_T_DIR}/run#1.dat\nsize=1m\n"
            .write(toFile: "\(dir)/j.fio", atomically: true, encoding: .utf8)
        let r = try writepath(["run", "j.fio", "--quiet"], cwd: dir, environment: ["WP_T_DIR": dir])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(FileManager.default.fileExists(atPath: "\(dir)/run#1.dat"))
        #expect(!FileManager.default.fileExists(atPath: "\(dir)/run"))
        #expect(!FileManager.default.fileExists(atPath: "\(dir)/${WP_T_DIR}"))
    }

    @Test("- and /dev/stdin read a job file or a matrix from standard input, as fio reads -", arguments: ["-", "/dev/stdin"])
    func standardInput(name: String) throws {
        let dir = scratch("stdin")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try "[j]\nfilename=\(dir)/s.dat\nsize=1m\n".write(toFile: "\(dir)/j.fio", atomically: true, encoding: .utf8)
        let r = try runProcess(binary, ["run", name, "--quiet"], cwd: dir, standardInput: "\(dir)/j.fio")
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("j: rw=write"))
        try "layers: [{name: host, directory: \(dir)}]\nworkloads: [{name: m, size: 64k}]\nrepetitions: 1\n"
            .write(toFile: "\(dir)/m.yaml", atomically: true, encoding: .utf8)
        let m = try runProcess(binary, ["run", "--matrix", name, "--results", "R", "--quiet"], cwd: dir, standardInput: "\(dir)/m.yaml")
        #expect(m.status == 0, "\(m.stderr)")
        #expect(m.stdout.contains("1 runs, 0 not ok"), "\(m.stdout)")
    }

    @Test("verify with a crafted 56-byte state file claiming 2^39 blocks exits 2 with one line, not a crash")
    func craftedStateFile() throws {
        let dir = scratch("crafted-state")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let made = try writepath(["run", "--filename", "\(dir)/t.dat", "--size", "1m", "--quiet"])
        #expect(made.status == 0, "\(made.stderr)")
        var data = Data()
        for w: UInt64 in [0x3254_5453_5650_5057, 4096, 0, 1 << 39, 1, 0, 1] {
            withUnsafeBytes(of: w.littleEndian) { data.append(contentsOf: $0) }
        }
        FileManager.default.createFile(atPath: "\(dir)/t.dat.wpverify", contents: data)
        let r = try writepath(["verify", "--filename", "\(dir)/t.dat"], timeout: 60)
        #expect(r.status == 2, "exit \(r.status): \(r.stderr)")
        #expect(r.stderr.split(separator: "\n").count == 1)
        #expect(r.stderr.contains("claims 549755813888 blocks"), "\(r.stderr)")
    }

    @Test("a job name's control characters are escaped in the text output")
    func controlCharactersEscaped() throws {
        let dir = scratch("ctrl-name")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let r = try writepath(["run", "--name", "x\u{1B}[2J\u{1B}]0;t\u{07}\ry", "--filename", "\(dir)/t.dat", "--size", "1m", "--quiet"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(!r.stdout.unicodeScalars.contains { $0.value < 0x20 && $0 != "\n" }, "\(r.stdout.debugDescription)")
        #expect(r.stdout.contains("x\\u{1B}[2J"))
    }
}
