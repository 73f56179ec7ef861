import WritePathEngine
import WritePathResult

/// `qemu-ide`: the engine in a QEMU guest whose test disk is an IDE disk on the emulated PIIX controller (fully emulated, port I/O).
public struct QemuIdeLayer: Layer {
    public static let name = "qemu-ide"
    public static let summary = "QEMU guest, test disk on an IDE disk on the emulated PIIX controller (fully emulated, port I/O)"
    public static let parameterNames = QemuSettings.parameterNames
    let settings: QemuSettings

    public init(parameters: [String: String]) throws {
        settings = try QemuSettings(layer: Self.name, model: .ide, parameters: parameters)
    }

    public func availability() -> Availability { QemuRun.availability() }

    public func describe() -> [String: String] {
        settings.settings.merging(["device": DiskModel.ide.rawValue, "machine": DiskModel.ide.machine]) { a, _ in a }
    }

    public func run(_ workload: Workload, rep: Int, context: LayerContext) throws -> RunResult {
        try QemuRun(layerName: Self.name, model: .ide, settings: settings).run(workload, rep: rep, context: context)
    }
}
