import CLibblkid
import CWritePathShims
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// What was found out about a target and recorded in `runs[].target`.
public struct TargetInfo: Codable, Equatable, Sendable {
    /// The path as given.
    public var path: String
    /// `file`, `block_device` or `nvme_char_device` (io_uring_cmd's target).
    public var kind: String
    /// Filesystem type of the mount holding a file (`ext4`, `tmpfs`, `overlay`); for a block
    /// device, the filesystem signature found on it (normally null).
    public var filesystem: String?
    /// The device: the mount's source for a file, the device node for a block device.
    public var device: String?
    /// `major:minor` of the device.
    public var device_number: String?
    /// Logical block size of the underlying device in bytes, when known.
    public var logical_block_size: UInt32?
    /// O_DIRECT offset alignment in bytes (statx DIO alignment, else the logical block size).
    public var dio_offset_align: UInt32
    /// O_DIRECT memory alignment in bytes.
    public var dio_mem_align: UInt32
    /// Where the alignment came from: `statx`, `blkssz`, `sysfs` or `default`.
    public var alignment_source: String
    /// Size of the file or device in bytes after preparation.
    public var size_bytes: UInt64
    /// Whether this run created the file.
    public var created: Bool
    /// The page-cache check of O_DIRECT, filled in after the run.
    public var direct_io: DirectIOCheck?
}

/// Evidence of whether O_DIRECT bypassed the page cache on this target.
public struct DirectIOCheck: Codable, Equatable, Sendable {
    public var requested: Bool
    /// Resident page-cache pages of the region before and after the measured phase.
    public var cached_pages_before: UInt64?
    public var cached_pages_after: UInt64?
    public var region_pages: UInt64?
    /// true: the page cache did not grow; false: it grew (O_DIRECT was accepted but cached);
    /// nil: could not be told (memory-backed filesystem, or the check failed).
    public var bypassed_page_cache: Bool?
    public var note: String
    /// Guest layers whose target is a file on a shared folder (virtiofs, 9p): the same check on
    /// the host's page cache over the host file behind it; nil elsewhere.
    public var host: HostPageCacheCheck?

    /// A check of `requested` O_DIRECT with nothing counted yet.
    public init(requested: Bool, note: String) {
        self.requested = requested
        self.note = note
    }
}

/// The host's page cache over the host file behind a guest's shared-folder target, counted
/// (`fincore`) before the guest booted and after it powered off: whether what served the folder
/// (virtiofsd, QEMU's 9p server) kept the guest's O_DIRECT toward the host file.
public struct HostPageCacheCheck: Codable, Equatable, Sendable {
    /// The host file.
    public var file: String
    /// Resident host page-cache pages of the file before and after, and its pages (4 KiB).
    public var cached_pages_before: UInt64?
    public var cached_pages_after: UInt64?
    public var file_pages: UInt64
    /// true: the host page cache did not grow; false: it grew (the guest's O_DIRECT did not reach
    /// the host file); nil: not told (buffered I/O, or fincore failed).
    public var bypassed_page_cache: Bool?
    public var note: String

    public init(
        file: String, cached_pages_before: UInt64?, cached_pages_after: UInt64?, file_pages: UInt64, bypassed_page_cache: Bool?,
        note: String
    ) {
        self.file = file
        self.cached_pages_before = cached_pages_before
        self.cached_pages_after = cached_pages_after
        self.file_pages = file_pages
        self.bypassed_page_cache = bypassed_page_cache
        self.note = note
    }
}

/// Options that guard the user's data.
public struct SafetyOptions: Sendable {
    /// Allow writing to a block device that is mounted or holds a filesystem or partition table.
    public var allowDestroy = false
    /// Allow writing to an existing regular file that writepath did not create.
    public var overwrite = false
    public init(allowDestroy: Bool = false, overwrite: Bool = false) {
        self.allowDestroy = allowDestroy
        self.overwrite = overwrite
    }
}

