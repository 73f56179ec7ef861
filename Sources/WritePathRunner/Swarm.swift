import Foundation
import WritePathEngine
import WritePathResult

#if canImport(Glibc)
    import Glibc
#endif

/// Docker Swarm mode for the container layers: each run of a matrix's `docker-overlay`,
/// `docker-volume` or `docker-tmpfs` layer is a global service (one task on every node of the
/// swarm) running the engine; each task's log carries the engine's result in the guest protocol's
/// envelope (`swarm-task.sh`, `GuestEnvelope`), so a truncated or garbled log is a failed run, never
/// a number. The results land in a fleet folder (`<results>/<id>-swarm/<node>/<run id>/run.json`,
/// `fleet.json`), which `report`, `compare --canary` and `plan` read as they read `writepath fleet`'s.
///
/// Runs go round by round (repetition), workload by workload, layer by layer, one service at a
/// time. Layers swarm services cannot make (host, docker-bind, guests, write throttles: `docker
/// service create` has no `--device-write-iops`) are recorded `unavailable` with the reason. The
/// engine's image is made here and exists only on this node: other nodes need it loaded
/// (`docker save | docker load`) or their tasks fail with docker's reason. With `initSwarm`, a
/// daemon in no swarm gets a one-node swarm on 127.0.0.1, which is left again at the end; a swarm
/// writepath did not make is never left.
public struct SwarmRunner {
    /// What to run.
    public struct Options: Sendable {
        /// The writepath binary put in the image.
        public var binary: String
        /// Where the fleet folder is made.
        public var resultsRoot = "results"
        /// Make a one-node swarm (`docker swarm init --advertise-addr 127.0.0.1`) when the daemon
        /// is in none, and leave it at the end.
        public var initSwarm = false
        /// Seconds a task may take beyond the workload's runtime and ramp time (its start included).
        public var graceSeconds = 180.0
        /// Progress lines; nil for none.
        public var progress: (@Sendable (String) -> Void)?

        public init(binary: String) { self.binary = binary }
    }

    /// The layers a swarm service can make.
    public static let layers = ["docker-overlay", "docker-volume", "docker-tmpfs"]
    /// Layer parameters a service can apply (`--limit-cpu`, `--limit-memory`).
    public static let parameters = ["cpus", "memory"]

    public let options: Options
    public let spec: MatrixSpec
    /// The fleet folder.
    public private(set) var directory = ""

    /// Checks the matrix (exit 2 for a matrix without a layer swarm mode runs).
    public init(matrix: (text: String, source: String), options: Options) throws {
        self.options = options
        spec = try MatrixSpec.parse(matrix.text, source: matrix.source)
        guard spec.layers.contains(where: { Self.whyNot($0) == nil }) else {
            throw WritePathError.invalidInput(
                field: "matrix",
                message: "has no layer swarm mode runs; it runs \(Self.layers.joined(separator: ", ")) (parameters: cpus, memory)")
        }
        guard FileManager.default.isExecutableFile(atPath: options.binary) else {
            throw WritePathError.invalidInput(field: "binary", message: "\(quoted(options.binary)) is not an executable file")
        }
        self.matrixText = matrix.text
    }

    private let matrixText: String

    /// Why swarm mode cannot run `layer` (nil: it can).
    public static func whyNot(_ layer: LayerSpec) -> String? {
        guard layers.contains(layer.name) else {
            return "swarm mode runs the engine in service tasks: only \(layers.joined(separator: ", ")); "
                + "run \(layer.name) with writepath run or writepath fleet"
        }
        if let p = layer.parameters.keys.sorted().first(where: { !parameters.contains($0) }) {
            return "\(p) is not a parameter swarm services take (docker service create has cpus and memory limits only, "
                + "no device throttles or runtime); run it with writepath run or writepath fleet"
        }
        return nil
    }

    /// The swarm's state here: `active` (and whether this node is a manager), `inactive`, ...
    static func swarmState() throws -> (state: String, manager: Bool) {
        let r = try Command.run("docker", ["info", "--format", "{{.Swarm.LocalNodeState}} {{.Swarm.ControlAvailable}}"], timeout: 30)
        guard r.succeeded else {
            throw WritePathError.system(
                call: "docker info", path: "", errno: EIO,
                hint: "the docker daemon does not answer (scripts/start-dockerd.sh): \(r.stderrTail())")
        }
        let words = r.stdout.split(separator: " ").map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
        return (words.first ?? "", words.count > 1 && words[1] == "true")
    }

