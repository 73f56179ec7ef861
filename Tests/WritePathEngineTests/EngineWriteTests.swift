import Foundation
import Testing
import WritePathResult

@testable import WritePathEngine
@testable import WritePathReport

#if canImport(Glibc)
    import Glibc
#endif

/// A scratch folder on the root filesystem (O_DIRECT on a real block device) removed afterwards.
func scratchFolder(_ name: String, base: String = "/var/tmp") -> String {
    let dir = "\(base)/writepath-test-\(name)-\(getpid())"
    try? FileManager.default.removeItem(atPath: dir)
    try! FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    return dir
}

/// Reads `count` bytes at `offset` of `path`.
func readBytes(_ path: String, offset: UInt64, count: Int) -> [UInt8] {
    let fd = open(path, O_RDONLY)
    defer { close(fd) }
    var buf = [UInt8](repeating: 0, count: count)
    let n = buf.withUnsafeMutableBytes { pread(fd, $0.baseAddress, count, off_t(offset)) }
    return n == count ? buf : []
}

/// The contents of write buffer `slot` of job `job`, rebuilt from the seed as the engine made it.
func expectedBuffer(seed: UInt64, job: Int, slot: Int, bs: Int) -> [UInt8] {
    var buf = [UInt8](repeating: 0, count: bs)
    buf.withUnsafeMutableBytes {
        BufferFill.fill($0.baseAddress!, bytes: bs, pattern: .random, seed: BufferFill.seed(workloadSeed: seed, job: job, slot: slot))
    }
    return buf
}

@Suite("Engines really write", .serialized)
struct EngineWriteTests {
    @Test(
        "each engine writes the pattern to every block and counts ios x bs bytes",
        arguments: [
            (EngineKind.io_uring, "write", 8), (.io_uring, "randwrite", 16), (.libaio, "randwrite", 8),
            (.libaio, "write", 4), (.psync, "write", 1), (.psync, "randwrite", 1),
        ])
    func writesPattern(engine: EngineKind, rw: String, depth: Int) throws {
        let dir = scratchFolder("\(engine.rawValue)-\(rw)")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var w = Workload()
        w.name = "verify"
        w.ioengine = engine
        try w.set("rw", rw)
        w.bs = 4096
        w.iodepth = depth
        w.size = 2 << 20
        w.directory = dir
        w.seed = 1234
        let result = try WorkloadRun(workload: w).execute()
        #expect(result.error == nil)
        let write = try #require(result.write)
        let blocks = UInt64(2 << 20) / 4096
        #expect(write.ios == blocks)
        #expect(write.bytes == write.ios * 4096)
        #expect(write.errors == 0)
        #expect(write.lat_ns.p50 > 0)
        #expect(result.target?.direct_io?.bypassed_page_cache == true)
        // Every block holds one of the job's write buffers: each was written exactly once.
        let path = "\(dir)/verify.0.0"
        let buffers = Set((0..<depth).map { expectedBuffer(seed: 1234, job: 0, slot: $0, bs: 4096) })
        for block in stride(from: UInt64(0), to: blocks, by: 7) {
            let got = readBytes(path, offset: block * 4096, count: 4096)
            #expect(buffers.contains(got), "block \(block) does not hold a written buffer")
        }
    }

    @Test("a time-based run stops on time and its series covers each second")
    func timeBased() throws {
        let dir = scratchFolder("timebased", base: "/dev/shm")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var w = Workload()
        w.rw = .randwrite
        w.iodepth = 4
        w.size = 4 << 20
        w.directory = dir
        w.runtime = 2.0
        w.time_based = true
        w.ramp_time = 0.5
        let start = monotonicNanoseconds()
        let result = try WorkloadRun(workload: w).execute()
        let elapsed = Double(monotonicNanoseconds() - start) / 1e9
        #expect(elapsed >= 2.4 && elapsed < 4.0)
        let write = try #require(result.write)
        #expect(abs(write.runtime_s - 2.0) < 0.1)
        #expect(write.series.count == 2)
        #expect(write.ios > 0)
        // The series averages to the whole.
        let fromSeries = write.series.reduce(0.0) { $0 + $1.iops } / Double(write.series.count)
        #expect(abs(fromSeries - write.iops) / write.iops < 0.05)
        #expect(abs(write.series.last!.t_s - write.runtime_s) < 0.01)
    }

    @Test("numjobs runs one ring per thread and sums them")
    func numjobs() throws {
        let dir = scratchFolder("numjobs", base: "/dev/shm")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var w = Workload()
        w.rw = .randwrite
        w.iodepth = 4
        w.numjobs = 2
        w.size = 1 << 20
        w.directory = dir
        let result = try WorkloadRun(workload: w).execute()
        #expect(result.jobs.count == 2)
        #expect(result.write?.ios == 512)
        #expect(result.jobs.allSatisfy { $0.write?.ios == 256 })
        #expect(result.jobs[0].path != result.jobs[1].path)
    }

