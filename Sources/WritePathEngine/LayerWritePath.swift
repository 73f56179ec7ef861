import Foundation

/// What a write crosses in one layer, from the application to the device, as the layer itself
/// describes it: the boxes of the report's write-path diagram. Recorded in `runs[].layer` under
/// `write_path_diagram` (`LayerWritePath.settingsKey`) in a text form a reader can follow:
///
///     application (writepath engine) → [container: namespaces · cgroup (runc) → mount (named volume)]
///       → host kernel (VFS · fs · block) → device (disk / memory)
///
/// Each step is `title (detail)`; the steps inside the box (the container, the guest) are in
/// `[name: ...]`. A title holds no ` (`; a detail may hold parentheses; neither holds ` → `, `[` or `]`.
public struct LayerWritePath: Sendable, Equatable {
    /// One step of the path.
    public struct Step: Sendable, Equatable {
        public var title: String
        public var detail: String
        /// Whether the step is inside the layer's box (container, sandbox, guest).
        public var boxed: Bool

        public init(_ title: String, _ detail: String, boxed: Bool = false) {
            self.title = title
            self.detail = detail
            self.boxed = boxed
        }
    }

    /// The settings key the path is recorded under.
    public static let settingsKey = "write_path_diagram"

    /// The name of the box the boxed steps are in (`container`, `guest`); nil without a box.
    public var box: String?
    public var steps: [Step]

    public init(box: String?, steps: [Step]) {
        self.box = box
        self.steps = steps
    }

    /// The steps every layer starts with: the engine.
    public static let application = Step("application", "writepath engine")
    /// The steps every layer ends with: this machine's kernel and the device under it.
    public static let host = [Step("host kernel", "VFS · fs · block"), Step("device", "disk / memory")]

    /// A path with `inside` in a box named `box`, between the application and the host's kernel
    /// and device, with `outside` (a hypervisor, a mount seen from the host) after the box.
    public static func boxed(_ box: String, _ inside: [Step], then outside: [Step] = []) -> LayerWritePath {
        LayerWritePath(box: box, steps: [application] + inside.map { Step($0.title, $0.detail, boxed: true) } + outside + host)
    }

    /// The text form recorded in the settings.
    public var encoded: String {
        var parts: [String] = []
        var i = 0
        while i < steps.count {
            if steps[i].boxed {
                var inner: [String] = []
                while i < steps.count, steps[i].boxed { inner.append(Self.text(steps[i])); i += 1 }
                parts.append("[\(box ?? "box"): \(inner.joined(separator: " → "))]")
            } else {
                parts.append(Self.text(steps[i]))
                i += 1
            }
        }
        return parts.joined(separator: " → ")
    }

    static func text(_ s: Step) -> String { "\(s.title) (\(s.detail))" }

    /// Reads the text form; nil when `text` is not one.
    public init?(encoded text: String) {
        var steps: [Step] = []
        var box: String?
        var inBox = false
        for var part in text.components(separatedBy: " → ") {
            if part.hasPrefix("[") {
                guard !inBox, let colon = part.range(of: ": ") else { return nil }
                box = String(part[part.index(after: part.startIndex)..<colon.lowerBound])
                part = String(part[colon.upperBound...])
                inBox = true
            }
            let closes = inBox && part.hasSuffix("]")
            if closes { part.removeLast() }
            guard let open = part.range(of: " ("), part.hasSuffix(")") else { return nil }
            let detail = part[open.upperBound..<part.index(before: part.endIndex)]
            steps.append(Step(String(part[..<open.lowerBound]), String(detail), boxed: inBox))
            if closes { inBox = false }
        }
        guard !inBox, !steps.isEmpty else { return nil }
        self.init(box: box, steps: steps)
    }

    /// The path a layer recorded in `settings`, or nil when it recorded none.
    public init?(settings: [String: String]) {
        guard let text = settings[Self.settingsKey] else { return nil }
        self.init(encoded: text)
    }
}
