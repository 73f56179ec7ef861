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
    /// NVMe commands through io_uring's IORING_OP_URING_CMD on an NVMe generic char device
    /// (`/dev/ngXnY`): the block layer is skipped (IOUringCmdEngine.swift).
    case io_uring_cmd
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
        throw WritePathError.invalidInput(
            field: field, message: "\(quoted(text)) is not supported; expected uniform or zipf:THETA (e.g. zipf:1.2)")
    }
}

/// What the write buffers hold: writepath's `buffer_pattern`.
public enum BufferPattern: String, Codable, Sendable, CaseIterable {
    /// Pseudo-random bytes from the job's seed (defeats compression and deduplication).
    case random
    /// All zero bytes.
    case zero
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
    /// Completions to wait for before reaping, as given (0 and 1 both wait for one); nil when not
    /// given: the engine chooses (`IOEngine.completionBatch`).
    public var iodepth_batch_complete_min: Int?
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
    /// Passes over the region when not `time_based` (fio's `loops`): the job does `size` bytes
    /// this many times, as one measured run.
    public var loops: Int = 1
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
    /// io_uring's own options (`IOUringOptions`, declared in IOUringEngine.swift).
    public var io_uring = IOUringOptions()
    /// io_uring_cmd's own options (`IOUringCmdOptions`, declared in IOUringCmdEngine.swift).
    public var io_uring_cmd = IOUringCmdOptions()
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

    /// Every workload option, in the order help lists them: the common ones, then each engine's
    /// own (declared in the engine's file). Adding an option is one entry here (or in its
    /// engine's list) plus the property it sets.
    public static let options: [WorkloadOption] =
        commonOptions + IOUringOptions.options + IOUringCmdOptions.options
        + refusedFioOptions

