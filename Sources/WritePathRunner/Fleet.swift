import Foundation
import WritePathEngine

#if canImport(Glibc)
    import Glibc
#endif

/// How one host of a fleet run ended; `fleet.json` spells it as the raw value.
public enum FleetHostStatus: String, Codable, Equatable, Sendable {
    /// The matrix ran to its end and every run is ok.
    case ok
    /// The results are fetched but some runs are not ok.
    case runsFailed = "runs_failed"
    /// Stopped before the matrix ended; the results so far are fetched.
    case interrupted
    /// No results (the reason says why).
    case failed
    /// SSH could not reach the host.
    case unreachable
    /// Not tried yet (written before the playbook starts, so a killed fleet run shows it).
    case pending
    /// The playbook is running on it.
    case running
}

/// How one host of a fleet run ended, as `fleet.json` records it.
public struct FleetHost: Codable, Equatable, Sendable {
    /// The inventory host name (the host's folder in the fleet folder).
    public var host: String
    /// `ok`, `runs_failed` (results fetched, some runs not ok), `interrupted` (results so far
    /// fetched), `failed` (no results) or `unreachable`.
    public var status: FleetHostStatus
    /// Why the host has no results or not all of them; nil for `ok`.
    public var reason: String?
    /// The fetched run folder, relative to the fleet folder (`<host>/<run id>`); nil without results.
    public var run_directory: String?
    /// The remote `writepath run` exit status, when it ran.
    public var exit_status: Int?
    /// How many fleet runs (the first and each `--resume`) have tried this host.
    public var attempts: Int
    /// The host's kind as the inventory labels it (`writepath_host_kind`), for `plan` per host
    /// kind; nil when the inventory does not say.
    public var kind: String? = nil

    /// Whether the host's matrix ran to its end and its results are in the fleet folder.
    public var isDone: Bool { status == .ok || status == .runsFailed }
}

/// `fleet.json`: what a fleet run asked for and how each host ended.
public struct FleetRecord: Codable, Equatable, Sendable {
    public var schema = "writepath.fleet/1"
    public var fleet_id: String
    /// The inventory and `--limit` pattern as given.
    public var inventory: String
    public var limit: String?
    public var forks: Int
    /// ISO 8601 UTC.
    public var started_at: String
    public var finished_at: String?
    /// True when every host is done (`ok` or `runs_failed`).
    public var complete: Bool
    /// Every host the inventory (and limit) names, in inventory order.
    public var hosts: [FleetHost]
}

/// Runs one matrix on every host of an Ansible inventory through the shipped playbook
/// (`deploy/ansible/fleet.yml`): copies the static binary, runs the matrix there, fetches each run
/// folder into `<results>/<fleet id>/<host>/<run id>/` and records each host's outcome in
/// `fleet.json`. Hosts run concurrently (`forks`); a host that fails or cannot be reached is
/// recorded with the reason and the others go on. `stopRequested` (Ctrl-C) stops the matrix on
/// every host (`stop.yml`); what each host measured so far is still fetched.
public struct FleetRunner {
    /// What to run where.
    public struct Options: Sendable {
        /// The Ansible inventory (file, folder or `host1,host2,` list, as ansible takes it).
        public var inventory: String
        /// Ansible's `--limit` pattern; nil for every host.
        public var limit: String?
        /// Hosts at once (Ansible's forks).
        public var forks = 5
        /// Where the fleet folder is made.
        public var resultsRoot = "results"
        /// An earlier fleet folder: run only its hosts that are not done.
        public var resumeDirectory: String?
        /// The static `writepath` to copy to the hosts.
        public var binary: String
        /// The folder with `fleet.yml`, `stop.yml` and the role.
        public var playbookDirectory: String
        /// Seconds the playbook has, after a stop, to fetch what the hosts measured.
        public var stopGraceSeconds = 120.0
        /// Extra environment for ansible-playbook (e.g. `ANSIBLE_HOME`).
        public var environment: [String: String] = [:]
        /// Progress lines (each host as its matrix ends, with the time left; host outcomes); nil for none.
        public var progress: (@Sendable (String) -> Void)?
        /// Seconds between status lines (`FleetProgress.statusLine`) while the hosts run; nil for none.
        public var statusInterval: Double?

