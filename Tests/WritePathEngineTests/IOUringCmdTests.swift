import Foundation
import Testing

@testable import WritePathEngine

#if canImport(Glibc)
    import Glibc
#endif

/// The field an `invalidInput` names, or nil for any other outcome.
private func invalidField(_ body: () throws -> Void) -> String? {
    do { try body() } catch let WritePathError.invalidInput(field, _) { return field } catch { return "other: \(error)" }
    return nil
}

/// An io_uring_cmd workload of 1 MiB on `filename`.
private func commandWorkload(_ filename: String?) -> Workload {
    var w = Workload()
    w.ioengine = .io_uring_cmd
    w.rw = .randwrite
    w.size = 1 << 20
    w.filename = filename
    return w
}

/// Identify Namespace data: `blocks` blocks of 2^`lbads` bytes in LBA format `format`, with
/// `metadata` bytes per block.
private func identifyData(blocks: UInt64, format: Int, lbads: UInt8, metadata: UInt16 = 0) -> [UInt8] {
    var d = [UInt8](repeating: 0, count: 4096)
    for i in 0..<8 { d[i] = UInt8(truncatingIfNeeded: blocks >> (8 * UInt64(i))) }
    d[25] = 3  // four formats (0-based)
    d[26] = UInt8(format)
    d[128] = 0; d[130] = 9  // format 0: 512 bytes
    let at = 128 + 4 * format
    d[at] = UInt8(metadata & 0xFF); d[at + 1] = UInt8(metadata >> 8); d[at + 2] = lbads
    return d
}

/// An engine whose every write the device fails: -EIO to the job, the device's status as detail.
final class DeviceFailingEngine: IOEngine {
    static let kind = EngineKind.io_uring_cmd
    var ready: [Int] = []
    var prepared: [Int] = []
    let features: [String] = []
    init(setup: EngineSetup) throws {}
    func prepare(slot: Int, operation: IOOperation, buffer: Int, offset: UInt64, length: Int) { prepared.append(slot) }
    func prepareFlush(slot: Int, datasync: Bool) { prepared.append(slot) }
    func submit(waitFor minimum: Int, timeoutNanoseconds: UInt64?) throws { ready += prepared; prepared = [] }
    func reap(_ body: (Int, Int) -> Void) -> Int {
        let r = ready
        ready = []
        for s in r { body(s, -Int(EIO)) }
        return r.count
    }
    func failureDetail(slot: Int) -> String? { "the NVMe device completed the command with \(NVMeStatus.describe(0x4006))" }
    func close() {}
}

/// The device number of /dev/null: a char device that is no NVMe device.
private func nullDevice() -> dev_t {
    var st = stat()
    return stat("/dev/null", &st) == 0 ? st.st_rdev : 0
}

@Suite("io_uring_cmd engine: options, targets, unavailability")
struct IOUringCmdTests {
    @Test("fio's options parse: cmd_type=nvme only, nonvectored 1/0/-1, fixedbufs and registerfiles shared with io_uring")
    func options() throws {
        var w = Workload()
        try w.set("ioengine", "io_uring_cmd")
        try w.set("cmd_type", "NVMe")
        #expect(w.io_uring_cmd.cmd_type == "nvme")
        #expect(invalidField { try w.set("cmd_type", "bsg") } == "cmd_type")
        try w.set("nonvectored", "-1")
        #expect(w.io_uring_cmd.nonvectored)
        try w.set("fixedbufs", "0")
        try w.set("registerfiles", "0")
        try w.set("nonvectored", "0")
        try w.validate()
        #expect(w.io_uring_cmd.nonvectored == false && w.io_uring.fixedbufs == false && w.io_uring.registerfiles == false)
        #expect(invalidField { try w.set("nonvectored", "maybe") } == "nonvectored")

        // The same workload on another process's command line and in JSON.
        var back = Workload()
        for a in w.commandLineArguments {
            let kv = a.dropFirst(2).split(separator: "=", maxSplits: 1).map(String.init)
            try back.set(kv[0], kv[1])
        }
        #expect(back == w)
        #expect(w.commandLineArguments.contains("--nonvectored=0"))
        let decoded = try JSONDecoder().decode(Workload.self, from: JSONEncoder().encode(w))
        #expect(decoded == w)
    }

