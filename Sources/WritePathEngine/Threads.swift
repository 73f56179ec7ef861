#if canImport(Glibc)
    import Glibc
#endif

/// A joinable POSIX thread running one closure; its result is read after `join()`.
final class JoinableThread<Result>: @unchecked Sendable {
    private var thread = pthread_t()
    private let runner: ThreadEntry
    private let box: ResultBox<Result>

    init(_ body: @escaping () -> Result) {
        let box = ResultBox<Result>()
        self.box = box
        runner = ThreadEntry { box.value = body() }
    }

    /// Starts the thread. Throws `system` when pthread_create fails.
    func start() throws {
        let r = runner.start(&thread)
        if r != 0 {
            throw WritePathError.system(call: "pthread_create", path: "", errno: r, hint: "lower numjobs")
        }
    }

    /// Waits for the thread to end and returns its result.
    func join() -> Result {
        pthread_join(thread, nil)
        return box.value!
    }
}

final class ResultBox<Result>: @unchecked Sendable {
    var value: Result?
}

/// The non-generic part: a closure handed to pthread_create.
final class ThreadEntry: @unchecked Sendable {
    let body: () -> Void
    init(_ body: @escaping () -> Void) { self.body = body }

    func start(_ thread: inout pthread_t) -> Int32 {
        let context = Unmanaged.passRetained(self).toOpaque()
        let r = pthread_create(&thread, nil, threadMain, context)
        if r != 0 { Unmanaged<ThreadEntry>.fromOpaque(context).release() }
        return r
    }
}

private func threadMain(_ raw: UnsafeMutableRawPointer?) -> UnsafeMutableRawPointer? {
    let entry = Unmanaged<ThreadEntry>.fromOpaque(raw!).takeRetainedValue()
    entry.body()
    return nil
}
