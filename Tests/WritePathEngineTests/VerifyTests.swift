import Foundation
import Testing
import WritePathTestSupport

@testable import WritePathEngine

#if canImport(Glibc)
    import Glibc
#endif

@Suite("Verified writes", .serialized)
struct VerifyTests {
    @Test(
        "every engine's writes verify clean, including blocks rewritten over many passes",
        arguments: [(EngineKind.io_uring, 16), (.libaio, 8), (.psync, 1)])
    func clean(engine: EngineKind, depth: Int) throws {
        let dir = scratchFolder("verify-\(engine.rawValue)")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var w = Workload()
        w.ioengine = engine
        w.rw = .randwrite
        w.iodepth = depth
        w.size = 256 << 10  // 64 blocks: a one-second run rewrites each many times
        w.runtime = 1
        w.time_based = true
        w.verify = .crc32c
        w.filename = "\(dir)/v.dat"
        let result = try WorkloadRun(workload: w).execute()
        #expect(result.error == nil, "\(result.error ?? "")")
        let v = try #require(result.verify)
        #expect(v.verdict == "pass")
        #expect(v.blocks == 64 && v.good == 64)
        #expect((result.write?.ios ?? 0) > 64)
        #expect(FileManager.default.fileExists(atPath: VerifyState.path(for: w.filename!)))
    }

    @Test(
        "a queue deeper than the region never has two writes to one block in flight",
        arguments: [EngineKind.io_uring, .libaio])
    func noOverlap(engine: EngineKind) throws {
        // 4 blocks at iodepth 16: without serializing, each block has several writes in flight
        // at once, they land in any order, and verify reports stale blocks.
        let dir = scratchFolder("verify-overlap-\(engine.rawValue)")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var w = Workload()
        w.ioengine = engine
        w.rw = .randwrite
        w.iodepth = 16
        w.size = 16 << 10
        w.runtime = 1
        w.time_based = true
        w.verify = .crc32c
        w.filename = "\(dir)/v.dat"
        let result = try WorkloadRun(workload: w).execute()
        #expect(result.error == nil, "\(result.error ?? "")")
        #expect(result.verify?.verdict == "pass")
        #expect((result.write?.ios ?? 0) > 1000)
    }

    @Test("a block corrupted, copied or wiped behind the engine's back is found, and only it")
    func corruption() throws {
        let dir = scratchFolder("verify-corrupt")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var w = Workload()
        w.rw = .randwrite
        w.iodepth = 8
        w.size = 1 << 20
        w.verify = .crc32c
        w.filename = "\(dir)/v.dat"
        #expect(try WorkloadRun(workload: w).execute().verify?.verdict == "pass")
        let fd = open(w.filename!, O_RDWR)
        defer { close(fd) }
        func block(_ n: Int) -> [UInt8] {
            var b = [UInt8](repeating: 0, count: 4096)
            _ = b.withUnsafeMutableBytes { pread(fd, $0.baseAddress, 4096, off_t(n * 4096)) }
            return b
        }
        func put(_ n: Int, _ bytes: [UInt8], at: Int = 0) {
            _ = bytes.withUnsafeBytes { pwrite(fd, $0.baseAddress, bytes.count, off_t(n * 4096 + at)) }
        }
        put(5, [1, 2, 3, 4, 5, 6, 7, 8], at: 1000)  // flip bytes mid-block: torn
        put(20, block(10))  // a valid block at the wrong place
        put(30, [UInt8](repeating: 0, count: 4096))  // wiped
        fsync(fd)
        let state = try VerifyState.load(from: VerifyState.path(for: w.filename!))
        let v = try Verifier.verify(path: w.filename!, state: state)
        #expect(v.verdict == "fail")
        #expect(v.torn == 1 && v.misplaced == 1 && v.missing == 1 && v.stale == 0)
        #expect(v.good == 256 - 3)
        let found = Dictionary(uniqueKeysWithValues: v.findings.map { ($0.offset / 4096, $0.kind) })
        #expect(found == [5: "torn", 20: "misplaced", 30: "missing"])
    }

