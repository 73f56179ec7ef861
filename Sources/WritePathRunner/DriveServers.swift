import Foundation
import WritePathEngine

#if canImport(Glibc)
    import Glibc
#endif

/// The first line a program prints for `arguments` (its version), or nil.
private func firstLine(_ program: String, _ arguments: [String]) -> String? {
    guard Command.which(program) != nil, let r = try? Command.run(program, arguments, timeout: 20), r.succeeded else { return nil }
    return r.stdout.split(separator: "\n").first.map(String.init)
}

/// The `-drive` options of drive `d0` on a protocol driver: raw on top (the server decodes the
/// image format), the guest's flushes passed on (cache=writeback), QEMU's throttling when asked.
private func clientDrive(_ protocolOptions: String, _ q: QemuSettings) -> [String] {
    ["-drive", "if=none,id=d0,format=raw,cache=writeback,\(protocolOptions)\(q.throttlingOptions)"]
}

/// NBD servers: qemu-nbd (QEMU's block layer, its `--cache` and `--aio`) or nbdkit (its file
/// plugin and thread pool), on a Unix socket or 127.0.0.1.
enum NBDServer {
    static let exportName = "wp"

    static func nbdkitVersion() -> String? { firstLine("nbdkit", ["--version"])?.split(separator: " ").last.map(String.init) }

    /// nbdkit's file plugin has two cache modes: `default` (the page cache) and `none` (each write
    /// evicted from the page cache after it, with sync_file_range and posix_fadvise: not
    /// O_DIRECT); `unsafe` adds the fua filter dropping flushes and FUA (`fuamode=discard`).
    struct NbdkitCache: CustomStringConvertible {
        var plugin: String
        var discardFlushes: Bool
        var description: String {
            (plugin == "none" ? "none (file plugin: written pages evicted, not O_DIRECT)" : "default (page cache)")
                + (discardFlushes ? ", flushes dropped (fua filter fuamode=discard)" : "")
        }
    }

    static func nbdkitCache(_ cache: String) -> NbdkitCache {
        NbdkitCache(plugin: cache == "none" ? "none" : "default", discardFlushes: cache == "unsafe")
    }

    static func start(server: String, transport: String, disk: String, dir: String, settings q: QemuSettings, log: String) throws
        -> AttachedDrive
    {
        let drive = AttachedDrive()
        let socket = "\(dir)/nbd.sock"
        let port = try transport == "tcp" ? ListeningSocket.freeTCPPort() : 0
        var argv: [String]
        if server == "nbdkit" {
            let cache = nbdkitCache(q.cache)
            argv = ["--foreground", "--log=stderr", "--exportname=\(exportName)"]
            argv += transport == "unix" ? ["--unix", socket] : ["--ipaddr", "127.0.0.1", "--port", "\(port)"]
            if cache.discardFlushes { argv += ["--filter=fua"] }
            argv += ["file", "file=\(disk)", "cache=\(cache.plugin)"]
            if cache.discardFlushes { argv += ["fuamode=discard"] }
            drive.settings["server_version"] = "nbdkit \(nbdkitVersion() ?? "unknown")"
            drive.settings["server_threads"] = "16 (nbdkit's default)"
        } else {
            argv = ["--persistent", "--export-name=\(exportName)", "--cache=\(q.cache)", "--aio=\(q.aio)"]
            argv += transport == "unix" ? ["--socket=\(socket)"] : ["--bind=127.0.0.1", "--port=\(port)"]
            if let l2 = q.l2CacheSize {
                argv += [
                    "--image-opts", "driver=qcow2,l2-cache-size=\(l2),file.driver=file,file.filename=\(QemuRun.optionValue(disk))",
                ]
            } else {
                argv += ["--format=\(q.format)", disk]
            }
            drive.settings["server_version"] = firstLine("qemu-nbd", ["--version"]) ?? "unknown"
        }
        let address = transport == "unix" ? socket : "127.0.0.1:\(port)"
        drive.settings["server_address"] = address
        drive.settings["server_command"] = ([server] + argv).joined(separator: " ")
        let process = try ServerProcess(server, argv, log: "\(log)/\(server).log")
        drive.server = process
        drive.settings["server_pid"] = "\(process.pid)"
        try drive.stoppingOnError {
            try process.waitUntilReady(address) { transport == "unix" ? ListeningSocket.unix(socket) : ListeningSocket.tcp(port) }
        }
        let where_ =
            transport == "unix"
            ? "file.server.type=unix,file.server.path=\(QemuRun.optionValue(socket))"
            : "file.server.type=inet,file.server.host=127.0.0.1,file.server.port=\(port)"
        drive.driveArguments = clientDrive("file.driver=nbd,\(where_),file.export=\(exportName)", q)
        return drive
    }
}

