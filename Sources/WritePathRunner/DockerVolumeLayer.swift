import WritePathEngine
import WritePathResult

/// `docker-volume`: the target on a named Docker volume made for the run (local driver: a folder
/// under the daemon's root, no overlay in the path). The volume is removed afterwards.
public struct DockerVolumeLayer: Layer {
    public static let name = "docker-volume"
    public static let summary = "Docker container, target on a named volume"
    public static let parameterNames = ContainerLimits.parameterNames
    public static let runsFio = true
    let limits: ContainerLimits

    public init(parameters: [String: String]) throws {
        limits = try ContainerLimits(LayerParameters(layer: Self.name, values: parameters))
    }

    public func availability() -> Availability { DockerRun.availability() }

    public func describe() -> [String: String] {
        DockerRun.settings(limits: limits, storage: "named volume (local driver)")
    }

    public func run(_ workload: Workload, rep: Int, context: LayerContext) throws -> RunResult {
        let volume = "wp-\(context.runID)"
        let created = try Command.run("docker", ["volume", "create", "--label", "writepath=1", volume], timeout: 60)
        guard created.succeeded else {
            throw WritePathError.system(call: "docker volume create", path: volume, errno: 5, hint: created.stderrTail())
        }
        defer { if !context.keep { _ = try? Command.run("docker", ["volume", "rm", "-f", volume], timeout: 60) } }
        let mountpoint = (try? Command.run("docker", ["volume", "inspect", "--format", "{{.Mountpoint}}", volume], timeout: 30))?
            .stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        var settings = describe()
        settings["volume"] = volume
        return try DockerRun(layerName: Self.name, limits: limits,
                             storageArguments: ["--mount", "type=volume,src=\(volume),dst=/wp"],
                             targetPath: "/wp/target.dat", throttleDeviceHost: mountpoint, settings: settings)
            .run(workload, rep: rep, context: context)
    }
}
