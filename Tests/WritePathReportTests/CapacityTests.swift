import Foundation
import Testing
import WritePathResult
import WritePathRunner

@testable import WritePathEngine
@testable import WritePathReport

/// An M/M/1 queue with service time `s` ns at utilisations `rhos`: IOPS = ρ/s, latency = s/(1-ρ).
/// Its elasticity d ln(latency)/d ln(IOPS) = ρ/(1-ρ) is 1 at ρ = 0.5 (latency 2s): the knee.
func mm1(serviceNs s: Double, rhos: [Double]) -> [SweepStep] {
    rhos.enumerated().map { i, rho in
        SweepStep(step: i + 1, value: i + 1, offered: rho, iops: rho / (s / 1e9), latencyNs: s / (1 - rho))
    }
}

/// A closed loop (queue depth sweep) that carries `perSlot` IOPS per I/O in flight up to
/// `ceiling` IOPS; latency follows Little's law, QD / IOPS.
func closedLoop(depths: [Int], perSlot: Double, ceiling: Double) -> [SweepStep] {
    depths.enumerated().map { i, qd in
        let iops = min(Double(qd) * perSlot, ceiling)
        return SweepStep(step: i + 1, value: qd, offered: Double(qd), iops: iops, latencyNs: Double(qd) / iops * 1e9)
    }
}

@Suite("capacity: objectives, SLO point, knee, stop rules")
struct CapacityMathTests {
    @Test("objectives parse percentiles and durations with units")
    func objectives() throws {
        let a = try LatencyObjective.parse("p99=2ms")
        #expect(a.percentile == 99 && a.thresholdNs == 2_000_000)
        #expect(a.text == "p99=2ms" && a.description == "p99 <= 2 ms")
        let b = try LatencyObjective.parse("p99.9=500us")
        #expect(b.percentile == 99.9 && b.thresholdNs == 500_000 && b.percentileLabel == "p99.9")
        #expect(try LatencyObjective.parse("p99_99=1.5s").thresholdNs == 1.5e9)
        #expect(try LatencyObjective.parse("P50=800ns").thresholdNs == 800)
        #expect(try LatencyObjective.parse(try LatencyObjective.parse("p99.9=1.25ms").text).thresholdNs == 1_250_000)
    }

    @Test(
        "a bad objective names the field",
        arguments: ["p99=2", "q99=2ms", "p100=1ms", "p0=1ms", "p99=-1ms", "p99=0ms", "99=2ms", "p99", "p99=2h"])
    func badObjectives(text: String) {
        #expect(throws: WritePathError.self) { try LatencyObjective.parse(text, field: "slo") }
        do { _ = try LatencyObjective.parse(text, field: "slo") } catch {
            #expect("\(error)".hasPrefix("invalid slo: "), "\(error)")
        }
    }

    @Test("M/M/1: the knee is at rho = 0.5, latency 2s")
    func mm1Knee() throws {
        let s = 100_000.0  // 100 us
        let coarse = mm1(serviceNs: s, rhos: (1...19).map { Double($0) * 0.05 })
        let k = try #require(Capacity.knee(coarse, parameter: "rho"))
        #expect(k.interpolated)
        #expect(abs(k.iops - 5000) / 5000 < 0.01, "knee at \(k.iops) IOPS")
        #expect(abs(k.latencyNs - 2 * s) / (2 * s) < 0.01, "knee latency \(k.latencyNs)")
        #expect(k.step == 10)  // rho = 0.50 starts the first segment with elasticity > 1
        #expect(Capacity.elasticity(from: coarse[8], to: coarse[9]) <= 1)
        #expect(Capacity.elasticity(from: coarse[9], to: coarse[10]) > 1)
        // Finer steps converge on the analytical answer.
        let fine = mm1(serviceNs: s, rhos: (1...99).map { Double($0) * 0.01 })
        let kf = try #require(Capacity.knee(fine))
        #expect(abs(kf.iops - 5000) / 5000 < 0.001, "fine knee at \(kf.iops) IOPS")
    }

