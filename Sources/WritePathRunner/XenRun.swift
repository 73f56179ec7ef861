import Foundation
import WritePathEngine
import WritePathResult

#if canImport(Glibc)
    import Glibc
#endif

/// The kind of Xen guest: paravirtualized (PV) or PVH (hardware virtualization without a device
/// model), or HVM: one value per `xen-*` layer, all run by `XenLayer`.
public enum XenGuestMode: String, Sendable, CaseIterable {
    case pv
    case pvh
    /// Hardware virtualization with a device model (QEMU in dom0) and PV drivers: the test disk is
    /// still blkfront, reached through the Xen platform PCI device.
    case hvm

    /// The outer QEMU's CPU for the nested rig: Debian's Xen is built without shadow paging, so a
    /// PVH guest needs nested paging (HAP: `+npt`); `-cpu max` crashes dom0.
    var nestedCPU: String { self == .pv ? "qemu64,+svm" : "qemu64,+svm,+npt" }

    /// The layer's name.
    public var layerName: String { "xen-\(rawValue)" }

    /// One line on what the layer measures.
    var summary: String {
        let disk = "test disk on xen-blkfront/blkback (a Xen host, else nested under QEMU TCG)"
        switch self {
        case .pv: return "Xen PV domU, \(disk)"
        case .pvh: return "Xen PVH domU (needs HAP), \(disk)"
        case .hvm: return "Xen HVM domU (device model in dom0, needs HAP), \(disk)"
        }
    }

    /// The registry's entry.
    var kind: LayerKind {
        let mode = self
        return LayerKind(name: layerName, summary: summary, parameterNames: XenSettings.parameterNames) {
            XenLayer(mode: mode, settings: try XenSettings(layer: mode.layerName, mode: mode, parameters: $0))
        }
    }

    var pathDescription: String {
        let front = self == .hvm ? "domU kernel -> xen-blkfront (PV driver in an HVM guest)" : "domU kernel -> xen-blkfront"
        return front + " -> grant-table ring (event channel) -> xen-blkback in dom0 -> dom0's block device"
    }
}

/// The settings both Xen layers take, parsed and checked against each other.
public struct XenSettings: Sendable, Equatable {
    public static let parameterNames = [
        "xen", "backend", "vcpus", "memory", "dom0_memory", "max_queues", "max_indirect_segments",
        "max_ring_page_order", "persistent_grants", "disk_size", "boot_timeout",
    ]
    /// `auto` (a Xen host where `xl info` works, else the nested rig), `host` or `nested`.
    public var xen = "auto"
    /// `phy` (the domU's disk is dom0's block device) or `loop` (a loop device in dom0 over a file on ext2).
    public var backend = "phy"
    /// The domU's vCPUs.
    public var vcpus = 1
    /// The domU's memory in bytes; not given: 256 MiB, or `fioMemory` for `engine: fio`.
    public var memory: UInt64 = 256 << 20
    /// Whether `memory` was given.
    var memoryGiven = false
    /// The domU's memory for `engine: fio` unless given: its initramfs carries fio and its
    /// libraries (about 80 MB), unpacked in the domU's memory.
    static let fioMemory: UInt64 = 768 << 20
    /// dom0's memory in bytes (nested rig only: `dom0_mem=` on Xen's command line).
    public var dom0Memory: UInt64 = 1024 << 20
    /// `xen_blkfront.max_queues`; nil: the kernel's default (the domU's vCPUs).
    public var maxQueues: Int?
    /// `xen_blkfront.max_indirect_segments`; nil: the kernel's default (32). Up to 11 turns indirect descriptors off.
    public var maxIndirectSegments: Int?
    /// `xen_blkfront.max_ring_page_order` (and blkback's, in the nested rig); nil: the kernel's defaults (frontend 0).
    public var maxRingPageOrder: Int?
    /// `feature_persistent` of blkfront (and blkback, in the nested rig); nil: the kernel's default (on).
    public var persistentGrants: Bool?
    /// Disk size in bytes; nil: the workload's region plus 16 MiB (plus 64 MiB for `loop`).
    public var diskSize: UInt64?
    /// Seconds from the start until the domU reaches the workload; nil: 300 nested (900 for HVM), 60 on a Xen host.
    public var bootTimeout: Double?

