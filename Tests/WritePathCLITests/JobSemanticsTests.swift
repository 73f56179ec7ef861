import Foundation
import Testing
import WritePathEngine
import WritePathResult
import WritePathTestSupport

#if canImport(Glibc)
    import Glibc
#endif

/// Job files mean what they mean in fio: sections start together unless `stonewall` makes one
/// wait; groups are summed with `group_reporting`; the command line takes every name a job file
/// takes; a synchronous engine takes any iodepth.
@Suite("fio job semantics", .serialized)
struct JobSemanticsTests {
    static func jobFile(stonewall: Bool, dir: String) -> String {
        """
        [global]
        rw=randwrite
        bs=4k
        size=16m
        runtime=3
        time_based
        rate_iops=500
        directory=\(dir)
        group_reporting

        [first]

        [second]
        \(stonewall ? "stonewall" : "")
        """
    }

    struct Job { var iops: Double; var start: Date; var runtime: Double; var group: Int? }

    func run(stonewall: Bool) throws -> (jobs: [Job], text: String, wall: Double) {
        let dir = scratch("jobsem\(stonewall ? "sw" : "")")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = "\(dir)/two.fio"
        try Self.jobFile(stonewall: stonewall, dir: dir).write(toFile: path, atomically: true, encoding: .utf8)
        let t0 = Date()
        let json = try writepath(["run", path, "--output-format=json", "--quiet"], timeout: 60)
        let wall = Date().timeIntervalSince(t0)
        #expect(json.status == 0, "\(json.stderr)")
        let doc = try JSONDecoder().decode(ResultDocument.self, from: Data(json.stdout.utf8))
        let iso = ISO8601DateFormatter()
        let jobs = try doc.runs.map { r in
            let w = try #require(r.write)
            return Job(iops: w.iops, start: try #require(iso.date(from: r.started_at)), runtime: w.runtime_s, group: r.group)
        }
        let text = try writepath(["run", path, "--quiet"], timeout: 60)
        #expect(text.status == 0, "\(text.stderr)")
        return (jobs, text.stdout, wall)
    }

    @Test("two sections at rate_iops=500 for 3 s run at once: about 1000 IOPS in about 3 s, one group")
    func concurrent() throws {
        let (jobs, text, wall) = try run(stonewall: false)
        try #require(jobs.count == 2)
        let sum = jobs[0].iops + jobs[1].iops
        // rate_iops is a ceiling: a loaded machine may fall a little short of it, never above.
        #expect(sum > 850 && sum < 1030, "summed IOPS \(sum)")
        #expect(wall < 5.5, "two concurrent 3 s jobs took \(wall) s")
        #expect(abs(jobs[0].start.timeIntervalSince(jobs[1].start)) < 1.0)
        #expect(jobs.map(\.group) == [0, 0])
        #expect(text.contains("group 0 (first, second):"), "\(text)")
        // The group's line sums both jobs.
        let group = try #require(text.components(separatedBy: "group 0 (first, second):\n").last)
        let iopsText = try #require(group.split(separator: " ").first { $0.hasPrefix("IOPS=") }).dropFirst(5)
        let groupIOPS = try #require(Double(iopsText), "\(group)")
        #expect(groupIOPS > 850 && groupIOPS < 1030, "\(group)")
    }

    @Test("with stonewall on the second: two 3 s phases of about 500 IOPS each, two groups")
    func stonewall() throws {
        let (jobs, text, wall) = try run(stonewall: true)
        try #require(jobs.count == 2)
        for j in jobs { #expect(j.iops > 425 && j.iops < 515, "IOPS \(j.iops)") }
        #expect(wall >= 6, "two phases of 3 s took only \(wall) s")
        // The second starts after the first has run its 3 s.
        #expect(jobs[1].start.timeIntervalSince(jobs[0].start) >= 2.9)
        #expect(jobs.map(\.group) == [0, 1])
        #expect(text.contains("group 0 (first):") && text.contains("group 1 (second):"), "\(text)")
    }

    @Test("every option a job file takes is a command-line option too")
    func everyOptionOnTheCommandLine() throws {
        let help = try writepath(["run", "--help"])
        #expect(help.status == 0)
        for key in Workload.supportedOptions {
            #expect(help.stdout.contains("--\(key)"), "--\(key) is missing from writepath run")
        }
    }

    @Test("the command line takes the aliases a job file takes")
    func aliases() throws {
        let dir = scratch("alias")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let r = try writepath([
            "run", "--readwrite=write", "--blocksize=8k", "--iodepth=2", "--iodepth_batch=2",
            "--randseed=7", "--size=1m", "--thread", "--group_reporting", "--zero_buffers",
            "--filename=\(dir)/a.dat", "--output-format=json", "--quiet",
        ])
        #expect(r.status == 0, "\(r.stderr)")
        let doc = try JSONDecoder().decode(ResultDocument.self, from: Data(r.stdout.utf8))
        let w = try #require(doc.runs.first?.workload)
        #expect(w.bs == 8192 && w.rw == .write && w.iodepth_batch_submit == 2 && w.seed == 7 && w.buffer_pattern == .zero)
    }

    @Test("psync with iodepth 16 runs at depth 1 and warns, as fio does")
    func syncDepth() throws {
        let dir = scratch("psyncdepth")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let r = try writepath([
            "run", "--ioengine=psync", "--iodepth=16", "--size=1m", "--filename=\(dir)/p.dat",
            "--output-format=json", "--quiet",
        ])
        #expect(r.status == 0, "\(r.stderr)")
        let doc = try JSONDecoder().decode(ResultDocument.self, from: Data(r.stdout.utf8))
        let run = try #require(doc.runs.first)
        #expect(run.workload.iodepth == 16)
        #expect(run.write?.ios == 256)
        #expect(run.warnings.contains { $0.contains("psync is synchronous") }, "\(run.warnings)")
        #expect(run.iodepth_level?["1"] == 100, "\(run.iodepth_level ?? [:])")
    }

    @Test("startdelay delays one section of a concurrent job file")
    func startDelay() throws {
        let dir = scratch("startdelay")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = "\(dir)/d.fio"
        try "[global]\nrw=write\nbs=4k\nsize=1m\nruntime=1\ntime_based\nrate_iops=100\ndirectory=\(dir)\n[a]\n[b]\nstartdelay=1.5\n"
            .write(toFile: path, atomically: true, encoding: .utf8)
        let r = try writepath(["run", path, "--output-format=json", "--quiet"], timeout: 60)
        #expect(r.status == 0, "\(r.stderr)")
        let doc = try JSONDecoder().decode(ResultDocument.self, from: Data(r.stdout.utf8))
        let iso = ISO8601DateFormatter()
        let starts = doc.runs.compactMap { iso.date(from: $0.started_at) }
        try #require(starts.count == 2)
        #expect(starts[1].timeIntervalSince(starts[0]) >= 1.0, "\(starts)")
        #expect(doc.runs[1].workload.startdelay == 1.5)
    }

    @Test("unlink removes the files writepath made, never the user's; end_fsync runs and is recorded")
    func unlinkAndEndFsync() throws {
        let dir = scratch("unlink")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let ours = try writepath([
            "run", "--size=1m", "--filename=\(dir)/made.dat", "--unlink", "--end_fsync",
            "--output-format=json", "--quiet",
        ])
        #expect(ours.status == 0, "\(ours.stderr)")
        #expect(!FileManager.default.fileExists(atPath: "\(dir)/made.dat"))
        let doc = try JSONDecoder().decode(ResultDocument.self, from: Data(ours.stdout.utf8))
        #expect(doc.runs.first?.workload.end_fsync == true)
        // A file of the user's, written with --overwrite, stays.
        let user = "\(dir)/users.dat"
        try Data(repeating: 7, count: 1 << 20).write(to: URL(fileURLWithPath: user))
        let theirs = try writepath(["run", "--size=1m", "--filename=\(user)", "--overwrite", "--unlink", "--quiet"])
        #expect(theirs.status == 0, "\(theirs.stderr)")
        #expect(FileManager.default.fileExists(atPath: user))
    }

    @Test(
        "fio options writepath does not take are refused with the reason",
        arguments: [
            ("--rate=1m", "rate_iops"), ("--nrfiles=4", "numjobs"), ("--randrepeat=0", "seed"),
            ("--norandommap=0", "norandommap=1"), ("--invalidate=0", "invalidate=1"),
        ])
    func refused(option: String, reason: String) throws {
        let r = try writepath(["run", "--size=1m", "--filename=/dev/shm/wp-refused-\(getpid()).dat", option])
        #expect(r.status == 2)
        #expect(r.stderr.contains(reason), "\(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: "/dev/shm/wp-refused-\(getpid()).dat"))
    }

    @Test("loops in a job file and on the command line repeats the region in one run")
    func loops() throws {
        let dir = scratch("loops")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = "\(dir)/l.fio"
        try "[a]\nsize=1m\nloops=2\nfilename=\(dir)/a.dat\n".write(toFile: path, atomically: true, encoding: .utf8)
        for args in [["run", path], ["run", "--size=1m", "--loops", "3", "--filename=\(dir)/b.dat"]] {
            let r = try writepath(args + ["--output-format=json", "--quiet"])
            #expect(r.status == 0, "\(r.stderr)")
            let doc = try JSONDecoder().decode(ResultDocument.self, from: Data(r.stdout.utf8))
            let loops = args.count == 2 ? 2 : 3
            #expect(doc.runs.first?.workload.loops == loops)
            #expect(doc.runs.first?.write?.ios == UInt64(loops * 256))
        }
    }

    @Test("a job file's refused option names the option, its line and the reason")
    func refusedInJobFile() throws {
        let dir = scratch("refusedjob")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = "\(dir)/r.fio"
        try "[a]\nsize=1m\nrefill_buffers\n".write(toFile: path, atomically: true, encoding: .utf8)
        let r = try writepath(["run", path])
        #expect(r.status == 2)
        #expect(r.stderr.contains("refill_buffers") && r.stderr.contains("r.fio:3") && r.stderr.contains("filled once"), "\(r.stderr)")
    }
}
