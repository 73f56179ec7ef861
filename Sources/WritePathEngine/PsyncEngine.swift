#if canImport(Glibc)
    import Glibc
#endif

/// The psync engine: pwrite/pread/fsync, one I/O in flight per job, done inside `submit`.
public final class PsyncEngine: IOEngine {
    public static let kind = EngineKind.psync
    let fd: Int32
    let buffers: [UnsafeMutableRawPointer]
    var preparedSlot = -1
    var preparedOperation = IOOperation.write
    var preparedBuffer = 0
    var preparedOffset: UInt64 = 0
    var preparedLength = 0
    var completed: (slot: Int, result: Int)?
    public let features = ["pwrite", "one_in_flight"]

    public init(setup: EngineSetup) throws {
        fd = setup.fd
        buffers = setup.buffers
    }

    @inline(__always)
    public func prepare(slot: Int, operation: IOOperation, buffer: Int, offset: UInt64, length: Int) {
        preparedSlot = slot
        preparedOperation = operation
        preparedBuffer = buffer
        preparedOffset = offset
        preparedLength = length
    }

    public func prepareFlush(slot: Int, datasync: Bool) {
        prepare(slot: slot, operation: datasync ? .fdatasync : .fsync, buffer: 0, offset: 0, length: 0)
    }

    @inline(__always)
    public func submit(waitFor minimum: Int, timeoutNanoseconds: UInt64?) throws {
        guard preparedSlot >= 0 else { return }
        var r: Int
        repeat {
            switch preparedOperation {
            case .write: r = pwrite(fd, buffers[preparedBuffer], preparedLength, off_t(preparedOffset))
            case .read: r = pread(fd, buffers[preparedBuffer], preparedLength, off_t(preparedOffset))
            case .fsync: r = Int(Glibc.fsync(fd))
            case .fdatasync: r = Int(fdatasync(fd))
            }
        } while r < 0 && errno == EINTR
        completed = (preparedSlot, r < 0 ? -Int(errno) : r)
        preparedSlot = -1
    }

    @inline(__always)
    public func reap(_ body: (Int, Int) -> Void) -> Int {
        guard let c = completed else { return 0 }
        completed = nil
        body(c.slot, c.result)
        return 1
    }

    public func close() {}
}
