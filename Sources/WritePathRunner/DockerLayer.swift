import Foundation
import WritePathEngine
import WritePathResult

/// Where a docker layer's target lives: one value per `docker-*` layer, all run by `DockerLayer`.
public struct DockerStorage: Sendable {
    /// The layer's name (`docker-volume`).
    public var layerName: String
    /// One line on what the layer measures.
    public var summary: String
    /// `storage` in `runs[].layer`.
    var description: String
    /// The mount as the write-path diagram names it.
    var mount: String
    /// Parameters beyond the container limits (`path` of docker-bind).
    var extraParameters: [String] = []
    /// Whether the target has a block device a `write_*_limit` can throttle.
    var throttles = true
    /// Provides the target for one run (made now, removed by `remove`).
    let provide: @Sendable (_ layer: DockerLayer, _ workload: Workload, _ context: LayerContext) throws -> Target

    /// One run's target: `docker run` mount arguments, the target file inside the container, a
    /// host path on the target's filesystem for the throttled device (nil: none), settings
    /// beyond `describe()`, and what removes what was made for it.
    struct Target {
        var mountArguments: [String] = []
        var path = "/wp/target.dat"
        var throttleDeviceHost: String?
        var settings: [String: String] = [:]
        var remove: () -> Void = {}
    }

    /// The registry's entry.
    var kind: LayerKind {
        let storage = self
        return LayerKind(name: layerName, summary: summary, parameterNames: ContainerLimits.parameterNames + extraParameters) {
            try DockerLayer(storage: storage, parameters: $0)
        }
    }

    /// `docker-overlay`: the target file in the container's own filesystem, the overlay2 upper
    /// layer: writes cross overlayfs (and its copy-up) on top of the host filesystem.
    static let overlay = DockerStorage(
        layerName: "docker-overlay", summary: "Docker container, target in the container's overlay2 root filesystem",
        description: "container rootfs (overlay upper layer)", mount: "overlayfs upper"
    ) { _, _, _ in
        let rootDir: String? = if case let .success(d) = Docker.daemon() { d.rootDir } else { nil }
        return Target(path: "/data/target.dat", throttleDeviceHost: rootDir)
    }

    /// `docker-volume`: the target on a named Docker volume made for the run (local driver: a
    /// folder under the daemon's root, no overlay in the path). The volume is removed afterwards.
    static let volume = DockerStorage(
        layerName: "docker-volume", summary: "Docker container, target on a named volume",
        description: "named volume (local driver)", mount: "named volume"
    ) { _, _, context in
        let volume = "wp-\(context.runID)"
        let created = try Command.run("docker", ["volume", "create", "--label", "writepath=1", volume], timeout: 60)
        guard created.succeeded else {
            throw WritePathError.system(call: "docker volume create", path: volume, errno: 5, hint: created.stderrTail())
        }
        let mountpoint = (try? Command.run("docker", ["volume", "inspect", "--format", "{{.Mountpoint}}", volume], timeout: 30))?
            .stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        return Target(
            mountArguments: ["--mount", "type=volume,src=\(volume),dst=/wp"], throttleDeviceHost: mountpoint,
            settings: ["volume": volume],
            remove: { if !context.keep { _ = try? Command.run("docker", ["volume", "rm", "-f", volume], timeout: 60) } })
    }

    /// `docker-bind`: the target on a host folder bind-mounted into the container (parameter
    /// `path`, default a folder under the run's scratch folder, made and removed by writepath).
    static let bind = DockerStorage(
        layerName: "docker-bind", summary: "Docker container, target on a bind-mounted host folder",
        description: "bind mount of a host folder", mount: "bind mount", extraParameters: ["path"]
    ) { layer, _, context in
        let folder = layer.path.map { "\($0)/wp-\(context.runID)" } ?? "\(context.scratchDirectory)/bind-\(context.runID)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        return Target(
            mountArguments: ["--mount", "type=bind,src=\(folder),dst=/wp"], throttleDeviceHost: folder,
            settings: ["host_path": folder],
            remove: { if !context.keep { try? FileManager.default.removeItem(atPath: folder) } })
    }

    /// `docker-tmpfs`: the target on a tmpfs mount inside the container: no device in the path,
    /// an engine-bound reference for the other container layers.
    static let tmpfs = DockerStorage(
        layerName: "docker-tmpfs", summary: "Docker container, target on a tmpfs mount (engine-bound reference)",
        description: "tmpfs mount", mount: "tmpfs (memory)", throttles: false
    ) { _, workload, _ in
        // Room for the region of every job plus a margin.
        let bytes = (workload.size ?? (64 << 20)) * UInt64(workload.numjobs) + workload.offset + (16 << 20)
        return Target(mountArguments: ["--mount", "type=tmpfs,dst=/wp,tmpfs-size=\(bytes)"])
    }

    /// Every docker storage, in the registry's order.
    static let all = [overlay, volume, bind, tmpfs]
}

/// A `docker-*` layer: the engine in a Docker container whose target is on `storage`.
public struct DockerLayer: Layer {
    let storage: DockerStorage
    let limits: ContainerLimits
    /// docker-bind's `path`: the host folder the run's folder is made in.
    let path: String?

    public var name: String { storage.layerName }
    public var runsFio: Bool { true }

    init(storage: DockerStorage, parameters: [String: String]) throws {
        self.storage = storage
        let values = LayerParameters(layer: storage.layerName, values: parameters)
        limits = try ContainerLimits(values)
        path = storage.extraParameters.contains("path") ? try values.existingFolder("path") : nil
        if limits.throttled && !storage.throttles {
            throw WritePathError.invalidInput(
                field: "\(storage.layerName).write_iops_limit",
                message: "tmpfs has no block device to throttle; use docker-volume or docker-bind")
        }
    }

    public func availability() -> Availability { DockerRun.availability() }

    public func describe() -> [String: String] {
        var d = DockerRun.settings(limits: limits, storage: storage.description)
        if let path { d["host_path"] = path }
        return d
    }

    public func writePath(_ settings: [String: String]) -> LayerWritePath {
        DockerRun.writePath(settings, mount: storage.mount)
    }

    public func run(_ workload: Workload, rep: Int, context: LayerContext) throws -> RunResult {
        let target = try storage.provide(self, workload, context)
        defer { target.remove() }
        return try DockerRun(
            layer: self, limits: limits, storageArguments: target.mountArguments, targetPath: target.path,
            throttleDeviceHost: target.throttleDeviceHost, settings: describe().merging(target.settings) { _, run in run }
        )
        .run(workload, rep: rep, context: context)
    }
}
