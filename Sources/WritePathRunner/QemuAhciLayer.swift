import WritePathEngine
import WritePathResult

/// `qemu-ahci`: the engine in a QEMU guest whose test disk is a SATA disk on an emulated AHCI controller (fully emulated).
public struct QemuAhciLayer: Layer {
    public static let name = "qemu-ahci"
    public static let summary = "QEMU guest, test disk on a SATA disk on an emulated AHCI controller (fully emulated)"
    public static let parameterNames = QemuSettings.parameterNames
    let settings: QemuSettings

    public init(parameters: [String: String]) throws {
        settings = try QemuSettings(layer: Self.name, model: .ahci, parameters: parameters)
    }

    public func availability() -> Availability { QemuRun.availability() }

    public func describe() -> [String: String] {
        settings.settings.merging(["device": DiskModel.ahci.rawValue, "machine": DiskModel.ahci.machine]) { a, _ in a }
    }

    public func run(_ workload: Workload, rep: Int, context: LayerContext) throws -> RunResult {
        try QemuRun(layerName: Self.name, model: .ahci, settings: settings).run(workload, rep: rep, context: context)
    }
}
