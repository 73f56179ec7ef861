#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Testing
import WritePathTestSupport

/// A folder holding files and folders the user had, made before writepath runs and checked after.
struct UserFiles {
    let path: String
    var files: [String: String] = [:]

    init(_ name: String) throws {
        path = "/var/tmp/writepath-userfiles-\(name)-\(getpid())"
        try? FileManager.default.removeItem(atPath: path)
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    /// Makes `relative` (and its folders) holding `contents`.
    mutating func add(_ relative: String, _ contents: String = "precious\n") throws {
        let full = "\(path)/\(relative)"
        try FileManager.default.createDirectory(atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try contents.write(toFile: full, atomically: false, encoding: .utf8)
        files[relative] = contents
    }

    /// The user's files that are gone or changed.
    var damaged: [String] {
        files.keys.sorted().filter { (try? String(contentsOfFile: "\(path)/\($0)", encoding: .utf8)) != files[$0] }
    }

    /// Names in `relative` that are not the user's.
    func strangers(in relative: String = "") -> [String] {
        let dir = relative.isEmpty ? path : "\(path)/\(relative)"
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []
        return names.filter { n in !files.keys.contains { $0 == (relative.isEmpty ? n : "\(relative)/\(n)") || $0.hasPrefix((relative.isEmpty ? n : "\(relative)/\(n)") + "/") } }
    }

    func remove() { try? FileManager.default.removeItem(atPath: path) }
}

/// Starts `writepath arguments` in `cwd` and returns its pid.
func start(_ arguments: [String], cwd: String) throws -> Process {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: binary)
    p.arguments = arguments
    p.currentDirectoryURL = URL(fileURLWithPath: cwd)
    p.standardOutput = FileHandle.nullDevice
    p.standardError = FileHandle.nullDevice
    p.standardInput = FileHandle.nullDevice
    try p.run()
    return p
}

@Suite("Issue 12: nothing the user had is removed or replaced", .serialized)
struct DataSafetyTests {
    @Test("sweep --resume .. (from runs/) leaves the folder above the scratch folder as it was")
    func sweepResumeDotDot() throws {
        var user = try UserFiles("sweep-resume")
        defer { user.remove() }
        try user.add("X/keep.txt")
        try FileManager.default.createDirectory(atPath: "\(user.path)/X/inner", withIntermediateDirectories: true)
        let p = try start(["sweep", "--layer", "host", "--sweep", "iodepth=1,2,4,8", "--runtime", "1", "--size", "1m",
                           "--scratch", "\(user.path)/X/inner", "--results", "\(user.path)/R"], cwd: user.path)
        Thread.sleep(forTimeInterval: 2)
        kill(p.processIdentifier, SIGINT)
        p.waitUntilExit()
        #expect(p.terminationStatus == 130)
        let run = try #require(try FileManager.default.contentsOfDirectory(atPath: "\(user.path)/R").first)
        let r = try writepath(["sweep", "--resume", "..", "--scratch", "\(user.path)/X/inner", "--quiet"], cwd: "\(user.path)/R/\(run)/runs",
                              timeout: 120)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(user.damaged.isEmpty, "lost: \(user.damaged)")
        #expect(FileManager.default.fileExists(atPath: "\(user.path)/X/inner"))
        #expect(user.strangers(in: "X/inner").isEmpty, "scratch left behind: \(user.strangers(in: "X/inner"))")
    }

    @Test("a host matrix whose target is the user's file refuses it and leaves the file (and a folder of that name) as it was")
    func hostMatrixRefusedTarget() throws {
        var user = try UserFiles("host-refused")
        defer { user.remove() }
        try user.add("b/w.0.0")
        try user.add("c/w.0.0/inside.txt")
        let matrix = """
            layers: [{name: host, directory: \(user.path)/b}, {name: host, directory: \(user.path)/c}]
            workloads: [{name: w, size: 64k}]
            repetitions: 1
            """
        try matrix.write(toFile: "\(user.path)/m.yaml", atomically: false, encoding: .utf8)
        let r = try writepath(["run", "--matrix", "m.yaml", "--results", "results", "--quiet", "--output-format", "json"], cwd: user.path,
                              timeout: 120)
        #expect(r.status == 1, "\(r.stderr)")
        #expect(r.stdout.contains("not created by writepath"))
        #expect(user.damaged.isEmpty, "lost: \(user.damaged)")
    }

    @Test("sweep --layer host:directory=D whose job.0.0 is the user's file leaves it as it was")
    func hostSweepRefusedTarget() throws {
        var user = try UserFiles("host-sweep-refused")
        defer { user.remove() }
        try user.add("b/job.0.0")
        let r = try writepath(["sweep", "--layer", "host:directory=\(user.path)/b", "--sweep", "iodepth=1,2", "--runtime", "0.5",
                               "--size", "64k", "--results", "\(user.path)/results", "--quiet"], cwd: user.path, timeout: 120)
        #expect(r.status != 0)
        #expect(user.damaged.isEmpty, "lost: \(user.damaged)")
    }

    @Test("when job 2's target is the user's file, the file made for job 1 is not left behind")
    func laterJobRefused() throws {
        var user = try UserFiles("later-job")
        defer { user.remove() }
        try user.add("d/w.1.0")
        let r = try writepath(["run", "--name=w", "--numjobs=2", "--size=64k", "--directory=\(user.path)/d"], cwd: user.path, timeout: 60)
        #expect(r.status == 2, "\(r.stderr)")
        #expect(r.stderr.contains("not created by writepath"))
        #expect(user.damaged.isEmpty, "lost: \(user.damaged)")
        #expect(user.strangers(in: "d").isEmpty, "left behind: \(user.strangers(in: "d"))")
    }

    @Test("a host matrix with verify leaves no .wpverify files in its directory")
    func hostMatrixVerifyLeavesNothing() throws {
        var user = try UserFiles("host-verify")
        defer { user.remove() }
        try user.add("d/notes.txt")
        let matrix = """
            layers: [{name: host, directory: \(user.path)/d}]
            workloads: [{name: v, rw: write, bs: 4k, size: 256k, verify: crc32c}]
            repetitions: 1
            """
        try matrix.write(toFile: "\(user.path)/m.yaml", atomically: false, encoding: .utf8)
        let r = try writepath(["run", "--matrix", "m.yaml", "--results", "results", "--quiet"], cwd: user.path, timeout: 120)
        #expect(r.status == 0, "\(r.stderr) \(r.stdout)")
        #expect(user.damaged.isEmpty)
        #expect(user.strangers(in: "d").isEmpty, "left behind: \(user.strangers(in: "d"))")
    }

    @Test("--verify refuses to replace an unrelated <target>.wpverify, before measuring")
    func verifyStateNotOverwritten() throws {
        var user = try UserFiles("verify-state")
        defer { user.remove() }
        try user.add("t.dat.wpverify", "my own file that happens to have this name\n")
        let r = try writepath(["run", "--filename=\(user.path)/t.dat", "--size=256k", "--verify=crc32c", "--rw=write"], cwd: user.path,
                              timeout: 60)
        #expect(r.status == 2, "\(r.stderr)")
        #expect(r.stderr.contains("t.dat.wpverify") && r.stderr.split(separator: "\n").count == 1, "\(r.stderr)")
        #expect(user.damaged.isEmpty, "lost: \(user.damaged)")
        #expect(!FileManager.default.fileExists(atPath: "\(user.path)/t.dat"), "the target made for the refused run stayed")
    }
}