    @Test("M/M/1: the SLO point interpolates between the steps around the crossing")
    func mm1SLO() throws {
        let s = 100_000.0
        let points = mm1(serviceNs: s, rhos: (1...19).map { Double($0) * 0.05 })
        // 700 us: s/(1-rho) = 7s at rho = 6/7 = 0.857, between rho 0.85 (667 us) and 0.90 (1 ms).
        let p = Capacity.sloPoint(points, thresholdNs: 700_000)
        #expect(p.method == .interpolated)
        #expect(p.lowerStep == 17 && p.upperStep == 18)
        #expect(abs(p.iops - 8550) < 1e-6, "linear interpolation: 8500 + 0.1 x 500, got \(p.iops)")
        #expect(abs(p.iops - 60_000 / 7) / (60_000 / 7) < 0.005, "within 0.5% of the exact 8571")
        #expect(p.latencyNs == 700_000)
        // Every step within a loose objective: a lower bound at the highest step.
        let loose = Capacity.sloPoint(points, thresholdNs: 10_000_000)
        #expect(loose.method == .notReached && abs(loose.iops - 9500) < 1e-6)
        // Even the first step (105 us) beyond a tight one: nothing.
        let tight = Capacity.sloPoint(points, thresholdNs: 100_000)
        #expect(tight.method == .none && tight.iops == 0)
        #expect(Capacity.sloPoint([], thresholdNs: 1).method == .none)
    }

    @Test("closed loop: the knee is where throughput stops growing, the SLO point is measured there")
    func closedLoopCurve() throws {
        // 10k IOPS per slot up to 80k: latency 100 us up to QD 8, then doubling with QD.
        let points = closedLoop(depths: [1, 2, 4, 8, 16, 32, 64], perSlot: 10_000, ceiling: 80_000)
        let k = try #require(Capacity.knee(points, parameter: "iodepth"))
        #expect(!k.interpolated && k.value == 8 && k.iops == 80_000 && k.elasticity == .infinity)
        let p = Capacity.sloPoint(points, thresholdNs: 150_000, parameter: "iodepth")
        #expect(p.method == .measured && p.iops == 80_000 && p.lowerStep == 4 && p.upperStep == 5)
        #expect(p.note.contains("iodepth=16") && p.note.contains("added no throughput"))
        // A curve whose latency never grows faster than throughput has no knee.
        #expect(Capacity.knee(closedLoop(depths: [1, 2, 4], perSlot: 10_000, ceiling: 1e9)) == nil)
    }

    @Test("a later step back within the objective is not counted")
    func noisyRecovery() {
        let points = [
            SweepStep(step: 1, value: 1, offered: 1, iops: 10_000, latencyNs: 500_000),
            SweepStep(step: 2, value: 2, offered: 2, iops: 12_000, latencyNs: 3_000_000),
            SweepStep(step: 3, value: 4, offered: 4, iops: 30_000, latencyNs: 1_500_000),
        ]
        let p = Capacity.sloPoint(points, thresholdNs: 2_000_000, parameter: "iodepth")
        #expect(p.method == .interpolated && p.upperStep == 2)
        #expect(abs(p.iops - (10_000 + 0.6 * 2000)) < 1e-6)
        #expect(p.note.contains("iodepth=4 met the objective again"))
    }

    @Test("rate sweep: a step that missed its offered rate counts as beyond the objective")
    func rateNotMet() {
        let points = [
            SweepStep(step: 1, value: 1000, offered: 1000, iops: 1000, latencyNs: 120_000, offeredRateMet: true),
            SweepStep(step: 2, value: 2000, offered: 2000, iops: 2000, latencyNs: 150_000, offeredRateMet: true),
            SweepStep(step: 3, value: 3000, offered: 3000, iops: 2950, latencyNs: 300_000, offeredRateMet: true),
            // Latency looks fine, but the I/Os that waited for a slot are not in it.
            SweepStep(step: 4, value: 4000, offered: 4000, iops: 3100, latencyNs: 400_000, offeredRateMet: false),
        ]
        let p = Capacity.sloPoint(points, thresholdNs: 1_000_000, parameter: "rate_iops")
        #expect(p.method == .measured && p.iops == 2950 && p.upperStep == 4)
        #expect(p.note.contains("did not reach its offered rate"))
        let objective = LatencyObjective(percentile: 99, thresholdNs: 1_000_000)
        let stop = SweepStopRule.evaluate(
            points, objective: objective, factor: 4, sloAfter: 2, minGain: 0.1, saturationAfter: 1,
            parameter: "rate_iops")
        #expect(stop?.reason == "saturated" && stop?.detail.contains("offered rate was not reached") == true)
    }

