import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Set when the user asks to stop (SIGINT/SIGTERM): jobs stop issuing, drain and report.
public let stopRequested = Atomic<Bool>(false)

/// Live counters of one job, read by the status line while the job runs.
public final class JobProgress: Sendable {
    /// Measured I/Os completed so far (ramp excluded).
    public let ios = Atomic<UInt64>(0)
    public let bytes = Atomic<UInt64>(0)
    /// Set when the measured phase starts.
    public let measuring = Atomic<Bool>(false)
    public let finished = Atomic<Bool>(false)
    public init() {}
}

/// What a job hands back when it ends.
struct JobOutcome {
    var write = DirectionRecorder()
    var read = DirectionRecorder()
    var flush = LatencyHistogram()
    var flushErrors: UInt64 = 0
    var cpu = CPUSample()
    /// Measured seconds (ramp excluded).
    var measuredSeconds = 0.0
    var features: [String] = []
    var error: WritePathError?
    /// Measured submissions (I/Os) by queue depth once submitted, in `IODepthLevels` buckets.
    var depthCounts = [UInt64](repeating: 0, count: IODepthLevels.names.count)
}

/// fio's queue-depth buckets: `1`, `2` (2-3), `4` (4-7), ... `32` (32-63), `>=64`; the keys of
/// `runs[].iodepth_level`, in order.
public enum IODepthLevels {
    public static let names = ["1", "2", "4", "8", "16", "32", ">=64"]

    /// The bucket of `depth` (at least 1).
    @inline(__always)
    static func bucket(_ depth: Int) -> Int {
        min(names.count - 1, Int.bitWidth - 1 - depth.leadingZeroBitCount)
    }

    /// Counts as percentages by bucket name; nil when nothing was counted.
    static func percentages(_ counts: [UInt64]) -> [String: Double]? {
        let total = counts.reduce(0, +)
        guard total > 0 else { return nil }
        var out: [String: Double] = [:]
        for (i, name) in names.enumerated() { out[name] = Double(counts[i]) * 100 / Double(total) }
        return out
    }
}

/// The per-job I/O loop, generic over the engine so that every engine call is specialized and
/// inlined. One instance runs on one thread.
///
/// Each turn: prepare I/Os into every free slot (or up to `iodepth_batch_submit`), stamp them with
/// one clock read, submit and wait in one engine call, read the clock once, reap every ready
/// completion. Latency is completion stamp minus submission stamp in nanoseconds
/// (CLOCK_MONOTONIC). A completion whose result is negative or short is an error: it is counted
/// in `errors`, never in `ios` or `bytes`, and ends the job after the queue drains.
final class JobRunner<Engine: IOEngine> {
    let workload: Workload
    let job: Int
    let target: PreparedTarget
    let fd: Int32
    let buffers: [UnsafeMutableRawPointer]
    let progress: JobProgress
    /// With `verify`, where the last completed write of each block is recorded.
    let verifyState: VerifyState?

    init(
        workload: Workload, job: Int, target: PreparedTarget, fd: Int32, buffers: [UnsafeMutableRawPointer], progress: JobProgress,
        verifyState: VerifyState? = nil
    ) {
        self.workload = workload
        self.job = job
        self.target = target
        self.fd = fd
        self.buffers = buffers
        self.progress = progress
        self.verifyState = verifyState
    }

