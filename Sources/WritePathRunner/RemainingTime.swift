/// How long the runs still to come will take, from the runs so far: each run left is estimated by
/// the mean wall time of the finished runs of its layer kind (a guest boots, a container starts,
/// the host does neither), else of every finished run, else by the workload's own duration.
public struct RemainingTime: Sendable {
    /// Finished runs' wall seconds per layer kind (the layer's name: `host`, `qemu-nvme`, ...).
    public private(set) var seconds: [String: [Double]] = [:]

    public init() {}

    /// Records one finished run of `kind` that took `wallSeconds`.
    public mutating func record(kind: String, wallSeconds: Double) {
        guard wallSeconds.isFinite, wallSeconds >= 0 else { return }
        seconds[kind, default: []].append(wallSeconds)
    }

    /// Seconds the runs of `remaining` (one layer kind per run) will take; `fallback` seconds a
    /// run when nothing has finished yet.
    public func estimate(_ remaining: [String], fallback: Double) -> Double {
        let all = seconds.values.flatMap { $0 }
        let overall = all.isEmpty ? fallback : all.reduce(0, +) / Double(all.count)
        return remaining.reduce(0) { sum, kind in
            guard let s = seconds[kind], !s.isEmpty else { return sum + overall }
            return sum + s.reduce(0, +) / Double(s.count)
        }
    }
}
