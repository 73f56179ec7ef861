import Foundation
import WritePathEngine
import WritePathResult

#if canImport(Glibc)
    import Glibc
#endif

/// Whether QEMU guests can run here, for callers outside the runner.
public enum QemuRunAvailability {
    public static func check() -> Availability { QemuRun.availability() }
}

/// A virtual disk model QEMU can give a guest, with the guest-side device it appears as: one
/// value per `qemu-*` layer, all run by `QemuLayer`. A new model is one value in `all`.
public struct DiskModel: Sendable, Equatable {
    /// The model's name (`virtio-blk`); the layer is `qemu-<name>`.
    public var name: String
    /// What the test disk is, for the layer's summary.
    var summary: String
    /// The test disk's device node in the guest.
    var guestDevice: String
    /// The machine type: `pc` (i440fx, with its PIIX IDE controller) or `q35`.
    var machine = "q35"
    /// `-device` arguments attaching drive `d0` (and its controller); `{iothread}` stands for
    /// `,iothread=io0` with an iothread, else nothing. A model without it has no iothread in QEMU.
    var devices: [String]
    /// The path a write crosses in the guest, for `runs[].layer.write_path`.
    var pathDescription: String
    /// The test disk's NVMe generic char device in the guest, for `passthrough: true` (the guest
    /// writes it with io_uring_cmd); nil for a model without NVMe passthrough.
    var passthroughDevice: String? = nil
    /// The path a write crosses with `passthrough: true`.
    var passthroughPathDescription: String? = nil

    /// The layer's name.
    public var layerName: String { "qemu-\(name)" }

    /// `-device` arguments attaching drive `d0` (and its controller).
    func deviceArguments(iothread: Bool) -> [String] {
        devices.map { $0.replacingOccurrences(of: "{iothread}", with: iothread ? ",iothread=io0" : "") }
    }

    /// The layer's parameters: every QEMU layer's, and `passthrough` for a model that has it.
    var parameterNames: [String] { QemuSettings.parameterNames + (passthroughDevice == nil ? [] : ["passthrough"]) }

    /// Whether QEMU can give this model an iothread.
    var supportsIOThread: Bool { devices.contains { $0.contains("{iothread}") } }

    /// The registry's entry.
    var kind: LayerKind {
        let model = self
        return LayerKind(name: layerName, summary: "QEMU guest, test disk on \(summary)", parameterNames: parameterNames) {
            try QemuLayer(model: model, backend: .file, parameters: $0)
        }
    }

    /// Every model, in the registry's order.
    public static let all = [
        DiskModel(
            name: "virtio-blk", summary: "a paravirtual virtio block device", guestDevice: "/dev/vda",
            devices: ["-device", "virtio-blk-pci,drive=d0{iothread}"],
            pathDescription: "guest kernel -> virtio-blk (paravirtual) -> QEMU block layer -> host kernel -> device"),
        DiskModel(
            name: "virtio-scsi", summary: "a SCSI disk on a paravirtual virtio-scsi controller", guestDevice: "/dev/sda",
            devices: ["-device", "virtio-scsi-pci,id=scsi0{iothread}", "-device", "scsi-hd,drive=d0,bus=scsi0.0"],
            pathDescription: "guest kernel -> SCSI -> virtio-scsi (paravirtual) -> QEMU block layer -> host kernel -> device"),
        DiskModel(
            name: "nvme", summary: "an emulated NVMe controller", guestDevice: "/dev/nvme0n1",
            devices: ["-device", "nvme,drive=d0,serial=writepath0"],
            pathDescription: "guest kernel -> NVMe driver -> emulated NVMe controller -> QEMU block layer -> host kernel -> device",
            passthroughDevice: "/dev/ng0n1",
            passthroughPathDescription:
                "guest io_uring_cmd -> NVMe driver (passthrough: no file system, no block layer I/O path) -> emulated NVMe "
                + "controller -> QEMU block layer -> host kernel -> device"),
        DiskModel(
            name: "ahci", summary: "a SATA disk on an emulated AHCI controller (fully emulated)", guestDevice: "/dev/sda",
            devices: ["-device", "ahci,id=ahci0", "-device", "ide-hd,drive=d0,bus=ahci0.0"],
            pathDescription: "guest kernel -> libata -> emulated AHCI (trapped MMIO) -> QEMU block layer -> host kernel -> device"),
        DiskModel(
            name: "ide", summary: "an IDE disk on the emulated PIIX controller (fully emulated, port I/O)", guestDevice: "/dev/sda",
            machine: "pc", devices: ["-device", "ide-hd,drive=d0,bus=ide.0"],
            pathDescription:
                "guest kernel -> libata -> emulated PIIX IDE (trapped port I/O) -> QEMU block layer -> host kernel -> device"),
    ]
}

