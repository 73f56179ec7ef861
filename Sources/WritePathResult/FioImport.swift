import Foundation
import WritePathEngine

/// Converts fio 3.x JSON output (`fio --output-format=json`) into runs of the result schema, so that
/// fio's numbers can sit next to writepath's in a report.
///
/// Per job: `write` (and `read`) give `iops`, `bw_bytes` (bytes/s), `io_bytes`, `total_ios` and
/// `runtime` (ms); latency comes from `lat_ns` when it has percentiles (`lat_percentiles=1`),
/// else from `clat_ns` (completion latency, what fio reports percentiles for by default). fio's JSON
/// has percentiles, not a histogram: the histogram is rebuilt from the percentile points (each
/// point's share of I/Os at that point's value, plus the exact min and max), so merged percentiles
/// are approximate. With `--output-format=json+` fio adds its latency bins (`bins`: latency in ns
/// to I/Os), which become the histogram instead (`settings["histogram"]` says which). `lat_ns` in
/// the result holds fio's own percentiles. The layer gets
/// `settings["source"] = "fio"` and `settings["latency"]` saying which fio latency was used.
/// `usr_cpu`/`sys_cpu` (percent of the job's runtime) become CPU seconds. fio has no per-second
/// series in its JSON, so `series` is empty.
public enum FioImport {
    /// `settings["histogram"]` when the histogram is fio's json+ latency bins.
    public static let binsHistogram = "fio json+ latency bins"

