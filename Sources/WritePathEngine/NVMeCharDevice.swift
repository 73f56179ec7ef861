import CWritePathShims
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// An NVMe namespace as the controller describes it (Identify Namespace), the target of
/// io_uring_cmd's commands.
public struct NVMeNamespace: Equatable, Sendable {
    /// The namespace id the device addresses (NVME_IOCTL_ID).
    public var nsid: UInt32
    /// Bytes of one logical block in the namespace's LBA format (2^LBADS).
    public var lbaSize: UInt32
    /// Logical blocks in the namespace (NSZE).
    public var lbaCount: UInt64
    /// Metadata bytes per logical block in the LBA format (MS); 0: none.
    public var metadataBytes: UInt16

    /// Bytes of the namespace, or nil when NSZE x the block size overflows (garbled identify data).
    public var sizeBytes: UInt64? {
        let (bytes, overflow) = lbaCount.multipliedReportingOverflow(by: UInt64(lbaSize))
        return overflow ? nil : bytes
    }

    /// The namespace in Identify Namespace data (`data`, 4096 bytes, as fio's nvme.c reads it):
    /// NSZE at byte 0, NLBAF at 25, FLBAS at 26, the LBA formats from byte 128, 4 bytes each
    /// (MS as two bytes, LBADS, RP). Nil when the data is short or names a block size outside
    /// 512 B to 2 GiB.
    public static func parse(identify data: [UInt8], nsid: UInt32) -> NVMeNamespace? {
        guard data.count >= 4096 else { return nil }
        var nsze: UInt64 = 0
        for i in (0..<8).reversed() { nsze = nsze << 8 | UInt64(data[i]) }
        let nlbaf = data[25], flbas = data[26]
        // Up to 16 formats: FLBAS bits 0-3 pick one; up to 64: bits 5-6 are the index's high bits.
        let index = nlbaf < 16 ? Int(flbas & 0xF) : Int(flbas & 0xF) + Int((flbas >> 5) & 0x3) << 4
        let at = 128 + 4 * index
        let ms = UInt16(data[at]) | UInt16(data[at + 1]) << 8
        let lbads = data[at + 2]
        guard (9...31).contains(lbads) else { return nil }
        return NVMeNamespace(nsid: nsid, lbaSize: 1 << UInt32(lbads), lbaCount: nsze, metadataBytes: ms)
    }

    /// Identifies the namespace behind the open NVMe device `fd` (`path` in errors): its id, then
    /// Identify Namespace through the admin ioctl. Not an NVMe device (ENOTTY, EINVAL): an
    /// `invalidInput` naming `field`; a failed ioctl or a refused command: `system`.
    public static func identify(fd: Int32, path: String, field: String = "filename") throws -> NVMeNamespace {
        let id = wp_nvme_namespace_id(fd)
        if id == -ENOTTY || id == -EINVAL {
            throw WritePathError.invalidInput(
                field: field,
                message: "\(path) is not an NVMe generic char device (ioctl NVME_IOCTL_ID: \(errnoName(-id))); "
                    + "io_uring_cmd writes /dev/ngXnY\(NVMeCharDevices.hereNote())")
        }
        guard id > 0 else {
            throw WritePathError.system(
                call: "ioctl(NVME_IOCTL_ID)", path: path, errno: id < 0 ? -id : EINVAL,
                hint: id == 0 ? "the device addresses no namespace (a controller node, /dev/nvmeX?); give /dev/ngXnY" : "")
        }
        var data = [UInt8](repeating: 0, count: 4096)
        let r = data.withUnsafeMutableBytes { wp_nvme_identify_namespace(fd, UInt32(id), $0.baseAddress) }
        if r < 0 {
            throw WritePathError.system(
                call: "ioctl(NVME_IOCTL_ADMIN_CMD, Identify Namespace)", path: path, errno: -r,
                hint: -r == EACCES || -r == EPERM ? "NVMe admin commands need CAP_SYS_ADMIN: run as root" : "")
        }
        if r > 0 {
            throw WritePathError.system(
                call: "ioctl(NVME_IOCTL_ADMIN_CMD, Identify Namespace)", path: path, errno: EIO,
                hint: "the controller refused the command: \(NVMeStatus.describe(UInt32(r)))")
        }
        guard let ns = parse(identify: data, nsid: UInt32(id)) else {
            throw WritePathError.system(
                call: "Identify Namespace", path: path, errno: EIO,
                hint: "the identify data names no usable LBA format (block size outside 512 B to 2 GiB)")
        }
        return ns
    }
}

