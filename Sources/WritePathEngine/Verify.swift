import CWritePathShims

#if canImport(Glibc)
    import Glibc
#endif

/// How written data is checked: fio's `verify`.
public enum VerifyMethod: String, Codable, Sendable, CaseIterable {
    case none = "0"
    case crc32c
}

/// The stamp on every verified block. The first 64 bytes hold a header (little-endian):
/// magic `WPVERIF1`, offset (u64), write sequence (u64), job seed (u64), job (u32), length (u32),
/// CRC-32C of the whole block with the CRC field zeroed (u32), 4 zero bytes, run id (u64, random per run) at byte 48.
/// Every following 512-byte sector starts with the sequence mixed with the sector's index, so a block torn between two writes
/// fails its CRC even when both writes used the same buffer.
public enum BlockStamp {
    public static let headerBytes = 64
    static let magic: UInt64 = 0x3146_4952_4556_5057  // "WPVERIF1" little-endian
    static let crcOffset = 40

    /// Stamps `length` bytes at `block` for a write of sequence `sequence` at byte `offset`.
    @inline(__always)
    public static func stamp(
        _ block: UnsafeMutableRawPointer, length: Int, offset: UInt64, sequence: UInt64, seed: UInt64, job: UInt32,
        run: UInt64
    ) {
        block.storeBytes(of: magic.littleEndian, toByteOffset: 0, as: UInt64.self)
        block.storeBytes(of: offset.littleEndian, toByteOffset: 8, as: UInt64.self)
        block.storeBytes(of: sequence.littleEndian, toByteOffset: 16, as: UInt64.self)
        block.storeBytes(of: seed.littleEndian, toByteOffset: 24, as: UInt64.self)
        block.storeBytes(of: job.littleEndian, toByteOffset: 32, as: UInt32.self)
        block.storeBytes(of: UInt32(truncatingIfNeeded: length).littleEndian, toByteOffset: 36, as: UInt32.self)
        block.storeBytes(of: UInt32(0), toByteOffset: crcOffset, as: UInt32.self)
        block.storeBytes(of: run.littleEndian, toByteOffset: 48, as: UInt64.self)
        var sector = 512
        var index: UInt64 = 1
        while sector + 8 <= length {
            block.storeBytes(of: (sequence ^ (index &* 0x9E37_79B9_7F4A_7C15)).littleEndian, toByteOffset: sector, as: UInt64.self)
            sector += 512
            index += 1
        }
        let crc = wp_crc32c(0, block, length)
        block.storeBytes(of: crc.littleEndian, toByteOffset: crcOffset, as: UInt32.self)
    }

    /// What a block read back holds, against what the job last wrote there.
    public enum Verdict: Equatable, Sendable {
        case good
        /// Never written by the job (and not expected to be).
        case unwritten
        /// Written, but the target holds no writepath block there.
        case missing
        /// The CRC does not match: a partial or corrupted write.
        case torn
        /// A valid block written for another offset, job or run.
        case misplaced(detail: String)
        /// A valid block of an older write than the last one that completed.
        case stale(found: UInt64, expected: UInt64)
    }

    /// Classifies `length` bytes read from `offset`, where the job's last completed write had
    /// sequence `expected` (0: never written). `block` is modified (its CRC field zeroed).
    public static func classify(
        _ block: UnsafeMutableRawPointer, length: Int, offset: UInt64, expected: UInt64, seed: UInt64, job: UInt32,
        run: UInt64
    ) -> Verdict {
        let m = UInt64(littleEndian: block.load(fromByteOffset: 0, as: UInt64.self))
        guard m == magic else { return expected == 0 ? .unwritten : .missing }
        let stored = UInt32(littleEndian: block.load(fromByteOffset: crcOffset, as: UInt32.self))
        block.storeBytes(of: UInt32(0), toByteOffset: crcOffset, as: UInt32.self)
        guard wp_crc32c(0, block, length) == stored,
            UInt32(littleEndian: block.load(fromByteOffset: 36, as: UInt32.self)) == UInt32(truncatingIfNeeded: length)
        else {
            return .torn
        }
        let o = UInt64(littleEndian: block.load(fromByteOffset: 8, as: UInt64.self))
        let sequence = UInt64(littleEndian: block.load(fromByteOffset: 16, as: UInt64.self))
        let s = UInt64(littleEndian: block.load(fromByteOffset: 24, as: UInt64.self))
        let j = UInt32(littleEndian: block.load(fromByteOffset: 32, as: UInt32.self))
        if o != offset { return .misplaced(detail: "holds the block written for offset \(o)") }
        let r = UInt64(littleEndian: block.load(fromByteOffset: 48, as: UInt64.self))
        if s != seed || j != job { return .misplaced(detail: "holds a block of another job (seed \(s), job \(j))") }
        if r != run { return expected == 0 ? .unwritten : .misplaced(detail: "holds a block of an earlier run") }
        if expected == 0 { return .misplaced(detail: "holds write \(sequence) where this run recorded none (state from another run?)") }
        if sequence < expected { return .stale(found: sequence, expected: expected) }
        if sequence > expected { return .misplaced(detail: "holds write \(sequence), newer than the last recorded write \(expected)") }
        return .good
    }
}

