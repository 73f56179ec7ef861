// Microbenchmarks of writepath's engine through its public API (the WritePathEngine library).
//
//   null-engine submission loop  one WorkloadRun with ioengine=null: the job loop (offsets, clock
//                                reads, slot bookkeeping, histogram recording) with no I/O at all
//   histogram record             1M latency values recorded into a LatencyHistogram
//   guard-allocations-*          mallocs of whole runs of 16,384 and 262,144 I/Os (null engine) and
//                                4,096 and 65,536 (io_uring on tmpfs), checked against Thresholds/ by
//                                `make bench`: an allocation per I/O adds the run's I/O count
//
// Run from this folder: swift package benchmark (README.md has the details).

#if canImport(Glibc)
import Glibc
#endif
import Benchmark
import Foundation
import WritePathEngine

/// Folder of the null engine's target file: memory-backed where there is one. The null engine
/// never writes it, but the run still creates and allocates it (Target.prepare).
let scratchFolder: String = {
    var isDir: ObjCBool = false
    if FileManager.default.fileExists(atPath: "/dev/shm", isDirectory: &isDir), isDir.boolValue,
        access("/dev/shm", W_OK) == 0
    {
        return "/dev/shm"
    }
    return NSTemporaryDirectory()
}()

/// One file per benchmark process, removed in the benchmark's teardown.
let nullTargetPath = "\(scratchFolder)/writepath-benchmarks.\(getpid()).dat"

/// The null-engine workload: randwrite 4 KiB at depth 32 over 64 MiB, once (runtime 0), so each
/// run issues exactly 16,384 I/Os.
let nullWorkload: Workload = {
    var w = Workload()
    w.name = "null-submission"
    w.ioengine = .null
    w.rw = .randwrite
    w.bs = 4096
    w.iodepth = 32
    w.size = 64 << 20
    w.runtime = 0
    w.time_based = false
    w.filename = nullTargetPath
    // The null engine does no I/O; buffered keeps the benchmark independent of O_DIRECT support.
    w.direct = false
    return w
}()

let nullIOsPerRun = Int(nullWorkload.size! / nullWorkload.bs)

/// A workload of exactly `ios` 4 KiB random writes at depth 32 (runtime 0: the region once).
func guardWorkload(_ engine: EngineKind, ios: Int, path: String) -> Workload {
    var w = nullWorkload
    w.name = "guard-\(engine)"
    w.ioengine = engine
    w.size = UInt64(ios) * w.bs
    w.filename = path
    w.direct = engine != .null
    return w
}

/// The io_uring guards' target: tmpfs, so that the run measures the engine, not a device.
let uringTargetPath = "/dev/shm/writepath-benchmarks-uring.\(getpid()).dat"

/// Prints one line to standard error (the guards' notes, outside the benchmark's output).
func note(_ line: String) {
    FileHandle.standardError.write(Data("WritePathBenchmarks: \(line)\n".utf8))
}

/// Whether the io_uring guards can run here: /dev/shm is a writable folder and io_uring sets up.
let uringGuardAvailable: Bool = {
    guard access("/dev/shm", W_OK) == 0 else {
        note("/dev/shm is not writable: the io_uring allocation guards are skipped")
        return false
    }
    do {
        let r = try WorkloadRun(workload: guardWorkload(.io_uring, ios: 64, path: uringTargetPath)).execute()
        unlink(uringTargetPath)
        if r.status == "ok" { return true }
        note("io_uring run failed (\(r.error ?? r.status)): the io_uring allocation guards are skipped")
    } catch {
        unlink(uringTargetPath)
        note("io_uring unavailable (\(error)): the io_uring allocation guards are skipped")
    }
    return false
}()

/// Runs `workload` and checks it completed every I/O it should, as an ok run.
func runGuard(_ workload: Workload, ios: Int) throws {
    let result = try WorkloadRun(workload: workload).execute()
    guard result.status == "ok", let write = result.write, write.ios == UInt64(ios) else {
        throw BenchmarkFailure(description: "\(workload.name) failed: status \(result.status), \(result.error ?? "no error"), \(result.write?.ios ?? 0) of \(ios) I/Os")
    }
}

