import Foundation
import WritePathEngine
import WritePathResult

/// Statistics over repetitions (the median and the coefficient of variation are in
/// WritePathResult): 95% intervals from t on log values (`LogContrast`): for lognormal data their
/// coverage is the nominal one at any n, and `LogScaleStatisticsTests` checks it by simulation at
/// n = 3, 5 and 10.
extension Stats {
    /// The level of every interval.
    public static let confidence = 0.95

    /// The `q` quantile (0...1) of sorted values, linearly interpolated.
    static func quantile(sorted s: [Double], _ q: Double) -> Double {
        let h = q * Double(s.count - 1)
        let lo = Int(h.rounded(.down))
        let hi = min(lo + 1, s.count - 1)
        return s[lo] + (s[hi] - s[lo]) * (h - Double(lo))
    }

    /// 95% interval of the median of the population `values` come from, taken as lognormal: the t
    /// interval of the mean of log values, exponentiated. Nil below `LogContrast.minimumRepetitions`
    /// values ("n too small") or with a value that is not positive.
    public static func medianInterval(_ values: [Double]) -> (low: Double, high: Double)? {
        guard let c = LogContrast([(values, 1)]) else { return nil }
        let i = c.interval(level: confidence)
        return (exp(i.low), exp(i.high))
    }

    /// The ratio `numerator / denominator` as the ratio of geometric means (of medians, for lognormal
    /// data) with its 95% Welch t interval on log values. The interval is nil when a side has fewer
    /// than `LogContrast.minimumRepetitions` values; the whole result is nil when a side is empty or
    /// has a value that is not positive.
    public static func ratioOfMedians(_ numerator: [Double], _ denominator: [Double]) -> Ratio? {
        guard let n = geometricMean(numerator), let d = geometricMean(denominator), d > 0 else { return nil }
        guard let c = LogContrast([(numerator, 1), (denominator, -1)]) else { return Ratio(point: n / d, low: nil, high: nil) }
        let i = c.interval(level: confidence)
        return Ratio(point: exp(c.estimate), low: exp(i.low), high: exp(i.high))
    }

    /// exp(mean(log values)); nil when empty or a value is not positive and finite.
    public static func geometricMean(_ values: [Double]) -> Double? {
        guard !values.isEmpty, values.allSatisfy({ $0 > 0 && $0.isFinite }) else { return nil }
        return exp(values.reduce(0) { $0 + log($1) } / Double(values.count))
    }
}

/// A ratio (current / baseline) with its 95% interval when there are enough repetitions.
public struct Ratio: Sendable, Equatable {
    public var point: Double
    public var low: Double?
    public var high: Double?
    public init(point: Double, low: Double?, high: Double?) {
        self.point = point
        self.low = low
        self.high = high
    }
    /// Whether the interval contains 1 (no difference shown); nil without an interval.
    public var intervalIncludesOne: Bool? {
        guard let low, let high else { return nil }
        return low <= 1 && 1 <= high
    }
}

/// The median of one metric over repetitions, with its 95% interval and spread.
public struct Estimate: Sendable, Equatable {
    /// One value per ok repetition, in run order.
    public var values: [Double]
    public var median: Double
    /// 95% interval of the median (`Stats.medianInterval`); nil below 3 repetitions.
    public var low: Double?
    public var high: Double?
    /// Coefficient of variation (sample standard deviation / mean); nil with one repetition.
    public var cv: Double?

    /// The estimate of `values`; nil when empty.
    public init?(_ values: [Double]) {
        guard let m = Stats.median(values) else { return nil }
        self.values = values
        median = m
        let ci = Stats.medianInterval(values)
        low = ci?.low
        high = ci?.high
        cv = Stats.coefficientOfVariation(values)
    }

    /// Whether there are too few repetitions for an interval.
    public var tooFewForInterval: Bool { values.count < LogContrast.minimumRepetitions }
}

