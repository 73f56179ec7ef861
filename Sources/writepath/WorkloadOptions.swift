import ArgumentParser
import WritePathEngine

/// The engine's workload options, named as fio names them. Each is text here and is parsed by
/// `Workload.set`, the same code that reads fio job files, so both accept exactly the same values.
struct WorkloadOptions: ParsableArguments {
    @Option(name: .customLong("name"), help: "Job name (default: job).") var name: String?
    @Option(name: .customLong("ioengine"), help: "io_uring (default), libaio, psync or null.") var ioengine: String?
    @Option(name: [.customLong("rw"), .customLong("readwrite")], help: "write (default), randwrite, read, randread or randrw.") var rw: String?
    @Option(name: .customLong("rwmixwrite"), help: "Percentage of writes in randrw (default 50).") var rwmixwrite: String?
    @Option(name: .customLong("rwmixread"), help: "Percentage of reads in randrw.") var rwmixread: String?
    @Option(name: [.customLong("bs"), .customLong("blocksize")], help: "Block size in bytes; k/m/g suffixes (default 4k).") var bs: String?
    @Option(name: .customLong("iodepth"), help: "I/Os in flight per job (default 1).") var iodepth: String?
    @Option(name: [.customLong("iodepth_batch_submit"), .customLong("iodepth_batch")], help: "Prepared I/Os per submission (default: all free slots).") var iodepthBatchSubmit: String?
    @Option(name: .customLong("iodepth_batch_complete_min"), help: "Completions to wait for per reap (default 1).") var iodepthBatchCompleteMin: String?
    @Option(name: .customLong("numjobs"), help: "Threads, each with its own ring (default 1).") var numjobs: String?
    @Option(name: .customLong("size"), help: "Bytes of the region per job; k/m/g suffixes. Needed for a new file.") var size: String?
    @Option(name: .customLong("offset"), help: "Start of the region in bytes (default 0).") var offset: String?
    @Option(name: .customLong("filename"), help: "Target file or block device (default: ./NAME.JOB.0 per job).") var filename: String?
    @Option(name: .customLong("directory"), help: "Folder for default file names.") var directory: String?
    @Option(name: .customLong("direct"), help: "1: O_DIRECT (default); 0: buffered.") var direct: String?
    @Option(name: .customLong("sync"), help: "1: open with O_DSYNC.") var sync: String?
    @Option(name: .customLong("runtime"), help: "Seconds to run (suffixes ms, s, m, h); 0: until size is done.") var runtime: String?
    @Option(name: .customLong("time_based"), help: "1: run for the whole runtime, wrapping around the region.") var timeBased: String?
    @Option(name: .customLong("ramp_time"), help: "Seconds of I/O before measuring; excluded from all metrics.") var rampTime: String?
    @Option(name: .customLong("rate_iops"), help: "I/Os per second per job (default: unlimited).") var rateIops: String?
    @Option(name: .customLong("fsync"), help: "fsync after every N writes.") var fsync: String?
    @Option(name: .customLong("fdatasync"), help: "fdatasync after every N writes.") var fdatasync: String?
    @Option(name: .customLong("random_distribution"), help: "uniform (default) or zipf:THETA.") var randomDistribution: String?
    @Option(name: .customLong("buffer_pattern"), help: "random (default) or zero.") var bufferPattern: String?
    @Option(name: [.customLong("seed"), .customLong("randseed")], help: "Seed of offsets and buffer contents.") var seed: String?
    @Option(name: .customLong("fixedbufs"), help: "io_uring registered buffers (default 1).") var fixedbufs: String?
    @Option(name: .customLong("registerfiles"), help: "io_uring registered file (default 1).") var registerfiles: String?
    @Option(name: .customLong("sqthread_poll"), help: "1: io_uring kernel submission-queue polling thread.") var sqthreadPoll: String?
    @Option(name: .customLong("force_async"), help: "io_uring: IOSQE_ASYNC on every Nth I/O (hand it straight to an io-wq worker); 0: never.") var forceAsync: String?
    @Option(name: .customLong("iowq_colocate"), help: "io_uring: run the job thread and its io-wq workers on one CPU: auto (default: when writes go to io-wq and iodepth <= 8), 1 or 0.") var iowqColocate: String?
    @Option(name: .customLong("prefill"), help: "1: write the whole region once before measuring.") var prefill: String?
    @Option(name: .customLong("verify"), help: "crc32c: stamp every block and read the target back after the run.") var verify: String?
    @Option(name: .customLong("fallocate"), help: "native (default): allocate a new file first; none: sparse.") var fallocate: String?
    @Option(name: .customLong("startdelay"), help: "Seconds to wait before the job starts.") var startdelay: String?
    @Option(name: [.customLong("end_fsync"), .customLong("fsync_on_close")], help: "1: fsync the target once the job has ended (not timed).") var endFsync: String?
    @Option(name: .customLong("unlink"), help: "1: remove the target files writepath created, after the run.") var unlink: String?
    @Option(name: .customLong("randrepeat"), help: "Accepted as fio's 1: the random sequence repeats for a seed.") var randrepeat: String?
    @Option(name: .customLong("norandommap"), help: "Accepted as fio's 1: offsets are drawn without a map.") var norandommap: String?
    @Option(name: .customLong("invalidate"), help: "Accepted as fio's 1: cached pages are dropped before measuring.") var invalidate: String?
    @Option(name: [.customLong("stonewall"), .customLong("wait_for_previous")], help: "Accepted as fio's: one command-line job waits for none.") var stonewall: String?
    @Option(name: .customLong("new_group"), help: "Accepted as fio's: one command-line job is its own group.") var newGroup: String?
    @Option(name: .customLong("buffered"), help: "1: buffered I/O (the same as --direct=0).") var buffered: String?
    @Option(name: .customLong("zero_buffers"), help: "1: write zeroes (the same as --buffer_pattern=zero).") var zeroBuffers: String?
    @Option(name: .customLong("thread"), help: "Accepted as fio's: writepath's jobs are always threads.") var thread: String?
    @Option(name: .customLong("group_reporting"), help: "Accepted as fio's: one command-line job is its own group.") var groupReporting: String?

