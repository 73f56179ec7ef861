import Foundation
import WritePathEngine
import Yams

/// How many times each layer × workload runs.
public enum Repetitions: Equatable, Sendable, CustomStringConvertible {
    /// Exactly this many.
    case fixed(Int)
    /// Until the coefficient of variation of the repetitions' main metric (write IOPS, else read
    /// IOPS) is below `cvTarget`, with at least `minimum` and at most `maximum` repetitions.
    case auto(minimum: Int, maximum: Int, cvTarget: Double)

    public var maximum: Int {
        switch self {
        case let .fixed(n): return n
        case let .auto(_, maximum, _): return maximum
        }
    }

    public var description: String {
        switch self {
        case let .fixed(n): return "\(n)"
        case let .auto(minimum, maximum, cv): return "auto (min \(minimum), max \(maximum), cv < \(cv))"
        }
    }
}

/// A matrix file: layers × workloads × repetitions.
///
/// ```yaml
/// layers:
///   - host
///   - { name: docker-volume, write_iops_limit: 500 }
/// workloads:
///   - { name: rand4k, rw: randwrite, bs: 4k, iodepth: 32, size: 256M, runtime: 10, time_based: true }
/// repetitions: 3          # or auto (then: min_repetitions, max_repetitions, cv_target)
/// seed: 42                # shuffles the layer order of each round; default: random, recorded
/// engines: [writepath, fio] # optional: every workload once per engine, back to back in each layer
/// ```
///
/// A workload may name its engine itself (`engine: fio`); a workload's identity is its name and
/// engine (`Workload.identity`), so the same name may appear once per engine.
public struct MatrixSpec: Equatable, Sendable {
    public var layers: [LayerSpec]
    public var workloads: [Workload]
    public var repetitions: Repetitions
    public var seed: UInt64

    public static let keys = [
        "layers", "workloads", "repetitions", "min_repetitions", "max_repetitions", "cv_target", "seed", "description", "engines",
    ]

    public init(layers: [LayerSpec], workloads: [Workload], repetitions: Repetitions, seed: UInt64) {
        self.layers = layers
        self.workloads = workloads
        self.repetitions = repetitions
        self.seed = seed
    }

