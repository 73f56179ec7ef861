import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

@Suite("writepath sweep and plan on the command line", .serialized)
struct CapacityCLITests {
    @Test(
        "bad input exits 2 with one line naming the field",
        arguments: [
            (["sweep", "--slo", "p99=2"], "slo"),
            (["sweep", "--slo", "q99=2ms"], "slo"),
            (["sweep", "--slo", "p100=2ms"], "slo"),
            (["sweep", "--sweep", "qd=1,2"], "sweep"),
            (["sweep", "--sweep", "iodepth=8,4"], "sweep"),
            (["sweep", "--sweep", "iodepth=1:step=1:max=1000"], "sweep"),
            (["sweep", "--sweep", "rate_iops=1000:max=500"], "sweep"),
            (["sweep", "--layer", "hots"], "layer"),
            (["sweep", "--layer", "docker-volume:colour=blue"], "docker-volume.colour"),
            (["sweep", "--iodepth", "8"], "iodepth"),
            (["sweep", "--filename", "/dev/shm/x"], "filename"),
            (["sweep", "--tenants", "0"], "tenants"),
            (["sweep", "--repetitions", "0"], "repetitions"),
            (["sweep", "--repetitions", "21"], "repetitions"),
            (["sweep", "--resume", "/nonexistent/sweep"], "results"),
            (["sweep", "--output-format", "xml"], "output-format"),
            (["plan", "--tenants", "10", "--iops-per-tenant", "100"], "sweeps"),
            (["plan", "--sweeps", "/nonexistent/sweep", "--tenants", "10", "--iops-per-tenant", "100"], "/nonexistent/sweep"),
            (["plan", "--sweeps", "/nonexistent/sweep", "--tenants", "10", "--iops-per-tenant", "abc"], "iops-per-tenant"),
            (["plan", "--sweeps", "/nonexistent/sweep", "--tenants", "10", "--iops-per-tenant", "100", "--headroom", "150%"], "headroom"),
            (["plan", "--sweeps", "/nonexistent/sweep", "--tenants", "10", "--iops-per-tenant", "100", "--slo", "p99"], "slo"),
        ])
    func badInput(arguments: [String], field: String) throws {
        let r = try writepath(arguments + ["--results", "/dev/shm/writepath-cli-never"].filter { _ in arguments[0] == "sweep" })
        #expect(r.status == 2, "\(arguments): exit \(r.status), stderr: \(r.stderr)")
        let lines = r.stderr.split(separator: "\n")
        #expect(lines.count == 1, "\(arguments): \(r.stderr)")
        #expect(r.stderr.contains(field), "\(arguments): \(r.stderr)")
        #expect(r.stdout.isEmpty)
        #expect(!FileManager.default.fileExists(atPath: "/dev/shm/writepath-cli-never"), "invalid input must not start a run folder")
    }