    /// Boolean options that may be given bare (`--time_based`), as fio allows.
    static let booleanNames: Set<String> = [
        "direct", "sync", "time_based", "fixedbufs", "registerfiles", "sqthread_poll", "prefill", "buffered",
        "zero_buffers", "thread", "group_reporting", "end_fsync", "fsync_on_close", "unlink",
        "randrepeat", "norandommap", "invalidate", "stonewall", "wait_for_previous", "new_group",
    ]

    /// The options given, as (fio name, text) in a fixed order.
    var given: [(String, String)] {
        let all: [(String, String?)] = [
            ("name", name), ("ioengine", ioengine), ("rw", rw), ("rwmixwrite", rwmixwrite), ("rwmixread", rwmixread),
            ("bs", bs), ("iodepth", iodepth), ("iodepth_batch_submit", iodepthBatchSubmit),
            ("iodepth_batch_complete_min", iodepthBatchCompleteMin), ("numjobs", numjobs), ("size", size),
            ("offset", offset), ("filename", filename), ("directory", directory), ("direct", direct), ("sync", sync),
            ("runtime", runtime), ("time_based", timeBased), ("ramp_time", rampTime), ("rate_iops", rateIops),
            ("fsync", fsync), ("fdatasync", fdatasync), ("random_distribution", randomDistribution),
            ("buffer_pattern", bufferPattern), ("seed", seed), ("fixedbufs", fixedbufs),
            ("registerfiles", registerfiles), ("sqthread_poll", sqthreadPoll), ("force_async", forceAsync),
            ("iowq_colocate", iowqColocate), ("prefill", prefill),
            ("verify", verify), ("fallocate", fallocate), ("buffered", buffered), ("zero_buffers", zeroBuffers),
            ("thread", thread), ("group_reporting", groupReporting), ("startdelay", startdelay), ("end_fsync", endFsync),
            ("unlink", unlink), ("randrepeat", randrepeat), ("norandommap", norandommap), ("invalidate", invalidate),
            ("stonewall", stonewall), ("new_group", newGroup),
        ]
        return all.compactMap { k, v in v.map { (k, $0) } }
    }

    /// Applies the given options on top of `workload`.
    func apply(to workload: inout Workload) throws {
        for (k, v) in given { try workload.set(k, v) }
    }

    /// fio options writepath refuses (`Workload.refusedOptions`) are refused on the command line
    /// as in a job file: with the reason, not as an unknown option.
    static func refuseUnsupported(_ arguments: [String]) throws {
        for a in arguments where a.hasPrefix("--") {
            let key = String(a.dropFirst(2).prefix { $0 != "=" })
            if let reason = Workload.refusedOptions[key] {
                throw WritePathError.invalidInput(field: key, message: "not supported: \(reason)")
            }
        }
    }

    /// Rewrites bare boolean flags (`--time_based`) to `--time_based=1` so that they parse as
    /// options, the way fio accepts them.
    static func normalize(_ arguments: [String]) -> [String] {
        var out: [String] = []
        var i = 0
        while i < arguments.count {
            let a = arguments[i]
            if a.hasPrefix("--"), !a.contains("="), booleanNames.contains(String(a.dropFirst(2))) {
                let next = i + 1 < arguments.count ? arguments[i + 1] : nil
                if let n = next, ["0", "1", "true", "false", "yes", "no", "on", "off"].contains(n.lowercased()) {
                    out.append("\(a)=\(n)")
                    i += 2
                    continue
                }
                out.append("\(a)=1")
                i += 1
                continue
            }
            out.append(a)
            i += 1
        }
        return out
    }
}
