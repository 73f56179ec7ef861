import WritePathEngine
import WritePathResult

/// `docker-overlay`: the target file in the container's own filesystem, the overlay2 upper
/// layer: writes cross overlayfs (and its copy-up) on top of the host filesystem.
public struct DockerOverlayLayer: Layer {
    public static let name = "docker-overlay"
    public static let summary = "Docker container, target in the container's overlay2 root filesystem"
    public static let parameterNames = ContainerLimits.parameterNames
    public static let runsFio = true
    let limits: ContainerLimits

    public init(parameters: [String: String]) throws {
        limits = try ContainerLimits(LayerParameters(layer: Self.name, values: parameters))
    }

    public func availability() -> Availability { DockerRun.availability() }

    public func describe() -> [String: String] {
        DockerRun.settings(limits: limits, storage: "container rootfs (overlay upper layer)")
    }

    public func run(_ workload: Workload, rep: Int, context: LayerContext) throws -> RunResult {
        let rootDir: String? = if case let .success(d) = Docker.daemon() { d.rootDir } else { nil }
        return try DockerRun(layerName: Self.name, limits: limits, storageArguments: [], targetPath: "/data/target.dat",
                             throttleDeviceHost: rootDir, settings: describe()).run(workload, rep: rep, context: context)
    }
}