        public init(inventory: String, binary: String, playbookDirectory: String) {
            self.inventory = inventory
            self.binary = binary
            self.playbookDirectory = playbookDirectory
        }
    }

    public let options: Options
    /// The fleet folder (new, or the one resumed).
    public let directory: String
    /// The matrix every host runs (`<fleet folder>/matrix.yaml`).
    public let spec: MatrixSpec
    /// The hosts the inventory and limit name.
    public let hosts: [String]
    private var record: FleetRecord

    /// Checks the inputs (exit 2 naming the field), lists the inventory's hosts, and makes the
    /// fleet folder with the matrix in it, or reads the one resumed. `matrix` is the matrix's YAML
    /// and where it came from; nil only with `resumeDirectory` (the recorded matrix is used).
    public init(matrix: (text: String, source: String)?, options: Options) throws {
        self.options = options
        guard options.forks >= 1 else {
            throw WritePathError.invalidInput(field: "forks", message: "'\(options.forks)' is not a host count; expected 1 or more")
        }
        let fm = FileManager.default
        if !options.inventory.contains(",") && !fm.fileExists(atPath: options.inventory) {
            throw WritePathError.invalidInput(
                field: "inventory", message: "\(quoted(options.inventory)) does not exist; give an Ansible inventory file")
        }
        guard fm.isExecutableFile(atPath: options.binary) else {
            throw WritePathError.invalidInput(field: "binary", message: "\(quoted(options.binary)) is not an executable file")
        }
        guard fm.fileExists(atPath: "\(options.playbookDirectory)/fleet.yml") else {
            throw WritePathError.invalidInput(
                field: "playbook-dir",
                message: "\(quoted(options.playbookDirectory)) holds no fleet.yml; give the deploy/ansible folder of writepath")
        }
        guard Command.which("ansible-playbook") != nil, Command.which("ansible") != nil else {
            throw WritePathError.system(
                call: "exec", path: "ansible-playbook", errno: ENOENT,
                hint: "Ansible is not installed (scripts/install-deps.sh fleet installs ansible-core)")
        }
        hosts = try Self.listHosts(inventory: options.inventory, limit: options.limit, environment: options.environment)
        if let resume = options.resumeDirectory {
            let base = resume.count > 1 && resume.hasSuffix("/") ? String(resume.dropLast()) : resume
            guard let data = fm.contents(atPath: "\(base)/fleet.json"),
                let recorded = try? JSONDecoder().decode(FleetRecord.self, from: data)
            else {
                throw WritePathError.invalidInput(
                    field: "resume", message: "\(quoted(resume)) is not a fleet folder (no readable fleet.json)")
            }
            guard let text = try? String(contentsOfFile: "\(base)/matrix.yaml", encoding: .utf8) else {
                throw WritePathError.invalidInput(field: "resume", message: "\(quoted(resume)) has no readable matrix.yaml")
            }
            if let matrix, matrix.text != text {
                throw WritePathError.invalidInput(
                    field: "matrix", message: "\(quoted(matrix.source)) is not the matrix of \(resume); leave out --matrix with --resume")
            }
            spec = try MatrixSpec.parse(text, source: "\(base)/matrix.yaml")
            directory = base
            record = recorded
            record.inventory = options.inventory
            record.limit = options.limit
            record.forks = options.forks
            record.finished_at = nil
            for h in hosts where !record.hosts.contains(where: { $0.host == h }) {
                record.hosts.append(FleetHost(host: h, status: .pending, attempts: 0))
            }
        } else {
            guard let matrix else {
                throw WritePathError.invalidInput(field: "matrix", message: "is missing; give a suite name or a YAML file")
            }
            spec = try MatrixSpec.parse(matrix.text, source: matrix.source)
            try OutputFile.ensureFolder(options.resultsRoot, field: "results")
            let id = MatrixRunner.runIdentifier(host: "fleet")
            var dir = "\(options.resultsRoot)/\(id)"
            var n = 2
            while mkdir(dir, 0o755) != 0 {
                let e = errno
                guard e == EEXIST, n < 1000 else {
                    throw WritePathError.system(call: "mkdir", path: dir, errno: e, hint: hintFor(errno: e))
                }
                dir = "\(options.resultsRoot)/\(id)-\(n)"
                n += 1
            }
            directory = dir
            try Self.write(Data(matrix.text.utf8), to: "\(dir)/matrix.yaml")
            record = FleetRecord(
                fleet_id: (dir as NSString).lastPathComponent, inventory: options.inventory, limit: options.limit,
                forks: options.forks, started_at: Self.now(), complete: false,
                hosts: hosts.map { FleetHost(host: $0, status: .pending, attempts: 0) })
        }
        try saveRecord()
    }

