import Foundation
import WritePathEngine
import WritePathResult

#if canImport(Glibc)
    import Glibc
#endif

/// Who holds a QEMU guest's test disk: QEMU itself opening the image file (`file`, the
/// `qemu-<model>` layers), or a server process writepath starts beside QEMU for the run, serving
/// the same image: NBD (qemu-nbd or nbdkit, attached by QEMU's NBD driver), vhost-user-blk
/// (qemu-storage-daemon, the guest's virtqueues in shared memory) or iSCSI (tgtd on loopback,
/// attached by QEMU's iSCSI driver). One value per backend; a served backend is a layer
/// `qemu-<name>`, all run by `QemuLayer`.
public struct DriveBackend: Sendable, Equatable {
    public enum Kind: String, Sendable {
        case file
        case nbd
        case vhostUserBlk = "vhost-user-blk"
        case iscsi
    }
    public var kind: Kind
    /// What serves the disk, for the layer's summary.
    var summary: String
    /// The parameters this backend takes besides every QEMU layer's (`QemuSettings.parameterNames`).
    var parameterNames: [String] = []

    /// The layer of a served backend (`qemu-nbd`).
    public var layerName: String { "qemu-\(kind.rawValue)" }

    public static let file = DriveBackend(kind: .file, summary: "QEMU opens the image file")

    /// The backends served by a process of their own, in the registry's order.
    public static let served = [
        DriveBackend(
            kind: .nbd, summary: "virtio-blk, the image served over NBD by qemu-nbd or nbdkit (Unix socket or loopback TCP)",
            parameterNames: ["server", "transport"]),
        DriveBackend(
            kind: .vhostUserBlk,
            summary: "vhost-user-blk, the image served by qemu-storage-daemon (guest memory shared with it)"),
        DriveBackend(kind: .iscsi, summary: "virtio-blk, the image served by the tgt iSCSI target on loopback (QEMU's iSCSI driver)"),
    ]

    /// The registry's entry of a served backend: a virtio-blk guest (vhost-user-blk: its own device).
    var layerKind: LayerKind {
        let backend = self
        let model = DiskModel.all[0]
        return LayerKind(
            name: layerName, summary: "QEMU guest, test disk on \(summary)",
            parameterNames: QemuSettings.parameterNames + parameterNames
        ) { try QemuLayer(model: model, backend: backend, parameters: $0) }
    }

    /// Whether this backend's server can run here (QEMU's own availability is checked apart).
    func availability() -> Availability {
        switch kind {
        case .file: return .available(detail: "")
        case .nbd:
            guard Command.which("qemu-nbd") != nil else {
                return .unavailable(reason: "qemu-nbd is not installed", fix: "scripts/install-deps.sh guests (qemu-utils)")
            }
            let nbdkit =
                Command.which("nbdkit") != nil ? "nbdkit \(NBDServer.nbdkitVersion() ?? "?")" : "no nbdkit (server: nbdkit needs it)"
            return .available(detail: "qemu-nbd, \(nbdkit)")
        case .vhostUserBlk:
            guard Command.which("qemu-storage-daemon") != nil else {
                return .unavailable(
                    reason: "qemu-storage-daemon is not installed", fix: "scripts/install-deps.sh guests (qemu-system-common)")
            }
            return .available(detail: "qemu-storage-daemon")
        case .iscsi: return ISCSITarget.availability()
        }
    }
}

/// How a served backend's server is configured: parsed from the layer's parameters and checked
/// against QEMU's (`QemuSettings`), every error naming `layer.parameter`.
struct ServedDrive: Sendable, Equatable {
    var backend: DriveBackend
    /// NBD: `qemu-nbd` or `nbdkit`.
    var server = "qemu-nbd"
    /// NBD: `unix` (a socket under the scratch folder) or `tcp` (127.0.0.1).
    var transport = "unix"

