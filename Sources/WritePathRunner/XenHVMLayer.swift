import WritePathEngine
import WritePathResult

/// `xen-hvm`: the engine in an HVM Xen domU with PV drivers whose test disk is xen-blkfront on a
/// blkback backend in dom0; on a Xen host, or nested under QEMU TCG where there is none.
public struct XenHVMLayer: Layer {
    public static let name = "xen-hvm"
    public static let summary =
        "Xen HVM domU (device model in dom0, needs HAP), test disk on xen-blkfront/blkback (a Xen host, else nested under QEMU TCG)"
    public static let parameterNames = XenSettings.parameterNames
    let settings: XenSettings

    public init(parameters: [String: String]) throws {
        settings = try XenSettings(layer: Self.name, mode: .hvm, parameters: parameters)
    }

    public func availability() -> Availability {
        let a = XenRun.availability(settings.xen)
        if case let .available(detail) = a, detail.hasPrefix("nested") {
            return .available(
                detail: detail + "; the HVM domU's firmware runs in a device model inside the emulated dom0: it boots in 1.5 to 8 minutes")
        }
        return a
    }

    public func describe() -> [String: String] { XenRun(layerName: Self.name, mode: .hvm, settings: settings).describe() }

    public func run(_ workload: Workload, rep: Int, context: LayerContext) throws -> RunResult {
        try XenRun(layerName: Self.name, mode: .hvm, settings: settings).run(workload, rep: rep, context: context)
    }
}