/// The metrics compared and aggregated per repetition; the direction is the run's main one
/// (write when it writes, else read).
public enum RunMetric: String, CaseIterable, Sendable {
    /// I/Os per second.
    case iops
    /// Bytes per second.
    case bw = "bw_bytes_per_s"
    /// Median latency of the repetition, nanoseconds.
    case p50 = "p50_ns"
    /// 99th percentile latency of the repetition, nanoseconds.
    case p99 = "p99_ns"
    /// 99.9th percentile latency of the repetition, nanoseconds.
    case p99_9 = "p99_9_ns"
    /// Job threads' CPU time per I/O, nanoseconds.
    case cpuPerIO = "cpu_ns_per_io"

    /// Whether a larger value is better (throughput) or worse (latency, CPU).
    public var higherIsBetter: Bool { self == .iops || self == .bw }

    /// The value of this metric in `run`, or nil when the run has no such direction.
    public func value(_ run: RunResult) -> Double? {
        guard let d = run.mainDirection else { return nil }
        switch self {
        case .iops: return d.iops
        case .bw: return d.bw_bytes_per_s
        case .p50: return Double(d.lat_ns.p50)
        case .p99: return Double(d.lat_ns.p99)
        case .p99_9: return Double(d.lat_ns.p99_9)
        case .cpuPerIO: return run.cpu.cpu_ns_per_io
        }
    }
}

/// One layer × workload over its repetitions.
public struct LayerWorkloadAggregate: Sendable {
    /// The layer's identity (`spec` setting, else name).
    public var layer: String
    /// The layer's kind (`host`, `docker-volume`, `qemu-...`).
    public var layerName: String
    public var workload: Workload
    /// `write` or `read`: the direction the metrics describe.
    public var direction: String
    /// Every run, whatever its status.
    public var runs: [RunResult]
    /// The runs with status `ok`: the only ones with metrics here.
    public var okRuns: [RunResult]
    /// Medians over repetitions (see `RunMetric` for units).
    public var estimates: [RunMetric: Estimate]
    /// Every ok repetition's latency histogram merged, nanoseconds; nil without ok runs.
    public var merged: LatencyHistogram?
    /// Settings of the first run (ok runs first), without per-run names.
    public var settings: [String: String]
    /// Median IOPS over the baseline layer's, with interval; nil for the baseline or without one.
    public var iopsRatio: Ratio?
    /// Median per-repetition p50 over the baseline layer's, with interval.
    public var p50Ratio: Ratio?
    /// Merged p50 minus the baseline's merged p50, nanoseconds (negative when faster).
    public var addedP50Nanoseconds: Double?
    /// Whether the IOPS vary more than the report's CV threshold.
    public var noisy: Bool
    /// The smallest drop of this layer's IOPS ratio to the baseline layer (a fraction, 0.2 = 20%)
    /// that `compare --relative-to` of two runs like this one detects with 80% power: one-sided
    /// Welch t on log values at alpha 0.05 divided by the family size (all non-baseline rows × metrics;
    /// Bonferroni, the most a correction can demand). Nil for the baseline or below 3 repetitions.
    public var iopsMinimumDetectableDrop: Double? = nil
    /// The host of these runs when the results come from several hosts (a fleet: the inventory
    /// name, else the host name); nil for results of one host.
    public var host: String? = nil
    /// What that host's results say about it (CPU, kernel, virtualization); nil with `host` nil.
    public var hostInfo: HostInfo? = nil

    /// Set when the runs were made by hand (`writepath run --layer-label`) in an environment
    /// writepath did not create: what that environment's machine is.
    public var handRun: HandRun? { runs.lazy.compactMap(\.hand_run).first }

    public var notOKRuns: [RunResult] { runs.filter { $0.status != .ok } }
    /// The workload's name with its engine when not writepath's (`rand4k [fio]`): rows of the two
    /// engines never mix, and each compares with the baseline layer's row of its own engine.
    public var workloadIdentity: String { workload.identity }
    /// `layer / workload` (`host / rand4k [fio]` for engine fio), after `HOST: ` when the results
    /// come from several hosts.
    public var label: String { (host.map { "\($0): " } ?? "") + "\(layer) / \(workloadIdentity)" }
}

