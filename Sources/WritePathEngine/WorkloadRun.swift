import CWritePathShims
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Runs one workload on this machine: prepares the target, runs `numjobs` job threads, checks
/// whether O_DIRECT bypassed the page cache, and assembles the `RunMeasurement` (WritePathResult
/// makes it a run of a layer).
public struct WorkloadRun {
    public var workload: Workload
    public var safety: SafetyOptions
    /// Called about once a second while the jobs run, with the elapsed seconds and the live
    /// counters; used for the status line.
    public var onTick: ((Double, [JobProgress]) -> Void)?
    /// Remove the target files this run created once it ends (a layer's cleanup); files that
    /// existed before it are never removed. Their verify state is then not saved either.
    public var removeCreatedFiles = false

    public init(workload: Workload, safety: SafetyOptions = SafetyOptions()) {
        self.workload = workload
        self.safety = safety
    }

    /// Runs the workload. Throws for invalid input, refusals and failures before any I/O; a
    /// failure during I/O is returned as a measurement with an `error` and the metrics of what
    /// completed.
    public func execute() throws -> RunMeasurement {
        try workload.validate()
        // A synchronous engine has one I/O in flight whatever iodepth says; as fio, it runs at
        // depth 1 and says so (the result keeps the workload as given).
        var w = workload
        let syncDepthNote: String? =
            w.ioengine == .psync && w.iodepth > 1
            ? "psync is synchronous: iodepth=\(w.iodepth) has no effect, it ran with one I/O in flight per job (as fio)" : nil
        if syncDepthNote != nil {
            w.iodepth = 1
            w.iodepth_batch_submit = 0
            w.iodepth_batch_complete_min = nil
        }
        // fio's startdelay: wait before anything of the job happens (a signal ends the wait).
        if w.startdelay > 0 {
            let until = monotonicNanoseconds() + UInt64(w.startdelay * 1e9)
            while monotonicNanoseconds() < until && !stopRequested.load(ordering: .relaxed) { usleep(10_000) }
        }
        let startedAt = ISO8601DateFormatter().string(from: Date())

        // Targets: one shared file, or one per job (fio's default names).
        var targets: [PreparedTarget] = []
        var createdFiles: [String] = []
        defer { if removeCreatedFiles { for p in createdFiles { unlink(p) } } }
        do {
            if w.filename != nil {
                let t = try Target.prepare(w, jobIndex: 0, safety: safety)
                if t.info.created { createdFiles.append(t.info.path) }
                targets = Array(repeating: t, count: w.numjobs)
            } else {
                for j in 0..<w.numjobs {
                    let t = try Target.prepare(w, jobIndex: j, safety: safety)
                    if t.info.created { createdFiles.append(t.info.path) }
                    targets.append(t)
                }
            }
            if w.verify != .none && w.ioengine != .null {
                for t in uniqueTargets(targets) where savesVerifyState(t) {
                    try VerifyState.checkReplaceable(VerifyState.path(for: t.info.path), safety: safety)
                }
            }
        } catch {
            // The run does not happen: the files made for earlier jobs do not stay behind.
            for p in createdFiles { unlink(p) }
            createdFiles = []
            throw error
        }
        var warnings: [String] = syncDepthNote.map { [$0] } ?? []
        let memoryBacked = ["tmpfs", "ramfs", "devtmpfs"].contains(targets[0].info.filesystem ?? "")
        if memoryBacked {
            warnings.append(
                "target is on \(targets[0].info.filesystem!): data stays in memory, so this measures the engine and the kernel, "
                    + "not a device"
            )
        }
        // NVMe passthrough (io_uring_cmd) never goes through the page cache: nothing to count.
        let passthrough = targets[0].isNVMeCharDevice
        var cacheBefore: [(UInt64, UInt64)?] = []
        if w.direct && w.ioengine != .null && !passthrough {
            for t in uniqueTargets(targets) {
                if !memoryBacked { Target.dropCache(path: t.info.path, offset: t.regionOffset, length: t.regionLength) }
                cacheBefore.append(Target.cachedPages(path: t.info.path, offset: t.regionOffset, length: t.regionLength))
            }
        }

        // Open, allocate buffers, start jobs.
        var flags = O_RDWR | O_CLOEXEC
        // A char device takes no O_DIRECT (open fails with EINVAL); its commands bypass the cache.
        if w.direct && !passthrough { flags |= wp_o_direct() }
        if w.sync { flags |= wp_o_dsync() }
        let bufferCount = w.iodepth * (w.rw.writes && w.rw.reads ? 2 : 1)
        var fds: [Int32] = []
        var allBuffers: [[UnsafeMutableRawPointer]] = []
        defer {
            for fd in fds { Sys.close(fd) }
            for set in allBuffers { for b in set { free(b) } }
        }
        for j in 0..<w.numjobs {
            fds.append(try Sys.open(targets[j].info.path, flags: flags))
            var set: [UnsafeMutableRawPointer] = []
            for s in 0..<bufferCount {
                let b = try Sys.alignedAllocate(bytes: Int(w.bs), alignment: Int(targets[j].info.dio_mem_align))
                BufferFill.fill(
                    b, bytes: Int(w.bs), pattern: w.buffer_pattern,
                    seed: BufferFill.seed(workloadSeed: w.seed, job: j, slot: s))
                set.append(b)
            }
            allBuffers.append(set)
        }
        // Flush evidence: the whole disk under the target and its flush count before the run.
        let flushDisk = w.flushEvery == nil ? nil : targets[0].info.device_number.flatMap(DiskStats.disk(for:))
        let flushesBefore = flushDisk.flatMap(DiskStats.flushes(disk:))
        let progress = (0..<w.numjobs).map { _ in JobProgress() }
        let verifyStates: [VerifyState?] = (0..<w.numjobs).map { j in
            w.verify == .none
                ? nil
                : VerifyState(
                    bs: w.bs, regionOffset: targets[j].regionOffset,
                    blocks: Int(targets[j].regionLength / w.bs), seed: w.seed, job: UInt32(j))
        }
        var threads: [JoinableThread<JobOutcome>] = []
        let processStart = CPUSample.process()
        let wallStart = monotonicNanoseconds()
        let startedUnix = Date().timeIntervalSince1970
        let finished = DispatchSemaphore(value: 0)
        for j in 0..<w.numjobs {
            let body = makeJobBody(
                workload: w, job: j, target: targets[j], fd: fds[j], buffers: allBuffers[j], progress: progress[j],
                verifyState: verifyStates[j])
            let t = JoinableThread { () -> JobOutcome in
                let outcome = body()
                finished.signal()
                return outcome
            }
            try t.start()
            threads.append(t)
        }
        var processMeasureStart = processStart
        var sampledAfterRamp = w.ramp_time == 0
        var lastTick = wallStart
        var finishedJobs = 0
        while finishedJobs < w.numjobs {
            // Wake when a job ends, for the status line once a second, and every 50 ms until
            // the ramp is over (to start the process CPU count with the measured phase).
            let wait: Double = sampledAfterRamp ? 1.0 : 0.05
            if finished.wait(timeout: .now() + wait) == .success {
                finishedJobs += 1
                continue
            }
            let now = monotonicNanoseconds()
            if !sampledAfterRamp && progress.allSatisfy({ $0.measuring.load(ordering: .relaxed) }) {
                processMeasureStart = CPUSample.process()
                sampledAfterRamp = true
            }
            if now - lastTick >= 1_000_000_000 {
                lastTick = now
                onTick?(Double(now - wallStart) / 1e9, progress)
            }
        }
        let outcomes = threads.map { $0.join() }
        let endedUnix = Date().timeIntervalSince1970
        // fio's end_fsync: every target once, after the jobs, outside the measured phase.
        var endFsyncError: String?
        if w.end_fsync && w.ioengine != .null {
            var seen = Set<String>()
            for (j, t) in targets.enumerated() where seen.insert(t.info.path).inserted {
                do { try Sys.fsync(fds[j], path: t.info.path) } catch { endFsyncError = endFsyncError ?? "end_fsync: \(error)" }
            }
        }
        let flushesAfter = flushDisk.flatMap(DiskStats.flushes(disk:))
        let processCPU = CPUSample.process() - processMeasureStart
        let (verifyTotal, verifyPerJob, verifyFailure) =
            w.verify == .none || w.ioengine == .null
            ? (nil, [], nil) : verifyTargets(targets, states: verifyStates)

        // Did O_DIRECT bypass the page cache?
        var directCheck = DirectIOCheck(requested: w.direct, note: "")
        if passthrough {
            directCheck.bypassed_page_cache = true
            directCheck.note =
                "NVMe passthrough (io_uring_cmd): the commands go to the device's queue, never through the page cache or "
                + "the block layer's I/O path"
        } else if w.direct && w.ioengine != .null {
            var before: UInt64 = 0, after: UInt64 = 0, total: UInt64 = 0
            var ok = true
            for (i, t) in uniqueTargets(targets).enumerated() {
                guard let b = cacheBefore[i], let a = Target.cachedPages(path: t.info.path, offset: t.regionOffset, length: t.regionLength)
                else { ok = false; break }
                before += b.0; after += a.0; total += a.1
            }
            if ok {
                directCheck.cached_pages_before = before
                directCheck.cached_pages_after = after
                directCheck.region_pages = total
                if memoryBacked {
                    directCheck.note = "memory-backed filesystem: its data always lives in the page cache"
                } else if after > before + max(total / 100, 8) && w.rw.writes {
                    directCheck.bypassed_page_cache = false
                    directCheck.note =
                        "the page cache grew by \(after - before) pages during the run: O_DIRECT was accepted but the filesystem "
                        + "cached the writes"
                    warnings.append("O_DIRECT did not take effect on \(t0(targets)): \(directCheck.note)")
                } else {
                    directCheck.bypassed_page_cache = true
                    directCheck.note = "the page cache did not grow during the run"
                }
            } else {
                directCheck.note = "could not map the target to count cached pages"
            }
        } else if !w.direct {
            directCheck.note = "buffered I/O: writes go through the page cache"
        }

        // Assemble.
        var jobs: [JobResult] = []
        var cpuSum = CPUSample()
        for (j, o) in outcomes.enumerated() {
            cpuSum = cpuSum + o.cpu
            let ios = (w.rw.writes ? o.write.ios : 0) + (w.rw.reads ? o.read.ios : 0)
            jobs.append(
                JobResult(
                    job: j, path: targets[j].info.path,
                    write: w.rw.writes ? o.write.result(runtimeSeconds: o.measuredSeconds) : nil,
                    read: w.rw.reads ? o.read.result(runtimeSeconds: o.measuredSeconds) : nil,
                    flush: w.flushEvery == nil ? nil : flushResult(o.flush, errors: o.flushErrors),
                    cpu: cpuResult(o.cpu, process: nil, ios: ios), error: o.error?.description,
                    verify: j < verifyPerJob.count ? verifyPerJob[j] : nil))
        }
        let write = w.rw.writes ? mergeDirections(outcomes.map { ($0.write, $0.measuredSeconds) }) : nil
        let read = w.rw.reads ? mergeDirections(outcomes.map { ($0.read, $0.measuredSeconds) }) : nil
        var flush: FlushResult? = nil
        if w.flushEvery != nil {
            var h = LatencyHistogram()
            var errors: UInt64 = 0
            for o in outcomes { h.add(o.flush); errors += o.flushErrors }
            flush = flushResult(h, errors: errors)
        }
        let totalIOs = (write?.ios ?? 0) + (read?.ios ?? 0)
        var durability: Durability? = nil
        if let flush {
            var d = Durability(
                flushes_issued: flush.ios, device: flushDisk, device_write_cache: flushDisk.flatMap(DiskStats.writeCache(disk:)),
                verdict: "unknown", evidence: "")
            if memoryBacked {
                (d.verdict, d.evidence) = (
                    "not durable", "the target is in memory (\(targets[0].info.filesystem ?? "tmpfs")): a flush has nowhere to go"
                )
            } else if let disk = flushDisk, let before = flushesBefore, let after = flushesAfter {
                d.device_flushes = after &- before
                if d.device_write_cache == "write through" {
                    (d.verdict, d.evidence) = (
                        "durable", "\(disk) reports a write-through cache: completed writes are stable without flushes"
                    )
                } else {
                    (d.verdict, d.evidence) = Durability.judge(issued: flush.ios, arrived: after &- before, at: "\(disk) (diskstats)")
                }
            } else {
                d.evidence =
                    "no block device statistics under the target (\(targets[0].info.filesystem ?? "unknown filesystem")): nothing "
                    + "shows the flushes reach a device"
            }
            durability = d
        }
        var firstError = outcomes.compactMap(\.error).first?.description ?? endFsyncError
        if firstError == nil, let verifyFailure { firstError = verifyFailure }
        if firstError == nil, let v = verifyTotal, v.verdict != "pass" {
            let f = v.findings.first.map { ", first at offset \($0.offset): \($0.kind) (\($0.detail))" } ?? ""
            firstError =
                "verify failed: \(v.bad) of \(v.blocks) blocks bad (\(v.stale) stale, \(v.torn) torn, \(v.misplaced) misplaced, "
                + "\(v.missing) missing)\(f)"
        }
        let interrupted = stopRequested.load(ordering: .relaxed)
        var info = targets[0].info
        info.direct_io = directCheck
        if totalIOs == 0 && firstError == nil && !interrupted {
            warnings.append("no I/O completed in the measured phase (ramp_time longer than the run?)")
        }
        if w.ioengine == .null { warnings.append("null engine: no I/O was done; this measures the harness only") }
        // fio's unlink: remove the target files, only those writepath made (created now or marked).
        if w.unlink {
            for t in uniqueTargets(targets) where t.info.kind == "file" {
                let fd = open(t.info.path, O_RDONLY | O_CLOEXEC)
                let ours = t.info.created || (fd >= 0 && Target.hasCreatedMarker(fd))
                if fd >= 0 { Glibc.close(fd) }
                if ours && Glibc.unlink(t.info.path) != 0 {
                    warnings.append("unlink: could not remove \(t.info.path): \(String(cString: strerror(errno)))")
                }
            }
        }
        var result = RunMeasurement(
            error: firstError ?? (interrupted ? "interrupted by a signal before the run finished" : nil),
            started_at: startedAt, target: info,
            engine: EngineInfo(name: w.ioengine.rawValue, features: outcomes.first?.features ?? []),
            write: write, read: read, flush: flush,
            cpu: cpuResult(cpuSum, process: processCPU, ios: totalIOs), verify: verifyTotal, durability: durability,
            // With one job the job is the run: listing it again would double the file.
            jobs: w.numjobs > 1 ? jobs : [], warnings: warnings,
            iodepth_level: IODepthLevels.percentages(
                outcomes.reduce(into: [UInt64](repeating: 0, count: IODepthLevels.names.count)) { sum, o in
                    for i in sum.indices { sum[i] += o.depthCounts[i] }
                }))
        result.started_unix_s = startedUnix
        result.ended_unix_s = endedUnix
        return result
    }

