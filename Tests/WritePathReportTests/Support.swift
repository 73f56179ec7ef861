import Foundation
import WritePathReport
import WritePathResult
import WritePathTestSupport

@testable import WritePathEngine

#if canImport(Glibc)
    import Glibc
#endif

/// Synthetic results: runs whose latencies are drawn from a log-normal distribution around
/// `latencyNs`, with IOPS and bandwidth as given. Deterministic for a given `seed`.
enum Synthetic {
    static let host = HostInfo(
        hostname: "testhost", kernel: "6.1.0-test", kernel_version: "#1 SMP", cpu: "Test CPU", cores: 2,
        memory_bytes: 8 << 30)

    /// A standard normal value (Box-Muller).
    static func gaussian(_ rng: inout Xoshiro256) -> Double {
        let u1 = max(Double(rng.next() >> 11) / Double(1 << 53), 1e-12), u2 = Double(rng.next() >> 11) / Double(1 << 53)
        return (-2 * log(u1)).squareRoot() * cos(2 * .pi * u2)
    }

    static func run(
        layer: String, spec: String? = nil, workload: String = "rand4k", rep: Int, iops: Double,
        latencyNs: Double, ios: Int = 2000, seed: UInt64, settings: [String: String] = [:],
        status: RunStatus = .ok
    ) -> RunResult {
        var w = Workload()
        w.name = workload
        w.rw = .randwrite
        w.iodepth = 8
        w.runtime = 1
        w.time_based = true
        var info = LayerInfo(name: layer, settings: settings)
        if let spec { info.settings["spec"] = spec }
        var r = RunResult.failed(
            layer: info, workload: w, rep: rep, error: "synthetic failure", status: status,
            startedAt: "2026-11-26T00:00:00Z")
        guard status == .ok else { return r }
        r.error = nil
        var rng = Xoshiro256(seed: seed)
        var h = LatencyHistogram()
        for _ in 0..<ios { h.record(UInt64(latencyNs * exp(0.3 * gaussian(&rng)))) }
        let series = (1...3).map {
            SeriesPoint(
                t_s: Double($0), iops: iops * (1 + 0.01 * gaussian(&rng)), bw_bytes_per_s: iops * 4096, p99_ns: h.value(atPercentile: 99))
        }
        r.write = DirectionResult(
            ios: UInt64(ios), bytes: UInt64(ios) * 4096, iops: iops, bw_bytes_per_s: iops * 4096, runtime_s: 1,
            errors: 0, lat_ns: h.summary, histogram: h.encoded, series: series)
        r.cpu.cpu_ns_per_io = 2000 * (1 + 0.02 * gaussian(&rng))
        return r
    }

    /// `reps` runs of one layer with IOPS `iops` × (1 + noise·N(0,1)) and latency scaled inversely.
    static func runs(
        layer: String, spec: String? = nil, workload: String = "rand4k", reps: Int, iops: Double, noise: Double,
        seed: UInt64, settings: [String: String] = [:]
    ) -> [RunResult] {
        var rng = Xoshiro256(seed: seed)
        return (1...reps).map { rep in
            let v = iops * (1 + noise * gaussian(&rng))
            return run(
                layer: layer, spec: spec, workload: workload, rep: rep, iops: v, latencyNs: 8e9 / v,
                seed: seed &+ UInt64(rep), settings: settings)
        }
    }

    static func document(_ runs: [RunResult], host: HostInfo = host) -> ResultDocument {
        ResultDocument(writepath: Provenance(version: "0.0.0-test", git_commit: "test", arguments: []), host: host, runs: runs)
    }

    static func input(_ runs: [RunResult], host: HostInfo = host) -> ResultInput {
        ResultInput(sources: [ResultInput.Source(path: "synthetic.json", document: document(runs, host: host))])
    }
}

/// A fresh folder under /dev/shm for one test.
func scratchFolder(_ name: String) -> String {
    let dir = "/dev/shm/writepath-report-\(name)-\(getpid())"
    try? FileManager.default.removeItem(atPath: dir)
    try! FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    return dir
}

/// The built `writepath` binary next to the test bundle.
let writepathBinary = BuiltBinaries.writepath

/// Finds `name` on PATH.
func which(_ name: String) -> String? {
    for dir in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":") {
        let p = "\(dir)/\(name)"
        if FileManager.default.isExecutableFile(atPath: p) { return p }
    }
    return nil
}
