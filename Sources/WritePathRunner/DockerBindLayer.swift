import Foundation
import WritePathEngine
import WritePathResult

/// `docker-bind`: the target on a host folder bind-mounted into the container (parameter `path`,
/// default a folder under the run's scratch folder, made and removed by writepath).
public struct DockerBindLayer: Layer {
    public static let name = "docker-bind"
    public static let summary = "Docker container, target on a bind-mounted host folder"
    public static let parameterNames = ContainerLimits.parameterNames + ["path"]
    public static let runsFio = true
    let limits: ContainerLimits
    let path: String?

    public init(parameters: [String: String]) throws {
        let values = LayerParameters(layer: Self.name, values: parameters)
        limits = try ContainerLimits(values)
        path = try values.existingFolder("path")
    }

    public func availability() -> Availability { DockerRun.availability() }

    public func describe() -> [String: String] {
        var d = DockerRun.settings(limits: limits, storage: "bind mount of a host folder")
        if let path { d["host_path"] = path }
        return d
    }

    public func run(_ workload: Workload, rep: Int, context: LayerContext) throws -> RunResult {
        let folder = path.map { "\($0)/wp-\(context.runID)" } ?? "\(context.scratchDirectory)/bind-\(context.runID)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { if !context.keep { try? FileManager.default.removeItem(atPath: folder) } }
        var settings = describe()
        settings["host_path"] = folder
        return try DockerRun(layerName: Self.name, limits: limits,
                             storageArguments: ["--mount", "type=bind,src=\(folder),dst=/wp"],
                             targetPath: "/wp/target.dat", throttleDeviceHost: folder, settings: settings)
            .run(workload, rep: rep, context: context)
    }
}