    @Test("sweep, then plan (text, CSV, HTML) and report on its folder")
    func sweepAndPlan() throws {
        let dir = scratch("sweep-plan")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let s = try writepath([
            "sweep", "--layer", "host", "--sweep", "iodepth=1,2", "--runtime", "1", "--size", "8m", "--slo", "p99=1s",
            "--results", "\(dir)/results", "--scratch", "\(dir)/scratch", "--quiet",
        ])
        #expect(s.status == 0, "\(s.stderr)")
        #expect(s.stdout.contains("host: iodepth sweep of job (rw=randwrite bs=4KiB)"), "\(s.stdout)")
        #expect(s.stdout.contains("SLO p99 <= 1 s: "))
        #expect(s.stdout.contains("knee: "))
        let runs = try FileManager.default.contentsOfDirectory(atPath: "\(dir)/results")
        #expect(runs.count == 1)
        let folder = "\(dir)/results/\(runs[0])"
        #expect(FileManager.default.fileExists(atPath: "\(folder)/run.json"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: "\(folder)/runs").count == 2)

        let p = try writepath([
            "plan", "--sweeps", folder, "--tenants", "10", "--iops-per-tenant", "100", "--bs", "4k", "--html", "\(dir)/plan.html",
        ])
        #expect(p.status == 0, "\(p.stderr)")
        #expect(p.stdout.contains("demand: 10 tenants x 100 IOPS of 4KiB"), "\(p.stdout)")
        #expect(p.stdout.contains("objective p99 <= 1 s, headroom 20%"), "the recorded objective is the default: \(p.stdout)")
        #expect(p.stdout.contains("cheapest: host: "), "\(p.stdout)")
        let html = try String(contentsOfFile: "\(dir)/plan.html", encoding: .utf8)
        #expect(html.contains("id=\"capacity\"") && html.contains("<svg") && html.contains("(cheapest)"))

        let csv = try writepath([
            "plan", "--sweeps", folder, "--tenants", "10", "--iops-per-tenant", "100", "--slo", "p99.9=2s", "--output-format", "csv",
        ])
        #expect(csv.status == 0, "\(csv.stderr)")
        let lines = csv.stdout.split(separator: "\n")
        #expect(lines.count == 2 && lines[0].hasPrefix("layer,label,layer_name,tenants_measured,"))
        #expect(lines[1].contains(",p99.9=2s,99.9") && lines[1].hasPrefix("host,host,host,1,iodepth,randwrite,4096,"), "\(lines)")

        let wrong = try writepath(["plan", "--sweeps", folder, "--tenants", "10", "--iops-per-tenant", "100", "--bs", "8k"])
        #expect(wrong.status == 2 && wrong.stderr.contains("invalid bs: no sweep was measured with bs=8KiB"), "\(wrong.stderr)")

        let r = try writepath(["report", folder])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("capacity (objective p99 <= 1 s):"), "\(r.stdout)")
        #expect(FileManager.default.fileExists(atPath: "\(folder)/capacity.csv"))
        let page = try String(contentsOfFile: "\(folder)/report.html", encoding: .utf8)
        #expect(page.contains("id=\"capacity\"") && !page.contains("id=\"summary\""))
    }

    @Test(
        """
        Ctrl-C keeps the finished steps and exits 130; --resume refuses other parameters and completes the sweep, \
        also after a second Ctrl-C
        """
    )
    func interruptAndResume() throws {
        let dir = scratch("sweep-int")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.createDirectory(atPath: "\(dir)/targets", withIntermediateDirectories: true)
        let layers = ["host", "host(directory=\(dir)/targets)"]
        let p = try startSweep([
            "sweep", "--layer", "host", "--layer", "host:directory=\(dir)/targets", "--sweep", "iodepth=1,2,4", "--repetitions", "2",
            "--runtime", "0.5", "--size", "1m", "--slo", "p99=1s", "--results", "\(dir)/results", "--scratch", "\(dir)/scratch", "--quiet",
        ])
        let runDir = try #require(runFolder(in: "\(dir)/results"))
        interrupt(p, afterRunFiles: 1, in: runDir)
        #expect(p.terminationStatus == 130)
        let first = try sweepDocument(runDir)
        #expect(first.sweep["complete"] as? Bool == false && first.sweep["repetitions"] as? Int == 2)
        #expect(first.sweep["planned_layers"] as? [String] == layers)
        let okBefore = first.runs.filter { $0["status"] as? String == "ok" }
        #expect(okBefore.count >= 1 && okBefore.count < 12)
        let filesBefore = try runFiles(runDir)

        // Parameters that differ from the recorded ones are refused, and the folder is left as it was.
        let recorded = try Data(contentsOf: URL(fileURLWithPath: "\(runDir)/run.json"))
        for (option, field) in [
            (["--tenants", "2"], "tenants"), (["--repetitions", "3"], "repetitions"), (["--sweep", "iodepth=1,2"], "sweep"),
            (["--layer", "host"], "layer"), (["--slo", "p99=2ms"], "slo"), (["--stop-after", "3"], "stop-after"),
            (["--runtime", "2"], "runtime"), (["--results", "\(dir)/elsewhere"], "results"),
        ] {
            let r = try writepath(["sweep", "--resume", runDir, "--quiet"] + option)
            #expect(r.status == 2, "\(option): exit \(r.status), \(r.stderr)")
            #expect(r.stderr.split(separator: "\n").count == 1 && r.stderr.contains("invalid \(field): "), "\(option): \(r.stderr)")
            #expect(try Data(contentsOf: URL(fileURLWithPath: "\(runDir)/run.json")) == recorded)
            #expect(try runFiles(runDir) == filesBefore)
        }
        #expect(!FileManager.default.fileExists(atPath: "\(dir)/elsewhere"))

        // Resumed with the same values given again, and interrupted again.
        let second = try startSweep([
            "sweep", "--resume", runDir, "--sweep", "iodepth=1,2,4", "--repetitions", "2", "--runtime", "0.5", "--quiet",
        ])
        interrupt(second, afterRunFiles: filesBefore.count + 1, in: runDir)
        #expect(second.terminationStatus == 130)
        let filesBetween = try runFiles(runDir)
        for (name, data) in filesBefore { #expect(filesBetween[name] == data, "\(name) changed") }
        #expect(try sweepDocument(runDir).sweep["complete"] as? Bool == false)

        let r = try writepath(["sweep", "--resume", runDir, "--output-format", "none", "--quiet"])
        #expect(r.status == 0, "\(r.stderr)")
        let done = try sweepDocument(runDir)
        #expect(done.sweep["complete"] as? Bool == true)
        // Every step of every layer exactly once: 2 layers x 3 steps x 2 repetitions, all ok.
        let keys = done.runs.map { run -> String in
            let tag = run["sweep"] as! [String: Any]
            return "\((run["layer"] as! [String: Any])["spec"]!)/\(tag["step"]!)/\(run["rep"]!)/\(tag["tenant"]!)"
        }
        #expect(keys.count == 12 && Set(keys).count == 12, "\(keys)")
        #expect(done.runs.allSatisfy { $0["status"] as? String == "ok" })
        let infos = done.sweep["layers"] as! [[String: Any]]
        #expect(infos.map { $0["layer"] as? String } == layers)
        for info in infos {
            #expect(info["stop_reason"] as? String == "completed", "\(info)")
            #expect((info["points"] as! [[String: Any]]).map { $0["step"] as? Int } == [1, 2, 3])
        }
        // The runs finished before the first Ctrl-C are kept as they were, and no run file was
        // changed or removed: the numbering went on.
        let started = Set(done.runs.compactMap { $0["started_at"] as? String })
        for run in okBefore { #expect(started.contains(run["started_at"] as! String)) }
        let filesAfter = try runFiles(runDir)
        for (name, data) in filesBetween { #expect(filesAfter[name] == data, "\(name) changed") }
        #expect(Set(filesAfter.keys.map { $0.prefix(4) }).count == filesAfter.count)

        let again = try writepath(["sweep", "--resume", runDir])
        #expect(
            again.status == 2 && again.stderr.contains("invalid resume: ") && again.stderr.contains("already complete"), "\(again.stderr)")
        let none = try writepath(["sweep", "--resume", "\(dir)/targets"])
        #expect(
            none.status == 2 && none.stderr.contains("invalid resume: ") && none.stderr.split(separator: "\n").count == 1, "\(none.stderr)")
    }
}

