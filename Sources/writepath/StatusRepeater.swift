import Foundation
import WritePathRunner

/// `--status-interval N` of `sweep` and `run --matrix`: while a step or run goes on, its progress
/// line is repeated on stderr every N seconds with how long it has run (`... | run running 1m10s`),
/// also when stderr is not a terminal, so a CI log shows the work is alive during long steps
/// (guests that boot, long runtimes). stdout is never written.
final class StatusRepeater: @unchecked Sendable {
    /// The repeater of this process, stopped when the sweep or matrix ends.
    nonisolated(unsafe) static var current: StatusRepeater?
    /// Seconds between repeated lines.
    let interval: Double
    /// What is running, as the lines name it: `step` (sweeps) or `run` (matrices).
    let noun: String
    let lock = NSLock()
    var stopped = false
    var line = ""
    var since = Date()
    var thread: Thread?

    init(interval: Double, noun: String) {
        self.interval = interval
        self.noun = noun
    }

    /// A new step or run began with progress line `line`; starts the repeating thread on first use.
    func started(_ line: String) {
        lock.lock()
        self.line = line
        since = Date()
        let start = thread == nil
        lock.unlock()
        guard start else { return }
        let t = Thread { [self] in
            while true {
                Thread.sleep(forTimeInterval: interval)
                lock.lock()
                let (l, s, done) = (self.line, self.since, self.stopped)
                lock.unlock()
                if done { return }
                Output.stderr("\(l) | \(noun) running \(MatrixRunner.duration(Date().timeIntervalSince(s)))\n")
            }
        }
        thread = t
        t.start()
    }

    /// No more lines: the sweep or matrix ended.
    func stop() {
        lock.lock()
        stopped = true
        lock.unlock()
    }
}
