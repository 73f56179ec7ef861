import CWritePathShims
import Foundation
import Testing

@testable import WritePathEngine

#if canImport(Glibc)
    import Glibc
#endif

/// The io_uring engine's io-wq probe and placement (`iowq_colocate`, `force_async`), on the real
/// kernel: io_uring always hands an fsync, and every IOSQE_ASYNC request, to an io-wq worker,
/// so those runs must find `iowq:punted`.
@Suite("io_uring io-wq placement", .serialized)
struct IOWQPlacementTests {
    func run(_ configure: (inout Workload) throws -> Void, base: String = "/var/tmp") throws -> RunMeasurement {
        let dir = scratchFolder("iowq", base: base)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var w = Workload()
        w.name = "iowq"
        w.rw = .write
        w.bs = 4096
        w.size = 1 << 20
        w.directory = dir
        try configure(&w)
        try w.validate()
        let result = try WorkloadRun(workload: w).execute()
        #expect(result.error == nil, "\(result.error ?? "")")
        // Whatever the placement, every write is done and counted once.
        #expect(result.write?.ios == (w.size ?? 0) / w.bs)
        #expect(result.write?.errors == 0)
        return result
    }

    func colocated(_ r: RunMeasurement) -> String? { r.engine.features.first { $0.hasPrefix("iowq_colocated:") } }

    @Test("fsync goes to io-wq: at iodepth 1 auto puts the job and its workers on one CPU")
    func fsyncColocates() throws {
        let r = try run { $0.fsync = 1 }
        #expect(r.engine.features.contains("iowq:punted"))
        let c = try #require(colocated(r), "features: \(r.engine.features)")
        #expect(c.hasSuffix("(auto)"))
        // The CPU named is one this process may run on.
        var allowed = [Int32](repeating: 0, count: 1024)
        let n = Int(wp_thread_allowed_cpus(&allowed, 1024))
        #expect(allowed[0..<n].contains { c.hasPrefix("iowq_colocated:cpu\($0)(") })
        #expect(r.flush?.ios == 256)
    }

    @Test("iowq_colocate=0 leaves placement to the scheduler but still reports the finding")
    func off() throws {
        let r = try run {
            $0.fsync = 1; $0.io_uring.iowq_colocate = .off
        }
        #expect(r.engine.features.contains("iowq:punted"))
        #expect(colocated(r) == nil)
    }

    @Test("a deep queue is not colocated by auto, but is when asked")
    func deepQueue() throws {
        let auto = try run {
            $0.fsync = 4; $0.iodepth = 32
        }
        #expect(auto.engine.features.contains("iowq:punted"))
        #expect(colocated(auto) == nil)
        let asked = try run {
            $0.fsync = 4; $0.iodepth = 32; $0.io_uring.iowq_colocate = .on
        }
        #expect(colocated(asked)?.hasSuffix("(requested)") == true)
    }

    @Test("punted writes: the engine batches completions unless iodepth_batch_complete_min is given, 1 included")
    func completionBatchGiven() throws {
        let batch = { (r: RunMeasurement) in r.engine.features.first { $0.hasPrefix("iowq_complete_batch:") } }
        let chosen = try run {
            $0.io_uring.force_async = 1; $0.iodepth = 16
        }
        #expect(chosen.engine.features.contains("iowq:punted"))
        #expect(batch(chosen) == "iowq_complete_batch:8(auto)", "features: \(chosen.engine.features)")
        for given in ["1", "0"] {
            var parsed = Workload()
            try parsed.set("iodepth_batch_complete_min", given)
            #expect(parsed.iodepth_batch_complete_min == 1)
            let one = try run {
                $0.io_uring.force_async = 1; $0.iodepth = 16
                try $0.set("iodepth_batch_complete_min", given)
            }
            #expect(batch(one) == nil, "iodepth_batch_complete_min=\(given): \(one.engine.features)")
        }
    }

    @Test("punted writes: colocated up to iodepth 4, polled from 5 to 16 (on 2+ CPUs), batched waits deeper")
    func placementByDepth() throws {
        var cpus = [Int32](repeating: 0, count: 1024)
        let twoCPUs = wp_thread_allowed_cpus(&cpus, 1024) > 1
        let polled = { (r: RunMeasurement) in r.engine.features.contains { $0.hasPrefix("iowq_poll:") } }
        for (depth, colocate, poll) in [(4, true, false), (8, false, twoCPUs), (16, false, twoCPUs), (32, false, false)] {
            let r = try run {
                $0.io_uring.force_async = 1; $0.iodepth = depth
            }
            #expect(r.engine.features.contains("iowq:punted"))
            #expect((colocated(r) != nil) == colocate, "iodepth \(depth): \(r.engine.features)")
            #expect(polled(r) == poll, "iodepth \(depth): \(r.engine.features)")
        }
    }

    @Test("force_async hands writes to io-wq and says so")
    func forceAsync() throws {
        let r = try run {
            $0.io_uring.force_async = 1; $0.io_uring.iowq_colocate = .off
        }
        #expect(r.engine.features.contains("force_async:1"))
        #expect(r.engine.features.contains("iowq:punted"))
    }

    @Test("the probe's finding is consistent with the placement on tmpfs")
    func tmpfs() throws {
        let r = try run({ $0.rw = .randwrite }, base: "/dev/shm")
        let punted = r.engine.features.contains("iowq:punted")
        #expect(punted || r.engine.features.contains("iowq:inline"), "features: \(r.engine.features)")
        // auto colocates exactly when the writes went to io-wq.
        #expect((colocated(r) != nil) == punted)
    }

    @Test("iodepth_level shows the queue filled to iodepth, also with iodepth_batch_submit")
    func depthLevels() throws {
        let r = try run(
            {
                $0.rw = .randwrite; $0.size = 16 << 20; $0.iodepth = 32; $0.iodepth_batch_submit = 8
            }, base: "/dev/shm")
        let levels = try #require(r.iodepth_level)
        #expect(abs(levels.values.reduce(0, +) - 100) < 0.001)
        // Batches of 8 go in until 32 are in flight: most submissions land at depth 16 or more,
        // none above 32.
        #expect((levels["16"] ?? 0) + (levels["32"] ?? 0) > 50, "levels: \(levels)")
        #expect(levels[">=64"] == 0)
        let one = try run { $0.iodepth = 1 }
        #expect(one.iodepth_level?["1"] == 100)
    }
}