/// Every layer × workload of a set of results, compared to a baseline layer, with the warnings a
/// reader must see.
public struct Aggregation: Sendable {
    /// What `aggregate` compares against and flags.
    public struct Options: Sendable {
        /// The reference layer's identity.
        public var baselineLayer = "host"
        /// A layer × workload whose IOPS coefficient of variation is above this is flagged noisy.
        public var cvThreshold = 0.1
        /// The family-wise level the minimum detectable effects are given for.
        public var alpha = 0.05
        public init(baselineLayer: String = "host", cvThreshold: Double = 0.1, alpha: Double = 0.05) {
            self.baselineLayer = baselineLayer
            self.cvThreshold = cvThreshold
            self.alpha = alpha
        }
    }

    public var options: Options
    /// Layer × workload rows in first-seen order of workloads, baseline layer first within each.
    public var rows: [LayerWorkloadAggregate]
    /// Hosts the results come from (distinct).
    public var hosts: [HostInfo]
    /// Where the results came from.
    public var sourcePaths: [String]
    /// Things a reader must know: failed runs, noise, TCG, faster-than-host layers, run warnings.
    public var warnings: [String]
    /// The provenance of the first document.
    public var provenance: Provenance?
    /// The matrix of the first document that has one (seed, repetitions, stop reasons).
    public var matrix: MatrixInfo?

    /// Settings that name one run's scratch objects; left out of a row's settings.
    static let perRunSettings: Set<String> = ["volume", "bundle", "host_path", "spec", "name", "startup_s", "teardown_s", "boot_s"]

    /// Groups runs by layer identity and workload name, keeping first-seen order. A sweep's runs
    /// group per step: their workload is `name@parameter=value` (`rand4k@iodepth=8`), and a step's
    /// tenants are its repetitions.
    /// `labels`: layer labels worked out over a larger set of runs (all hosts'), else over `runs`.
    public static func group(_ runs: [RunResult], labels given: [String: String]? = nil)
        -> [(layer: String, workload: String, runs: [RunResult])]
    {
        var order: [String] = []
        var groups: [String: (String, String, [RunResult])] = [:]
        let labels = given ?? LayerIdentity.labels(runs)
        for r in runs {
            let layer = labels[r.layerSpec]!
            var workload = r.workload.identity
            if let tag = r.sweep { workload += "@\(tag.parameter)=\(tag.value)" + (tag.tenants > 1 ? "x\(tag.tenants)" : "") }
            let key = layer + "\u{0}" + workload
            if groups[key] == nil { order.append(key); groups[key] = (layer, workload, []) }
            groups[key]!.2.append(r)
        }
        return order.map { groups[$0]! }.map { (layer: $0.0, workload: $0.1, runs: $0.2) }
    }

