import Foundation
import Testing
import WritePathEngine
import WritePathReport
import WritePathResult
import WritePathTestSupport

@testable import WritePathRunner

#if canImport(Glibc)
    import Glibc
#endif

/// A sweep workload: random 4 KiB writes for `runtime` seconds per step.
func sweepWorkload(runtime: Double = 1) -> Workload {
    var w = Workload()
    w.name = "rand4k"
    w.rw = .randwrite
    w.size = 16 << 20
    w.runtime = runtime
    w.time_based = true
    return w
}

/// Runs a sweep into a fresh results folder under /var/tmp with targets on `scratch`.
func runSweep(
    _ layers: [LayerSpec], sweep: LoadSweep, slo: String, tenants: Int = 1, repetitions: Int = 1, runtime: Double = 1,
    scratch: String = "/dev/shm/writepath-sweep-tests", name: String
) throws -> (ResultDocument, String) {
    var options = SweepRunner.Options()
    options.resultsRoot = "/var/tmp/writepath-sweep-tests/\(name)-\(getpid())"
    options.scratchRoot = scratch
    options.engineBinary = engineBinary
    options.tenants = tenants
    options.repetitions = repetitions
    try? FileManager.default.removeItem(atPath: options.resultsRoot)
    let runner = try SweepRunner(
        layers: layers, workload: sweepWorkload(runtime: runtime), sweep: sweep, objective: try LatencyObjective.parse(slo),
        options: options, provenance: Provenance(version: "test", git_commit: "test", arguments: []))
    return (try runner.run(), runner.directory)
}

/// Containers and volumes this process's sweeps made that still exist (names `wp-<pid>-...`).
func sweepLeftovers() -> String {
    let prefix = "wp-\(getpid() % 100_000)-"
    let c = (try? Command.run("docker", ["ps", "-a", "--format", "{{.Names}}", "--filter", "name=\(prefix)"], timeout: 30))?.stdout ?? ""
    let v = (try? Command.run("docker", ["volume", "ls", "-q", "--filter", "name=\(prefix)"], timeout: 30))?.stdout ?? ""
    return (c + v).trimmingCharacters(in: .whitespacesAndNewlines)
}

/// Checks what every sweep must satisfy: one run per step, tenant and repetition, tagged, saved, a
/// point whose IOPS is the median over repetitions of the tenants' sum, and a stop reason that the
/// recorded points reproduce (the rule fires at the last step and not before).
func checkSweep(
    _ doc: ResultDocument, directory: String, layer: String, sweep: LoadSweep, objective: LatencyObjective, tenants: Int,
    repetitions: Int = 1
) throws {
    let info = try #require(doc.sweep)
    #expect(info.parameter == sweep.parameter.rawValue && info.values == sweep.values && info.tenants == tenants && info.complete)
    #expect(info.repetitions == repetitions)
    let l = try #require(info.layers.first { $0.layer == layer })
    #expect(["completed", "saturated", "slo_exceeded"].contains(l.stop_reason), "\(l.stop_reason): \(l.stop_detail)")
    #expect(!l.points.isEmpty)
    let runs = doc.runs.filter { $0.layerIdentity == layer }
    #expect(runs.count == l.points.count * tenants * repetitions)
    for (i, p) in l.points.enumerated() {
        #expect(p.step == i + 1 && p.value == sweep.values[i] && p.status == .ok)
        let stepRuns = runs.filter { $0.sweep?.step == i + 1 }
        #expect(stepRuns.count == tenants * repetitions)
        #expect(
            Set(stepRuns.map { "\($0.sweep!.tenant)/\($0.rep)" })
                == Set((1...tenants).flatMap { t in (1...repetitions).map { "\(t)/\($0)" } }))
        for r in stepRuns {
            #expect(r.status == .ok, "\(r.error ?? "")")
            #expect(r.workload.iodepth == (sweep.parameter == .iodepth ? p.value : r.workload.iodepth))
            #expect(r.workload.name == "rand4k")
            #expect((r.write?.ios ?? 0) > 0)
            #expect(r.sweep!.offered == Double(p.value * tenants))
        }
        // Each repetition's IOPS summed over its tenants; the point is their median.
        let repIOPS = (1...repetitions).map { rep in stepRuns.filter { $0.rep == rep }.map { $0.write!.iops }.reduce(0, +) }.sorted()
        let median = repetitions % 2 == 1 ? repIOPS[repetitions / 2] : (repIOPS[repetitions / 2 - 1] + repIOPS[repetitions / 2]) / 2
        #expect(abs(p.iops - median) < 1e-6, "step \(p.step): \(p.iops) IOPS, repetitions \(repIOPS)")
    }
    // The per-step files hold the same runs.
    let files = try FileManager.default.contentsOfDirectory(atPath: "\(directory)/runs").filter { $0.hasSuffix(".json") }
    #expect(files.count >= l.points.count * repetitions)
    let saved = try files.flatMap {
        try JSONFormat.parse(try Data(contentsOf: URL(fileURLWithPath: "\(directory)/runs/\($0)")), source: $0).runs
    }
    #expect(saved.filter { $0.layerIdentity == layer }.count == runs.count)
    let curve = try #require(CapacityCurve.curves(from: runs, percentile: objective.percentile).first)
    #expect(curve.points.count == l.points.count)
    #expect(zip(curve.points, l.points).allSatisfy { UInt64($0.latencyNs) == UInt64($1.latencyNs) })
    // Replay the stop rule over the recorded points.
    func decide(_ n: Int) -> SweepStopRule.Decision? {
        SweepStopRule.evaluate(
            Array(curve.points.prefix(n)), objective: objective, factor: info.stop_factor, sloAfter: info.stop_after,
            minGain: info.min_gain, saturationAfter: info.saturation_after, parameter: info.parameter)
    }
    for n in 1..<curve.points.count { #expect(decide(n) == nil, "the rule fired at step \(n) but the sweep went on") }
    if l.stop_reason == "completed" {
        #expect(l.points.count == sweep.values.count && decide(curve.points.count) == nil)
    } else {
        #expect(decide(curve.points.count)?.reason == l.stop_reason)
        #expect(decide(curve.points.count)?.detail == l.stop_detail)
    }
}