    /// The nodes that take tasks: ready and active, by host name.
    static func nodes() throws -> [String] {
        let r = try Command.run("docker", ["node", "ls", "--format", "{{.Hostname}}|{{.Status}}|{{.Availability}}"], timeout: 30)
        guard r.succeeded else { throw WritePathError.system(call: "docker node ls", path: "", errno: EIO, hint: r.stderrTail()) }
        return r.stdout.split(separator: "\n").map { $0.split(separator: "|").map(String.init) }
            .filter { $0.count == 3 && $0[1] == "Ready" && $0[2] == "Active" }.map { $0[0] }
    }

    /// Runs the matrix on the swarm; returns the fleet record (also in `fleet.json`).
    public mutating func run() throws -> FleetRecord {
        guard Command.which("docker") != nil else {
            throw WritePathError.system(
                call: "exec", path: "docker", errno: ENOENT, hint: "the docker client is not installed (scripts/install-deps.sh containers)"
            )
        }
        var (state, manager) = try Self.swarmState()
        var initialised = false
        if state == "inactive" {
            guard options.initSwarm else {
                throw WritePathError.invalidInput(
                    field: "swarm",
                    message: "this docker daemon is in no swarm; join or make one (docker swarm init), or give --swarm-init "
                        + "for a one-node swarm here that is left afterwards")
            }
            let r = try Command.run("docker", ["swarm", "init", "--advertise-addr", "127.0.0.1"], timeout: 120)
            guard r.succeeded else { throw WritePathError.system(call: "docker swarm init", path: "", errno: EIO, hint: r.stderrTail()) }
            initialised = true
            (state, manager) = try Self.swarmState()
            options.progress?("swarm: made a one-node swarm (advertise 127.0.0.1); it is left at the end")
        }
        defer {
            if initialised {
                let r = try? Command.run("docker", ["swarm", "leave", "--force"], timeout: 120)
                options.progress?("swarm: left the swarm writepath made" + (r?.succeeded == true ? "" : ": \(r?.stderrTail() ?? "failed")"))
            }
        }
        guard state == "active", manager else {
            throw WritePathError.invalidInput(
                field: "swarm",
                message: "this node is \(state.isEmpty ? "in an unknown swarm state" : state) and not a manager; "
                    + "run writepath on a manager node of the swarm")
        }
        let nodes = try Self.nodes()
        guard !nodes.isEmpty else { throw WritePathError.invalidInput(field: "swarm", message: "the swarm has no ready, active node") }
        let image = try Self.image(binary: options.binary)
        try OutputFile.ensureFolder(options.resultsRoot, field: "results")
        let id = MatrixRunner.runIdentifier(host: "swarm")
        directory = "\(options.resultsRoot)/\(id)"
        var n = 2
        while FileManager.default.fileExists(atPath: directory) {
            directory = "\(options.resultsRoot)/\(id)-\(n)"
            n += 1
        }
        try FileManager.default.createDirectory(atPath: "\(directory)/.logs", withIntermediateDirectories: true)
        try FleetRunner.write(Data(matrixText.utf8), to: "\(directory)/matrix.yaml")
        var record = FleetRecord(
            fleet_id: (directory as NSString).lastPathComponent, inventory: "docker swarm", limit: nil, forks: nodes.count,
            started_at: FleetRunner.now(), complete: false, hosts: nodes.map { FleetHost(host: $0, status: .running, attempts: 1) })
        try save(record)
        options.progress?("swarm: \(nodes.count) node\(nodes.count == 1 ? "" : "s") (\(nodes.joined(separator: ", "))), image \(image)")

        var runs: [String: [RunResult]] = [:]
        var hostInfo: [String: HostInfo] = [:]
        var serial = 0
        rounds: for rep in 1...max(spec.repetitions.maximum, 1) {
            for workload in spec.workloads {
                for layerSpec in spec.layers {
                    if stopRequested.load(ordering: .relaxed) { break rounds }
                    serial += 1
                    let results = try runService(
                        layerSpec, workload: workload, rep: rep, image: image, nodes: nodes, serial: serial, hostInfo: &hostInfo)
                    for (node, r) in results { runs[node, default: []].append(r) }
                }
            }
        }
        let stopped = stopRequested.load(ordering: .relaxed)
        let provenance = Provenance(
            version: BuildInfo.version, git_commit: BuildInfo.gitCommit, arguments: Array(CommandLine.arguments.dropFirst()))
        for i in record.hosts.indices {
            let node = record.hosts[i].host
            let mine = runs[node] ?? []
            guard !mine.isEmpty else {
                record.hosts[i].status = stopped ? .interrupted : .failed
                record.hosts[i].reason = stopped ? "stopped before its first run" : "no runs"
                continue
            }
            let runID = MatrixRunner.runIdentifier(host: node)
            try FileManager.default.createDirectory(atPath: "\(directory)/\(node)/\(runID)", withIntermediateDirectories: true)
            let document = ResultDocument(writepath: provenance, host: hostInfo[node] ?? HostInfo.probe(), runs: mine)
            try FleetRunner.write(Data(try JSONFormat.render(document).utf8), to: "\(directory)/\(node)/\(runID)/run.json")
            record.hosts[i].run_directory = "\(node)/\(runID)"
            let failed = mine.filter { $0.status == .failed }
            var h = record.hosts[i]
            if stopped {
                (h.status, h.reason) = (.interrupted, "stopped before the matrix ended; the results so far are kept")
            } else if mine.allSatisfy({ $0.status == .failed }) {
                (h.status, h.reason) = (.failed, "every run failed: \(failed[0].error ?? "no reason")")
            } else if !failed.isEmpty {
                (h.status, h.reason) = (.runsFailed, "\(failed.count) runs failed: \(failed[0].error ?? "")")
            } else {
                h.status = .ok
            }
            record.hosts[i] = h
        }
        record.finished_at = FleetRunner.now()
        record.complete = record.hosts.allSatisfy(\.isDone)
        try save(record)
        return record
    }

