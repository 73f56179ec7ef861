import Foundation
import Testing
import WritePathTestSupport

@testable import WritePathEngine

#if canImport(Glibc)
    import Glibc
#endif

/// Whether `tool` is on this machine's PATH (or in /sbin, /usr/sbin).
func hasTool(_ tool: String) -> Bool {
    let path = (ProcessInfo.processInfo.environment["PATH"] ?? "") + ":/sbin:/usr/sbin"
    return path.split(separator: ":").contains { FileManager.default.isExecutableFile(atPath: "\($0)/\(tool)") }
}

let canMakeLoopDevices = geteuid() == 0 && hasTool("losetup") && FileManager.default.fileExists(atPath: "/dev/loop-control")

/// Block devices holding real signatures (made by mkfs tools, or superblocks written as the
/// kernel's and the tools' formats lay them out) are refused without --allow-destroy, and their
/// bytes are unchanged afterwards. `wipefs --no-act` (libblkid, as `blkid -p` with bad checksums
/// allowed) is the independent witness that each image holds what the test says.
@Suite(
    "Block-device signatures (libblkid, blkid -p)", .serialized,
    Precondition.loopDevice.trait)
struct BlockSignatureTests {
    static let imageBytes = 80 << 20

    /// Makes an image, lets `make` put a signature on it, attaches it as a loop device, and checks
    /// that writepath refuses it naming `expected`, leaves it byte-for-byte as it was, and writes
    /// it with --allow-destroy.
    func expectRefused(_ name: String, expected: String, make: (String) throws -> Void) throws {
        let dir = scratchFolder("sig-\(name)")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let image = "\(dir)/disk.img"
        #expect(FileManager.default.createFile(atPath: image, contents: nil))
        #expect(truncate(image, off_t(Self.imageBytes)) == 0)
        try make(image)
        let device = try shell("losetup", "--find", "--show", image).trimmingCharacters(in: .whitespacesAndNewlines)
        try #require(device.hasPrefix("/dev/loop"), "losetup gave \(device)")
        defer { _ = try? shell("losetup", "-d", device) }
        let witness = (try? shell("wipefs", "--no-act", "--noheadings", "--output", "TYPE", device)) ?? ""
        try #require(witness.contains(expected), "the fixture is wrong: wipefs sees '\(witness)' on \(name), not \(expected)")
        let before = try Data(contentsOf: URL(fileURLWithPath: image))

        var w = Workload()
        w.filename = device
        w.size = 1 << 20
        do {
            _ = try WorkloadRun(workload: w).execute()
            Issue.record("\(name): wrote to a device holding a \(expected) signature")
        } catch let e as WritePathError {
            #expect(e.exitCode == 2, "\(name): \(e)")
            #expect(e.description.contains(expected), "\(name): \(e)")
            #expect(e.description.contains("--allow-destroy"), "\(name): \(e)")
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: image)) == before, "\(name): the device's bytes changed")
        let result = try WorkloadRun(workload: w, safety: SafetyOptions(allowDestroy: true)).execute()
        #expect(result.error == nil)
        #expect(result.target?.filesystem?.contains(expected) == true)
    }

    /// Writes `bytes` into `image` at `offset`.
    func poke(_ image: String, _ offset: Int, _ bytes: [UInt8]) throws {
        let h = try #require(FileHandle(forUpdatingAtPath: image))
        defer { try? h.close() }
        try h.seek(toOffset: UInt64(offset))
        h.write(Data(bytes))
    }

    func le32(_ v: UInt32) -> [UInt8] { withUnsafeBytes(of: v.littleEndian, Array.init) }
    func le64(_ v: UInt64) -> [UInt8] { withUnsafeBytes(of: v.littleEndian, Array.init) }

    @Test("an MD RAID member (v1.2 superblock, linux_raid_member) is refused")
    func raidMember() throws {
        try expectRefused("raid", expected: "linux_raid_member") { image in
            // mdp1_super_block at 4 KiB, as mdadm --create --metadata=1.2 writes it.
            var sb = [UInt8](repeating: 0, count: 256 + 2 * 2)
            sb.replaceSubrange(0..<4, with: le32(0xA92B_4EFC))  // magic
            sb.replaceSubrange(4..<8, with: le32(1))  // major_version
            sb.replaceSubrange(16..<32, with: (0..<16).map { UInt8($0 + 1) })  // set_uuid
            sb.replaceSubrange(32..<40, with: Array("wp:0\0\0\0\0".utf8))  // set_name
            sb.replaceSubrange(72..<76, with: le32(1))  // level: raid1
            sb.replaceSubrange(80..<88, with: le64(UInt64(Self.imageBytes / 512 - 4096)))  // size
            sb.replaceSubrange(92..<96, with: le32(2))  // raid_disks
            sb.replaceSubrange(128..<136, with: le64(2048))  // data_offset (sectors)
            sb.replaceSubrange(136..<144, with: le64(UInt64(Self.imageBytes / 512 - 4096)))  // data_size
            sb.replaceSubrange(144..<152, with: le64(8))  // super_offset: sector 8
            sb.replaceSubrange(168..<184, with: (0..<16).map { UInt8(0xA0 + $0) })  // device_uuid
            sb.replaceSubrange(220..<224, with: le32(2))  // max_dev
            // sb_csum as mdadm's calc_sb_1_csum: 32-bit words summed into 64 bits, then folded.
            var sum: UInt64 = 0
            for i in stride(from: 0, to: sb.count, by: 4) {
                sum += UInt64(sb[i]) | UInt64(sb[i + 1]) << 8 | UInt64(sb[i + 2]) << 16 | UInt64(sb[i + 3]) << 24
            }
            sb.replaceSubrange(216..<220, with: le32(UInt32(truncatingIfNeeded: (sum & 0xFFFF_FFFF) + (sum >> 32))))
            try poke(image, 4096, sb)
        }
    }

    @Test("a minix filesystem made by mkfs.minix is refused", Precondition.mkfsMinix.trait)
    func minix() throws {
        try expectRefused("minix", expected: "minix") { _ = try shell("mkfs.minix", $0) }
    }

    @Test("an NTFS filesystem made by mkfs.ntfs is refused", Precondition.mkfsNtfs.trait)
    func ntfs() throws {
        try expectRefused("ntfs", expected: "ntfs") { _ = try shell("mkfs.ntfs", "-F", "-Q", "-q", $0) }
    }

    @Test("an exFAT filesystem made by mkfs.exfat is refused", Precondition.mkfsExfat.trait)
    func exfat() throws {
        try expectRefused("exfat", expected: "exfat") { _ = try shell("mkfs.exfat", $0) }
    }

    @Test("an ext4 filesystem made by mkfs.ext4 is refused", Precondition.mkfsExt4.trait)
    func ext4() throws {
        try expectRefused("ext4", expected: "ext4") { _ = try shell("mkfs.ext4", "-q", "-F", $0) }
    }

    @Test("a ZFS pool member (uberblocks in its labels) is refused")
    func zfs() throws {
        try expectRefused("zfs", expected: "zfs_member") { image in
            // vdev labels 0 and 1 (256 KiB each): uberblocks from 128 KiB, 1 KiB apart.
            for label in [0, 256 << 10] {
                for i in 0..<8 { try poke(image, label + (128 << 10) + i * 1024, le64(0x00BA_B10C) + le64(5000) + le64(UInt64(i + 1))) }
            }
        }
    }

    @Test("a bcache backing device (superblock at 4 KiB) is refused")
    func bcache() throws {
        try expectRefused("bcache", expected: "bcache") { image in
            // struct cache_sb at 4 KiB: csum, offset (its own sector, 8), version (1: backing device), magic.
            let magic: [UInt8] = [0xC6, 0x85, 0x73, 0xF6, 0x4E, 0x1A, 0x45, 0xCA, 0x82, 0x65, 0xF5, 0x7F, 0x48, 0xBA, 0x6D, 0x81]
            try poke(image, 4096, le64(0) + le64(8) + le64(1) + magic + (0..<16).map { UInt8($0 + 7) })
        }
    }

    @Test("a DOS partition table is refused")
    func dosPartitionTable() throws {
        try expectRefused("dos", expected: "dos") { image in
            // One Linux partition from sector 2048, 16 MiB, and the boot signature.
            try poke(image, 446, [0x00, 0x20, 0x21, 0x00, 0x83, 0xFE, 0xFF, 0xFF] + le32(2048) + le32(32768))
            try poke(image, 510, [0x55, 0xAA])
        }
    }

    @Test("an empty device is written without --allow-destroy")
    func emptyDevice() throws {
        let dir = scratchFolder("sig-empty")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let image = "\(dir)/disk.img"
        #expect(FileManager.default.createFile(atPath: image, contents: nil))
        #expect(truncate(image, off_t(Self.imageBytes)) == 0)
        let device = try shell("losetup", "--find", "--show", image).trimmingCharacters(in: .whitespacesAndNewlines)
        defer { _ = try? shell("losetup", "-d", device) }
        var w = Workload()
        w.filename = device
        w.size = 1 << 20
        let result = try WorkloadRun(workload: w).execute()
        #expect(result.error == nil)
        #expect(result.write?.ios == 256)
        #expect(result.target?.filesystem == nil)
    }
}