/// qemu-storage-daemon exporting the image as a vhost-user-blk device: QEMU's block layer runs in
/// the daemon, which reads the guest's virtqueues in the guest memory QEMU shares with it (memfd).
enum StorageDaemon {
    /// `cache.direct`, `cache.no-flush` and the export's `writethrough` for a QEMU cache mode.
    static func cacheOptions(_ cache: String) -> (direct: Bool, noFlush: Bool, writethrough: Bool) {
        switch cache {
        case "none": (true, false, false)
        case "directsync": (true, false, true)
        case "writethrough": (false, false, true)
        case "unsafe": (false, true, false)
        default: (false, false, false)
        }
    }

    static func start(disk: String, dir: String, settings q: QemuSettings, log: String) throws -> AttachedDrive {
        let drive = AttachedDrive()
        let socket = "\(dir)/vhost-user-blk.sock"
        let c = cacheOptions(q.cache)
        let cache = "cache.direct=\(c.direct ? "on" : "off"),cache.no-flush=\(c.noFlush ? "on" : "off")"
        var argv: [String] = q.iothread ? ["--object", "iothread,id=io0"] : []
        argv += ["--blockdev", "driver=file,node-name=file0,filename=\(QemuRun.optionValue(disk)),aio=\(q.aio),\(cache)"]
        argv += [
            "--blockdev",
            "driver=\(q.format),node-name=disk0,file=file0,\(cache)" + (q.l2CacheSize.map { ",l2-cache-size=\($0)" } ?? ""),
        ]
        argv += [
            "--export",
            "type=vhost-user-blk,id=exp0,node-name=disk0,addr.type=unix,addr.path=\(QemuRun.optionValue(socket)),writable=on,"
                + "num-queues=\(q.vcpus)" + (c.writethrough ? ",writethrough=on" : "") + (q.iothread ? ",iothread=io0" : ""),
        ]
        drive.settings["server_version"] = firstLine("qemu-storage-daemon", ["--version"]) ?? "unknown"
        drive.settings["server_address"] = socket
        drive.settings["server_command"] = (["qemu-storage-daemon"] + argv).joined(separator: " ")
        drive.settings["server_queues"] = "\(q.vcpus)"
        drive.settings["server_iothread"] = q.iothread ? "on" : "off (the daemon's main loop)"
        let process = try ServerProcess("qemu-storage-daemon", argv, log: "\(log)/qemu-storage-daemon.log")
        drive.server = process
        drive.settings["server_pid"] = "\(process.pid)"
        try drive.stoppingOnError { try process.waitUntilReady(socket) { ListeningSocket.unix(socket) } }
        let mib = q.memory / (1 << 20)
        drive.objects = ["-object", "memory-backend-memfd,id=mem0,size=\(mib)M,share=on"]
        drive.machineOptions = ",memory-backend=mem0"
        drive.driveArguments = ["-chardev", "socket,id=vub0,path=\(QemuRun.optionValue(socket))"]
        drive.deviceArguments = ["-device", "vhost-user-blk-pci,chardev=vub0,num-queues=\(q.vcpus)"]
        drive.settings["guest_memory"] = "memory-backend-memfd share=on (\(mib) MiB, shared with the daemon)"
        return drive
    }
}