    /// One run of `layerSpec` as a global service: one result per node (a failed run for a node
    /// whose task failed or left no envelope; `unavailable` on every node for a layer swarm mode
    /// cannot make). The service, its containers and (here) its volume are removed afterwards.
    func runService(
        _ layerSpec: LayerSpec, workload: Workload, rep: Int, image: String, nodes: [String], serial: Int,
        hostInfo: inout [String: HostInfo]
    ) throws -> [(String, RunResult)] {
        let started = FleetRunner.now()
        var info = LayerInfo(name: layerSpec.name, settings: ["spec": layerSpec.description, "mode": "swarm"])
        let layer: any Layer
        do { layer = try LayerRegistry.make(layerSpec) } catch {
            return nodes.map { ($0, RunResult.failed(layer: info, workload: workload, rep: rep, error: "\(error)", startedAt: started)) }
        }
        info.settings = layer.recording(info.settings)
        if let why = Self.whyNot(layerSpec) {
            return nodes.map {
                ($0, RunResult.failed(layer: info, workload: workload, rep: rep, error: why, status: .unavailable, startedAt: started))
            }
        }
        if workload.engine == .fio && FioEngine.binary() == nil {
            let why = "fio is not installed here, so the image has none (scripts/install-deps.sh build)"
            return nodes.map {
                ($0, RunResult.failed(layer: info, workload: workload, rep: rep, error: why, status: .unavailable, startedAt: started))
            }
        }
        let name = "wp-swarm-\(getpid())-\(serial)"
        var args = [
            "service", "create", "--detach", "--name", name, "--mode", "global", "--restart-condition", "none",
            "--no-resolve-image", "--label", "writepath=1", "--container-label", "writepath=1", "--hostname", "{{.Node.Hostname}}",
            // The docker layers use no network; a service cannot take `none`, and a daemon may run without its
            // bridge: the host's network namespace (the write path does not cross it).
            "--network", "host",
        ]
        if let c = layerSpec.parameters["cpus"] { args += ["--limit-cpu", c] }
        if let m = layerSpec.parameters["memory"] {
            args += ["--limit-memory", "\(try ByteSize.parse(m, field: "\(layerSpec.name).memory"))"]
        }
        var target = "/wp/target.dat"
        var storage = ""
        switch layerSpec.name {
        case "docker-volume":
            args += ["--mount", "type=volume,src=\(name),dst=/wp,volume-label=writepath=1"]
            storage = "named volume (local driver), one per node"
        case "docker-tmpfs":
            let bytes = (workload.size ?? (64 << 20)) * UInt64(workload.numjobs) + workload.offset + (16 << 20)
            args += ["--mount", "type=tmpfs,dst=/wp,tmpfs-size=\(bytes)"]
            storage = "tmpfs mount"
        default:
            target = "/data/target.dat"
            storage = "container rootfs (overlay upper layer)"
        }
        args += [image, "/bin/busybox", "sh", "/swarm-task.sh"] + EngineInBox.command(workload, target: target)
        let logs = "\(directory)/.logs/\(name)"
        try? FileManager.default.createDirectory(atPath: logs, withIntermediateDirectories: true)
        try? "docker \(args.joined(separator: " "))\n".write(toFile: "\(logs)/command.txt", atomically: true, encoding: .utf8)
        var settings = info.settings.merging(["service": name, "storage": storage, "image": image, "target": target]) { _, new in new }
        settings.merge(DockerRun.daemonSettings()) { a, _ in a }
        defer { removeService(name, volume: layerSpec.name == "docker-volume") }
        let created = try Command.run("docker", args, timeout: 120)
        guard created.succeeded else {
            let why = "docker service create failed: \(created.stderrTail())"
            return nodes.map { ($0, RunResult.failed(layer: info, workload: workload, rep: rep, error: why, startedAt: started)) }
        }
        let deadline = monotonicNanoseconds() + UInt64((workload.runtime + workload.ramp_time + options.graceSeconds) * 1e9)
        var tasks: [ServiceTask] = []
        while true {
            tasks = (try? Self.tasks(name)) ?? []
            let settled = !tasks.isEmpty && Set(nodes).isSubset(of: Set(tasks.map(\.node))) && tasks.allSatisfy(\.ended)
            if settled || stopRequested.load(ordering: .relaxed) || monotonicNanoseconds() > deadline { break }
            usleep(250_000)
        }
        try? tasks.map { "\($0.node) \($0.state) \($0.error)" }.joined(separator: "\n").write(
            toFile: "\(logs)/tasks.txt", atomically: true, encoding: .utf8)
        var out: [(String, RunResult)] = []
        for node in nodes {
            var nodeSettings = settings
            nodeSettings["node"] = node
            var nodeInfo = info
            nodeInfo.settings = nodeSettings
            guard let task = tasks.first(where: { $0.node == node }) else {
                let why = stopRequested.load(ordering: .relaxed) ? "interrupted" : "the swarm gave node \(node) no task of \(name)"
                out.append((node, RunResult.failed(layer: nodeInfo, workload: workload, rep: rep, error: why, startedAt: started)))
                continue
            }
            do {
                let (run, host) = try collect(task, service: name, layer: layer, settings: nodeSettings, workload: workload, rep: rep)
                if hostInfo[node] == nil, let host { hostInfo[node] = host }
                out.append((node, run))
            } catch {
                let status: RunStatus = stopRequested.load(ordering: .relaxed) ? .interrupted : .failed
                out.append(
                    (
                        node,
                        RunResult.failed(
                            layer: nodeInfo, workload: workload, rep: rep, error: "\(error)", status: status, startedAt: started)
                    ))
            }
        }
        return out
    }

