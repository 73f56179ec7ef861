import Testing

@testable import WritePathEngine

@Suite("Sizes and options")
struct ParsingTests {
    @Test("sizes take fio's k/m/g suffixes as powers of 1024")
    func sizeSuffixes() throws {
        #expect(try ByteSize.parse("4096", field: "bs") == 4096)
        #expect(try ByteSize.parse("4k", field: "bs") == 4096)
        #expect(try ByteSize.parse("4K", field: "bs") == 4096)
        #expect(try ByteSize.parse("4kb", field: "bs") == 4096)
        #expect(try ByteSize.parse("4KiB", field: "bs") == 4096)
        #expect(try ByteSize.parse("128k", field: "bs") == 131_072)
        #expect(try ByteSize.parse("256m", field: "size") == 268_435_456)
        #expect(try ByteSize.parse("1g", field: "size") == 1_073_741_824)
        #expect(try ByteSize.parse("2t", field: "size") == 2 << 40)
        #expect(try ByteSize.parse(" 8k ", field: "bs") == 8192)
    }

    @Test("bad sizes are invalid input naming the field", arguments: ["", "4x", "k", "-4k", "1.5k", "99999999999999p"])
    func badSizes(text: String) {
        #expect(throws: WritePathError.self) { try ByteSize.parse(text, field: "bs") }
        do {
            _ = try ByteSize.parse(text, field: "bs")
        } catch let e as WritePathError {
            #expect(e.exitCode == 2)
            #expect(e.description.hasPrefix("invalid bs:"))
        } catch {
            Issue.record("unexpected error \(error)")
        }
    }

    @Test("options parse as fio spells them")
    func options() throws {
        var w = Workload()
        try w.set("rw", "randwrite")
        try w.set("bs", "16k")
        try w.set("iodepth", "32")
        try w.set("time_based", nil)
        try w.set("runtime", "1m")
        try w.set("ramp_time", "500ms")
        try w.set("direct", "0")
        try w.set("random_distribution", "zipf:1.2")
        try w.set("randseed", "42")
        try w.set("rwmixread", "30")
        try w.set("zero_buffers", nil)
        #expect(w.rw == .randwrite)
        #expect(w.bs == 16384)
        #expect(w.iodepth == 32)
        #expect(w.time_based)
        #expect(w.runtime == 60)
        #expect(w.ramp_time == 0.5)
        #expect(!w.direct)
        #expect(w.random_distribution == .zipf(theta: 1.2))
        #expect(w.seed == 42)
        #expect(w.rwmixwrite == 70)
        #expect(w.buffer_pattern == .zero)
    }

    @Test("an unknown option names itself and lists the supported ones")
    func unknownOption() {
        var w = Workload()
        do {
            try w.set("verify_pattern", "0xff")
            Issue.record("accepted an unknown option")
        } catch let e as WritePathError {
            #expect(e.description.contains("verify_pattern"))
            #expect(e.description.contains("supported: name, ioengine, rw"))
        } catch {
            Issue.record("unexpected error \(error)")
        }
    }

    @Test(
        "bad values are refused",
        arguments: [
            ("rw", "randomwrite"), ("ioengine", "spdk"), ("iodepth", "0"), ("iodepth", "x"), ("direct", "maybe"),
            ("rwmixwrite", "101"), ("runtime", "ten"), ("random_distribution", "pareto:0.5"), ("zipf", "1"),
            ("buffer_pattern", "0xdead"), ("seed", "-1"), ("numjobs", "0"), ("force_async", "-1"), ("force_async", "often"),
            ("iowq_colocate", "sometimes"), ("iowq_colocate", ""), ("loops", "0"), ("loops", "x"),
        ])
    func badValues(key: String, value: String) {
        var w = Workload()
        #expect(throws: WritePathError.self) { try w.set(key, value) }
    }

    @Test("options that contradict each other fail validation")
    func contradictions() throws {
        var w = Workload()
        w.time_based = true
        #expect(throws: WritePathError.self) { try w.validate() }
        // As in fio, a synchronous engine takes any iodepth (it runs at depth 1 and warns).
        w = Workload(); w.ioengine = .psync; w.iodepth = 8
        #expect(throws: Never.self) { try w.validate() }
        w = Workload(); w.fsync = 1; w.fdatasync = 1
        #expect(throws: WritePathError.self) { try w.validate() }
        w = Workload(); w.size = 1024; w.bs = 4096
        #expect(throws: WritePathError.self) { try w.validate() }
        w = Workload(); w.io_uring.sqthread_poll = true; w.ioengine = .libaio
        #expect(throws: WritePathError.self) { try w.validate() }
        w = Workload(); w.io_uring.force_async = 1; w.ioengine = .psync
        #expect(throws: WritePathError.self) { try w.validate() }
        w = Workload(); w.io_uring.iowq_colocate = .off; w.ioengine = .libaio
        #expect(throws: WritePathError.self) { try w.validate() }
        w = Workload(); w.io_uring.iowq_colocate = .on; w.io_uring.sqthread_poll = true
        #expect(throws: WritePathError.self) { try w.validate() }
        w = Workload(); w.size = 1 << 20
        try w.validate()
    }