/// How far a guard's malloc count may stray from its threshold. A null run ends well inside a
/// second: setup varies by a few allocations. An io_uring run spans seconds of wall time, and each
/// second's interval close encodes its histogram as bucket lists (some thousand allocations, more
/// on a loaded machine, where the run takes longer): a quarter of the run's I/Os, and at least
/// 4,096, so that one allocation per I/O still crosses it in the 65,536-I/O run.
func allocationTolerance(_ engine: EngineKind, ios: Int) -> Int {
    engine == .null ? 64 : max(ios / 4, 4_096)
}

/// One allocation guard: the mallocs of one whole run (setup included) of `ios` I/Os. The small
/// and the large run of an engine allocate the same up to the tolerance, so the hot loop
/// allocates nothing per I/O; Thresholds/ holds each run's count (`make bench` checks them).
func allocationGuard(_ name: String, _ engine: EngineKind, ios: Int, path: String) {
    Benchmark(
        name,
        configuration: .init(
            metrics: [.mallocCountTotal],
            warmupIterations: 1,
            maxDuration: .seconds(10),
            maxIterations: 5,
            thresholds: [.mallocCountTotal: .init(absolute: [.p90: allocationTolerance(engine, ios: ios)])]
        ),
        closure: { _ in try runGuard(guardWorkload(engine, ios: ios, path: path), ios: ios) },
        teardown: { unlink(path) }
    )
}

/// The IOPS the job thread measures itself (runs[].write.iops): it excludes the run's setup and
/// WorkloadRun's 50 ms polling for the job threads' end, which dominate the wall clock of a run
/// this short. (CPU time is left out: getrusage counts in scheduler ticks, 10 ms here, longer
/// than the job thread's whole loop.)
let jobIOPS = BenchmarkMetric.custom("job thread IOPS", polarity: .prefersLarger, useScalingFactor: false)

/// 1M latencies from 1 µs to about 16 ms, spread over many HDR buckets (xorshift, fixed seed).
let latencySamples: [UInt64] = {
    var x: UInt64 = 0x9E37_79B9_7F4A_7C15
    var values = [UInt64](repeating: 0, count: 1_000_000)
    for i in values.indices {
        x ^= x << 13
        x ^= x >> 7
        x ^= x << 17
        let magnitude = 10 + x % 14  // 2^10 ... 2^23 ns
        values[i] = (1 << magnitude) + (x >> 40) % (1 << magnitude)
    }
    return values
}()

struct BenchmarkFailure: Error, CustomStringConvertible {
    var description: String
}

let benchmarks: @Sendable () -> Void = {
    Benchmark(
        "null-engine submission loop",
        configuration: .init(
            metrics: [.wallClock, .mallocCountTotal, jobIOPS],
            warmupIterations: 2,
            maxDuration: .seconds(5),
            maxIterations: 200
        ),
        closure: { benchmark in
            let result = try WorkloadRun(workload: nullWorkload).execute()
            guard result.error == nil, let write = result.write, write.ios == UInt64(nullIOsPerRun) else {
                throw BenchmarkFailure(description: "null run failed: \(result.error ?? "no error"), \(result.write?.ios ?? 0) of \(nullIOsPerRun) I/Os")
            }
            benchmark.measurement(jobIOPS, Int(write.iops))
        },
        teardown: {
            unlink(nullTargetPath)
        }
    )

    allocationGuard("guard-allocations-null-16k", .null, ios: 16_384, path: nullTargetPath)
    allocationGuard("guard-allocations-null-256k", .null, ios: 262_144, path: nullTargetPath)
    if uringGuardAvailable {
        allocationGuard("guard-allocations-io_uring-4k", .io_uring, ios: 4_096, path: uringTargetPath)
        allocationGuard("guard-allocations-io_uring-64k", .io_uring, ios: 65_536, path: uringTargetPath)
    }

    Benchmark(
        "histogram record",
        configuration: .init(
            metrics: [.wallClock, .cpuTotal, .throughput, .mallocCountTotal],
            // Each iteration records 1M values; times are reported per recorded value.
            scalingFactor: .mega,
            maxDuration: .seconds(5),
            maxIterations: 100
        ),
        closure: { benchmark in
            var histogram = LatencyHistogram()
            let values = latencySamples
            benchmark.startMeasurement()
            for i in benchmark.scaledIterations {
                histogram.record(values[i])
            }
            benchmark.stopMeasurement()
            blackHole(histogram.count)
        }
    )
}
