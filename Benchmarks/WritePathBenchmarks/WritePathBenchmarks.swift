// Microbenchmarks of writepath's engine through its public API (the WritePathEngine library).
//
//   null-engine submission loop  one WorkloadRun with ioengine=null: the job loop (offsets, clock
//                                reads, slot bookkeeping, histogram recording) with no I/O at all
//   histogram record             1M latency values recorded into a LatencyHistogram
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
