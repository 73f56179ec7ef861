import WritePathEngine
import WritePathResult

/// `xen-pv`: the engine in a paravirtualized Xen domU whose test disk is xen-blkfront on a
/// blkback backend in dom0; on a Xen host, or nested under QEMU TCG where there is none.
public struct XenPVLayer: Layer {
    public static let name = "xen-pv"
    public static let summary = "Xen PV domU, test disk on xen-blkfront/blkback (a Xen host, else nested under QEMU TCG)"
    public static let parameterNames = XenSettings.parameterNames
    let settings: XenSettings

    public init(parameters: [String: String]) throws {
        settings = try XenSettings(layer: Self.name, mode: .pv, parameters: parameters)
    }

    public func availability() -> Availability { XenRun.availability(settings.xen) }

    public func describe() -> [String: String] { XenRun(layerName: Self.name, mode: .pv, settings: settings).describe() }

    public func run(_ workload: Workload, rep: Int, context: LayerContext) throws -> RunResult {
        try XenRun(layerName: Self.name, mode: .pv, settings: settings).run(workload, rep: rep, context: context)
    }
}