    /// Parses matrix YAML. Every error is `invalidInput` naming the key (`workloads[1].bs`).
    public static func parse(_ text: String, source: String) throws -> MatrixSpec {
        let node: Node?
        do { node = try Yams.compose(yaml: text) } catch {
            let detail = "\(error)".split(separator: "\n").first.map(String.init) ?? "\(error)"
            throw WritePathError.invalidInput(field: source, message: "not valid YAML: \(clipped(detail, limit: 200))")
        }
        if let node { try checkShape(node, source: source) }
        let root = node?.any
        guard let map = root as? [String: Any] else {
            throw WritePathError.invalidInput(field: source, message: "expected a mapping with layers, workloads and repetitions")
        }
        for key in map.keys where !keys.contains(key) {
            throw WritePathError.invalidInput(field: clipped(key), message: "unknown matrix key; expected \(keys.joined(separator: ", "))")
        }
        guard let layerList = map["layers"] as? [Any], !layerList.isEmpty else {
            throw WritePathError.invalidInput(field: "layers", message: "needs a list of at least one layer, e.g. [host, docker-volume]")
        }
        var layers: [LayerSpec] = []
        for (i, entry) in layerList.enumerated() {
            let field = "layers[\(i)]"
            if let name = entry as? String {
                layers.append(LayerSpec(name: name))
            } else if let m = entry as? [String: Any] {
                guard let name = m["name"] as? String else {
                    throw WritePathError.invalidInput(
                        field: "\(field).name", message: "missing; give the layer's name, e.g. { name: docker-volume }")
                }
                var params: [String: String] = [:]
                for (k, v) in m where k != "name" { params[k] = try scalar(v, field: "\(field).\(k)") }
                layers.append(LayerSpec(name: name, parameters: params))
            } else {
                throw WritePathError.invalidInput(field: field, message: "expected a layer name or { name: ..., parameter: value }")
            }
            _ = try LayerRegistry.make(layers.last!)  // validates name and parameters now, not mid-matrix
        }
        if Set(layers).count != layers.count {
            throw WritePathError.invalidInput(field: "layers", message: "a layer with the same parameters is listed twice")
        }
        guard let workloadList = map["workloads"] as? [Any], !workloadList.isEmpty else {
            throw WritePathError.invalidInput(
                field: "workloads",
                message: "needs a list of at least one workload of fio options, e.g. [{ name: rand4k, rw: randwrite, bs: 4k, size: 256m }]")
        }
        var workloads: [Workload] = []
        for (i, entry) in workloadList.enumerated() {
            guard let m = entry as? [String: Any] else {
                throw WritePathError.invalidInput(field: "workloads[\(i)]", message: "expected a mapping of fio options")
            }
            var w = Workload()
            w.name = "workload\(i + 1)"
            for (k, v) in m.sorted(by: { $0.key < $1.key }) {
                if k == "engine" {
                    let text = try scalar(v, field: "workloads[\(i)].engine")
                    guard let e = WorkloadEngine(rawValue: text) else {
                        throw WritePathError.invalidInput(
                            field: "workloads[\(i)].engine",
                            message: "\(quoted(text)) is not an engine; expected writepath or fio")
                    }
                    w.engine = e
                    continue
                }
                if ["filename", "directory"].contains(k) {
                    throw WritePathError.invalidInput(
                        field: "workloads[\(i)].\(k)", message: "each layer places the target itself; leave \(k) out")
                }
                let value = try scalar(v, field: "workloads[\(i)].\(clipped(k))")
                do { try w.set(k, value) } catch let WritePathError.invalidInput(field, message) {
                    throw WritePathError.invalidInput(field: "workloads[\(i)].\(field)", message: message)
                }
            }
            if w.size == nil {
                throw WritePathError.invalidInput(
                    field: "workloads[\(i)].size", message: "needed: each layer creates a new target file, e.g. size: 256m")
            }
            do { try w.validate() } catch let WritePathError.invalidInput(field, message) {
                throw WritePathError.invalidInput(field: "workloads[\(i)].\(field)", message: message)
            }
            workloads.append(w)
        }
        if let list = map["engines"] {
            guard let items = list as? [Any], !items.isEmpty else {
                throw WritePathError.invalidInput(field: "engines", message: "expected a list of engines, e.g. [writepath, fio]")
            }
            var engines: [WorkloadEngine] = []
            for (i, item) in items.enumerated() {
                let text = try scalar(item, field: "engines[\(i)]")
                guard let e = WorkloadEngine(rawValue: text) else {
                    throw WritePathError.invalidInput(
                        field: "engines[\(i)]",
                        message: "\(quoted(text)) is not an engine; expected writepath or fio")
                }
                if !engines.contains(e) { engines.append(e) }
            }
            workloads = withEngines(workloads, engines)
        }
        if Set(workloads.map(\.identity)).count != workloads.count {
            throw WritePathError.invalidInput(field: "workloads", message: "workload names must be unique (per engine)")
        }
        let reps: Repetitions
        let minimum = try integer(map["min_repetitions"], field: "min_repetitions", range: 2...1000) ?? 3
        let maximum = try integer(map["max_repetitions"], field: "max_repetitions", range: 1...1000) ?? 10
        switch map["repetitions"] {
        case nil: reps = .fixed(1)
        case let s as String where s == "auto":
            let cv = try number(map["cv_target"], field: "cv_target", range: 0.0001...1) ?? 0.035
            guard maximum >= minimum else {
                throw WritePathError.invalidInput(field: "max_repetitions", message: "\(maximum) is below min_repetitions \(minimum)")
            }
            reps = .auto(minimum: minimum, maximum: maximum, cvTarget: cv)
        default:
            guard let n = try integer(map["repetitions"], field: "repetitions", range: 1...1000) else {
                throw WritePathError.invalidInput(field: "repetitions", message: "expected a whole number from 1 to 1000, or auto")
            }
            reps = .fixed(n)
        }
        let seed: UInt64
        if let s = map["seed"] {
            guard let text = try? scalar(s, field: "seed"), let v = UInt64(text) else {
                throw WritePathError.invalidInput(field: "seed", message: "expected a whole number from 0 to \(UInt64.max)")
            }
            seed = v
        } else {
            seed = UInt64.random(in: 0...UInt64(UInt32.max))
        }
        return MatrixSpec(layers: layers, workloads: workloads, repetitions: reps, seed: seed)
    }

    /// Each workload once per engine in `engines`, the engines of one workload next to each other
    /// (so they run back to back in each layer of each round).
    public static func withEngines(_ workloads: [Workload], _ engines: [WorkloadEngine]) -> [Workload] {
        workloads.flatMap { w in
            engines.map { e in
                var c = w; c.engine = e; return c
            }
        }
    }

