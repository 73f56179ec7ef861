import Foundation
import Testing
import WritePathTestSupport

#if canImport(Glibc)
    import Glibc
#endif

/// The built `writepath` binary next to the test bundle.
let binary = BuiltBinaries.writepath

typealias Outcome = ProcessOutcome

/// Runs the binary with `arguments` and collects its exit status and output. `environment`
/// is added to this process's; after `timeout` seconds the binary is killed (status 137 then).
func writepath(_ arguments: [String], cwd: String? = nil, environment: [String: String] = [:], timeout: Double? = nil) throws -> Outcome {
    try runProcess(binary, arguments, cwd: cwd, environment: environment, timeout: timeout)
}

func scratch(_ name: String) -> String {
    let dir = "/dev/shm/writepath-cli-\(name)-\(getpid())"
    try? FileManager.default.removeItem(atPath: dir)
    try! FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    return dir
}

@Suite("writepath command line", .serialized)
struct CLITests {
    @Test(
        "bad input exits 2 with one line naming the field",
        arguments: [
            (["run", "--bs=abc", "--size=1m"], "bs"),
            (["run", "--rw=randomwrite", "--size=1m"], "rw"),
            (["run", "--ioengine=spdk", "--size=1m"], "ioengine"),
            (["run", "--iodepth=0", "--size=1m"], "iodepth"),
            (["run", "--bogus=1"], "bogus"),
            (["run", "--output-format=xml", "--size=1m"], "output-format"),
            (["run", "--time_based", "--size=1m"], "time_based"),
            (["run", "/nonexistent/job.fio"], "JOBFILE"),
            (["run", "--size=1m", "--bs=1000", "--filename=/var/tmp/wp-cli-unaligned.dat"], "bs"),
            (["frobnicate"], "frobnicate"),
        ])
    func badInput(arguments: [String], field: String) throws {
        let r = try writepath(arguments)
        #expect(r.status == 2, "\(arguments): exit \(r.status), stderr: \(r.stderr)")
        let lines = r.stderr.split(separator: "\n")
        #expect(lines.count == 1, "\(arguments): \(r.stderr)")
        #expect(r.stderr.contains(field), "\(arguments): \(r.stderr)")
        #expect(r.stdout.isEmpty)
        #expect(!r.stderr.contains("Fatal error"))
        unlink("/var/tmp/wp-cli-unaligned.dat")
    }

    @Test("a job file with an unsupported option names it")
    func jobFileUnsupported() throws {
        let dir = scratch("jobfile-bad")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = "\(dir)/bad.fio"
        try "[global]\nsize=1m\n[j]\nrw=write\nverify=md5\n".write(toFile: path, atomically: true, encoding: .utf8)
        let r = try writepath(["run", path])
        #expect(r.status == 2)
        #expect(r.stderr.contains("verify"))
        #expect(r.stderr.contains("bad.fio:5"))
    }

    @Test("a job file runs every job and JSON output is valid on stdout")
    func jobFileRuns() throws {
        let dir = scratch("jobfile")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = "\(dir)/two.fio"
        try """
        [global]
        directory=\(dir)
        size=1m
        bs=4k
        [seq]
        rw=write
        iodepth=4
        [rand]
        rw=randwrite
        ioengine=libaio
        iodepth=8
        """.write(toFile: path, atomically: true, encoding: .utf8)
        let r = try writepath(["run", path, "--output-format=json"])
        #expect(r.status == 0, "\(r.stderr)")
        let json = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any]
        #expect(json?["schema"] as? String == "writepath.result/1")
        let runs = json?["runs"] as? [[String: Any]]
        #expect(runs?.count == 2)
        let names = runs?.compactMap { ($0["workload"] as? [String: Any])?["name"] as? String }
        #expect(names == ["seq", "rand"])
        let writes = runs?.compactMap { ($0["write"] as? [String: Any])?["ios"] as? Int }
        #expect(writes == [256, 256])
        let host = json?["host"] as? [String: Any]
        #expect(host?["kernel"] as? String != nil)
        let provenance = json?["writepath"] as? [String: Any]
        #expect(provenance?["git_commit"] as? String != nil)
    }

    @Test("text and csv output, --output and --results write files")
    func outputs() throws {
        let dir = scratch("outputs")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let base = ["run", "--rw=randwrite", "--size=1m", "--iodepth=4", "--filename=\(dir)/t.dat", "--quiet"]
        let text = try writepath(base)
        #expect(text.status == 0)
        #expect(text.stdout.contains("write: IOPS="))
        #expect(text.stdout.contains("lat (usec): p50="))
        let csv = try writepath(base + ["--output-format=csv", "--output=\(dir)/out.csv", "--results=\(dir)/results"])
        #expect(csv.status == 0, "\(csv.stderr)")
        let written = try String(contentsOfFile: "\(dir)/out.csv", encoding: .utf8).split(separator: "\n")
        #expect(written.count == 2)
        #expect(written[0].hasPrefix("layer,workload,rep,status"))
        let files = try FileManager.default.contentsOfDirectory(atPath: "\(dir)/results")
        #expect(files.count == 1 && files[0].hasSuffix(".json"))
    }

    @Test("--help and --version exit 0")
    func help() throws {
        let h = try writepath(["run", "--help"])
        #expect(h.status == 0)
        #expect(h.stdout.contains("--iodepth"))
        #expect(h.stdout.contains("--ramp_time"))
        let v = try writepath(["--version"])
        #expect(v.status == 0)
        #expect(v.stdout.contains("0.1.0"))
    }

    @Test("bare fio booleans are accepted")
    func bareBooleans() throws {
        let dir = scratch("bare")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let r = try writepath([
            "run", "--rw=write", "--size=1m", "--runtime=1", "--time_based", "--direct", "1",
            "--filename=\(dir)/b.dat", "--output-format=json",
        ])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("\"time_based\" : true"))
    }
}

