import ArgumentParser
import Foundation
import WritePathEngine
import WritePathReport
import WritePathRunner

#if canImport(Glibc)
    import Glibc
#endif

/// `writepath run`: runs workloads on this host and reports them.
struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run write workloads on this host (fio options or a fio job file).",
        usage: "writepath run [<workload options>] [<options>] [<job-file>]",
        discussion: """
            Options are fio's: writepath run --rw=randwrite --bs=4k --iodepth=32 --size=256m \
            --runtime=10 --time_based --filename=/dev/shm/wp.dat

            With JOBFILE, each job section is one workload; options given on the command line \
            override the file's for every job. As in fio, the jobs start together unless \
            stonewall (wait_for_previous) makes one wait for those before it.
            """)

    @Argument(help: "A fio job file ([global] plus job sections).") var jobFile: String?
    @OptionGroup var workload: WorkloadOptions
    @Option(name: .customLong("output-format"), help: "text, json or csv.") var outputFormat: String = "text"
    @Option(
        name: .customLong("output"),
        help: ArgumentHelp(
            "Write the output to FILE instead of stdout (a regular file is replaced atomically; a device, FIFO or symlink is "
                + "written in place).")
    )
    var output: String?
    @Option(name: .customLong("results"), help: "Also write the JSON result into DIR as <time>-<host>.json.") var results: String?
    @Option(
        name: .customLong("matrix"),
        help: "Run a matrix: a YAML file, or a shipped suite (quick, standard, full, crosscheck, formats, guest-paths).")
    var matrix: String?
    @Option(name: .customLong("resume"), help: "Finish the interrupted matrix in DIR without redoing finished runs.") var resume: String?
    @Option(
        name: .customLong("engine"),
        help: "With --matrix: run every workload with writepath, fio, or both (writepath,fio), instead of the matrix's engines.")
    var engine: String?
    @Option(
        name: .customLong("layer-label"),
        help: ArgumentHelp(
            "Tag a run made by hand inside an environment writepath cannot create (OpenVZ, Porto, a cloud VM, "
                + "a pod) as layer NAME[:key=value,...] for `writepath report`."))
    var layerLabel: String?
    @Flag(name: .customLong("keep"), help: "Keep containers, volumes, bundles and mounts a matrix run made (for debugging).") var keep =
        false
    @Flag(name: .customLong("quiet"), help: "No status line on stderr.") var quiet = false
    @Option(
        name: .customLong("status-interval"),
        help: ArgumentHelp(
            "Print a status line (time left, ETA, IOPS) to stderr every SECONDS, also when stderr is not a terminal (fio's option); "
                + "with --matrix, the running run's line (run K of N, time left) every SECONDS."))
    var statusInterval: Double?
    @Flag(
        name: .customLong("allow-destroy"),
        help: "Allow writing to a block device that is mounted or holds a filesystem or partition table.") var allowDestroy = false
    @Flag(name: .customLong("overwrite"), help: "Allow writing over an existing file that writepath did not create.") var overwrite = false

    func validate() throws {
        try validateStatusInterval(statusInterval)
        guard ["text", "json", "csv"].contains(outputFormat) else {
            throw ValidationError("invalid output-format: '\(outputFormat)' is not supported; expected text, json or csv")
        }
    }

    /// The workloads to run: the job file's sections, or one from the command line.
    func workloads() throws -> [Workload] { try jobs().map(\.workload) }

    /// The jobs to run with their scheduling: the job file's sections, or one from the command line.
    func jobs() throws -> [FioJobFile.Job] {
        if let jobFile {
            guard let data = readInputFile(jobFile) else {
                throw WritePathError.invalidInput(
                    field: "JOBFILE", message: "cannot read '\(jobFile)'; give the path of a fio job file (or - for stdin)")
            }
            guard let text = String(data: data, encoding: .utf8) else {
                throw WritePathError.invalidInput(field: "JOBFILE", message: "'\(jobFile)' is not UTF-8 text")
            }
            var jobs = try FioJobFile.parseJobs(text, path: jobFile)
            for i in jobs.indices { try workload.apply(to: &jobs[i].workload) }
            return jobs
        }
        var w = Workload()
        try workload.apply(to: &w)
        return [FioJobFile.Job(workload: w, scheduling: FioJobFile.Scheduling())]
    }

    func run() throws {
        let label = try layerLabel.map(LayerLabel.parse)
        if matrix != nil || resume != nil {
            guard label == nil else {
                throw WritePathError.invalidInput(field: "layer-label", message: "tags a run made by hand; a matrix names its own layers")
            }
            guard jobFile == nil, workload.given.isEmpty else {
                throw WritePathError.invalidInput(
                    field: "matrix",
                    message: "a matrix names its own workloads; give either --matrix/--resume or JOBFILE and workload options")
            }
            try MatrixCommandRunner(
                matrix: matrix, resume: resume, results: results ?? "results", keep: keep, quiet: quiet,
                outputFormat: outputFormat, engines: try MatrixCommandRunner.engines(engine, resume: resume),
                statusInterval: statusInterval
            ).run()
            return
        }
        if engine != nil {
            throw WritePathError.invalidInput(
                field: "engine",
                message: "applies to --matrix runs; a single run uses writepath's engine (run fio itself)")
        }
        let jobs = try jobs()
        try ReportOptions(
            outputFormat: outputFormat, output: output, results: results, quiet: quiet,
            statusInterval: statusInterval, layerLabel: label
        )
        .runAndReport(
            jobs.map(\.workload), schedule: jobs.map(\.scheduling),
            safety: SafetyOptions(allowDestroy: allowDestroy, overwrite: overwrite))
    }
}

/// `--status-interval` must be a number of seconds from 1 to 86400.
func validateStatusInterval(_ seconds: Double?) throws {
    guard let seconds else { return }
    guard seconds.isFinite, seconds >= 1, seconds <= 86_400 else {
        throw ValidationError("invalid status-interval: '\(formatDecimal(seconds, places: 1))'; expected seconds from 1 to 86400")
    }
}

/// The bytes of an input file; `-` (as fio reads it) and `/dev/stdin` read standard input, which
/// may be a pipe. Nil when it cannot be read.
func readInputFile(_ path: String) -> Data? {
    if path == "-" || path == "/dev/stdin" || path == "/proc/self/fd/0" {
        return try? FileHandle.standardInput.readToEnd() ?? Data()
    }
    return FileManager.default.contents(atPath: path)
}

/// SIGINT and SIGTERM ask the jobs to stop; a second signal ends the process at once.
enum Signals {
    static func install() {
        // A parent may have started us with these blocked or ignored (posix_spawn passes the
        // mask on); a benchmark that cannot be stopped cleanly would lose its results.
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, SIGINT)
        sigaddset(&set, SIGTERM)
        pthread_sigmask(SIG_UNBLOCK, &set, nil)
        StopNotice.prepare()
        for s in [SIGINT, SIGTERM] {
            signal(s) { sig in
                if stopRequested.load(ordering: .relaxed) {
                    signal(sig, SIG_DFL)
                    raise(sig)
                }
                StopNotice.post()
            }
        }
    }
}
