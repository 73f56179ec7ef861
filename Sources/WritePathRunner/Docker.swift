import Foundation
import WritePathEngine
import WritePathResult

#if canImport(Glibc)
    import Glibc
#endif

/// The Docker engine as the container layers use it: availability, the engine image, and one
/// container run. Every container, volume and image it makes carries the label `writepath=1`.
public enum Docker {
    /// What `docker info` says about the daemon, or why there is none.
    public struct DaemonInfo: Sendable {
        public var serverVersion: String
        public var storageDriver: String
        public var cgroupVersion: String
        public var cgroupDriver: String
        public var rootDir: String
        public var runtimes: [String]
    }

    /// The daemon's description, or an `unavailable` with the reason and the fix.
    public static func daemon() -> Result<DaemonInfo, LayerUnavailable> {
        guard Command.which("docker") != nil else {
            return .failure(
                LayerUnavailable(
                    reason: "the docker client is not installed", fix: "scripts/install-deps.sh containers (apt-get install docker.io)"))
        }
        let format =
            "{{.ServerVersion}}|{{.Driver}}|{{.CgroupVersion}}|{{.CgroupDriver}}|{{.DockerRootDir}}|{{range $k, $v := "
            + ".Runtimes}}{{$k}},{{end}}"
        guard let r = try? Command.run("docker", ["info", "--format", format], timeout: 20), r.succeeded else {
            return .failure(
                LayerUnavailable(
                    reason: "the docker daemon is not running", fix: "start it with scripts/start-dockerd.sh (or systemctl start docker)"))
        }
        let f = r.stdout.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: "|", omittingEmptySubsequences: false).map(
            String.init)
        guard f.count >= 6 else {
            return .failure(
                LayerUnavailable(
                    reason: "docker info gave an unexpected answer: \(r.stdout.prefix(80))", fix: "check the docker installation"))
        }
        return .success(
            DaemonInfo(
                serverVersion: f[0], storageDriver: f[1], cgroupVersion: f[2], cgroupDriver: f[3],
                rootDir: f[4], runtimes: f[5].split(separator: ",").map(String.init)))
    }

    /// The image holding the engine binary, fio when installed (`/fio`, for `engine: fio`) and
    /// their libraries, imported from a rootfs tarball (no registry, no base image) and tagged by
    /// both binaries' content hashes, so it is built only when one of them changes. Returns the tag.
    /// `client` is the client's command: its program and global flags (`podman --root ...`, or
    /// `runuser -u USER -- ... podman` for rootless podman); the tarball is readable by every user.
    public static func engineImage(binary: String, scratch: String, client: [String] = ["docker"]) throws -> String {
        // Tenants start containers at once: one of them builds the image, the others wait for it.
        SharedPreparation.lock.lock()
        defer { SharedPreparation.lock.unlock() }
        let fio = FioEngine.binary()
        let tag = "writepath-engine:\(try EngineRootfs.contentKey(binary: binary, fio: fio))"
        let program = client[0], flags = Array(client.dropFirst())
        if let r = try? Command.run(program, flags + ["image", "inspect", "--format", "{{.Id}}", tag], timeout: 30), r.succeeded {
            return tag
        }
        let dir = "\(scratch)/image-rootfs-\(getpid())"
        try? FileManager.default.removeItem(atPath: dir)
        defer { try? FileManager.default.removeItem(atPath: dir); try? FileManager.default.removeItem(atPath: dir + ".tar") }
        try EngineRootfs.build(binary: binary, fio: fio, into: dir)
        let tar = try Command.run("tar", ["-C", dir, "-cf", dir + ".tar", "."], timeout: 120)
        guard tar.succeeded else { throw WritePathError.system(call: "tar", path: dir, errno: EIO, hint: tar.stderrTail()) }
        chmod(dir + ".tar", 0o644)
        let imp = try Command.run(program, flags + ["import", "--change", "LABEL writepath=1", dir + ".tar", tag], timeout: 300)
        guard imp.succeeded else {
            throw WritePathError.system(call: "\(client.last ?? program) import", path: dir + ".tar", errno: EIO, hint: imp.stderrTail())
        }
        return tag
    }

    /// The whole-disk block device holding `path` (`/dev/vda`), for blkio throttles; nil for a
    /// filesystem without one (tmpfs, overlay of tmpfs).
    public static func blockDevice(holding path: String) -> (path: String, number: String)? {
        BlockDevice.wholeDisk(holding: path).map { ("/dev/\($0.name)", "\($0.major):\($0.minor)") }
    }
}