/// NVMe completion status as Linux hands it back (the CQE's status field without its phase bit):
/// status code in bits 0-7, status code type in bits 8-10, Do Not Retry in bit 14.
public enum NVMeStatus {
    /// `NVMe status 0x4006 (generic: Internal Error, do not retry)`.
    public static func describe(_ status: UInt32) -> String {
        let sc = status & 0xFF, sct = (status >> 8) & 0x7
        let types = ["generic", "command specific", "media and data integrity", "path related"]
        let type = sct < types.count ? types[Int(sct)] : "type \(sct)"
        let names: [UInt32: [UInt32: String]] = [
            0: [
                0x01: "Invalid Command Opcode", 0x02: "Invalid Field in Command", 0x04: "Data Transfer Error",
                0x05: "Aborted due to Power Loss", 0x06: "Internal Error", 0x07: "Command Abort Requested",
                0x0B: "Invalid Namespace or Format", 0x80: "LBA Out of Range", 0x81: "Capacity Exceeded",
                0x82: "Namespace Not Ready",
            ],
            2: [
                0x80: "Write Fault", 0x81: "Unrecovered Read Error", 0x85: "Compare Failure", 0x86: "Access Denied",
                0x87: "Deallocated or Unwritten Logical Block",
            ],
        ]
        let name = names[sct]?[sc] ?? String(format: "status code 0x%02x", sc)
        let dnr = status & 0x4000 != 0 ? ", do not retry" : ""
        return String(format: "NVMe status 0x%x", status) + " (\(type): \(name)\(dnr))"
    }
}

/// The NVMe generic char devices of this machine (`/dev/ngXnY`, one per namespace, Linux 5.13+).
public enum NVMeCharDevices {
    /// Whether `name` has the form of a generic char device's name: `ng<controller>n<namespace>`.
    static func isGenericName(_ name: String) -> Bool {
        guard name.hasPrefix("ng") else { return false }
        let parts = name.dropFirst(2).split(separator: "n", omittingEmptySubsequences: false)
        return parts.count == 2 && parts.allSatisfy { !$0.isEmpty && $0.allSatisfy(\.isASCII) && $0.allSatisfy(\.isNumber) }
    }

    /// The generic char devices in `folder`, sorted (`/dev/ng0n1`, ...).
    public static func all(in folder: String = "/dev") -> [String] {
        let names = (try? directoryEntries(folder)) ?? []
        return names.filter(isGenericName).sorted().map { "\(folder)/\($0)" }.filter { path in
            var st = stat()
            return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFCHR
        }
    }

    /// Why io_uring_cmd cannot run here, and the fix, or nil when there is a device to write.
    public static func unavailability(in folder: String = "/dev") -> (reason: String, fix: String)? {
        guard all(in: folder).isEmpty else { return nil }
        return (
            "no NVMe generic char device (\(folder)/ng*) on this machine: no NVMe namespace, or a kernel before 5.13",
            "run on a machine with an NVMe drive, or in a guest: layer qemu-nvme with passthrough: true"
        )
    }

    /// `; here: /dev/ng0n1` or `; none here (no /dev/ng*)`, for error messages.
    static func hereNote() -> String {
        let devices = all()
        return devices.isEmpty ? "; there is none here (no /dev/ng*)" : "; here: \(devices.joined(separator: ", "))"
    }

    /// The block device of the same namespace as the generic char device `path` (`/dev/ng0n1`:
    /// `/dev/nvme0n1`, which the kernel names alike), when it exists.
    static func blockDevice(of path: String) -> String? {
        let name = (Sys.realpath(path) as NSString).lastPathComponent
        guard isGenericName(name) else { return nil }
        let block = "/dev/nvme" + name.dropFirst(2)
        var st = stat()
        return stat(block, &st) == 0 && (st.st_mode & S_IFMT) == S_IFBLK ? block : nil
    }
}

