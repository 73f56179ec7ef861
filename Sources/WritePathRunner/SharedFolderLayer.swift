import Foundation
import WritePathEngine
import WritePathResult

#if canImport(Glibc)
    import Glibc
#endif

/// How a QEMU guest is given a host folder, the guest's target being a file in it rather than a
/// block device: one value per shared-folder `qemu-*` layer, all run by `SharedFolderLayer`.
public enum SharedFolder: String, Sendable, CaseIterable {
    /// virtio-fs: FUSE in the guest, requests on a virtio queue in memory the guest shares with
    /// virtiofsd (vhost-user), which does the host file's I/O.
    case virtiofs
    /// virtio-9p: the 9P2000.L protocol on a virtio ring, served by QEMU's own 9p server
    /// (`-fsdev local`), which does the host file's I/O.
    case ninep = "9p"

    /// The layer's name.
    public var layerName: String { "qemu-\(rawValue)" }

    /// The mount tag the guest mounts the folder by.
    static let mountTag = "wpshare"
    /// The target file's name in the folder.
    static let fileName = "target.dat"

    /// One line on what the layer measures.
    var summary: String {
        switch self {
        case .virtiofs: "QEMU guest, target a file on a virtiofs shared folder (virtiofsd over vhost-user)"
        case .ninep: "QEMU guest, target a file on a 9p shared folder (virtio-9p, QEMU's 9p server)"
        }
    }

    /// The parameters it accepts: the guest machine's and the folder's own.
    var parameterNames: [String] {
        QemuMachineSettings.parameterNames + (self == .virtiofs ? ["cache", "allow_direct_io"] : ["security_model", "cache"])
    }

    /// The registry's entry.
    var kind: LayerKind {
        let folder = self
        return LayerKind(name: layerName, summary: summary, parameterNames: parameterNames) {
            SharedFolderLayer(folder: folder, settings: try SharedFolderSettings(layer: folder.layerName, folder: folder, parameters: $0))
        }
    }

    /// The path a write crosses, for `runs[].layer.write_path`.
    func pathDescription(_ s: SharedFolderSettings) -> String {
        switch self {
        case .virtiofs:
            "guest kernel -> virtiofs (FUSE) -> virtio-fs queue in shared guest memory (vhost-user) -> virtiofsd (cache=\(s.cache), "
                + "\(s.allowDirectIO ? "allow_direct_io" : "no_allow_direct_io")) -> host file system -> device"
        case .ninep:
            "guest kernel -> 9p (cache=\(s.cache)) -> virtio-9p ring (9P2000.L) -> QEMU's 9p server (local, "
                + "security_model=\(s.securityModel)) -> host file system -> device"
        }
    }
}

/// The settings of the shared-folder layers, parsed and checked; every error names `layer.parameter`.
public struct SharedFolderSettings: Sendable, Equatable {
    public var vcpus = 2
    /// Guest memory in bytes (virtiofs: all of it shared with virtiofsd, a memfd).
    public var memory: UInt64 = 768 << 20
    /// `auto` (KVM when it really works, else TCG), `kvm` or `tcg`.
    public var accel = "auto"
    /// Seconds from QEMU's start until the guest must have reached the workload; nil: 90 under TCG.
    public var bootTimeout: Double?
    /// virtiofs: virtiofsd's `-o cache=` (auto, the default; always; none). 9p: the guest's mount
    /// option `cache=` (none, the default; loose; mmap).
    public var cache = "auto"
    /// virtiofs: virtiofsd keeps the guest's O_DIRECT on its host files (`-o allow_direct_io`);
    /// off by default, as in virtiofsd.
    public var allowDirectIO = false
    /// 9p: QEMU's `-fsdev local,security_model=` (mapped-xattr, the default; passthrough; none).
    public var securityModel = "mapped-xattr"

