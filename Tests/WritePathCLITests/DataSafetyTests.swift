import Foundation
import Testing
import WritePathTestSupport

#if canImport(Glibc)
    import Glibc
#endif

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
        return names.filter { n in
            !files.keys.contains {
                $0 == (relative.isEmpty ? n : "\(relative)/\(n)") || $0.hasPrefix((relative.isEmpty ? n : "\(relative)/\(n)") + "/")
            }
        }
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
        let p = try start(
            [
                "sweep", "--layer", "host", "--sweep", "iodepth=1,2,4,8", "--runtime", "1", "--size", "1m",
                "--scratch", "\(user.path)/X/inner", "--results", "\(user.path)/R",
            ], cwd: user.path)
        Thread.sleep(forTimeInterval: 2)
        kill(p.processIdentifier, SIGINT)
        p.waitUntilExit()
        #expect(p.terminationStatus == 130)
        let run = try #require(try FileManager.default.contentsOfDirectory(atPath: "\(user.path)/R").first)
        let r = try writepath(
            ["sweep", "--resume", "..", "--scratch", "\(user.path)/X/inner", "--quiet"], cwd: "\(user.path)/R/\(run)/runs",
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
        let r = try writepath(
            ["run", "--matrix", "m.yaml", "--results", "results", "--quiet", "--output-format", "json"], cwd: user.path,
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
        let r = try writepath(
            [
                "sweep", "--layer", "host:directory=\(user.path)/b", "--sweep", "iodepth=1,2", "--runtime", "0.5",
                "--size", "64k", "--results", "\(user.path)/results", "--quiet",
            ], cwd: user.path, timeout: 120)
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
        let r = try writepath(
            ["run", "--filename=\(user.path)/t.dat", "--size=256k", "--verify=crc32c", "--rw=write"], cwd: user.path,
            timeout: 60)
        #expect(r.status == 2, "\(r.stderr)")
        #expect(r.stderr.contains("t.dat.wpverify") && r.stderr.split(separator: "\n").count == 1, "\(r.stderr)")
        #expect(user.damaged.isEmpty, "lost: \(user.damaged)")
        #expect(!FileManager.default.fileExists(atPath: "\(user.path)/t.dat"), "the target made for the refused run stayed")
    }
}

/// Whether this process may make device nodes and mounts (root).
let isRoot = getuid() == 0

/// The file type of `path` itself (a symlink is not followed): `S_IFCHR`, `S_IFLNK`, ...
func fileType(_ path: String) -> mode_t? {
    var st = stat()
    return lstat(path, &st) == 0 ? st.st_mode & S_IFMT : nil
}

@Suite("Issue 12: output files are written, never replaced by something else", .serialized)
struct OutputFileSafetyTests {
    @Test("--output to a character device node writes to it and leaves the node a device", Precondition.root.trait)
    func outputDeviceNode() throws {
        let user = try UserFiles("output-node")
        defer { user.remove() }
        #expect(mknod("\(user.path)/null", S_IFCHR | 0o666, 0x103 /* 1:3, /dev/null */) == 0)
        let r = try writepath(
            ["run", "--filename=\(user.path)/t.dat", "--size=1m", "--output-format=json", "--output=./null"], cwd: user.path,
            timeout: 60)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(fileType("\(user.path)/null") == S_IFCHR, "./null is no longer a character device")
    }

    @Test("--output to a symlink writes through it: the link stays, its target gets the result")
    func outputSymlink() throws {
        var user = try UserFiles("output-link")
        defer { user.remove() }
        try user.add("real.json", "old\n")
        user.files["real.json"] = nil  // it is meant to be written
        #expect(symlink("real.json", "\(user.path)/link.json") == 0)
        let r = try writepath(
            ["run", "--filename=\(user.path)/t.dat", "--size=1m", "--output-format=json", "--output=link.json"], cwd: user.path,
            timeout: 60)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(fileType("\(user.path)/link.json") == S_IFLNK)
        #expect((try? String(contentsOfFile: "\(user.path)/real.json", encoding: .utf8))?.contains("\"runs\"") == true)
    }