    init(backend: DriveBackend, layer: String, settings q: QemuSettings, parameters: [String: String]) throws {
        self.backend = backend
        let p = LayerParameters(layer: layer, values: parameters)
        func refuse(_ field: String, _ message: String) -> WritePathError {
            .invalidInput(field: "\(layer).\(field)", message: message)
        }
        if backend.kind == .nbd {
            server = try p.choice("server", ["qemu-nbd", "nbdkit"]) ?? server
            transport = try p.choice("transport", ["unix", "tcp"]) ?? transport
        }
        if q.injectWriteErrors {
            throw refuse("inject_write_errors", "blkdebug sits under QEMU's own file driver: qemu-<model> layers only")
        }
        switch (backend.kind, server) {
        case (.nbd, "nbdkit"):
            if q.format != "raw" { throw refuse("format", "nbdkit's file plugin serves raw images; use server: qemu-nbd for qcow2") }
            if q.aio != "threads" {
                throw refuse(
                    "aio", "nbdkit serves from its own thread pool (aio threads); native and io_uring are qemu-nbd's (server: qemu-nbd)")
            }
            if q.cache == "writethrough" || q.cache == "directsync" {
                throw refuse("cache", "nbdkit's file plugin has cache none or default (writeback), and unsafe (fua filter); not \(q.cache)")
            }
        case (.iscsi, _):
            if q.format != "raw" { throw refuse("format", "tgt serves raw images only") }
            if q.aio == "io_uring" { throw refuse("aio", "tgt's backing stores are rdwr (aio threads) and aio (aio native), not io_uring") }
            if q.cache == "unsafe" { throw refuse("cache", "tgt always honours the guest's SYNCHRONIZE CACHE: no unsafe mode") }
            if q.aio == "native" && q.cache == "directsync" {
                throw refuse(
                    "cache", "tgt's aio backing store (aio native) takes no bsoflags: use cache none, or aio threads for directsync")
            }
        case (.vhostUserBlk, _):
            if q.write.throttled {
                throw refuse(
                    q.write.iops != nil ? "write_iops_limit" : "write_bps_limit",
                    "a vhost-user-blk disk bypasses QEMU's block layer, where its throttling is")
            }
        default: break
        }
    }

    /// Whether the server can run here: the backend's programs, and nbdkit when it is asked for.
    func availability() -> Availability {
        if backend.kind == .nbd && server == "nbdkit" && Command.which("nbdkit") == nil {
            return .unavailable(reason: "nbdkit is not installed", fix: "scripts/install-deps.sh guests (nbdkit)")
        }
        return backend.availability()
    }

    /// The server's settings as they will be, for `describe()` and the write path.
    func planned(_ q: QemuSettings) -> [String: String] {
        var s = ["backend": backend.kind.rawValue]
        switch backend.kind {
        case .file: break
        case .nbd:
            s["server"] = server
            s["transport"] = transport == "unix" ? "unix socket" : "tcp 127.0.0.1"
            if server == "nbdkit" {
                s["server_cache"] = NBDServer.nbdkitCache(q.cache).description
                s["server_aio"] = "threads (nbdkit's thread pool)"
            } else {
                s["server_cache"] = q.cache
                s["server_aio"] = q.aio
            }
        case .vhostUserBlk:
            s["server"] = "qemu-storage-daemon"
            s["transport"] = "vhost-user (unix socket, shared guest memory)"
            s["server_cache"] = q.cache
            s["server_aio"] = q.aio
        case .iscsi:
            s["server"] = "tgtd"
            s["transport"] = "iscsi tcp 127.0.0.1"
            s["server_cache"] =
                q.aio == "native"
                ? "direct (the aio backing store opens O_DIRECT)" : ISCSITarget.bsoflags(q.cache, aio: q.aio) ?? "none (page cache)"
            s["server_aio"] = ISCSITarget.backingStore(q.aio)
        }
        if backend.kind != .file {
            s["client_cache"] =
                backend.kind == .vhostUserBlk
                ? "none: the daemon reads the guest's virtqueues itself"
                : "writeback (QEMU passes the guest's flushes to the server)"
        }
        return s
    }