@Suite("Matrix from the command line", .serialized)
struct MatrixCLITests {
    @Test("Ctrl-C keeps the finished runs, exits 130, and --resume completes the matrix without redoing them")
    func interruptAndResume() throws {
        let dir = scratch("matrix-int")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try """
        layers: [host]
        workloads: [{ name: a, rw: randwrite, bs: 4k, iodepth: 2, size: 4m, runtime: 1, time_based: true }]
        repetitions: 4
        seed: 3
        """.write(toFile: "\(dir)/m.yaml", atomically: true, encoding: .utf8)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: binary)
        p.arguments = ["run", "--matrix", "\(dir)/m.yaml", "--results", "\(dir)/results", "--quiet"]
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        // Interrupt once the first run is saved (a busy machine makes the start slower).
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
            let folders = (try? FileManager.default.contentsOfDirectory(atPath: "\(dir)/results")) ?? []
            if let f = folders.first, ((try? FileManager.default.contentsOfDirectory(atPath: "\(dir)/results/\(f)/runs")) ?? []).count >= 1
            {
                break
            }
            usleep(50_000)
        }
        usleep(300_000)
        kill(p.processIdentifier, SIGINT)
        p.waitUntilExit()
        #expect(p.terminationStatus == 130)
        let folders = try FileManager.default.contentsOfDirectory(atPath: "\(dir)/results")
        #expect(folders.count == 1)
        let runDir = "\(dir)/results/\(folders[0])"
        let first = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: "\(runDir)/run.json"))) as! [String: Any]
        let firstRuns = first["runs"] as! [[String: Any]]
        #expect((first["matrix"] as! [String: Any])["complete"] as? Bool == false)
        let okBefore = firstRuns.filter { $0["status"] as? String == "ok" }.count
        #expect(okBefore >= 1 && okBefore < 4)
        let startedBefore = firstRuns.compactMap { $0["started_at"] as? String }

        let r = try writepath(["run", "--resume", runDir, "--quiet"])
        #expect(r.status == 0, "\(r.stderr)")
        let second = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: "\(runDir)/run.json"))) as! [String: Any]
        let runs = second["runs"] as! [[String: Any]]
        #expect(runs.count == 4)
        #expect(runs.allSatisfy { $0["status"] as? String == "ok" })
        #expect(Set(runs.compactMap { $0["rep"] as? Int }) == [1, 2, 3, 4])
        // The runs finished before the interruption are kept as they were.
        for s in startedBefore.prefix(okBefore) {
            #expect(runs.contains { $0["started_at"] as? String == s })
        }
        #expect((second["matrix"] as! [String: Any])["complete"] as? Bool == true)
    }

    @Test("a bad matrix file exits 2 with one line")
    func badMatrix() throws {
        let dir = scratch("matrix-bad")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try "layers: [hots]\nworkloads: [{ name: w, size: 1m }]\n".write(toFile: "\(dir)/m.yaml", atomically: true, encoding: .utf8)
        let r = try writepath(["run", "--matrix", "\(dir)/m.yaml", "--results", "\(dir)/r"])
        #expect(r.status == 2)
        #expect(r.stderr.split(separator: "\n").count == 1)
        #expect(r.stderr.contains("hots"))
        #expect(!FileManager.default.fileExists(atPath: "\(dir)/r"))
    }

    @Test("layers lists every layer, as text and JSON")
    func layers() throws {
        let r = try writepath(["layers", "--output-format", "json"])
        #expect(r.status == 0)
        let json = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as! [String: Any]
        let names = (json["layers"] as! [[String: Any]]).compactMap { $0["name"] as? String }
        for n in ["host", "docker-overlay", "docker-volume", "docker-bind", "docker-tmpfs", "oci-runc"] {
            #expect(names.contains(n))
        }
        let t = try writepath(["layers"])
        #expect(t.stdout.contains("host"))
    }
}