    public init(layer: String, folder: SharedFolder, parameters: [String: String]) throws {
        let p = LayerParameters(layer: layer, values: parameters)
        (vcpus, memory, accel, bootTimeout) = try QemuMachineSettings.parse(p)
        switch folder {
        case .virtiofs:
            cache = try p.choice("cache", ["auto", "always", "none"]) ?? "auto"
            allowDirectIO = try p.boolean("allow_direct_io") ?? false
        case .ninep:
            cache = try p.choice("cache", ["none", "loose", "mmap"]) ?? "none"
            securityModel = try p.choice("security_model", ["mapped-xattr", "passthrough", "none"]) ?? securityModel
        }
    }

    /// The settings recorded in `runs[].layer` for `folder`.
    func settings(_ folder: SharedFolder) -> [String: String] {
        var s = ["vcpus": "\(vcpus)", "memory_bytes": "\(memory)", "shared_folder": folder.rawValue, "cache": cache]
        switch folder {
        case .virtiofs: s["allow_direct_io"] = allowDirectIO ? "on" : "off"
        case .ninep:
            s["security_model"] = securityModel
            s["mount_options"] = SharedFolderLayer.mountOptions(folder, self)
        }
        return s
    }
}

/// A shared-folder `qemu-*` layer: the engine in a QEMU guest writes a file on a host folder
/// shared over virtiofs or 9p. The host makes the file (preallocated) in a folder under the
/// scratch folder; the guest's init mounts the folder and the engine writes the file; afterwards
/// the host counts the file's pages in its own page cache (`target.direct_io.host`) and, with
/// flushes, the flushes that reached the host file.
public struct SharedFolderLayer: Layer {
    let folder: SharedFolder
    let settings: SharedFolderSettings

    public var name: String { folder.layerName }
    public var runsFio: Bool { true }

    public func availability() -> Availability {
        let qemu = QemuRun.availability()
        guard case let .available(detail) = qemu else { return qemu }
        guard Command.which("fincore") != nil else {
            return .unavailable(
                reason: "fincore (util-linux) is missing: the host's page cache over the shared file cannot be counted",
                fix: "apt-get install util-linux")
        }
        if folder == .virtiofs {
            let server = Virtiofsd.availability()
            guard case let .available(version) = server else { return server }
            return .available(detail: "\(detail), \(version)")
        }
        return .available(detail: detail)
    }

    public func describe() -> [String: String] {
        var s = settings.settings(folder)
        s["machine"] = "q35"
        s["write_path"] = folder.pathDescription(settings)
        return s
    }

    /// The guest's kernel and file system, the virtio transport, then the server that writes the host file.
    public func writePath(_ s: [String: String]) -> LayerWritePath {
        let accel = s["accel"].map { " (\($0))" } ?? ""
        let cache = s["cache"] ?? settings.cache
        switch folder {
        case .virtiofs:
            return .boxed(
                "guest", [.init("guest kernel", "VFS · virtiofs (FUSE)"), .init("transport", "virtio-fs queue · shared memory")],
                then: [
                    .init("hypervisor", "QEMU\(accel) vhost-user-fs"),
                    .init("virtiofsd", "cache=\(cache) · \(s["allow_direct_io"] == "on" ? "allow_direct_io" : "no_allow_direct_io")"),
                ])
        case .ninep:
            return .boxed(
                "guest", [.init("guest kernel", "VFS · 9p cache=\(cache)"), .init("transport", "virtio-9p ring · 9P2000.L")],
                then: [.init("hypervisor", "QEMU\(accel) 9p server · local, \(s["security_model"] ?? settings.securityModel)")])
        }
    }

    /// The guest's mount options: none for virtiofs (virtiofsd decides the caching), the
    /// transport, protocol version and cache mode for 9p.
    static func mountOptions(_ folder: SharedFolder, _ s: SharedFolderSettings) -> String {
        folder == .virtiofs ? "" : "trans=virtio,version=9p2000.L,cache=\(s.cache)"
    }