/// Starts `writepath` with `arguments` in the background, output discarded.
func startSweep(_ arguments: [String]) throws -> Process {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: binary)
    p.arguments = arguments
    p.standardOutput = FileHandle.nullDevice
    p.standardError = FileHandle.nullDevice
    try p.run()
    return p
}

/// The one run folder in `results`, waiting up to a minute for the sweep to make it.
func runFolder(in results: String) -> String? {
    let deadline = Date().addingTimeInterval(60)
    while Date() < deadline {
        let folders = (try? FileManager.default.contentsOfDirectory(atPath: results)) ?? []
        if folders.count == 1 { return "\(results)/\(folders[0])" }
        usleep(50_000)
    }
    return nil
}

/// Sends Ctrl-C (SIGINT) to `p` once `runDir/runs` holds `count` files (a busy machine makes
/// the start slower), and waits for it to exit.
func interrupt(_ p: Process, afterRunFiles count: Int, in runDir: String) {
    let deadline = Date().addingTimeInterval(60)
    while Date() < deadline {
        if ((try? FileManager.default.contentsOfDirectory(atPath: "\(runDir)/runs")) ?? []).count >= count { break }
        usleep(50_000)
    }
    usleep(300_000)
    kill(p.processIdentifier, SIGINT)
    p.waitUntilExit()
}

/// Every file in `runDir/runs` with its bytes.
func runFiles(_ runDir: String) throws -> [String: Data] {
    var files: [String: Data] = [:]
    for name in try FileManager.default.contentsOfDirectory(atPath: "\(runDir)/runs") {
        files[name] = try Data(contentsOf: URL(fileURLWithPath: "\(runDir)/runs/\(name)"))
    }
    return files
}

/// `run.json` of a sweep: its runs and its `sweep` object.
func sweepDocument(_ runDir: String) throws -> (runs: [[String: Any]], sweep: [String: Any]) {
    let doc = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: "\(runDir)/run.json"))) as! [String: Any]
    return (doc["runs"] as! [[String: Any]], doc["sweep"] as! [String: Any])
}
