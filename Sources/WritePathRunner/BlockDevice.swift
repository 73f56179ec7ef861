import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Block devices as the layers need them: the disk under a path, for I/O throttles.
public enum BlockDevice {
    /// The whole disk holding `path` (a partition gives its parent disk), or nil when the
    /// filesystem has no block device (tmpfs, overlay of tmpfs).
    public static func wholeDisk(holding path: String) -> (major: UInt64, minor: UInt64, name: String)? {
        var st = stat()
        guard stat(path, &st) == 0 else { return nil }
        let d = UInt64(st.st_dev)
        let maj = ((d >> 8) & 0xFFF) | ((d >> 32) & ~UInt64(0xFFF))
        let min = (d & 0xFF) | ((d >> 12) & ~UInt64(0xFF))
        guard let resolved = realpath("/sys/dev/block/\(maj):\(min)", nil) else { return nil }
        var sys = String(cString: resolved)
        free(resolved)
        if FileManager.default.fileExists(atPath: sys + "/partition") {
            sys = (sys as NSString).deletingLastPathComponent
        }
        guard let number = try? String(contentsOfFile: sys + "/dev", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines) else {
            return nil
        }
        let parts = number.split(separator: ":")
        guard parts.count == 2, let ma = UInt64(parts[0]), let mi = UInt64(parts[1]) else { return nil }
        return (ma, mi, (sys as NSString).lastPathComponent)
    }
}
