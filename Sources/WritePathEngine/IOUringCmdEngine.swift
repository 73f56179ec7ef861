import CLiburing
import CWritePathShims

#if canImport(Glibc)
    import Glibc
#endif

/// io_uring_cmd's own workload options, as fio's engines/io_uring.c declares them for that
/// engine: stored in `Workload.io_uring_cmd`. It also takes io_uring's `fixedbufs` and
/// `registerfiles` (`IOUringOptions`), as fio's two engines share one option table.
public struct IOUringCmdOptions: Equatable, Sendable {
    /// The command set sent: `nvme`, the only one writepath sends (fio also has `bsg`).
    public var cmd_type = "nvme"
    /// Non-vectored commands (NVME_URING_CMD_IO: the buffer's address in the command); false:
    /// vectored (NVME_URING_CMD_IO_VEC: a one-entry iovec). fio's default, -1, turns into 1 on
    /// every kernel that has uring_cmd; so writepath's default is 1.
    public var nonvectored = true

    public init() {}

    static let options: [WorkloadOption] = [
        .stored(
            "cmd_type", \.io_uring_cmd.cmd_type, .value(placeholder: "nvme"), engine: .io_uring_cmd, example: "nvme",
            help: "The commands io_uring_cmd sends: nvme (NVMe I/O commands), the only value.",
            parse: { text, field in
                guard text!.lowercased() == "nvme" else {
                    throw WritePathError.invalidInput(
                        field: field, message: "\(quoted(text!)) is not supported; expected nvme (fio's bsg is not supported)")
                }
                return "nvme"
            }, format: { $0 }),
        .stored(
            "nonvectored", \.io_uring_cmd.nonvectored, .value(placeholder: "1|0"),
            engine: .io_uring_cmd, example: "1",
            help: "1: NVME_URING_CMD_IO (the buffer's address in the command; fio's -1 means it); 0: NVME_URING_CMD_IO_VEC (an iovec).",
            parse: { text, field in
                if text!.trimmingWhitespace() == "-1" { return true }
                return try Workload.boolean(text, field: field)
            }, format: { $0 ? "1" : "0" }),
    ]

    /// Checks the workload's options against what NVMe passthrough can do.
    func validate(_ w: Workload) throws {
        if !nonvectored && w.io_uring.fixedbufs {
            throw WritePathError.invalidInput(
                field: "nonvectored",
                message: "0 (NVME_URING_CMD_IO_VEC) cannot use registered buffers: the kernel takes IORING_URING_CMD_FIXED "
                    + "only with non-vectored commands; give fixedbufs=0 with it")
        }
        let charDevice = "an NVMe char device takes only commands"
        if w.verify != .none {
            throw WritePathError.invalidInput(
                field: "verify",
                message: "not with ioengine=io_uring_cmd: the read-back reads the target with pread, and \(charDevice); "
                    + "verify through the namespace's block device (/dev/nvmeXnY) with ioengine=io_uring")
        }
        if w.prefill {
            throw WritePathError.invalidInput(
                field: "prefill", message: "not with ioengine=io_uring_cmd: prefill writes with pwrite, and \(charDevice)")
        }
        if w.sync {
            throw WritePathError.invalidInput(
                field: "sync", message: "not with ioengine=io_uring_cmd: O_DSYNC is a file flag; flush with fsync=N (NVMe Flush commands)")
        }
        if w.end_fsync {
            throw WritePathError.invalidInput(
                field: "end_fsync",
                message: "not with ioengine=io_uring_cmd: fsync(2) on an NVMe char device fails (EINVAL); flush with fsync=N (NVMe Flush)")
        }
    }
}