    public func run(_ workload: Workload, rep: Int, context: LayerContext) throws -> RunResult {
        let fm = FileManager.default
        let machine = try QemuRun.machine(for: workload, context: context, accel: settings.accel)
        let dir = "\(context.scratchDirectory)/qemu-\(context.runID)"
        let share = "\(dir)/share"
        try fm.createDirectory(atPath: share, withIntermediateDirectories: true)
        try fm.createDirectory(atPath: context.logDirectory, withIntermediateDirectories: true)
        defer { if !context.keep { try? fm.removeItem(atPath: dir) } }

        // The host side: the target file, preallocated, in the shared folder. The host makes it,
        // so its page cache is counted from a known start and the guest needs no fallocate over
        // the protocol; the guest's engine writes over it (--overwrite).
        let region = (workload.size ?? (64 << 20)) + workload.offset
        let fileSize = (region + (1 << 20) - 1) / (1 << 20) * (1 << 20)
        let file = "\(share)/\(SharedFolder.fileName)"
        try QemuRun.createImage(file, format: "raw", preallocation: "falloc", bytes: fileSize)
        let cachedBefore = OCIRuncLayer.hostCachedBytes(file)

        let options = Self.mountOptions(folder, settings)
        var target = "wp.fs=\(folder == .virtiofs ? "virtiofs" : "9p") wp.tag=\(SharedFolder.mountTag) wp.file=\(SharedFolder.fileName)"
        if !options.isEmpty { target += " wp.fsopts=\(options)" }
        let command = EngineInBox.guestCommand(workload) + (workload.engine == .fio ? [] : ["--overwrite"])
        var args = machine.arguments(
            guestCommand: command, context: context, machineType: "q35", vcpus: settings.vcpus, memory: settings.memory, target: target)
        var s = describe()
        s["host_file"] = file
        s["file_size_bytes"] = "\(fileSize)"

        // With flushes, the host disk under the folder counts the flushes that reach it; the
        // server's own record (virtiofsd's debug log, QEMU's 9p trace) counts them exactly.
        let flushes = workload.flushEvery != nil
        let hostDisk = flushes ? BlockDevice.wholeDisk(holding: share)?.name : nil
        let hostFlushesBefore = hostDisk.flatMap(DiskStats.flushes(disk:))
        let traceFile = "\(context.logDirectory)/qemu-9p-trace.log"
        var server: Virtiofsd?
        defer { server?.stop() }
        switch folder {
        case .virtiofs:
            guard let binary = Virtiofsd.binary() else {
                throw WritePathError.system(
                    call: "exec", path: "virtiofsd", errno: ENOENT,
                    hint: "scripts/install-deps.sh guests (apt-get install qemu-system-common)")
            }
            // A Unix socket's path has at most 107 bytes: a deep scratch folder gets one in /tmp.
            let inDir = "\(dir)/virtiofsd.sock"
            let socket = inDir.utf8.count < 100 ? inDir : "/tmp/writepath-\(getpid())-\(context.runID.prefix(40)).sock"
            server = try Virtiofsd.start(
                binary: binary, socket: socket,
                options: Virtiofsd.options(source: share, cache: settings.cache, allowDirectIO: settings.allowDirectIO, debugLog: flushes),
                log: "\(context.logDirectory)/virtiofsd.log")
            s["virtiofsd_version"] = Virtiofsd.version(binary) ?? "unknown"
            s["virtiofsd_sandbox"] = "namespace"
            if flushes { s["virtiofsd_log_level"] = "debug (its lo_fsync lines count the flushes)" }
            // vhost-user needs the guest's memory shared with virtiofsd: a memfd backs all of it.
            args += [
                "-object", "memory-backend-memfd,id=mem,size=\(settings.memory / (1 << 20))M,share=on", "-numa", "node,memdev=mem",
                "-chardev", "socket,id=vfs,path=\(QemuRun.optionValue(socket))",
                "-device", "vhost-user-fs-pci,chardev=vfs,tag=\(SharedFolder.mountTag)",
            ]
        case .ninep:
            args += [
                "-fsdev", "local,id=fs0,path=\(QemuRun.optionValue(share)),security_model=\(settings.securityModel)",
                "-device", "virtio-9p-pci,fsdev=fs0,mount_tag=\(SharedFolder.mountTag)",
            ]
            if flushes {
                // QEMU's 9p server traces every Tfsync it serves (v9fs_fsync): each becomes an
                // fsync or fdatasync of the host file.
                let events = "\(dir)/trace-events"
                try "v9fs_fsync\n".write(toFile: events, atomically: true, encoding: .utf8)
                args += ["-trace", "events=\(QemuRun.optionValue(events)),file=\(QemuRun.optionValue(traceFile))"]
            }
        }

        var run = try machine.boot(
            args, layer: self, settings: s, bootTimeout: settings.bootTimeout, workload: workload, rep: rep, context: context)
        server?.stop()
        let hostFlushesAfter = hostDisk.flatMap(DiskStats.flushes(disk:))
        let cachedAfter = OCIRuncLayer.hostCachedBytes(file)
        let check = Self.hostCheck(
            file: file, before: cachedBefore, after: cachedAfter, fileBytes: fileSize, workload: workload,
            server: folder == .virtiofs ? "virtiofsd" : "QEMU's 9p server")
        if let cachedBefore { run.layer.settings["host_page_cache_before_bytes"] = "\(cachedBefore)" }
        if let cachedAfter { run.layer.settings["host_page_cache_after_bytes"] = "\(cachedAfter)" }
        run.layer.settings["host_direct_io"] = check.note
        if check.bypassed_page_cache == false { run.warnings.append("\(name): \(check.note)") }
        if var t = run.target {
            var d = t.direct_io ?? DirectIOCheck(requested: workload.direct, note: "")
            d.host = check
            t.direct_io = d
            run.target = t
        }

        if flushes, var d = run.durability {
            var exact: (count: UInt64, place: String)?
            switch folder {
            case .virtiofs:
                if let server { exact = (server.fsyncRequests(), "the host file (virtiofsd's fsync requests, its debug log)") }
            case .ninep:
                if let trace = try? String(contentsOfFile: traceFile, encoding: .utf8) {
                    let n = UInt64(trace.split(separator: "\n").filter { $0.contains("v9fs_fsync ") }.count)
                    exact = (n, "the host file (QEMU's 9p server, its v9fs_fsync trace)")
                }
            }
            d.judgeOnHost(
                fileFlushes: exact, hostDisk: hostDisk, before: hostFlushesBefore, after: hostFlushesAfter, under: "the shared folder")
            run.durability = d
            run.layer.settings["durability"] = d.verdict
        }
        return run
    }