/// A target made ready for a job: the file exists, is allocated, and the region is validated.
public struct PreparedTarget: Sendable {
    public var info: TargetInfo
    /// First byte of the region the job covers.
    public var regionOffset: UInt64
    /// Bytes of the region, a whole number of blocks.
    public var regionLength: UInt64
    public var isBlockDevice: Bool { info.kind == "block_device" }
    /// An NVMe generic char device: written with NVMe commands, never through the page cache.
    public var isNVMeCharDevice: Bool { info.kind == TargetInfo.nvmeCharDeviceKind }
}

/// The extended attribute that marks a file writepath created, so that a later run may reuse it.
let createdMarker = "user.writepath.created"

/// Prepares targets: safety checks, creation, allocation and O_DIRECT alignment.
public enum Target {
    /// The path job `jobIndex` of `workload` writes to. As in fio, a relative `filename` lies in
    /// `directory` when one is given (`--directory D --filename data.bin` is `D/data.bin`).
    public static func path(for workload: Workload, jobIndex: Int) -> String {
        if let f = workload.filename {
            if let dir = workload.directory, !f.hasPrefix("/") { return dir.hasSuffix("/") ? dir + f : "\(dir)/\(f)" }
            return f
        }
        let dir = workload.directory ?? "."
        return "\(dir)/\(workload.name).\(jobIndex).0"
    }

    /// Checks, creates and allocates the target of `workload` for job `jobIndex`.
    /// Throws `refused` when writing would destroy data the user had, `invalidInput` when the
    /// workload does not fit the target, `system` when a call fails.
    public static func prepare(_ workload: Workload, jobIndex: Int, safety: SafetyOptions) throws -> PreparedTarget {
        let path = Target.path(for: workload, jobIndex: jobIndex)
        try checkNameLengths(path, field: workload.filename == nil ? "directory" : "filename")
        let existing = try Sys.statIfExists(path)
        if workload.ioengine == .io_uring_cmd {
            return try prepareNVMeCharDevice(workload, path: path, existing: existing, safety: safety)
        }
        if let st = existing, (st.st_mode & S_IFMT) == S_IFBLK {
            return try prepareBlockDevice(workload, path: path, st: st, safety: safety)
        }
        if existing == nil, let l = try Sys.lstatIfExists(path), (l.st_mode & S_IFMT) == S_IFLNK {
            let dest = (try? FileManager.default.destinationOfSymbolicLink(atPath: path)) ?? "?"
            throw WritePathError.invalidInput(
                field: "filename",
                message: "\(path) is a dangling symlink (to \(dest), which does not exist); give an existing file or a new name")
        }
        if let st = existing, (st.st_mode & S_IFMT) != S_IFREG {
            let generic = (st.st_mode & S_IFMT) == S_IFCHR && NVMeCharDevices.isGenericName((path as NSString).lastPathComponent)
            throw WritePathError.invalidInput(
                field: "filename",
                message: "\(path) is neither a regular file nor a block device"
                    + (generic ? " (an NVMe generic char device: write it with --ioengine=io_uring_cmd)" : ""))
        }
        return try prepareFile(workload, path: path, exists: existing != nil, safety: safety)
    }

    /// Every component of `path` at most NAME_MAX (255) bytes and the path below PATH_MAX,
    /// else `invalidInput` naming `field` (the kernel's ENAMETOOLONG would come after other checks).
    static func checkNameLengths(_ path: String, field: String) throws {
        if path.utf8.count >= Int(PATH_MAX) {
            throw WritePathError.invalidInput(
                field: field, message: "the path is \(path.utf8.count) bytes; Linux accepts paths below \(PATH_MAX)")
        }
        for c in path.split(separator: "/") where c.utf8.count > Int(NAME_MAX) {
            throw WritePathError.invalidInput(
                field: field,
                message: "a name in the path is \(c.utf8.count) bytes (\(clipped(String(c), limit: 24))); "
                    + "Linux accepts at most \(NAME_MAX)")
        }
    }

