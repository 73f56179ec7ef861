import ArgumentParser
import Foundation
import WritePathEngine
import WritePathReport
import WritePathRunner

#if canImport(Glibc)
    import Glibc
#endif

/// `writepath fleet`: one matrix on every host of an Ansible inventory, one report across hosts.
struct FleetCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fleet",
        abstract: "Run a matrix on every host of an Ansible inventory and write one report across hosts.",
        discussion: """
            Runs deploy/ansible/fleet.yml with ansible-playbook: copies the static writepath binary to each \
            host, runs the matrix there (as root; dockerd is started for container layers) and fetches each \
            run folder into <results>/<fleet id>/<host>/<run id>/. Hosts run concurrently (--forks). A host \
            that fails or cannot be reached is recorded in fleet.json with the reason; the others go on. \
            Ctrl-C stops the matrix on every host and fetches what they measured; --resume DIR runs only \
            the hosts of DIR that are not done. Then the report across hosts goes into the fleet folder \
            (report.html, report.csv with a host column, summary.md).

            The binary must run on the hosts: the static release build \
            (swift build -c release --static-swift-stdlib --product writepath). \
            See docs/fleet.md.

            --swarm runs the matrix's container layers (docker-overlay, docker-volume, docker-tmpfs) on the \
            Docker swarm this node manages instead: each run a global service with one task on every node, \
            each task's result read from its log (in the guest protocol's envelope), one fleet folder with a \
            folder per node. --swarm-init makes a one-node swarm here when there is none, and leaves it at the end.

            Exit codes: 0 every host done with every run ok, 1 a host failed, was unreachable or had failed \
            runs, 2 invalid input, 130 interrupted.
            """)

    @Option(name: .customLong("inventory"), help: "The Ansible inventory (INI or YAML file).") var inventory: String?
    @Option(name: .customLong("matrix"), help: "A suite (quick, standard, full, crosscheck) or a matrix YAML file.") var matrix: String?
    @Option(name: .customLong("limit"), help: "Only the hosts matching this Ansible pattern.") var limit: String?
    @Option(name: .customLong("forks"), help: "Hosts at once (Ansible's forks, default 5).") var forks = 5
    @Option(name: .customLong("resume"), help: "Finish the fleet run in DIR: only its hosts that are not done.") var resume: String?
    @Option(name: .customLong("results"), help: "Folder for the fleet folder (default results).") var results = "results"
    @Option(name: .customLong("binary"), help: "The static writepath to copy (default: this one if static, else .build/release/writepath).")
    var binary: String?
    @Option(name: .customLong("playbook-dir"), help: "The folder of fleet.yml (default: deploy/ansible here or beside this binary).")
    var playbookDirectory: String?
    @Flag(name: .customLong("quiet"), help: "Print only the hosts' outcomes and where the report is.") var quiet = false
    @Option(
        name: .customLong("status-interval"),
        help: "Also print how many hosts are done and the time left to stderr every SECONDS (fio's option name).")
    var statusInterval: Double?
    @Flag(name: .customLong("swarm"), help: "Run the container layers as global services on this node's Docker swarm (no inventory).")
    var swarm = false
    @Flag(name: .customLong("swarm-init"), help: "With --swarm: make a one-node swarm here when there is none, and leave it afterwards.")
    var swarmInit = false

    func validate() throws {
        if swarm {
            for (given, name) in [(inventory != nil, "--inventory"), (limit != nil, "--limit"), (resume != nil, "--resume")] where given {
                throw ValidationError("invalid \(name): not with --swarm (the swarm's nodes are the hosts; a swarm run is not resumed)")
            }
            guard matrix != nil else { throw ValidationError("invalid matrix: missing; give --matrix quick|standard|full|crosscheck|FILE") }
            return
        }
        if swarmInit { throw ValidationError("invalid --swarm-init: only with --swarm") }
        guard inventory != nil else { throw ValidationError("invalid inventory: missing; give --inventory FILE (an Ansible inventory)") }
        guard matrix != nil || resume != nil else {
            throw ValidationError("invalid matrix: missing; give --matrix quick|standard|full|crosscheck|FILE, or --resume DIR")
        }
        guard forks >= 1 else { throw ValidationError("invalid forks: '\(forks)'; expected 1 or more") }
        try validateStatusInterval(statusInterval)
    }

    func run() throws {
        let given = try matrix.map { try MatrixCommandRunner.matrixText($0) }
        if swarm, let given { return try runSwarm(given) }
        var options = FleetRunner.Options(inventory: inventory!, binary: try staticBinary(), playbookDirectory: try playbooks())
        options.limit = limit
        options.forks = forks
        options.resultsRoot = results
        options.resumeDirectory = resume
        options.progress = { Output.stderr($0 + "\n") }
        options.statusInterval = statusInterval
        var runner = try FleetRunner(matrix: given, options: options)
        // The runner then stops every host and fetches what they measured.
        Self.catchStops()
        if !quiet {
            Output.stderr(
                "fleet: \(runner.directory); matrix: \(runner.spec.layers.count) layers x \(runner.spec.workloads.count) workloads\n")
        }
        let record = try runner.run()
        if record.hosts.contains(where: { $0.run_directory != nil }) {
            let report = try ReportCommand.parse([runner.directory] + (quiet ? ["--quiet"] : []))
            try report.run()
        } else {
            Output.stderr("fleet: no host returned results; nothing to report (\(runner.directory)/fleet.json says why)\n")
        }
        Output.stdout("fleet: \(runner.directory)/fleet.json\n")
        if stopRequested.load(ordering: .relaxed) || record.hosts.contains(where: { $0.status == .interrupted }) {
            Output.stderr("interrupted: finish it with: writepath fleet --inventory \(inventory!) --resume \(runner.directory)\n")
            throw ExitCode(130)
        }
        if record.hosts.contains(where: { $0.status != .ok }) { throw ExitCode(1) }
    }

    /// `--swarm`: the matrix's container layers as global services on the swarm, then the report.
    func runSwarm(_ given: (text: String, source: String)) throws {
        var options = SwarmRunner.Options(binary: try binary ?? EngineRootfs.defaultEngineBinary())
        options.resultsRoot = results
        options.initSwarm = swarmInit
        options.progress = { Output.stderr($0 + "\n") }
        var runner = try SwarmRunner(matrix: given, options: options)
        Self.catchStops()
        let record = try runner.run()
        for h in record.hosts { Output.stderr("  \(h.host): \(h.status.rawValue)\(h.reason.map { ": \($0)" } ?? "")\n") }
        if record.hosts.contains(where: { $0.run_directory != nil }) {
            try ReportCommand.parse([runner.directory] + (quiet ? ["--quiet"] : [])).run()
        }
        Output.stdout("fleet: \(runner.directory)/fleet.json\n")
        if stopRequested.load(ordering: .relaxed) { throw ExitCode(130) }
        if record.hosts.contains(where: { $0.status != .ok }) { throw ExitCode(1) }
    }

    /// Ctrl-C (and SIGTERM) only ask: the runner stops and keeps what was measured. A parent may
    /// have started us with them blocked (posix_spawn passes the mask on): unblock them.
    static func catchStops() {
        var set = sigset_t()
        sigemptyset(&set)
        for s in [SIGINT, SIGTERM] {
            sigaddset(&set, s)
            signal(s) { _ in stopRequested.store(true, ordering: .relaxed) }
        }
        pthread_sigmask(SIG_UNBLOCK, &set, nil)
    }

    /// `--binary`, else this executable when it does not link the Swift runtime dynamically, else
    /// `.build/release/writepath`; exit 2 when none of them is a static build.
    func staticBinary() throws -> String {
        if let binary { return binary }
        let candidates = [ScratchFolder.resolved("/proc/self/exe"), ".build/release/writepath"].compactMap { $0 }
        for c in candidates where FileManager.default.isExecutableFile(atPath: c) && !Self.linksSwiftRuntime(c) { return c }
        throw WritePathError.invalidInput(
            field: "binary",
            message: "this writepath links the Swift runtime dynamically and no static .build/release/writepath exists; build it with "
                + "`swift build -c release --static-swift-stdlib --product writepath` or give --binary")
    }

    /// Whether the ELF file names libswiftCore.so among the libraries it needs (its dynamic
    /// string table lies in the first megabyte of the file).
    static func linksSwiftRuntime(_ path: String) -> Bool {
        guard let h = FileHandle(forReadingAtPath: path) else { return true }
        defer { try? h.close() }
        let head = (try? h.read(upToCount: 1 << 20)) ?? Data()
        return head.range(of: Data("libswiftCore.so".utf8)) != nil
    }

    /// `--playbook-dir`, else `deploy/ansible` here, else beside this binary (up to four folders above it).
    func playbooks() throws -> String {
        if let playbookDirectory { return playbookDirectory }
        var candidates = ["deploy/ansible"]
        if var dir = ScratchFolder.resolved("/proc/self/exe").map({ URL(fileURLWithPath: $0).deletingLastPathComponent() }) {
            for _ in 0..<5 {
                candidates.append(dir.appendingPathComponent("deploy/ansible").path)
                dir = dir.deletingLastPathComponent()
            }
        }
        if let found = candidates.first(where: { FileManager.default.fileExists(atPath: "\($0)/fleet.yml") }) { return found }
        throw WritePathError.invalidInput(
            field: "playbook-dir", message: "no deploy/ansible/fleet.yml here or beside this binary; give --playbook-dir")
    }
}