    public init(layer: String, mode: XenGuestMode, parameters: [String: String]) throws {
        let p = LayerParameters(layer: layer, values: parameters)
        xen = try p.choice("xen", ["auto", "host", "nested"]) ?? xen
        if parameters["backend"] == "qdisk" {
            throw WritePathError.invalidInput(
                field: "\(layer).backend",
                message: "qdisk needs a Xen-enabled QEMU in dom0 (qemu-system-xen), which this rig does not have; use phy or loop")
        }
        backend = try p.choice("backend", ["phy", "loop"]) ?? backend
        vcpus = try p.integer("vcpus", range: 1...8) ?? vcpus
        if let given = try p.bytes("memory") { memory = given; memoryGiven = true }
        dom0Memory = try p.bytes("dom0_memory") ?? dom0Memory
        maxQueues = try p.integer("max_queues", range: 1...64)
        maxIndirectSegments = try p.integer("max_indirect_segments", range: 0...256)
        maxRingPageOrder = try p.integer("max_ring_page_order", range: 0...4)
        persistentGrants = try p.boolean("persistent_grants")
        diskSize = try p.bytes("disk_size")
        bootTimeout = try p.number("boot_timeout", range: 0.1...3600)
        if memory < 256 << 20 || memory > 8 << 30 {
            throw WritePathError.invalidInput(
                field: "\(layer).memory", message: "from 256m to 8g: the domU holds the engine in its initramfs")
        }
        if dom0Memory < 512 << 20 || dom0Memory > 8 << 30 {
            throw WritePathError.invalidInput(
                field: "\(layer).dom0_memory", message: "from 512m to 8g: dom0 holds the toolstack and the domU's image in memory")
        }
        if let q = maxQueues, q > vcpus {
            throw WritePathError.invalidInput(
                field: "\(layer).max_queues",
                message: "\(q) queues for \(vcpus) vCPUs: blkfront uses at most one queue per vCPU; raise vcpus")
        }
    }

    /// The domU kernel's module parameters for blkfront.
    var frontendParameters: [String] {
        var a: [String] = []
        if let maxQueues { a.append("xen_blkfront.max_queues=\(maxQueues)") }
        if let maxIndirectSegments { a.append("xen_blkfront.max_indirect_segments=\(maxIndirectSegments)") }
        if let maxRingPageOrder { a.append("xen_blkfront.max_ring_page_order=\(maxRingPageOrder)") }
        if let persistentGrants { a.append("xen_blkfront.feature_persistent=\(persistentGrants ? 1 : 0)") }
        return a
    }

    /// dom0's kernel module parameters for blkback (nested rig only).
    var backendParameters: [String] {
        var a: [String] = []
        if let maxRingPageOrder { a.append("xen_blkback.max_ring_page_order=\(maxRingPageOrder)") }
        if let persistentGrants { a.append("xen_blkback.feature_persistent=\(persistentGrants ? 1 : 0)") }
        return a
    }

    var settings: [String: String] {
        [
            "backend": backend, "vcpus": "\(vcpus)", "memory_bytes": "\(memory)", "dom0_memory_bytes": "\(dom0Memory)",
            "max_queues": maxQueues.map(String.init) ?? "default",
            "max_indirect_segments": maxIndirectSegments.map(String.init) ?? "default",
            "max_ring_page_order": maxRingPageOrder.map(String.init) ?? "default",
            "persistent_grants": persistentGrants.map { $0 ? "on" : "off" } ?? "default",
        ]
    }
}

/// A `xen-*` layer: the engine in a Xen domU of `mode` whose test disk is xen-blkfront on a
/// blkback backend in dom0; on a Xen host, or nested under QEMU TCG where there is none.
public struct XenLayer: Layer {
    let mode: XenGuestMode
    let settings: XenSettings

    public var name: String { mode.layerName }

