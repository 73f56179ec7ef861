import Foundation
import WritePathEngine

/// Result documents read from the paths a user gave `writepath report` or `writepath compare`.
public struct ResultInput: Sendable {
    /// One parsed document and the file it came from.
    public struct Source: Sendable {
        public var path: String
        public var document: ResultDocument
        /// The host the results belong to when a fleet folder names it (its inventory name); nil
        /// means the document's own `host.hostname`.
        public var host: String?
        public init(path: String, document: ResultDocument, host: String? = nil) {
            self.path = path
            self.document = document
            self.host = host
        }

        /// The host the report groups this document's runs under.
        public var hostLabel: String { host ?? document.host.hostname }

        /// Whether every run in it was made by hand (`writepath run --layer-label`).
        public var isHandRun: Bool { !document.runs.isEmpty && document.runs.allSatisfy { $0.hand_run != nil } }
    }

    public var sources: [Source]

    public init(sources: [Source]) { self.sources = sources }

    /// Every run of every document, in the order given.
    public var runs: [RunResult] { sources.flatMap { $0.document.runs } }

    /// Reads `paths`. A folder contributes its `run.json` (a matrix run folder); without one, a fleet
    /// folder (`fleet.json`) the `run.json` of each `<host>/<run id>/`, labelled with the host; else
    /// every `*.json` directly in it; without those, the `run.json` of each subfolder. A file must be
    /// a `writepath.result/1` document. Throws `invalidInput` naming the path for anything else.
    public static func load(_ paths: [String]) throws -> ResultInput {
        guard !paths.isEmpty else {
            throw WritePathError.invalidInput(field: "RESULTS", message: "no input; give a results folder or writepath.result/1 JSON files")
        }
        var sources: [Source] = []
        for path in paths {
            if let fleet = fleetFiles(in: path) {
                for (file, host) in fleet { sources.append(Source(path: file, document: try parse(file), host: host)) }
                continue
            }
            for file in try files(in: path) {
                sources.append(Source(path: file, document: try parse(file)))
            }
        }
        return ResultInput(sources: sources)
    }

    /// The result files `path` stands for (see `load`).
    public static func files(in path: String) throws -> [String] {
        let fm = FileManager.default
        var isDir: ObjCBool = false
        guard fm.fileExists(atPath: path, isDirectory: &isDir) else {
            throw WritePathError.invalidInput(
                field: path, message: "no such file or folder; give a results folder or a writepath.result/1 JSON file")
        }
        guard isDir.boolValue else { return [path] }
        let base = path.hasSuffix("/") ? String(path.dropLast()) : path
        if fm.fileExists(atPath: "\(base)/run.json") { return ["\(base)/run.json"] }
        if let fleet = fleetFiles(in: base) {
            guard !fleet.isEmpty else {
                throw WritePathError.invalidInput(
                    field: path, message: "is a fleet folder without results; fleet.json says why each host has none")
            }
            return fleet.map(\.file)
        }
        let entries = ((try? fm.contentsOfDirectory(atPath: base)) ?? []).sorted()
        let json = entries.filter { $0.hasSuffix(".json") && !$0.hasPrefix(".") }.map { "\(base)/\($0)" }
        if !json.isEmpty { return json }
        let nested = entries.map { "\(base)/\($0)/run.json" }.filter { fm.fileExists(atPath: $0) }
        if !nested.isEmpty { return nested }
        throw WritePathError.invalidInput(
            field: path, message: "holds no results; expected run.json, *.json result files or run folders with run.json")
    }

    /// The run folders of a fleet folder (`writepath fleet`: `fleet.json` and one folder per host
    /// holding `<run id>/run.json`), each with its host; nil when `path` is no fleet folder.
    public static func fleetFiles(in path: String) -> [(file: String, host: String)]? {
        let fm = FileManager.default
        let base = path.count > 1 && path.hasSuffix("/") ? String(path.dropLast()) : path
        guard fm.fileExists(atPath: "\(base)/fleet.json"), !fm.fileExists(atPath: "\(base)/run.json") else { return nil }
        var out: [(file: String, host: String)] = []
        for host in ((try? fm.contentsOfDirectory(atPath: base)) ?? []).sorted() where !host.hasPrefix(".") {
            for run in ((try? fm.contentsOfDirectory(atPath: "\(base)/\(host)")) ?? []).sorted()
            where fm.fileExists(atPath: "\(base)/\(host)/\(run)/run.json") {
                out.append((file: "\(base)/\(host)/\(run)/run.json", host: host))
            }
        }
        return out
    }

    /// Parses one file as a result document.
    public static func parse(_ file: String) throws -> ResultDocument {
        guard let data = FileManager.default.contents(atPath: file) else {
            throw WritePathError.invalidInput(field: file, message: "cannot be read; check that it exists and is readable")
        }
        return try JSONFormat.parse(data, source: file)
    }
}
