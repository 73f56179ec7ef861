import Foundation
import WritePathEngine
import WritePathResult

/// `host`: the engine in this process, on this machine's kernel: the reference every other
/// layer is compared with.
public struct HostLayer: SingleLayer {
    public static let name = "host"
    public static let summary = "the engine on this machine's kernel (the reference)"
    public static let parameterNames = ["directory"]
    public var runsFio: Bool { true }
    /// Folder for the target file; default: the run's scratch folder.
    let directory: String?

    public init(parameters: [String: String]) throws {
        directory = try LayerParameters(layer: Self.name, values: parameters).existingFolder("directory")
    }

    public func availability() -> Availability { .available(detail: "this machine") }

    public func describe() -> [String: String] {
        var d = ["kind": "bare-metal-or-vm-host"]
        if let directory { d["directory"] = directory }
        return d
    }

    /// The engine on this machine's kernel: no box.
    public func writePath(_ settings: [String: String]) -> LayerWritePath {
        LayerWritePath(box: nil, steps: [LayerWritePath.application] + LayerWritePath.host)
    }

    public func run(_ workload: Workload, rep: Int, context: LayerContext) throws -> RunResult {
        let dir = directory ?? context.scratchDirectory
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        var w = workload
        w.filename = nil
        w.directory = dir
        if workload.engine == .fio {
            // fio writes its own files (NAME.JOB.0) in the folder: it must not write over the user's,
            // and only the files it made are removed afterwards.
            let paths = (0..<w.numjobs).map { Target.path(for: w, jobIndex: $0) }
            if let existing = paths.first(where: { FileManager.default.fileExists(atPath: $0) }) {
                throw WritePathError.invalidInput(
                    field: "\(Self.name).directory",
                    message: "\(existing) exists; fio would write over it: give another directory or remove it")
            }
            defer { if !context.keep { for p in paths { unlink(p) } } }
            var result = try FioEngine.runOnHost(
                w, directory: dir, layer: LayerInfo(name: Self.name, settings: recordedSettings()),
                rep: rep, context: context)
            result.workload = workload
            return result
        }
        // Only the files this run created are removed afterwards: a refused target (the user's
        // file of the same name) is left as it was.
        var run = WorkloadRun(workload: w)
        run.removeCreatedFiles = !context.keep
        var result = try run.execute(layer: LayerInfo(name: Self.name, settings: recordedSettings()), rep: rep)
        result.workload = workload
        return result
    }
}
