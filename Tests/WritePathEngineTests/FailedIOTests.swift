import Foundation
import Testing

@testable import WritePathEngine

#if canImport(Glibc)
    import Glibc
#endif

/// An engine whose every I/O fails with EBADF: it must never show up as throughput.
final class FailingEngine: IOEngine {
    static let kind = EngineKind.null
    var ready: [Int] = []
    var prepared: [Int] = []
    let features = ["test:fails"]
    static nonisolated(unsafe) var result = -Int(EBADF)
    init(setup: EngineSetup) throws {}
    func prepare(slot: Int, operation: IOOperation, buffer: Int, offset: UInt64, length: Int) { prepared.append(slot) }
    func prepareFlush(slot: Int, datasync: Bool) { prepared.append(slot) }
    func submit(waitFor minimum: Int, timeoutNanoseconds: UInt64?) throws { ready += prepared; prepared = [] }
    func reap(_ body: (Int, Int) -> Void) -> Int {
        let r = ready
        ready = []
        for s in r { body(s, FailingEngine.result) }
        return r.count
    }
    func close() {}
}

@Suite("Failed and short I/O", .serialized)
struct FailedIOTests {
    func runFailing(result: Int) throws -> JobOutcome {
        FailingEngine.result = result
        var w = Workload()
        w.iodepth = 8
        w.size = 1 << 20
        w.runtime = 1
        w.time_based = true
        let target = PreparedTarget(
            info: TargetInfo(
                path: "/nonexistent", kind: "file", filesystem: nil, device: nil, device_number: nil,
                logical_block_size: nil, dio_offset_align: 512, dio_mem_align: 512,
                alignment_source: "test", size_bytes: 1 << 20, created: false, direct_io: nil),
            regionOffset: 0, regionLength: 1 << 20)
        return JobRunner<FailingEngine>(workload: w, job: 0, target: target, fd: -1, buffers: [], progress: JobProgress()).run()
    }

    @Test("writes failing with EBADF count as errors, never as I/O")
    func ebadf() throws {
        let out = try runFailing(result: -Int(EBADF))
        #expect(out.write.ios == 0)
        #expect(out.write.bytes == 0)
        #expect(out.write.errors == 8)
        #expect(out.error?.description.contains("EBADF") == true)
        #expect(out.measuredSeconds < 0.5, "the job must stop at the first error, not run on")
    }

    @Test("a short write is an error")
    func shortWrite() throws {
        let out = try runFailing(result: 2048)
        #expect(out.write.ios == 0)
        #expect(out.write.errors == 8)
        #expect(out.error?.description.contains("short transfer of 2048 of 4096 bytes") == true)
    }
}