    func t0(_ targets: [PreparedTarget]) -> String { targets[0].info.path }

    /// Whether the verify state of `target` is saved next to it: file targets that stay after the run.
    func savesVerifyState(_ target: PreparedTarget) -> Bool {
        !target.isBlockDevice && !(removeCreatedFiles && target.info.created)
    }

    func uniqueTargets(_ targets: [PreparedTarget]) -> [PreparedTarget] {
        var seen = Set<String>()
        return targets.filter { seen.insert($0.info.path).inserted }
    }

    func flushResult(_ h: LatencyHistogram, errors: UInt64) -> FlushResult {
        FlushResult(ios: h.count, errors: errors, lat_ns: h.summary, histogram: h.encoded)
    }

    func cpuResult(_ c: CPUSample, process: CPUSample?, ios: UInt64) -> CPUResult {
        let user = Double(c.userMicros) / 1e6
        let sys = Double(c.systemMicros) / 1e6
        let pu = process.map { Double($0.userMicros) / 1e6 } ?? user
        let ps = process.map { Double($0.systemMicros) / 1e6 } ?? sys
        let n = Double(max(ios, 1))
        return CPUResult(
            user_s: user, sys_s: sys, ctx_voluntary: c.voluntarySwitches, ctx_involuntary: c.involuntarySwitches,
            cpu_ns_per_io: ios == 0 ? 0 : (user + sys) * 1e9 / n,
            process_user_s: pu, process_sys_s: ps,
            process_cpu_ns_per_io: ios == 0 ? 0 : (pu + ps) * 1e9 / n)
    }

