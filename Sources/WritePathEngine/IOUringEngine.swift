#if canImport(Glibc)
import Glibc
#endif
import CLiburing
import CWritePathShims

/// The io_uring engine (liburing): batched submission and reaping in one system call
/// (`io_uring_submit_and_wait`), registered buffers (write_fixed) and a registered file by
/// default, a registered ring fd, and the newest task-run mode the kernel accepts
/// (SINGLE_ISSUER + DEFER_TASKRUN, else COOP_TASKRUN, else none), or SQPOLL when asked.
public final class IOUringEngine: IOEngine {
    public static let kind = EngineKind.io_uring
    var ring = io_uring()
    let fd: Int32
    let fileIndex: Int32
    let fixedFile: Bool
    let fixedBuffers: Bool
    let buffers: UnsafeMutablePointer<UnsafeMutableRawPointer>
    let cqes: UnsafeMutablePointer<UnsafeMutablePointer<io_uring_cqe>?>
    let cqeCapacity: UInt32
    public private(set) var features: [String] = []
    /// With one I/O in flight, submit and wait in two calls: the I/O (or the kernel worker it
    /// was handed to) often completes in between, and the wait then returns without sleeping.
    let submitThenWait: Bool

    public init(setup: EngineSetup) throws {
        fd = setup.fd
        var entries: UInt32 = 1
        while entries < UInt32(setup.depth) { entries <<= 1 }
        var attempts: [(UInt32, String)] = []
        if setup.sqPoll {
            attempts.append((wp_ioring_setup_sqpoll(), "setup:sqpoll"))
        }
        attempts += [
            (wp_ioring_setup_single_issuer() | wp_ioring_setup_defer_taskrun(), "setup:single_issuer,setup:defer_taskrun"),
            (wp_ioring_setup_single_issuer() | wp_ioring_setup_coop_taskrun(), "setup:single_issuer,setup:coop_taskrun"),
            (wp_ioring_setup_coop_taskrun(), "setup:coop_taskrun"),
            (0, ""),
        ]
        var lastError: Int32 = 0
        var chosen: String?
        for (flags, name) in attempts {
            var params = io_uring_params()
            params.flags = flags
            if flags & wp_ioring_setup_sqpoll() != 0 { params.sq_thread_idle = 1000 }
            let r = io_uring_queue_init_params(entries, &ring, &params)
            if r == 0 { chosen = name; break }
            lastError = -r
        }
        guard let chosen else {
            throw WritePathError.system(call: "io_uring_queue_init_params", path: setup.path, errno: lastError,
                                        hint: "io_uring may be disabled (sysctl kernel.io_uring_disabled) or limited; try --ioengine libaio")
        }
        if !chosen.isEmpty { features += chosen.split(separator: ",").map(String.init) }
        if setup.sqPoll && !chosen.contains("sqpoll") { features.append("sqpoll:unavailable") }

        buffers = .allocate(capacity: setup.buffers.count)
        for (i, b) in setup.buffers.enumerated() { buffers[i] = b }
        cqeCapacity = max(entries * 2, 16)
        cqes = .allocate(capacity: Int(cqeCapacity))

        var useFixedBuffers = false
        if setup.fixedBuffers {
            var iovecs = setup.buffers.map { iovec(iov_base: $0, iov_len: setup.bufferLength) }
            let r = io_uring_register_buffers(&ring, &iovecs, UInt32(iovecs.count))
            if r == 0 { useFixedBuffers = true; features.append("fixed_buffers") } else { features.append("fixed_buffers:unavailable(\(errnoName(-r)))") }
        }
        fixedBuffers = useFixedBuffers
        var useFixedFile = false
        if setup.registeredFile {
            var fds: [Int32] = [setup.fd]
            let r = io_uring_register_files(&ring, &fds, 1)
            if r == 0 { useFixedFile = true; features.append("registered_file") } else { features.append("registered_file:unavailable(\(errnoName(-r)))") }
        }
        fixedFile = useFixedFile
        fileIndex = useFixedFile ? 0 : setup.fd
        if io_uring_register_ring_fd(&ring) == 1 { features.append("registered_ring_fd") }
        submitThenWait = setup.depth == 1
        features.append(submitThenWait ? "submit_then_wait" : "batch_submit_and_wait")
    }

