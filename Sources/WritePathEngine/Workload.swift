#if canImport(Glibc)
import Glibc
#endif

/// The I/O pattern of a job: fio's `rw`.
public enum ReadWriteMode: String, Codable, Sendable, CaseIterable {
    case write, randwrite, read, randread, randrw

    /// Whether offsets are random rather than sequential.
    public var isRandom: Bool { self == .randwrite || self == .randread || self == .randrw }
    /// Whether the job issues writes.
    public var writes: Bool { self == .write || self == .randwrite || self == .randrw }
    /// Whether the job issues reads.
    public var reads: Bool { self == .read || self == .randread || self == .randrw }
}

/// The I/O engine: fio's `ioengine`.
public enum EngineKind: String, Codable, Sendable, CaseIterable {
    case io_uring, libaio, psync, null
}

/// Which program runs a workload in a matrix layer: writepath's own engine (default) or Debian's
/// fio with the workload's options given as fio options, to cross-check the layer's cost.
public enum WorkloadEngine: String, Codable, Sendable, CaseIterable {
    case writepath, fio
}

/// How random offsets are distributed: fio's `random_distribution`.
public enum RandomDistribution: Equatable, Sendable, Codable, CustomStringConvertible {
    /// Every block equally likely; each pass touches every block once (as fio's random map does).
    case uniform
    /// Zipf with exponent `theta` (> 0, != 1 is not required): a few blocks take most writes.
    case zipf(theta: Double)

    public var description: String {
        switch self {
        case .uniform: return "uniform"
        case let .zipf(theta): return "zipf:\(theta)"
        }
    }

    public init(from decoder: Decoder) throws {
        let s = try decoder.singleValueContainer().decode(String.self)
        self = try RandomDistribution.parse(s, field: "random_distribution")
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }

    /// Parses `uniform` or `zipf:THETA`.
    public static func parse(_ text: String, field: String) throws -> RandomDistribution {
        let s = text.lowercased()
        if s == "uniform" || s == "random" { return .uniform }
        if s.hasPrefix("zipf:") || s.hasPrefix("zipf"), let theta = Double(s.dropFirst(s.hasPrefix("zipf:") ? 5 : 4)) {
            guard theta > 0, theta.isFinite, theta != 1 else {
                throw WritePathError.invalidInput(field: field, message: "zipf theta must be a positive number other than 1, e.g. zipf:1.2")
            }
            return .zipf(theta: theta)
        }
        throw WritePathError.invalidInput(field: field, message: "\(quoted(text)) is not supported; expected uniform or zipf:THETA (e.g. zipf:1.2)")
    }
}

