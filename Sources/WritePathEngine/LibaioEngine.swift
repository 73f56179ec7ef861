import CLibaio

#if canImport(Glibc)
    import Glibc
#endif

/// The libaio engine: io_submit of every prepared I/O in one call, io_getevents for at least the
/// requested number of completions. Linux AIO has no portable asynchronous flush, so a flush
/// runs synchronously (fsync/fdatasync) once the job loop has drained the queue, as fio does.
public final class LibaioEngine: IOEngine {
    public static let kind = EngineKind.libaio
    var context: io_context_t?
    let fd: Int32
    let path: String
    let depth: Int
    let iocbs: UnsafeMutablePointer<iocb>
    let pending: UnsafeMutablePointer<UnsafeMutablePointer<iocb>?>
    var pendingCount = 0
    let events: UnsafeMutablePointer<io_event>
    var eventCount = 0
    let buffers: [UnsafeMutableRawPointer]
    /// Results of synchronous flushes, delivered by the next reap: (slot, result).
    var flushResults: [(Int, Int)] = []
    public let features = ["io_submit_batch", "io_getevents_batch", "flush:synchronous"]

    public init(setup: EngineSetup) throws {
        fd = setup.fd
        path = setup.path
        depth = setup.depth
        let r = io_setup(Int32(setup.depth), &context)
        if r != 0 {
            throw WritePathError.system(
                call: "io_setup", path: setup.path, errno: -r,
                hint: -r == EAGAIN ? "raise fs.aio-max-nr or lower iodepth/numjobs" : "")
        }
        iocbs = .allocate(capacity: setup.depth)
        iocbs.initialize(repeating: iocb(), count: setup.depth)
        pending = .allocate(capacity: setup.depth)
        events = .allocate(capacity: setup.depth)
        buffers = setup.buffers
    }

    @inline(__always)
    public func prepare(slot: Int, operation: IOOperation, buffer: Int, offset: UInt64, length: Int) {
        let cb = iocbs + slot
        switch operation {
        case .write: io_prep_pwrite(cb, fd, buffers[buffer], length, Int64(offset))
        case .read: io_prep_pread(cb, fd, buffers[buffer], length, Int64(offset))
        case .fsync, .fdatasync:
            prepareFlush(slot: slot, datasync: operation == .fdatasync)
            return
        }
        cb.pointee.data = UnsafeMutableRawPointer(bitPattern: slot + 1)
        pending[pendingCount] = cb
        pendingCount += 1
    }

    public func prepareFlush(slot: Int, datasync: Bool) {
        var r: Int32
        repeat { r = datasync ? fdatasync(fd) : Glibc.fsync(fd) } while r != 0 && errno == EINTR
        flushResults.append((slot, r == 0 ? 0 : -Int(errno)))
    }

    @inline(__always)
    public func submit(waitFor minimum: Int, timeoutNanoseconds: UInt64?) throws {
        var done = 0
        while done < pendingCount {
            let r = io_submit(context, pendingCount - done, pending + done)
            if r == -EINTR { continue }
            if r == -EAGAIN { break }
            if r < 0 {
                throw WritePathError.system(call: "io_submit", path: path, errno: -r, hint: hintFor(errno: -r))
            }
            done += Int(r)
        }
        if done < pendingCount {
            // Keep what the kernel did not take for the next call.
            for i in 0..<(pendingCount - done) { pending[i] = pending[done + i] }
        }
        pendingCount -= done
        let wanted = flushResults.isEmpty ? minimum : 0
        var ts = timespec()
        if let t = timeoutNanoseconds { ts = timespec(tv_sec: Int(t / 1_000_000_000), tv_nsec: Int(t % 1_000_000_000)) }
        while true {
            let r =
                timeoutNanoseconds == nil
                ? io_getevents(context, wanted, depth, events, nil)
                : io_getevents(context, wanted, depth, events, &ts)
            if r == -EINTR { eventCount = 0; return }
            if r < 0 {
                throw WritePathError.system(call: "io_getevents", path: path, errno: -r, hint: "")
            }
            eventCount = Int(r)
            return
        }
    }

    @inline(__always)
    public func reap(_ body: (Int, Int) -> Void) -> Int {
        let n = eventCount
        for i in 0..<n {
            let e = events[i]
            let slot = Int(bitPattern: e.data) - 1
            body(slot, Int(Int64(bitPattern: UInt64(e.res))))
        }
        eventCount = 0
        if !flushResults.isEmpty {
            for (slot, result) in flushResults { body(slot, result) }
            let m = flushResults.count
            flushResults.removeAll(keepingCapacity: true)
            return n + m
        }
        return n
    }

    public func close() {
        _ = io_destroy(context)
        iocbs.deallocate()
        pending.deallocate()
        events.deallocate()
    }
}