/// The io_uring_cmd engine: NVMe I/O commands (Write 0x01, Read 0x02, Flush 0x00) sent with
/// IORING_OP_URING_CMD to an NVMe generic char device (`/dev/ngXnY`), as fio's engine of that
/// name with `cmd_type=nvme`. The commands skip the block layer's I/O path (no bio, no I/O
/// scheduler, no page cache): the kernel maps the buffer and puts the command on the controller's
/// queue. The ring is set up with 128-byte submission entries (IORING_SETUP_SQE128, which carry
/// the 64-byte NVMe command) and 32-byte completions (IORING_SETUP_CQE32, which carry the
/// command's result), with the task-run mode, submission and reaping of the io_uring engine.
///
/// Every completion is checked: `res` 0 is success (the engine hands the job the bytes asked);
/// a negative `res` is the kernel's errno; a positive `res` is the NVMe status the controller
/// completed the command with, which fails the I/O (EIO to the job, the status decoded in the
/// error) and never counts as throughput. The command's result dword (`big_cqe[0]`) goes into
/// that error; on a successful write it is reserved and counted when not zero.
public final class IOUringCmdEngine: IOEngine {
    public static let kind = EngineKind.io_uring_cmd
    static let writeOpcode: UInt8 = 0x01
    static let readOpcode: UInt8 = 0x02
    static let flushOpcode: UInt8 = 0x00

    var ring = io_uring()
    let namespace: NVMeNamespace
    /// log2 of the logical block size: offsets and lengths in bytes to blocks.
    let lbaShift: UInt64
    let file: Int32
    let fixedFile: Bool
    let fixedBuffers: Bool
    let buffers: UnsafeMutablePointer<UnsafeMutableRawPointer>
    /// One iovec per slot for vectored commands (nonvectored=0), else nil.
    let iovecs: UnsafeMutablePointer<iovec>?
    /// Bytes each slot's command moves: what a successful completion hands the job.
    let slotLength: UnsafeMutablePointer<Int>
    /// The NVMe status (positive `res`) of each slot's last failed completion; 0 when the kernel
    /// failed it (negative `res`).
    let slotStatus: UnsafeMutablePointer<UInt32>
    /// The result dword (`big_cqe[0]`) of each slot's last failed completion.
    let slotResult: UnsafeMutablePointer<UInt64>
    let slots: Int
    let cqes: UnsafeMutablePointer<UnsafeMutablePointer<io_uring_cqe>?>
    let cqeCapacity: UInt32
    var setupFeatures: [String] = []
    /// Successful completions whose result dword was not zero (reserved for Write and Read).
    var nonzeroResults: UInt64 = 0

    public var features: [String] {
        nonzeroResults == 0 ? setupFeatures : setupFeatures + ["nvme_result_dword_nonzero:\(nonzeroResults)"]
    }

    /// Why no ring with big entries could be made.
    static func setupHint(errno code: Int32) -> String {
        if code == EINVAL {
            return "io_uring_cmd needs 128-byte submission and 32-byte completion entries (IORING_SETUP_SQE128 and CQE32, "
                + "Linux 5.19+)"
        }
        return IOUringEngine.setupHint(errno: code)
    }

    public init(setup: EngineSetup) throws {
        namespace = try NVMeNamespace.identify(fd: setup.fd, path: setup.path)
        lbaShift = UInt64(namespace.lbaSize.trailingZeroBitCount)
        var entries: UInt32 = 1
        while entries < UInt32(setup.depth) { entries <<= 1 }
        let chosen = try IOUringEngine.queueInit(
            &ring, entries: entries,
            attempts: IOUringEngine.setupAttempts(
                base: wp_ioring_setup_sqe128() | wp_ioring_setup_cqe32(), baseFeatures: "setup:sqe128,setup:cqe32"),
            path: setup.path, hint: Self.setupHint(errno:))
        setupFeatures += chosen.split(separator: ",").map(String.init)
        setupFeatures.append("nvme:nsid=\(namespace.nsid),lba_bytes=\(namespace.lbaSize)")
        let vectored = !setup.io_uring_cmd.nonvectored
        setupFeatures.append(vectored ? "cmd_op:NVME_URING_CMD_IO_VEC" : "cmd_op:NVME_URING_CMD_IO")

        buffers = .allocate(capacity: setup.buffers.count)
        for (i, b) in setup.buffers.enumerated() { buffers[i] = b }
        slots = setup.depth
        iovecs = vectored ? .allocate(capacity: slots) : nil
        iovecs?.initialize(repeating: iovec(), count: slots)
        slotLength = .allocate(capacity: slots)
        slotLength.initialize(repeating: 0, count: slots)
        slotStatus = .allocate(capacity: slots)
        slotStatus.initialize(repeating: 0, count: slots)
        slotResult = .allocate(capacity: slots)
        slotResult.initialize(repeating: 0, count: slots)
        cqeCapacity = max(entries * 2, 16)
        cqes = .allocate(capacity: Int(cqeCapacity))

        // Registered buffers: IORING_URING_CMD_FIXED, which the kernel takes for non-vectored commands only.
        let registered = IOUringEngine.register(&ring, setup, buffers: setup.io_uring.fixedbufs && !vectored, features: &setupFeatures)
        fixedBuffers = registered.buffers
        fixedFile = registered.file
        file = fixedFile ? 0 : setup.fd
        setupFeatures.append("flush:nvme_flush_command")
    }