    /// Aggregates `input`. Only `ok` runs contribute metrics; the rest become warnings. Sweep runs
    /// (`runs[].sweep`) are left out of the rows: they are curves (`CapacityAnalysis`), not repetitions;
    /// their failures and warnings are still listed.
    public static func aggregate(_ input: ResultInput, options: Options = Options()) -> Aggregation {
        var warnings: [String] = []
        var rows: [LayerWorkloadAggregate] = []
        for (host, info, g) in hostGroups(input) {
            let ok = g.runs.filter { $0.status == .ok }
            let first = ok.first ?? g.runs[0]
            var estimates: [RunMetric: Estimate] = [:]
            for m in RunMetric.allCases {
                if let e = Estimate(ok.compactMap { m.value($0) }) { estimates[m] = e }
            }
            var merged: LatencyHistogram?
            for r in ok {
                guard let d = r.mainDirection, let h = try? LatencyHistogram(encoded: d.histogram) else { continue }
                if merged == nil { merged = LatencyHistogram() }
                merged!.add(h)
            }
            let noisy = (estimates[.iops]?.cv ?? 0) > options.cvThreshold
            rows.append(
                LayerWorkloadAggregate(
                    layer: g.layer, layerName: first.layer.name, workload: first.workload, direction: first.mainDirectionName,
                    runs: g.runs, okRuns: ok, estimates: estimates, merged: merged,
                    settings: first.layer.settings.filter { !perRunSettings.contains($0.key) }, iopsRatio: nil, p50Ratio: nil,
                    addedP50Nanoseconds: nil, noisy: noisy, host: host, hostInfo: info))
        }
        // Baseline first within each workload, workloads in first-seen order.
        var workloadOrder: [String] = [], hostOrder: [String] = []
        for r in rows where !hostOrder.contains(r.host ?? "") { hostOrder.append(r.host ?? "") }
        for r in rows where !workloadOrder.contains(r.workloadIdentity) { workloadOrder.append(r.workloadIdentity) }
        rows.sort { a, b in
            let wa = workloadOrder.firstIndex(of: a.workloadIdentity)!, wb = workloadOrder.firstIndex(of: b.workloadIdentity)!
            if wa != wb { return wa < wb }
            if a.host != b.host { return hostOrder.firstIndex(of: a.host ?? "")! < hostOrder.firstIndex(of: b.host ?? "")! }
            return (a.layer == options.baselineLayer ? 0 : 1) < (b.layer == options.baselineLayer ? 0 : 1)
        }
        if !rows.contains(where: { $0.layer == options.baselineLayer }) && !rows.isEmpty {
            warnings.append(
                "baseline layer '\(options.baselineLayer)' is not in the results: no ratios to a baseline (choose one with "
                    + "--baseline-layer)"
            )
        }
        var fasterThanBaseline: [String: String] = [:]
        for i in rows.indices {
            guard rows[i].layer != options.baselineLayer,
                let base = rows.first(where: {
                    $0.layer == options.baselineLayer && $0.workloadIdentity == rows[i].workloadIdentity && $0.host == rows[i].host
                })
            else { continue }
            rows[i].iopsRatio = Stats.ratioOfMedians(rows[i].estimates[.iops]?.values ?? [], base.estimates[.iops]?.values ?? [])
            rows[i].p50Ratio = Stats.ratioOfMedians(rows[i].estimates[.p50]?.values ?? [], base.estimates[.p50]?.values ?? [])
            let family = Double(max(1, rows.filter { $0.layer != options.baselineLayer }.count * RunMetric.allCases.count))
            if let mine = rows[i].estimates[.iops]?.values, let theirs = base.estimates[.iops]?.values,
                let c = LogContrast([(mine, 1), (theirs, -1), (mine, -1), (theirs, 1)])
            {
                rows[i].iopsMinimumDetectableDrop = 1 - exp(-c.minimumDetectable(alpha: options.alpha / family))
            }
            if let m = rows[i].merged, let b = base.merged, m.count > 0, b.count > 0 {
                let mine = Double(m.value(atPercentile: 50)), theirs = Double(b.value(atPercentile: 50))
                rows[i].addedP50Nanoseconds = mine - theirs
                // Lower than the baseline beyond noise: the whole interval of the p50 ratio below 1,
                // or, with one repetition, more than 10% lower.
                let clearlyLower = rows[i].p50Ratio.map { r in r.high.map { $0 < 1 } ?? (r.point < 0.9) } ?? (mine < 0.9 * theirs)
                if mine < theirs && clearlyLower {
                    fasterThanBaseline[rows[i].label] =
                        "p50 \(microseconds(mine)) is lower than \(options.baselineLayer)'s \(microseconds(theirs)): a cache is "
                        + "probably being measured, not the write path"
                }
            }
        }
        for r in rows {
            for run in r.notOKRuns {
                warnings.append("\(r.label) rep \(run.rep): \(run.status): \(run.error ?? "no error recorded")")
            }
            if r.settings["accel"]?.lowercased() == "tcg" {
                warnings.append(
                    "\(r.label): the guest runs under TCG (software emulation, no KVM): its numbers measure the emulator, not the "
                        + "write path"
                )
            }
            if let faster = fasterThanBaseline[r.label] { warnings.append("\(r.label): \(faster)") }
            if r.noisy, let cv = r.estimates[.iops]?.cv {
                warnings.append(
                    "\(r.label): noisy: IOPS vary by CV \(formatDecimal(cv * 100, places: 1))% over \(r.okRuns.count) repetitions "
                        + "(threshold \(formatDecimal(options.cvThreshold * 100, places: 1))%)"
                )
            }
            // fio imports: each run's own warning says how its histogram was made (listed below, once).
            if let hand = r.handRun, r.layer != options.baselineLayer {
                let machine = "Linux \(hand.host.kernel), \(hand.host.virtualization?.phrase ?? "virtualization unknown")"
                warnings.append(
                    "\(r.label): hand-run: measured by hand (writepath run --layer-label \(hand.label)) "
                        + "on \(hand.host.hostname) (\(machine)), not in a box writepath made: "
                        + "its ratio to \(options.baselineLayer) includes any difference between the two machines")
            }
            var seen = Set<String>()
            for run in r.runs { for w in run.warnings where seen.insert(w).inserted { warnings.append("\(r.label): \(w)") } }
        }
        var seenSweepWarnings = Set<String>()
        for run in input.runs {
            guard let tag = run.sweep else { continue }
            let label = "\(run.layerIdentity) / \(run.workload.name) sweep"
            if run.status != .ok {
                let rep = run.rep > 1 ? " rep \(run.rep)" : ""
                warnings.append(
                    "\(label) at \(tag.parameter)=\(tag.value) tenant \(tag.tenant)\(rep): \(run.status): "
                        + "\(run.error ?? "no error recorded")"
                )
            }
            for w in run.warnings where seenSweepWarnings.insert("\(label): \(w)").inserted { warnings.append("\(label): \(w)") }
        }
        warnings += EngineParity.warnings(rows, baselineLayer: options.baselineLayer)
        var hosts: [HostInfo] = []
        // A hand-run environment's machine is named in its rows' note, not counted as a host of the matrix.
        let hostSources = input.sources.filter { !$0.isHandRun }.isEmpty ? input.sources : input.sources.filter { !$0.isHandRun }
        for s in hostSources where !hosts.contains(s.document.host) { hosts.append(s.document.host) }
        // The baseline is itself a guest: what the layers cost is measured against a VM's kernel and disk.
        for h in hosts {
            guard let v = h.virtualization, v.kind == "vm" else { continue }
            warnings.append(
                "the \(options.baselineLayer) baseline on \(h.hostname) is \(v.phrase), not bare metal "
                    + "(\(v.evidence)): layer costs measured here are relative to that VM and include no bare-metal baseline")
        }
        if Set(hosts.map(\.hostname)).count > 1 || Set(hosts.map(\.kernel)).count > 1 {
            warnings.append(
                "results come from \(hosts.count) different hosts or kernels: "
                    + "\(hosts.map { "\($0.hostname) (Linux \($0.kernel))" }.joined(separator: ", "))"
            )
        }
        return Aggregation(
            options: options, rows: rows, hosts: hosts, sourcePaths: input.sources.map(\.path),
            warnings: warnings, provenance: input.sources.first?.document.writepath,
            matrix: input.sources.lazy.compactMap(\.document.matrix).first)
    }