/// What the write buffers hold: writepath's `buffer_pattern`.
public enum BufferPattern: String, Codable, Sendable, CaseIterable {
    /// Pseudo-random bytes from the job's seed (defeats compression and deduplication).
    case random
    /// All zero bytes.
    case zero
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

/// One job's complete option set, named as fio names them.
///
/// Sizes are bytes, times are seconds unless a name says otherwise. A `Workload` is what the
/// command line, a fio job file section or a matrix entry turns into; it is recorded whole in
/// every result (`runs[].workload`).
public struct Workload: Codable, Equatable, Sendable {
    public var name: String = "job"
    public var ioengine: EngineKind = .io_uring
    public var rw: ReadWriteMode = .write
    /// Percentage of I/Os that are writes in `randrw` (0...100).
    public var rwmixwrite: Int = 50
    /// Block size in bytes.
    public var bs: UInt64 = 4096
    /// I/Os in flight per job.
    public var iodepth: Int = 1
    /// Prepared I/Os that trigger a submission; 0 means "whatever is free" (submit all at once).
    public var iodepth_batch_submit: Int = 0
    /// Completions to wait for before reaping; at least 1.
    public var iodepth_batch_complete_min: Int = 1
    /// Threads, each with its own ring or context; all use the same target region.
    public var numjobs: Int = 1
    /// Bytes of the target region each job covers; nil means the target's size.
    public var size: UInt64?
    /// Start of the region in bytes.
    public var offset: UInt64 = 0
    /// The target file or block device; nil means `<directory>/<name>.<job>.0` per job, as fio.
    public var filename: String?
    /// Folder for default file names.
    public var directory: String?
    /// Open with O_DIRECT.
    public var direct: Bool = true
    /// Open with O_DSYNC.
    public var sync: Bool = false
    /// Seconds to run; 0 means until `size` bytes are done.
    public var runtime: Double = 0
    /// Keep running for `runtime` seconds, wrapping around the region.
    public var time_based: Bool = false
    /// Seconds of I/O before measuring starts; excluded from every metric.
    public var ramp_time: Double = 0
    /// I/Os per second per job; 0 means unlimited.
    public var rate_iops: Int = 0
    /// Flush with fsync after every N writes; 0 means never.
    public var fsync: Int = 0
    /// Flush with fdatasync after every N writes; 0 means never.
    public var fdatasync: Int = 0
    public var random_distribution: RandomDistribution = .uniform
    public var buffer_pattern: BufferPattern = .random
    /// Seed of offsets and buffer contents.
    public var seed: UInt64 = 0x5EED_0F_F10
    /// io_uring: registered buffers (write_fixed). On by default.
    public var fixedbufs: Bool = true
    /// io_uring: registered file. On by default.
    public var registerfiles: Bool = true
    /// io_uring: a kernel thread polls the submission queue.
    public var sqthread_poll: Bool = false
    /// io_uring: set IOSQE_ASYNC on every Nth I/O, as fio's `force_async`: the kernel hands it
    /// straight to an io-wq worker thread instead of first trying to issue it without blocking.
    /// 0: never (default).
    public var force_async: Int = 0
    /// io_uring: run the job thread and the kernel io-wq workers its I/O is handed to on one CPU
    /// (writepath's own option). `auto` (default) does so when the target's writes are handed to
    /// io-wq and iodepth is at most `IOUringEngine.colocationDepthLimit`.
    public var iowq_colocate: IOWQColocation = .auto
    /// Write the whole region once before the measured phase (after fallocate).
    public var prefill: Bool = false
    /// Stamp every written block and read the target back after the run (fio's `verify`).
    public var verify: VerifyMethod = .none
    /// How a new file target is allocated: `native` (fallocate, default) or `none` (sparse: the
    /// writes allocate, so a full filesystem shows up mid-run), as fio's `fallocate`.
    public var fallocate: String = "native"
    /// Seconds the job waits before it starts (fio's `startdelay`): with concurrent job-file
    /// sections, a job can start after the others.
    public var startdelay: Double = 0
    /// fsync every target once the job has ended (fio's `end_fsync`, and `fsync_on_close`,
    /// which is the same here since writepath closes the targets at the end); a failure fails
    /// the run. Not timed: the run's latency and IOPS cover the writes.
    public var end_fsync: Bool = false
    /// Remove the target files after the run, those writepath created (fio's `unlink`).
    public var unlink: Bool = false
    /// The program that runs the workload in a matrix layer (`engine: fio` in a matrix file).
    public var engine: WorkloadEngine = .writepath

    public init() {}

    enum CodingKeys: String, CodingKey {
        case name, ioengine, rw, rwmixwrite, bs, iodepth, iodepth_batch_submit, iodepth_batch_complete_min, numjobs, size, offset, filename, directory, direct, sync, runtime, time_based, ramp_time, rate_iops, fsync, fdatasync, random_distribution, buffer_pattern, seed, fixedbufs, registerfiles, sqthread_poll, force_async, iowq_colocate, prefill, verify, fallocate, startdelay, end_fsync, unlink, engine
    }