/// The tgt iSCSI target (tgtd), one private instance per run on its own control port and a
/// loopback portal, serving the image as LUN 1 of one target; QEMU's iSCSI driver (libiscsi,
/// Debian's qemu-block-extra) logs in to it.
enum ISCSITarget {
    /// Where tgtd keeps its control sockets (`socket.<control port>` and its `.lock`).
    static let runDirectory = "/var/run/tgtd"
    static let initiatorName = "iqn.2026-12.org.writepath:qemu"

    /// tgt's backing store for an `aio` setting: rdwr (pread/pwrite on tgt's threads) or aio (Linux AIO).
    static func backingStore(_ aio: String) -> String { aio == "native" ? "aio" : "rdwr" }

    /// tgt's `--bsoflags` for a cache mode (nil: none, the page cache). The aio backing store
    /// takes none: it opens the file with O_DIRECT itself (seen in tgtd's fdinfo: flags 0140002).
    static func bsoflags(_ cache: String, aio: String) -> String? {
        if aio == "native" { return nil }
        return switch cache {
        case "none": "direct"
        case "directsync": "sync:direct"
        case "writethrough": "sync"
        default: nil
        }
    }

    /// QEMU's iSCSI block driver module (Debian's qemu-block-extra), or nil.
    static func qemuModule() -> String? {
        ["/usr/lib/x86_64-linux-gnu/qemu/block-iscsi.so", "/usr/lib/qemu/block-iscsi.so"].first {
            FileManager.default.fileExists(atPath: $0)
        }
    }

    nonisolated(unsafe) private static var probed: Availability?
    private static let probeLock = NSLock()

    /// Whether a private tgtd starts and serves here: checked once per process by starting one
    /// (about a second), so the reason is tgtd's own when it cannot.
    static func availability() -> Availability {
        guard Command.which("tgtd") != nil, Command.which("tgtadm") != nil else {
            return .unavailable(reason: "tgtd is not installed", fix: "scripts/install-deps.sh guests (tgt)")
        }
        guard qemuModule() != nil else {
            return .unavailable(
                reason: "QEMU's iSCSI driver (block-iscsi.so) is not installed", fix: "scripts/install-deps.sh guests (qemu-block-extra)")
        }
        guard geteuid() == 0 else { return .unavailable(reason: "tgtd needs root", fix: "run writepath as root") }
        probeLock.lock()
        defer { probeLock.unlock() }
        if let probed { return probed }
        let dir = "/tmp/writepath-tgt-probe-\(getpid())"
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let result: Availability
        do {
            let t = try Instance(log: "\(dir)/tgtd.log")
            t.stop()
            result = .available(detail: "tgtd \(firstLine("tgtd", ["-V"]) ?? "?") on loopback, QEMU's iSCSI driver (libiscsi)")
        } catch {
            result = .unavailable(reason: "tgtd cannot serve here: \(error)", fix: "run `tgtd -f -C 4711` by hand to see why, and fix that")
        }
        probed = result
        return result
    }

    /// One private tgtd: its control port, its portal port, and the files it leaves in `runDirectory`.
    final class Instance: @unchecked Sendable {
        let control: Int
        let port: UInt16
        let process: ServerProcess
        private var stopped = false

        init(log: String) throws {
            port = try ListeningSocket.freeTCPPort()
            // tgtd takes control ports up to 32767 ("-C argument value '34538' out of range").
            var c = Int.random(in: 10000...30000)
            while FileManager.default.fileExists(atPath: "\(ISCSITarget.runDirectory)/socket.\(c)") { c = Int.random(in: 10000...30000) }
            control = c
            process = try ServerProcess("tgtd", ["-f", "-C", "\(c)", "--iscsi", "portal=127.0.0.1:\(port)"], log: log)
            do {
                let (portal, socket) = (port, "\(ISCSITarget.runDirectory)/socket.\(c)")
                try process.waitUntilReady("127.0.0.1:\(portal)", timeout: 20) {
                    ListeningSocket.tcp(portal) && ListeningSocket.unix(socket)
                }
            } catch {
                stop()
                throw error
            }
        }

