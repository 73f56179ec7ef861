import WritePathEngine
import WritePathResult

/// `engine_fallback: libaio|psync` on a layer that blocks io_uring (gVisor, a seccomp profile):
/// the engine that runs there instead of io_uring. The run records it in `layer.settings` and its
/// workload names the engine that ran, so the report flags the engine difference against the
/// baseline (EngineParity) rather than taking another engine's figures for the layer's cost.
struct EngineFallback: Sendable, Equatable {
    static let parameter = "engine_fallback"
    var engine: EngineKind

    /// The fallback `p` asks for, or nil.
    static func parse(_ p: LayerParameters) throws -> EngineFallback? {
        guard let v = try p.choice(parameter, ["libaio", "psync"]) else { return nil }
        return EngineFallback(engine: EngineKind(rawValue: v)!)
    }

    /// `workload` with the fallback engine when it asks for io_uring (else unchanged), without the
    /// options only io_uring takes.
    func applied(to workload: Workload) -> Workload {
        guard workload.ioengine == .io_uring else { return workload }
        var w = workload
        w.ioengine = engine
        w.io_uring = IOUringOptions()
        return w
    }

    /// Whether a run of `workload` uses the fallback.
    func replaces(_ workload: Workload) -> Bool { workload.ioengine == .io_uring }

    /// Records the outcome in `run`: the fallback in `engine_fallback` and a warning when it ran,
    /// else, for a failed io_uring run, the finding that `blocker` blocks io_uring in `run.error`.
    static func record(_ run: inout RunResult, fallback: EngineFallback?, original: Workload, layer: String, blocker: String) {
        if let fallback, fallback.replaces(original) {
            run.layer.settings["engine_fallback"] = "\(fallback.engine.rawValue) (io_uring blocked by \(blocker))"
            run.warnings.append(
                "\(layer) ran \(fallback.engine.rawValue) instead of io_uring (engine_fallback): \(blocker) blocks io_uring")
        } else if run.status != .ok, run.engine.name == EngineKind.io_uring.rawValue, let error = run.error,
            isIOUringSetupFailure(error) || layer == "gvisor"
        {
            run.error =
                "\(blocker) blocks io_uring (\(finding(error))): this layer forces another engine path; "
                + "set \(layer) engine_fallback: libaio (or psync) to measure it. Engine: \(error)"
        }
    }

    /// Whether the engine's error is io_uring's setup failing.
    static func isIOUringSetupFailure(_ error: String) -> Bool {
        error.contains("io_uring_setup") || error.contains("io_uring_queue_init")
    }

    /// What the engine's io_uring error says.
    static func finding(_ error: String) -> String {
        if isIOUringSetupFailure(error) {
            for name in ["ENOSYS", "EPERM", "EINVAL"] where error.contains(name) { return "io_uring_setup fails with \(name)" }
            return "io_uring_setup fails"
        }
        if error.contains("EINVAL") { return "io_uring_setup works but its writes fail with EINVAL: no io_uring write ops" }
        return "io_uring fails"
    }
}
