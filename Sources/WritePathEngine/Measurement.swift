// What the engine measured, as the records the result schema (WritePathResult) carries verbatim:
// the machine, the engine, each direction with its latency summary and encoded histogram, flushes,
// CPU time, and each job. `RunMeasurement` is one run's measurement; WritePathResult's `RunResult`
// wraps it with the run's identity (layer, repetition, status). Field names are part of
// `writepath.result/1`: new fields may be added, none renamed or removed.

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

/// One workload run once on this machine, as the engine measured it: everything of a `runs[]`
/// entry except who ran it (layer, repetition), its status and its sweep tag, which
/// WritePathResult's `RunResult` adds. Encoded into the same JSON object as those.
public struct RunMeasurement: Codable, Sendable {
    /// Why the run failed (the first failed I/O or call, a verify failure, an interruption); nil
    /// when everything succeeded. The metrics then cover what completed.
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
    /// Wall-clock time (seconds since 1970, CLOCK_REALTIME) when the job threads started and when
    /// they had all ended: lets a layer that shares this clock measure its start-up and teardown.
    public var started_unix_s: Double? = nil
    public var ended_unix_s: Double? = nil
    /// Present when a user ran `writepath run --layer-label NAME` by hand inside an environment
    /// writepath cannot create (OpenVZ, Porto, a cloud VM, a Kubernetes pod): `layer` is NAME.
    public var hand_run: HandRun? = nil

    public init(
        error: String?, started_at: String, target: TargetInfo?, engine: EngineInfo, write: DirectionResult?,
        read: DirectionResult?, flush: FlushResult?, cpu: CPUResult, verify: VerifyResult?, durability: Durability?,
        jobs: [JobResult], warnings: [String], iodepth_level: [String: Double]? = nil
    ) {
        self.error = error
        self.started_at = started_at
        self.target = target
        self.engine = engine
        self.write = write
        self.read = read
        self.flush = flush
        self.cpu = cpu
        self.verify = verify
        self.durability = durability
        self.jobs = jobs
        self.warnings = warnings
        self.iodepth_level = iodepth_level
    }

    /// A measurement of nothing: a run that failed (or could not start) before any I/O, with
    /// `error` saying why. It has no metrics, so it never counts as throughput.
    public static func none(engine: String, error: String, startedAt: String) -> RunMeasurement {
        RunMeasurement(
            error: error, started_at: startedAt, target: nil, engine: EngineInfo(name: engine, features: []),
            write: nil, read: nil, flush: nil,
            cpu: CPUResult(
                user_s: 0, sys_s: 0, ctx_voluntary: 0, ctx_involuntary: 0, cpu_ns_per_io: 0,
                process_user_s: 0, process_sys_s: 0, process_cpu_ns_per_io: 0),
            verify: nil, durability: nil, jobs: [], warnings: [])
    }
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