    @Test(
        "loops=3 writes the region three times in one run, as fio's loops",
        arguments: [(EngineKind.io_uring, ReadWriteMode.write), (.io_uring, .randwrite), (.psync, .randwrite)])
    func loops(engine: EngineKind, rw: ReadWriteMode) throws {
        let dir = scratchFolder("loops-\(engine.rawValue)-\(rw.rawValue)", base: "/dev/shm")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var w = Workload()
        w.ioengine = engine
        w.rw = rw
        w.iodepth = engine == .psync ? 1 : 8
        w.size = 1 << 20
        w.directory = dir
        try w.set("loops", "3")
        let run = WorkloadRun(workload: w)
        let result = try run.execute()
        #expect(result.error == nil)
        #expect(result.write?.ios == 3 * 256)
        #expect(result.write?.bytes == 3 << 20)
        #expect(result.write?.errors == 0)
        #expect(run.workload.loops == 3)
    }

    @Test("rate_iops holds the rate")
    func rateLimit() throws {
        let dir = scratchFolder("rate", base: "/dev/shm")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var w = Workload()
        w.rw = .randwrite
        w.iodepth = 4
        w.size = 4 << 20
        w.directory = dir
        w.runtime = 2
        w.time_based = true
        w.rate_iops = 500
        let result = try WorkloadRun(workload: w).execute()
        let iops = try #require(result.write?.iops)
        #expect(abs(iops - 500) / 500 < 0.05)
    }

    @Test("flushes are issued every N writes and timed")
    func flushes() throws {
        let dir = scratchFolder("fsync")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        for engine in [EngineKind.io_uring, .libaio, .psync] {
            var w = Workload()
            w.ioengine = engine
            w.rw = .write
            w.iodepth = engine == .psync ? 1 : 4
            w.size = 256 << 10
            w.directory = dir
            w.name = "f\(engine.rawValue)"
            w.fdatasync = 16
            let result = try WorkloadRun(workload: w).execute()
            #expect(result.error == nil)
            #expect(result.write?.ios == 64)
            #expect(result.flush?.ios == 4, "engine \(engine)")
            #expect((result.flush?.lat_ns.p50 ?? 0) > 0)
        }
    }

    @Test("randrw splits I/O by rwmixwrite")
    func mixed() throws {
        let dir = scratchFolder("mixed", base: "/dev/shm")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var w = Workload()
        w.rw = .randrw
        w.rwmixwrite = 70
        w.iodepth = 8
        w.size = 8 << 20
        w.directory = dir
        let result = try WorkloadRun(workload: w).execute()
        let writes = Double(result.write?.ios ?? 0)
        let reads = Double(result.read?.ios ?? 0)
        #expect(writes + reads == 2048)
        #expect(abs(writes / (writes + reads) - 0.7) < 0.05)
    }

    @Test("the JSON result round-trips")
    func jsonRoundTrip() throws {
        let dir = scratchFolder("json", base: "/dev/shm")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var w = Workload()
        w.rw = .randwrite
        w.iodepth = 4
        w.size = 1 << 20
        w.directory = dir
        let run = try WorkloadRun(workload: w).execute(layer: LayerInfo(name: "host", settings: ["kind": "bare"]))
        let doc = ResultDocument(
            writepath: Provenance(version: "t", git_commit: "c", arguments: ["run"]), host: HostInfo.probe(), runs: [run])
        let text = try JSONFormat.render(doc)
        let back = try JSONFormat.parse(Data(text.utf8), source: "t.json")
        #expect(back.schema == "writepath.result/1")
        #expect(back.runs.count == 1)
        #expect(back.runs[0].workload == w)
        #expect(back.runs[0].layer == run.layer)
        #expect(back.runs[0].write?.ios == run.write?.ios)
        #expect(back.runs[0].write?.lat_ns == run.write?.lat_ns)
        let h = try LatencyHistogram(encoded: try #require(back.runs[0].write?.histogram))
        let original = try #require(run.write?.lat_ns)
        #expect(h.summary.min == original.min)
        #expect(h.summary.p50 == original.p50)
        #expect(h.summary.p99 == original.p99)
        #expect(h.summary.p99_9 == original.p99_9)
        #expect(h.summary.p99_99 == original.p99_99)
        #expect(h.summary.max == original.max)
        #expect(try JSONFormat.render(back) == text)
    }
}