    /// The hosts this run will try: those the inventory names that are not done.
    public var pendingHosts: [String] {
        hosts.filter { h in !(record.hosts.first { $0.host == h }?.isDone ?? false) }
    }

    /// Runs the playbook on the pending hosts and returns the record, also written to `fleet.json`.
    public mutating func run() throws -> FleetRecord {
        let pending = pendingHosts
        guard !pending.isEmpty else {
            options.progress?("fleet: every host is done; nothing to resume")
            return record
        }
        let fm = FileManager.default
        let absolute = Self.absolute(directory)
        // A host tried again starts from an empty folder; what an earlier try fetched is kept aside.
        for h in pending where fm.fileExists(atPath: "\(directory)/\(h)") {
            let attempt = record.hosts.first { $0.host == h }?.attempts ?? 0
            try? fm.createDirectory(atPath: "\(directory)/.earlier", withIntermediateDirectories: true)
            try? fm.moveItem(atPath: "\(directory)/\(h)", toPath: "\(directory)/.earlier/\(h)-attempt\(attempt)")
            try? fm.removeItem(atPath: "\(directory)/.host-runs/\(h).json")
        }
        let attemptTag = (record.hosts.map(\.attempts).max() ?? 0) + 1
        try fm.createDirectory(atPath: "\(directory)/.ansible", withIntermediateDirectories: true)
        let events = "\(absolute)/.ansible/events-\(attemptTag).jsonl"
        let vars = Self.variables(
            spec: spec, binary: Self.absolute(options.binary), fleetDirectory: absolute, guestImage: try guestImage())
        let varsFile = "\(absolute)/.ansible/vars.json"
        try Self.write(try JSONSerialization.data(withJSONObject: vars, options: [.sortedKeys]), to: varsFile)
        for i in record.hosts.indices where pending.contains(record.hosts[i].host) {
            record.hosts[i].status = .running
            record.hosts[i].attempts += 1
        }
        try saveRecord()
        options.progress?(
            "fleet: \(pending.count) hosts (\(pending.joined(separator: ", "))), forks \(options.forks); "
                + "ansible log: \(directory)/ansible.log")
        let common = ["-i", options.inventory, "--limit", pending.joined(separator: ","), "-e", "@\(varsFile)"]
        let playbook = try launch(common + ["--forks", "\(options.forks)", "\(options.playbookDirectory)/fleet.yml"], events: events)
        var stopped = false
        var deadline: UInt64 = .max
        var tracker = FleetProgress(hosts: pending, forks: options.forks)
        let began = monotonicNanoseconds()
        var polled: UInt64 = 0, reported: UInt64 = began
        while playbook.isRunning {
            usleep(50_000)
            // Once a second: the hosts whose matrix ended, from the callback's events.
            let now = monotonicNanoseconds()
            if now - polled >= 1_000_000_000 {
                polled = now
                let text = (try? String(contentsOfFile: events, encoding: .utf8)) ?? ""
                for line in tracker.update(events: text, now: Double(now - began) / 1e9) { options.progress?(line) }
            }
            if let interval = options.statusInterval, Double(now - reported) >= interval * 1e9 {
                reported = now
                options.progress?(tracker.statusLine(Double(now - began) / 1e9))
            }
            if !stopped && stopRequested.load(ordering: .relaxed) {
                stopped = true
                options.progress?("fleet: stopping the matrix on every host; fetching what they measured")
                let stop = try? launch(
                    common + [
                        "--forks", "\(max(options.forks, pending.count))",
                        "\(options.playbookDirectory)/stop.yml",
                    ], events: nil)
                stop?.waitUntilExit()
                deadline = monotonicNanoseconds() + UInt64(options.stopGraceSeconds * 1e9)
            }
            if monotonicNanoseconds() > deadline {
                // The playbook did not finish fetching in time: end it (SIGTERM, then SIGKILL after 5 s).
                kill(-playbook.processIdentifier, SIGTERM)
                let killAt = monotonicNanoseconds() + 5_000_000_000
                while playbook.isRunning && monotonicNanoseconds() < killAt { usleep(50_000) }
                if playbook.isRunning { kill(-playbook.processIdentifier, SIGKILL) }
                break
            }
        }
        playbook.waitUntilExit()
        let reasons = Self.reasons(events)
        for i in record.hosts.indices where pending.contains(record.hosts[i].host) {
            record.hosts[i] = outcome(record.hosts[i], reasons: reasons, stopped: stopped)
            options.progress?(
                "  \(record.hosts[i].host): \(record.hosts[i].status.rawValue)"
                    + (record.hosts[i].reason.map { ": \($0)" } ?? ""))
        }
        record.finished_at = Self.now()
        record.complete = record.hosts.filter { hosts.contains($0.host) }.allSatisfy(\.isDone)
        try saveRecord()
        return record
    }