    @Test("stop rule: the objective far exceeded for consecutive steps")
    func stopOnSLO() {
        let objective = LatencyObjective(percentile: 99, thresholdNs: 2_000_000)
        func pts(_ ms: [Double]) -> [SweepStep] {
            ms.enumerated().map {
                SweepStep(step: $0 + 1, value: 1 << $0, offered: Double(1 << $0), iops: Double(1000 * ($0 + 1)), latencyNs: $1 * 1e6)
            }
        }
        func decide(_ p: [SweepStep]) -> SweepStopRule.Decision? {
            SweepStopRule.evaluate(p, objective: objective, factor: 4, sloAfter: 2, minGain: 0.1, saturationAfter: 3, parameter: "iodepth")
        }
        #expect(decide(pts([1, 2, 9])) == nil)  // one step beyond 8 ms
        #expect(decide(pts([1, 9, 3, 9])) == nil)  // not consecutive
        let d = decide(pts([1, 2, 9, 10]))
        #expect(d?.reason == "slo_exceeded")
        #expect(d?.detail.contains("iodepth=4: 9 ms, iodepth=8: 10 ms") == true, "\(d?.detail ?? "")")
        #expect(decide(pts([1, 2, 8, 8])) == nil)  // at, not above, the limit
    }

    @Test("stop rule: saturation when added load stops becoming throughput")
    func stopOnSaturation() {
        let objective = LatencyObjective(percentile: 99, thresholdNs: 1e9)
        let iops = [10_000.0, 20_000, 21_000, 21_500, 21_000, 30_000]
        let points = iops.enumerated().map { SweepStep(step: $0 + 1, value: 1 << $0, offered: Double(1 << $0), iops: $1, latencyNs: 1e5) }
        func decide(_ n: Int) -> SweepStopRule.Decision? {
            SweepStopRule.evaluate(Array(points.prefix(n)), objective: objective, factor: 4, sloAfter: 2, minGain: 0.1, saturationAfter: 3)
        }
        #expect(decide(3) == nil && decide(4) == nil)
        // Gains of the last three steps: 0.05, 0.024, -0.023 (each below 0.1).
        let d = decide(5)
        #expect(d?.reason == "saturated" && d?.detail.contains("gain 0.05") == true, "\(d?.detail ?? "")")
        // A linear rate step adds 5% load: 5% more IOPS is a gain of 1, not saturation.
        let linear = (1...8).map {
            SweepStep(step: $0, value: 1000 * (19 + $0), offered: Double(1000 * (19 + $0)), iops: Double(1000 * (19 + $0)), latencyNs: 1e5)
        }
        #expect(SweepStopRule.evaluate(linear, objective: objective, factor: 4, sloAfter: 2, minGain: 0.1, saturationAfter: 3) == nil)
    }

    @Test("fairness: min/max ratio and Jain's index")
    func fairness() throws {
        let even = try #require(Fairness(iops: [100, 100, 100]))
        #expect(even.min_max_ratio == 1 && abs(even.jain_index - 1) < 1e-12 && even.tenants == 3)
        let skewed = try #require(Fairness(iops: [300, 100]))
        #expect(abs(skewed.min_max_ratio - 1.0 / 3) < 1e-12)
        #expect(abs(skewed.jain_index - 0.8) < 1e-12)  // 400^2 / (2 x 100000)
        let starved = try #require(Fairness(iops: [100, 0]))
        #expect(starved.min_max_ratio == 0 && abs(starved.jain_index - 0.5) < 1e-12)  // 1/n
        #expect(Fairness(iops: []) == nil && Fairness(iops: [0, 0]) == nil && Fairness(iops: [.nan, 1]) == nil)
    }

