import Foundation
import WritePathEngine
import WritePathResult

#if canImport(Glibc)
    import Glibc
#endif

/// The settings of the guest machine every QEMU layer takes, whatever its target (a disk model,
/// a shared folder): `vcpus`, `memory`, `accel` and `boot_timeout`.
enum QemuMachineSettings {
    static let parameterNames = ["vcpus", "memory", "accel", "boot_timeout"]

    /// The vCPUs, the memory in bytes (at least 256 MiB: the guest holds the engine in its
    /// initramfs; default 768 MiB), `auto` | `kvm` | `tcg`, and the boot deadline in seconds (nil:
    /// the default for the accelerator). Throws `invalidInput` naming `layer.parameter`.
    static func parse(_ p: LayerParameters) throws -> (vcpus: Int, memory: UInt64, accel: String, bootTimeout: Double?) {
        let vcpus = try p.integer("vcpus", range: 1...64) ?? 2
        let memory = try p.bytes("memory") ?? 768 << 20
        let accel = try p.choice("accel", ["auto", "kvm", "tcg"]) ?? "auto"
        let bootTimeout = try p.number("boot_timeout", range: 0.1...3600)
        if memory < 256 << 20 {
            throw WritePathError.invalidInput(
                field: "\(p.layer).memory", message: "at least 256m: the guest holds the engine in its initramfs")
        }
        return (vcpus, memory, accel, bootTimeout)
    }
}

/// One QEMU guest as every `qemu-*` layer boots it: the guest image and the accelerator, the
/// arguments for the machine, kernel, console and result channel, and the boot itself (deadline,
/// console, the result envelope, the run stamped with the layer). A layer adds its target: the
/// `-drive` and `-device` of a disk model, or a shared folder and its server.
struct QemuMachine {
    var image: GuestImage
    var accel: Accelerator

    /// The guest's console log and result channel (the second serial port), in the log folder.
    static func console(_ context: LayerContext) -> String { "\(context.logDirectory)/console.log" }
    static func channel(_ context: LayerContext) -> String { "\(context.logDirectory)/guest-channel.txt" }

    /// The QEMU arguments of every guest: accelerator, machine type, `vcpus`, `memory` (bytes),
    /// the kernel and initramfs, and on the kernel command line `guestCommand` (the engine's
    /// command line) and `target` (what the init writes: `wp.disk=/dev/vda`, or a shared folder's
    /// words), console and channel.
    func arguments(
        guestCommand: [String], context: LayerContext, machineType: String, vcpus: Int, memory: UInt64, target: String
    ) -> [String] {
        let encodedArgs = GuestProtocol.encodedArguments(guestCommand)
        return [
            "-accel", accel.name == "kvm" ? "kvm" : "tcg,thread=multi",
            "-machine", machineType, "-cpu", accel.name == "kvm" ? "host" : "max",
            "-smp", "\(vcpus)", "-m", "\(memory / (1 << 20))M",
            "-nodefaults", "-display", "none", "-no-reboot",
            "-kernel", image.kernel, "-initrd", image.initramfs,
            // no_timer_check: under TCG on a busy host the kernel's IO-APIC timer check can miss its
            // ticks and panic ("IO-APIC + timer doesn't work!"), as it did here at a load of 20.
            "-append", "console=ttyS0 panic=-1 quiet loglevel=4 no_timer_check \(target) wp.args=\(encodedArgs)",
            "-serial", "file:\(Self.console(context))", "-serial", "file:\(Self.channel(context))",
        ]
    }

