#if canImport(Glibc)
import Glibc
#endif
import Foundation
import WritePathEngine
import WritePathResult

/// Whether QEMU guests can run here, for callers outside the runner.
public enum QemuRunAvailability {
    public static func check() -> Availability { QemuRun.availability() }
}

/// A virtual disk model QEMU can give a guest, with the guest-side device it appears as.
public enum DiskModel: String, Sendable, CaseIterable {
    case virtioBlk = "virtio-blk"
    case virtioScsi = "virtio-scsi"
    case nvme
    case ahci
    case ide

    /// The test disk's device node in the guest.
    var guestDevice: String {
        switch self {
        case .virtioBlk: return "/dev/vda"
        case .nvme: return "/dev/nvme0n1"
        case .virtioScsi, .ahci, .ide: return "/dev/sda"
        }
    }

    /// `pc` (i440fx, with its PIIX IDE controller) for IDE, `q35` otherwise.
    var machine: String { self == .ide ? "pc" : "q35" }

    /// The path a write crosses in the guest, for `runs[].layer.write_path`.
    var pathDescription: String {
        switch self {
        case .virtioBlk: return "guest kernel -> virtio-blk (paravirtual) -> QEMU block layer -> host kernel -> device"
        case .virtioScsi: return "guest kernel -> SCSI -> virtio-scsi (paravirtual) -> QEMU block layer -> host kernel -> device"
        case .nvme: return "guest kernel -> NVMe driver -> emulated NVMe controller -> QEMU block layer -> host kernel -> device"
        case .ahci: return "guest kernel -> libata -> emulated AHCI (trapped MMIO) -> QEMU block layer -> host kernel -> device"
        case .ide: return "guest kernel -> libata -> emulated PIIX IDE (trapped port I/O) -> QEMU block layer -> host kernel -> device"
        }
    }

    /// `-device` arguments attaching drive `d0` (and its controller).
    func deviceArguments(iothread: Bool) -> [String] {
        let io = iothread ? ",iothread=io0" : ""
        switch self {
        case .virtioBlk: return ["-device", "virtio-blk-pci,drive=d0\(io)"]
        case .virtioScsi: return ["-device", "virtio-scsi-pci,id=scsi0\(io)", "-device", "scsi-hd,drive=d0,bus=scsi0.0"]
        case .nvme: return ["-device", "nvme,drive=d0,serial=writepath0"]
        case .ahci: return ["-device", "ahci,id=ahci0", "-device", "ide-hd,drive=d0,bus=ahci0.0"]
        case .ide: return ["-device", "ide-hd,drive=d0,bus=ide.0"]
        }
    }

    /// Whether QEMU can give this model an iothread.
    var supportsIOThread: Bool { self == .virtioBlk || self == .virtioScsi }
}

/// The settings every QEMU layer takes, parsed and checked against each other.
public struct QemuSettings: Sendable, Equatable {
    public static let parameterNames = ["aio", "cache", "format", "iothread", "vcpus", "memory", "disk_size", "accel", "preallocation", "boot_timeout",
                                        "inject_write_errors", "write_iops_limit", "write_bps_limit"]
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
    /// qemu-img preallocation: `off`, `metadata`, `falloc` or `full`; nil: falloc for raw, metadata for qcow2.
    public var preallocation: String?
    /// Seconds from QEMU's start until the guest must have reached the workload; nil: 90 under
    /// TCG, 30 under KVM. A guest that takes longer is killed and the run recorded as failed.
    public var bootTimeout: Double?
    /// Put a blkdebug filter under the guest's disk that fails every write with EIO.
    public var injectWriteErrors = false
    /// QEMU's I/O throttling of the guest's disk (`-drive throttling.iops-write`), write I/Os per
    /// second; the same parameter name as the container layers' cgroup limit, so that the two
    /// ways to cap a tenant can be compared.
    public var writeIOPSLimit: Int?
    /// QEMU's `throttling.bps-write`, bytes per second.
    public var writeBPSLimit: UInt64?

