import Foundation

/// A fleet run's progress from the playbook's events (`writepath_fleet` callback: `matrix_started`,
/// `matrix_ended`, `failed`, `unreachable`, one JSON object a line): which hosts have ended their
/// matrix, and the time left, estimated from the hosts so far. Each host still running counts the
/// mean matrix time of the hosts that ended, less what it has run; hosts not started yet count
/// that mean per round of `forks` hosts. Seconds are the controller's, since the fleet started.
public struct FleetProgress: Sendable {
    /// The hosts this fleet run tries.
    public let hosts: [String]
    /// Hosts at once (Ansible's forks).
    public let forks: Int
    /// When each host's matrix started, seconds since the fleet started.
    public private(set) var started: [String: Double] = [:]
    /// Each host that ended: when, and its matrix's wall seconds (nil when it never ran one:
    /// unreachable, or a task before the matrix failed).
    public private(set) var ended: [String: (at: Double, matrixSeconds: Double?)] = [:]

    public init(hosts: [String], forks: Int) {
        self.hosts = hosts
        self.forks = max(forks, 1)
    }

    /// Reads the events in `text` (the whole file so far) seen at `now`, and returns a line for
    /// each host that ended since the last call: `fleet: fleet-a ran its matrix in 42s (1 of 3
    /// hosts done), 1m05s elapsed, ~40s left`.
    public mutating func update(events text: String, now: Double) -> [String] {
        var lines: [String] = []
        for line in text.split(separator: "\n") {
            guard let o = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                let event = o["event"] as? String, let host = o["host"] as? String, hosts.contains(host), ended[host] == nil
            else { continue }
            switch event {
            case "matrix_started": if started[host] == nil { started[host] = now }
            case "matrix_ended", "failed", "unreachable":
                let seconds = started[host].map { now - $0 }
                ended[host] = (now, event == "matrix_ended" ? seconds : nil)
                let what =
                    event == "matrix_ended"
                    ? "ran its matrix\(seconds.map { " in \(MatrixRunner.duration($0))" } ?? "")"
                    : (event == "unreachable" ? "is unreachable" : "failed")
                lines.append("fleet: \(host) \(what) (\(ended.count) of \(hosts.count) hosts done), \(status(now))")
            default: continue
            }
        }
        return lines
    }

    /// `1m05s elapsed, ~40s left`; the time left is left out until a host has ended its matrix.
    public func status(_ now: Double) -> String {
        var out = "\(MatrixRunner.duration(now)) elapsed"
        if let left = secondsLeft(now) { out += ", ~\(MatrixRunner.duration(left)) left" }
        return out
    }

    /// The line `--status-interval` repeats: `fleet: 1 of 3 hosts done, 2 running their matrix, 1m05s elapsed, ~40s left`.
    public func statusLine(_ now: Double) -> String {
        let running = started.keys.filter { ended[$0] == nil }.count
        return "fleet: \(ended.count) of \(hosts.count) hosts done, \(running) running their matrix, \(status(now))"
    }

    /// Seconds until every host has ended, from the matrices that ended so far; nil before any.
    public func secondsLeft(_ now: Double) -> Double? {
        let times = ended.values.compactMap(\.matrixSeconds)
        guard !times.isEmpty else { return nil }
        let mean = times.reduce(0, +) / Double(times.count)
        let running = started.filter { ended[$0.key] == nil }.map { max(0, mean - (now - $0.value)) }
        let waiting = hosts.filter { started[$0] == nil && ended[$0] == nil }.count
        let rounds = (waiting + forks - 1) / forks
        return (running.max() ?? 0) + Double(rounds) * mean
    }
}