    @Test("tenant overlap: boot time and runtime decide how long tenants were measured together")
    func overlap() throws {
        func tenant(_ i: Int, boot: Double, runtime: Double) -> RunResult {
            var r = Synthetic.run(
                layer: "qemu-virtio-blk", workload: "w", rep: 1, iops: 100, latencyNs: 1000, seed: UInt64(i),
                settings: ["boot_s": "\(boot)"])
            r.write!.runtime_s = runtime
            r.sweep = SweepTag(
                parameter: "iodepth", value: 1, step: 1, tenant: i, tenants: 2, offered: 2, wall_start_s: 1000,
                wall_end_s: 1000 + boot + runtime)
            return r
        }
        #expect(TenantOverlap.estimate([tenant(1, boot: 17, runtime: 1), tenant(2, boot: 20, runtime: 1)]) == 0)
        #expect(
            abs(try #require(TenantOverlap.estimate([tenant(1, boot: 17, runtime: 10), tenant(2, boot: 20, runtime: 10)])) - 0.7) < 1e-9)
        #expect(TenantOverlap.estimate([tenant(1, boot: 5, runtime: 10), tenant(2, boot: 5, runtime: 10)]) == 1)
        #expect(TenantOverlap.estimate([tenant(1, boot: 5, runtime: 10)]) == nil)
    }

    @Test("curves from tagged runs: IOPS summed over tenants, percentiles from merged histograms, failed steps left out")
    func curvesFromRuns() throws {
        var runs: [RunResult] = []
        for step in 1...3 {
            for tenant in 1...2 {
                runs.append(
                    twoTenantRun(
                        step: step, value: 1 << (step - 1), tenant: tenant, iops: Double(1000 * step * tenant),
                        latencyNs: Double(50_000 * step * tenant), ios: 1000 * tenant, seed: UInt64(step * 10 + tenant),
                        failed: step == 3 && tenant == 2))
            }
        }
        runs.append(Synthetic.run(layer: "host", workload: "w", rep: 1, iops: 5, latencyNs: 1, seed: 99))  // not a sweep run
        let curves = CapacityCurve.curves(from: runs, percentile: 99)
        #expect(curves.count == 1)
        let c = try #require(curves.first)
        #expect(c.tenants == 2 && c.parameter == "iodepth" && c.label == "host ×2 tenants")
        #expect(c.points.map(\.value) == [1, 2] && c.failedSteps == [3])
        let p1 = c.points[0]
        #expect(p1.iops == 3000 && p1.tenantIOPS == [1000, 2000])
        var merged = LatencyHistogram()
        for r in runs.prefix(2) { merged.add(try LatencyHistogram(encoded: r.write!.histogram)) }
        #expect(p1.latencyNs == Double(merged.value(atPercentile: 99)))
        #expect(p1.p50Ns == Double(merged.value(atPercentile: 50)))
        #expect(abs(p1.fairness!.jain_index - 0.9) < 1e-12)  // 3000^2 / (2 x 5e6)
        #expect(p1.offeredRateMet == nil)
        // Sweep runs are not rows of the aggregated table, and the failed step is a warning.
        let a = Aggregation.aggregate(Synthetic.input(runs))
        #expect(a.rows.count == 1 && a.rows[0].runs.count == 1)
        #expect(a.warnings.contains { $0.contains("iodepth=4 tenant 2: failed") })
    }

    @Test("repetitions of a step: median IOPS over the ok ones, percentiles from their merged histograms, a failed one left out")
    func repetitionsOfAStep() throws {
        var runs: [RunResult] = []
        // Step 1: four repetitions of two tenants; repetition 4 has a failed tenant. Step 2: its only repetition failed.
        for rep in 1...4 {
            for tenant in 1...2 {
                runs.append(
                    twoTenantRun(
                        step: 1, value: 1, tenant: tenant, rep: rep, iops: Double(1000 * rep + 100 * tenant),
                        latencyNs: Double(20_000 * rep), seed: UInt64(rep * 10 + tenant), failed: rep == 4 && tenant == 2))
            }
        }
        for tenant in 1...2 { runs.append(twoTenantRun(step: 2, value: 2, tenant: tenant, iops: 0, latencyNs: 1, seed: 50, failed: true)) }
        let c = try #require(CapacityCurve.curves(from: runs.shuffled(), percentile: 99).first)
        #expect(c.points.count == 1 && c.failedSteps == [2])
        let p = c.points[0]
        // Repetition sums 2300, 4300, 6300: the median is the middle one, not the sum or the mean of four.
        #expect(p.repIOPS == [2300, 4300, 6300] && p.repetitions == 3 && p.iops == 4300)
        #expect(p.tenantIOPS == [2100, 2200] && p.bwBytesPerSecond == 4300 * 4096)
        var merged = LatencyHistogram()
        for r in runs where r.rep < 4 && r.sweep!.step == 1 { merged.add(try LatencyHistogram(encoded: r.write!.histogram)) }
        #expect(merged.count == 6 * 2000)
        #expect(p.latencyNs == Double(merged.value(atPercentile: 99)) && p.p50Ns == Double(merged.value(atPercentile: 50)))
        // The report's Capacity table says how many repetitions the points aggregate.
        let analysis = CapacityAnalysis.analyze(Synthetic.input(runs), objective: LatencyObjective(percentile: 99, thresholdNs: 2_000_000))
        #expect(HTMLReport.capacitySection(analysis, plan: nil).contains("1 (+1 failed) × 3 reps"))
    }
}

/// A synthetic run of host, workload `w`, in a two-tenant iodepth sweep at `value` I/Os in flight
/// per tenant (`offered` 2 × value).
private func twoTenantRun(
    step: Int, value: Int, tenant: Int, rep: Int = 1, iops: Double, latencyNs: Double, ios: Int = 2000, seed: UInt64,
    failed: Bool = false
) -> RunResult {
    var r = Synthetic.run(
        layer: "host", workload: "w", rep: rep, iops: iops, latencyNs: latencyNs, ios: ios, seed: seed, status: failed ? .failed : .ok)
    r.sweep = SweepTag(
        parameter: "iodepth", value: value, step: step, tenant: tenant, tenants: 2, offered: Double(2 * value), wall_start_s: 0,
        wall_end_s: 1)
    return r
}

@Suite("capacity plan arithmetic")
struct CapacityPlanTests {
    static let objective = LatencyObjective(percentile: 99, thresholdNs: 2_000_000)

