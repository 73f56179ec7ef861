import CWritePathShims

#if canImport(Glibc)
    import Glibc
#endif

/// CLOCK_MONOTONIC in nanoseconds (vDSO, no system call).
@inline(__always)
public func monotonicNanoseconds() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
}

/// Sleeps for `nanoseconds` (nanosleep, resumed after signals).
func sleepNanoseconds(_ nanoseconds: UInt64) {
    var req = timespec(tv_sec: Int(nanoseconds / 1_000_000_000), tv_nsec: Int(nanoseconds % 1_000_000_000))
    var rem = timespec()
    while nanosleep(&req, &rem) != 0 && errno == EINTR { req = rem }
}

/// CPU used by a thread or process: user and system time, context switches.
public struct CPUSample: Sendable {
    /// Microseconds of user time.
    public var userMicros: Int64 = 0
    /// Microseconds of system time.
    public var systemMicros: Int64 = 0
    public var voluntarySwitches: Int64 = 0
    public var involuntarySwitches: Int64 = 0

    init(_ r: rusage) {
        userMicros = Int64(r.ru_utime.tv_sec) * 1_000_000 + Int64(r.ru_utime.tv_usec)
        systemMicros = Int64(r.ru_stime.tv_sec) * 1_000_000 + Int64(r.ru_stime.tv_usec)
        voluntarySwitches = Int64(r.ru_nvcsw)
        involuntarySwitches = Int64(r.ru_nivcsw)
    }

    public init() {}

    /// The calling thread's usage (getrusage RUSAGE_THREAD).
    public static func thread() -> CPUSample {
        var r = rusage()
        _ = wp_thread_rusage(&r)
        return CPUSample(r)
    }

    /// The whole process's usage, io_uring worker threads included (getrusage RUSAGE_SELF).
    public static func process() -> CPUSample {
        var r = rusage()
        _ = getrusage(RUSAGE_SELF.rawValue, &r)
        return CPUSample(r)
    }

    public static func - (a: CPUSample, b: CPUSample) -> CPUSample {
        var d = CPUSample()
        d.userMicros = a.userMicros - b.userMicros
        d.systemMicros = a.systemMicros - b.systemMicros
        d.voluntarySwitches = a.voluntarySwitches - b.voluntarySwitches
        d.involuntarySwitches = a.involuntarySwitches - b.involuntarySwitches
        return d
    }

    public static func + (a: CPUSample, b: CPUSample) -> CPUSample {
        var d = CPUSample()
        d.userMicros = a.userMicros + b.userMicros
        d.systemMicros = a.systemMicros + b.systemMicros
        d.voluntarySwitches = a.voluntarySwitches + b.voluntarySwitches
        d.involuntarySwitches = a.involuntarySwitches + b.involuntarySwitches
        return d
    }
}
