import Foundation
import WritePathEngine

/// `host`: the engine in this process, on this machine's kernel: the reference every other
/// layer is compared with.
public struct HostLayer: Layer {
    public static let name = "host"
    public static let summary = "the engine on this machine's kernel (the reference)"
    public static let parameterNames = ["directory"]
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

    public func run(_ workload: Workload, rep: Int, context: LayerContext) throws -> RunResult {
        let dir = directory ?? context.scratchDirectory
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        var w = workload
        w.filename = nil
        w.directory = dir
        // Only the files this run created are removed afterwards: a refused target (the user's
        // file of the same name) is left as it was.
        var run = WorkloadRun(workload: w, layer: LayerInfo(name: Self.name, settings: describe()), rep: rep)
        run.removeCreatedFiles = !context.keep
        var result = try run.execute()
        result.workload = workload
        return result
    }
}