    static func entry(_ layer: String, bs: UInt64 = 4096, _ points: [(Int, Double, Double)]) -> CapacityAnalysis.Entry {
        var w = Workload()
        w.bs = bs
        let pts = points.enumerated().map {
            SweepStep(step: $0 + 1, value: $1.0, offered: Double($1.0), iops: $1.1, latencyNs: $1.2 * 1000)
        }
        let curve = CapacityCurve(
            layer: layer, layerName: layer, workload: w, parameter: "iodepth", tenants: 1, percentile: 99, points: pts)
        return CapacityAnalysis.Entry(
            curve: curve, slo: Capacity.sloPoint(pts, thresholdNs: objective.thresholdNs),
            knee: Capacity.knee(pts), label: layer)
    }

    /// A: SLO point interpolated at 45k; B: 30k measured; C: another block size; D: nothing meets
    /// the objective; E: 44375, the same host count as A but lower latency at the load.
    static let analysis = CapacityAnalysis(
        objective: objective,
        entries: [
            entry("A", [(1, 10_000, 100), (2, 20_000, 150), (4, 40_000, 1000), (8, 50_000, 3000)]),
            entry("B", [(1, 15_000, 200), (2, 30_000, 900), (4, 29_500, 2500)]),
            entry("C", bs: 8192, [(1, 50_000, 100), (2, 90_000, 200)]),
            entry("D", [(1, 5_000, 2500), (2, 6_000, 5000)]),
            entry("E", [(1, 15_000, 50), (2, 30_000, 80), (4, 44_000, 500), (8, 44_500, 2500)]),
        ])

