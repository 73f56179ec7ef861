import CLiburing
import CWritePathShims

#if canImport(Glibc)
    import Glibc
#endif

/// io_uring's own workload options, as fio's engines/io_uring.c declares its own: stored in
/// `Workload.io_uring`, declared in `options`, which `Workload.options` takes in. With another
/// `ioengine` each must keep its default.
public struct IOUringOptions: Equatable, Sendable {
    /// Registered buffers (write_fixed). On by default.
    public var fixedbufs = true
    /// Registered file. On by default.
    public var registerfiles = true
    /// A kernel thread polls the submission queue.
    public var sqthread_poll = false
    /// IOSQE_ASYNC on every Nth I/O, as fio's `force_async`: the kernel hands it straight to an
    /// io-wq worker thread instead of first trying to issue it without blocking. 0: never.
    public var force_async = 0
    /// Run the job thread and the kernel io-wq workers its I/O is handed to on one CPU
    /// (writepath's own option). `auto` (default) does so when the target's writes are handed to
    /// io-wq and iodepth is at most `IOUringEngine.colocationDepthLimit`.
    public var iowq_colocate: IOWQColocation = .auto

    public init() {}

    static let options: [WorkloadOption] = [
        .flag(
            "fixedbufs", \.io_uring.fixedbufs, engine: .io_uring,
            help: "Registered buffers (write_fixed; io_uring_cmd: IORING_URING_CMD_FIXED)."
        ).shared(with: [.io_uring_cmd]),
        .flag("registerfiles", \.io_uring.registerfiles, engine: .io_uring, help: "Registered file.").shared(with: [.io_uring_cmd]),
        .flag("sqthread_poll", \.io_uring.sqthread_poll, engine: .io_uring, help: "A kernel submission-queue polling thread."),
        .integer(
            "force_async", \.io_uring.force_async, 0...Int(Int32.max), engine: .io_uring,
            help: "IOSQE_ASYNC on every Nth I/O (hand it straight to an io-wq worker); 0: never."),
        .stored(
            "iowq_colocate", \.io_uring.iowq_colocate, .value(placeholder: "auto|1|0"), engine: .io_uring, example: "auto",
            help: "Run the job thread and its io-wq workers on one CPU; auto: when writes go to io-wq and iodepth <= "
                + "\(IOUringEngine.colocationDepthLimit).",
            parse: { text, field in
                switch text!.lowercased() {
                case "auto": return .auto
                case "1", "on", "yes", "true": return .on
                case "0", "off", "no", "false": return .off
                default:
                    throw WritePathError.invalidInput(
                        field: field, message: "\(quoted(text!.lowercased())) is not supported; expected auto, 1 or 0")
                }
            }, format: { $0.optionValue }),
    ]

    /// Checks the options against each other.
    func validate() throws {
        if iowq_colocate == .on && sqthread_poll {
            throw WritePathError.invalidInput(
                field: "iowq_colocate",
                message: "with sqthread_poll the kernel's polling thread submits, not the job thread; "
                    + "give iowq_colocate=1 or sqthread_poll=1, not both")
        }
    }
}

/// Where the job thread and the kernel's io-wq workers run: writepath's `iowq_colocate`.
public enum IOWQColocation: String, Codable, Sendable, CaseIterable {
    /// Share one CPU when the target's I/O is handed to io-wq and the queue is shallow.
    case auto
    /// Always pin the job thread and its io-wq workers to one CPU.
    case on
    /// Never: the scheduler places both (fio's behaviour).
    case off

    /// The text form `set(_:_:)` accepts back.
    var optionValue: String {
        switch self {
        case .auto: "auto"
        case .on: "1"
        case .off: "0"
        }
    }
}

