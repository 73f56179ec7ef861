import WritePathEngine
import WritePathResult

/// `qemu-nvme`: the engine in a QEMU guest whose test disk is an emulated NVMe controller.
public struct QemuNvmeLayer: Layer {
    public static let name = "qemu-nvme"
    public static let summary = "QEMU guest, test disk on an emulated NVMe controller"
    public static let parameterNames = QemuSettings.parameterNames
    let settings: QemuSettings

    public init(parameters: [String: String]) throws {
        settings = try QemuSettings(layer: Self.name, model: .nvme, parameters: parameters)
    }

    public func availability() -> Availability { QemuRun.availability() }

    public func describe() -> [String: String] {
        settings.settings.merging(["device": DiskModel.nvme.rawValue, "machine": DiskModel.nvme.machine]) { a, _ in a }
    }

    public func run(_ workload: Workload, rep: Int, context: LayerContext) throws -> RunResult {
        try QemuRun(layerName: Self.name, model: .nvme, settings: settings).run(workload, rep: rep, context: context)
    }
}