    @Test("tenants per host, hosts, busiest host, margin and the cheapest layer")
    func plan() throws {
        let demand = CapacityDemand(tenants: 100, iopsPerTenant: 1000, bs: 4096, objective: Self.objective, headroom: 0.2)
        let plan = CapacityPlanner.plan(Self.analysis, demand: demand)
        #expect(plan.rows.map(\.entry.label) == ["E", "A", "B", "D"])
        #expect(plan.excluded.count == 1 && plan.excluded[0].hasPrefix("C: measured with bs=8KiB"))
        let a = try #require(plan.rows.first { $0.entry.label == "A" })
        #expect(a.entry.slo.method == .interpolated && abs(a.capacityIOPS - 45_000) < 1e-6)
        #expect(abs(a.usableIOPS - 36_000) < 1e-6)
        #expect(a.tenantsPerHost == 36 && a.hosts == 3 && a.tenantsOnBusiestHost == 34)
        #expect(abs(a.loadPerHostIOPS - 34_000) < 1e-9)
        #expect(abs(a.margin! - (1 - 34.0 / 45)) < 1e-12)
        #expect(abs(a.latencyAtLoadNs! - 640_946.87) < 1)  // log-log between 20k (150 us) and 40k (1 ms)
        #expect(a.bandwidthPerHost == 34_000 * 4096)
        let b = try #require(plan.rows.first { $0.entry.label == "B" })
        #expect(
            b.entry.slo.method == .measured && b.capacityIOPS == 30_000 && b.tenantsPerHost == 24 && b.hosts == 5
                && b.tenantsOnBusiestHost == 20)
        let d = try #require(plan.rows.last)
        #expect(d.entry.label == "D" && d.hosts == nil && d.tenantsPerHost == 0 && d.margin == nil && !d.cheapest)
        let e = try #require(plan.rows.first)
        #expect(abs(e.capacityIOPS - 44_375) < 1e-6 && e.tenantsPerHost == 35 && e.hosts == 3)
        #expect(e.cheapest && plan.cheapest?.entry.label == "E")
        #expect(abs(e.latencyAtLoadNs! - 145_608.33) < 1)
        #expect(!a.cheapest)
    }

    @Test("no headroom, an exact fit, and a rounding edge")
    func edges() throws {
        let exact = CapacityPlanner.plan(
            Self.analysis, demand: CapacityDemand(tenants: 90, iopsPerTenant: 1000, bs: 4096, objective: Self.objective, headroom: 0))
        let a = try #require(exact.rows.first { $0.entry.label == "A" })
        #expect(a.tenantsPerHost == 45 && a.hosts == 2 && a.margin == 0)
        // 1000 x (1 - 0.9) is 99.99999999999998 in binary floating point: still 10 tenants of 10 IOPS.
        let flat = CapacityAnalysis(objective: Self.objective, entries: [Self.entry("F", [(1, 500, 100), (2, 1000, 150)])])
        let plan = CapacityPlanner.plan(
            flat, demand: CapacityDemand(tenants: 25, iopsPerTenant: 10, bs: 4096, objective: Self.objective, headroom: 0.9))
        #expect(plan.rows[0].entry.slo.method == .notReached)
        #expect(plan.rows[0].tenantsPerHost == 10 && plan.rows[0].hosts == 3)
        #expect(plan.rows[0].note.contains("lower bound"))
        // A tenant larger than a host: no host count.
        let big = CapacityPlanner.plan(
            flat, demand: CapacityDemand(tenants: 1, iopsPerTenant: 5000, bs: 4096, objective: Self.objective, headroom: 0.2))
        #expect(big.rows[0].hosts == nil && big.cheapest == nil)
    }

    @Test("text and CSV show every layer, the cheapest and what was left out")
    func formats() throws {
        let demand = CapacityDemand(tenants: 100, iopsPerTenant: 1000, bs: 4096, objective: Self.objective, headroom: 0.2)
        let plan = CapacityPlanner.plan(Self.analysis, demand: demand)
        let text = CapacityText.plan(plan)
        #expect(text.contains("demand: 100 tenants x 1000 IOPS of 4KiB"))
        #expect(text.contains("cheapest: E: 3 hosts for 100 tenants, up to 35 per host"))
        #expect(text.contains("left out: C: measured with bs=8KiB"))
        let csv = CapacityCSV.plan(plan).split(separator: "\n").map { $0.split(separator: ",", omittingEmptySubsequences: false) }
        #expect(csv.count == 5)
        #expect(csv.allSatisfy { $0.count == CapacityCSV.planColumns.count })
        let header = csv[0].map(String.init)
        let e = csv[1].map(String.init)
        #expect(
            e[header.firstIndex(of: "label")!] == "E" && e[header.firstIndex(of: "hosts")!] == "3"
                && e[header.firstIndex(of: "cheapest")!] == "1")
        let html = HTMLReport.render(Aggregation.aggregate(ResultInput(sources: [])), capacity: Self.analysis, plan: plan)
        #expect(html.contains("id=\"capacity\"") && html.contains("(cheapest)") && html.contains("objective p99 &lt;= 2 ms"))
        #expect(!html.contains("id=\"summary\""))
    }
}