    @Test("what NVMe passthrough cannot do is invalid input naming the field")
    func refusals() throws {
        var vectoredFixed = commandWorkload("/dev/ng0n1")
        vectoredFixed.io_uring_cmd.nonvectored = false
        #expect(invalidField { try vectoredFixed.validate() } == "nonvectored")
        var verify = commandWorkload("/dev/ng0n1")
        verify.verify = .crc32c
        #expect(invalidField { try verify.validate() } == "verify")
        var prefill = commandWorkload("/dev/ng0n1")
        prefill.prefill = true
        #expect(invalidField { try prefill.validate() } == "prefill")
        var sync = commandWorkload("/dev/ng0n1")
        sync.sync = true
        #expect(invalidField { try sync.validate() } == "sync")
        var endFsync = commandWorkload("/dev/ng0n1")
        endFsync.end_fsync = true
        #expect(invalidField { try endFsync.validate() } == "end_fsync")
        var sqpoll = commandWorkload("/dev/ng0n1")
        sqpoll.io_uring.sqthread_poll = true
        #expect(invalidField { try sqpoll.validate() } == "sqthread_poll")
        // Its own options with another engine, and io_uring's shared ones with libaio.
        var onIOUring = Workload()
        onIOUring.io_uring_cmd.nonvectored = false
        #expect(invalidField { try onIOUring.validate() } == "nonvectored")
        var onLibaio = Workload()
        onLibaio.ioengine = .libaio
        onLibaio.io_uring.fixedbufs = false
        do {
            try onLibaio.validate()
            Issue.record("fixedbufs=0 with libaio was accepted")
        } catch {
            #expect("\(error)" == "invalid fixedbufs: only applies to ioengine=io_uring or ioengine=io_uring_cmd")
        }
        var flushes = commandWorkload("/dev/ng0n1")
        flushes.fsync = 8
        try flushes.validate()  // NVMe Flush commands
    }