/// The last completed write sequence of every block of one job's region, saved next to a file
/// target as `<target>.wpverify` so that `writepath verify` can check it later.
public final class VerifyState: @unchecked Sendable {
    public let bs: UInt64
    public let regionOffset: UInt64
    public let seed: UInt64
    public let job: UInt32
    /// Random per run, so blocks left by an earlier run are told apart.
    public let run: UInt64
    /// Per block: the sequence of the last write that completed there (0: none).
    public let latest: UnsafeMutableBufferPointer<UInt64>

    public init(bs: UInt64, regionOffset: UInt64, blocks: Int, seed: UInt64, job: UInt32, run: UInt64 = UInt64.random(in: 1...UInt64.max)) {
        self.run = run
        self.bs = bs
        self.regionOffset = regionOffset
        self.seed = seed
        self.job = job
        latest = .allocate(capacity: blocks)
        latest.initialize(repeating: 0)
    }

    deinit { latest.deallocate() }

    static let fileMagic: UInt64 = 0x3254_5453_5650_5057  // "WPVSTST2"

    /// The state file of a target.
    public static func path(for target: String) -> String { target + ".wpverify" }

    /// Throws `refused` naming `verify` when something other than a writepath state file is at
    /// `path` (saving the state would replace it), unless `safety.overwrite`.
    public static func checkReplaceable(_ path: String, safety: SafetyOptions) throws {
        guard let st = try Sys.lstatIfExists(path), !safety.overwrite else { return }
        var magic: UInt64 = 0
        if (st.st_mode & S_IFMT) == S_IFREG {
            let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC)
            if fd >= 0 {
                _ = withUnsafeMutableBytes(of: &magic) { Glibc.pread(fd, $0.baseAddress, 8, 0) }
                Glibc.close(fd)
            }
        }
        guard magic != fileMagic else { return }
        throw WritePathError.refused(
            field: "verify", message: "\(path) exists and is not a writepath verify state; move it away or pass --overwrite to replace it")
    }

    /// Writes the state to `path` (atomically: a new temporary file, fsync, rename).
    public func save(to path: String) throws {
        let tmp = path + ".tmp.\(getpid())"
        let fd = try Sys.open(tmp, flags: O_WRONLY | O_CREAT | wp_o_excl() | O_CLOEXEC, mode: 0o644)
        var header: [UInt64] = [Self.fileMagic, bs, regionOffset, UInt64(latest.count), seed, UInt64(job), run]
        do {
            try header.withUnsafeMutableBytes { try Sys.pwriteAll(fd, $0.baseAddress!, count: $0.count, offset: 0, path: tmp) }
            try Sys.pwriteAll(
                fd, UnsafeRawPointer(latest.baseAddress!), count: latest.count * 8, offset: UInt64(header.count * 8), path: tmp)
            try Sys.fsync(fd, path: tmp)
        } catch {
            Sys.close(fd)
            unlink(tmp)
            throw error
        }
        Sys.close(fd)
        guard rename(tmp, path) == 0 else {
            throw WritePathError.system(call: "rename", path: path, errno: errno, hint: "")
        }
    }

    /// Reads a state file; throws `invalidInput` naming it when it is not one. Its counts are
    /// checked before anything is allocated: the block count against the file's own size, and,
    /// with `targetBytes` (the target's size in bytes), the region it describes against the target.
    public static func load(from path: String, targetBytes: UInt64? = nil) throws -> VerifyState {
        let fd: Int32
        do { fd = try Sys.open(path, flags: O_RDONLY | O_CLOEXEC) } catch {
            throw WritePathError.invalidInput(
                field: "state", message: "cannot open \(path); run with --verify=crc32c first, or give --state")
        }
        defer { Sys.close(fd) }
        var header = [UInt64](repeating: 0, count: 7)
        let got = try header.withUnsafeMutableBytes { try Sys.pread(fd, $0.baseAddress!, count: 56, offset: 0, path: path) }
        guard got == 56, header[0] == fileMagic, header[1] > 0, header[1] <= 1 << 30 else {
            throw WritePathError.invalidInput(field: "state", message: "\(path) is not a writepath verify state file")
        }
        let fileBytes = UInt64(try Sys.fstat(fd, path: path).st_size)
        let blocks = header[3]
        guard blocks <= (fileBytes - 56) / 8, fileBytes - 56 == blocks * 8 else {
            throw WritePathError.invalidInput(
                field: "state",
                message: "\(path) claims \(blocks) blocks but its \(fileBytes) bytes hold \((fileBytes - 56) / 8); "
                    + "it is damaged or not a state file")
        }
        if let targetBytes {
            let (span, o1) = blocks.multipliedReportingOverflow(by: header[1])
            let (end, o2) = span.addingReportingOverflow(header[2])
            guard !o1, !o2, end <= targetBytes else {
                throw WritePathError.invalidInput(
                    field: "state",
                    message: "\(path) describes \(blocks) blocks of \(header[1]) bytes from offset \(header[2]), "
                        + "beyond the target's \(targetBytes) bytes; give the state file of this target")
            }
        }
        let state = VerifyState(
            bs: header[1], regionOffset: header[2], blocks: Int(header[3]), seed: header[4], job: UInt32(truncatingIfNeeded: header[5]),
            run: header[6])
        let n = try Sys.pread(fd, UnsafeMutableRawPointer(state.latest.baseAddress!), count: Int(header[3]) * 8, offset: 56, path: path)
        guard n == Int(header[3]) * 8 else {
            throw WritePathError.invalidInput(field: "state", message: "\(path) is truncated")
        }
        return state
    }
}