/// A `qemu-*` layer: the engine in a QEMU guest whose test disk is of `model`, held by `backend`
/// (the image file QEMU opens, or a server process writepath starts for the run).
public struct QemuLayer: Layer {
    let model: DiskModel
    let backend: DriveBackend
    let settings: QemuSettings
    /// The server's settings of a served backend; nil for `file`.
    let served: ServedDrive?

    public var name: String { backend.kind == .file ? model.layerName : backend.layerName }
    public var runsFio: Bool { true }

    init(model: DiskModel, backend: DriveBackend, parameters: [String: String]) throws {
        self.model = model
        self.backend = backend
        let name = backend.kind == .file ? model.layerName : backend.layerName
        settings = try QemuSettings(layer: name, model: model, parameters: parameters)
        served = backend.kind == .file ? nil : try ServedDrive(backend: backend, layer: name, settings: settings, parameters: parameters)
    }

    /// The guest's device: the model's, or vhost-user-blk's own.
    var deviceName: String { backend.kind == .vhostUserBlk ? "vhost-user-blk" : model.name }

    public func availability() -> Availability {
        let qemu = QemuRun.availability()
        guard case let .available(detail) = qemu, let served else { return qemu }
        switch served.availability() {
        case let .available(server): return .available(detail: "\(detail); server \(server)")
        case let unavailable: return unavailable
        }
    }

    public func describe() -> [String: String] {
        settings.settings.merging(["device": deviceName, "machine": model.machine]) { a, _ in a }
            .merging(served?.planned(settings) ?? [:]) { a, _ in a }
    }

    /// The guest's kernel and virtual device, then QEMU (with its accelerator once known), and a
    /// served backend's transport and server.
    public func writePath(_ settings: [String: String]) -> LayerWritePath {
        let kernel = settings["passthrough"]?.hasPrefix("on") == true ? "io_uring_cmd · NVMe driver, no block layer" : "VFS · fs · block"
        return .boxed(
            "guest", [.init("guest kernel", kernel), .init("virtual device", settings["device"] ?? deviceName)],
            then: [.init("hypervisor", "QEMU" + (settings["accel"].map { " (\($0))" } ?? ""))]
                + (served?.writePathSteps(settings) ?? []))
    }

    public func run(_ workload: Workload, rep: Int, context: LayerContext) throws -> RunResult {
        try QemuRun(layer: self, model: model, settings: settings).run(workload, rep: rep, context: context)
    }
}