/// The io_uring engine (liburing): batched submission and reaping in one system call
/// (`io_uring_submit_and_wait`), registered buffers (write_fixed) and a registered file by
/// default, a registered ring fd, and the newest task-run mode the kernel accepts
/// (SINGLE_ISSUER + DEFER_TASKRUN, else COOP_TASKRUN, else none), or SQPOLL when asked.
///
/// io-wq: a write the target cannot take without blocking (tmpfs, ext4 unwritten extents, any
/// file without FMODE_NOWAIT; every fsync) is handed to a kernel io-wq worker thread of the job.
/// The engine looks for such workers after its first `probeCompletions` completions and records
/// `iowq:punted` or `iowq:inline`. With a shallow queue the job and its worker take turns, so
/// each I/O costs two cross-CPU wake-ups; where waking an idle CPU is dear (an IPI, a VM exit in
/// a guest) that dominates. Measured on this project's 2-vCPU Firecracker guest, tmpfs, 4 KiB
/// random writes: 19k IOPS, p50 52 us at iodepth 1 with the scheduler's placement; 175k IOPS,
/// p50 5.6 us with the job and its workers on one CPU. At iodepth 32 both are busy at once and
/// one CPU halves IOPS (832k vs 419k). So `iowq_colocate=auto` pins the job thread and its io-wq
/// workers (IORING_REGISTER_IOWQ_AFF) to one CPU when writes are punted and iodepth is at most
/// `colocationDepthLimit`, and records `iowq_colocated:cpuN`.
///
/// Between that depth and `pollDepthLimit` the job thread keeps its own CPU and polls: it
/// submits, then runs the completions io-wq queued (`io_uring_get_events`) until one is there,
/// and sleeps only after `pollsBeforeWait` empty polls (`iowq_poll:N(auto)`). Sleeping lets its
/// vCPU halt, and the worker then pays a wake-up of a halted CPU for each one. Measured on the
/// same kind of VM, quiet, tmpfs 4 KiB random writes at iodepth 8: 183-259k IOPS colocated,
/// 185-257k on two CPUs sleeping, 354-386k polling (fio 342-384k); at iodepth 16 polling 505-647k
/// (fio 403-495k). Deeper queues wait for half the queue instead (one wake-up per depth/2 I/Os).
public final class IOUringEngine: IOEngine {
    public static let kind = EngineKind.io_uring
    /// Deepest queue `iowq_colocate=auto` puts on one CPU with its io-wq workers.
    public static let colocationDepthLimit = 4
    /// Completions after which the engine looks for io-wq workers.
    static let probeCompletions = 16
    var ring = io_uring()
    let fd: Int32
    let fileIndex: Int32
    let fixedBuffers: Bool
    let buffers: UnsafeMutablePointer<UnsafeMutableRawPointer>
    let cqes: UnsafeMutablePointer<UnsafeMutablePointer<io_uring_cqe>?>
    let cqeCapacity: UInt32
    /// What setup chose (flags, registrations, fallbacks).
    var setupFeatures: [String] = []
    /// What the io-wq probe found (`iowq:punted`, `iowq:inline`), once it ran.
    var probeFinding: String?
    public var features: [String] {
        var f = setupFeatures
        if let probeFinding { f.append(probeFinding) }
        if let cpu = colocatedCPU { f.append("iowq_colocated:cpu\(cpu)(\(colocation == .on ? "requested" : "auto"))") }
        if pollBeforeWait { f.append("iowq_poll:\(Self.pollsBeforeWait)(auto)") }
        return f
    }
    /// SQE flags every transfer carries (IOSQE_FIXED_FILE).
    let sqeFlags: UInt8
    /// IOSQE_ASYNC on every `forceAsyncEvery`th transfer; 0 never.
    let forceAsyncEvery: Int
    var forceAsyncCount = 0
    let colocation: IOWQColocation
    let depth: Int
    let job: Int
    let sqPoll: Bool
    /// Completions still to see before the io-wq probe; 0 once it ran.
    var probeCountdown: Int
    /// Completions to wait for once the queue is full (`IOEngine.completionBatch`): 1 until the
    /// probe ran and where writes complete inline; `puntedCompletionBatch(depth:)` when they go
    /// to io-wq.
    public private(set) var completionBatch = 1
    /// Whether `submit` polls for io-wq's completions before it sleeps: set by the probe when
    /// writes are punted, the job thread does not share its CPU with the workers, and the queue
    /// is at most `pollDepthLimit` deep (deeper queues batch their waits instead).
    var pollBeforeWait = false
    /// Deepest queue whose waits poll first.
    static let pollDepthLimit = 16
    /// `io_uring_get_events` calls before a wait sleeps after all.
    static let pollsBeforeWait = 64

    /// What a failed io_uring_setup means for the comparison: the layer blocks io_uring, so the
    /// same engine cannot take the same kernel path there.
    static func setupHint(errno code: Int32) -> String {
        switch code {
        case EPERM:
            return "io_uring is blocked here (a seccomp profile, as Docker 25+ and podman apply, or sysctl "
                + "kernel.io_uring_disabled): this layer forces another engine path; measure it with --ioengine libaio"
        case ENOSYS:
            return "this kernel or sandbox has no io_uring (gVisor has none): this layer forces another engine path; "
                + "measure it with --ioengine libaio"
        default:
            return "io_uring may be limited here (RLIMIT_MEMLOCK, kernel.io_uring_disabled); try --ioengine libaio"
        }
    }

