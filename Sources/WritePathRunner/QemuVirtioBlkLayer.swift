import WritePathEngine
import WritePathResult

/// `qemu-virtio-blk`: the engine in a QEMU guest whose test disk is a paravirtual virtio block device.
public struct QemuVirtioBlkLayer: Layer {
    public static let name = "qemu-virtio-blk"
    public static let summary = "QEMU guest, test disk on a paravirtual virtio block device"
    public static let parameterNames = QemuSettings.parameterNames
    let settings: QemuSettings

    public init(parameters: [String: String]) throws {
        settings = try QemuSettings(layer: Self.name, model: .virtioBlk, parameters: parameters)
    }

    public func availability() -> Availability { QemuRun.availability() }

    public func describe() -> [String: String] {
        settings.settings.merging(["device": DiskModel.virtioBlk.rawValue, "machine": DiskModel.virtioBlk.machine]) { a, _ in a }
    }

    public func run(_ workload: Workload, rep: Int, context: LayerContext) throws -> RunResult {
        try QemuRun(layerName: Self.name, model: .virtioBlk, settings: settings).run(workload, rep: rep, context: context)
    }
}