/// The settings every QEMU layer takes, parsed and checked against each other.
public struct QemuSettings: Sendable, Equatable {
    public static let parameterNames = [
        "aio", "cache", "format", "iothread", "vcpus", "memory", "disk_size", "accel", "preallocation", "boot_timeout",
        "inject_write_errors", "write_iops_limit", "write_bps_limit", "cluster_size", "l2_cache_size",
    ]
    /// Host backend: `threads` (QEMU's default), `native` (Linux AIO) or `io_uring`.
    public var aio = "threads"
    /// `none` (O_DIRECT, QEMU's cache.direct=on), `writeback`, `directsync` or `unsafe`.
    public var cache = "none"
    /// `raw` or `qcow2` (made with qemu-img).
    public var format = "raw"
    public var iothread = false
    public var vcpus = 2
    /// Guest memory in bytes.
    public var memory: UInt64 = 768 << 20
    /// Disk size in bytes; nil: the workload's region plus 16 MiB.
    public var diskSize: UInt64?
    /// `auto` (KVM when it really works, else TCG), `kvm` or `tcg`.
    public var accel = "auto"
    /// qemu-img preallocation: `off`, `metadata` (qcow2 only), `falloc` or `full`; nil: falloc for
    /// raw, metadata for qcow2.
    public var preallocation: String?
    /// qcow2's cluster size in bytes (qemu-img's `cluster_size`, a power of two from 512 to 2 MiB);
    /// nil: qemu-img's default, 64 KiB. qcow2 only.
    public var clusterSize: UInt64?
    /// qcow2's L2 table cache in bytes (the drive's `l2-cache-size`); nil: QEMU's default. qcow2 only.
    public var l2CacheSize: UInt64?
    /// Seconds from QEMU's start until the guest must have reached the workload; nil: 90 under
    /// TCG, 30 under KVM. A guest that takes longer is killed and the run recorded as failed.
    public var bootTimeout: Double?
    /// Put a blkdebug filter under the guest's disk that fails every write with EIO.
    public var injectWriteErrors = false
    /// QEMU's I/O throttling of the guest's disk (`-drive throttling.iops-write` and
    /// `throttling.bps-write`).
    public var write: WriteLimits
    /// NVMe passthrough (qemu-nvme): the guest writes the namespace's generic char device
    /// (`/dev/ng0n1`) with the io_uring_cmd engine instead of the block device with io_uring.
    public var passthrough = false

    public init(layer: String, model: DiskModel, parameters: [String: String]) throws {
        let p = LayerParameters(layer: layer, values: parameters)
        aio = try p.choice("aio", ["threads", "native", "io_uring"]) ?? aio
        cache = try p.choice("cache", ["none", "writeback", "directsync", "unsafe", "writethrough"]) ?? cache
        format = try p.choice("format", ["raw", "qcow2"]) ?? format
        iothread = try p.boolean("iothread") ?? false
        (vcpus, memory, accel, bootTimeout) = try QemuMachineSettings.parse(p)
        diskSize = try p.bytes("disk_size")
        preallocation = try p.choice("preallocation", ["off", "metadata", "falloc", "full"])
        injectWriteErrors = try p.boolean("inject_write_errors") ?? false
        write = try WriteLimits(p)
        passthrough = try p.boolean("passthrough") ?? false
        if passthrough && model.passthroughDevice == nil {
            throw WritePathError.invalidInput(
                field: "\(layer).passthrough", message: "\(model.name) has no NVMe passthrough; only qemu-nvme")
        }
        if aio == "native" && !(cache == "none" || cache == "directsync") {
            throw WritePathError.invalidInput(
                field: "\(layer).aio",
                message: "native needs O_DIRECT on the host: use cache=none or cache=directsync, or aio=threads/io_uring")
        }
        if iothread && !model.supportsIOThread {
            throw WritePathError.invalidInput(
                field: "\(layer).iothread",
                message: "\(model.name) has no iothread in QEMU; only virtio-blk and virtio-scsi")
        }
        if memory < 256 << 20 {
            throw WritePathError.invalidInput(
                field: "\(layer).memory", message: "at least 256m: the guest holds the engine in its initramfs")
        }
        clusterSize = try p.bytes("cluster_size")
        l2CacheSize = try p.bytes("l2_cache_size")
        for (key, value) in [("cluster_size", clusterSize), ("l2_cache_size", l2CacheSize)] where value != nil && format != "qcow2" {
            throw WritePathError.invalidInput(field: "\(layer).\(key)", message: "qcow2 only; this drive is raw (add format: qcow2)")
        }
        if let c = clusterSize, c < 512 || c > 2 << 20 || c & (c - 1) != 0 {
            throw WritePathError.invalidInput(
                field: "\(layer).cluster_size", message: "\(c) is not a power of two from 512 to 2m (qemu-img's qcow2 cluster_size)")
        }
        if let l2 = l2CacheSize, l2 < 8192 {
            throw WritePathError.invalidInput(field: "\(layer).l2_cache_size", message: "at least 8k (two 4 KiB L2 tables)")
        }
        if format == "raw" && preallocation == "metadata" {
            throw WritePathError.invalidInput(
                field: "\(layer).preallocation", message: "metadata is qcow2's; a raw image takes off, falloc or full")
        }
    }