    public init(setup: EngineSetup) throws {
        fd = setup.fd
        var entries: UInt32 = 1
        while entries < UInt32(setup.depth) { entries <<= 1 }
        var attempts: [(UInt32, String)] = []
        if setup.io_uring.sqthread_poll {
            attempts.append((wp_ioring_setup_sqpoll(), "setup:sqpoll"))
        }
        attempts += Self.setupAttempts()
        let chosen = try Self.queueInit(&ring, entries: entries, attempts: attempts, path: setup.path, hint: Self.setupHint(errno:))
        if !chosen.isEmpty { setupFeatures += chosen.split(separator: ",").map(String.init) }
        if setup.io_uring.sqthread_poll && !chosen.contains("sqpoll") { setupFeatures.append("sqpoll:unavailable") }

        buffers = .allocate(capacity: setup.buffers.count)
        for (i, b) in setup.buffers.enumerated() { buffers[i] = b }
        cqeCapacity = max(entries * 2, 16)
        cqes = .allocate(capacity: Int(cqeCapacity))

        let registered = Self.register(&ring, setup, buffers: setup.io_uring.fixedbufs, features: &setupFeatures)
        fixedBuffers = registered.buffers
        let useFixedFile = registered.file
        fileIndex = useFixedFile ? 0 : setup.fd
        sqeFlags = useFixedFile ? UInt8(1 << IOSQE_FIXED_FILE_BIT) : 0
        forceAsyncEvery = setup.io_uring.force_async
        if forceAsyncEvery > 0 { setupFeatures.append("force_async:\(forceAsyncEvery)") }
        colocation = setup.io_uring.iowq_colocate
        depth = setup.depth
        job = setup.job
        sqPoll = setup.io_uring.sqthread_poll && chosen.contains("sqpoll")
        // With SQPOLL the kernel's polling thread submits and owns the io-wq workers.
        probeCountdown = sqPoll ? 0 : Self.probeCompletions
        // IORING_REGISTER_IOWQ_AFF places workers the io-wq creates from then on, not those that
        // already run; so `auto` colocates before the first I/O and undoes it when the probe
        // finds no worker.
        if colocation == .on || (colocation == .auto && !sqPoll && depth <= Self.colocationDepthLimit) {
            colocatedCPU = colocate()
        }
    }

    /// The CPUs the job thread could use before `colocate` pinned it.
    var allowedCPUs: [Int32] = []
    /// The CPU the job thread and its io-wq workers are pinned to, if they are.
    var colocatedCPU: Int32?

    /// Pins the job thread and its io-wq workers to one CPU the thread may use: the job's
    /// index picks it, so that jobs spread over the CPUs. Returns the CPU, or nil (and records
    /// why in `features`).
    func colocate() -> Int32? {
        var allowed = [Int32](repeating: 0, count: 1024)
        let n = wp_thread_allowed_cpus(&allowed, Int32(allowed.count))
        guard n > 0 else {
            setupFeatures.append("iowq_colocate:unavailable(sched_getaffinity \(errnoName(-n)))")
            return nil
        }
        allowedCPUs = Array(allowed[0..<Int(n)])
        let cpu = allowed[job % Int(n)]
        var one = [cpu]
        let pinned = wp_set_thread_cpus(&one, 1)
        guard pinned == 0 else {
            setupFeatures.append("iowq_colocate:unavailable(sched_setaffinity \(errnoName(-pinned)))")
            return nil
        }
        var set = cpu_set_t()
        withUnsafeMutableBytes(of: &set) { $0[Int(cpu) / 8] |= UInt8(1 << (Int(cpu) % 8)) }
        let r = io_uring_register_iowq_aff(&ring, MemoryLayout<cpu_set_t>.size, &set)
        if r != 0 {
            _ = wp_set_thread_cpus(&allowed, n)  // back to where the thread was allowed to run
            setupFeatures.append("iowq_colocate:unavailable(IORING_REGISTER_IOWQ_AFF \(errnoName(-r)))")
            return nil
        }
        return cpu
    }

    /// Undoes `colocate`: the thread may run on its former CPUs, new workers anywhere.
    func uncolocate() {
        _ = io_uring_unregister_iowq_aff(&ring)
        _ = wp_set_thread_cpus(&allowedCPUs, Int32(allowedCPUs.count))
        colocatedCPU = nil
    }