    public init(layer: String, model: DiskModel, parameters: [String: String]) throws {
        let p = LayerParameters(layer: layer, values: parameters)
        aio = try p.choice("aio", ["threads", "native", "io_uring"]) ?? aio
        cache = try p.choice("cache", ["none", "writeback", "directsync", "unsafe", "writethrough"]) ?? cache
        format = try p.choice("format", ["raw", "qcow2"]) ?? format
        iothread = try p.boolean("iothread") ?? false
        vcpus = try p.integer("vcpus", range: 1...64) ?? vcpus
        memory = try p.bytes("memory") ?? memory
        diskSize = try p.bytes("disk_size")
        accel = try p.choice("accel", ["auto", "kvm", "tcg"]) ?? accel
        preallocation = try p.choice("preallocation", ["off", "metadata", "falloc", "full"])
        bootTimeout = try p.number("boot_timeout", range: 0.1...3600)
        injectWriteErrors = try p.boolean("inject_write_errors") ?? false
        writeIOPSLimit = try p.integer("write_iops_limit", range: 1...10_000_000)
        writeBPSLimit = try p.bytes("write_bps_limit")
        if let b = writeBPSLimit, b == 0 {
            throw WritePathError.invalidInput(field: "\(layer).write_bps_limit", message: "must be at least 1 byte per second, e.g. 50m")
        }
        if aio == "native" && !(cache == "none" || cache == "directsync") {
            throw WritePathError.invalidInput(field: "\(layer).aio", message: "native needs O_DIRECT on the host: use cache=none or cache=directsync, or aio=threads/io_uring")
        }
        if iothread && !model.supportsIOThread {
            throw WritePathError.invalidInput(field: "\(layer).iothread", message: "\(model.rawValue) has no iothread in QEMU; only virtio-blk and virtio-scsi")
        }
        if memory < 256 << 20 {
            throw WritePathError.invalidInput(field: "\(layer).memory", message: "at least 256m: the guest holds the engine in its initramfs")
        }
        if format == "qcow2", preallocation == "falloc" || preallocation == "full" {
            // Both are valid for qcow2 too; nothing to refuse.
        }
    }

    var settings: [String: String] {
        var s = ["aio": aio, "cache": cache, "format": format, "iothread": iothread ? "on" : "off",
                 "vcpus": "\(vcpus)", "memory_bytes": "\(memory)", "preallocation": preallocation ?? (format == "raw" ? "falloc" : "metadata")]
        if let diskSize { s["disk_size_bytes"] = "\(diskSize)" }
        if injectWriteErrors { s["inject_write_errors"] = "on (blkdebug: every write fails with EIO)" }
        if let writeIOPSLimit { s["write_iops_limit"] = "\(writeIOPSLimit)" }
        if let writeBPSLimit { s["write_bps_limit"] = "\(writeBPSLimit)" }
        if writeIOPSLimit != nil || writeBPSLimit != nil { s["throttle"] = "qemu (-drive throttling.*)" }
        return s
    }

    /// The `-drive` throttling options for the limits, each starting with a comma; empty without.
    var throttlingOptions: String {
        var o = ""
        if let writeIOPSLimit { o += ",throttling.iops-write=\(writeIOPSLimit)" }
        if let writeBPSLimit { o += ",throttling.bps-write=\(writeBPSLimit)" }
        return o
    }
}

/// One guest boot that runs one workload: the part every QEMU layer shares.
struct QemuRun {
    static let qemu = "qemu-system-x86_64"

    /// `value` for a QEMU `key=value,...` option string: QEMU reads a doubled comma as one comma
    /// inside a value, so a path from --scratch, --results or the host name cannot add options.
    static func optionValue(_ value: String) -> String { value.replacingOccurrences(of: ",", with: ",,") }
    /// Seconds a guest may take from QEMU's start to the workload under TCG (KVM: a third).
    static let bootDeadlineTCG = 90.0

    var layerName: String
    var model: DiskModel
    var settings: QemuSettings

    static func version(_ qemu: String = qemu) -> String? {
        guard let r = try? Command.run(qemu, ["--version"], timeout: 20), r.succeeded,
              let first = r.stdout.split(separator: "\n").first else { return nil }
        // "QEMU emulator version 7.2.22 (Debian ...)" -> "7.2.22"
        let words = first.split(separator: " ")
        if let i = words.firstIndex(of: "version"), i + 1 < words.count { return String(words[i + 1]) }
        return String(first)
    }