    /// The non-sweep runs grouped by layer and workload, per host when they come from several
    /// hosts (`Source.hostLabel`, hosts in first-seen order), with what each host's first document says of it.
    static func hostGroups(_ input: ResultInput)
        -> [(host: String?, info: HostInfo?, group: (layer: String, workload: String, runs: [RunResult]))]
    {
        var order: [String] = []
        var runs: [String: [RunResult]] = [:]
        var info: [String: HostInfo] = [:]
        // Hand-run results join the first matrix host's table: they are layers compared with its baseline.
        let mainHost = input.sources.first { !$0.isHandRun }
        let matrixWorkloads = input.sources.filter { !$0.isHandRun }.flatMap { $0.document.runs.map(\.workload) }
        var all: [RunResult] = []
        for s in input.sources {
            let h = s.isHandRun ? (mainHost ?? s).hostLabel : s.hostLabel
            if runs[h] == nil { order.append(h); info[h] = (s.isHandRun ? mainHost ?? s : s).document.host }
            var mine = s.document.runs.filter { $0.sweep == nil }
            if s.isHandRun { for i in mine.indices { matchWorkload(&mine[i], matrixWorkloads) } }
            runs[h, default: []] += mine
            all += mine
        }
        guard order.count > 1 else { return group(all).map { (nil, nil, $0) } }
        // One layer has one label on every host: the labels are worked out over all hosts' runs.
        let labels = LayerIdentity.labels(all)
        return order.flatMap { h in group(runs[h]!, labels: labels).map { (h, info[h], $0) } }
    }