    @Test("io-wq options parse: force_async every N, iowq_colocate auto/1/0")
    func iowqOptions() throws {
        var w = Workload()
        #expect(w.io_uring.force_async == 0 && w.io_uring.iowq_colocate == .auto)
        try w.set("force_async", "4")
        #expect(w.io_uring.force_async == 4)
        for (text, value) in [("1", IOWQColocation.on), ("on", .on), ("0", .off), ("no", .off), ("AUTO", .auto)] {
            try w.set("iowq_colocate", text)
            #expect(w.io_uring.iowq_colocate == value)
        }
    }

    @Test("durations accept fio's suffixes")
    func durations() throws {
        #expect(try Workload.seconds("10", field: "runtime") == 10)
        #expect(try Workload.seconds("10s", field: "runtime") == 10)
        #expect(try Workload.seconds("2m", field: "runtime") == 120)
        #expect(try Workload.seconds("1h", field: "runtime") == 3600)
        #expect(try Workload.seconds("250ms", field: "runtime") == 0.25)
    }
}

@Suite("fio job files")
struct FioJobFileTests {
    @Test("global options are inherited and job sections override them")
    func globalAndJobs() throws {
        let text = """
            ; a comment
            # another comment
            [global]
            ioengine=libaio
            direct=1
            bs=4k
            size=64m
            time_based
            runtime=5

            [rand-4k]
            rw=randwrite
            iodepth=32

            [seq-128k]
            rw=write
            bs=128k   ; trailing comment
            iodepth=8
            """
        let jobs = try FioJobFile.parse(text, path: "t.fio")
        #expect(jobs.count == 2)
        #expect(jobs[0].name == "rand-4k")
        #expect(jobs[0].rw == .randwrite)
        #expect(jobs[0].iodepth == 32)
        #expect(jobs[0].bs == 4096)
        #expect(jobs[0].ioengine == .libaio)
        #expect(jobs[0].time_based)
        #expect(jobs[0].runtime == 5)
        #expect(jobs[1].name == "seq-128k")
        #expect(jobs[1].bs == 131_072)
        #expect(jobs[1].size == 64 << 20)
    }

    @Test("an unsupported option in a job file is an error naming it and its line")
    func unsupportedOption() {
        let text = "[job]\nrw=write\nverify_pattern=0xff\n"
        do {
            _ = try FioJobFile.parse(text, path: "bad.fio")
            Issue.record("accepted an unsupported option")
        } catch let e as WritePathError {
            #expect(e.exitCode == 2)
            #expect(e.description.contains("verify_pattern"))
            #expect(e.description.contains("bad.fio:3"))
            #expect(e.description.contains("supported:"))
        } catch {
            Issue.record("unexpected error \(error)")
        }
    }

    @Test("malformed files are errors", arguments: ["", "rw=write\n", "[global]\nbs=4k\n", "[job\nrw=write", "[a]\n[global]\n"])
    func malformed(text: String) {
        #expect(throws: WritePathError.self) { try FioJobFile.parse(text, path: "x.fio") }
    }
}

@Suite("Workload as arguments")
struct WorkloadArgumentTests {
    @Test("a workload turned into options and parsed back is the same workload")
    func roundTrip() throws {
        var w = Workload()
        for (k, v) in [
            ("name", "r"), ("rw", "randrw"), ("rwmixwrite", "70"), ("bs", "16k"), ("iodepth", "8"),
            ("numjobs", "2"), ("size", "64m"), ("offset", "4k"), ("filename", "/wp/t.dat"),
            ("direct", "0"), ("runtime", "2.5"), ("time_based", "1"), ("ramp_time", "1"),
            ("rate_iops", "100"), ("fdatasync", "4"), ("random_distribution", "zipf:1.1"),
            ("buffer_pattern", "zero"), ("seed", "9"), ("fixedbufs", "0"), ("force_async", "3"),
            ("iowq_colocate", "0"), ("ioengine", "libaio"), ("loops", "3"),
        ] {
            try w.set(k, v)
        }
        var back = Workload()
        for arg in w.commandLineArguments {
            let parts = arg.dropFirst(2).split(separator: "=", maxSplits: 1).map(String.init)
            try back.set(parts[0], parts[1])
        }
        #expect(back == w)
    }
}