    /// The host's page cache over the shared file: `before` and `after` in bytes (fincore; nil
    /// when it failed) of a file of `fileBytes`; `server` is what wrote the host file.
    static func hostCheck(
        file: String, before: UInt64?, after: UInt64?, fileBytes: UInt64, workload: Workload, server: String
    ) -> HostPageCacheCheck {
        let page: UInt64 = 4096
        let pages = fileBytes / page
        var check = HostPageCacheCheck(
            file: file, cached_pages_before: before.map { $0 / page }, cached_pages_after: after.map { $0 / page }, file_pages: pages,
            bypassed_page_cache: nil, note: "")
        guard let b = check.cached_pages_before, let a = check.cached_pages_after else {
            check.note = "fincore could not count the host file's cached pages"
            return check
        }
        if !workload.direct {
            check.note = "buffered I/O in the guest; the host page cache holds \(a) of \(pages) pages of the host file after the run"
        } else if !workload.rw.writes {
            check.note = "the workload does not write: the host page cache tells nothing about O_DIRECT"
        } else if a > b + max(pages / 100, 8) {
            check.bypassed_page_cache = false
            check.note =
                "the guest's O_DIRECT did not reach the host file: after the run the host page cache holds \(a) of \(pages) pages "
                + "of it (\(b) before; fincore): \(server) wrote it through the host page cache"
        } else {
            check.bypassed_page_cache = true
            check.note =
                "the host page cache over the host file did not grow (\(b) pages before, \(a) after; fincore): \(server) kept O_DIRECT"
        }
        return check
    }
}
