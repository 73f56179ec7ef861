#if canImport(Glibc)
import Glibc
#endif

extension HostInfo {
    /// Reads this machine's description from uname, /proc/cpuinfo and sysconf.
    public static func probe() -> HostInfo {
        var u = utsname()
        uname(&u)
        func field<T>(_ value: T) -> String {
            withUnsafeBytes(of: value) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
        }
        var cpu = "unknown"
        if let text = Sys.readSmallFile("/proc/cpuinfo") {
            for line in text.split(separator: "\n") where line.hasPrefix("model name") {
                if let colon = line.firstIndex(of: ":") {
                    cpu = String(line[line.index(after: colon)...]).trimmingWhitespace()
                }
                break
            }
        }
        let pages = UInt64(max(sysconf(Int32(_SC_PHYS_PAGES)), 0))
        let pageSize = UInt64(max(sysconf(Int32(_SC_PAGESIZE)), 0))
        return HostInfo(hostname: field(u.nodename), kernel: field(u.release), kernel_version: field(u.version),
                        cpu: cpu, cores: Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))), memory_bytes: pages * pageSize)
    }
}