    @Test("a target that is not an NVMe generic char device is invalid input naming filename, and nothing is written")
    func targets() throws {
        let dir = scratchFolder("uring-cmd")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let file = "\(dir)/data.bin"
        try Data(repeating: 7, count: 1 << 20).write(to: URL(fileURLWithPath: file))
        for filename in [nil, file, "\(dir)/missing", dir, "/dev/null"] {
            var w = commandWorkload(filename)
            w.directory = filename == nil ? dir : nil
            var message = ""
            do {
                _ = try WorkloadRun(workload: w, safety: SafetyOptions(allowDestroy: true, overwrite: true)).execute()
            } catch let WritePathError.invalidInput(field, m) {
                #expect(field == "filename")
                message = m
            }
            #expect(message.contains("NVMe"), "\(filename ?? "no filename"): \(message)")
            #expect(!message.contains("\n"))
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: file)) == Data(repeating: 7, count: 1 << 20))
        #expect(!FileManager.default.fileExists(atPath: "\(dir)/job.0.0"))
        // A char device named like a generic NVMe one is asked whether it is one (here /dev/null's numbers).
        if geteuid() == 0 {
            let fake = "\(dir)/ng9n1"
            #expect(mknod(fake, S_IFCHR | 0o600, nullDevice()) == 0)
            let w = commandWorkload(fake)
            do {
                _ = try WorkloadRun(workload: w, safety: SafetyOptions(allowDestroy: true)).execute()
                Issue.record("\(fake) was accepted")
            } catch let WritePathError.invalidInput(field, message) {
                #expect(field == "filename")
                #expect(message.contains("not an NVMe generic char device (ioctl NVME_IOCTL_ID: ENOTTY)"), "\(message)")
            }
            // Other engines say what the device is for.
            var plain = Workload()
            plain.filename = fake
            plain.size = 1 << 20
            do {
                _ = try WorkloadRun(workload: plain, safety: SafetyOptions(allowDestroy: true)).execute()
            } catch let WritePathError.invalidInput(_, message) {
                #expect(message.contains("--ioengine=io_uring_cmd"), "\(message)")
            }
        }
    }

    @Test("the engine says it is unavailable without /dev/ng*, and finds generic char devices by name and type")
    func unavailability() throws {
        let here = NVMeCharDevices.all()
        if here.isEmpty {
            let u = try #require(NVMeCharDevices.unavailability())
            #expect(u.reason.contains("no NVMe generic char device (/dev/ng*)"))
            #expect(u.fix.contains("qemu-nvme with passthrough: true"))
        } else {
            #expect(NVMeCharDevices.unavailability() == nil)
        }
        let dir = scratchFolder("uring-cmd-dev")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Data().write(to: URL(fileURLWithPath: "\(dir)/ng0n1"))  // a file, not a device
        #expect(NVMeCharDevices.all(in: dir).isEmpty)
        #expect(NVMeCharDevices.unavailability(in: dir)?.reason.contains("\(dir)/ng*") == true)
        if geteuid() == 0 {
            #expect(mknod("\(dir)/ng1n2", S_IFCHR | 0o600, nullDevice()) == 0)
            #expect(mknod("\(dir)/ngx", S_IFCHR | 0o600, nullDevice()) == 0)
            #expect(NVMeCharDevices.all(in: dir) == ["\(dir)/ng1n2"])
            #expect(NVMeCharDevices.unavailability(in: dir) == nil)
        }
        #expect(NVMeCharDevices.isGenericName("ng0n1") && NVMeCharDevices.isGenericName("ng12n3"))
        for name in ["ng0", "nvme0n1", "ngan1", "ng0n", "ng0n1p1"] { #expect(!NVMeCharDevices.isGenericName(name), "\(name)") }
    }

    @Test("Identify Namespace data gives the namespace's size, block size and metadata as fio reads them")
    func identify() throws {
        let ns = try #require(NVMeNamespace.parse(identify: identifyData(blocks: 32768, format: 2, lbads: 12), nsid: 1))
        #expect(ns == NVMeNamespace(nsid: 1, lbaSize: 4096, lbaCount: 32768, metadataBytes: 0))
        #expect(ns.sizeBytes == 128 << 20)
        let md = try #require(NVMeNamespace.parse(identify: identifyData(blocks: 8, format: 1, lbads: 9, metadata: 8), nsid: 3))
        #expect(md.lbaSize == 512 && md.metadataBytes == 8)
        #expect(NVMeNamespace.parse(identify: identifyData(blocks: 8, format: 1, lbads: 3), nsid: 1) == nil)
        #expect(NVMeNamespace.parse(identify: [0, 1], nsid: 1) == nil)
        #expect(NVMeNamespace(nsid: 1, lbaSize: 4096, lbaCount: .max, metadataBytes: 0).sizeBytes == nil)
    }

    @Test("an NVMe status reads as its type, name and do-not-retry bit")
    func status() {
        #expect(NVMeStatus.describe(0x4006) == "NVMe status 0x4006 (generic: Internal Error, do not retry)")
        #expect(NVMeStatus.describe(0x280) == "NVMe status 0x280 (media and data integrity: Write Fault)")
        #expect(NVMeStatus.describe(0x1BF) == "NVMe status 0x1bf (command specific: status code 0xbf)")
    }

    @Test("a completion the device failed is an error with the engine's detail, never throughput")
    func failureDetail() throws {
        var w = Workload()
        w.iodepth = 4
        w.size = 1 << 20
        w.runtime = 1
        w.time_based = true
        let target = PreparedTarget(
            info: TargetInfo(
                path: "/dev/ng0n1", kind: TargetInfo.nvmeCharDeviceKind, filesystem: nil, device: nil, device_number: nil,
                logical_block_size: 512, dio_offset_align: 512, dio_mem_align: 4096,
                alignment_source: "test", size_bytes: 1 << 20, created: false, direct_io: nil),
            regionOffset: 0, regionLength: 1 << 20)
        let out = JobRunner<DeviceFailingEngine>(workload: w, job: 0, target: target, fd: -1, buffers: [], progress: JobProgress()).run()
        #expect(out.write.ios == 0 && out.write.bytes == 0)
        #expect(out.write.errors == 4)
        #expect(out.error?.description.contains("EIO") == true)
        #expect(out.error?.description.contains("NVMe status 0x4006") == true, "\(out.error?.description ?? "")")
    }
}
