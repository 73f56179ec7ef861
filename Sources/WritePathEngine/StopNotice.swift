#if canImport(Glibc)
    import Glibc
#endif

/// Wakes whoever waits for the user's stop request (SIGINT/SIGTERM) the moment it is made, so
/// that nothing has to poll `stopRequested`: `post()` sets the flag and writes a byte to a pipe
/// that is never drained, so `descriptor` stays readable from the first request on.
public enum StopNotice {
    /// The pipe's read and write ends (close-on-exec, non-blocking); -1 when pipe2 failed.
    private static let ends: (read: Int32, write: Int32) = {
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else { return (-1, -1) }
        for fd in fds {
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        }
        return (fds[0], fds[1])
    }()

    /// Creates the pipe. Call it before installing a signal handler that calls `post()`, so that
    /// the handler never runs the one-time initialisation.
    public static func prepare() { _ = ends }

    /// Readable once a stop has been requested (and from then on); -1 without a pipe.
    public static var descriptor: Int32 { ends.read }

    /// Records a stop request: sets `stopRequested` and makes `descriptor` readable. Only an
    /// atomic store and write(2) once `prepare()` has run: safe in a signal handler.
    public static func post() {
        stopRequested.store(true, ordering: .relaxed)
        var byte: UInt8 = 1
        _ = write(ends.write, &byte, 1)
    }
}