    func makeJobBody(
        workload: Workload, job: Int, target: PreparedTarget, fd: Int32, buffers: [UnsafeMutableRawPointer], progress: JobProgress,
        verifyState: VerifyState?
    ) -> () -> JobOutcome {
        func body<E: IOEngine>(_: E.Type) -> () -> JobOutcome {
            {
                JobRunner<E>(
                    workload: workload, job: job, target: target, fd: fd, buffers: buffers, progress: progress, verifyState: verifyState
                ).run()
            }
        }
        switch workload.ioengine {
        case .io_uring: return body(IOUringEngine.self)
        case .libaio: return body(LibaioEngine.self)
        case .psync: return body(PsyncEngine.self)
        case .null: return body(NullEngine.self)
        case .io_uring_cmd: return body(IOUringCmdEngine.self)
        }
    }

    /// Reads every job's target back against its verify state, saves the state next to file
    /// targets for `writepath verify`, and returns the summed and per-job verdicts.
    func verifyTargets(_ targets: [PreparedTarget], states: [VerifyState?]) -> (VerifyResult?, [VerifyResult?], String?) {
        var total: VerifyResult?
        var perJob: [VerifyResult?] = []
        var failure: String?
        for (j, state) in states.enumerated() {
            guard let state else { perJob.append(nil); continue }
            let path = targets[j].info.path
            if savesVerifyState(targets[j]) {
                do { try state.save(to: VerifyState.path(for: path)) } catch { failure = failure ?? "\(error)" }
            }
            do {
                let r = try Verifier.verify(path: path, state: state, direct: workload.direct)
                perJob.append(r)
                if total == nil { total = r } else { total!.add(r) }
            } catch {
                perJob.append(nil)
                failure = failure ?? "verify read-back of \(path) failed: \(error)"
            }
        }
        return (total, perJob, failure)
    }
}

extension WorkloadRun {
    /// Runs `runs` at the same time, each on its own thread (its jobs on threads of their own),
    /// as fio starts the jobs of a job file together; returns each run's outcome in order. A
    /// run that throws (invalid input, a refused target, a failure before any I/O) does not stop
    /// the others.
    public static func executeConcurrently(_ runs: [WorkloadRun]) -> [Swift.Result<RunMeasurement, Error>] {
        if runs.count == 1 { return [Swift.Result { try runs[0].execute() }] }
        let threads = runs.map { run in JoinableThread { Swift.Result { try run.execute() } } }
        var started: [Int] = []
        var outcomes = [Swift.Result<RunMeasurement, Error>?](repeating: nil, count: runs.count)
        for (i, t) in threads.enumerated() {
            do {
                try t.start()
                started.append(i)
            } catch {
                outcomes[i] = .failure(error)
            }
        }
        for i in started { outcomes[i] = threads[i].join() }
        return outcomes.map { $0! }
    }
}