    @inline(__always)
    public func prepare(slot: Int, operation: IOOperation, buffer: Int, offset: UInt64, length: Int) {
        if operation.isFlush {
            prepareFlush(slot: slot, datasync: operation == .fdatasync)
            return
        }
        let sqe = IOUringEngine.nextSQE(&ring)
        wp_prep_nvme_io(
            sqe, file, fixedFile ? 1 : 0, operation == .write ? Self.writeOpcode : Self.readOpcode, namespace.nsid,
            offset >> lbaShift, UInt32(truncatingIfNeeded: UInt64(length) >> lbaShift), buffers[buffer], UInt32(length),
            iovecs.map { UnsafeMutableRawPointer($0 + slot) }, fixedBuffers ? Int32(buffer) : -1)
        slotLength[slot] = length
        io_uring_sqe_set_data64(sqe, UInt64(slot))
    }

    /// An NVMe Flush command for the namespace: the device writes its volatile cache to media
    /// (fsync and fdatasync alike; a namespace has no file metadata).
    public func prepareFlush(slot: Int, datasync: Bool) {
        let sqe = IOUringEngine.nextSQE(&ring)
        wp_prep_nvme_io(sqe, file, fixedFile ? 1 : 0, Self.flushOpcode, namespace.nsid, 0, 0, nil, 0, nil, -1)
        slotLength[slot] = 0
        io_uring_sqe_set_data64(sqe, UInt64(slot))
    }

    @inline(__always)
    public func submit(waitFor minimum: Int, timeoutNanoseconds: UInt64?) throws {
        try IOUringEngine.submit(&ring, waitFor: minimum, timeoutNanoseconds: timeoutNanoseconds)
    }

    @inline(__always)
    public func reap(_ body: (Int, Int) -> Void) -> Int {
        // liburing indexes 32-byte completions itself (CQE32); the result dword follows the
        // 16-byte io_uring_cqe (big_cqe[0]).
        let n = io_uring_peek_batch_cqe(&ring, cqes, cqeCapacity)
        if n == 0 { return 0 }
        for i in 0..<Int(n) {
            let cqe = cqes[i]!
            let slot = Int(truncatingIfNeeded: cqe.pointee.user_data)
            let res = cqe.pointee.res
            let dword = UnsafeRawPointer(cqe).load(fromByteOffset: MemoryLayout<io_uring_cqe>.size, as: UInt64.self)
            if _fastPath(res == 0) {
                if _slowPath(dword != 0) { nonzeroResults &+= 1 }
                body(slot, slotLength[slot])
            } else {
                slotStatus[slot] = res > 0 ? UInt32(res) : 0
                slotResult[slot] = dword
                body(slot, res > 0 ? -Int(EIO) : Int(res))
            }
        }
        io_uring_cq_advance(&ring, n)
        return Int(n)
    }

    public func failureDetail(slot: Int) -> String? {
        let status = slotStatus[slot]
        let dword = slotResult[slot] == 0 ? "" : ", result dword 0x\(String(slotResult[slot], radix: 16))"
        if status > 0 {
            return "the NVMe device completed the command with \(NVMeStatus.describe(status))\(dword) (io_uring_cmd)"
        }
        return "the kernel failed the NVMe command before the device completed it\(dword) (io_uring_cmd; EINVAL: bs beyond "
            + "the controller's largest transfer, or a kernel without NVMe passthrough over io_uring)"
    }

    public func close() {
        io_uring_queue_exit(&ring)
        buffers.deallocate()
        iovecs?.deallocate()
        slotLength.deallocate()
        slotStatus.deallocate()
        slotResult.deallocate()
        cqes.deallocate()
    }
}
