import WritePathEngine
import WritePathResult

/// Whether the engine took the same kernel path in a layer as in the baseline layer. The
/// comparison is the product only when the differences are the layers': the engine facts a run
/// records (`engine.features`) split into the engine's own choices (io_uring setup flags,
/// registered buffers, file and ring, SQPOLL, io-wq colocation; the engine itself) and what the
/// layer's target made of the writes (`iowq:inline` or `iowq:punted`: whether the filesystem
/// under the target takes a write without blocking).
public enum EngineParity {
    /// One row's engine path compared with its workload's baseline row.
    public struct Finding: Sendable, Equatable {
        /// `layer / workload`.
        public var label: String
        /// The engine's own facts that differ from the baseline's: e.g. `engine libaio (baseline
        /// io_uring)`, `fixed_buffers:unavailable(ENOMEM) (baseline fixed_buffers)`. A non-empty
        /// list means the layer forced another engine path: its ratio is not the layer's cost alone.
        public var engineDifferences: [String]
        /// What the layer's target did differently (io-wq punting), which is the layer's effect.
        public var layerDifferences: [String]
    }

    /// Whether a feature is the layer's effect (how the target took the writes), not the engine's.
    static func isLayerEffect(_ feature: String) -> Bool { feature.hasPrefix("iowq:") }

    /// A feature without the parts that name this machine's resources (the CPU number of the
    /// colocation), so that a container's cpuset does not look like another path.
    static func normalized(_ feature: String) -> String {
        if feature.hasPrefix("iowq_colocated:"), let paren = feature.firstIndex(of: "(") {
            return "iowq_colocated:" + feature[paren...]
        }
        return feature
    }

    /// For every non-baseline row with an ok run, its differences from the baseline row of the
    /// same workload (first ok run of each); rows without a baseline are left out.
    public static func findings(_ rows: [LayerWorkloadAggregate], baselineLayer: String) -> [Finding] {
        var out: [Finding] = []
        for row in rows where row.layer != baselineLayer {
            guard let run = row.okRuns.first,
                let base = rows.first(where: { $0.layer == baselineLayer && $0.workloadIdentity == row.workloadIdentity })?.okRuns.first
            else { continue }
            var engine: [String] = []
            if run.engine.name != base.engine.name { engine.append("engine \(run.engine.name) (baseline \(base.engine.name))") }
            let mine = run.engine.features.map(normalized), theirs = base.engine.features.map(normalized)
            let onlyMine = mine.filter { !theirs.contains($0) }, onlyTheirs = theirs.filter { !mine.contains($0) }
            var layer = onlyMine.filter(isLayerEffect).map { f in
                "\(f) (baseline \(onlyTheirs.first(where: isLayerEffect) ?? "found neither"))"
            }
            // Automatic colocation, completion batching and polling follow the io-wq finding: where the
            // layer's target changed it, their difference is the layer's effect too.
            let automatic = ["iowq_colocated:", "iowq_complete_batch:", "iowq_poll:"]
            func follows(_ f: String) -> Bool { !layer.isEmpty && automatic.contains(where: f.hasPrefix) && f.hasSuffix("(auto)") }
            for f in onlyMine where !isLayerEffect(f) {
                if follows(f) { layer.append("\(f) (follows the io-wq finding)") } else { engine.append("\(f) (not in the baseline)") }
            }
            for f in onlyTheirs where !isLayerEffect(f) {
                if follows(f) {
                    layer.append("no \(f) (follows the io-wq finding)")
                } else {
                    engine.append("no \(f) (the baseline has it)")
                }
            }
            if !engine.isEmpty || !layer.isEmpty {
                out.append(Finding(label: row.label, engineDifferences: engine, layerDifferences: layer))
            }
        }
        return out
    }

    /// One warning per row whose engine took another path than in the baseline.
    public static func warnings(_ rows: [LayerWorkloadAggregate], baselineLayer: String) -> [String] {
        findings(rows, baselineLayer: baselineLayer).filter { !$0.engineDifferences.isEmpty }.map {
            "\($0.label): the engine took another path than in \(baselineLayer) (\($0.engineDifferences.joined(separator: "; "))): "
                + "its ratio to \(baselineLayer) is not the layer's cost alone"
        }
    }
}