    var settings: [String: String] {
        var s = [
            "aio": aio, "cache": cache, "format": format, "iothread": iothread ? "on" : "off",
            "vcpus": "\(vcpus)", "memory_bytes": "\(memory)", "preallocation": preallocation ?? (format == "raw" ? "falloc" : "metadata"),
        ]
        if let diskSize { s["disk_size_bytes"] = "\(diskSize)" }
        if format == "qcow2" {
            s["cluster_size_bytes"] = "\(clusterSize ?? 65536)"
            s["l2_cache_size_bytes"] = l2CacheSize.map { "\($0)" } ?? "qemu default"
        }
        if injectWriteErrors { s["inject_write_errors"] = "on (blkdebug: every write fails with EIO)" }
        if write.throttled { s["throttle"] = "qemu (-drive throttling.*)" }
        if passthrough { s["passthrough"] = "on (the guest writes the NVMe generic char device with io_uring_cmd)" }
        return s.merging(write.settings) { a, _ in a }
    }

    /// The `-drive` throttling options for the limits, each starting with a comma; empty without.
    var throttlingOptions: String {
        var o = ""
        if let iops = write.iops { o += ",throttling.iops-write=\(iops)" }
        if let bps = write.bytesPerSecond { o += ",throttling.bps-write=\(bps)" }
        return o
    }
}

/// The box of the QEMU layers: one guest boot that runs one workload, the result coming back in
/// the guest protocol's envelope (`GuestProtocol`); the rest is `EngineInBox`'s.
struct QemuRun {
    static let qemu = "qemu-system-x86_64"

    /// `value` for a QEMU `key=value,...` option string: QEMU reads a doubled comma as one comma
    /// inside a value, so a path from --scratch, --results or the host name cannot add options.
    static func optionValue(_ value: String) -> String { value.replacingOccurrences(of: ",", with: ",,") }
    /// Seconds a guest may take from QEMU's start to the workload under TCG (KVM: a third).
    static let bootDeadlineTCG = 90.0

    var layer: QemuLayer
    var model: DiskModel
    var settings: QemuSettings

    static func version(_ qemu: String = qemu) -> String? {
        guard let r = try? Command.run(qemu, ["--version"], timeout: 20), r.succeeded,
            let first = r.stdout.split(separator: "\n").first
        else { return nil }
        // "QEMU emulator version 7.2.22 (Debian ...)" -> "7.2.22"
        let words = first.split(separator: " ")
        if let i = words.firstIndex(of: "version"), i + 1 < words.count { return String(words[i + 1]) }
        return String(first)
    }

    static func availability() -> Availability {
        guard Command.which(qemu) != nil else {
            return .unavailable(
                reason: "\(qemu) is not installed", fix: "scripts/install-deps.sh guests (apt-get install qemu-system-x86 qemu-utils)")
        }
        guard Command.which("qemu-img") != nil else {
            return .unavailable(reason: "qemu-img is not installed", fix: "apt-get install qemu-utils")
        }
        do {
            _ = try GuestImage.findKernel()
            _ = try GuestImage.findBusybox()
        } catch let e as WritePathError {
            if case let .system(_, _, _, hint) = e { return .unavailable(reason: "no guest image inputs", fix: hint) }
            return .unavailable(reason: "\(e)", fix: "scripts/install-deps.sh guests")
        } catch {
            return .unavailable(reason: "\(error)", fix: "scripts/install-deps.sh guests")
        }
        guard Command.which("zstd") != nil, Command.which("cpio") != nil else {
            return .unavailable(reason: "zstd or cpio is missing (needed to build the guest image)", fix: "apt-get install zstd cpio")
        }
        if let missing = LibraryCheck.engineUnavailability() { return missing }
        let accel: String
        if let known = Accelerator.cached() {
            accel = "\(known.name): \(known.reason)"
        } else if FileManager.default.fileExists(atPath: "/dev/kvm") {
            accel = "KVM if a test guest boots under it, else TCG: probed at the first guest run (writepath guest-image probes now)"
        } else {
            accel = "tcg: /dev/kvm is missing"
        }
        return .available(detail: "QEMU \(version() ?? "?"), accel \(accel)")
    }