    /// Completions to wait for when writes go to io-wq: half the queue. Each io-wq completion
    /// is task work the worker hands to this thread; with DEFER_TASKRUN the kernel wakes the
    /// waiting thread only once `wait_nr` of them are queued, so waiting for one costs a wake-up
    /// (two context switches, and an IPI across CPUs) per I/O, and for half the queue one per
    /// `depth / 2` I/Os. The other half stays queued, so the worker (io-wq serialises a file's
    /// writes in one) never runs dry while this thread sleeps. Inline completions (no worker)
    /// keep 1: there a batch would only add latency.
    static func puntedCompletionBatch(depth: Int) -> Int { max(1, depth / 2) }

    /// Looks for io-wq workers of this thread: they exist only if the kernel handed I/O to them.
    func probeIOWQ() {
        let workers = wp_iowq_workers_of_current_thread()
        if workers < 0 {
            probeFinding = "iowq:unknown(\(errnoName(-workers)))"
            return
        }
        let punted = workers > 0
        probeFinding = punted ? "iowq:punted" : "iowq:inline"
        if colocation == .auto && !punted && colocatedCPU != nil { uncolocate() }
        if punted {
            completionBatch = Self.puntedCompletionBatch(depth: depth)
            var cpus = [Int32](repeating: 0, count: 1024)
            if colocatedCPU == nil && depth <= Self.pollDepthLimit && !sqPoll && wp_thread_allowed_cpus(&cpus, 1024) > 1 {
                pollBeforeWait = true
            }
        }
    }

    @inline(__always)
    func nextSQE() -> UnsafeMutablePointer<io_uring_sqe> { Self.nextSQE(&ring) }

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
        var flags = sqeFlags
        if forceAsyncEvery > 0 && !operation.isFlush {
            forceAsyncCount += 1
            if forceAsyncCount >= forceAsyncEvery {
                forceAsyncCount = 0
                flags |= UInt8(1 << IOSQE_ASYNC_BIT)
            }
        }
        sqe.pointee.flags |= flags
        io_uring_sqe_set_data64(sqe, UInt64(slot))
    }

    public func prepareFlush(slot: Int, datasync: Bool) {
        prepare(slot: slot, operation: datasync ? .fdatasync : .fsync, buffer: 0, offset: 0, length: 0)
    }

    @inline(__always)
    public func submit(waitFor minimum: Int, timeoutNanoseconds: UInt64?) throws {
        if pollBeforeWait && minimum > 0 && timeoutNanoseconds == nil {
            // Submit without sleeping, then run the completions io-wq has queued as task work
            // until one is there: each sleep would make the worker wake this thread (an IPI,
            // a context switch) instead of writing. A failed submission goes on to the wait,
            // which reports it.
            if io_uring_submit(&ring) >= 0 {
                var polls = 0
                while io_uring_cq_ready(&ring) == 0 && polls < Self.pollsBeforeWait {
                    _ = io_uring_get_events(&ring)
                    polls += 1
                }
                if io_uring_cq_ready(&ring) > 0 { return }
            }
        }
        try Self.submit(&ring, waitFor: minimum, timeoutNanoseconds: timeoutNanoseconds)
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
        if _slowPath(probeCountdown > 0) {
            probeCountdown -= Int(n)
            if probeCountdown <= 0 {
                probeCountdown = 0
                probeIOWQ()
            }
        }
        return Int(n)
    }

    public func close() {
        io_uring_queue_exit(&ring)
        buffers.deallocate()
        cqes.deallocate()
    }
}

// MARK: - Ring setup, registration and submission, shared with io_uring_cmd (IOUringCmdEngine)

extension IOUringEngine {
    /// The setup flags to try, newest task-run mode first, each with the features it records;
    /// `base` (io_uring_cmd's SQE128 | CQE32) is added to each and `baseFeatures` to its names.
    static func setupAttempts(base: UInt32 = 0, baseFeatures: String = "") -> [(UInt32, String)] {
        // SUBMIT_ALL (5.18, older than DEFER_TASKRUN): a transfer that fails at submission
        // becomes its own failed completion instead of stopping the rest of the batch.
        let submitAll = wp_ioring_setup_submit_all()
        let attempts: [(UInt32, String)] = [
            (
                wp_ioring_setup_single_issuer() | wp_ioring_setup_defer_taskrun() | submitAll,
                "setup:single_issuer,setup:defer_taskrun,setup:submit_all"
            ),
            (
                wp_ioring_setup_single_issuer() | wp_ioring_setup_coop_taskrun() | submitAll,
                "setup:single_issuer,setup:coop_taskrun,setup:submit_all"
            ),
            (wp_ioring_setup_coop_taskrun(), "setup:coop_taskrun"),
            (0, ""),
        ]
        return attempts.map { flags, name in
            (flags | base, [baseFeatures, name].filter { !$0.isEmpty }.joined(separator: ","))
        }
    }