    /// A hand-run's workload takes the name of the matrix workload it equals in every option but its
    /// name and where it writes (`filename`, `directory`), when no matrix workload has its name.
    static func matchWorkload(_ run: inout RunResult, _ matrix: [Workload]) {
        guard !matrix.contains(where: { $0.identity == run.workload.identity }) else { return }
        func options(_ w: Workload) -> [String] {
            w.commandLineArguments.filter { a in !["--name=", "--filename=", "--directory="].contains { a.hasPrefix($0) } }
        }
        let wanted = options(run.workload)
        if let twin = matrix.first(where: { $0.engine == run.workload.engine && options($0) == wanted }) { run.workload.name = twin.name }
    }

    /// `12.3 us`.
    static func microseconds(_ ns: Double) -> String { formatDecimal(ns / 1000, places: 1) + " us" }
}

/// How long each layer's box took to start and to go away, over its runs: a reason to pick a
/// layer (how fast it recovers and scales), beside what it costs a write.
public enum StartupTimes {
    /// One layer's start-up (`startup_s` for containers, `boot_s` for guests) and teardown, seconds.
    public struct Row: Sendable, Equatable {
        public var layer: String
        /// `startup_s` or `boot_s`.
        public var kind: String
        public var startup: [Double]
        public var teardown: [Double]
    }

    /// Per layer (first-seen order), the recorded times of every run that has them.
    public static func rows(_ a: Aggregation) -> [Row] {
        var out: [Row] = []
        for r in a.rows {
            for run in r.runs {
                let s = run.layer.settings
                guard let (kind, v) = s["startup_s"].map({ ("startup_s", $0) }) ?? s["boot_s"].map({ ("boot_s", $0) }),
                    let value = Double(v)
                else { continue }
                if let i = out.firstIndex(where: { $0.layer == r.layer }) {
                    out[i].startup.append(value)
                    if let t = s["teardown_s"].flatMap(Double.init) { out[i].teardown.append(t) }
                } else {
                    out.append(
                        Row(layer: r.layer, kind: kind, startup: [value], teardown: s["teardown_s"].flatMap(Double.init).map { [$0] } ?? [])
                    )
                }
            }
        }
        return out
    }

    /// `0.412 s [0.380, 0.530] (n=4)`, or `-`.
    public static func summary(_ values: [Double]) -> String {
        guard !values.isEmpty else { return "-" }
        let v = values.sorted()
        let median = v.count % 2 == 1 ? v[v.count / 2] : (v[v.count / 2 - 1] + v[v.count / 2]) / 2
        return
            "\(formatDecimal(median, places: 3)) s [\(formatDecimal(v[0], places: 3)), "
            + "\(formatDecimal(v[v.count - 1], places: 3))] (n=\(v.count))"
    }
}
