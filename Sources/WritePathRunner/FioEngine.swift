import Foundation
import WritePathEngine
import WritePathResult

/// Debian's fio as the engine of a matrix layer (`engine: fio` on a workload): the workload's
/// options given to fio under fio's own names, fio's JSON read back through the layer's channel
/// (stdout) and turned into a normal run by `FioImport`, with `engine.name = "fio"`.
///
/// writepath's defaults are not fio's (writepath: `direct=1`, registered buffers and file), so
/// every option that decides the kernel path is given explicitly, never left to fio's default.
public enum FioEngine {
    /// Where fio is placed in container root filesystems.
    public static let pathInContainer = "/fio"

    /// The fio binary on this machine: `WRITEPATH_FIO` if set, else `fio` on PATH; nil without one.
    public static func binary() -> String? {
        if let e = ProcessInfo.processInfo.environment["WRITEPATH_FIO"], !e.isEmpty {
            return FileManager.default.isExecutableFile(atPath: e) ? e : nil
        }
        return Command.which("fio")
    }

    /// `fio-3.33`, from `fio --version`; nil when fio cannot run.
    public static func version(_ binary: String) -> String? {
        guard let r = try? Command.run(binary, ["--version"], timeout: 20), r.succeeded else { return nil }
        let v = r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        return v.isEmpty ? nil : v
    }

    /// Available with fio's version, or unavailable saying how to install it.
    public static func availability() -> Availability {
        guard let b = binary() else {
            return .unavailable(reason: "engine fio: fio is not installed", fix: "scripts/install-deps.sh build (apt-get install fio)")
        }
        guard let v = version(b) else {
            return .unavailable(reason: "engine fio: \(b) --version failed", fix: "check the fio installation")
        }
        return .available(detail: v)
    }

    /// The writepath options fio has no equivalent for, with the value the workload gives them:
    /// they are left out of fio's command line and recorded in the run's warnings.
    public static func optionsLeftOut(_ w: Workload) -> [String] {
        let d = Workload()
        var out: [String] = []
        if w.ioengine == .io_uring { out.append("iowq_colocate=\(w.io_uring.iowq_colocate.rawValue) (writepath's own)") }
        if w.prefill != d.prefill { out.append("prefill=1 (writepath's own)") }
        if w.verify != d.verify { out.append("verify=\(w.verify.rawValue) (fio's verify phase differs)") }
        return out
    }

    /// fio's command line for `w` writing `target` (a file) or, with `directory`, files named by fio
    /// (`<name>.<job>.0`, as writepath names them). JSON to stdout, one summed job (group_reporting),
    /// latency percentiles from submission (lat_percentiles, as writepath measures latency).
    public static func arguments(_ w: Workload, target: String?, directory: String?) -> [String] {
        var a = ["--output-format=json", "--thread", "--group_reporting", "--lat_percentiles=1", "--name=\(w.name)"]
        func add(_ k: String, _ v: String) { a.append("--\(k)=\(v)") }
        if let target { add("filename", target) }
        if let directory { add("directory", directory) }
        add("ioengine", w.ioengine.rawValue)
        add("rw", w.rw.rawValue)
        if w.rw == .randrw { add("rwmixwrite", "\(w.rwmixwrite)") }
        add("bs", "\(w.bs)")
        add("iodepth", "\(w.iodepth)")
        if w.iodepth_batch_submit > 0 { add("iodepth_batch_submit", "\(w.iodepth_batch_submit)") }
        if let min = w.iodepth_batch_complete_min { add("iodepth_batch_complete_min", "\(min)") }
        add("numjobs", "\(w.numjobs)")
        if let size = w.size { add("size", "\(size)") }
        if w.offset > 0 { add("offset", "\(w.offset)") }
        // An NVMe char device opens without O_DIRECT (EINVAL with it); its commands skip the cache.
        add("direct", w.direct && w.ioengine != .io_uring_cmd ? "1" : "0")
        add("sync", w.sync ? "1" : "0")
        if w.runtime > 0 { add("runtime", duration(w.runtime)) }
        if w.time_based { a.append("--time_based") }
        if w.loops > 1 { add("loops", "\(w.loops)") }
        if w.ramp_time > 0 { add("ramp_time", duration(w.ramp_time)) }
        if w.rate_iops > 0 { add("rate_iops", "\(w.rate_iops)") }
        if w.fsync > 0 { add("fsync", "\(w.fsync)") }
        if w.fdatasync > 0 { add("fdatasync", "\(w.fdatasync)") }
        if w.rw.isRandom {
            switch w.random_distribution {
            case .uniform: add("random_distribution", "random")  // fio's name for uniform
            case let .zipf(theta): add("random_distribution", "zipf:\(theta)")
            }
        }
        if w.buffer_pattern == .zero { a.append("--zero_buffers") }
        add("randseed", "\(w.seed)")
        add("fallocate", w.fallocate)
        if w.ioengine == .io_uring {
            // io_uring options of fio's engine; fio refuses them with another engine.
            add("fixedbufs", w.io_uring.fixedbufs ? "1" : "0")
            add("registerfiles", w.io_uring.registerfiles ? "1" : "0")
            add("sqthread_poll", w.io_uring.sqthread_poll ? "1" : "0")
            if w.io_uring.force_async > 0 { add("force_async", "\(w.io_uring.force_async)") }
        }
        if w.ioengine == .io_uring_cmd {
            add("cmd_type", w.io_uring_cmd.cmd_type)
            add("fixedbufs", w.io_uring.fixedbufs ? "1" : "0")
            add("registerfiles", w.io_uring.registerfiles ? "1" : "0")
            add("nonvectored", w.io_uring_cmd.nonvectored ? "1" : "0")
        }
        return a
    }