    static func prepareFile(_ w: Workload, path: String, exists: Bool, safety: SafetyOptions) throws -> PreparedTarget {
        var created = false
        var fd: Int32
        if exists {
            fd = try Sys.open(path, flags: O_RDWR | O_CLOEXEC)
            if !safety.overwrite && !hasCreatedMarker(fd) {
                Sys.close(fd)
                throw WritePathError.refused(
                    field: "filename", message: "\(path) exists and was not created by writepath; pass --overwrite to write over it")
            }
        } else {
            guard w.size != nil else {
                throw WritePathError.invalidInput(field: "size", message: "needed to create \(path); e.g. --size 256m")
            }
            let folder = (path as NSString).deletingLastPathComponent
            var isFolder: ObjCBool = false
            if !folder.isEmpty && !(FileManager.default.fileExists(atPath: folder, isDirectory: &isFolder) && isFolder.boolValue) {
                throw WritePathError.invalidInput(
                    field: "filename", message: "the folder \(folder) does not exist; create it or give another --filename or --directory")
            }
            fd = try Sys.open(path, flags: O_RDWR | O_CREAT | wp_o_excl() | O_CLOEXEC, mode: 0o644)
            created = true
            let marker = "1"
            _ = wp_fsetxattr(fd, createdMarker, marker, marker.utf8.count)
        }
        defer { Sys.close(fd) }
        do {
            return try prepareOpenFile(w, path: path, fd: fd, created: created)
        } catch {
            // A file this run made but could not prepare (unaligned bs, no space) is not left behind.
            if created { unlink(path) }
            throw error
        }
    }

    static func prepareOpenFile(_ w: Workload, path: String, fd: Int32, created: Bool) throws -> PreparedTarget {
        let st = try Sys.fstat(fd, path: path)
        let fileSize = UInt64(st.st_size)
        let size = w.size ?? (fileSize > w.offset ? fileSize - w.offset : 0)
        let length = size - size % w.bs
        guard length >= w.bs else {
            throw WritePathError.invalidInput(
                field: "size", message: "\(path) has no whole block of bs=\(ByteSize.format(w.bs)) after offset \(w.offset); give --size")
        }
        let mount = MountTable.containing(path: Sys.realpath(path))
        let devNumber = "\(major(st.st_dev)):\(minor(st.st_dev))"
        let lbs = sysfsLogicalBlockSize(devNumber)
        var align = try dioAlignment(fd: fd, path: path, fallback: lbs, direct: w.direct)
        if align.offset == 0 { align.offset = 512 }
        var info = TargetInfo(
            path: path, kind: "file", filesystem: mount?.fstype, device: mount?.source,
            device_number: devNumber, logical_block_size: lbs, dio_offset_align: align.offset,
            dio_mem_align: align.mem, alignment_source: align.source, size_bytes: fileSize,
            created: created, direct_io: nil)
        try checkAlignment(w, info: info, length: length)
        let end = w.offset + length
        if w.fallocate != "none", end > fileSize, let free = freeBytes(path), end - fileSize > free {
            throw WritePathError.invalidInput(
                field: "size",
                message:
                    "offset+size needs \(ByteSize.format(end - fileSize)) more on \(mount?.mountPoint ?? path), which has "
                    + "\(ByteSize.format(free)) free; give a smaller --size or another --filename"
            )
        }
        if w.fallocate == "none" {
            // Sparse: the size is set, the blocks are allocated by the writes themselves.
            if fileSize < end && ftruncate(fd, off_t(end)) != 0 {
                throw WritePathError.system(call: "ftruncate", path: path, errno: errno, hint: hintFor(errno: errno))
            }
        } else if fileSize < end || created {
            try Sys.fallocate(fd, offset: 0, length: end, path: path)
        }
        if w.prefill {
            try prefill(fd: fd, path: path, offset: w.offset, length: length, seed: w.seed)
        }
        info.size_bytes = UInt64(try Sys.fstat(fd, path: path).st_size)
        return PreparedTarget(info: info, regionOffset: w.offset, regionLength: length)
    }

