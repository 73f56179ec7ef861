import WritePathEngine
import WritePathResult

/// `docker-tmpfs`: the target on a tmpfs mount inside the container: no device in the path, an
/// engine-bound reference for the other container layers.
public struct DockerTmpfsLayer: Layer {
    public static let name = "docker-tmpfs"
    public static let summary = "Docker container, target on a tmpfs mount (engine-bound reference)"
    public static let parameterNames = ContainerLimits.parameterNames
    public static let runsFio = true
    let limits: ContainerLimits

    public init(parameters: [String: String]) throws {
        limits = try ContainerLimits(LayerParameters(layer: Self.name, values: parameters))
        if limits.throttled {
            throw WritePathError.invalidInput(field: "\(Self.name).write_iops_limit", message: "tmpfs has no block device to throttle; use docker-volume or docker-bind")
        }
    }

    public func availability() -> Availability { DockerRun.availability() }

    public func describe() -> [String: String] {
        DockerRun.settings(limits: limits, storage: "tmpfs mount")
    }

    public func run(_ workload: Workload, rep: Int, context: LayerContext) throws -> RunResult {
        // Room for the region of every job plus a margin.
        let bytes = (workload.size ?? (64 << 20)) * UInt64(workload.numjobs) + workload.offset + (16 << 20)
        return try DockerRun(layerName: Self.name, limits: limits,
                             storageArguments: ["--mount", "type=tmpfs,dst=/wp,tmpfs-size=\(bytes)"],
                             targetPath: "/wp/target.dat", throttleDeviceHost: nil, settings: describe())
            .run(workload, rep: rep, context: context)
    }
}