    /// fio's duration syntax: whole seconds, else milliseconds (`1500ms`).
    static func duration(_ seconds: Double) -> String {
        seconds == seconds.rounded() ? "\(Int(seconds))" : "\(Int((seconds * 1000).rounded()))ms"
    }

    /// The run fio's JSON in `data` describes, as a writepath run of `workload` in `layer`:
    /// `engine.name = "fio"`, fio's version in `engine.features` and the layer's `fio_version`.
    /// A fio that exited non-zero without JSON is a failed run naming its stderr.
    public static func result(
        stdout data: Data, status: Int32, stderr: String, workload: Workload, layer: LayerInfo,
        rep: Int, source: String
    ) -> RunResult {
        let startedAt = ISO8601DateFormatter().string(from: Date())
        var reps: [String: Int] = [:]
        let runs: [RunResult]
        do {
            runs = try FioImport.runs(data, source: source, layer: layer.name, repetitions: &reps)
        } catch {
            let tail = stderr.split(separator: "\n").suffix(3).joined(separator: " | ")
            let why = (error as? WritePathError)?.description ?? "\(error)"
            let message = "fio exited \(status) without a result: \(tail.isEmpty ? why : tail)"
            var failed = RunResult.failed(layer: layer, workload: workload, rep: rep, error: message, startedAt: startedAt)
            failed.engine.name = "fio"
            return failed
        }
        guard var run = runs.first else {
            var failed = RunResult.failed(layer: layer, workload: workload, rep: rep, error: "fio gave no job", startedAt: startedAt)
            failed.engine.name = "fio"
            return failed
        }
        let version = run.layer.settings["fio_version"] ?? "fio"
        var settings = layer.settings
        settings["engine"] = "fio"
        settings["fio_version"] = version
        if let latency = run.layer.settings["latency"] { settings["fio_latency"] = latency }
        run.layer = LayerInfo(name: layer.name, settings: settings)
        run.workload = workload
        run.rep = rep
        // The workload is writepath's own, not read back from fio's options: drop the import's
        // note on fio options it does not model (they are the ones `arguments` added for the JSON).
        run.warnings.removeAll { $0.hasPrefix("fio options writepath does not model") }
        run.engine.name = "fio"
        run.engine.features = ["fio_version:\(version)", "ioengine:\(workload.ioengine.rawValue)"]
        if status != 0 && run.status == .ok {
            run.status = .failed
            run.error = "fio exited \(status): \(stderr.split(separator: "\n").suffix(3).joined(separator: " | "))"
        }
        let leftOut = optionsLeftOut(workload)
        if !leftOut.isEmpty {
            run.warnings.append("engine fio: options fio does not have, not given to it: \(leftOut.joined(separator: ", "))")
        }
        return run
    }

    /// Runs fio on this machine for `workload` in the files of `directory` (host layer).
    static func runOnHost(_ workload: Workload, directory: String, layer: LayerInfo, rep: Int, context: LayerContext) throws -> RunResult {
        guard let fio = binary() else {
            throw WritePathError.system(
                call: "exec", path: "fio", errno: ENOENT,
                hint: "fio is not installed; scripts/install-deps.sh build")
        }
        let args = arguments(workload, target: nil, directory: directory)
        try FileManager.default.createDirectory(atPath: context.logDirectory, withIntermediateDirectories: true)
        let commandLine = "\(fio) \(args.joined(separator: " "))\n"
        try? commandLine.write(toFile: "\(context.logDirectory)/command.txt", atomically: true, encoding: .utf8)
        let stdoutFile = "\(context.logDirectory)/fio-stdout.json"
        let timeout = workload.runtime + workload.ramp_time + context.graceSeconds
        let r = try Command.run(fio, args, timeout: timeout, stdoutFile: stdoutFile)
        try? r.stderr.write(toFile: "\(context.logDirectory)/fio-stderr.log", atomically: true, encoding: .utf8)
        if r.timedOut {
            throw WritePathError.system(
                call: "fio", path: directory, errno: ETIMEDOUT,
                hint: stopRequested.load(ordering: .relaxed)
                    ? "interrupted" : "fio did not finish within \(Int(timeout)) s")
        }
        var settings = layer.settings
        if let v = version(fio) { settings["fio_version"] = v }
        return result(
            stdout: FileManager.default.contents(atPath: stdoutFile) ?? Data(), status: r.status, stderr: r.stderr,
            workload: workload, layer: LayerInfo(name: layer.name, settings: settings), rep: rep, source: "fio (\(layer.name))")
    }
}