    public func availability() -> Availability {
        let a = XenRun.availability(settings.xen)
        if mode == .hvm, case let .available(detail) = a, detail.hasPrefix("nested") {
            return .available(
                detail: detail + "; the HVM domU's firmware runs in a device model inside the emulated dom0: it boots in 1.5 to 8 minutes")
        }
        return a
    }

    public func describe() -> [String: String] { XenRun(layerName: name, mode: mode, settings: settings).describe() }

    /// The domU's kernel and blkfront, then Xen.
    public func writePath(_ settings: [String: String]) -> LayerWritePath {
        .boxed(
            "guest", [.init("guest kernel", "VFS · fs · block"), .init("virtual device", settings["device"] ?? "xen-blkfront")],
            then: [.init("hypervisor", "Xen")])
    }

    public func run(_ workload: Workload, rep: Int, context: LayerContext) throws -> RunResult {
        var s = settings
        if workload.engine == .fio && !s.memoryGiven { s.memory = max(s.memory, XenSettings.fioMemory) }
        return try XenRun(layerName: name, mode: mode, settings: s).run(workload, rep: rep, context: context)
    }

    /// fio goes into the domU's image as the engine does.
    public var runsFio: Bool { true }
}

/// The box of the Xen layers: one Xen domU that runs one workload, on a Xen host (dom0 with `xl`) or in the nested rig
/// (QEMU TCG -> Xen -> minimal dom0 -> domU): the part both Xen layers share.
struct XenRun {
    static let warningNested = "nested Xen under an emulated CPU (QEMU TCG): absolute numbers say little; compare within this rig only"
    /// Seconds the nested rig may take from QEMU's start to the domU's workload.
    static let bootDeadlineNested = 300.0
    /// The same for an HVM domU, whose firmware and kernel loading run in an emulated device model
    /// inside the emulated dom0: from 90 s to more than 8 minutes here, varying from boot to boot.
    static let bootDeadlineNestedHVM = 900.0
    /// Seconds a domU may take on a Xen host.
    static let bootDeadlineHost = 60.0

    var layerName: String
    var mode: XenGuestMode
    var settings: XenSettings

    var layer: XenLayer { XenLayer(mode: mode, settings: settings) }

    /// Where the domU will run: `host` or `nested`, or why neither can.
    enum Way: Equatable {
        case host(xenVersion: String)
        case nested(detail: String)
        case none(reason: String, fix: String)
    }