/// Why a layer cannot run, and what would fix it.
public struct LayerUnavailable: Error, Sendable {
    public var reason: String
    public var fix: String
}

/// Limits every container layer takes: CPU, memory and block I/O throttles, and the runtime.
public struct ContainerLimits: Sendable, Equatable {
    public static let parameterNames = ["cpus", "memory"] + WriteLimits.parameterNames + ["runtime"]
    public var cpus: Double?
    /// Bytes.
    public var memory: UInt64?
    /// Write I/Os and bytes per second on the target's device.
    public var write: WriteLimits
    public var writeIOPS: Int? { write.iops }
    public var writeBPS: UInt64? { write.bytesPerSecond }
    /// `runc` (default) or `crun`.
    public var runtime: String

    public init(_ p: LayerParameters) throws {
        cpus = try p.number("cpus", range: 0.01...1024)
        memory = try p.bytes("memory")
        if let m = memory, m < 8 << 20 {
            throw WritePathError.invalidInput(
                field: "\(p.layer).memory", message: "\(m) bytes is too little to run the engine; at least 8m")
        }
        write = try WriteLimits(p)
        runtime = try p.choice("runtime", ["runc", "crun"]) ?? "runc"
    }

    var throttled: Bool { write.throttled }

    /// The whole disk a layer's write limits throttle: the one holding `path` (the target's folder),
    /// with `settings["throttle_device"]` set; nil without write limits. Throws `invalidInput`
    /// naming `layer`'s limit when `path` has no block device (tmpfs) under the scratch folder `scratch`.
    func throttleDevice(holding path: String, layer: String, scratch: String, settings: inout [String: String]) throws
        -> (major: UInt64, minor: UInt64)?
    {
        guard throttled else { return nil }
        guard let disk = BlockDevice.wholeDisk(holding: path) else {
            throw WritePathError.invalidInput(
                field: "\(layer).\(writeIOPS != nil ? "write_iops_limit" : "write_bps_limit")",
                message: "the scratch folder \(scratch) has no block device (tmpfs?); nothing to throttle")
        }
        settings["throttle_device"] = "/dev/\(disk.name) (\(disk.major):\(disk.minor))"
        return (disk.major, disk.minor)
    }

    /// The settings for `runs[].layer`.
    var settings: [String: String] {
        var s = ["runtime": runtime]
        if let cpus { s["cpus"] = "\(cpus)" }
        if let memory { s["memory_bytes"] = "\(memory)" }
        return s.merging(write.settings) { a, _ in a }
    }
}

/// The box of the docker layers (and podman's, and gvisor's through docker): the engine in a
/// container whose target folder `/wp` is provided by the layer's storage, with the limits
/// applied, then the container removed; the rest is `EngineInBox`'s.
struct DockerRun {
    /// The layer the run is for (its name, its write path).
    var layer: any Layer
    /// The container engine's client: `docker`, or `podman` (same command line).
    var client = "docker"
    /// The client's command when it is more than its name: program and global flags (podman's
    /// `--root ...`, rootless podman's `runuser -u USER -- env ... podman ...`).
    var clientCommand: [String]? = nil
    /// More `run` arguments before the image (podman's `--ulimit`, `--security-opt`).
    var extraArguments: [String] = []
    var limits: ContainerLimits
    /// `docker run` arguments that provide the target folder (a mount), may be empty.
    var storageArguments: [String]
    /// The target file inside the container.
    var targetPath: String
    /// A host path on the target's filesystem, to find the device to throttle (nil: none).
    var throttleDeviceHost: String?
    var settings: [String: String]