    static func prepareBlockDevice(_ w: Workload, path: String, st: stat, safety: SafetyOptions) throws -> PreparedTarget {
        let devNumber = "\(major(st.st_rdev)):\(minor(st.st_rdev))"
        // O_EXCL on a block device is an exclusive open: it fails with EBUSY when mounted or held.
        let fd: Int32
        do {
            fd = try Sys.open(path, flags: O_RDWR | O_CLOEXEC | (safety.allowDestroy ? 0 : wp_o_excl()))
        } catch let WritePathError.system(_, _, code, _) where code == EBUSY {
            throw WritePathError.refused(field: "filename", message: "\(path) is in use (mounted or held); writepath will not write to it")
        }
        defer { Sys.close(fd) }
        if !safety.allowDestroy {
            if let m = MountTable.mountsUsing(deviceNumber: devNumber) {
                throw WritePathError.refused(
                    field: "filename",
                    message: "\(path) (or a partition of it) is mounted on \(m); pass --allow-destroy only if its data may be lost")
            }
        }
        let signature = try Signatures.probe(fd: fd, path: path)
        if let signature, !safety.allowDestroy {
            throw WritePathError.refused(
                field: "filename", message: "\(path) holds a \(signature) signature; pass --allow-destroy to overwrite it")
        }
        var lbs: UInt32 = 512
        let r = wp_blk_logical_block_size(fd, &lbs)
        if r != 0 { throw WritePathError.system(call: "ioctl(BLKSSZGET)", path: path, errno: -r, hint: "") }
        var devSize: UInt64 = 0
        let r2 = wp_blk_size_bytes(fd, &devSize)
        if r2 != 0 { throw WritePathError.system(call: "ioctl(BLKGETSIZE64)", path: path, errno: -r2, hint: "") }
        let align = try dioAlignment(fd: fd, path: path, fallback: lbs, direct: w.direct)
        let length = try deviceRegion(w, path: path, deviceSize: devSize)
        let info = TargetInfo(
            path: path, kind: "block_device", filesystem: signature, device: path, device_number: devNumber,
            logical_block_size: lbs, dio_offset_align: align.offset == 0 ? lbs : align.offset,
            dio_mem_align: align.mem == 0 ? lbs : align.mem, alignment_source: align.source,
            size_bytes: devSize, created: false, direct_io: nil)
        try checkAlignment(w, info: info, length: length)
        if w.prefill {
            try prefill(fd: fd, path: path, offset: w.offset, length: length, seed: w.seed)
        }
        return PreparedTarget(info: info, regionOffset: w.offset, regionLength: length)
    }

    /// Bytes of the region `w` covers on a device of `deviceSize` bytes (`size`, else to the end,
    /// cut to whole blocks of `bs`); `invalidInput` naming `offset` or `size` when it does not fit.
    static func deviceRegion(_ w: Workload, path: String, deviceSize devSize: UInt64) throws -> UInt64 {
        guard w.offset < devSize else {
            throw WritePathError.invalidInput(field: "offset", message: "\(w.offset) is beyond the end of \(path) (\(devSize) bytes)")
        }
        let size = w.size ?? (devSize - w.offset)
        guard w.offset + size <= devSize else {
            throw WritePathError.invalidInput(
                field: "size", message: "offset+size (\(w.offset + size) bytes) is beyond the end of \(path) (\(devSize) bytes)")
        }
        return size - size % w.bs
    }

    /// Bytes an unprivileged writer may still allocate on the filesystem holding `path`
    /// (statvfs f_bavail), or nil when it cannot be told.
    static func freeBytes(_ path: String) -> UInt64? {
        var v = statvfs()
        guard statvfs(path, &v) == 0 else { return nil }
        let (bytes, overflow) = UInt64(v.f_bavail).multipliedReportingOverflow(by: UInt64(v.f_frsize))
        return overflow ? nil : bytes
    }

    /// Checks bs, offset and size against the O_DIRECT alignment.
    static func checkAlignment(_ w: Workload, info: TargetInfo, length: UInt64) throws {
        guard w.direct else { return }
        let a = UInt64(info.dio_offset_align)
        let why = "O_DIRECT on \(info.path) needs multiples of \(a) bytes (\(info.alignment_source))"
        if w.bs % a != 0 {
            throw WritePathError.invalidInput(
                field: "bs",
                message: "\(w.bs) is not a multiple of \(a): \(why); use e.g. --bs \(ByteSize.format(max(a, 4096))) or --direct=0")
        }
        if w.offset % a != 0 {
            throw WritePathError.invalidInput(field: "offset", message: "\(w.offset) is not a multiple of \(a): \(why)")
        }
        if let size = w.size, size % a != 0 {
            throw WritePathError.invalidInput(field: "size", message: "\(size) is not a multiple of \(a): \(why)")
        }
    }