    @Test("an older write of the same block is stale; a torn sector is torn")
    func staleAndTornSectors() {
        let bs = 4096
        let old = UnsafeMutableRawPointer.allocate(byteCount: bs, alignment: 4096)
        let new = UnsafeMutableRawPointer.allocate(byteCount: bs, alignment: 4096)
        defer { old.deallocate(); new.deallocate() }
        for p in [old, new] { BufferFill.fill(p, bytes: bs, pattern: .random, seed: 1) }
        BlockStamp.stamp(old, length: bs, offset: 8192, sequence: 3, seed: 9, job: 0, run: 77)
        BlockStamp.stamp(new, length: bs, offset: 8192, sequence: 5, seed: 9, job: 0, run: 77)
        // The old write read back where the new one completed last.
        let copy = UnsafeMutableRawPointer.allocate(byteCount: bs, alignment: 4096)
        defer { copy.deallocate() }
        copy.copyMemory(from: old, byteCount: bs)
        #expect(BlockStamp.classify(copy, length: bs, offset: 8192, expected: 5, seed: 9, job: 0, run: 77) == .stale(found: 3, expected: 5))
        copy.copyMemory(from: new, byteCount: bs)
        #expect(BlockStamp.classify(copy, length: bs, offset: 8192, expected: 5, seed: 9, job: 0, run: 77) == .good)
        // New header sector, old second sector (same buffer contents otherwise): torn.
        copy.copyMemory(from: new, byteCount: bs)
        (copy + 512).copyMemory(from: old + 512, byteCount: 512)
        #expect(BlockStamp.classify(copy, length: bs, offset: 8192, expected: 5, seed: 9, job: 0, run: 77) == .torn)
        // A block of an earlier run.
        copy.copyMemory(from: new, byteCount: bs)
        #expect(
            BlockStamp.classify(copy, length: bs, offset: 8192, expected: 5, seed: 9, job: 0, run: 78)
                == .misplaced(detail: "holds a block of an earlier run"))
    }

    @Test("verify options that cannot work are refused")
    func refused() {
        var w = Workload(); w.verify = .crc32c; w.bs = 256; w.direct = false; w.size = 1 << 20
        #expect(throws: WritePathError.self) { try w.validate() }
        w = Workload(); w.verify = .crc32c; w.numjobs = 2; w.filename = "/tmp/x"; w.size = 1 << 20
        #expect(throws: WritePathError.self) { try w.validate() }
        w = Workload(); w.verify = .crc32c; w.rw = .randread; w.size = 1 << 20
        #expect(throws: WritePathError.self) { try w.validate() }
    }
}

@Suite("Faults", .serialized)
struct FaultTests {
    @Test("a disk that fills up mid-run ends the run with the I/Os done so far and an ENOSPC message", Precondition.root.trait)
    func fullDisk() throws {
        let dir = scratchFolder("full")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // As root a 2 MiB tmpfs can always be mounted: when it cannot, the test fails, naming errno.
        let rc = mount("tmpfs", dir, "tmpfs", 0, "size=2m")
        try #require(rc == 0, "mount tmpfs on \(dir): errno \(errno)")
        defer { umount2(dir, Int32(MNT_DETACH)) }
        var w = Workload()
        w.rw = .write
        w.iodepth = 4
        w.size = 8 << 20
        w.fallocate = "none"
        w.filename = "\(dir)/full.dat"
        let result = try WorkloadRun(workload: w).execute()
        #expect(result.error != nil)
        #expect(result.error?.contains("ENOSPC") == true, "\(result.error ?? "")")
        let write = try #require(result.write)
        #expect(write.ios > 100 && write.ios <= 512, "\(write.ios) writes of 4 KiB fit in a 2 MiB tmpfs")
        #expect(write.bytes == write.ios * 4096)
        #expect(write.errors >= 1)
    }
}
