import Foundation
import WritePathEngine

/// `host`: the engine in this process, on this machine's kernel: the reference every other
/// layer is compared with.
public struct HostLayer: Layer {
    public static let name = "host"
    public static let summary = "the engine on this machine's kernel (the reference)"
    public static let parameterNames = ["directory"]
    public static let runsFio = true
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
        defer {
            if !context.keep {
                for j in 0..<w.numjobs { try? FileManager.default.removeItem(atPath: Target.path(for: w, jobIndex: j)) }
            }
        }
        if workload.engine == .fio {
            var result = try FioEngine.runOnHost(w, directory: dir, layer: LayerInfo(name: Self.name, settings: describe()),
                                                 rep: rep, context: context)
            result.workload = workload
            return result
        }
        var result = try WorkloadRun(workload: w, layer: LayerInfo(name: Self.name, settings: describe()), rep: rep).execute()
        result.workload = workload
        return result
    }
}