    struct Alignment { var mem: UInt32; var offset: UInt32; var source: String }

    /// The O_DIRECT alignment of an open target: statx DIO alignment where the kernel reports it,
    /// else `fallback` (the logical block size), else 512.
    static func dioAlignment(fd: Int32, path: String, fallback: UInt32?, direct: Bool) throws -> Alignment {
        var mem: UInt32 = 0
        var off: UInt32 = 0
        let r = wp_statx_dio_alignment(fd, &mem, &off)
        if r == 0 {
            if off == 0 && direct {
                throw WritePathError.invalidInput(
                    field: "direct",
                    message: "\(path)'s filesystem does not support O_DIRECT (statx reports no DIO alignment); use --direct=0")
            }
            return Alignment(mem: mem, offset: off, source: "statx")
        }
        if let fallback { return Alignment(mem: fallback, offset: fallback, source: "logical_block_size") }
        return Alignment(mem: 512, offset: 512, source: "default")
    }

    /// The logical block size of device `major:minor` from sysfs (the parent's for a partition).
    static func sysfsLogicalBlockSize(_ devNumber: String) -> UInt32? {
        for p in ["/sys/dev/block/\(devNumber)/queue/logical_block_size", "/sys/dev/block/\(devNumber)/../queue/logical_block_size"] {
            if let s = Sys.readSmallFile(p), let v = UInt32(s.trimmingWhitespace()) { return v }
        }
        return nil
    }

    static func hasCreatedMarker(_ fd: Int32) -> Bool {
        var buf = [UInt8](repeating: 0, count: 8)
        let r = buf.withUnsafeMutableBytes { wp_fgetxattr(fd, createdMarker, $0.baseAddress, $0.count) }
        return r > 0
    }

    /// Writes the region once with the job's random pattern, then flushes it.
    static func prefill(fd: Int32, path: String, offset: UInt64, length: UInt64, seed: UInt64) throws {
        let chunk = 1 << 20
        let buffer = try Sys.alignedAllocate(bytes: chunk, alignment: 4096)
        defer { free(buffer) }
        BufferFill.fill(buffer, bytes: chunk, pattern: .random, seed: seed &+ 0xF111)
        var done: UInt64 = 0
        while done < length {
            let n = Int(min(UInt64(chunk), length - done))
            try Sys.pwriteAll(fd, buffer, count: n, offset: offset + done, path: path)
            done += UInt64(n)
        }
        try Sys.fsync(fd, path: path)
    }

    /// Measures how many pages of the region are in the page cache; nil when it cannot.
    static func cachedPages(path: String, offset: UInt64, length: UInt64) -> (cached: UInt64, total: UInt64)? {
        let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { Glibc.close(fd) }
        var total: UInt64 = 0
        let r = wp_resident_pages(fd, offset, length, &total)
        guard r >= 0 else { return nil }
        return (UInt64(r), total)
    }

    /// Drops the region's clean pages from the page cache (posix_fadvise DONTNEED).
    static func dropCache(path: String, offset: UInt64, length: UInt64) {
        let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return }
        defer { Glibc.close(fd) }
        _ = posix_fadvise(fd, off_t(offset), off_t(length), POSIX_FADV_DONTNEED)
    }
}