    @Test("--output to a symlink to the process's stdout prints the result and leaves the link")
    func outputStdoutLink() throws {
        let user = try UserFiles("output-stdout")
        defer { user.remove() }
        #expect(symlink("/proc/self/fd/1", "\(user.path)/out") == 0)
        let r = try writepath(
            ["run", "--filename=\(user.path)/t.dat", "--size=1m", "--output-format=json", "--output=out"], cwd: user.path,
            timeout: 60)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("\"runs\""))
        #expect(fileType("\(user.path)/out") == S_IFLNK)
    }

    @Test("compare --markdown and --junit to device nodes leave them devices", Precondition.root.trait)
    func compareDeviceNodes() throws {
        let user = try UserFiles("compare-node")
        defer { user.remove() }
        let good = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent(
            "Corpus/good/result.json"
        ).path
        #expect(mknod("\(user.path)/md", S_IFCHR | 0o666, 0x103 /* 1:3, /dev/null */) == 0)
        #expect(mknod("\(user.path)/ju", S_IFCHR | 0o666, 0x103 /* 1:3, /dev/null */) == 0)
        let r = try writepath(["compare", good, good, "--markdown", "md", "--junit", "ju"], cwd: user.path, timeout: 60)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(fileType("\(user.path)/md") == S_IFCHR && fileType("\(user.path)/ju") == S_IFCHR)
    }

    @Test(
        "--output to a block device node or a folder is refused before measuring (exit 2, one line)",
        Precondition.root.trait)
    func outputBlockDeviceRefused() throws {
        let user = try UserFiles("output-blk")
        defer { user.remove() }
        // A node of a loop device that does not exist: even a broken check could not write a disk.
        #expect(mknod("\(user.path)/blk", S_IFBLK | 0o600, 0x7FA /* 7:250 */) == 0)
        for out in [user.path, "blk"] {
            let r = try writepath(["run", "--filename=\(user.path)/t.dat", "--size=1m", "--output=\(out)"], cwd: user.path, timeout: 60)
            #expect(r.status == 2 && r.stderr.contains("invalid output") && r.stderr.split(separator: "\n").count == 1, "\(r.stderr)")
            #expect(!FileManager.default.fileExists(atPath: "\(user.path)/t.dat"), "it measured before refusing")
        }
        #expect(fileType("\(user.path)/blk") == S_IFBLK)
    }

    @Test(
        "an unwritable --output or --results folder is refused before measuring",
        Precondition.root.trait)
    func unwritableFolder() throws {
        let user = try UserFiles("output-ro")
        defer { user.remove() }
        let ro = "\(user.path)/ro"
        try FileManager.default.createDirectory(atPath: ro, withIntermediateDirectories: true)
        #expect(mount("tmpfs", ro, "tmpfs", UInt(MS_RDONLY), "size=1m") == 0, "mount: \(errno)")
        defer { umount(ro) }
        for args in [["--output=\(ro)/out.json"], ["--results=\(ro)"]] {
            let started = Date()
            let r = try writepath(
                ["run", "--filename=\(user.path)/t.dat", "--size=1m", "--runtime=3", "--time_based"] + args, cwd: user.path,
                timeout: 60)
            #expect(r.status == 2 && r.stderr.contains("EROFS") && r.stderr.split(separator: "\n").count == 1, "\(args): \(r.stderr)")
            #expect(Date().timeIntervalSince(started) < 2.5, "\(args): it measured before refusing")
        }
    }

    @Test("a result that cannot be written after measuring is kept elsewhere, and stderr says where")
    func lateFailureKeepsResult() throws {
        let user = try UserFiles("output-late")
        defer { user.remove() }
        #expect(symlink("/dev/full", "\(user.path)/full") == 0)
        let r = try writepath(
            ["run", "--filename=\(user.path)/t.dat", "--size=1m", "--output-format=json", "--output=full"], cwd: user.path,
            environment: ["TMPDIR": user.path], timeout: 60)
        #expect(r.status == 1, "\(r.stderr)")
        let kept = try #require(
            r.stderr.components(separatedBy: "the result is kept in ").last?.trimmingCharacters(in: .whitespacesAndNewlines))
        #expect(kept.hasPrefix(user.path), "\(r.stderr)")
        #expect((try? String(contentsOfFile: kept, encoding: .utf8))?.contains("\"runs\"") == true, "\(r.stderr)")
    }
}