    /// The workload the guest runs: `workload`, or with `passthrough` the same with the io_uring_cmd
    /// engine (keeping fixedbufs and registerfiles), checked here before a guest boots. Only an
    /// io_uring workload has a passthrough twin; an io_uring option io_uring_cmd lacks is refused.
    func guestWorkload(_ workload: Workload) throws -> Workload {
        let field = "\(layer.name).passthrough"
        guard settings.passthrough else {
            if workload.ioengine == .io_uring_cmd {
                throw WritePathError.invalidInput(
                    field: model.passthroughDevice == nil ? "ioengine" : field,
                    message: model.passthroughDevice == nil
                        ? "io_uring_cmd writes an NVMe generic char device, which only qemu-nvme with passthrough: true gives the guest"
                        : "ioengine=io_uring_cmd writes the guest's NVMe generic char device: give passthrough: true")
            }
            return workload
        }
        var w = workload
        if workload.ioengine != .io_uring_cmd {
            guard workload.ioengine == .io_uring else {
                throw WritePathError.invalidInput(
                    field: field,
                    message: "the guest writes \(model.passthroughDevice ?? "") with io_uring_cmd in place of io_uring; this workload "
                        + "has ioengine=\(workload.ioengine.rawValue)")
            }
            w.ioengine = .io_uring_cmd
            w.io_uring = IOUringOptions()
            w.io_uring.fixedbufs = workload.io_uring.fixedbufs
            w.io_uring.registerfiles = workload.io_uring.registerfiles
            if w.io_uring != workload.io_uring {
                throw WritePathError.invalidInput(
                    field: field,
                    message: "io_uring_cmd takes fixedbufs and registerfiles only; leave sqthread_poll, force_async and "
                        + "iowq_colocate at their defaults")
            }
        }
        do { try w.validate() } catch let WritePathError.invalidInput(f, message) {
            throw WritePathError.invalidInput(field: field, message: "\(f): \(message)")
        }
        return w
    }