/// Recognises the signatures on a block device as `blkid -p` does, with libblkid: filesystems
/// (ext4, xfs, btrfs, minix, NTFS, exFAT, ZFS, ...), RAID members (`linux_raid_member`), bcache,
/// LVM, LUKS, swap, and partition tables. A superblock with a bad checksum still counts: it is
/// somebody's data, perhaps damaged.
enum Signatures {
    /// What the device holds, e.g. `linux_raid_member (raid)` or `gpt partition table`; nil when
    /// libblkid finds nothing. Throws `system` when libblkid cannot probe the device.
    static func probe(fd: Int32, path: String) throws -> String? {
        guard let probe = blkid_new_probe() else {
            throw WritePathError.system(call: "blkid_new_probe", path: path, errno: ENOMEM, hint: "")
        }
        defer { blkid_free_probe(probe) }
        guard blkid_probe_set_device(probe, fd, 0, 0) == 0 else {
            throw WritePathError.system(call: "blkid_probe_set_device", path: path, errno: errno == 0 ? EIO : errno, hint: "")
        }
        _ = blkid_probe_enable_superblocks(probe, 1)
        _ = blkid_probe_set_superblocks_flags(probe, Int32(BLKID_SUBLKS_TYPE | BLKID_SUBLKS_USAGE | BLKID_SUBLKS_BADCSUM))
        _ = blkid_probe_enable_partitions(probe, 1)
        _ = blkid_probe_set_partitions_flags(probe, Int32(BLKID_PARTS_MAGIC))
        switch blkid_do_safeprobe(probe) {
        case 1: return nil
        case -2: return "more than one (ambivalent) filesystem or RAID"
        case 0:
            func value(_ name: String) -> String? {
                var data: UnsafePointer<CChar>?
                guard blkid_probe_lookup_value(probe, name, &data, nil) == 0, let data else { return nil }
                return String(cString: data)
            }
            if let type = value("TYPE") {
                let usage = value("USAGE").map { " (\($0))" } ?? ""
                return type + usage
            }
            if let table = value("PTTYPE") { return "\(table) partition table" }
            return "unnamed"
        default:
            throw WritePathError.system(
                call: "blkid_do_safeprobe", path: path, errno: errno == 0 ? EIO : errno,
                hint: "libblkid could not read the device's signatures")
        }
    }
}

/// Reads /proc/self/mountinfo.
enum MountTable {
    struct Mount { var mountPoint: String; var fstype: String; var source: String; var deviceNumber: String }

    static func all() -> [Mount] {
        guard let text = Sys.readSmallFile("/proc/self/mountinfo") else { return [] }
        var mounts: [Mount] = []
        for line in text.split(separator: "\n") {
            let f = line.split(separator: " ", omittingEmptySubsequences: false).map(String.init)
            guard f.count >= 10, let dash = f.firstIndex(of: "-"), dash + 2 < f.count else { continue }
            mounts.append(Mount(mountPoint: unescape(f[4]), fstype: f[dash + 1], source: f[dash + 2], deviceNumber: f[2]))
        }
        return mounts
    }

    /// The mount holding `path` (the longest mount point that prefixes it).
    static func containing(path: String) -> Mount? {
        all().filter { path == $0.mountPoint || path.hasPrefix($0.mountPoint == "/" ? "/" : $0.mountPoint + "/") }
            .max { $0.mountPoint.count < $1.mountPoint.count }
    }

    /// The mount point using device `major:minor` or one of its partitions, or nil.
    static func mountsUsing(deviceNumber: String) -> String? {
        var numbers: Set<String> = [deviceNumber]
        let sys = Sys.realpath("/sys/dev/block/\(deviceNumber)")
        if let entries = try? directoryEntries(sys) {
            for e in entries {
                if let dev = Sys.readSmallFile("\(sys)/\(e)/dev"), Sys.readSmallFile("\(sys)/\(e)/partition") != nil {
                    numbers.insert(dev.trimmingWhitespace())
                }
            }
        }
        return all().first { numbers.contains($0.deviceNumber) }?.mountPoint
    }

    static func unescape(_ s: String) -> String {
        s.replacingOccurrences(of: "\\040", with: " ").replacingOccurrences(of: "\\011", with: "\t").replacingOccurrences(
            of: "\\134", with: "\\")
    }
}

/// The names in a folder, without `.` and `..`.
func directoryEntries(_ path: String) throws -> [String] {
    guard let dir = opendir(path) else {
        throw WritePathError.system(call: "opendir", path: path, errno: errno, hint: hintFor(errno: errno))
    }
    defer { closedir(dir) }
    var names: [String] = []
    while let e = readdir(dir) {
        let name = withUnsafePointer(to: e.pointee.d_name) {
            $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
        }
        if name != "." && name != ".." { names.append(name) }
    }
    return names
}