extension Target {
    /// Checks and describes the target of an io_uring_cmd job: an NVMe generic char device. Not
    /// one (no filename, a file, a block device, another char device): `invalidInput` naming
    /// `filename`. Its namespace must hold no data the user had, as a block device's (the block
    /// device of the same namespace is checked for mounts and signatures) unless `allowDestroy`.
    static func prepareNVMeCharDevice(_ w: Workload, path: String, existing: stat?, safety: SafetyOptions) throws -> PreparedTarget {
        let want = "io_uring_cmd sends NVMe commands to an NVMe generic char device (/dev/ngXnY)"
        guard w.filename != nil else {
            throw WritePathError.invalidInput(
                field: "filename", message: "\(want): give --filename=/dev/ngXnY\(NVMeCharDevices.hereNote())")
        }
        guard let st = existing else {
            throw WritePathError.invalidInput(field: "filename", message: "\(path) does not exist; \(want)\(NVMeCharDevices.hereNote())")
        }
        let type = st.st_mode & S_IFMT
        guard type == S_IFCHR else {
            let what =
                type == S_IFBLK ? "a block device" : type == S_IFREG ? "a regular file" : type == S_IFDIR ? "a folder" : "not a device"
            throw WritePathError.invalidInput(field: "filename", message: "\(path) is \(what); \(want)\(NVMeCharDevices.hereNote())")
        }
        let fd = try Sys.open(path, flags: O_RDWR | O_CLOEXEC)
        defer { Sys.close(fd) }
        let ns = try NVMeNamespace.identify(fd: fd, path: path)
        if ns.metadataBytes > 0 {
            throw WritePathError.invalidInput(
                field: "filename",
                message: "\(path): namespace \(ns.nsid) is formatted with \(ns.metadataBytes) metadata bytes per block; "
                    + "io_uring_cmd here writes formats without metadata (fio's md_per_io_size is not supported)")
        }
        let block = NVMeCharDevices.blockDevice(of: path)
        var signature: String?
        if !safety.allowDestroy {
            guard let block else {
                throw WritePathError.refused(
                    field: "filename",
                    message: "\(path) has no block device to check for data (no /dev/nvme* of its namespace); "
                        + "pass --allow-destroy only if its data may be lost")
            }
            var bst = stat()
            if stat(block, &bst) == 0, let m = MountTable.mountsUsing(deviceNumber: "\(major(bst.st_rdev)):\(minor(bst.st_rdev))") {
                throw WritePathError.refused(
                    field: "filename",
                    message: "\(path) is the namespace of \(block), which (or a partition of which) is mounted on \(m); "
                        + "pass --allow-destroy only if its data may be lost")
            }
            let bfd = try Sys.open(block, flags: O_RDONLY | O_CLOEXEC)
            defer { Sys.close(bfd) }
            signature = try Signatures.probe(fd: bfd, path: block)
            if let signature {
                throw WritePathError.refused(
                    field: "filename",
                    message: "\(path) is the namespace of \(block), which holds a \(signature) signature; "
                        + "pass --allow-destroy to overwrite it")
            }
        }
        guard let devSize = ns.sizeBytes, devSize > 0 else {
            throw WritePathError.system(call: "Identify Namespace", path: path, errno: EIO, hint: "the namespace reports no blocks")
        }
        let lba = UInt64(ns.lbaSize)
        let why = "NVMe commands address whole logical blocks of \(ns.lbaSize) bytes (namespace \(ns.nsid) of \(path))"
        if w.bs % lba != 0 {
            throw WritePathError.invalidInput(field: "bs", message: "\(w.bs) is not a multiple of \(lba): \(why)")
        }
        if w.bs / lba > 65536 {
            throw WritePathError.invalidInput(
                field: "bs", message: "\(ByteSize.format(w.bs)) is more than 65536 blocks, the most one NVMe command moves: \(why)")
        }
        if w.offset % lba != 0 {
            throw WritePathError.invalidInput(field: "offset", message: "\(w.offset) is not a multiple of \(lba): \(why)")
        }
        if let size = w.size, size % lba != 0 {
            throw WritePathError.invalidInput(field: "size", message: "\(size) is not a multiple of \(lba): \(why)")
        }
        let length = try deviceRegion(w, path: path, deviceSize: devSize)
        guard length >= w.bs else {
            throw WritePathError.invalidInput(
                field: "size", message: "\(path) has no whole block of bs=\(ByteSize.format(w.bs)) in the region")
        }
        let info = TargetInfo(
            path: path, kind: TargetInfo.nvmeCharDeviceKind, filesystem: signature, device: path, device_number: nil,
            logical_block_size: ns.lbaSize, dio_offset_align: ns.lbaSize, dio_mem_align: UInt32(max(4096, lba)),
            alignment_source: "nvme_identify", size_bytes: devSize, created: false, direct_io: nil)
        return PreparedTarget(info: info, regionOffset: w.offset, regionLength: length)
    }
}

extension TargetInfo {
    /// `kind` of an NVMe generic char device (io_uring_cmd's target).
    public static let nvmeCharDeviceKind = "nvme_char_device"
}