    /// One task of a service, as `docker service ps` shows it.
    struct ServiceTask {
        var id: String
        var node: String
        /// `Complete 3 seconds ago`, `Failed ...`, `Running ...`.
        var state: String
        var error: String
        /// Whether the task will not change any more.
        var ended: Bool { ["Complete", "Failed", "Rejected", "Shutdown", "Orphaned"].contains { state.hasPrefix($0) } }
    }

    static func tasks(_ service: String) throws -> [ServiceTask] {
        let r = try Command.run(
            "docker", ["service", "ps", service, "--no-trunc", "--format", "{{.ID}}|{{.Node}}|{{.CurrentState}}|{{.Error}}"], timeout: 30)
        guard r.succeeded else { throw WritePathError.system(call: "docker service ps", path: service, errno: EIO, hint: r.stderrTail()) }
        return r.stdout.split(separator: "\n").compactMap { line in
            let f = line.split(separator: "|", maxSplits: 3, omittingEmptySubsequences: false).map(String.init)
            return f.count == 4 ? ServiceTask(id: f[0], node: f[1], state: f[2], error: f[3]) : nil
        }
    }

    /// The run a task's log holds (and what the engine there said of its host), from the envelope.
    func collect(
        _ task: ServiceTask, service: String, layer: any Layer, settings: [String: String], workload: Workload, rep: Int
    ) throws -> (RunResult, HostInfo?) {
        var text = ""
        // The log can lag the task's end by a moment: read it again until the envelope is whole.
        for attempt in 0..<20 {
            let r = try Command.run("docker", ["service", "logs", "--raw", "--no-trunc", task.id], timeout: 60)
            text = r.stdout
            if text.contains("WRITEPATH-RESULT-END") || !task.ended { break }
            if attempt < 19 { usleep(250_000) }
        }
        try? text.write(toFile: "\(directory)/.logs/\(service)/\(task.node).log", atomically: true, encoding: .utf8)
        let how = "task \(task.id.prefix(12)) on \(task.node): \(task.state)\(task.error.isEmpty ? "" : ", \(task.error)")"
        if !text.contains("WRITEPATH-RESULT-BEGIN"), !task.state.hasPrefix("Complete") {
            throw WritePathError.system(call: "docker service", path: service, errno: EIO, hint: "no result: \(how)")
        }
        let contents = try GuestEnvelope.open(text, host: how, consoleTail: text.split(separator: "\n").suffix(3).joined(separator: " | "))
        let outcome = EngineInBox.Outcome(
            call: "docker service", name: "\(service) on \(task.node)", settings: settings, output: contents.output,
            status: contents.status, stderr: contents.stderr)
        let run = try EngineInBox.run(outcome, layer: layer, workload: workload, rep: rep)
        let host = workload.engine == .fio ? nil : (try? JSONFormat.parse(contents.output, source: "swarm task"))?.host
        return (run, host)
    }