    /// The runs of the fio JSON in `data`, read from `source`, in layer `layer`. `repetitions` counts
    /// runs per job name across calls, so that importing the same jobs again adds repetitions.
    public static func runs(_ data: Data, source: String, layer: String, repetitions: inout [String: Int]) throws -> [RunResult] {
        let root = try parseObject(data, source: source)
        guard let jobs = root["jobs"] as? [[String: Any]], !jobs.isEmpty else {
            throw WritePathError.invalidInput(
                field: source, message: "has no 'jobs' array; expected the output of fio --output-format=json (fio 3.x)")
        }
        let version = root["fio version"] as? String ?? "fio"
        let globals = root["global options"] as? [String: Any] ?? [:]
        let startedAt: String
        if let ts = number(root["timestamp"]) {
            startedAt = ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: ts))
        } else {
            startedAt = ISO8601DateFormatter().string(from: Date())
        }
        var results: [RunResult] = []
        for (i, job) in jobs.enumerated() {
            let name = job["jobname"] as? String ?? "job\(i)"
            var workload = Workload()
            var ignored: [String] = []
            var options: [(String, String)] = globals.compactMap { k, v in (v as? String).map { (k, $0) } }.sorted { $0.0 < $1.0 }
            options += (job["job options"] as? [String: Any] ?? [:]).compactMap { k, v in (v as? String).map { (k, $0) } }.sorted {
                $0.0 < $1.0
            }
            for (k, v) in options {
                do { try workload.set(k, v) } catch { ignored.append("\(k)=\(v)") }
            }
            workload.name = name.isEmpty || name.contains("/") ? "job\(i)" : name
            var settings = ["source": "fio", "fio_version": version, "fio_file": source]
            let write = try direction(job["write"] as? [String: Any], source: source, job: name, settings: &settings)
            let read = try direction(job["read"] as? [String: Any], source: source, job: name, settings: &settings)
            // One warning per run, said once: the report adds none of its own for fio imports.
            var warnings = [
                settings["histogram"] == binsHistogram
                    ? "imported from fio (\(version)): percentiles are fio's own; the histogram is fio's json+ latency bins"
                    : "imported from fio (\(version)): percentiles are fio's own; the histogram is rebuilt from them and is approximate "
                        + "(fio --output-format=json+ gives its latency bins)"
            ]
            if !ignored.isEmpty {
                warnings.append("fio options writepath does not model, kept out of the workload: \(ignored.joined(separator: ", "))")
            }
            let info = LayerInfo(name: layer, settings: settings)
            let rep = (repetitions[workload.name] ?? 0) + 1
            repetitions[workload.name] = rep
            guard write != nil || read != nil else {
                var r = RunResult.failed(
                    layer: info, workload: workload, rep: rep, error: "fio job '\(name)' did no reads or writes", startedAt: startedAt)
                r.warnings = warnings
                results.append(r)
                continue
            }
            let ios = (write?.ios ?? 0) + (read?.ios ?? 0)
            let runtime = max(write?.runtime_s ?? 0, read?.runtime_s ?? 0)
            let user = (number(job["usr_cpu"]) ?? 0) / 100 * runtime
            let sys = (number(job["sys_cpu"]) ?? 0) / 100 * runtime
            let perIO = ios > 0 ? (user + sys) * 1e9 / Double(ios) : 0
            // The result types' memberwise initialisers are internal to the engine: start from a
            // run without metrics and fill in its public fields.
            var run = RunResult.failed(layer: info, workload: workload, rep: rep, error: "", startedAt: startedAt)
            let error = Int(try count(job["error"], field: "jobs[\(name)].error", source: source) ?? 0)
            run.status = error == 0 ? .ok : .failed
            run.error = error == 0 ? nil : "fio reported error \(error) (\(errnoName(Int32(clamping: error))))"
            run.engine.features = ["fio"]
            run.write = write
            run.read = read
            run.cpu.user_s = user
            run.cpu.sys_s = sys
            run.cpu.process_user_s = user
            run.cpu.process_sys_s = sys
            run.cpu.ctx_voluntary = Int64(number(job["ctx"]) ?? 0)
            run.cpu.cpu_ns_per_io = perIO
            run.cpu.process_cpu_ns_per_io = perIO
            run.warnings = warnings
            results.append(run)
        }
        return results
    }

    /// A document holding the runs of every fio file in `paths` as layer `layer`. `host` is the
    /// machine to record (fio's JSON does not describe it; the caller passes the importing one).
    public static func document(paths: [String], layer: String, host: HostInfo, provenance: Provenance) throws -> ResultDocument {
        var reps: [String: Int] = [:]
        var runs: [RunResult] = []
        for path in paths {
            guard let data = FileManager.default.contents(atPath: path) else {
                throw WritePathError.invalidInput(
                    field: path, message: "cannot be read; give fio's JSON output (fio --output-format=json --output=FILE)")
            }
            runs += try self.runs(data, source: path, layer: layer, repetitions: &reps)
        }
        return ResultDocument(writepath: provenance, host: host, runs: runs)
    }

    static func parseObject(_ data: Data, source: String) throws -> [String: Any] {
        guard !data.isEmpty else {
            throw WritePathError.invalidInput(field: source, message: "empty file; expected the output of fio --output-format=json")
        }
        // fio may print notes before the JSON; start at the first line that opens an object.
        var body = data
        if let text = String(data: data, encoding: .utf8), !text.hasPrefix("{"), let r = text.range(of: "\n{") {
            body = Data(text[text.index(after: r.lowerBound)...].utf8)
        }
        guard let object = try? JSONSerialization.jsonObject(with: body) as? [String: Any] else {
            throw WritePathError.invalidInput(field: source, message: "not JSON; expected the output of fio --output-format=json (fio 3.x)")
        }
        return object
    }

    static func number(_ v: Any?) -> Double? {
        if let n = v as? NSNumber { return n.doubleValue }
        if let s = v as? String { return Double(s) }
        return nil
    }

    /// A count or a nanosecond value: a number from 0 to 2^63, as fio writes them; nil when
    /// absent. Anything else (negative, fractional garbage, 1e30, "nan") is not fio's output and
    /// is an error naming the field, never a trap or a made-up number.
    static func count(_ v: Any?, field: String, source: String) throws -> UInt64? {
        guard let v else { return nil }
        guard let d = number(v), d.isFinite, d >= 0, d < 9.2e18 else {
            throw WritePathError.invalidInput(
                field: "\(source): \(field)", message: "\(quoted("\(v)")) is not a count; expected a whole number from 0, as fio writes it")
        }
        return UInt64(d)
    }

    /// A rate, a time or a mean: a finite number of at least 0; nil when absent.
    static func measure(_ v: Any?, field: String, source: String) throws -> Double? {
        guard let v else { return nil }
        guard let d = number(v), d.isFinite, d >= 0 else {
            throw WritePathError.invalidInput(
                field: "\(source): \(field)", message: "\(quoted("\(v)")) is not a finite number of at least 0")
        }
        return d
    }

    /// One direction of a fio job, or nil when it did no I/O.
    static func direction(_ d: [String: Any]?, source: String, job: String, settings: inout [String: String]) throws -> DirectionResult? {
        guard let d else { return nil }
        let jobField = "jobs[\(job)]"
        func countField(_ key: String, in object: [String: Any]? = nil) throws -> UInt64? {
            try FioImport.count((object ?? d)[key], field: "\(jobField).\(key)", source: source)
        }
        func measureField(_ key: String, in object: [String: Any]? = nil) throws -> Double? {
            try FioImport.measure((object ?? d)[key], field: "\(jobField).\(key)", source: source)
        }
        guard let ios = try countField("total_ios"), ios > 0 else { return nil }
        let lat = d["lat_ns"] as? [String: Any]
        let clat = d["clat_ns"] as? [String: Any]
        let chosen: [String: Any]
        if let lat, lat["percentile"] is [String: Any] {
            chosen = lat
            settings["latency"] = "lat_ns (submission to completion)"
        } else if let clat {
            chosen = clat
            settings["latency"] = "clat_ns (completion; fio gives lat_ns percentiles only with lat_percentiles=1)"
        } else {
            throw WritePathError.invalidInput(
                field: "\(source): jobs[\(job)]", message: "has neither lat_ns nor clat_ns; expected fio 3.x JSON")
        }
        var points: [(Double, UInt64)] = []
        for (k, v) in chosen["percentile"] as? [String: Any] ?? [:] {
            guard let p = Double(k), p >= 0, p <= 100 else {
                throw WritePathError.invalidInput(
                    field: "\(source): \(jobField).percentile", message: "\(quoted(k)) is not a percentile from 0 to 100")
            }
            if let ns = try FioImport.count(v, field: "\(jobField).percentile.\(k)", source: source) { points.append((p, ns)) }
        }
        points.sort { $0.0 < $1.0 }
        let minNs = try countField("min", in: chosen) ?? 0, maxNs = try countField("max", in: chosen) ?? 0
        let count = try countField("N", in: chosen) ?? ios
        // json+ (fio --output-format=json+) adds "bins": {latency ns: I/Os}; they are the histogram.
        var histogram = LatencyHistogram()
        for (k, v) in chosen["bins"] as? [String: Any] ?? [:] {
            guard let ns = UInt64(k) else {
                throw WritePathError.invalidInput(
                    field: "\(source): \(jobField).bins", message: "\(quoted(k)) is not a latency in nanoseconds")
            }
            if let c = try FioImport.count(v, field: "\(jobField).bins.\(k)", source: source), c > 0 { histogram.record(ns, count: c) }
        }
        if histogram.count > 0 {
            settings["histogram"] = binsHistogram
        } else {
            histogram = rebuild(points: points, min: minNs, max: maxNs, count: count)
            settings["histogram"] = "rebuilt from fio's percentiles (approximate)"
        }
        func at(_ p: Double) -> UInt64 {
            points.first { abs($0.0 - p) < 1e-6 }?.1 ?? histogram.value(atPercentile: p)
        }
        var summary = histogram.summary
        summary.min = minNs
        summary.max = maxNs
        summary.mean = try measureField("mean", in: chosen) ?? summary.mean
        summary.stddev = try measureField("stddev", in: chosen) ?? summary.stddev
        summary.p50 = at(50)
        summary.p90 = at(90)
        summary.p99 = at(99)
        summary.p99_9 = at(99.9)
        summary.p99_99 = at(99.99)
        let runtime = (try measureField("runtime") ?? 0) / 1000
        let json = DirectionJSON(
            ios: ios, bytes: try countField("io_bytes") ?? 0, iops: try measureField("iops") ?? 0,
            bw_bytes_per_s: try measureField("bw_bytes") ?? 0, runtime_s: runtime,
            errors: (try countField("short_ios") ?? 0) + (try countField("drop_ios") ?? 0),
            lat_ns: summary, histogram: histogram.encoded, series: [])
        // DirectionResult has no public initialiser; it is built through its JSON contract.
        return try JSONDecoder().decode(DirectionResult.self, from: JSONEncoder().encode(json))
    }

    /// The fields of `DirectionResult`, as the result schema spells them.
    struct DirectionJSON: Encodable {
        var ios: UInt64
        var bytes: UInt64
        var iops: Double
        var bw_bytes_per_s: Double
        var runtime_s: Double
        var errors: UInt64
        var lat_ns: LatencySummary
        var histogram: EncodedHistogram
        var series: [SeriesPoint]
    }

    /// An approximate histogram of `count` latencies (ns) from percentile points: the exact minimum
    /// and maximum once each, and at each point's value the I/Os between it and the previous point.
    public static func rebuild(points: [(percentile: Double, ns: UInt64)], min: UInt64, max: UInt64, count: UInt64) -> LatencyHistogram {
        var h = LatencyHistogram()
        guard count > 0 else { return h }
        h.record(min, count: 1)
        var done: UInt64 = 1
        var last = min
        for (p, v) in points {
            let cumulative = Swift.min(UInt64((p / 100 * Double(count)).rounded()), count)
            if cumulative > done {
                h.record(Swift.max(v, min), count: cumulative - done)
                done = cumulative
            }
            last = Swift.max(v, min)
        }
        if done < count {
            if count - done > 1 { h.record(last, count: count - done - 1) }
            h.record(Swift.max(max, last), count: 1)
        }
        return h
    }
}