        /// `tgtadm` on this instance; throws naming the operation with tgtadm's message.
        func admin(_ arguments: [String]) throws {
            let r = try Command.run("tgtadm", ["-C", "\(control)"] + arguments, timeout: 30)
            guard r.succeeded else {
                throw WritePathError.system(
                    call: "tgtadm", path: arguments.joined(separator: " "), errno: EIO, hint: r.stderrTail() + r.stdout)
            }
        }

        /// Ends tgtd (`tgtadm --op delete --mode system`; it ignores SIGTERM), SIGKILL if it
        /// lingers, then removes its control socket and lock file.
        func stop() {
            guard !stopped else { return }
            stopped = true
            _ = try? Command.run("tgtadm", ["-C", "\(control)", "--op", "delete", "--mode", "system"], timeout: 20)
            process.stop(signal: SIGKILL, grace: 0)
            for f in ["socket.\(control)", "socket.\(control).lock"] { unlink("\(ISCSITarget.runDirectory)/\(f)") }
        }
    }

    static func start(disk: String, settings q: QemuSettings, log: String, runID: String) throws -> AttachedDrive {
        guard !disk.contains(",") else {
            throw WritePathError.system(
                call: "tgtadm", path: disk, errno: EINVAL,
                hint: "tgt cannot serve a path with a comma; choose a --scratch folder without one")
        }
        let drive = AttachedDrive()
        let t = try Instance(log: "\(log)/tgtd.log")
        drive.server = t.process
        let iqn = "iqn.2026-12.org.writepath:" + String(runID.lowercased().map { $0.isLetter || $0.isNumber || $0 == "-" ? $0 : "-" })
        let lld = ["--lld", "iscsi"]
        drive.beforeStop = {
            _ = try? t.admin(lld + ["--mode", "logicalunit", "--op", "delete", "--tid", "1", "--lun", "1"])
            _ = try? t.admin(lld + ["--mode", "target", "--op", "delete", "--force", "--tid", "1"])
            t.stop()
        }
        drive.stopSignal = SIGKILL
        try drive.stoppingOnError {
            try t.admin(lld + ["--mode", "target", "--op", "new", "--tid", "1", "--targetname", iqn])
            var lun = lld + ["--mode", "logicalunit", "--op", "new", "--tid", "1", "--lun", "1", "--backing-store", disk]
            lun += ["--bstype", backingStore(q.aio)]
            if let flags = bsoflags(q.cache, aio: q.aio) { lun += ["--bsoflags", flags] }
            try t.admin(lun)
            try t.admin(lld + ["--mode", "target", "--op", "bind", "--tid", "1", "--initiator-address", "127.0.0.1"])
        }
        drive.settings["server_version"] = "tgtd \(firstLine("tgtd", ["-V"]) ?? "unknown")"
        drive.settings["server_address"] = "127.0.0.1:\(t.port)"
        drive.settings["server_command"] = "tgtd -f -C \(t.control) --iscsi portal=127.0.0.1:\(t.port)"
        drive.settings["server_pid"] = "\(t.process.pid)"
        drive.settings["iscsi_target"] = "\(iqn) lun 1"
        drive.settings["server_backing_store"] = backingStore(q.aio)
        drive.settings["server_bsoflags"] = bsoflags(q.cache, aio: q.aio) ?? "none"
        drive.driveArguments = clientDrive(
            "file.driver=iscsi,file.transport=tcp,file.portal=127.0.0.1:\(t.port),file.target=\(iqn),file.lun=1,"
                + "file.initiator-name=\(initiatorName)", q)
        return drive
    }
}