    func run() -> JobOutcome {
        var out = JobOutcome()
        let w = workload
        let depth = w.iodepth
        let setup = EngineSetup(
            fd: fd, path: target.info.path, depth: depth, buffers: buffers,
            bufferLength: Int(w.bs), io_uring: w.io_uring, io_uring_cmd: w.io_uring_cmd, job: job)
        let engine: Engine
        do {
            engine = try Engine(setup: setup)
        } catch let e as WritePathError {
            out.error = e
            progress.finished.store(true, ordering: .releasing)
            return out
        } catch {
            out.error = .system(call: "engine setup", path: target.info.path, errno: EIO, hint: "\(error)")
            progress.finished.store(true, ordering: .releasing)
            return out
        }
        defer { engine.close() }

        let bs = Int(w.bs)
        let bsU = UInt64(w.bs)
        let blocks = target.regionLength / bsU
        var offsets = OffsetGenerator(
            blocks: blocks, random: w.rw.isRandom, distribution: w.random_distribution,
            seed: w.seed &+ UInt64(job) &* 0x9E37_79B9)
        var mixRNG = Xoshiro256(seed: w.seed ^ 0x0A11_0C8 ^ UInt64(job))
        let readBufferBase = w.rw.writes && w.rw.reads ? depth : 0
        let regionStart = target.regionOffset
        let flushPolicy = w.flushEvery

        // Slot state, in unsafe buffers: the loop must not pay for bounds or exclusivity checks.
        let submitStamp = UnsafeMutablePointer<UInt64>.allocate(capacity: depth)
        let slotOperation = UnsafeMutablePointer<IOOperation>.allocate(capacity: depth)
        slotOperation.initialize(repeating: .write, count: depth)
        let slotOffset = UnsafeMutablePointer<UInt64>.allocate(capacity: depth)
        let freeSlots = UnsafeMutablePointer<Int>.allocate(capacity: depth)
        let prepared = UnsafeMutablePointer<Int>.allocate(capacity: depth)
        let slotSequence = UnsafeMutablePointer<UInt64>.allocate(capacity: depth)
        let depthCounts = UnsafeMutablePointer<UInt64>.allocate(capacity: IODepthLevels.names.count)
        depthCounts.initialize(repeating: 0, count: IODepthLevels.names.count)
        defer {
            submitStamp.deallocate(); slotOperation.deallocate(); slotOffset.deallocate()
            freeSlots.deallocate(); prepared.deallocate(); slotSequence.deallocate(); depthCounts.deallocate()
        }
        let verify = verifyState
        var writeSequence: UInt64 = 0
        // With verify, a block is never written twice at once: two writes in flight to one block
        // land in an order no completion tells, and the block would read back as stale. The next
        // block waits (held) until the write in flight to it completes, as fio's serialize_overlap.
        let blockBusy: UnsafeMutablePointer<Bool>? = verify == nil ? nil : .allocate(capacity: Int(blocks))
        blockBusy?.initialize(repeating: false, count: Int(blocks))
        defer { blockBusy?.deallocate() }
        var heldBlock: UInt64? = nil
        for i in 0..<depth { freeSlots[i] = depth - 1 - i }
        var freeCount = depth

        let start = monotonicNanoseconds()
        let rampNs = UInt64(w.ramp_time * 1e9)
        let runtimeNs = UInt64(w.runtime * 1e9)
        var measuring = rampNs == 0
        var measureStart = start
        var cpuStart = CPUSample.thread()
        if measuring { progress.measuring.store(true, ordering: .relaxed) }
        let deadline: UInt64 = runtimeNs > 0 ? start + rampNs + runtimeNs : .max
        let (passes, overflow) = blocks.multipliedReportingOverflow(by: UInt64(w.loops))
        let issueLimit: UInt64 = w.time_based || overflow ? .max : passes
        let rateInterval: UInt64 = w.rate_iops > 0 ? 1_000_000_000 / UInt64(w.rate_iops) : 0
        var rateIssued: UInt64 = 0
        let rateStart = start
        let batchSubmit = w.iodepth_batch_submit
        // An iodepth_batch_complete_min given holds, 1 included; not given, the engine chooses
        // (io_uring waits for several once it has seen its writes go to io-wq).
        let completeMinGiven = w.iodepth_batch_complete_min ?? 0
        var intervalStart = start
        let intervalNs: UInt64 = 1_000_000_000

        var issued: UInt64 = 0
        var inflight = 0
        var writesSinceFlush = 0
        var flushPending = false
        var flushInFlight = false
        var stopIssuing = false
        var now = start

        while true {
            // Phase changes.
            if !measuring && now >= start + rampNs {
                measuring = true
                measureStart = now
                intervalStart = now
                out.write.reset(); out.read.reset(); out.flush.reset(); out.flushErrors = 0
                depthCounts.update(repeating: 0, count: IODepthLevels.names.count)
                cpuStart = CPUSample.thread()
                progress.measuring.store(true, ordering: .relaxed)
            }
            if measuring && now - intervalStart >= intervalNs {
                let end = Double(now - measureStart) / 1e9
                let len = Double(now - intervalStart) / 1e9
                if w.rw.writes { out.write.closeInterval(endSeconds: end, seconds: len) }
                if w.rw.reads { out.read.closeInterval(endSeconds: end, seconds: len) }
                intervalStart = now
            }
            if !stopIssuing && (now >= deadline || (issued >= issueLimit && !flushPending) || stopRequested.load(ordering: .relaxed)) {
                stopIssuing = true
            }
            if stopIssuing && inflight == 0 { break }

            // Issue.
            var count = 0
            var waitTimeout: UInt64? = nil
            if flushPending && !stopIssuing {
                if inflight == 0 && !flushInFlight {
                    let slot = freeSlots[freeCount - 1]
                    freeCount -= 1
                    slotOperation[slot] = flushPolicy!.datasync ? .fdatasync : .fsync
                    engine.prepareFlush(slot: slot, datasync: flushPolicy!.datasync)
                    prepared[0] = slot
                    count = 1
                    flushInFlight = true
                }
            } else if !stopIssuing {
                let want = batchSubmit > 0 ? batchSubmit : depth
                while freeCount > 0 && count < want && issued < issueLimit {
                    let block = heldBlock ?? offsets.nextBlock()
                    heldBlock = block
                    if let busy = blockBusy, busy[Int(block)] { break }
                    if rateInterval > 0 {
                        let due = rateStart + rateIssued * rateInterval
                        if now < due { waitTimeout = due - now; break }
                        rateIssued += 1
                    }
                    heldBlock = nil
                    blockBusy?[Int(block)] = true
                    let slot = freeSlots[freeCount - 1]
                    freeCount -= 1
                    let operation: IOOperation
                    switch w.rw {
                    case .write, .randwrite: operation = .write
                    case .read, .randread: operation = .read
                    case .randrw: operation = mixRNG.below(100) < UInt64(w.rwmixwrite) ? .write : .read
                    }
                    let offset = regionStart + block * bsU
                    slotOperation[slot] = operation
                    slotOffset[slot] = offset
                    if let verify, operation == .write {
                        writeSequence += 1
                        slotSequence[slot] = writeSequence
                        BlockStamp.stamp(
                            buffers[slot], length: bs, offset: offset, sequence: writeSequence,
                            seed: verify.seed, job: verify.job, run: verify.run)
                    }
                    engine.prepare(
                        slot: slot, operation: operation,
                        buffer: operation == .read ? readBufferBase + slot : slot,
                        offset: offset, length: bs)
                    prepared[count] = slot
                    count += 1
                    issued += 1
                    if operation == .write, let policy = flushPolicy {
                        writesSinceFlush += 1
                        if writesSinceFlush >= policy.writes {
                            writesSinceFlush = 0
                            flushPending = true
                            break
                        }
                    }
                }
            }
            if count > 0 {
                let stamp = monotonicNanoseconds()
                for i in 0..<count { submitStamp[prepared[i]] = stamp }
                inflight += count
                if measuring { depthCounts[IODepthLevels.bucket(inflight)] &+= UInt64(count) }
            }
            // As fio: `iodepth_batch_submit` bounds how many go in one submission, not how deep
            // the queue gets. While slots are free and more I/O may be issued now, submit without
            // waiting and fill the queue first; wait only when it is full (or issuing is held).
            let canIssueMore =
                count > 0 && freeCount > 0 && !stopIssuing && !flushPending && issued < issueLimit
                && heldBlock == nil && waitTimeout == nil
            // A held block (verify) waits for the one write to it: no batch then.
            let completeMin = completeMinGiven > 0 ? completeMinGiven : heldBlock == nil ? engine.completionBatch : 1
            let waitFor = inflight == 0 || canIssueMore ? 0 : min(completeMin, inflight)
            if inflight == 0 && count == 0 {
                // Nothing in flight and nothing issued: the rate limit holds us back.
                if let t = waitTimeout { sleepNanoseconds(t) }
                now = monotonicNanoseconds()
                continue
            }
            do {
                try engine.submit(waitFor: waitFor, timeoutNanoseconds: waitTimeout)
            } catch let e as WritePathError {
                if out.error == nil { out.error = e }
                break
            } catch {
                break
            }
            let done = monotonicNanoseconds()
            now = done
            var completedBytes: UInt64 = 0
            var completedIOs: UInt64 = 0
            let reaped = engine.reap { slot, result in
                let operation = slotOperation[slot]
                freeSlots[freeCount] = slot
                freeCount += 1
                inflight -= 1
                if operation.isFlush {
                    flushPending = false
                    flushInFlight = false
                    if result < 0 {
                        out.flushErrors += 1
                        if out.error == nil {
                            out.error = .io(
                                operation: operation == .fsync ? "fsync" : "fdatasync", path: target.info.path,
                                offset: 0, expected: 0, result: result,
                                hint: engine.failureDetail(slot: slot) ?? hintFor(errno: Int32(-result)))
                        }
                        stopIssuing = true
                    } else if measuring {
                        out.flush.record(done &- submitStamp[slot])
                    }
                    return
                }
                if let busy = blockBusy { busy[Int((slotOffset[slot] &- regionStart) / bsU)] = false }
                if _slowPath(result != bs) {
                    if operation == .write { out.write.errors += 1 } else { out.read.errors += 1 }
                    if out.error == nil {
                        out.error = .io(
                            operation: operation == .write ? "write" : "read", path: target.info.path,
                            offset: slotOffset[slot], expected: bs, result: result,
                            hint: engine.failureDetail(slot: slot) ?? (result < 0 ? hintFor(errno: Int32(-result)) : ""))
                    }
                    stopIssuing = true
                    return
                }
                if let verify, operation == .write {
                    let block = Int((slotOffset[slot] &- regionStart) / bsU)
                    if slotSequence[slot] > verify.latest[block] { verify.latest[block] = slotSequence[slot] }
                }
                if measuring {
                    let latency = done &- submitStamp[slot]
                    if operation == .write {
                        out.write.record(latency: latency, bytes: bsU)
                    } else {
                        out.read.record(latency: latency, bytes: bsU)
                    }
                    completedIOs &+= 1
                    completedBytes &+= bsU
                }
            }
            if reaped > 0 && completedIOs > 0 {
                progress.ios.add(completedIOs, ordering: .relaxed)
                progress.bytes.add(completedBytes, ordering: .relaxed)
            }
        }

        let end = monotonicNanoseconds()
        // Read at the end: an engine may learn about the target while it runs (io_uring's probe).
        out.features = engine.features
        if completeMinGiven == 0 && engine.completionBatch > 1 {
            out.features.append("iowq_complete_batch:\(engine.completionBatch)(auto)")
        }
        out.depthCounts = Array(UnsafeBufferPointer(start: depthCounts, count: IODepthLevels.names.count))
        if !measuring {
            // The job ended inside the ramp: nothing was measured.
            measureStart = end
            intervalStart = end
        }
        out.cpu = CPUSample.thread() - cpuStart
        out.measuredSeconds = Double(end - measureStart) / 1e9
        // The last, partial interval: a sliver under a quarter second joins the previous one,
        // so that the series holds no rate computed over a few microseconds.
        let e = Double(end - measureStart) / 1e9
        let len = Double(end - intervalStart) / 1e9
        let fold = len < 0.25 && (out.write.series.count + out.read.series.count) > 0
        if w.rw.writes { out.write.closeInterval(endSeconds: e, seconds: len, foldIntoPrevious: fold) }
        if w.rw.reads { out.read.closeInterval(endSeconds: e, seconds: len, foldIntoPrevious: fold) }
        progress.finished.store(true, ordering: .releasing)
        return out
    }
}