    /// The most YAML values (scalars, lists, mappings, counted after alias expansion) a matrix
    /// file may hold; real ones hold hundreds.
    static let maximumValues = 100_000

    /// Checks what Yams cannot turn into Swift values safely, before it tries: aliases of aliases
    /// that expand exponentially ("billion laughs"), and mapping keys that are lists or mappings
    /// (Yams traps on them). Walks at most `maximumValues` values, without recursion.
    static func checkShape(_ root: Node, source: String) throws {
        var stack = [root]
        var count = 0
        while let node = stack.popLast() {
            count += 1
            if count > maximumValues {
                throw WritePathError.invalidInput(
                    field: source, message: "expands to more than \(maximumValues) YAML values (aliases of aliases?); write the matrix out")
            }
            switch node {
            case let .mapping(m):
                for (k, v) in m {
                    guard case .scalar = k else {
                        let line = k.mark.map { "line \($0.line): " } ?? ""
                        throw WritePathError.invalidInput(field: source, message: "\(line)a key must be plain text, not a list or mapping")
                    }
                    stack.append(v)
                }
            case let .sequence(s):
                stack.append(contentsOf: s)
            case .scalar, .alias:
                break
            }
        }
    }

    static func scalar(_ v: Any, field: String) throws -> String {
        switch v {
        case let s as String: return s
        case let b as Bool: return b ? "1" : "0"
        case let i as Int: return String(i)
        case let d as Double: return d == d.rounded() && abs(d) < 1e15 ? String(Int(d)) : String(d)
        default:
            throw WritePathError.invalidInput(
                field: field, message: "expected a single value (text, number or boolean), not a list or mapping")
        }
    }

    static func integer(_ v: Any?, field: String, range: ClosedRange<Int>) throws -> Int? {
        guard let v else { return nil }
        guard let i = v as? Int, !(v is Bool), range.contains(i) else {
            throw WritePathError.invalidInput(
                field: field, message: "expected a whole number from \(range.lowerBound) to \(range.upperBound)")
        }
        return i
    }

    static func number(_ v: Any?, field: String, range: ClosedRange<Double>) throws -> Double? {
        guard let v else { return nil }
        let d: Double? = (v as? Double) ?? (v as? Int).map(Double.init)
        guard let d, range.contains(d) else {
            throw WritePathError.invalidInput(field: field, message: "expected a number from \(range.lowerBound) to \(range.upperBound)")
        }
        return d
    }

    /// The spec as YAML that `parse` reads back (saved in the results for `--resume`).
    public var yaml: String {
        /// Every value a double-quoted string, so that Yams escapes `"`, `\\` and control characters.
        func text(_ s: String) -> Node { Node(s, .implicit, .doubleQuoted) }
        func number(_ s: String) -> Node { Node(s) }
        var top: [(Node, Node)] = [("seed", number("\(seed)"))]
        switch repetitions {
        case let .fixed(n): top.append(("repetitions", number("\(n)")))
        case let .auto(mn, mx, cv):
            top += [
                ("repetitions", "auto"), ("min_repetitions", number("\(mn)")), ("max_repetitions", number("\(mx)")),
                ("cv_target", number("\(cv)")),
            ]
        }
        let layerNodes: [Node] = layers.map { l in
            if l.parameters.isEmpty { return text(l.name) }
            return Node(
                [("name", text(l.name))] + l.parameters.sorted { $0.key < $1.key }.map { (text($0.key), text($0.value)) },
                .implicit, .flow)
        }
        let workloadNodes: [Node] = workloads.map { w in
            var pairs: [(Node, Node)] = [("name", text(w.name))]
            for a in w.commandLineArguments {
                let kv = a.dropFirst(2).split(separator: "=", maxSplits: 1).map(String.init)
                guard kv.count == 2, kv[0] != "name" else { continue }
                pairs.append((text(kv[0]), text(kv[1])))
            }
            if w.engine != .writepath { pairs.append(("engine", text(w.engine.rawValue))) }
            return Node(pairs, .implicit, .flow)
        }
        top += [("layers", Node(layerNodes)), ("workloads", Node(workloadNodes))]
        // Serializing a tree of strings cannot fail; width -1: no line folding inside a value.
        return (try? Yams.serialize(node: Node(top), width: -1, allowUnicode: true)) ?? ""
    }
}