    /// The options every engine takes.
    static let commonOptions: [WorkloadOption] = [
        .stored(
            "name", \.name, .value(placeholder: "NAME"), example: "job", help: "Job name; it names the default target file.",
            parse: { text, _ in text! }, format: { $0 }),
        .choice("ioengine", \.ioengine, help: "The I/O engine; null does no I/O, to measure the harness."),
        .choice("rw", aliases: ["readwrite"], \.rw, help: "The I/O pattern."),
        .integer("rwmixwrite", \.rwmixwrite, 0...100, placeholder: "PERCENT", help: "Percentage of writes in randrw."),
        .derived("rwmixread", .value(placeholder: "PERCENT"), help: "Percentage of reads in randrw (100 - rwmixwrite).") {
            w, text, field in w.rwmixwrite = 100 - (try Workload.integer(text!, field: field, range: 0...100))
        },
        .bytes("bs", aliases: ["blocksize"], \.bs, example: "4k", default: "4k", help: "Block size in bytes; k/m/g suffixes."),
        .integer("iodepth", \.iodepth, 1...32768, help: "I/Os in flight per job."),
        .integer(
            "iodepth_batch_submit", aliases: ["iodepth_batch"], \.iodepth_batch_submit, 0...32768,
            default: "0, all free slots", help: "Prepared I/Os per submission."),
        .stored(
            "iodepth_batch_complete_min", \.iodepth_batch_complete_min, .value(placeholder: "N"),
            default: "the engine's choice",
            help: "Completions to wait for per reap (0 counts as 1); not given: the engine chooses.",
            parse: { max(1, try Workload.integer($0!, field: $1, range: 0...32768)) }, format: { $0.map { "\($0)" } }),
        .integer("numjobs", \.numjobs, 1...1024, help: "Threads, each with its own ring or context, on one target region."),
        .stored(
            "size", \.size, .value(placeholder: "SIZE"), example: "256m", default: "the target's size",
            help: "Bytes of the region per job; k/m/g suffixes. Needed for a new file.",
            parse: { try ByteSize.parse($0!, field: $1) }, format: { $0.map { "\($0)" } }),
        .bytes("offset", \.offset, example: "256m", help: "Start of the region in bytes."),
        .stored(
            "filename", \.filename, .value(placeholder: "PATH"), example: "/dev/shm/wp.dat", default: "./NAME.JOB.0 per job",
            help: "Target file or block device.", parse: { try Workload.path($0!, field: $1) }, format: { $0 }),
        .stored(
            "directory", \.directory, .value(placeholder: "DIR"), example: "/dev/shm", help: "Folder for default file names.",
            parse: { try Workload.path($0!, field: $1) }, format: { $0 }),
        .flag("direct", \.direct, help: "1: O_DIRECT; 0: buffered."),
        .derived("buffered", .flag, help: "1: buffered I/O (the same as direct=0).") { w, text, field in
            w.direct = !(try Workload.boolean(text, field: field))
        },
        .flag("sync", \.sync, help: "1: open with O_DSYNC."),
        .seconds("runtime", \.runtime, help: "Seconds to run (suffixes ms, s, m, h); 0: until size is done."),
        .flag("time_based", \.time_based, help: "Run for the whole runtime, wrapping around the region."),
        .integer("loops", \.loops, 1...1_000_000, help: "Passes over the region, as one run; time_based runs ignore it."),
        .seconds("ramp_time", \.ramp_time, help: "Seconds of I/O before measuring; excluded from all metrics."),
        .integer("rate_iops", \.rate_iops, 0...100_000_000, default: "0, unlimited", help: "I/Os per second per job."),
        .integer("fsync", \.fsync, 0...Int(Int32.max), help: "fsync after every N writes; 0: never."),
        .integer("fdatasync", \.fdatasync, 0...Int(Int32.max), help: "fdatasync after every N writes; 0: never."),
        .stored(
            "random_distribution", \.random_distribution, .value(placeholder: "uniform|zipf:THETA"), example: "zipf:1.2",
            help: "How random offsets are distributed.",
            parse: { try RandomDistribution.parse($0!, field: $1) }, format: { $0.description }),
        .choice("buffer_pattern", \.buffer_pattern, lowercased: true, help: "What write buffers hold."),
        .derived("zero_buffers", .flag, help: "1: write zeroes (the same as buffer_pattern=zero).") { w, text, field in
            w.buffer_pattern = try Workload.boolean(text, field: field) ? .zero : .random
        },
        .stored(
            "seed", aliases: ["randseed"], \.seed, .value(placeholder: "N"), help: "Seed of offsets and buffer contents.",
            parse: { text, field in
                guard let s = UInt64(text!) else {
                    throw WritePathError.invalidInput(
                        field: field, message: "\(quoted(text!)) is not a whole number from 0 to \(UInt64.max)")
                }
                return s
            }, format: { "\($0)" }),
        .flag("prefill", \.prefill, help: "Write the whole region once before measuring."),
        .stored(
            "verify", \.verify, .value(placeholder: "crc32c|0"), example: "crc32c",
            help: "crc32c: stamp every block and read the target back after the run.",
            parse: { text, field in
                switch text!.lowercased() {
                case "crc32c", "crc32c-intel": return .crc32c
                case "0", "none", "false", "off": return VerifyMethod.none
                default:
                    throw WritePathError.invalidInput(
                        field: field, message: "'\(text!.lowercased())' is not supported; expected crc32c or 0")
                }
            }, format: { $0.rawValue }),
        .stored(
            "fallocate", \.fallocate, .value(placeholder: "native|none"), example: "native",
            help: "native: allocate a new file first; none: sparse (the writes allocate).",
            parse: { text, field in
                switch text!.lowercased() {
                case "native", "posix", "1": return "native"
                case "none", "0": return "none"
                default:
                    throw WritePathError.invalidInput(
                        field: field, message: "'\(text!.lowercased())' is not supported; expected native or none")
                }
            }, format: { $0 }),
        .seconds("startdelay", \.startdelay, help: "Seconds to wait before the job starts."),
        .flag("end_fsync", aliases: ["fsync_on_close"], \.end_fsync, help: "fsync the target once the job has ended (not timed)."),
        .flag("unlink", \.unlink, help: "Remove the target files writepath created, after the run."),
        // Offsets and buffers come from `seed`: the same sequence every run, as randrepeat=1.
        .alwaysOn(
            "randrepeat", help: "Accepted as fio's 1: the random sequence repeats for a seed.",
            why: "writepath repeats its random sequence for a seed; give another seed=N instead"),
        .alwaysOn(
            "norandommap", help: "Accepted as fio's 1: offsets are drawn without a map.",
            why: "writepath draws random offsets without a map of written blocks, as norandommap=1"),
        .alwaysOn(
            "invalidate", help: "Accepted as fio's 1: cached pages are dropped before measuring.",
            why: "writepath always drops the target's cached pages before measuring, as invalidate=1"),
        .derived("thread", .flag, help: "Accepted as fio's: writepath's jobs are always threads.") { _, text, field in
            _ = try Workload.boolean(text, field: field)
        },
        .scheduling("group_reporting", \.groupReporting, help: "Sum each group's jobs in the text output (job files)."),
        .scheduling(
            "stonewall", aliases: ["wait_for_previous"], \.stonewall,
            help: "Wait for the jobs before this one to end; starts a reporting group (job files)."),
        .scheduling("new_group", \.newGroup, help: "Start a new reporting group (job files)."),
    ]