    /// The path a write crosses, for `runs[].layer.write_path`.
    func pathDescription(_ s: [String: String]) -> String {
        let server = s["server"] ?? "server"
        switch backend.kind {
        case .file: return ""
        case .nbd:
            return "guest kernel -> virtio-blk (paravirtual) -> QEMU NBD client -> \(s["transport"] ?? "") -> \(server) "
                + "(server process) -> host kernel -> host file"
        case .vhostUserBlk:
            return "guest kernel -> vhost-user-blk (virtqueues in memory shared with the daemon) -> qemu-storage-daemon "
                + "(server process, QEMU block layer) -> host kernel -> host file"
        case .iscsi:
            return "guest kernel -> virtio-blk (paravirtual) -> QEMU iSCSI initiator (libiscsi) -> loopback TCP -> tgtd "
                + "(iSCSI target, server process) -> host kernel -> host file"
        }
    }

    /// The boxes after the hypervisor: the transport and the server, with its cache and aio.
    func writePathSteps(_ s: [String: String]) -> [LayerWritePath.Step] {
        let server = s["server"] ?? backend.kind.rawValue
        let flags = "cache \(s["server_cache"] ?? "?") · aio \(s["server_aio"] ?? "?")"
        let transport: String
        switch backend.kind {
        case .file: return []
        case .nbd: transport = "NBD · \(s["transport"] ?? "unix socket")"
        case .vhostUserBlk: transport = "vhost-user · unix socket · shared memory"
        case .iscsi: transport = "iSCSI · loopback TCP"
        }
        return [.init("transport", transport), .init("server", "\(server) · \(flags)")]
    }

    /// Starts the server for `disk` (format `q.format`) with its socket or port in `dir`, and
    /// returns what QEMU attaches. The caller stops it (`AttachedDrive.stop`) in every case.
    func attach(disk: String, dir: String, settings q: QemuSettings, logDirectory: String, runID: String) throws -> AttachedDrive {
        switch backend.kind {
        case .file: return AttachedDrive()
        case .nbd: return try NBDServer.start(server: server, transport: transport, disk: disk, dir: dir, settings: q, log: logDirectory)
        case .vhostUserBlk: return try StorageDaemon.start(disk: disk, dir: dir, settings: q, log: logDirectory)
        case .iscsi: return try ISCSITarget.start(disk: disk, settings: q, log: logDirectory, runID: runID)
        }
    }
}

/// What a served backend gives QEMU, and the server behind it.
final class AttachedDrive: @unchecked Sendable {
    /// Arguments for QEMU that make drive `d0` (or the vhost-user chardev).
    var driveArguments: [String] = []
    /// `-device` arguments replacing the disk model's; empty: the model's.
    var deviceArguments: [String] = []
    /// Added to `-machine` (`,memory-backend=...`), and the `-object`s that go with it.
    var machineOptions = ""
    var objects: [String] = []
    /// The server's settings for `runs[].layer` (version, command line, pid, address).
    var settings: [String: String] = [:]
    /// The server process, and what to undo before it is stopped (tgt's target and LUN).
    var server: ServerProcess?
    var beforeStop: (() -> Void)?
    /// Signal that stops the server (tgtd ignores SIGTERM), and what to remove after it.
    var stopSignal = SIGTERM
    var afterStop: (() -> Void)?
    private var stopped = false

    /// Stops the server and removes what it left, once; nothing of it runs afterwards.
    func stop() {
        guard !stopped else { return }
        stopped = true
        beforeStop?()
        server?.stop(signal: stopSignal)
        afterStop?()
    }

    /// Runs `body`; when it throws, stops the server before passing the error on.
    func stoppingOnError(_ body: () throws -> Void) throws {
        do { try body() } catch {
            stop()
            throw error
        }
    }

    deinit { stop() }
}