    /// The Xen version `xl info` reports when this machine is a Xen dom0 with a working toolstack, else nil.
    static func hostXenVersion() -> String? {
        guard Command.which("xl") != nil, let r = try? Command.run("xl", ["info"], timeout: 20), r.succeeded else { return nil }
        var major = "", minor = "", extra = ""
        for line in r.stdout.split(separator: "\n") {
            let kv = line.split(separator: ":", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard kv.count == 2 else { continue }
            switch kv[0] {
            case "xen_version": return kv[1]
            case "xen_major": major = kv[1]
            case "xen_minor": minor = kv[1]
            case "xen_extra": extra = kv[1]
            default: break
            }
        }
        return major.isEmpty ? "unknown" : "\(major).\(minor)\(extra)"
    }

    static func way(_ asked: String) -> Way {
        if asked != "nested", let v = hostXenVersion() { return .host(xenVersion: v) }
        if asked == "host" {
            return .none(
                reason: "this machine is not a Xen dom0 with a working toolstack (`xl info` fails)",
                fix: "run on a Xen host's dom0 with xl, or use xen=auto/nested for the nested rig under QEMU")
        }
        if case let .unavailable(reason, fix) = QemuRun.availability() {
            return .none(reason: "no Xen host (`xl info` fails) and the nested rig needs QEMU: \(reason)", fix: fix)
        }
        guard Command.which("dpkg-deb") != nil else {
            return .none(reason: "dpkg-deb is missing (it unpacks Debian's Xen packages)", fix: "apt-get install dpkg")
        }
        if let tree = XenPackages.cached() {
            if case let .unavailable(reason, fix)? = LibraryCheck.unavailability(
                XenPackages.missingLibraries(in: tree), what: "the Xen rig's binaries in \(tree.root)",
                fix: "scripts/fetch-xen.sh (fetches the packages' dependency closure), or apt-get install the package named")
            {
                return .none(reason: reason, fix: fix)
            }
            return .nested(detail: "Xen \(tree.version) from Debian's packages, unpacked in \(XenPackages.cacheRoot)")
        }
        guard Command.which("apt-get") != nil, let v = XenPackages.candidateVersion() else {
            return .none(
                reason: "no Xen host, and Debian's \(XenPackages.hypervisorPackage) is neither cached nor known to apt",
                fix: "apt-get update, then scripts/fetch-xen.sh (downloads and unpacks Xen 4.17 without installing it)")
        }
        return .nested(detail: "Xen \(v) from Debian's packages, downloaded and unpacked (not installed) at the first run")
    }

    static func availability(_ asked: String) -> Availability {
        switch way(asked) {
        case let .host(v):
            if let (reason, fix) = missingGuestImageInputs() { return .unavailable(reason: reason, fix: fix) }
            return .available(detail: "Xen host: Xen \(v), the domU is created with xl in this dom0")
        case let .nested(detail):
            return .available(detail: "nested under QEMU TCG: \(detail); QEMU \(QemuRun.version() ?? "?")")
        case let .none(reason, fix):
            return .unavailable(reason: reason, fix: fix)
        }
    }

    /// What the domU's image (`GuestImage`) cannot be built without, on a Xen host; nil when nothing is missing.
    static func missingGuestImageInputs() -> (reason: String, fix: String)? {
        do {
            _ = try GuestImage.findKernel()
            _ = try GuestImage.findBusybox()
        } catch let WritePathError.system(_, _, _, hint) {
            return ("no domU image inputs", hint)
        } catch {
            return ("\(error)", "scripts/install-deps.sh guests")
        }
        for tool in ["zstd", "cpio", "losetup", "fallocate", "xenstore-read"] where Command.which(tool) == nil {
            return (
                "\(tool) is missing (the domU's image, disk or console needs it)", "apt-get install zstd cpio util-linux xen-utils-common"
            )
        }
        return nil
    }

    /// The xl configuration of the domU on a Xen host; `disk` is xl's disk specification.
    func hostConfiguration(name: String, image: GuestImage, disk: String, argsBase64: String) -> String {
        """
        name = "\(name)"
        type = "\(mode.rawValue)"
        kernel = "\(image.kernel)"
        ramdisk = "\(image.initramfs)"
        extra = "\(domUCommandLine(argsBase64: argsBase64))"
        memory = \(settings.memory >> 20)
        vcpus = \(settings.vcpus)
        disk = [ "\(disk)" ]
        on_poweroff = "destroy"
        on_reboot = "destroy"
        on_crash = "destroy"
        \(mode == .hvm ? "vnc = 0\nvga = \"none\"\nserial = \"none\"\n" : "")
        """
    }

    /// The domU kernel's command line (without the workload).
    func domUCommandLine(argsBase64: String) -> String {
        (["console=hvc0", "quiet", "loglevel=1", "panic=-1", "wp.disk=/dev/xvda", "wp.channel=/dev/hvc0", "wp.args=\(argsBase64)"]
            + settings.frontendParameters).joined(separator: " ")
    }

    /// The settings, and whether the run will be nested (so that a failed run says so too).
    func describe() -> [String: String] {
        var s = settings.settings
        s["mode"] = mode.rawValue
        s["xen"] = settings.xen
        s["write_path"] = mode.pathDescription
        let nested = settings.xen == "nested" || (settings.xen == "auto" && Self.hostXenVersion() == nil)
        s["nested"] = nested ? "true" : "false"
        if nested {
            s["accel"] = "tcg"
            s["outer_cpu"] = mode.nestedCPU
        }
        return s
    }

    func run(_ workload: Workload, rep: Int, context: LayerContext) throws -> RunResult {
        switch Self.way(settings.xen) {
        case let .host(version): return try runOnHost(workload, rep: rep, context: context, xenVersion: version)
        case .nested: return try runNested(workload, rep: rep, context: context)
        case let .none(reason, fix):
            throw WritePathError.system(call: "xen", path: layerName, errno: ENOENT, hint: "\(reason); \(fix)")
        }
    }

    /// The engine's command line for the domU's init (`wp.args=`).
    static func encodedArguments(_ workload: Workload) -> String {
        GuestProtocol.encodedArguments(EngineInBox.guestCommand(workload))
    }

    /// Bytes of the region the workload writes, rounded up to MiB: the loop file's size.
    func regionBytes(_ workload: Workload) -> UInt64 {
        let region = (workload.size ?? (64 << 20)) + workload.offset
        return (region + (1 << 20) - 1) / (1 << 20) * (1 << 20)
    }

    /// Bytes of the host's disk image: the region and 16 MiB; for `loop`, room for ext2's own
    /// tables (a sixteenth) besides the loop file.
    func diskBytes(_ workload: Workload) -> UInt64 {
        let region = regionBytes(workload)
        let least = settings.backend == "loop" ? region + region / 16 + (32 << 20) : region
        let size = max(settings.diskSize ?? (least + (16 << 20)), least)
        return (size + (1 << 20) - 1) / (1 << 20) * (1 << 20)
    }

    /// The channel's lines so far (the host's COM2 file, or the domU console on a Xen host).
    typealias Progress = GuestProtocol.Progress

    // MARK: - Nested rig

    func runNested(_ workload: Workload, rep: Int, context: LayerContext) throws -> RunResult {
        let fm = FileManager.default
        let rig = try XenRig.prepare(engineBinary: context.engineBinary, deviceModel: mode == .hvm, withFio: workload.engine == .fio)
        let dir = "\(context.scratchDirectory)/xen-\(context.runID)"
        try fm.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try fm.createDirectory(atPath: context.logDirectory, withIntermediateDirectories: true)
        defer { if !context.keep { try? fm.removeItem(atPath: dir) } }

        let size = diskBytes(workload)
        let disk = "\(dir)/disk.raw"
        let created = try Command.run(
            "qemu-img", ["create", "-q", "-f", "raw", "-o", "preallocation=falloc", disk, "\(size)"], timeout: 600)
        guard created.succeeded else {
            throw WritePathError.system(call: "qemu-img create", path: disk, errno: EIO, hint: created.stderrTail())
        }
        let domU = domUCommandLine(argsBase64: Self.encodedArguments(workload))
        let dom0Args =
            ([
                "console=hvc0", "loglevel=4", "wp.disk=/dev/vda", "wp.mode=\(mode.rawValue)", "wp.backend=\(settings.backend)",
                "wp.loop_mb=\(regionBytes(workload) >> 20)",
                "wp.mem=\(settings.memory >> 20)", "wp.vcpus=\(settings.vcpus)",
                "wp.domu=\(Data(domU.utf8).base64EncodedString())",
            ] + settings.backendParameters).joined(separator: " ")
        let dom0MiB = settings.dom0Memory >> 20
        let console = "\(context.logDirectory)/console.log"
        let channel = "\(context.logDirectory)/xen-channel.txt"
        // QEMU splits -initrd at commas: a comma inside the dom0 command line is written twice.
        let modules = "\(QemuRun.optionValue(rig.kernel)) \(QemuRun.optionValue(dom0Args)),\(QemuRun.optionValue(rig.dom0Initramfs))"
        // Room for Xen itself and free memory as in the probe (2 GiB in all by default).
        let outerMiB = dom0MiB + (settings.memory >> 20) + 768
        let args = [
            "-accel", "tcg,thread=multi", "-machine", "q35", "-cpu", mode.nestedCPU, "-smp", "2", "-m", "\(outerMiB)M",
            "-nodefaults", "-display", "none", "-no-reboot",
            "-kernel", rig.hypervisor,
            // Not bootscrub=false: Xen scrubbing free memory while idle keeps the emulated CPUs from
            // halting, and wake-ups from a halt are slow under TCG (an HVM domU took 4 times as long).
            "-append", "console=com1 com1=115200,8n1 dom0_mem=\(dom0MiB)M,max:\(dom0MiB)M noreboot",
            "-initrd", modules,
            "-serial", "file:\(console)", "-serial", "file:\(channel)",
            "-drive", "file=\(QemuRun.optionValue(disk)),format=raw,if=none,id=d0,cache=none,aio=threads",
            "-device", "virtio-blk-pci,drive=d0",
        ]
        try? "\(QemuRun.qemu) \(args.map { $0.contains(" ") ? "'\($0)'" : $0 }.joined(separator: " "))\n"
            .write(toFile: "\(context.logDirectory)/command.txt", atomically: true, encoding: .utf8)

        let bootDeadline = settings.bootTimeout ?? (mode == .hvm ? Self.bootDeadlineNestedHVM : Self.bootDeadlineNested)
        let total = EngineInBox.deadline(workload, context, startup: bootDeadline)
        var progress = Progress()
        var lastRead = -1.0
        var stopReason: String?
        var settledAt: Double?
        let r = try Command.run(
            QemuRun.qemu, args, timeout: total,
            onPoll: { elapsed in
                if elapsed - lastRead >= 0.25 {
                    lastRead = elapsed
                    if let text = try? String(contentsOfFile: channel, encoding: .utf8) { progress.update(from: text, at: elapsed) }
                }
                // dom0 has said all it will (the envelope, an error, done): it powers off by itself;
                // QEMU is stopped if it is still there 30 s later.
                if settledAt == nil, progress.error != nil || progress.done != nil || progress.resultEnd != nil { settledAt = elapsed }
                if let settledAt { return elapsed < settledAt + 30 }
                if progress.booted == nil && elapsed > bootDeadline {
                    stopReason = "the domU did not reach the workload within \(Int(bootDeadline)) s"
                    return false
                }
                return true
            })
        if let text = try? String(contentsOfFile: channel, encoding: .utf8) { progress.update(from: text, at: lastRead) }
        let tail = GuestProtocol.consoleTail(console)
        try GuestProtocol.checkBoot(progress, stopped: stopReason, call: "nested xen", layer: layerName, consoleTail: tail)
        let timedOut = r.timedOut && progress.resultEnd == nil
        var outcome = EngineInBox.Outcome(
            call: "nested xen", name: layerName, settings: [:], output: Data(), status: r.status,
            stderr: r.stderr, timedOut: timedOut, deadline: total, note: "; last console lines: \(tail)")
        if !timedOut {
            let channelText = (try? String(contentsOfFile: channel, encoding: .utf8)) ?? ""
            let guest = try GuestEnvelope.open(channelText, host: "qemu exit \(r.status) \(r.stderrTail())", consoleTail: tail)
            (outcome.output, outcome.status, outcome.stderr, outcome.note) = (guest.output, guest.status, guest.stderr, "")
        }
        var s = describe()
        s["xen"] = "nested"
        s["nested"] = "true"
        s["accel"] = "tcg"
        s["outer_cpu"] = mode.nestedCPU
        s["outer_qemu_version"] = QemuRun.version() ?? "unknown"
        s["outer_disk"] = "virtio-blk, raw, cache=none, aio=threads"
        s["xen_version"] = progress.xenVersion ?? String(rig.packageVersion.prefix { $0 != "+" && $0 != "-" })
        s["xen_package"] = rig.packageVersion
        s["dom0_kernel"] = rig.kernelVersion
        s["domu_kernel"] = rig.guest.kernelVersion
        s["rig_image"] = rig.hash
        s["guest_image"] = rig.guest.hash
        s["disk_size_bytes"] = "\(size)"
        s["host_disk"] = disk
        s["write_path"] =
            mode.pathDescription + (settings.backend == "loop" ? " (loop over a file on ext2)" : "")
            + " -> virtio-blk (dom0) -> QEMU -> host kernel -> device"
        if let v = progress.booted { s["boot_s"] = formatDecimal(v, places: 3) }
        if let v = progress.dom0Up { s["dom0_up_s"] = formatDecimal(v, places: 3) }
        if let v = progress.domUCreated { s["domu_created_s"] = formatDecimal(v, places: 3) }
        if let v = progress.guestUptime { s["guest_uptime_at_workload_s"] = v }
        for (k, v) in progress.xenstore { s["xenstore_\(k)"] = v }
        // blkfront writes these keys only when it uses more than one queue or ring page.
        if s["xenstore_queues"] == "-" { s["xenstore_queues"] = "1" }
        if s["xenstore_ring_page_order"] == "-" { s["xenstore_ring_page_order"] = "0" }
        outcome.settings = s
        var run = try EngineInBox.run(outcome, layer: layer, workload: workload, rep: rep)
        run.warnings.append(Self.warningNested)
        return run
    }

    // MARK: - Xen host

    /// On a Xen host's dom0: the domU is created with xl from the same guest image; its disk is a
    /// loop device (direct I/O) over a file in the scratch folder (`phy`), or the file itself,
    /// which the host's block hotplug script attaches (`loop`). The result comes over the domU's
    /// console, read from the pty xenconsoled made for it.
    func runOnHost(_ workload: Workload, rep: Int, context: LayerContext, xenVersion: String) throws -> RunResult {
        let fm = FileManager.default
        let image = try GuestImage.prepare(engineBinary: context.engineBinary, withFio: workload.engine == .fio)
        let dir = "\(context.scratchDirectory)/xen-\(context.runID)"
        try fm.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try fm.createDirectory(atPath: context.logDirectory, withIntermediateDirectories: true)
        let name = "wp-\(context.runID)"
        var loopDevice: String?
        var reader: Process?
        defer {
            if let reader, reader.isRunning { reader.terminate(); reader.waitUntilExit() }
            if !context.keep {
                if (try? Command.run("xl", ["domid", name], timeout: 20))?.succeeded == true {
                    _ = try? Command.run("xl", ["destroy", name], timeout: 60)
                }
                if let loopDevice { _ = try? Command.run("losetup", ["-d", loopDevice], timeout: 30) }
                try? fm.removeItem(atPath: dir)
            }
        }
        let size = diskBytes(workload)
        let file = "\(dir)/disk.raw"
        let created = try Command.run("fallocate", ["-l", "\(size)", file], timeout: 600)
        guard created.succeeded else {
            throw WritePathError.system(call: "fallocate", path: file, errno: EIO, hint: created.stderrTail())
        }
        let target: String
        if settings.backend == "phy" {
            let l = try Command.run("losetup", ["--find", "--show", "--direct-io=on", file], timeout: 30)
            guard l.succeeded, let dev = l.stdout.split(separator: "\n").first.map(String.init), dev.hasPrefix("/dev/") else {
                throw WritePathError.system(call: "losetup", path: file, errno: EIO, hint: l.stderrTail())
            }
            loopDevice = dev
            target = "phy:\(dev),xvda,w"
        } else {
            target = "format=raw,vdev=xvda,access=rw,backendtype=phy,target=\(file)"
        }
        let config = hostConfiguration(name: name, image: image, disk: target, argsBase64: Self.encodedArguments(workload))
        let configPath = "\(dir)/domu.cfg"
        try config.write(toFile: configPath, atomically: true, encoding: .utf8)
        try? config.write(toFile: "\(context.logDirectory)/domu.cfg", atomically: true, encoding: .utf8)

        let start = monotonicNanoseconds()
        let create = try Command.run("xl", ["create", "-p", configPath], timeout: 120)
        guard create.succeeded else {
            throw WritePathError.system(call: "xl create", path: configPath, errno: EIO, hint: create.stderrTail())
        }
        let domid = try Command.run("xl", ["domid", name], timeout: 20).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let ttyRead = try Command.run("xenstore-read", ["/local/domain/\(domid)/console/tty"], timeout: 20)
        let tty = ttyRead.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        guard ttyRead.succeeded, tty.hasPrefix("/dev/") else {
            throw WritePathError.system(
                call: "xenstore-read", path: "/local/domain/\(domid)/console/tty", errno: ENOENT,
                hint: "no console pty for the domU: is xenconsoled running? \(ttyRead.stderrTail())")
        }
        // The domU's console, read from its pty, is both its console log and the result channel.
        let console = "\(context.logDirectory)/console.log"
        // Argument vectors, no shell: the paths (the --results folder among them) are data.
        _ = try? Command.run("stty", ["-F", tty, "raw", "-echo"], timeout: 10)
        guard FileManager.default.createFile(atPath: console, contents: nil), let consoleFile = FileHandle(forWritingAtPath: console) else {
            throw WritePathError.system(
                call: "open", path: console, errno: errno, hint: "cannot write the console log into the results folder")
        }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/cat")
        p.arguments = [tty]
        p.standardInput = FileHandle.nullDevice
        p.standardOutput = consoleFile
        defer { try? consoleFile.close() }
        try p.run()
        reader = p
        let unpause = try Command.run("xl", ["unpause", name], timeout: 60)
        guard unpause.succeeded else {
            throw WritePathError.system(call: "xl unpause", path: name, errno: EIO, hint: unpause.stderrTail())
        }

        let bootDeadline = settings.bootTimeout ?? Self.bootDeadlineHost
        let total = EngineInBox.deadline(workload, context, startup: bootDeadline)
        var progress = Progress()
        var failure: String?
        var lastAliveCheck = 0.0
        while true {
            usleep(250_000)
            let elapsed = Double(monotonicNanoseconds() - start) / 1e9
            if let text = try? String(contentsOfFile: console, encoding: .utf8) { progress.update(from: text, at: elapsed) }
            if progress.resultEnd != nil || progress.error != nil { break }
            if stopRequested.load(ordering: .relaxed) { failure = "interrupted"; break }
            if progress.booted == nil && elapsed > bootDeadline {
                failure = "the domU did not reach the workload within \(Int(bootDeadline)) s"
                break
            }
            if elapsed > total { failure = "stopped at its deadline of \(Int(total)) s"; break }
            if elapsed - lastAliveCheck > 1 {
                lastAliveCheck = elapsed
                if (try? Command.run("xl", ["domid", name], timeout: 20))?.succeeded != true {
                    usleep(500_000)
                    if let text = try? String(contentsOfFile: console, encoding: .utf8) { progress.update(from: text, at: elapsed) }
                    if progress.resultEnd == nil { failure = "the domU ended without a result (it crashed or powered off)" }
                    break
                }
            }
        }
        let tail = GuestProtocol.consoleTail(console)
        try GuestProtocol.checkBoot(progress, stopped: failure, call: "xen domU", layer: layerName, consoleTail: tail)
        let text = (try? String(contentsOfFile: console, encoding: .utf8)) ?? ""
        let guest = try GuestEnvelope.open(text, host: "", consoleTail: tail)
        var s = describe()
        s["xen"] = "host"
        s["nested"] = "false"
        s["xen_version"] = xenVersion
        s["dom0_kernel"] =
            (try? Command.run("uname", ["-r"], timeout: 10))?.stdout.trimmingCharacters(in: .whitespacesAndNewlines) ?? "unknown"
        s["domu_kernel"] = image.kernelVersion
        s["guest_image"] = image.hash
        s["disk_size_bytes"] = "\(size)"
        s["host_disk"] = loopDevice.map { "\($0) (loop, direct I/O) over \(file)" } ?? file
        s["write_path"] =
            mode.pathDescription + (loopDevice != nil ? " (a loop device over a file)" : " (the hotplug script's loop device over a file)")
        if let v = progress.booted { s["boot_s"] = formatDecimal(v, places: 3) }
        if let v = progress.guestUptime { s["guest_uptime_at_workload_s"] = v }
        let outcome = EngineInBox.Outcome(
            call: "xen domU", name: layerName, settings: s, output: guest.output, status: guest.status,
            stderr: guest.stderr)
        return try EngineInBox.run(outcome, layer: layer, workload: workload, rep: rep)
    }
}