    /// The playbook's variables (`-e @vars.json`, see the role's defaults): the binary, the matrix,
    /// the fleet folder, whether to start dockerd (the matrix has `docker-*` layers) and the guest
    /// image folder to copy to each host ("" for none).
    public static func variables(spec: MatrixSpec, binary: String, fleetDirectory: String, guestImage: String?) -> [String: Any] {
        [
            "writepath_binary": binary,
            "writepath_matrix": "\(fleetDirectory)/matrix.yaml",
            "writepath_fleet_dir": fleetDirectory,
            "writepath_start_dockerd": spec.layers.contains { $0.name.hasPrefix("docker") },
            "writepath_guest_image": guestImage ?? "",
        ]
    }

    /// Whether the matrix has guest layers (`qemu-*`, `xen-*`), which boot the guest image.
    public static func hasGuestLayers(_ spec: MatrixSpec) -> Bool {
        spec.layers.contains { $0.name.hasPrefix("qemu-") || $0.name.hasPrefix("xen-") }
    }

    /// For a matrix with guest layers: the guest image for the fleet's binary, made here (or found
    /// in the cache) and exported into `<fleet folder>/.guest-image/`, its absolute path; the role
    /// copies it to every host. nil without guest layers, or when it cannot be made here (the
    /// progress line says why; each host then builds its own, as before).
    func guestImage() throws -> String? {
        guard Self.hasGuestLayers(spec) else { return nil }
        let folder = "\(Self.absolute(directory))/.guest-image"
        let withFio = spec.workloads.contains { $0.engine == .fio }
        if let found = try? GuestImage.exported(at: folder), !withFio || found.withFio { return folder }
        do {
            let image = try GuestImage.prepare(engineBinary: options.binary, withFio: withFio)
            try image.export(to: folder, withFio: withFio)
            options.progress?("fleet: guest image \(image.hash.prefix(12)) (\(ByteSize.format(image.initramfsBytes))) goes to every host")
            return folder
        } catch {
            options.progress?("fleet: no guest image made here (\(error)); each host builds its own")
            return nil
        }
    }

    /// The host's outcome from what the playbook left: the host record and run folder it fetched,
    /// else the reason the callback recorded.
    func outcome(_ before: FleetHost, reasons: [String: (event: String, reason: String)], stopped: Bool) -> FleetHost {
        var h = before
        h.reason = nil
        h.run_directory = nil
        h.exit_status = nil
        let fm = FileManager.default
        if let data = fm.contents(atPath: "\(directory)/.host-runs/\(h.host).json"),
            let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
            let runID = object["run_id"] as? String, let status = object["exit_status"] as? Int
        {
            h.exit_status = status
            h.kind = (object["kind"] as? String).flatMap { $0.isEmpty ? nil : $0 }
            if fm.fileExists(atPath: "\(directory)/\(h.host)/\(runID)/run.json") {
                h.run_directory = "\(h.host)/\(runID)"
                switch status {
                case 0: h.status = .ok
                case 1: (h.status, h.reason) = (.runsFailed, "some runs failed on the host; the report's warnings say which and why")
                default: (h.status, h.reason) = (.interrupted, "stopped before the matrix ended; the results so far are fetched")
                }
                return h
            }
            (h.status, h.reason) = (.failed, "the fetched run folder \(h.host)/\(runID) has no run.json")
            return h
        }
        if let r = reasons[h.host] {
            h.status = r.event == "unreachable" ? .unreachable : .failed
            h.reason = r.reason
        } else {
            h.status = stopped ? .interrupted : .failed
            h.reason =
                stopped ? "stopped before its results were fetched" : "no results and no reason recorded; see \(directory)/ansible.log"
        }
        return h
    }