    func run(_ workload: Workload, rep: Int, context: LayerContext) throws -> RunResult {
        let layerName = layer.name
        let command = clientCommand ?? [client]
        let program = command[0], flags = Array(command.dropFirst())
        let image = try Docker.engineImage(binary: context.engineBinary, scratch: context.scratchDirectory, client: command)
        let name = "wp-\(context.runID)"
        if client == "docker", limits.runtime != "runc", case let .success(d) = Docker.daemon(), !d.runtimes.contains(limits.runtime) {
            throw WritePathError.system(
                call: "\(client) run", path: name, errno: 22,
                hint:
                    "\(limits.runtime) is not a runtime of this docker daemon (it has \(d.runtimes.joined(separator: ", "))); "
                    + "register it in /etc/docker/daemon.json"
            )
        }
        var args = ["run", "--name", name, "--label", "writepath=1", "--network", "none", "--log-driver", "none"]
        if limits.runtime != "runc" || client != "docker" { args += ["--runtime", limits.runtime] }
        args += extraArguments
        if let c = limits.cpus { args += ["--cpus", "\(c)"] }
        if let m = limits.memory { args += ["--memory", "\(m)", "--memory-swap", "\(m)"] }
        var layerSettings = settings.merging(limits.settings) { a, _ in a }
        if limits.throttled {
            guard let host = throttleDeviceHost, let dev = Docker.blockDevice(holding: host) else {
                throw WritePathError.invalidInput(
                    field: "\(layerName).write_iops_limit", message: "the target of \(layerName) has no block device to throttle")
            }
            if let n = limits.writeIOPS { args += ["--device-write-iops", "\(dev.path):\(n)"] }
            if let b = limits.writeBPS { args += ["--device-write-bps", "\(dev.path):\(b)"] }
            layerSettings["throttle_device"] = "\(dev.path) (\(dev.number))"
        }
        args += storageArguments
        args += [image] + EngineInBox.command(workload, target: targetPath)
        layerSettings["image"] = image
        layerSettings["target"] = targetPath

        defer {
            if !context.keep { _ = try? Command.run(program, flags + ["rm", "-f", "-v", name], timeout: 60) }
        }
        let client = self.client
        let outcome = try EngineInBox.runProgram(
            command + args, call: "\(client) run", name: name, settings: layerSettings,
            deadline: EngineInBox.deadline(workload, context), context: context, stderrName: client,
            onTimeout: { _ = try? Command.run(program, flags + ["kill", name], timeout: 30) })
        let inspectFormat = "{{.State.OOMKilled}} {{.State.ExitCode}}"
        let state = (try? Command.run(program, flags + ["inspect", "--format", inspectFormat, name], timeout: 30))?.stdout ?? ""
        if state.hasPrefix("true") {
            throw WritePathError.system(
                call: "\(client) run", path: name, errno: ENOMEM,
                hint: "the container ran out of memory (OOM-killed); raise \(layerName).memory")
        }
        return try EngineInBox.run(outcome, layer: layer, workload: workload, rep: rep)
    }

    /// The write path of a container layer: its namespaces and cgroup (the runtime in
    /// `settings`), the mount its target is on, then the host's kernel.
    static func writePath(_ settings: [String: String], mount: String, box: String = "container") -> LayerWritePath {
        .boxed(box, [.init("namespaces · cgroup", settings["runtime"] ?? "runc"), .init("mount", mount)])
    }

    /// A docker layer's settings for `runs[].layer`: the daemon's, the limits, the storage.
    static func settings(limits: ContainerLimits, storage: String) -> [String: String] {
        daemonSettings().merging(limits.settings) { a, _ in a }.merging(["storage": storage]) { a, _ in a }
    }

    /// The daemon's settings for `runs[].layer`.
    static func daemonSettings() -> [String: String] {
        guard case let .success(d) = Docker.daemon() else { return [:] }
        return [
            "docker_version": d.serverVersion, "storage_driver": d.storageDriver,
            "cgroup_version": d.cgroupVersion, "cgroup_driver": d.cgroupDriver,
        ]
    }

    static func availability() -> Availability {
        if let missing = LibraryCheck.engineUnavailability() { return missing }
        switch Docker.daemon() {
        case let .success(d): return .available(detail: "docker \(d.serverVersion), \(d.storageDriver), cgroup v\(d.cgroupVersion)")
        case let .failure(u): return .unavailable(reason: u.reason, fix: u.fix)
        }
    }
}