    /// Decodes a workload recorded by any version of writepath.result/1: a key an older version
    /// did not write takes its default.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = Workload()
        name = try c.decodeIfPresent(String.self, forKey: .name) ?? d.name
        ioengine = try c.decodeIfPresent(EngineKind.self, forKey: .ioengine) ?? d.ioengine
        rw = try c.decodeIfPresent(ReadWriteMode.self, forKey: .rw) ?? d.rw
        rwmixwrite = try c.decodeIfPresent(Int.self, forKey: .rwmixwrite) ?? d.rwmixwrite
        bs = try c.decodeIfPresent(UInt64.self, forKey: .bs) ?? d.bs
        iodepth = try c.decodeIfPresent(Int.self, forKey: .iodepth) ?? d.iodepth
        iodepth_batch_submit = try c.decodeIfPresent(Int.self, forKey: .iodepth_batch_submit) ?? d.iodepth_batch_submit
        iodepth_batch_complete_min = try c.decodeIfPresent(Int.self, forKey: .iodepth_batch_complete_min) ?? d.iodepth_batch_complete_min
        numjobs = try c.decodeIfPresent(Int.self, forKey: .numjobs) ?? d.numjobs
        size = try c.decodeIfPresent(UInt64.self, forKey: .size) ?? d.size
        offset = try c.decodeIfPresent(UInt64.self, forKey: .offset) ?? d.offset
        filename = try c.decodeIfPresent(String.self, forKey: .filename) ?? d.filename
        directory = try c.decodeIfPresent(String.self, forKey: .directory) ?? d.directory
        direct = try c.decodeIfPresent(Bool.self, forKey: .direct) ?? d.direct
        sync = try c.decodeIfPresent(Bool.self, forKey: .sync) ?? d.sync
        runtime = try c.decodeIfPresent(Double.self, forKey: .runtime) ?? d.runtime
        time_based = try c.decodeIfPresent(Bool.self, forKey: .time_based) ?? d.time_based
        ramp_time = try c.decodeIfPresent(Double.self, forKey: .ramp_time) ?? d.ramp_time
        rate_iops = try c.decodeIfPresent(Int.self, forKey: .rate_iops) ?? d.rate_iops
        fsync = try c.decodeIfPresent(Int.self, forKey: .fsync) ?? d.fsync
        fdatasync = try c.decodeIfPresent(Int.self, forKey: .fdatasync) ?? d.fdatasync
        random_distribution = try c.decodeIfPresent(RandomDistribution.self, forKey: .random_distribution) ?? d.random_distribution
        buffer_pattern = try c.decodeIfPresent(BufferPattern.self, forKey: .buffer_pattern) ?? d.buffer_pattern
        seed = try c.decodeIfPresent(UInt64.self, forKey: .seed) ?? d.seed
        fixedbufs = try c.decodeIfPresent(Bool.self, forKey: .fixedbufs) ?? d.fixedbufs
        registerfiles = try c.decodeIfPresent(Bool.self, forKey: .registerfiles) ?? d.registerfiles
        sqthread_poll = try c.decodeIfPresent(Bool.self, forKey: .sqthread_poll) ?? d.sqthread_poll
        force_async = try c.decodeIfPresent(Int.self, forKey: .force_async) ?? d.force_async
        iowq_colocate = try c.decodeIfPresent(IOWQColocation.self, forKey: .iowq_colocate) ?? d.iowq_colocate
        prefill = try c.decodeIfPresent(Bool.self, forKey: .prefill) ?? d.prefill
        verify = try c.decodeIfPresent(VerifyMethod.self, forKey: .verify) ?? d.verify
        fallocate = try c.decodeIfPresent(String.self, forKey: .fallocate) ?? d.fallocate
        startdelay = try c.decodeIfPresent(Double.self, forKey: .startdelay) ?? d.startdelay
        end_fsync = try c.decodeIfPresent(Bool.self, forKey: .end_fsync) ?? d.end_fsync
        unlink = try c.decodeIfPresent(Bool.self, forKey: .unlink) ?? d.unlink
        engine = try c.decodeIfPresent(WorkloadEngine.self, forKey: .engine) ?? d.engine
    }

