import ArgumentParser
import Foundation
import WritePathEngine
import WritePathRunner

/// `writepath layers`: every layer, whether it can run here, and if not why and how to fix it.
struct LayersCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "layers",
        abstract: "List the layers and whether each can run on this machine.")

    @Option(name: .customLong("output-format"), help: "text or json.") var outputFormat: String = "text"

    func validate() throws {
        guard ["text", "json"].contains(outputFormat) else {
            throw ValidationError("invalid output-format: '\(outputFormat)' is not supported; expected text or json")
        }
    }

    struct Entry: Codable {
        var name: String
        var summary: String
        var available: Bool
        var detail: String?
        var reason: String?
        var fix: String?
        var parameters: [String]
    }

    func run() throws {
        var entries: [Entry] = []
        for kind in LayerRegistry.all {
            for variant in kind.listedVariants {
                let layer = try kind(variant)
                let name = LayerSpec(name: kind.name, parameters: variant).description
                var e = Entry(name: name, summary: kind.summary, available: false, parameters: kind.parameterNames)
                switch layer.availability() {
                case let .available(detail): e.available = true; e.detail = detail
                case let .unavailable(reason, fix): e.reason = reason; e.fix = fix
                }
                entries.append(e)
            }
        }
        // Engines that need a device this machine may lack (io_uring_cmd: an NVMe char device).
        var engines = [
            Entry(
                name: EngineKind.io_uring_cmd.rawValue, summary: "an engine, not a layer: NVMe passthrough (--ioengine=io_uring_cmd)",
                available: true, parameters: [])
        ]
        if let u = NVMeCharDevices.unavailability() {
            (engines[0].available, engines[0].reason, engines[0].fix) = (false, u.reason, u.fix)
        } else {
            engines[0].detail = NVMeCharDevices.all().joined(separator: ", ")
        }
        if outputFormat == "json" {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            Output.stdout(String(decoding: try encoder.encode(["layers": entries, "engines": engines]), as: UTF8.self) + "\n")
            return
        }
        let width = entries.map(\.name.count).max() ?? 10
        var out = ""
        for e in entries + engines {
            let pad = String(repeating: " ", count: max(0, width - e.name.count))
            if e.available {
                out += "\(e.name)\(pad)  available    \(e.detail ?? "")\n"
            } else {
                out += "\(e.name)\(pad)  unavailable  \(e.reason ?? ""); fix: \(e.fix ?? "")\n"
            }
            out += "\(String(repeating: " ", count: width))  \(e.summary)"
            out += e.parameters.isEmpty ? "\n" : "; parameters: \(e.parameters.joined(separator: ", "))\n"
        }
        Output.stdout(out)
    }
}
