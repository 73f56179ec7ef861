import Foundation
import WritePathEngine
import WritePathResult

#if canImport(Glibc)
    import Glibc
#endif

/// The steps every boxed layer (container, sandbox, guest) shares, once: the engine's command
/// line inside the box, the deadline, running a container's program, and turning what came back
/// into the layer's run (failures mapped to errors that name the box, the result decoded, the run
/// stamped with the layer, the repetition, the workload and the layer's write path).
///
/// A layer supplies what is its own: how its box starts, where the target lives, its settings
/// and limits, and its write path (`Layer.writePath`).
enum EngineInBox {
    /// The engine's command line in a container whose target is the file `target`: writepath's
    /// engine (`/writepath run`, JSON to stdout), or fio with `engine: fio` (`/fio`).
    static func command(_ workload: Workload, target: String) -> [String] {
        var w = workload
        w.directory = nil
        w.filename = target
        if workload.engine == .fio { return [FioEngine.pathInContainer] + FioEngine.arguments(w, target: target, directory: nil) }
        return ["/writepath", "run", "--output-format=json", "--quiet"] + w.commandLineArguments
    }

    /// The engine's command line in a guest, whose init adds `--filename=<test disk>` (a block
    /// device: writepath's engine is given `--allow-destroy`).
    static func guestCommand(_ workload: Workload) -> [String] {
        var w = workload
        w.filename = nil
        w.directory = nil
        if workload.engine == .fio { return [FioEngine.pathInContainer] + FioEngine.arguments(w, target: nil, directory: nil) }
        return ["/writepath", "run", "--output-format=json", "--quiet", "--allow-destroy"] + w.commandLineArguments
    }

    /// Seconds a box may run: `startup` (a guest's boot allowance), the workload's runtime and
    /// ramp time, and the context's grace.
    static func deadline(_ workload: Workload, _ context: LayerContext, startup: Double = 0) -> Double {
        startup + workload.runtime + workload.ramp_time + context.graceSeconds
    }

    /// What a box gave back when the engine ended or was stopped.
    struct Outcome {
        /// The box's call and name in errors (`docker run`, `wp-42`).
        var call: String
        var name: String
        /// The layer's settings as the box ran.
        var settings: [String: String]
        /// The engine's output (JSON), exit status and stderr.
        var output: Data
        var status: Int32
        var stderr: String
        /// Whether the box was stopped at its deadline (`deadline` seconds).
        var timedOut = false
        var deadline: Double = 0
        /// Said after a timeout or a missing result (`; last console lines: ...`, an exit status's meaning).
        var note = ""

        var stderrTail: String { stderr.split(separator: "\n").suffix(3).joined(separator: " | ") }
    }

    /// Runs `argv` (the box's program and its arguments) to its end or `deadline`, with its
    /// command line in `command.txt`, stdout in `engine-stdout.json` and stderr in
    /// `<stderrName>-stderr.log` of the log folder. `onTimeout` stops the box.
    static func runProgram(
        _ argv: [String], call: String, name: String, settings: [String: String], deadline: Double,
        context: LayerContext, stderrName: String, onTimeout: (() -> Void)? = nil
    ) throws -> Outcome {
        try FileManager.default.createDirectory(atPath: context.logDirectory, withIntermediateDirectories: true)
        let stdoutFile = "\(context.logDirectory)/engine-stdout.json"
        try? "\(argv.joined(separator: " "))\n".write(toFile: "\(context.logDirectory)/command.txt", atomically: true, encoding: .utf8)
        let r = try Command.run(argv[0], Array(argv.dropFirst()), timeout: deadline, stdoutFile: stdoutFile, onTimeout: onTimeout)
        try? r.stderr.write(toFile: "\(context.logDirectory)/\(stderrName)-stderr.log", atomically: true, encoding: .utf8)
        return Outcome(
            call: call, name: name, settings: settings, output: FileManager.default.contents(atPath: stdoutFile) ?? Data(),
            status: r.status, stderr: r.stderr, timedOut: r.timedOut, deadline: deadline)
    }

    /// The run `outcome` holds for `layer`: an error when the box was stopped or the engine left
    /// no result; fio's JSON made a run of engine fio; writepath's result with a non-zero exit
    /// although it says ok an error. The run carries the layer's name and settings (its write path
    /// among them), `rep` and `workload`.
    static func run(_ outcome: Outcome, layer: any Layer, workload: Workload, rep: Int) throws -> RunResult {
        let o = outcome
        if o.timedOut {
            throw WritePathError.system(
                call: o.call, path: o.name, errno: ETIMEDOUT,
                hint: stopRequested.load(ordering: .relaxed)
                    ? "interrupted" : "it did not finish within \(Int(o.deadline)) s and was stopped\(o.note)")
        }
        let info = LayerInfo(name: layer.name, settings: layer.recording(o.settings))
        if workload.engine == .fio {
            return FioEngine.result(
                stdout: o.output, status: o.status, stderr: o.stderr, workload: workload, layer: info, rep: rep,
                source: "fio (\(layer.name))")
        }
        let document: ResultDocument
        do {
            document = try JSONFormat.parse(o.output, source: "\(layer.name) engine output")
        } catch {
            throw WritePathError.system(
                call: o.call, path: o.name, errno: EIO,
                hint: "exit \(o.status), no result: \(o.stderrTail)\(o.note)")
        }
        guard var run = document.runs.first else {
            throw WritePathError.system(
                call: o.call, path: o.name, errno: EIO,
                hint: "exit \(o.status), a result without runs: \(o.stderrTail)")
        }
        // A non-zero exit with a result is a failed workload (the engine exits 1): data, not an error.
        if o.status != 0 && run.status == .ok {
            throw WritePathError.system(
                call: o.call, path: o.name, errno: EIO,
                hint: "exit \(o.status) although the result says ok: \(o.stderrTail)")
        }
        run.layer = info
        run.rep = rep
        run.workload = workload
        return run
    }
}