    /// The names of every option `set(_:_:)` accepts, as fio spells them.
    public static let supportedOptions: [String] = [
        "name", "ioengine", "rw", "readwrite", "rwmixwrite", "rwmixread", "bs", "blocksize", "iodepth",
        "iodepth_batch_submit", "iodepth_batch", "iodepth_batch_complete_min", "numjobs", "size",
        "offset", "filename", "directory", "direct", "buffered", "sync", "runtime", "time_based",
        "ramp_time", "rate_iops", "fsync", "fdatasync", "random_distribution", "buffer_pattern",
        "zero_buffers", "seed", "randseed", "fixedbufs", "registerfiles", "sqthread_poll", "force_async",
        "iowq_colocate", "prefill", "thread", "group_reporting", "stonewall", "wait_for_previous", "new_group",
        "verify", "fallocate", "startdelay", "end_fsync", "fsync_on_close", "unlink", "randrepeat", "norandommap",
        "invalidate",
    ]

    /// fio options that real job files use and writepath does not take, each with the reason
    /// (what to use instead). Giving one is an error that says so, never silently ignored.
    public static let refusedOptions: [String: String] = [
        "create_on_open": "writepath creates and allocates every target before measuring, so creation is never timed",
        "loops": "repeat runs with a matrix's repetitions (writepath run --matrix, sweep --repetitions) instead",
        "nrfiles": "each job writes one file; use numjobs for several files",
        "filesize": "each job writes one file of size bytes; use size",
        "rate": "give the rate as rate_iops (I/Os per second per job)",
        "refill_buffers": "buffers are filled once, before the run, so that no filling is timed",
        "buffer_compress_percentage": "buffers are random (or zero with buffer_pattern=zero); partly compressible data is not made",
        "cpus_allowed": "start writepath under taskset or a cpuset; iowq_colocate places io_uring's workers",
    ]