    /// fio options that real job files use and writepath does not take, each with the reason
    /// (what to use instead). Giving one is an error that says so, never silently ignored.
    static let refusedFioOptions: [WorkloadOption] = [
        .refused("create_on_open", "writepath creates and allocates every target before measuring, so creation is never timed"),
        .refused("nrfiles", "each job writes one file; use numjobs for several files"),
        .refused("filesize", "each job writes one file of size bytes; use size"),
        .refused("rate", "give the rate as rate_iops (I/Os per second per job)"),
        .refused("refill_buffers", "buffers are filled once, before the run, so that no filling is timed"),
        .refused(
            "buffer_compress_percentage",
            "buffers are random (or zero with buffer_pattern=zero); partly compressible data is not made"),
        .refused("cpus_allowed", "start writepath under taskset or a cpuset; iowq_colocate places io_uring's workers"),
    ]

    /// Every option by each of its names.
    static let optionsByName: [String: WorkloadOption] = Dictionary(
        options.flatMap { o in o.names.map { ($0, o) } }, uniquingKeysWith: { first, _ in first })

    /// The option `key` names (any case), or nil.
    public static func option(named key: String) -> WorkloadOption? { optionsByName[key.lowercased()] }

    /// Decodes a workload recorded by any version of writepath.result/1: a key an older version
    /// did not write takes its default.
    public init(from decoder: Decoder) throws {
        self.init()
        let c = try decoder.container(keyedBy: WorkloadCodingKey.self)
        for option in Self.options { try option.decode?(&self, c) }
        engine = try c.decodeIfPresent(WorkloadEngine.self, forKey: WorkloadCodingKey("engine")) ?? engine
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: WorkloadCodingKey.self)
        for option in Self.options { try option.encode?(self, &c) }
        try c.encode(engine, forKey: WorkloadCodingKey("engine"))
    }

    /// The names of every option `set(_:_:)` accepts, as fio spells them.
    public static let supportedOptions: [String] = options.filter { !$0.isRefused }.flatMap(\.names)

    /// fio options that real job files use and writepath does not take, each with the reason
    /// (what to use instead).
    public static let refusedOptions: [String: String] = Dictionary(
        uniqueKeysWithValues: refusedFioOptions.compactMap { o in
            if case let .refused(reason) = o.kind { (o.name, reason) } else { nil }
        })

    /// Sets the option `key` from its text form, as a fio job file or a command line gives it.
    /// A `nil` value is a bare key (`time_based`), which means 1 for booleans.
    /// Throws `invalidInput` naming the key for an unknown key or a value it cannot accept.
    public mutating func set(_ key: String, _ value: String?) throws {
        guard let option = Self.option(named: key) else {
            throw WritePathError.invalidInput(
                field: clipped(key), message: "unknown option; supported: \(Workload.supportedOptions.joined(separator: ", "))")
        }
        try option.parse(&self, value, key.lowercased())
    }

    /// Checks a path: no NUL character (C would cut the path there) and at most PATH_MAX bytes.
    static func path(_ text: String, field: String) throws -> String {
        guard !text.utf8.contains(0) else {
            throw WritePathError.invalidInput(field: field, message: "\(quoted(text)) contains a NUL character; give a path without it")
        }
        guard text.utf8.count < Int(PATH_MAX) else {
            throw WritePathError.invalidInput(
                field: field, message: "\(quoted(text)) is \(text.utf8.count) bytes long; a path has at most \(Int(PATH_MAX) - 1)")
        }
        return text
    }

    /// Parses a whole number in `range`.
    static func integer(_ text: String, field: String, range: ClosedRange<Int>) throws -> Int {
        guard let v = Int(text.trimmingWhitespace()), range.contains(v) else {
            throw WritePathError.invalidInput(
                field: field, message: "\(quoted(text)) is not a whole number from \(range.lowerBound) to \(range.upperBound)")
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
        throw WritePathError.invalidInput(
            field: field, message: "\(quoted(text)) is not a duration; expected seconds (10) or a number with us/ms/s/m/h, at most one year"
        )
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
                field: "filename",
                message: "\(quoted(filename)) is absolute and --directory \(quoted(directory)) is given; "
                    + "give a filename relative to the directory, or drop --directory")
        }
        if bs == 0 { throw WritePathError.invalidInput(field: "bs", message: "must be at least 1 byte; e.g. 4k") }
        if bs > 1 << 30 { throw WritePathError.invalidInput(field: "bs", message: "\(ByteSize.format(bs)) is too large; at most 1GiB") }
        if let size, size < bs {
            throw WritePathError.invalidInput(
                field: "size", message: "\(ByteSize.format(size)) is smaller than bs=\(ByteSize.format(bs)); give at least one block")
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
        // An engine's own options keep their defaults with another engine: never silently ignored.
        let defaults = Workload()
        for option in Self.options where !option.engines.isEmpty && !option.engines.contains(ioengine) && option.differs(self, defaults) {
            let engines = option.engines.map { "ioengine=\($0.rawValue)" }.joined(separator: " or ")
            throw WritePathError.invalidInput(field: option.name, message: "only applies to \(engines)")
        }
        if ioengine == .io_uring { try io_uring.validate() }
        if ioengine == .io_uring_cmd { try io_uring_cmd.validate(self) }
        if iodepth_batch_submit > iodepth {
            throw WritePathError.invalidInput(field: "iodepth_batch_submit", message: "\(iodepth_batch_submit) exceeds iodepth=\(iodepth)")
        }
        if let iodepth_batch_complete_min, iodepth_batch_complete_min > iodepth {
            throw WritePathError.invalidInput(
                field: "iodepth_batch_complete_min", message: "\(iodepth_batch_complete_min) exceeds iodepth=\(iodepth)")
        }
        if verify != .none {
            if bs < 512 {
                throw WritePathError.invalidInput(field: "verify", message: "needs bs of at least 512 bytes to hold the block stamp")
            }
            if numjobs > 1 && filename != nil {
                throw WritePathError.invalidInput(
                    field: "verify", message: "needs one job per target: with numjobs > 1 leave out filename so each job gets its own file")
            }
            if rw == .read || rw == .randread {
                throw WritePathError.invalidInput(field: "verify", message: "checks what the job writes; use a write workload")
            }
        }
        if name.isEmpty || name.contains("/") || name.utf8.contains(0) || name.utf8.count > 200 {
            throw WritePathError.invalidInput(
                field: "name",
                message: "\(quoted(name)) is not a job name; give 1 to 200 bytes without '/' or NUL (it names the target file)")
        }
        let buffers = UInt64(iodepth) * (rw.writes && rw.reads ? 2 : 1) * UInt64(numjobs)
        let (bufferBytes, overflow) = buffers.multipliedReportingOverflow(by: bs)
        let memoryLimit = Self.physicalMemoryBytes / 2
        if overflow || bufferBytes > memoryLimit {
            throw WritePathError.invalidInput(
                field: "iodepth",
                message:
                    "iodepth=\(iodepth) x bs=\(ByteSize.format(bs)) x numjobs=\(numjobs)\(rw == .randrw ? " x 2 (randrw)" : "") "
                    + "needs \(overflow ? "more than 8EiB" : ByteSize.format(bufferBytes)) of I/O buffers; at most "
                    + "\(ByteSize.format(memoryLimit)), half of this machine's memory"
            )
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
        let defaults = Workload()
        return Self.options.compactMap { $0.argument(self, defaults: defaults) }
    }
}
