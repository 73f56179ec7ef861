import Foundation

/// Whether the run's flushes reached stable storage, and the evidence: `runs[].durability`.
/// Present when the workload flushes (`fsync`/`fdatasync`). No layer is called durable without
/// evidence: a count of flushes that reached the device (host kernel diskstats) or the host's
/// image file (QEMU's block statistics), or the device's own report that it has no volatile cache.
public struct Durability: Codable, Sendable, Equatable {
    /// Flushes the engine issued and saw complete.
    public var flushes_issued: UInt64
    /// The block device under the target as the engine saw it (`vda`), if any.
    public var device: String?
    /// The device's cache mode (`write back` or `write through`, from sysfs).
    public var device_write_cache: String?
    /// Flush requests the device completed during the run (diskstats), if readable.
    public var device_flushes: UInt64?
    /// Guest layers: flush requests the host's disk under the image file completed while the
    /// guest ran (host diskstats; other activity on the host can only add to it).
    public var host_device_flushes: UInt64?
    /// Guest layers: the host disk counted in `host_device_flushes`.
    public var host_device: String?
    /// Guest layers with aio=io_uring: flushes QEMU submitted to the host's image file (its
    /// trace of io_uring requests): exact, unlike the disk's count.
    public var host_file_flushes: UInt64?
    /// `durable`, `not durable` or `unknown`.
    public var verdict: String
    /// Why, in a sentence.
    public var evidence: String

    public init(
        flushes_issued: UInt64, device: String? = nil, device_write_cache: String? = nil, device_flushes: UInt64? = nil,
        host_device_flushes: UInt64? = nil, host_device: String? = nil, host_file_flushes: UInt64? = nil,
        verdict: String, evidence: String
    ) {
        self.flushes_issued = flushes_issued
        self.device = device
        self.device_write_cache = device_write_cache
        self.device_flushes = device_flushes
        self.host_device_flushes = host_device_flushes
        self.host_device = host_device
        self.host_file_flushes = host_file_flushes
        self.verdict = verdict
        self.evidence = evidence
    }

    /// A verdict from a count of flushes that arrived somewhere (`arrived` of `issued`). Fewer
    /// than a tenth arriving is background noise at most: the flushes were dropped.
    public static func judge(issued: UInt64, arrived: UInt64, at place: String) -> (String, String) {
        if issued == 0 { return ("unknown", "no flush completed") }
        if arrived * 10 < issued { return ("not durable", "\(arrived) of \(issued) flushes reached \(place): they were dropped") }
        if arrived * 10 >= issued * 9 { return ("durable", "\(arrived) flushes reached \(place) for \(issued) issued") }
        return ("unknown", "only \(arrived) of \(issued) flushes reached \(place)")
    }
}

/// Flush counters of the whole disk under a device number, from /sys/block/<disk>/stat.
public enum DiskStats {
    /// The whole disk's name for `major:minor` (a partition gives its parent), or nil.
    public static func disk(for deviceNumber: String) -> String? {
        let link = "/sys/dev/block/\(deviceNumber)"
        guard let resolved = try? FileManager.default.destinationOfSymbolicLink(atPath: link) else { return nil }
        var url = URL(fileURLWithPath: link).deletingLastPathComponent().appendingPathComponent(resolved).standardizedFileURL
        if FileManager.default.fileExists(atPath: url.appendingPathComponent("partition").path) { url.deleteLastPathComponent() }
        return url.lastPathComponent
    }

    /// Completed flush requests of `disk` (field 16 of its stat file; kernels since 5.5), or nil.
    public static func flushes(disk: String) -> UInt64? {
        guard let text = Sys.readSmallFile("/sys/block/\(disk)/stat") else { return nil }
        let f = text.split(whereSeparator: { $0 == " " || $0 == "\n" })
        return f.count >= 16 ? UInt64(f[15]) : nil
    }

    static func writeCache(disk: String) -> String? {
        Sys.readSmallFile("/sys/block/\(disk)/queue/write_cache")?.trimmingWhitespace()
    }
}
