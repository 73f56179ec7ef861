import WritePathEngine
import WritePathResult

extension LayerRegistry {
    /// Results written before layers recorded their write path (`LayerWritePath.settingsKey`) get
    /// the path the registry's layer of the same name and parameters gives for the settings the
    /// run recorded, so a report of old results draws each layer's own path rather than none.
    /// Runs of layers the registry does not know (fio imports, hand-run labels) and runs whose
    /// parameters no longer parse are left as they are. Returns how many runs were filled.
    @discardableResult
    public static func fillWritePaths(_ input: inout ResultInput) -> Int {
        var filled = 0
        for s in input.sources.indices {
            for r in input.sources[s].document.runs.indices {
                let run = input.sources[s].document.runs[r]
                guard run.layer.settings[LayerWritePath.settingsKey] == nil, run.hand_run == nil,
                    let spec = try? LayerSpec.parse(run.layerSpec), let layer = try? make(spec)
                else { continue }
                input.sources[s].document.runs[r].layer.settings[LayerWritePath.settingsKey] =
                    layer.writePath(run.layer.settings).encoded
                filled += 1
            }
        }
        return filled
    }
}