    /// Sets `ring` up with `entries` entries and the first of `attempts` the kernel accepts;
    /// returns that attempt's feature names. None accepted: a `system` error with `hint(errno)`.
    static func queueInit(
        _ ring: inout io_uring, entries: UInt32, attempts: [(UInt32, String)], path: String, hint: (Int32) -> String
    ) throws -> String {
        var lastError: Int32 = 0
        for (flags, name) in attempts {
            var params = io_uring_params()
            params.flags = flags
            if flags & wp_ioring_setup_sqpoll() != 0 { params.sq_thread_idle = 1000 }
            let r = io_uring_queue_init_params(entries, &ring, &params)
            if r == 0 { return name }
            lastError = -r
        }
        throw WritePathError.system(call: "io_uring_queue_init_params", path: path, errno: lastError, hint: hint(lastError))
    }

    /// Registers the job's buffers (when `buffers`) and file (when `registerfiles`) with `ring`,
    /// and its ring fd; records each outcome in `features`; returns what took.
    static func register(
        _ ring: inout io_uring, _ setup: EngineSetup, buffers: Bool, features: inout [String]
    ) -> (buffers: Bool, file: Bool) {
        var useFixedBuffers = false
        if buffers {
            var iovecs = setup.buffers.map { iovec(iov_base: $0, iov_len: setup.bufferLength) }
            let r = io_uring_register_buffers(&ring, &iovecs, UInt32(iovecs.count))
            if r == 0 {
                useFixedBuffers = true; features.append("fixed_buffers")
            } else {
                features.append("fixed_buffers:unavailable(\(errnoName(-r)))")
            }
        }
        var useFixedFile = false
        if setup.io_uring.registerfiles {
            var fds: [Int32] = [setup.fd]
            let r = io_uring_register_files(&ring, &fds, 1)
            if r == 0 {
                useFixedFile = true; features.append("registered_file")
            } else {
                features.append("registered_file:unavailable(\(errnoName(-r)))")
            }
        }
        if io_uring_register_ring_fd(&ring) == 1 { features.append("registered_ring_fd") }
        return (useFixedBuffers, useFixedFile)
    }

    /// A free submission entry of `ring`.
    @inline(__always)
    static func nextSQE(_ ring: inout io_uring) -> UnsafeMutablePointer<io_uring_sqe> {
        if let sqe = io_uring_get_sqe(&ring) { return sqe }
        // The ring holds at least `depth` entries and the job never has more than `depth`
        // prepared, so this only happens when SQPOLL has not yet consumed earlier entries.
        while true {
            _ = io_uring_submit(&ring)
            if let sqe = io_uring_get_sqe(&ring) { return sqe }
        }
    }

    /// Submits everything prepared on `ring`, then waits for `minimum` completions or
    /// `timeoutNanoseconds` (`IOEngine.submit`).
    @inline(__always)
    static func submit(_ ring: inout io_uring, waitFor minimum: Int, timeoutNanoseconds: UInt64?) throws {
        var r: Int32
        if let t = timeoutNanoseconds {
            var ts = __kernel_timespec(tv_sec: Int64(t / 1_000_000_000), tv_nsec: Int64(t % 1_000_000_000))
            var cqe: UnsafeMutablePointer<io_uring_cqe>?
            r = io_uring_submit_and_wait_timeout(&ring, &cqe, UInt32(minimum), &ts, nil)
            if r == -ETIME { r = 0 }
        } else {
            r = io_uring_submit_and_wait(&ring, UInt32(minimum))
        }
        // EINTR: a signal (the stop request); EAGAIN/EBUSY: the completion queue must be reaped
        // first. The job loop reaps and calls again, so none of these is a failure.
        if r < 0 && r != -EINTR && r != -EAGAIN && r != -EBUSY && r != -ETIME {
            throw WritePathError.system(call: "io_uring_submit_and_wait", path: "", errno: -r, hint: hintFor(errno: -r))
        }
    }
}
