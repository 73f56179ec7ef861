import WritePathEngine
import WritePathResult

/// `qemu-virtio-scsi`: the engine in a QEMU guest whose test disk is a SCSI disk on a paravirtual virtio-scsi controller.
public struct QemuVirtioScsiLayer: Layer {
    public static let name = "qemu-virtio-scsi"
    public static let summary = "QEMU guest, test disk on a SCSI disk on a paravirtual virtio-scsi controller"
    public static let parameterNames = QemuSettings.parameterNames
    let settings: QemuSettings

    public init(parameters: [String: String]) throws {
        settings = try QemuSettings(layer: Self.name, model: .virtioScsi, parameters: parameters)
    }

    public func availability() -> Availability { QemuRun.availability() }

    public func describe() -> [String: String] {
        settings.settings.merging(["device": DiskModel.virtioScsi.rawValue, "machine": DiskModel.virtioScsi.machine]) { a, _ in a }
    }

    public func run(_ workload: Workload, rep: Int, context: LayerContext) throws -> RunResult {
        try QemuRun(layerName: Self.name, model: .virtioScsi, settings: settings).run(workload, rep: rep, context: context)
    }
}
