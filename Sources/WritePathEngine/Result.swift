/// The JSON result document, `writepath.result/1`: the public contract every later part reads.
/// Field names are stable; new fields may be added, none renamed or removed within version 1.
public struct ResultDocument: Codable, Sendable {
    public static let currentSchema = "writepath.result/1"
    public var schema: String = ResultDocument.currentSchema
    public var writepath: Provenance
    public var host: HostInfo
    public var runs: [RunResult]
    /// Present in a matrix's `run.json`.
    public var matrix: MatrixInfo?
    /// Present in a sweep's `run.json` (`writepath sweep`).
    public var sweep: SweepInfo?

    public init(writepath: Provenance, host: HostInfo, runs: [RunResult], matrix: MatrixInfo? = nil, sweep: SweepInfo? = nil) {
        self.writepath = writepath
        self.host = host
        self.runs = runs
        self.matrix = matrix
        self.sweep = sweep
    }
}

/// Which writepath produced a result, and how it was called.
public struct Provenance: Codable, Sendable {
    public var version: String
    public var git_commit: String
    /// The command line, argv[0] excluded.
    public var arguments: [String]
    public init(version: String, git_commit: String, arguments: [String]) {
        self.version = version
        self.git_commit = git_commit
        self.arguments = arguments
    }
}

/// The machine the run was measured on.
public struct HostInfo: Codable, Sendable, Equatable {
    public var hostname: String
    /// `uname -r`.
    public var kernel: String
    /// `uname -v`.
    public var kernel_version: String
    /// CPU model name from /proc/cpuinfo.
    public var cpu: String
    /// Online logical CPUs.
    public var cores: Int
    /// Physical memory in bytes.
    public var memory_bytes: UInt64
    /// What the machine itself runs on: bare metal or a hypervisor (absent in older results).
    public var virtualization: Virtualization? = nil
}

/// The virtualization under the machine that ran the engine, as `systemd-detect-virt` finds it:
/// the CPU's hypervisor leaf, DMI, /sys/hypervisor and the kernel's command line. On a VM the
/// "host" baseline is itself a guest: layer costs measured there include no bare-metal baseline.
public struct Virtualization: Codable, Sendable, Equatable {
    /// `none` (bare metal as far as the evidence goes) or `vm`.
    public var kind: String
    /// The hypervisor: `kvm`, `xen`, `microsoft`, `vmware`, `qemu-tcg`, ... (absent when none).
    public var hypervisor: String?
    /// The machine as a reader would name it: `Firecracker microVM`, `QEMU Standard PC`, `Amazon EC2 m5.large`.
    public var product: String?
    /// What the finding rests on, e.g. `cpuid leaf 0x40000000 "KVMKVMKVM"; no DMI tables; kernel command line names firecracker`.
    public var evidence: String

    public init(kind: String, hypervisor: String? = nil, product: String? = nil, evidence: String) {
        self.kind = kind
        self.hypervisor = hypervisor
        self.product = product
        self.evidence = evidence
    }

    /// `a Firecracker microVM (kvm)`, `a KVM guest`, or `bare metal`: for report headings.
    public var phrase: String {
        guard kind == "vm" else { return "bare metal" }
        if let product { return "a \(product)" + (hypervisor.map { " (\($0))" } ?? "") }
        return "a \(hypervisor.map { $0.uppercased() } ?? "virtual machine") guest"
    }
}

/// The layer a run was measured in: `name` plus every setting that matters to it.
public struct LayerInfo: Codable, Sendable, Equatable {
    public var name: String
    /// Settings as strings (storage driver, runtime, limits, versions, accel, ...).
    public var settings: [String: String]

    public init(name: String, settings: [String: String] = [:]) {
        self.name = name
        self.settings = settings
    }

    struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    /// Encoded flat: `{"name": "host", "storage_driver": "overlay2", ...}`.
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: Key.self)
        try c.encode(name, forKey: Key(stringValue: "name"))
        for (k, v) in settings.sorted(by: { $0.key < $1.key }) where k != "name" {
            try c.encode(v, forKey: Key(stringValue: k))
        }
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: Key.self)
        name = try c.decode(String.self, forKey: Key(stringValue: "name"))
        settings = [:]
        for k in c.allKeys where k.stringValue != "name" {
            if let s = try? c.decode(String.self, forKey: k) {
                settings[k.stringValue] = s
            } else if let i = try? c.decode(Int64.self, forKey: k) {
                settings[k.stringValue] = String(i)
            } else if let d = try? c.decode(Double.self, forKey: k) {
                settings[k.stringValue] = String(d)
            } else if let b = try? c.decode(Bool.self, forKey: k) {
                settings[k.stringValue] = String(b)
            }
        }
    }
}

/// The engine that ran and what it used.
public struct EngineInfo: Codable, Sendable, Equatable {
    public var name: String
    public var features: [String]
}

/// One second (or the last, shorter interval) of one direction.
public struct SeriesPoint: Codable, Sendable, Equatable {
    /// End of the interval in seconds since measuring started.
    public var t_s: Double
    public var iops: Double
    public var bw_bytes_per_s: Double
    /// p99 latency within the interval in nanoseconds (0 when no I/O completed).
    public var p99_ns: UInt64
}

/// The metrics of one direction (write or read) of a job or a run.
public struct DirectionResult: Codable, Sendable {
    /// Successful I/Os.
    public var ios: UInt64
    /// Bytes of the successful I/Os.
    public var bytes: UInt64
    /// I/Os per second over the measured time.
    public var iops: Double
    public var bw_bytes_per_s: Double
    /// Measured time in seconds (ramp excluded).
    public var runtime_s: Double
    /// I/Os that failed or were short; never counted in `ios` or `bytes`.
    public var errors: UInt64
    public var lat_ns: LatencySummary
    public var histogram: EncodedHistogram
    public var series: [SeriesPoint]
}

/// Flushes (fsync/fdatasync): count and latency in nanoseconds.
public struct FlushResult: Codable, Sendable {
    public var ios: UInt64
    public var errors: UInt64
    public var lat_ns: LatencySummary
    public var histogram: EncodedHistogram
}

/// CPU use of the engine's threads over the measured time.
public struct CPUResult: Codable, Sendable, Equatable {
    /// Seconds of user and system time of the job threads (getrusage RUSAGE_THREAD), as fio reports.
    public var user_s: Double
    public var sys_s: Double
    public var ctx_voluntary: Int64
    public var ctx_involuntary: Int64
    /// (user + sys) of the job threads per completed I/O, in nanoseconds.
    public var cpu_ns_per_io: Double
    /// The whole process over the measured time, kernel I/O worker threads included.
    public var process_user_s: Double
    public var process_sys_s: Double
    public var process_cpu_ns_per_io: Double
}

/// One job's (thread's) share of a run.
public struct JobResult: Codable, Sendable {
    public var job: Int
    public var path: String
    public var write: DirectionResult?
    public var read: DirectionResult?
    public var flush: FlushResult?
    public var cpu: CPUResult
    public var error: String?
    /// With `verify`: this job's read-back verdict.
    public var verify: VerifyResult?
}