    /// Removes the service, waits for its containers here to go, then removes its volume here
    /// (other nodes keep theirs: `docker volume prune --filter label=writepath=1` there).
    func removeService(_ name: String, volume: Bool) {
        _ = try? Command.run("docker", ["service", "rm", name], timeout: 60)
        for _ in 0..<120 {
            let left = try? Command.run("docker", ["ps", "-aq", "--filter", "label=com.docker.swarm.service.name=\(name)"], timeout: 30)
            if left?.stdout.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty ?? true { break }
            usleep(250_000)
        }
        if volume { _ = try? Command.run("docker", ["volume", "rm", "-f", name], timeout: 60) }
    }

    /// The task image: the engine's root filesystem (and fio when installed), a static busybox and
    /// `swarm-task.sh`, imported (no registry, no base image), tagged by content.
    public static func image(binary: String) throws -> String {
        let tag = try imageTag(binary: binary)
        let busybox = try GuestImage.findBusybox()
        let script = try GuestProtocol.Script.swarmTask.text()
        let fio = FioEngine.binary()
        if let r = try? Command.run("docker", ["image", "inspect", "--format", "{{.Id}}", tag], timeout: 30), r.succeeded { return tag }
        let dir = "\(FileManager.default.temporaryDirectory.path)/writepath-swarm-rootfs-\(getpid())"
        try? FileManager.default.removeItem(atPath: dir)
        defer { try? FileManager.default.removeItem(atPath: dir); try? FileManager.default.removeItem(atPath: dir + ".tar") }
        try EngineRootfs.build(binary: binary, fio: fio, into: dir)
        try FileManager.default.createDirectory(atPath: "\(dir)/bin", withIntermediateDirectories: true)
        do {
            try FileManager.default.copyItem(atPath: busybox, toPath: "\(dir)/bin/busybox")
            try script.write(toFile: "\(dir)/swarm-task.sh", atomically: true, encoding: .utf8)
        } catch {
            throw WritePathError.system(call: "copy", path: busybox, errno: EIO, hint: "into the swarm image's rootfs \(dir): \(error)")
        }
        let tar = try Command.run("tar", ["-C", dir, "-cf", dir + ".tar", "."], timeout: 120)
        guard tar.succeeded else { throw WritePathError.system(call: "tar", path: dir, errno: EIO, hint: tar.stderrTail()) }
        let imp = try Command.run("docker", ["import", "--change", "LABEL writepath=1", dir + ".tar", tag], timeout: 300)
        guard imp.succeeded else {
            throw WritePathError.system(call: "docker import", path: dir + ".tar", errno: EIO, hint: imp.stderrTail())
        }
        return tag
    }

    /// The task image's tag for `binary`: `writepath-swarm:<engine and fio hashes>-<script and busybox hash>`.
    public static func imageTag(binary: String) throws -> String {
        let busybox = try GuestImage.findBusybox()
        let script = try GuestProtocol.Script.swarmTask.text()
        let key = try EngineRootfs.contentKey(binary: binary, fio: FioEngine.binary())
        let extra = try GuestImage.stringHash(script + (try EngineRootfs.contentHash(of: busybox))).prefix(12)
        return "writepath-swarm:\(key)-\(extra)"
    }

    func save(_ record: FleetRecord) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try FleetRunner.write(try encoder.encode(record) + Data("\n".utf8), to: "\(directory)/fleet.json")
    }
}