    func run(_ workload: Workload, rep: Int, context: LayerContext) throws -> RunResult {
        let original = workload
        let workload = try guestWorkload(original)
        let fm = FileManager.default
        let machine = try Self.machine(for: workload, context: context, accel: settings.accel)
        let dir = "\(context.scratchDirectory)/qemu-\(context.runID)"
        try fm.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try fm.createDirectory(atPath: context.logDirectory, withIntermediateDirectories: true)
        defer { if !context.keep { try? fm.removeItem(atPath: dir) } }

        // The host side: a disk image on the scratch folder's filesystem.
        let region = (workload.size ?? (64 << 20)) + workload.offset
        let diskSize = max(settings.diskSize ?? (region + (16 << 20)), region)
        let roundedSize = (diskSize + (1 << 20) - 1) / (1 << 20) * (1 << 20)
        let disk = "\(dir)/disk.\(settings.format)"
        let prealloc = settings.preallocation ?? (settings.format == "raw" ? "falloc" : "metadata")
        try Self.createImage(
            disk, format: settings.format, preallocation: prealloc, bytes: roundedSize,
            options: settings.clusterSize.map { ",cluster_size=\($0)" } ?? "")

        // A served backend: its server starts now, serving the image, and is stopped in every case.
        let drive =
            try layer.served?.attach(disk: disk, dir: dir, settings: settings, logDirectory: context.logDirectory, runID: context.runID)
            ?? AttachedDrive()
        defer { drive.stop() }
        let guestDevice = settings.passthrough ? model.passthroughDevice ?? model.guestDevice : model.guestDevice
        var args = machine.arguments(
            guestCommand: EngineInBox.guestCommand(workload), context: context, machineType: model.machine + drive.machineOptions,
            vcpus: settings.vcpus, memory: settings.memory, target: "wp.disk=\(guestDevice)")
        if settings.iothread && layer.backend.kind != .vhostUserBlk { args += ["-object", "iothread,id=io0"] }
        args += drive.objects
        if layer.served != nil {
            args += drive.driveArguments
        } else if settings.injectWriteErrors {
            // blkdebug between the format and the file: every write fails with EIO (errno 5).
            let config = "\(dir)/blkdebug.conf"
            try "[inject-error]\nevent = \"write_aio\"\nerrno = \"5\"\n".write(toFile: config, atomically: true, encoding: .utf8)
            args += [
                "-drive",
                "if=none,id=d0,format=\(settings.format),cache=\(settings.cache),file.driver=blkdebug,"
                    + "file.config=\(Self.optionValue(config)),file.image.driver=file,"
                    + "file.image.filename=\(Self.optionValue(disk)),file.image.aio=\(settings.aio)\(settings.throttlingOptions)",
            ]
        } else {
            args += [
                "-drive",
                "file=\(Self.optionValue(disk)),format=\(settings.format),if=none,id=d0,cache=\(settings.cache),aio=\(settings.aio)"
                    + "\(settings.throttlingOptions)" + (settings.l2CacheSize.map { ",l2-cache-size=\($0)" } ?? ""),
            ]
        }
        args += drive.deviceArguments.isEmpty ? model.deviceArguments(iothread: settings.iothread) : drive.deviceArguments
        // With flushes, the host disk under the image counts the flushes that reach it while
        // the guest runs: the evidence of whether the guest's flushes are durable.
        let flushes = workload.flushEvery != nil
        let hostDisk = flushes ? BlockDevice.wholeDisk(holding: disk)?.name : nil
        let hostFlushesBefore = hostDisk.flatMap(DiskStats.flushes(disk:))
        let traceFile = "\(context.logDirectory)/qemu-block-trace.log"
        let traced = flushes && settings.aio == "io_uring" && !settings.injectWriteErrors && layer.served == nil
        if traced {
            // With aio=io_uring, QEMU traces every request its file driver submits to the host
            // (luring_co_submit): the flushes among them (type 8, QEMU_AIO_FLUSH) are exactly the
            // guest's flushes that reach the host's image file.
            let events = "\(dir)/trace-events"
            try "luring_co_submit\n".write(toFile: events, atomically: true, encoding: .utf8)
            args += ["-trace", "events=\(Self.optionValue(events)),file=\(Self.optionValue(traceFile))"]
        }
        var s = layer.describe()
        s.merge(drive.settings) { _, server in server }
        s["disk_size_bytes"] = "\(roundedSize)"
        s["host_disk"] = disk
        s["write_path"] =
            layer.served?.pathDescription(s)
            ?? (settings.passthrough ? model.passthroughPathDescription ?? model.pathDescription : model.pathDescription)
        if settings.passthrough {
            s["engine_path"] =
                "\(workload.engine == .fio ? "fio's " : "")io_uring_cmd (NVMe commands via IORING_OP_URING_CMD) on \(guestDevice); "
                + "the workload asked for ioengine=\(original.ioengine.rawValue)"
        }
        var run = try machine.boot(
            args, layer: layer, settings: s, bootTimeout: settings.bootTimeout, workload: workload, rep: rep, context: context)
        let hostFlushesAfter = hostDisk.flatMap(DiskStats.flushes(disk:))
        if settings.cache == "unsafe" {
            let who = layer.served.map { "\($0.planned(settings)["server"] ?? "the server")" } ?? "QEMU"
            run.warnings.append("cache=unsafe: \(who) drops the guest's flushes; nothing here is durable")
        }
        if flushes, var d = run.durability {
            // The guest's own view (its virtual disk) is not evidence for the host: judge by the
            // flushes that reached the image file.
            let traceCount =
                traced
                ? (try? String(contentsOfFile: traceFile, encoding: .utf8)).map { trace in
                    UInt64(trace.split(separator: "\n").filter { $0.hasPrefix("luring_co_submit") && $0.hasSuffix(" type 8") }.count)
                } : nil
            d.judgeOnHost(
                fileFlushes: traceCount.map { (count: $0, place: "the host's image file (QEMU's io_uring trace)") }, hostDisk: hostDisk,
                before: hostFlushesBefore, after: hostFlushesAfter, under: "the image")
            if d.verdict == "not durable" && settings.cache == "unsafe" { d.evidence += " by cache=unsafe" }
            run.durability = d
            run.layer.settings["durability"] = d.verdict
        }
        return run
    }
}