/// The verdict of reading a target back: `runs[].verify`.
public struct VerifyResult: Codable, Sendable, Equatable {
    public struct Finding: Codable, Sendable, Equatable {
        public var offset: UInt64
        /// `stale`, `torn`, `misplaced` or `missing`.
        public var kind: String
        public var detail: String
    }
    public var method: String
    public var path: String
    public var blocks: UInt64 = 0
    public var good: UInt64 = 0
    public var unwritten: UInt64 = 0
    public var stale: UInt64 = 0
    public var torn: UInt64 = 0
    public var misplaced: UInt64 = 0
    public var missing: UInt64 = 0
    /// The first findings (at most 20), by offset.
    public var findings: [Finding] = []
    /// `pass` when every written block holds its last write, else `fail`.
    public var verdict: String = "pass"

    public var bad: UInt64 { stale + torn + misplaced + missing }

    public mutating func add(_ other: VerifyResult) {
        blocks += other.blocks; good += other.good; unwritten += other.unwritten
        stale += other.stale; torn += other.torn; misplaced += other.misplaced; missing += other.missing
        findings = Array((findings + other.findings).prefix(20))
        verdict = bad == 0 ? "pass" : "fail"
        if path != other.path { path = "\(path), \(other.path)" }
    }
}

/// Reads a target back and classifies every block against a `VerifyState`.
public enum Verifier {
    public static func verify(path: String, state: VerifyState, direct: Bool = true) throws -> VerifyResult {
        var result = VerifyResult(method: VerifyMethod.crc32c.rawValue, path: path)
        let bs = Int(state.bs)
        let chunkBlocks = max(1, (1 << 20) / bs)
        let chunk = chunkBlocks * bs
        var flags = O_RDONLY | O_CLOEXEC
        if direct { flags |= wp_o_direct() }
        let fd: Int32
        do { fd = try Sys.open(path, flags: flags) } catch {
            fd = try Sys.open(path, flags: O_RDONLY | O_CLOEXEC)
        }
        defer { Sys.close(fd) }
        let buffer = try Sys.alignedAllocate(bytes: chunk, alignment: 4096)
        defer { free(buffer) }
        let blocks = state.latest.count
        var b = 0
        while b < blocks {
            let n = min(chunkBlocks, blocks - b)
            let offset = state.regionOffset + UInt64(b) * state.bs
            let got = try Sys.pread(fd, buffer, count: n * bs, offset: offset, path: path)
            for i in 0..<n {
                let blockOffset = offset + UInt64(i) * state.bs
                let expected = state.latest[b + i]
                let verdict: BlockStamp.Verdict
                if (i + 1) * bs > got {
                    verdict = expected == 0 ? .unwritten : .missing
                } else {
                    verdict = BlockStamp.classify(
                        buffer + i * bs, length: bs, offset: blockOffset, expected: expected, seed: state.seed, job: state.job,
                        run: state.run)
                }
                result.blocks += 1
                func note(_ kind: String, _ detail: String) {
                    if result.findings.count < 20 { result.findings.append(.init(offset: blockOffset, kind: kind, detail: detail)) }
                }
                switch verdict {
                case .good: result.good += 1
                case .unwritten: result.unwritten += 1
                case .missing: result.missing += 1; note("missing", "no writepath block where write \(expected) completed")
                case .torn: result.torn += 1; note("torn", "the CRC-32C does not match: a partial or corrupted write")
                case let .misplaced(detail): result.misplaced += 1; note("misplaced", detail)
                case let .stale(found, exp): result.stale += 1; note("stale", "holds write \(found), the last completed write was \(exp)")
                }
            }
            b += n
        }
        result.verdict = result.bad == 0 ? "pass" : "fail"
        return result
    }
}