@Suite("Issue 12: every result is kept", .serialized)
struct ResultFileTests {
    @Test("a run with --results never replaces the file of another run of the same second")
    func sameSecond() throws {
        var user = try UserFiles("same-second")
        defer { user.remove() }
        // The names the run could pick in the next 20 seconds, taken by earlier results.
        var u = utsname()
        uname(&u)
        let host = withUnsafePointer(to: u.nodename) { $0.withMemoryRebound(to: CChar.self, capacity: 65) { String(cString: $0) } }
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "UTC")
        f.dateFormat = "yyyyMMdd'T'HHmmss'Z'"
        let now = Date()
        for s in 0..<20 {
            try user.add("R/\(f.string(from: now.addingTimeInterval(Double(s))))-\(host.replacingOccurrences(of: "/", with: "_")).json")
        }
        let r = try writepath(
            ["run", "--ioengine=null", "--filename=\(user.path)/t.dat", "--size=64k", "--results=R"], cwd: user.path,
            timeout: 60)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(user.damaged.isEmpty, "replaced: \(user.damaged)")
        let new = user.strangers(in: "R")
        #expect(new.count == 1 && r.stderr.contains("results: R/\(new.first ?? "?")"), "\(new) \(r.stderr)")
    }
}

extension ResultFileTests {
    static let canSetHostname =
        isRoot && FileManager.default.isExecutableFile(atPath: "/usr/bin/unshare")
        && FileManager.default.isExecutableFile(atPath: "/usr/bin/python3")

    @Test(
        "a host name with / still gives a results file in --results (run) and a run folder (matrix)",
        Precondition.utsNamespace.trait)
    func hostNameWithSlash() throws {
        var user = try UserFiles("host-slash")
        defer { user.remove() }
        try user.add("m.yaml", "layers: [host]\nworkloads: [{name: w, size: 64k}]\nrepetitions: 1\n")
        let setHost = "import socket,os,sys; socket.sethostname('we/ird'); os.execv(sys.argv[1], sys.argv[1:])"
        let run = try runProcess(
            "/usr/bin/unshare",
            [
                "-u", "/usr/bin/python3", "-c", setHost, binary, "run", "--filename=\(user.path)/t.dat",
                "--size=64k", "--results=R",
            ], cwd: user.path, timeout: 60)
        #expect(run.status == 0, "\(run.stderr)")
        #expect(
            user.strangers(in: "R").count == 1 && user.strangers(in: "R").first?.hasSuffix("we_ird.json") == true,
            "\(user.strangers(in: "R"))")
        let matrix = try runProcess(
            "/usr/bin/unshare",
            [
                "-u", "/usr/bin/python3", "-c", setHost, binary, "run", "--matrix=m.yaml",
                "--results=M", "--quiet",
            ], cwd: user.path, timeout: 60)
        #expect(matrix.status == 0, "\(matrix.stderr)")
        let folder = user.strangers(in: "M").first ?? "?"
        #expect(FileManager.default.fileExists(atPath: "\(user.path)/M/\(folder)/run.json"), "\(folder)")
    }
}

@Suite("Issue 12: failures say what happened on stderr", .serialized)
struct FailureMessageTests {
    @Test("a dangling symlink as --filename is named as such (exit 2), and its destination is not created")
    func danglingSymlink() throws {
        let user = try UserFiles("dangling")
        defer { user.remove() }
        #expect(symlink("\(user.path)/nowhere.dat", "\(user.path)/link.dat") == 0)
        let r = try writepath(["run", "--size=64k", "--filename=\(user.path)/link.dat"], cwd: user.path, timeout: 60)
        #expect(r.status == 2 && r.stderr.contains("dangling symlink") && r.stderr.split(separator: "\n").count == 1, "\(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: "\(user.path)/nowhere.dat"))
    }