    /// Starts ansible-playbook (its own process group: Ctrl-C reaches only writepath, which stops
    /// the hosts first), output appended to `ansible.log`.
    func launch(_ arguments: [String], events: String?) throws -> Process {
        let log = "\(directory)/ansible.log"
        if !FileManager.default.fileExists(atPath: log) { FileManager.default.createFile(atPath: log, contents: nil) }
        guard let handle = FileHandle(forWritingAtPath: log) else {
            throw WritePathError.system(call: "open", path: log, errno: errno, hint: hintFor(errno: errno))
        }
        handle.seekToEndOfFile()
        let p = Process()
        p.executableURL = URL(fileURLWithPath: Command.which("ansible-playbook")!)
        p.arguments = arguments
        var env = ProcessInfo.processInfo.environment.merging(options.environment) { _, new in new }
        env["ANSIBLE_CALLBACKS_ENABLED"] = "writepath_fleet"
        env["ANSIBLE_CALLBACK_PLUGINS"] = "\(Self.absolute(options.playbookDirectory))/callback_plugins"
        env["ANSIBLE_RETRY_FILES_ENABLED"] = "False"
        env["ANSIBLE_NOCOLOR"] = "1"
        env["WRITEPATH_FLEET_EVENTS"] = events ?? "/dev/null"
        p.environment = env
        p.standardOutput = handle
        p.standardError = handle
        p.standardInput = FileHandle.nullDevice
        do { try p.run() } catch {
            throw WritePathError.system(call: "exec", path: "ansible-playbook", errno: EIO, hint: "\(error)")
        }
        try? handle.close()
        return p
    }

    /// The first failure or unreachability per host in the callback's events file.
    static func reasons(_ path: String) -> [String: (event: String, reason: String)] {
        var out: [String: (event: String, reason: String)] = [:]
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return out }
        for line in text.split(separator: "\n") {
            guard let o = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                let event = o["event"] as? String, event == "failed" || event == "unreachable",
                let host = o["host"] as? String, out[host] == nil
            else { continue }
            let msg = ((o["msg"] as? String) ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
            let task = (o["task"] as? String) ?? "a task"
            out[host] = (event, event == "unreachable" ? msg : "task '\(task)' failed: \(msg)")
        }
        return out
    }

    /// The hosts `ansible --list-hosts` names for the inventory and limit; exit 2 when none.
    static func listHosts(inventory: String, limit: String?, environment: [String: String]) throws -> [String] {
        var arguments = ["all", "-i", inventory, "--list-hosts"]
        if let limit { arguments += ["--limit", limit] }
        let env = environment.map { "\($0.key)=\($0.value)" }
        let out = try Command.run("/usr/bin/env", env + [Command.which("ansible")!] + arguments, timeout: 120)
        let names = out.stdout.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty && !$0.hasPrefix("hosts (") }
        guard out.status == 0, !names.isEmpty else {
            let what = limit.map { "with limit \(quoted($0)) " } ?? ""
            throw WritePathError.invalidInput(
                field: limit == nil ? "inventory" : "limit",
                message: "\(quoted(inventory)) \(what)names no hosts Ansible can parse\(out.stderr.isEmpty ? "" : ": \(out.stderrTail(1))")"
            )
        }
        return names
    }

    func saveRecord() throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try Self.write(try encoder.encode(record) + Data("\n".utf8), to: "\(directory)/fleet.json")
    }

    static func write(_ data: Data, to path: String) throws {
        guard FileManager.default.createFile(atPath: path + ".tmp", contents: data), rename(path + ".tmp", path) == 0 else {
            throw WritePathError.system(call: "write", path: path, errno: errno, hint: hintFor(errno: errno))
        }
    }

    static func absolute(_ path: String) -> String {
        path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
    }

    static func now() -> String { ISO8601DateFormatter().string(from: Date()) }
}