@Suite("sweeps: parsing")
struct SweepParsingTests {
    @Test("sweep forms: lists, doubling, steps and factors")
    func forms() throws {
        #expect(try LoadSweep.parse("iodepth=1,2,4,8") == LoadSweep(parameter: .iodepth, values: [1, 2, 4, 8]))
        #expect(try LoadSweep.parse("iodepth=1:max=256").values == [1, 2, 4, 8, 16, 32, 64, 128, 256])
        #expect(try LoadSweep.parse("iodepth=3:max=20").values == [3, 6, 12])
        #expect(try LoadSweep.parse("rate_iops=1000:step=1000:max=5k").values == [1000, 2000, 3000, 4000, 5000])
        #expect(try LoadSweep.parse("rate_iops=500:factor=1.5:max=2000").values == [500, 750, 1125, 1688])
        #expect(LoadSweep.defaultSweep == (try LoadSweep.parse("iodepth=1:max=256")))
        var w = Workload()
        LoadSweep(parameter: .rate_iops, values: [1]).apply(700, to: &w)
        #expect(w.rate_iops == 700)
    }

    @Test(
        "a bad sweep names the field",
        arguments: [
            "qd=1,2", "iodepth=4,2", "iodepth=0,1", "iodepth=1:max=0", "iodepth=1:256", "iodepth=1:step=1:max=1000",
            "iodepth=1:max=8:step=1:factor=2", "iodepth=1:factor=0.5:max=8", "iodepth", "iodepth=a", "iodepth=40000",
        ])
    func bad(text: String) {
        do {
            _ = try LoadSweep.parse(text, field: "sweep")
            Issue.record("'\(text)' parsed")
        } catch {
            #expect("\(error)".hasPrefix("invalid sweep: "), "\(error)")
        }
    }

    @Test("layers on the command line: name, name:k=v and name(k=v)")
    func layerSpecs() throws {
        #expect(try LayerSpec.parse("host") == LayerSpec(name: "host"))
        let a = try LayerSpec.parse("docker-volume:write_iops_limit=500,cpus=1")
        #expect(a == LayerSpec(name: "docker-volume", parameters: ["write_iops_limit": "500", "cpus": "1"]))
        #expect(try LayerSpec.parse(a.description) == a)
        #expect(throws: WritePathError.self) { try LayerSpec.parse("hots") }
        #expect(throws: WritePathError.self) { try LayerSpec.parse("docker-volume:colour=blue") }
        #expect(throws: WritePathError.self) { try LayerSpec.parse("docker-volume:write_iops_limit") }
        #expect(throws: WritePathError.self) { try LayerSpec.parse("docker-volume:write_iops_limit=-3") }
    }
}