    static func availability() -> Availability {
        guard Command.which(qemu) != nil else {
            return .unavailable(reason: "\(qemu) is not installed", fix: "scripts/install-deps.sh guests (apt-get install qemu-system-x86 qemu-utils)")
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

    func run(_ workload: Workload, rep: Int, context: LayerContext) throws -> RunResult {
        let fm = FileManager.default
        let image = try GuestImage.prepare(engineBinary: context.engineBinary)
        let accel: Accelerator
        switch settings.accel {
        case "kvm": accel = Accelerator(name: "kvm", reason: "asked for with accel=kvm")
        case "tcg": accel = Accelerator(name: "tcg", reason: "asked for with accel=tcg")
        default: accel = Accelerator.detect(image: image)
        }
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
        let created = try Command.run("qemu-img", ["create", "-q", "-f", settings.format, "-o", "preallocation=\(prealloc)", disk, "\(roundedSize)"], timeout: 600)
        guard created.succeeded else {
            throw WritePathError.system(call: "qemu-img create", path: disk, errno: EIO, hint: created.stderrTail())
        }

        var w = workload
        w.filename = nil
        w.directory = nil
        let argsText = w.commandLineArguments.joined(separator: "\n")
        let encodedArgs = Data(argsText.utf8).base64EncodedString()
        let console = "\(context.logDirectory)/console.log"
        let channel = "\(context.logDirectory)/guest-channel.txt"
        var args = ["-accel", accel.name == "kvm" ? "kvm" : "tcg,thread=multi",
                    "-machine", model.machine, "-cpu", accel.name == "kvm" ? "host" : "max",
                    "-smp", "\(settings.vcpus)", "-m", "\(settings.memory / (1 << 20))M",
                    "-nodefaults", "-display", "none", "-no-reboot",
                    "-kernel", image.kernel, "-initrd", image.initramfs,
                    "-append", "console=ttyS0 panic=-1 quiet loglevel=4 wp.disk=\(model.guestDevice) wp.args=\(encodedArgs)",
                    "-serial", "file:\(console)", "-serial", "file:\(channel)"]
        if settings.iothread { args += ["-object", "iothread,id=io0"] }
        if settings.injectWriteErrors {
            // blkdebug between the format and the file: every write fails with EIO (errno 5).
            let config = "\(dir)/blkdebug.conf"
            try "[inject-error]\nevent = \"write_aio\"\nerrno = \"5\"\n".write(toFile: config, atomically: true, encoding: .utf8)
            args += ["-drive", "if=none,id=d0,format=\(settings.format),cache=\(settings.cache),file.driver=blkdebug,file.config=\(Self.optionValue(config)),file.image.driver=file,file.image.filename=\(Self.optionValue(disk)),file.image.aio=\(settings.aio)\(settings.throttlingOptions)"]
        } else {
            args += ["-drive", "file=\(Self.optionValue(disk)),format=\(settings.format),if=none,id=d0,cache=\(settings.cache),aio=\(settings.aio)\(settings.throttlingOptions)"]
        }
        args += model.deviceArguments(iothread: settings.iothread)
        // With flushes, the host disk under the image counts the flushes that reach it while
        // the guest runs: the evidence of whether the guest's flushes are durable.
        let flushes = workload.flushEvery != nil
        let hostDisk = flushes ? BlockDevice.wholeDisk(holding: disk)?.name : nil
        let hostFlushesBefore = hostDisk.flatMap(DiskStats.flushes(disk:))
        let traceFile = "\(context.logDirectory)/qemu-block-trace.log"
        let traced = flushes && settings.aio == "io_uring" && !settings.injectWriteErrors
        if traced {
            // With aio=io_uring, QEMU traces every request its file driver submits to the host
            // (luring_co_submit): the flushes among them (type 8, QEMU_AIO_FLUSH) are exactly the
            // guest's flushes that reach the host's image file.
            let events = "\(dir)/trace-events"
            try "luring_co_submit\n".write(toFile: events, atomically: true, encoding: .utf8)
            args += ["-trace", "events=\(Self.optionValue(events)),file=\(Self.optionValue(traceFile))"]
        }
        try? "\(Self.qemu) \(args.joined(separator: " "))\n".write(toFile: "\(context.logDirectory)/command.txt", atomically: true, encoding: .utf8)

        let bootDeadline = settings.bootTimeout ?? (accel.name == "kvm" ? Self.bootDeadlineTCG / 3 : Self.bootDeadlineTCG)
        let total = bootDeadline + workload.runtime + workload.ramp_time + context.graceSeconds
        var bootSeconds: Double?
        var guestUptime: String?
        var failure: String?
        let r = try Command.run(Self.qemu, args, timeout: total, onPoll: { elapsed in
            if bootSeconds == nil, let text = try? String(contentsOfFile: channel, encoding: .utf8) {
                if let line = text.split(separator: "\n").first(where: { $0.hasPrefix("WRITEPATH-BOOTED") }) {
                    bootSeconds = elapsed
                    guestUptime = line.split(separator: " ").dropFirst().first.map(String.init)
                } else if let line = text.split(separator: "\n").first(where: { $0.hasPrefix("WRITEPATH-ERROR") }) {
                    failure = String(line.dropFirst("WRITEPATH-ERROR ".count))
                }
            }
            if bootSeconds == nil && elapsed > bootDeadline {
                failure = failure ?? "the guest did not reach the workload within \(Int(bootDeadline)) s"
                return false
            }
            return true
        })
        let consoleTail = ((try? String(contentsOfFile: console, encoding: .utf8)) ?? "")
            .split(separator: "\n").suffix(4).joined(separator: " | ")
        if let failure {
            throw WritePathError.system(call: "qemu guest", path: layerName, errno: ETIMEDOUT, hint: "\(failure); last console lines: \(consoleTail)")
        }
        let hostFlushesAfter = hostDisk.flatMap(DiskStats.flushes(disk:))
        if r.timedOut {
            throw WritePathError.system(call: "qemu guest", path: layerName, errno: ETIMEDOUT,
                                        hint: stopRequested.load(ordering: .relaxed) ? "interrupted"
                                            : "killed at its deadline of \(Int(total)) s; last console lines: \(consoleTail)")
        }
        let channelText = (try? String(contentsOfFile: channel, encoding: .utf8)) ?? ""
        let document = try GuestEnvelope.decode(channelText, qemuStatus: r.status, qemuStderr: r.stderrTail(), consoleTail: consoleTail)
        guard var run = document.runs.first else {
            throw WritePathError.system(call: "qemu guest", path: layerName, errno: EIO, hint: "the guest's result holds no run")
        }
        var s = settings.settings
        s["device"] = model.rawValue
        s["machine"] = model.machine
        s["accel"] = accel.name
        s["accel_reason"] = accel.reason
        s["qemu_version"] = Self.version() ?? "unknown"
        s["guest_kernel"] = image.kernelVersion
        s["guest_image"] = image.hash
        s["initramfs_bytes"] = "\(image.initramfsBytes)"
        s["disk_size_bytes"] = "\(roundedSize)"
        s["host_disk"] = disk
        s["write_path"] = model.pathDescription
        if let bootSeconds { s["boot_s"] = formatDecimal(bootSeconds, places: 3) }
        if let guestUptime { s["guest_uptime_at_workload_s"] = guestUptime }
        run.layer = LayerInfo(name: layerName, settings: s)
        run.rep = rep
        run.workload = workload
        if accel.name == "tcg" {
            run.warnings.append("measured on an emulated CPU (TCG): CPU emulation dominates, so device models differ less than under KVM")
        }
        if settings.cache == "unsafe" {
            run.warnings.append("cache=unsafe: QEMU drops the guest's flushes; nothing here is durable")
        }
        if flushes, var d = run.durability {
            // The guest's own view (its virtual disk) is not evidence for the host: judge by the
            // flushes that reached the image file.
            d.host_device = hostDisk
            if let before = hostFlushesBefore, let after = hostFlushesAfter { d.host_device_flushes = after &- before }
            if traced, let trace = try? String(contentsOfFile: traceFile, encoding: .utf8) {
                let n = UInt64(trace.split(separator: "\n").filter { $0.hasPrefix("luring_co_submit") && $0.hasSuffix(" type 8") }.count)
                d.host_file_flushes = n
                (d.verdict, d.evidence) = Durability.judge(issued: d.flushes_issued, arrived: n, at: "the host's image file (QEMU's io_uring trace)")
                if d.verdict == "not durable" && settings.cache == "unsafe" { d.evidence += " by cache=unsafe" }
            } else if let before = hostFlushesBefore, let after = hostFlushesAfter, let hostDisk {
                let n = after &- before
                d.host_device_flushes = n
                (d.verdict, d.evidence) = Durability.judge(issued: d.flushes_issued, arrived: n, at: "the host disk \(hostDisk) under the image (host diskstats)")
                if d.verdict == "not durable" && settings.cache == "unsafe" { d.evidence += " by cache=unsafe" }
            } else {
                (d.verdict, d.evidence) = ("unknown", "no block device statistics for the host disk under the image file")
            }
            run.durability = d
            s["durability"] = d.verdict
            run.layer.settings["durability"] = d.verdict
        }
        return run
    }
}

/// The guest's result envelope on the second serial port:
/// `WRITEPATH-RESULT-BEGIN rc=N len=BYTES sha256=HEX`, base64 of the gzip of the JSON result,
/// `WRITEPATH-RESULT-END`. A truncated or garbled envelope is an error, never a number.
enum GuestEnvelope {
    static func decode(_ text: String, qemuStatus: Int32, qemuStderr: String, consoleTail: String) throws -> ResultDocument {
        let lines = text.replacingOccurrences(of: "\r", with: "").split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let stderrLine = lines.first { $0.hasPrefix("WRITEPATH-STDERR ") }
        let guestStderr = stderrLine.flatMap { Data(base64Encoded: String($0.dropFirst("WRITEPATH-STDERR ".count))) }
            .map { String(decoding: $0, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines) } ?? ""
        guard let begin = lines.firstIndex(where: { $0.hasPrefix("WRITEPATH-RESULT-BEGIN") }) else {
            throw WritePathError.system(call: "qemu guest", path: "result channel", errno: EIO,
                                        hint: "no result from the guest (qemu exit \(qemuStatus) \(qemuStderr)); last console lines: \(consoleTail)")
        }
        guard let end = lines[begin...].firstIndex(where: { $0 == "WRITEPATH-RESULT-END" }) else {
            throw WritePathError.system(call: "qemu guest", path: "result channel", errno: EIO, hint: "the result envelope is truncated (no END line)")
        }
        var fields: [String: String] = [:]
        for part in lines[begin].split(separator: " ").dropFirst() {
            let kv = part.split(separator: "=", maxSplits: 1)
            if kv.count == 2 { fields[String(kv[0])] = String(kv[1]) }
        }
        guard let length = fields["len"].flatMap(Int.init), let sum = fields["sha256"] else {
            throw WritePathError.system(call: "qemu guest", path: "result channel", errno: EIO, hint: "the envelope header is garbled: \(lines[begin])")
        }
        let body = lines[(begin + 1)..<end].joined()
        guard let gz = Data(base64Encoded: body) else {
            throw WritePathError.system(call: "qemu guest", path: "result channel", errno: EIO, hint: "the envelope body is not base64")
        }
        let unzip = try Command.run("gzip", ["-dc"], timeout: 60, stdin: gz)
        let json = Data(unzip.stdout.utf8)
        guard unzip.succeeded, json.count == length else {
            throw WritePathError.system(call: "qemu guest", path: "result channel", errno: EIO,
                                        hint: "the result is \(json.count) bytes, the envelope says \(length): truncated or garbled")
        }
        let check = try Command.run("sha256sum", [], timeout: 30, stdin: json)
        guard check.stdout.hasPrefix(sum) else {
            throw WritePathError.system(call: "qemu guest", path: "result channel", errno: EIO, hint: "the result's checksum does not match: garbled in transit")
        }
        if length == 0 {
            throw WritePathError.system(call: "writepath in the guest", path: "result channel", errno: EIO,
                                        hint: "exit \(fields["rc"] ?? "?"): \(guestStderr.isEmpty ? "no output" : guestStderr)")
        }
        return try JSONFormat.parse(json, source: "guest result")
    }
}