    /// Boots QEMU with `args` (its command line saved as `command.txt`) and waits for the guest's
    /// result: the guest must reach the workload within `bootTimeout` seconds (nil: 90 under TCG,
    /// 30 under KVM) and end within the workload's deadline, else it is killed and this throws with
    /// its last console lines. `settings` are the layer's own; the guest's (accelerator, QEMU
    /// version, kernel, image, boot time) are added. Returns the engine's run, with the TCG warning.
    func boot(
        _ args: [String], layer: any Layer, settings: [String: String], bootTimeout: Double?, workload: Workload, rep: Int,
        context: LayerContext
    ) throws -> RunResult {
        let console = Self.console(context), channel = Self.channel(context)
        try? "\(QemuRun.qemu) \(args.joined(separator: " "))\n".write(
            toFile: "\(context.logDirectory)/command.txt", atomically: true, encoding: .utf8)
        let bootDeadline = bootTimeout ?? (accel.name == "kvm" ? QemuRun.bootDeadlineTCG / 3 : QemuRun.bootDeadlineTCG)
        let total = EngineInBox.deadline(workload, context, startup: bootDeadline)
        var progress = GuestProtocol.Progress()
        var stopped: String?
        let r = try Command.run(
            QemuRun.qemu, args, timeout: total,
            onPoll: { elapsed in
                if progress.booted == nil, progress.error == nil, let text = try? String(contentsOfFile: channel, encoding: .utf8) {
                    progress.update(from: text, at: elapsed)
                }
                if progress.booted == nil && elapsed > bootDeadline {
                    stopped = "the guest did not reach the workload within \(Int(bootDeadline)) s"
                    return false
                }
                return true
            })
        let consoleTail = GuestProtocol.consoleTail(console, lines: 4)
        try GuestProtocol.checkBoot(progress, stopped: stopped, call: "qemu guest", layer: layer.name, consoleTail: consoleTail)
        var s = settings
        s["accel"] = accel.name
        s["accel_reason"] = accel.reason
        s["qemu_version"] = QemuRun.version() ?? "unknown"
        s["guest_kernel"] = image.kernelVersion
        s["guest_image"] = image.hash
        s["initramfs_bytes"] = "\(image.initramfsBytes)"
        if let booted = progress.booted { s["boot_s"] = formatDecimal(booted, places: 3) }
        if let guestUptime = progress.guestUptime { s["guest_uptime_at_workload_s"] = guestUptime }
        var outcome = EngineInBox.Outcome(
            call: "qemu guest", name: layer.name, settings: s, output: Data(), status: r.status,
            stderr: r.stderr, timedOut: r.timedOut, deadline: total,
            note: "; last console lines: \(consoleTail)")
        if !r.timedOut {
            let channelText = (try? String(contentsOfFile: channel, encoding: .utf8)) ?? ""
            let guest = try GuestEnvelope.open(channelText, host: "qemu exit \(r.status) \(r.stderrTail())", consoleTail: consoleTail)
            (outcome.output, outcome.status, outcome.stderr, outcome.note) = (guest.output, guest.status, guest.stderr, "")
        }
        var run = try EngineInBox.run(outcome, layer: layer, workload: workload, rep: rep)
        if accel.name == "tcg" {
            run.warnings.append("measured on an emulated CPU (TCG): CPU emulation dominates, so device models differ less than under KVM")
        }
        return run
    }
}

extension QemuRun {
    /// The guest image for `workload` (with fio for `engine: fio`) and the accelerator `asked`
    /// names (`auto`: KVM when a test guest really boots under it, else TCG).
    static func machine(for workload: Workload, context: LayerContext, accel asked: String) throws -> QemuMachine {
        let image = try GuestImage.prepare(engineBinary: context.engineBinary, withFio: workload.engine == .fio)
        let accel: Accelerator
        switch asked {
        case "kvm": accel = Accelerator(name: "kvm", reason: "asked for with accel=kvm")
        case "tcg": accel = Accelerator(name: "tcg", reason: "asked for with accel=tcg")
        default: accel = Accelerator.detect(image: image)
        }
        return QemuMachine(image: image, accel: accel)
    }

    /// Makes the host file `path` of `bytes` with qemu-img (`format` raw or qcow2, `preallocation`
    /// off | metadata | falloc | full; `options`: more `-o` options, each starting with a comma).
    static func createImage(_ path: String, format: String, preallocation: String, bytes: UInt64, options: String = "") throws {
        let created = try Command.run(
            "qemu-img", ["create", "-q", "-f", format, "-o", "preallocation=\(preallocation)\(options)", path, "\(bytes)"],
            timeout: 600)
        guard created.succeeded else {
            throw WritePathError.system(call: "qemu-img create", path: path, errno: EIO, hint: created.stderrTail())
        }
    }
}

extension Durability {
    /// Judges a guest's flushes on the host (the guest's own view, its virtual device, is no
    /// evidence for the host): by `fileFlushes`, an exact count of the flushes that reached the
    /// host file and where it was counted, when there is one; else by the flushes the host disk
    /// `hostDisk` under `what` completed meanwhile (diskstats `before` and `after`).
    mutating func judgeOnHost(
        fileFlushes: (count: UInt64, place: String)?, hostDisk: String?, before: UInt64?, after: UInt64?, under what: String
    ) {
        host_device = hostDisk
        if let before, let after { host_device_flushes = after &- before }
        if let fileFlushes {
            host_file_flushes = fileFlushes.count
            (verdict, evidence) = Durability.judge(issued: flushes_issued, arrived: fileFlushes.count, at: fileFlushes.place)
        } else if let before, let after, let hostDisk {
            (verdict, evidence) = Durability.judge(
                issued: flushes_issued, arrived: after &- before, at: "the host disk \(hostDisk) under \(what) (host diskstats)")
        } else {
            (verdict, evidence) = ("unknown", "no block device statistics for the host disk under \(what)")
        }
    }
}