    @Test(
        "a full filesystem (ENOSPC) during the run: exit 1 and the error on stderr, not only in the JSON",
        Precondition.root.trait)
    func enospcOnStderr() throws {
        let user = try UserFiles("enospc")
        defer { user.remove() }
        let small = "\(user.path)/small"
        try FileManager.default.createDirectory(atPath: small, withIntermediateDirectories: true)
        #expect(mount("tmpfs", small, "tmpfs", 0, "size=1m") == 0, "mount: \(errno)")
        defer { umount(small) }
        let r = try writepath(
            [
                "run", "--size=4m", "--rw=write", "--bs=64k", "--direct=0", "--fallocate=none", "--filename=\(small)/t.dat",
                "--output-format=json",
            ], cwd: user.path, timeout: 60)
        #expect(r.status == 1, "\(r.stderr)")
        #expect(r.stderr.contains("ENOSPC"), "\(r.stderr)")
        #expect(r.stdout.contains("ENOSPC"))
    }
}

@Suite("Issue 12: matrix run folders", .serialized)
struct MatrixFolderTests {
    @Test("run --resume DIR --matrix with another matrix is refused (exit 2, one line) and DIR is left as it was")
    func resumeWithOtherMatrix() throws {
        var user = try UserFiles("resume-other")
        defer { user.remove() }
        try user.add("m.yaml", "layers: [host]\nworkloads: [{name: w, size: 64k}]\nrepetitions: 1\n")
        try user.add("other.yaml", "layers: [host]\nworkloads: [{name: other, size: 128k}]\nrepetitions: 2\n")
        let first = try writepath(["run", "--matrix", "m.yaml", "--results", "R", "--quiet"], cwd: user.path, timeout: 60)
        #expect(first.status == 0, "\(first.stderr)")
        let dir = "R/" + (user.strangers(in: "R").first ?? "?")
        let before = FileManager.default.contents(atPath: "\(user.path)/\(dir)/run.json")
        let r = try writepath(["run", "--resume", dir, "--matrix", "other.yaml", "--quiet"], cwd: user.path, timeout: 60)
        #expect(r.status == 2, "\(r.stderr)")
        #expect(
            r.stderr.contains("invalid matrix") && r.stderr.contains("workloads, repetitions differ")
                && r.stderr.split(separator: "\n").count == 1, "\(r.stderr)")
        #expect(FileManager.default.contents(atPath: "\(user.path)/\(dir)/run.json") == before)
        let same = try writepath(["run", "--resume", dir, "--matrix", "m.yaml", "--quiet"], cwd: user.path, timeout: 60)
        #expect(same.status == 0, "the same matrix is accepted: \(same.stderr)")
    }

    @Test("a 200-byte workload name in a host layer with a long directory: the matrix and its resume finish with run.json")
    func longNames() throws {
        var user = try UserFiles("long-names")
        defer { user.remove() }
        let d = "\(user.path)/" + String(repeating: "d", count: 120)
        try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
        try user.add(
            "m.yaml",
            "layers: [{name: host, directory: \(d)}]\nworkloads: [{name: \(String(repeating: "w", count: 200)), size: 64k}]\n"
                + "repetitions: 2\n")
        let r = try writepath(["run", "--matrix", "m.yaml", "--results", "R", "--quiet"], cwd: user.path, timeout: 60)
        #expect(r.status == 0, "\(r.stderr)")
        let dir = "\(user.path)/R/" + (user.strangers(in: "R").first ?? "?")
        #expect(FileManager.default.fileExists(atPath: "\(dir)/run.json"))
        let runs = (try? FileManager.default.contentsOfDirectory(atPath: "\(dir)/runs")) ?? []
        #expect(runs.count == 2 && Set(runs).count == 2 && runs.allSatisfy { $0.utf8.count <= 255 }, "\(runs)")
        let resumed = try writepath(["run", "--resume", dir, "--quiet"], cwd: user.path, timeout: 60)
        #expect(resumed.status == 0, "\(resumed.stderr)")
    }
}