/// One workload run once in one layer: `runs[]`.
public struct RunResult: Codable, Sendable {
    public var layer: LayerInfo
    public var workload: Workload
    /// Repetition number, from 1.
    public var rep: Int
    /// `ok`, or `failed` when any I/O or call failed (metrics then cover what completed).
    public var status: String
    public var error: String?
    /// UTC start time, ISO 8601.
    public var started_at: String
    public var target: TargetInfo?
    public var engine: EngineInfo
    /// Summed over jobs; latency from the merged histograms.
    public var write: DirectionResult?
    public var read: DirectionResult?
    public var flush: FlushResult?
    public var cpu: CPUResult
    /// With `verify`: every block read back and classified after the run.
    public var verify: VerifyResult?
    /// With `fsync`/`fdatasync`: whether the flushes reached stable storage, with the evidence.
    public var durability: Durability?
    public var jobs: [JobResult]
    /// Things the reader must know (O_DIRECT not effective, memory-backed target, ...).
    public var warnings: [String]
    /// As fio's `iodepth_level`: the percentage of measured submissions made at each queue
    /// depth (I/Os in flight once submitted), in fio's buckets `1`, `2` (2-3), `4` (4-7), `8`,
    /// `16`, `32` and `>=64`. Shows whether the queue was kept as deep as `iodepth` asked.
    public var iodepth_level: [String: Double]? = nil
    /// In a sweep: the step and tenant this run was (absent otherwise).
    public var sweep: SweepTag? = nil
    /// fio's reporting group of this job, from 0, for job files with several jobs: a new group
    /// starts at each `stonewall` or `new_group` (absent otherwise).
    public var group: Int? = nil
    /// Wall-clock time (seconds since 1970, CLOCK_REALTIME) when the job threads started and when
    /// they had all ended: lets a layer that shares this clock measure its start-up and teardown.
    public var started_unix_s: Double? = nil
    public var ended_unix_s: Double? = nil
    /// Present when a user ran `writepath run --layer-label NAME` by hand inside an environment
    /// writepath cannot create (OpenVZ, Porto, a cloud VM, a Kubernetes pod): `layer` is NAME.
    public var hand_run: HandRun? = nil
}

/// A run made by hand in an environment writepath did not create, and what that environment is.
public struct HandRun: Codable, Sendable, Equatable {
    /// The `--layer-label` as given (`k8s-pod` or `k8s-pod:node=n1`).
    public var label: String
    /// The machine the engine saw from inside the environment (hostname, kernel, CPU, virtualization).
    public var host: HostInfo

    public init(label: String, host: HostInfo) {
        self.label = label
        self.host = host
    }
}

extension RunResult {
    /// A run that produced no measurement: `status` is `failed` (or `unavailable` for a layer that
    /// cannot run here) and `error` says why. It has no metrics, so it never counts as throughput.
    public static func failed(layer: LayerInfo, workload: Workload, rep: Int, error: String, status: String = "failed",
                              startedAt: String) -> RunResult {
        RunResult(layer: layer, workload: workload, rep: rep, status: status, error: error, started_at: startedAt,
                  target: nil, engine: EngineInfo(name: workload.ioengine.rawValue, features: []),
                  write: nil, read: nil, flush: nil,
                  cpu: CPUResult(user_s: 0, sys_s: 0, ctx_voluntary: 0, ctx_involuntary: 0, cpu_ns_per_io: 0,
                                 process_user_s: 0, process_sys_s: 0, process_cpu_ns_per_io: 0),
                  verify: nil, durability: nil, jobs: [], warnings: [])
    }
}

/// How a matrix was run: `run.json`'s `matrix` object.
public struct MatrixInfo: Codable, Sendable {
    /// The seed that shuffled the layer order of each round.
    public var seed: UInt64
    /// `3`, or `auto` with its bounds.
    public var repetitions: String
    /// Each round's layer order, as layer descriptions.
    public var rounds: [[String]]
    /// For each layer and workload (`layer / workload`), why its repetitions stopped.
    public var stop_reasons: [String: String]
    public var total_runs: Int
    public var failed_runs: Int
    public var complete: Bool

    public init(seed: UInt64, repetitions: String, rounds: [[String]], stop_reasons: [String: String], total_runs: Int,
                failed_runs: Int, complete: Bool) {
        self.seed = seed
        self.repetitions = repetitions
        self.rounds = rounds
        self.stop_reasons = stop_reasons
        self.total_runs = total_runs
        self.failed_runs = failed_runs
        self.complete = complete
    }
}