@Suite("sweeps on the host", .serialized)
struct SweepHostTests {
    @Test("a real iodepth sweep 1,2,4,8 on the host: one tagged run per step, files, a reproducible stop reason")
    func hostSweep() throws {
        let sweep = try LoadSweep.parse("iodepth=1,2,4,8")
        let (doc, dir) = try runSweep([LayerSpec(name: "host")], sweep: sweep, slo: "p99=1s", name: "host")
        defer { try? FileManager.default.removeItem(atPath: (dir as NSString).deletingLastPathComponent) }
        try checkSweep(doc, directory: dir, layer: "host", sweep: sweep, objective: try LatencyObjective.parse("p99=1s"), tenants: 1)
        // run.json on disk is the document returned, and reads back.
        let onDisk = try JSONFormat.parse(try Data(contentsOf: URL(fileURLWithPath: "\(dir)/run.json")), source: "run.json")
        #expect(onDisk.runs.count == doc.runs.count && onDisk.sweep == doc.sweep)
        #expect(doc.runs.allSatisfy { $0.layer.settings["spec"] == "host" && $0.target?.filesystem == "tmpfs" })
        // The targets were removed.
        #expect(
            ((try? FileManager.default.contentsOfDirectory(atPath: "/dev/shm/writepath-sweep-tests")) ?? []).allSatisfy {
                !$0.hasPrefix((dir as NSString).lastPathComponent)
            })
    }

    @Test("an objective far below any real latency stops the sweep after stop_after steps: slo_exceeded")
    func sloStop() throws {
        let sweep = try LoadSweep.parse("iodepth=1,2,4,8")
        let (doc, dir) = try runSweep([LayerSpec(name: "host")], sweep: sweep, slo: "p99=100ns", name: "slo")
        defer { try? FileManager.default.removeItem(atPath: (dir as NSString).deletingLastPathComponent) }
        let l = try #require(doc.sweep?.layers.first)
        #expect(l.stop_reason == "slo_exceeded" && l.points.count == 2, "\(l.stop_reason): \(l.stop_detail)")
        #expect(l.stop_detail.contains("above 4x the objective (400 ns) for 2 consecutive steps"))
        try checkSweep(doc, directory: dir, layer: "host", sweep: sweep, objective: try LatencyObjective.parse("p99=100ns"), tenants: 1)
        let analysis = CapacityAnalysis.analyze(
            ResultInput(sources: [.init(path: dir, document: doc)]), objective: try LatencyObjective.parse("p99=100ns"))
        #expect(analysis.entries.first?.slo.method == SLOPoint.Method.none)
    }

    @Test("two tenants on the host: both run at once on their own targets, with fairness recorded")
    func hostTenants() throws {
        let sweep = try LoadSweep.parse("iodepth=4")
        let (doc, dir) = try runSweep([LayerSpec(name: "host")], sweep: sweep, slo: "p99=1s", tenants: 2, name: "tenants")
        defer { try? FileManager.default.removeItem(atPath: (dir as NSString).deletingLastPathComponent) }
        try checkSweep(doc, directory: dir, layer: "host", sweep: sweep, objective: try LatencyObjective.parse("p99=1s"), tenants: 2)
        #expect(doc.runs.count == 2)
        let paths = Set(doc.runs.compactMap { $0.target?.path })
        #expect(paths.count == 2, "each tenant has its own target: \(paths)")
        let tags = doc.runs.map { $0.sweep! }
        #expect(tags.map(\.wall_start_s).max()! < tags.map(\.wall_end_s).min()!, "the tenants overlapped in time")
        let point = try #require(doc.sweep?.layers.first?.points.first)
        let f = try #require(point.fairness)
        #expect(f.tenants == 2)
        #expect(f.jain_index > 0 && f.jain_index <= 1)
        #expect(f.min_max_ratio >= 0 && f.min_max_ratio <= 1)
        let x = point.tenantIOPS
        #expect(abs(f.jain_index - (x[0] + x[1]) * (x[0] + x[1]) / (2 * (x[0] * x[0] + x[1] * x[1]))) < 1e-9)
        #expect(abs(f.min_max_ratio - x.min()! / x.max()!) < 1e-12)
        let overlap = try #require(point.overlap)
        #expect(overlap > 0 && overlap <= 1)
    }
}

