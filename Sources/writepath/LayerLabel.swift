import WritePathEngine
import WritePathResult
import WritePathRunner

/// `writepath run --layer-label NAME[:k=v,...]`: the layer a run made by hand goes by, inside an
/// environment writepath cannot create itself (OpenVZ, Porto, a cloud VM, a Kubernetes pod).
struct LayerLabel: Equatable {
    /// The label as given.
    var text: String
    /// The layer name: `[a-z0-9._-]+`, and not a layer writepath runs itself.
    var name: String
    /// Settings that describe the environment (`node=n1`), in the order given.
    var settings: [(key: String, value: String)]

    static func == (a: LayerLabel, b: LayerLabel) -> Bool { a.text == b.text }

    static let nameCharacters = Set("abcdefghijklmnopqrstuvwxyz0123456789._-")
    static let keyCharacters = Set("abcdefghijklmnopqrstuvwxyz0123456789_")

    /// Parses and checks `text`; throws `invalidInput` naming `layer-label` and what it accepts.
    static func parse(_ text: String) throws -> LayerLabel {
        func bad(_ message: String) -> WritePathError { .invalidInput(field: "layer-label", message: message) }
        let parts = text.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
        let name = String(parts[0])
        guard !name.isEmpty, name.allSatisfy({ nameCharacters.contains($0) }) else {
            throw bad("'\(name)' is not a layer name; expected letters a-z, digits and . _ - only, e.g. k8s-pod")
        }
        let builtIn = LayerRegistry.all.map { $0.name }
        guard !builtIn.contains(name) else {
            throw bad("'\(name)' is a layer writepath runs itself; choose another name (built-in: \(builtIn.joined(separator: ", ")))")
        }
        var settings: [(key: String, value: String)] = []
        if parts.count == 2 {
            for item in parts[1].split(separator: ",", omittingEmptySubsequences: false) {
                let kv = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                let key = String(kv[0]), value = kv.count == 2 ? String(kv[1]) : ""
                guard !key.isEmpty, key.allSatisfy({ keyCharacters.contains($0) }), !["name", "spec"].contains(key),
                    !value.isEmpty, !value.contains(where: { "()=".contains($0) || $0.isWhitespace }),
                    !settings.contains(where: { $0.key == key })
                else {
                    throw bad(
                        "'\(item)' is not a setting; expected NAME:key=value,... "
                            + "with keys of a-z, 0-9 and _ given once, values non-empty")
                }
                settings.append((key, value))
            }
        }
        return LayerLabel(text: text, name: name, settings: settings)
    }

    /// The result's `layer`: the name, the settings, and `spec` as a matrix layer's (`k8s-pod(node=n1)`).
    var layer: LayerInfo {
        var s = Dictionary(uniqueKeysWithValues: settings.map { ($0.key, $0.value) })
        if !settings.isEmpty { s["spec"] = "\(name)(\(settings.map { "\($0.key)=\($0.value)" }.joined(separator: ",")))" }
        return LayerInfo(name: name, settings: s)
    }
}