    /// Sets the option `key` from its text form, as a fio job file or a command line gives it.
    /// A `nil` value is a bare key (`time_based`), which means 1 for booleans.
    /// Throws `invalidInput` naming the key for an unknown key or a value it cannot accept.
    public mutating func set(_ key: String, _ value: String?) throws {
        let k = key.lowercased()
        let field = k
        func required() throws -> String {
            guard let v = value, !v.isEmpty else {
                throw WritePathError.invalidInput(field: field, message: "needs a value, e.g. \(field)=\(Workload.example(field))")
            }
            return v
        }
        switch k {
        case "name": name = try required()
        case "ioengine":
            let v = try required()
            guard let e = EngineKind(rawValue: v) else {
                throw WritePathError.invalidInput(field: field, message: "\(quoted(v)) is not supported; expected one of \(EngineKind.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            ioengine = e
        case "rw", "readwrite":
            let v = try required()
            guard let m = ReadWriteMode(rawValue: v) else {
                throw WritePathError.invalidInput(field: field, message: "\(quoted(v)) is not supported; expected one of \(ReadWriteMode.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            rw = m
        case "rwmixwrite": rwmixwrite = try Self.integer(try required(), field: field, range: 0...100)
        case "rwmixread": rwmixwrite = 100 - (try Self.integer(try required(), field: field, range: 0...100))
        case "bs", "blocksize":
            bs = try ByteSize.parse(try required(), field: field)
        case "iodepth": iodepth = try Self.integer(try required(), field: field, range: 1...32768)
        case "iodepth_batch_submit", "iodepth_batch":
            iodepth_batch_submit = try Self.integer(try required(), field: field, range: 0...32768)
        case "iodepth_batch_complete_min":
            iodepth_batch_complete_min = max(1, try Self.integer(try required(), field: field, range: 0...32768))
        case "numjobs": numjobs = try Self.integer(try required(), field: field, range: 1...1024)
        case "size": size = try ByteSize.parse(try required(), field: field)
        case "offset": offset = try ByteSize.parse(try required(), field: field)
        case "filename": filename = try Self.path(try required(), field: field)
        case "directory": directory = try Self.path(try required(), field: field)
        case "direct": direct = try Self.boolean(value, field: field)
        case "buffered": direct = !(try Self.boolean(value, field: field))
        case "sync": sync = try Self.boolean(value, field: field)
        case "runtime": runtime = try Self.seconds(try required(), field: field)
        case "time_based": time_based = try Self.boolean(value, field: field)
        case "ramp_time": ramp_time = try Self.seconds(try required(), field: field)
        case "rate_iops": rate_iops = try Self.integer(try required(), field: field, range: 0...100_000_000)
        case "fsync": fsync = try Self.integer(try required(), field: field, range: 0...Int(Int32.max))
        case "fdatasync": fdatasync = try Self.integer(try required(), field: field, range: 0...Int(Int32.max))
        case "random_distribution": random_distribution = try RandomDistribution.parse(try required(), field: field)
        case "buffer_pattern":
            let v = try required()
            guard let p = BufferPattern(rawValue: v.lowercased()) else {
                throw WritePathError.invalidInput(field: field, message: "\(quoted(v)) is not supported; expected random or zero")
            }
            buffer_pattern = p
        case "zero_buffers": buffer_pattern = try Self.boolean(value, field: field) ? .zero : .random
        case "seed", "randseed":
            let v = try required()
            guard let s = UInt64(v) else {
                throw WritePathError.invalidInput(field: field, message: "\(quoted(v)) is not a whole number from 0 to \(UInt64.max)")
            }
            seed = s
        case "fixedbufs": fixedbufs = try Self.boolean(value, field: field)
        case "registerfiles": registerfiles = try Self.boolean(value, field: field)
        case "sqthread_poll": sqthread_poll = try Self.boolean(value, field: field)
        case "force_async": force_async = try Self.integer(try required(), field: field, range: 0...Int(Int32.max))
        case "iowq_colocate":
            let v = try required().lowercased()
            switch v {
            case "auto": iowq_colocate = .auto
            case "1", "on", "yes", "true": iowq_colocate = .on
            case "0", "off", "no", "false": iowq_colocate = .off
            default:
                throw WritePathError.invalidInput(field: field, message: "\(quoted(v)) is not supported; expected auto, 1 or 0")
            }
        case "prefill": prefill = try Self.boolean(value, field: field)
        case "verify":
            let v = try required().lowercased()
            switch v {
            case "crc32c", "crc32c-intel": verify = .crc32c
            case "0", "none", "false", "off": verify = .none
            default:
                throw WritePathError.invalidInput(field: field, message: "'\(v)' is not supported; expected crc32c or 0")
            }
        case "fallocate":
            let v = try required().lowercased()
            switch v {
            case "native", "posix", "1": fallocate = "native"
            case "none", "0": fallocate = "none"
            default:
                throw WritePathError.invalidInput(field: field, message: "'\(v)' is not supported; expected native or none")
            }
        case "startdelay": startdelay = try Self.seconds(try required(), field: field)
        case "end_fsync", "fsync_on_close": end_fsync = try Self.boolean(value, field: field)
        case "unlink": unlink = try Self.boolean(value, field: field)
        case "randrepeat":
            // Offsets and buffers come from `seed`: the same sequence every run, as randrepeat=1.
            guard try Self.boolean(value, field: field) else {
                throw WritePathError.invalidInput(field: field, message: "0 is not supported: writepath repeats its random sequence for a seed; give another seed=N instead")
            }
        case "norandommap":
            guard try Self.boolean(value, field: field) else {
                throw WritePathError.invalidInput(field: field, message: "0 is not supported: writepath draws random offsets without a map of written blocks, as norandommap=1")
            }
        case "invalidate":
            guard try Self.boolean(value, field: field) else {
                throw WritePathError.invalidInput(field: field, message: "0 is not supported: writepath always drops the target's cached pages before measuring, as invalidate=1")
            }
        case "thread", "group_reporting", "stonewall", "wait_for_previous", "new_group":
            // writepath always runs jobs as threads and always reports per job and summed; the
            // scheduling keys take effect in job files (FioJobFile.Scheduling), where there are
            // several jobs to schedule.
            _ = try Self.boolean(value, field: field)
        default:
            if let reason = Self.refusedOptions[k] {
                throw WritePathError.invalidInput(field: field, message: "not supported: \(reason)")
            }
            throw WritePathError.invalidInput(field: clipped(key), message: "unknown option; supported: \(Workload.supportedOptions.joined(separator: ", "))")
        }
    }

    static func example(_ field: String) -> String {
        switch field {
        case "bs", "blocksize": return "4k"
        case "size", "offset": return "256m"
        case "rw", "readwrite": return "randwrite"
        case "ioengine": return "io_uring"
        case "runtime", "ramp_time": return "10"
        case "random_distribution": return "zipf:1.2"
        case "buffer_pattern": return "random"
        case "filename": return "/dev/shm/wp.dat"
        default: return "1"
        }
    }

    /// Checks a path: no NUL character (C would cut the path there) and at most PATH_MAX bytes.
    static func path(_ text: String, field: String) throws -> String {
        guard !text.utf8.contains(0) else {
            throw WritePathError.invalidInput(field: field, message: "\(quoted(text)) contains a NUL character; give a path without it")
        }
        guard text.utf8.count < Int(PATH_MAX) else {
            throw WritePathError.invalidInput(field: field, message: "\(quoted(text)) is \(text.utf8.count) bytes long; a path has at most \(Int(PATH_MAX) - 1)")
        }
        return text
    }

    /// Parses a whole number in `range`.
    static func integer(_ text: String, field: String, range: ClosedRange<Int>) throws -> Int {
        guard let v = Int(text.trimmingWhitespace()), range.contains(v) else {
            throw WritePathError.invalidInput(field: field, message: "\(quoted(text)) is not a whole number from \(range.lowerBound) to \(range.upperBound)")
        }
        return v
    }

    /// Parses a boolean as fio does: 1/0, true/false, yes/no, on/off; a bare key is true.
    static func boolean(_ text: String?, field: String) throws -> Bool {
        guard let t = text?.trimmingWhitespace().lowercased(), !t.isEmpty else { return true }
        switch t {
        case "1", "true", "yes", "on": return true
        case "0", "false", "no", "off": return false
        default:
            throw WritePathError.invalidInput(field: field, message: "\(quoted(text!)) is not a boolean; expected 1 or 0")
        }
    }

    /// Parses a duration as fio does: a bare number is seconds; suffixes us, ms, s, m, h, d.
    static func seconds(_ text: String, field: String) throws -> Double {
        let t = text.trimmingWhitespace().lowercased()
        let units: [(String, Double)] = [("us", 1e-6), ("ms", 1e-3), ("s", 1), ("m", 60), ("h", 3600), ("d", 86400)]
        for (suffix, scale) in units where t.hasSuffix(suffix) {
            if let v = Double(t.dropLast(suffix.count)), v >= 0, v.isFinite, v * scale <= 31_536_000 { return v * scale }
        }
        if let v = Double(t), v >= 0, v.isFinite, v <= 31_536_000 { return v }
        throw WritePathError.invalidInput(field: field, message: "\(quoted(text)) is not a duration; expected seconds (10) or a number with us/ms/s/m/h, at most one year")
    }

    /// The flush interval in writes and whether it is fdatasync, or nil when no flushes.
    public var flushEvery: (writes: Int, datasync: Bool)? {
        if fdatasync > 0 { return (fdatasync, true) }
        if fsync > 0 { return (fsync, false) }
        return nil
    }

    /// Physical memory in bytes (sysconf), bounding the I/O buffers a workload may allocate.
    static var physicalMemoryBytes: UInt64 {
        let pages = sysconf(Int32(_SC_PHYS_PAGES)), pageSize = sysconf(Int32(_SC_PAGESIZE))
        guard pages > 0, pageSize > 0 else { return 1 << 30 }
        return UInt64(pages) * UInt64(pageSize)
    }

    /// Checks the options against each other (not against the target; `Target` does that).
    public func validate() throws {
        if let filename, filename.hasPrefix("/"), let directory {
            // fio would write <directory>/<the whole absolute path>, making folders on the way.
            throw WritePathError.invalidInput(
                field: "filename", message: "\(quoted(filename)) is absolute and --directory \(quoted(directory)) is given; "
                    + "give a filename relative to the directory, or drop --directory")
        }
        if bs == 0 { throw WritePathError.invalidInput(field: "bs", message: "must be at least 1 byte; e.g. 4k") }
        if bs > 1 << 30 { throw WritePathError.invalidInput(field: "bs", message: "\(ByteSize.format(bs)) is too large; at most 1GiB") }
        if let size, size < bs {
            throw WritePathError.invalidInput(field: "size", message: "\(ByteSize.format(size)) is smaller than bs=\(ByteSize.format(bs)); give at least one block")
        }
        if let size, size > UInt64(Int64.max) - offset {
            throw WritePathError.invalidInput(field: "size", message: "offset+size is beyond 8EiB, the largest file offset")
        }
        if time_based && runtime == 0 {
            throw WritePathError.invalidInput(field: "time_based", message: "needs runtime, e.g. --runtime 10")
        }
        if ramp_time > 0 && runtime > 0 && !time_based && ramp_time >= runtime {
            throw WritePathError.invalidInput(field: "ramp_time", message: "\(ramp_time)s is not shorter than runtime \(runtime)s")
        }
        if fsync > 0 && fdatasync > 0 {
            throw WritePathError.invalidInput(field: "fdatasync", message: "give either fsync or fdatasync, not both")
        }
        if sqthread_poll && ioengine != .io_uring {
            throw WritePathError.invalidInput(field: "sqthread_poll", message: "only applies to ioengine=io_uring")
        }
        if force_async > 0 && ioengine != .io_uring {
            throw WritePathError.invalidInput(field: "force_async", message: "only applies to ioengine=io_uring")
        }
        if iowq_colocate != .auto && ioengine != .io_uring {
            throw WritePathError.invalidInput(field: "iowq_colocate", message: "only applies to ioengine=io_uring")
        }
        if iowq_colocate == .on && sqthread_poll {
            throw WritePathError.invalidInput(field: "iowq_colocate", message: "with sqthread_poll the kernel's polling thread submits, not the job thread; give iowq_colocate=1 or sqthread_poll=1, not both")
        }
        if iodepth_batch_submit > iodepth {
            throw WritePathError.invalidInput(field: "iodepth_batch_submit", message: "\(iodepth_batch_submit) exceeds iodepth=\(iodepth)")
        }
        if iodepth_batch_complete_min > iodepth {
            throw WritePathError.invalidInput(field: "iodepth_batch_complete_min", message: "\(iodepth_batch_complete_min) exceeds iodepth=\(iodepth)")
        }
        if verify != .none {
            if bs < 512 {
                throw WritePathError.invalidInput(field: "verify", message: "needs bs of at least 512 bytes to hold the block stamp")
            }
            if numjobs > 1 && filename != nil {
                throw WritePathError.invalidInput(field: "verify", message: "needs one job per target: with numjobs > 1 leave out filename so each job gets its own file")
            }
            if rw == .read || rw == .randread {
                throw WritePathError.invalidInput(field: "verify", message: "checks what the job writes; use a write workload")
            }
        }
        if name.isEmpty || name.contains("/") || name.utf8.contains(0) || name.utf8.count > 200 {
            throw WritePathError.invalidInput(field: "name", message: "\(quoted(name)) is not a job name; give 1 to 200 bytes without '/' or NUL (it names the target file)")
        }
        let buffers = UInt64(iodepth) * (rw.writes && rw.reads ? 2 : 1) * UInt64(numjobs)
        let (bufferBytes, overflow) = buffers.multipliedReportingOverflow(by: bs)
        let memoryLimit = Self.physicalMemoryBytes / 2
        if overflow || bufferBytes > memoryLimit {
            throw WritePathError.invalidInput(
                field: "iodepth",
                message: "iodepth=\(iodepth) x bs=\(ByteSize.format(bs)) x numjobs=\(numjobs)\(rw == .randrw ? " x 2 (randrw)" : "") needs \(overflow ? "more than 8EiB" : ByteSize.format(bufferBytes)) of I/O buffers; at most \(ByteSize.format(memoryLimit)), half of this machine's memory")
        }
    }
}

extension Workload {
    /// The workload's name with the engine when it is not writepath's (`rand4k [fio]`): what a
    /// matrix and a report tell runs apart by, so that the two engines' runs never mix.
    public var identity: String { engine == .writepath ? name : "\(name) [\(engine.rawValue)]" }

    /// The workload as `writepath run` options (`--rw=randwrite`), every option that differs
    /// from the default, so that the same workload can run in another process, container or guest.
    public var commandLineArguments: [String] {
        let d = Workload()
        var a: [String] = []
        func add(_ k: String, _ v: String) { a.append("--\(k)=\(v)") }
        if name != d.name { add("name", name) }
        if ioengine != d.ioengine { add("ioengine", ioengine.rawValue) }
        if rw != d.rw { add("rw", rw.rawValue) }
        if rwmixwrite != d.rwmixwrite { add("rwmixwrite", "\(rwmixwrite)") }
        if bs != d.bs { add("bs", "\(bs)") }
        if iodepth != d.iodepth { add("iodepth", "\(iodepth)") }
        if iodepth_batch_submit != d.iodepth_batch_submit { add("iodepth_batch_submit", "\(iodepth_batch_submit)") }
        if iodepth_batch_complete_min != d.iodepth_batch_complete_min { add("iodepth_batch_complete_min", "\(iodepth_batch_complete_min)") }
        if numjobs != d.numjobs { add("numjobs", "\(numjobs)") }
        if let size { add("size", "\(size)") }
        if offset != d.offset { add("offset", "\(offset)") }
        if let filename { add("filename", filename) }
        if let directory { add("directory", directory) }
        if direct != d.direct { add("direct", direct ? "1" : "0") }
        if sync != d.sync { add("sync", sync ? "1" : "0") }
        if runtime != d.runtime { add("runtime", "\(runtime)") }
        if time_based != d.time_based { add("time_based", time_based ? "1" : "0") }
        if ramp_time != d.ramp_time { add("ramp_time", "\(ramp_time)") }
        if rate_iops != d.rate_iops { add("rate_iops", "\(rate_iops)") }
        if fsync != d.fsync { add("fsync", "\(fsync)") }
        if fdatasync != d.fdatasync { add("fdatasync", "\(fdatasync)") }
        if random_distribution != d.random_distribution { add("random_distribution", random_distribution.description) }
        if buffer_pattern != d.buffer_pattern { add("buffer_pattern", buffer_pattern.rawValue) }
        if seed != d.seed { add("seed", "\(seed)") }
        if fixedbufs != d.fixedbufs { add("fixedbufs", fixedbufs ? "1" : "0") }
        if registerfiles != d.registerfiles { add("registerfiles", registerfiles ? "1" : "0") }
        if sqthread_poll != d.sqthread_poll { add("sqthread_poll", sqthread_poll ? "1" : "0") }
        if force_async != d.force_async { add("force_async", "\(force_async)") }
        if iowq_colocate != d.iowq_colocate { add("iowq_colocate", iowq_colocate.optionValue) }
        if prefill != d.prefill { add("prefill", prefill ? "1" : "0") }
        if verify != d.verify { add("verify", verify.rawValue) }
        if fallocate != d.fallocate { add("fallocate", fallocate) }
        if startdelay != d.startdelay { add("startdelay", "\(startdelay)") }
        if end_fsync != d.end_fsync { add("end_fsync", end_fsync ? "1" : "0") }
        if unlink != d.unlink { add("unlink", unlink ? "1" : "0") }
        return a
    }
}