@Suite("sweeps with repetitions", .serialized)
struct SweepRepetitionTests {
    @Test("three repetitions of two tenants: 6 runs per step, the point is the median rep and the merged histograms")
    func repetitions() throws {
        let sweep = try LoadSweep.parse("iodepth=1,4")
        let objective = try LatencyObjective.parse("p99=1s")
        let (doc, dir) = try runSweep(
            [LayerSpec(name: "host")], sweep: sweep, slo: "p99=1s", tenants: 2, repetitions: 3, runtime: 0.3, name: "reps")
        defer { try? FileManager.default.removeItem(atPath: (dir as NSString).deletingLastPathComponent) }
        try checkSweep(doc, directory: dir, layer: "host", sweep: sweep, objective: objective, tenants: 2, repetitions: 3)
        let info = try #require(doc.sweep)
        #expect(info.planned_layers == ["host"] && info.workload == sweepWorkload(runtime: 0.3))
        let files = try FileManager.default.contentsOfDirectory(atPath: "\(dir)/runs").sorted()
        #expect(
            files.count == 6 && files[0].hasSuffix("-host-iodepth1-rep1.json") && files[5].hasSuffix("-host-iodepth4-rep3.json"), "\(files)"
        )
        for p in try #require(info.layers.first).points {
            let stepRuns = doc.runs.filter { $0.sweep!.step == p.step }
            // Repetitions run back to back: rep 1, 2, 3 of a step, each with both tenants at once.
            #expect(stepRuns.map(\.rep) == [1, 1, 2, 2, 3, 3])
            let repIOPS = (1...3).map { rep in stepRuns.filter { $0.rep == rep }.map { $0.write!.iops }.reduce(0, +) }
            #expect(p.repIOPS == repIOPS)
            #expect(abs(p.iops - repIOPS.sorted()[1]) < 1e-6)
            let repBW = (1...3).map { rep in stepRuns.filter { $0.rep == rep }.map { $0.write!.bw_bytes_per_s }.reduce(0, +) }
            #expect(abs(p.bwBytesPerSecond - repBW.sorted()[1]) < 1e-6)
            for t in 1...2 {
                let own = stepRuns.filter { $0.sweep!.tenant == t }.map { $0.write!.iops }.sorted()
                #expect(abs(p.tenantIOPS[t - 1] - own[1]) < 1e-6)
            }
            // Latency: percentiles of the six runs' merged histograms, not an average of percentiles.
            var merged = LatencyHistogram()
            for r in stepRuns { merged.add(try LatencyHistogram(encoded: r.write!.histogram)) }
            #expect(UInt64(p.latencyNs) == merged.value(atPercentile: 99) && UInt64(p.p50Ns) == merged.value(atPercentile: 50))
        }
        // The report side reads the same document the same way.
        let analysis = CapacityAnalysis.analyze(ResultInput(sources: [.init(path: dir, document: doc)]), objective: objective)
        let curve = try #require(analysis.entries.first?.curve)
        #expect(analysis.entries.count == 1 && curve.tenants == 2)
        #expect(curve.points.map(\.iops) == info.layers[0].points.map(\.iops) && curve.points.allSatisfy { $0.repetitions == 3 })
    }
}

@Suite("sweeps in containers", .serialized, Precondition.docker.trait)
struct SweepDockerTests {
    @Test("a real iodepth sweep in docker-tmpfs: tagged container runs, stop reason, nothing left behind")
    func dockerSweep() throws {
        let sweep = try LoadSweep.parse("iodepth=1,2,4")
        let (doc, dir) = try runSweep(
            [LayerSpec(name: "docker-tmpfs")], sweep: sweep, slo: "p99=1s", scratch: "/var/tmp/writepath-sweep-tests/scratch",
            name: "docker")
        defer { try? FileManager.default.removeItem(atPath: (dir as NSString).deletingLastPathComponent) }
        try checkSweep(
            doc, directory: dir, layer: "docker-tmpfs", sweep: sweep, objective: try LatencyObjective.parse("p99=1s"), tenants: 1)
        #expect(
            doc.runs.allSatisfy { $0.layer.name == "docker-tmpfs" && $0.layer.settings["image"]?.hasPrefix("writepath-engine:") == true })
        #expect(doc.runs.allSatisfy { $0.target?.filesystem == "tmpfs" })
        #expect(sweepLeftovers().isEmpty, "left behind: \(sweepLeftovers())")
    }

    @Test("two tenants in docker-volume with a write IOPS limit: each container is throttled, fairness recorded")
    func dockerTenantsLimited() throws {
        let sweep = try LoadSweep.parse("iodepth=8")
        let spec = LayerSpec(name: "docker-volume", parameters: ["write_iops_limit": "300"])
        let (doc, dir) = try runSweep(
            [spec], sweep: sweep, slo: "p99=10s", tenants: 2, scratch: "/var/tmp/writepath-sweep-tests/scratch",
            name: "docker-tenants")
        defer { try? FileManager.default.removeItem(atPath: (dir as NSString).deletingLastPathComponent) }
        try checkSweep(
            doc, directory: dir, layer: spec.description, sweep: sweep, objective: try LatencyObjective.parse("p99=10s"), tenants: 2)
        #expect(Set(doc.runs.map { $0.layer.settings["volume"] ?? "" }).count == 2, "each tenant has its own volume")
        for r in doc.runs { #expect(r.write!.iops < 300 * 1.5, "tenant \(r.sweep!.tenant): \(r.write!.iops) IOPS under a 300 limit") }
        let f = try #require(doc.sweep?.layers.first?.points.first?.fairness)
        #expect(f.jain_index > 0 && f.jain_index <= 1 && f.tenants == 2)
        #expect(sweepLeftovers().isEmpty, "left behind: \(sweepLeftovers())")
    }
}
