/// What one I/O slot carries.
public enum IOOperation: UInt8, Sendable {
    case write, read, fsync, fdatasync

    var isFlush: Bool { self == .fsync || self == .fdatasync }
}

/// Everything an engine needs to set up for one job: the open target and the job's buffers.
public struct EngineSetup {
    /// The open target.
    public var fd: Int32
    public var path: String
    /// I/Os in flight at most.
    public var depth: Int
    /// One buffer per slot for writes (`depth` of them), then, when the job reads, one per slot
    /// for reads; each `bufferLength` bytes and aligned for O_DIRECT.
    public var buffers: [UnsafeMutableRawPointer]
    /// Bytes of each buffer (the block size).
    public var bufferLength: Int
    /// io_uring's own options (registered buffers and file, SQPOLL, force_async, io-wq placement).
    public var io_uring = IOUringOptions()
    /// io_uring_cmd's own options (`cmd_type`, `nonvectored`).
    public var io_uring_cmd = IOUringCmdOptions()
    /// The job's index (0-based): picks the CPU a colocated job is pinned to.
    public var job: Int = 0
}

/// An I/O engine: one per file, one instance per job thread, as fio's engines are.
///
/// The job loop calls `prepare` for each I/O it wants in flight, then `submit(waitFor:)` once,
/// then `reap` to collect completions. A completion's result is the bytes transferred or
/// `-errno`; the job loop, not the engine, decides whether it is an error.
public protocol IOEngine: AnyObject {
    static var kind: EngineKind { get }
    /// Sets up for one job. Called on the job's own thread (io_uring's single issuer is the
    /// creating thread).
    init(setup: EngineSetup) throws
    /// What the engine actually uses (`setup:defer_taskrun`, `fixed_buffers`, ...), recorded in
    /// `runs[].engine.features`.
    var features: [String] { get }
    /// Queues a transfer of `length` bytes at `offset` using buffer `buffer` for slot `slot`.
    func prepare(slot: Int, operation: IOOperation, buffer: Int, offset: UInt64, length: Int)
    /// Queues a flush (fsync, or fdatasync when `datasync`) for slot `slot`.
    func prepareFlush(slot: Int, datasync: Bool)
    /// Submits everything prepared, then waits until at least `minimum` completions are ready or
    /// `timeoutNanoseconds` (when not nil) passes.
    func submit(waitFor minimum: Int, timeoutNanoseconds: UInt64?) throws
    /// Hands every ready completion to `body(slot, result)`; returns how many. Called only after
    /// the job has read the clock for these completions, so an engine may do one-off work here
    /// (io_uring's io-wq probe) without it counting in any latency.
    func reap(_ body: (Int, Int) -> Void) -> Int
    /// Completions the job loop waits for once the queue is full, when the workload leaves the
    /// choice to the engine (`iodepth_batch_complete_min` not given). 1 unless the engine
    /// has measured that waiting for more saves work per I/O (io_uring, writes punted to io-wq).
    var completionBatch: Int { get }
    /// What the device said about the failed completion of slot `slot`, when the engine knows more
    /// than the errno it handed to `reap` (io_uring_cmd: the NVMe status); nil otherwise. Called
    /// from `reap`'s body for a failed completion, before the slot is prepared again.
    func failureDetail(slot: Int) -> String?
    /// Releases the engine's kernel resources (does not close the target).
    func close()
}

extension IOEngine {
    public var completionBatch: Int { 1 }
    public func failureDetail(slot: Int) -> String? { nil }
}
