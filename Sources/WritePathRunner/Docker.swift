#if canImport(Glibc)
import Glibc
#endif
import Foundation
import WritePathEngine
import WritePathResult

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
            return .failure(LayerUnavailable(reason: "the docker client is not installed", fix: "scripts/install-deps.sh containers (apt-get install docker.io)"))
        }
        let format = "{{.ServerVersion}}|{{.Driver}}|{{.CgroupVersion}}|{{.CgroupDriver}}|{{.DockerRootDir}}|{{range $k, $v := .Runtimes}}{{$k}},{{end}}"
        guard let r = try? Command.run("docker", ["info", "--format", format], timeout: 20), r.succeeded else {
            return .failure(LayerUnavailable(reason: "the docker daemon is not running", fix: "start it with scripts/start-dockerd.sh (or systemctl start docker)"))
        }
        let f = r.stdout.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: "|", omittingEmptySubsequences: false).map(String.init)
        guard f.count >= 6 else {
            return .failure(LayerUnavailable(reason: "docker info gave an unexpected answer: \(r.stdout.prefix(80))", fix: "check the docker installation"))
        }
        return .success(DaemonInfo(serverVersion: f[0], storageDriver: f[1], cgroupVersion: f[2], cgroupDriver: f[3],
                                   rootDir: f[4], runtimes: f[5].split(separator: ",").map(String.init)))
    }

    /// The image holding the engine binary, fio when installed (`/fio`, for `engine: fio`) and
    /// their libraries, imported from a rootfs tarball (no registry, no base image) and tagged by
    /// both binaries' content hashes, so it is built only when one of them changes. Returns the tag.
    public static func engineImage(binary: String, scratch: String, client: String = "docker") throws -> String {
        // Tenants start containers at once: one of them builds the image, the others wait for it.
        SharedPreparation.lock.lock()
        defer { SharedPreparation.lock.unlock() }
        let fio = FioEngine.binary()
        let tag = "writepath-engine:\(try EngineRootfs.contentKey(binary: binary, fio: fio))"
        if let r = try? Command.run(client, ["image", "inspect", "--format", "{{.Id}}", tag], timeout: 30), r.succeeded {
            return tag
        }
        let dir = "\(scratch)/image-rootfs-\(getpid())"
        try? FileManager.default.removeItem(atPath: dir)
        defer { try? FileManager.default.removeItem(atPath: dir); try? FileManager.default.removeItem(atPath: dir + ".tar") }
        try EngineRootfs.build(binary: binary, fio: fio, into: dir)
        let tar = try Command.run("tar", ["-C", dir, "-cf", dir + ".tar", "."], timeout: 120)
        guard tar.succeeded else { throw WritePathError.system(call: "tar", path: dir, errno: EIO, hint: tar.stderrTail()) }
        let imp = try Command.run(client, ["import", "--change", "LABEL writepath=1", dir + ".tar", tag], timeout: 300)
        guard imp.succeeded else {
            throw WritePathError.system(call: "\(client) import", path: dir + ".tar", errno: EIO, hint: imp.stderrTail())
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
    public static let parameterNames = ["cpus", "memory", "write_iops_limit", "write_bps_limit", "runtime"]
    public var cpus: Double?
    /// Bytes.
    public var memory: UInt64?
    /// Write I/Os per second on the target's device.
    public var writeIOPS: Int?
    /// Write bytes per second on the target's device.
    public var writeBPS: UInt64?
    /// `runc` (default) or `crun`.
    public var runtime: String

    public init(_ p: LayerParameters) throws {
        cpus = try p.number("cpus", range: 0.01...1024)
        memory = try p.bytes("memory")
        if let m = memory, m < 8 << 20 {
            throw WritePathError.invalidInput(field: "\(p.layer).memory", message: "\(m) bytes is too little to run the engine; at least 8m")
        }
        writeIOPS = try p.integer("write_iops_limit", range: 1...10_000_000)
        writeBPS = try p.bytes("write_bps_limit")
        if let b = writeBPS, b == 0 {
            throw WritePathError.invalidInput(field: "\(p.layer).write_bps_limit", message: "must be at least 1 byte per second, e.g. 50m")
        }
        runtime = try p.choice("runtime", ["runc", "crun"]) ?? "runc"
    }

    var throttled: Bool { writeIOPS != nil || writeBPS != nil }

    /// The settings for `runs[].layer`.
    var settings: [String: String] {
        var s = ["runtime": runtime]
        if let cpus { s["cpus"] = "\(cpus)" }
        if let memory { s["memory_bytes"] = "\(memory)" }
        if let writeIOPS { s["write_iops_limit"] = "\(writeIOPS)" }
        if let writeBPS { s["write_bps_limit"] = "\(writeBPS)" }
        return s
    }
}

/// The part every docker layer shares: run the engine in a container whose target folder
/// `/wp` is provided by the layer's storage, with the limits applied, then clean up.
struct DockerRun {
    var layerName: String
    /// The container engine's client: `docker`, or `podman` (same command line).
    var client = "docker"
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
        let image = try Docker.engineImage(binary: context.engineBinary, scratch: context.scratchDirectory, client: client)
        let name = "wp-\(context.runID)"
        if client == "docker", limits.runtime != "runc", case let .success(d) = Docker.daemon(), !d.runtimes.contains(limits.runtime) {
            throw WritePathError.system(call: "\(client) run", path: name, errno: 22,
                                        hint: "\(limits.runtime) is not a runtime of this docker daemon (it has \(d.runtimes.joined(separator: ", "))); register it in /etc/docker/daemon.json")
        }
        var args = ["run", "--name", name, "--label", "writepath=1", "--network", "none", "--log-driver", "none"]
        if limits.runtime != "runc" || client != "docker" { args += ["--runtime", limits.runtime] }
        args += extraArguments
        if let c = limits.cpus { args += ["--cpus", "\(c)"] }
        if let m = limits.memory { args += ["--memory", "\(m)", "--memory-swap", "\(m)"] }
        var layerSettings = settings.merging(limits.settings) { a, _ in a }
        if limits.throttled {
            guard let host = throttleDeviceHost, let dev = Docker.blockDevice(holding: host) else {
                throw WritePathError.invalidInput(field: "\(layerName).write_iops_limit", message: "the target of \(layerName) has no block device to throttle")
            }
            if let n = limits.writeIOPS { args += ["--device-write-iops", "\(dev.path):\(n)"] }
            if let b = limits.writeBPS { args += ["--device-write-bps", "\(dev.path):\(b)"] }
            layerSettings["throttle_device"] = "\(dev.path) (\(dev.number))"
        }
        args += storageArguments
        var w = workload
        w.directory = nil
        w.filename = targetPath
        if workload.engine == .fio {
            args += [image, FioEngine.pathInContainer] + FioEngine.arguments(w, target: targetPath, directory: nil)
        } else {
            args += [image, "/writepath", "run", "--output-format=json", "--quiet"] + w.commandLineArguments
        }
        layerSettings["image"] = image
        layerSettings["target"] = targetPath

        try FileManager.default.createDirectory(atPath: context.logDirectory, withIntermediateDirectories: true)
        let stdoutFile = "\(context.logDirectory)/engine-stdout.json"
        try? "\(client) \(args.joined(separator: " "))\n"
            .write(toFile: "\(context.logDirectory)/command.txt", atomically: true, encoding: .utf8)
        defer {
            if !context.keep { _ = try? Command.run(client, ["rm", "-f", "-v", name], timeout: 60) }
        }
        let timeout = workload.runtime + workload.ramp_time + context.graceSeconds
        let client = self.client
        let r = try Command.run(client, args, timeout: timeout, stdoutFile: stdoutFile,
                                onTimeout: { _ = try? Command.run(client, ["kill", name], timeout: 30) })
        try? r.stderr.write(toFile: "\(context.logDirectory)/\(client)-stderr.log", atomically: true, encoding: .utf8)
        let inspectFormat = "{{.State.OOMKilled}} {{.State.ExitCode}}"
        let state = (try? Command.run(client, ["inspect", "--format", inspectFormat, name], timeout: 30))?.stdout ?? ""
        if state.hasPrefix("true") {
            throw WritePathError.system(call: "\(client) run", path: name, errno: ENOMEM,
                                        hint: "the container ran out of memory (OOM-killed); raise \(layerName).memory")
        }
        if r.timedOut {
            throw WritePathError.system(call: "\(client) run", path: name, errno: ETIMEDOUT,
                                        hint: stopRequested.load(ordering: .relaxed) ? "interrupted" : "the container did not finish within \(Int(timeout)) s and was killed")
        }
        let data = FileManager.default.contents(atPath: stdoutFile) ?? Data()
        if workload.engine == .fio {
            return FioEngine.result(stdout: data, status: r.status, stderr: r.stderr, workload: workload,
                                    layer: LayerInfo(name: layerName, settings: layerSettings), rep: rep, source: "fio (\(layerName))")
        }
        let document: ResultDocument
        do {
            document = try JSONFormat.parse(data, source: "\(layerName) engine output")
        } catch {
            throw WritePathError.system(call: "\(client) run", path: name, errno: EIO,
                                        hint: "exit \(r.status), no result: \(r.stderrTail())")
        }
        guard var run = document.runs.first else {
            throw WritePathError.system(call: "\(client) run", path: name, errno: EIO, hint: "exit \(r.status): \(r.stderrTail())")
        }
        run.layer = LayerInfo(name: layerName, settings: layerSettings)
        run.rep = rep
        run.workload = workload
        return run
    }

    /// A docker layer's settings for `runs[].layer`: the daemon's, the limits, the storage.
    static func settings(limits: ContainerLimits, storage: String) -> [String: String] {
        daemonSettings().merging(limits.settings) { a, _ in a }.merging(["storage": storage]) { a, _ in a }
    }

    /// The daemon's settings for `runs[].layer`.
    static func daemonSettings() -> [String: String] {
        guard case let .success(d) = Docker.daemon() else { return [:] }
        return ["docker_version": d.serverVersion, "storage_driver": d.storageDriver,
                "cgroup_version": d.cgroupVersion, "cgroup_driver": d.cgroupDriver]
    }

    static func availability() -> Availability {
        if let missing = LibraryCheck.engineUnavailability() { return missing }
        switch Docker.daemon() {
        case let .success(d): return .available(detail: "docker \(d.serverVersion), \(d.storageDriver), cgroup v\(d.cgroupVersion)")
        case let .failure(u): return .unavailable(reason: u.reason, fix: u.fix)
        }
    }
}