    @inline(__always)
    func nextSQE() -> UnsafeMutablePointer<io_uring_sqe> {
        if let sqe = io_uring_get_sqe(&ring) { return sqe }
        // The ring holds at least `depth` entries and the job never has more than `depth`
        // prepared, so this only happens when SQPOLL has not yet consumed earlier entries.
        while true {
            _ = io_uring_submit(&ring)
            if let sqe = io_uring_get_sqe(&ring) { return sqe }
        }
    }

    @inline(__always)
    public func prepare(slot: Int, operation: IOOperation, buffer: Int, offset: UInt64, length: Int) {
        let sqe = nextSQE()
        let base = buffers[buffer]
        switch operation {
        case .write:
            if fixedBuffers {
                io_uring_prep_write_fixed(sqe, fileIndex, base, UInt32(length), offset, Int32(buffer))
            } else {
                io_uring_prep_write(sqe, fileIndex, base, UInt32(length), offset)
            }
        case .read:
            if fixedBuffers {
                io_uring_prep_read_fixed(sqe, fileIndex, base, UInt32(length), offset, Int32(buffer))
            } else {
                io_uring_prep_read(sqe, fileIndex, base, UInt32(length), offset)
            }
        case .fsync, .fdatasync:
            io_uring_prep_fsync(sqe, fileIndex, operation == .fdatasync ? wp_ioring_fsync_datasync() : 0)
        }
        if fixedFile { sqe.pointee.flags |= UInt8(1 << IOSQE_FIXED_FILE_BIT) }
        io_uring_sqe_set_data64(sqe, UInt64(slot))
    }

    public func prepareFlush(slot: Int, datasync: Bool) {
        prepare(slot: slot, operation: datasync ? .fdatasync : .fsync, buffer: 0, offset: 0, length: 0)
    }

    @inline(__always)
    public func submit(waitFor minimum: Int, timeoutNanoseconds: UInt64?) throws {
        var r: Int32
        if let t = timeoutNanoseconds {
            var ts = __kernel_timespec(tv_sec: Int64(t / 1_000_000_000), tv_nsec: Int64(t % 1_000_000_000))
            var cqe: UnsafeMutablePointer<io_uring_cqe>?
            r = io_uring_submit_and_wait_timeout(&ring, &cqe, UInt32(minimum), &ts, nil)
            if r == -ETIME { r = 0 }
        } else if submitThenWait && minimum > 0 {
            r = io_uring_submit(&ring)
            if r >= 0 {
                var cqe: UnsafeMutablePointer<io_uring_cqe>?
                r = io_uring_wait_cqe_nr(&ring, &cqe, UInt32(minimum))
            }
        } else {
            r = io_uring_submit_and_wait(&ring, UInt32(minimum))
        }
        // EINTR: a signal (the stop request); EAGAIN/EBUSY: the completion queue must be reaped
        // first. The job loop reaps and calls again, so none of these is a failure.
        if r < 0 && r != -EINTR && r != -EAGAIN && r != -EBUSY && r != -ETIME {
            throw WritePathError.system(call: "io_uring_submit_and_wait", path: "", errno: -r, hint: hintFor(errno: -r))
        }
    }

    @inline(__always)
    public func reap(_ body: (Int, Int) -> Void) -> Int {
        let n = io_uring_peek_batch_cqe(&ring, cqes, cqeCapacity)
        if n == 0 { return 0 }
        for i in 0..<Int(n) {
            let cqe = cqes[i]!
            body(Int(truncatingIfNeeded: cqe.pointee.user_data), Int(cqe.pointee.res))
        }
        io_uring_cq_advance(&ring, n)
        return Int(n)
    }

    public func close() {
        io_uring_queue_exit(&ring)
        buffers.deallocate()
        cqes.deallocate()
    }
}
