/// The null engine: no I/O at all. Every prepared I/O completes at once with its full length, so
/// a run measures the harness itself (offset generation, timing, histogram recording).
public final class NullEngine: IOEngine {
    public static let kind = EngineKind.null
    let slots: UnsafeMutablePointer<Int>
    let lengths: UnsafeMutablePointer<Int>
    var preparedCount = 0
    var readyCount = 0
    public let features = ["no_io"]

    public init(setup: EngineSetup) throws {
        slots = .allocate(capacity: setup.depth)
        lengths = .allocate(capacity: setup.depth)
    }

    @inline(__always)
    public func prepare(slot: Int, operation: IOOperation, buffer: Int, offset: UInt64, length: Int) {
        slots[preparedCount] = slot
        lengths[preparedCount] = length
        preparedCount += 1
    }

    public func prepareFlush(slot: Int, datasync: Bool) {
        prepare(slot: slot, operation: .fsync, buffer: 0, offset: 0, length: 0)
    }

    @inline(__always)
    public func submit(waitFor minimum: Int, timeoutNanoseconds: UInt64?) throws {
        readyCount = preparedCount
    }

    @inline(__always)
    public func reap(_ body: (Int, Int) -> Void) -> Int {
        let n = readyCount
        for i in 0..<n { body(slots[i], lengths[i]) }
        preparedCount = 0
        readyCount = 0
        return n
    }

    public func close() {
        slots.deallocate()
        lengths.deallocate()
    }
}
