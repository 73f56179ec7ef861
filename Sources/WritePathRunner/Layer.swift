import Foundation
import WritePathEngine
import WritePathResult

/// A layer named with its parameters, as a matrix file or the command line gives it:
/// `docker-volume` or `{ name: docker-volume, write_iops_limit: 500 }`.
public struct LayerSpec: Codable, Equatable, Hashable, Sendable, CustomStringConvertible {
    public var name: String
    /// Parameter values as text (`write_iops_limit: "500"`).
    public var parameters: [String: String]

    public init(name: String, parameters: [String: String] = [:]) {
        self.name = name
        self.parameters = parameters
    }

    /// `docker-volume` or `docker-volume(write_iops_limit=500)`: unique per spec, used in file names.
    public var description: String {
        parameters.isEmpty
            ? name : "\(name)(\(parameters.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",")))"
    }

    /// A file-name-safe form of `description`.
    public var slug: String {
        String(description.map { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" ? $0 : "_" })
    }
}

/// Whether a layer can run on this machine.
public enum Availability: Sendable, Equatable {
    /// It can; `detail` says with what (versions, acceleration).
    case available(detail: String)
    /// It cannot; `reason` says why and `fix` what would make it work.
    case unavailable(reason: String, fix: String)

    public var isAvailable: Bool {
        if case .available = self { return true }
        return false
    }
}

/// What a layer needs from the runner for one run.
public struct LayerContext: Sendable {
    /// The `writepath` binary placed in containers and guests (a release build).
    public var engineBinary: String
    /// Where this run's logs go (created by the runner).
    public var logDirectory: String
    /// A host folder for target files and bundles; removed by the layer's cleanup.
    public var scratchDirectory: String
    /// Keep containers, volumes, bundles and mounts for debugging.
    public var keep: Bool
    /// A short unique id for names (`wp-<id>`): containers, volumes, bundles.
    public var runID: String
    /// Seconds a run may take beyond the workload's own time before it is stopped.
    public var graceSeconds: Double

    public init(
        engineBinary: String, logDirectory: String, scratchDirectory: String, keep: Bool = false,
        runID: String, graceSeconds: Double = 120
    ) {
        self.engineBinary = engineBinary
        self.logDirectory = logDirectory
        self.scratchDirectory = scratchDirectory
        self.keep = keep
        self.runID = runID
        self.graceSeconds = graceSeconds
    }
}

/// One environment the engine runs in: the host, a container, a guest.
///
/// A layer checks whether it can run here, prepares its environment, places the engine inside,
/// runs one workload, returns the engine's result with its own description in `runs[].layer`,
/// and removes everything it created (unless `context.keep`), also when the run fails. Boxed
/// layers share their steps through `EngineInBox`; layers that differ by one value (a QEMU disk
/// model, a docker storage, a Xen guest mode) are values of one type (`LayerKind` in the registry).
public protocol Layer: Sendable {
    /// The layer's name: a contract (`docker-volume`), used in matrix files and results.
    var name: String { get }
    /// Whether it can run a workload with `engine: fio` (fio placed in the layer as the engine is);
    /// false by default.
    var runsFio: Bool { get }
    /// Whether it can run here, and if not why and how to fix it.
    func availability() -> Availability
    /// Every setting that matters, recorded in `runs[].layer` (versions, driver, limits, ...).
    func describe() -> [String: String]
    /// What a write crosses in this layer with `settings` (what `describe` or a run recorded):
    /// recorded in `runs[].layer` (`LayerWritePath.settingsKey`) for the report's diagram.
    func writePath(_ settings: [String: String]) -> LayerWritePath
    /// Runs `workload` once. Throws for failures of the layer itself (a container that could not
    /// start); a failed workload comes back as a result with `status: failed`.
    func run(_ workload: Workload, rep: Int, context: LayerContext) throws -> RunResult
    /// Runs `count` copies of `workload` at once in this layer (tenants: N host jobs, N containers,
    /// N guests), each with its own target, names, scratch and log folders; returns one outcome per
    /// tenant, in tenant order. The default (`Tenants.swift`) runs `run` on `count` threads.
    func runTenants(_ workload: Workload, count: Int, rep: Int, context: LayerContext) -> [TenantOutcome]
}

/// A layer with a type of its own (host, oci-runc, gvisor, nspawn, podman): its name, summary
/// and parameters are the type's.
public protocol SingleLayer: Layer {
    static var name: String { get }
    /// One line on what the layer measures.
    static var summary: String { get }
    /// The parameters it accepts.
    static var parameterNames: [String] { get }
    /// Validates `parameters`; throws `invalidInput` naming a parameter it cannot accept.
    init(parameters: [String: String]) throws
    /// The parameter sets `writepath layers` lists a row for (podman rootful and rootless); `[[:]]` by default.
    static var listedVariants: [[String: String]] { get }
}

extension SingleLayer {
    public var name: String { Self.name }
    public static var listedVariants: [[String: String]] { [[:]] }
    /// The registry's entry for this type.
    public static var kind: LayerKind {
        var k = LayerKind(name: name, summary: summary, parameterNames: parameterNames) { try Self(parameters: $0) }
        k.listedVariants = listedVariants
        return k
    }
}

extension Layer {
    /// Runs `workload` once, as `run`, and records how long the box took to start and to go away:
    /// `startup_s`, from "start the box" to the engine's job threads starting, and `teardown_s`,
    /// from the jobs' end until the box was gone (seconds, wall clock). Only for layers whose box
    /// shares this machine's clock (containers); guests record their own `boot_s`.
    public func runTimed(_ workload: Workload, rep: Int, context: LayerContext) throws -> RunResult {
        let begin = Date().timeIntervalSince1970
        var result = try run(workload, rep: rep, context: context)
        let end = Date().timeIntervalSince1970
        if result.layer.settings["boot_s"] == nil, let started = result.started_unix_s, let ended = result.ended_unix_s,
            started >= begin, ended <= end
        {
            result.layer.settings["startup_s"] = formatDecimal(started - begin, places: 3)
            result.layer.settings["teardown_s"] = formatDecimal(end - ended, places: 3)
        }
        return result
    }

    public var runsFio: Bool { false }

    /// `settings` with the layer's write path for them added (`LayerWritePath.settingsKey`).
    public func recording(_ settings: [String: String]) -> [String: String] {
        var s = settings
        s[LayerWritePath.settingsKey] = writePath(settings).encoded
        return s
    }

    /// `describe()` with the write path: the settings a run that never started records.
    public func recordedSettings() -> [String: String] { recording(describe()) }

    /// Whether this layer can run `workload`'s engine here: writepath's always (the layer's own
    /// availability decides), fio only in layers that place it and when it is installed.
    public func engineAvailability(_ workload: Workload) -> Availability {
        guard workload.engine == .fio else { return .available(detail: "writepath") }
        guard runsFio else {
            return .unavailable(
                reason: "engine fio is not available in \(name) yet: its image carries only writepath's engine",
                fix: "run engine fio in host, docker-*, oci-runc, qemu-* or xen-*")
        }
        return FioEngine.availability()
    }
}

/// One entry of the layer registry: a layer's name, what it measures, the parameters it takes,
/// and how to make it from them.
public struct LayerKind: Sendable {
    public var name: String
    /// One line on what the layer measures.
    public var summary: String
    /// The parameters it accepts.
    public var parameterNames: [String]
    /// The parameter sets `writepath layers` lists a row for: the defaults, and modes worth a row
    /// of their own (podman `rootless: true`).
    public var listedVariants: [[String: String]] = [[:]]
    let make: @Sendable ([String: String]) throws -> any Layer

    public init(name: String, summary: String, parameterNames: [String], make: @escaping @Sendable ([String: String]) throws -> any Layer) {
        self.name = name
        self.summary = summary
        self.parameterNames = parameterNames
        self.make = make
    }

    /// The layer with `parameters`; throws `invalidInput` for a parameter it does not accept.
    public func callAsFunction(_ parameters: [String: String]) throws -> any Layer {
        _ = try LayerParameters(layer: name, values: parameters, accepted: parameterNames)
        return try make(parameters)
    }
}

/// Every layer writepath knows, by name.
public enum LayerRegistry {
    nonisolated(unsafe) public static var all: [LayerKind] =
        [HostLayer.kind] + DockerStorage.all.map(\.kind)
        + [OCIRuncLayer.kind, GVisorLayer.kind, NspawnLayer.kind, PodmanLayer.kind, LXCLayer.kind]
        + DiskModel.all.map(\.kind) + DriveBackend.served.map(\.layerKind) + SharedFolder.allCases.map(\.kind)
        + XenGuestMode.allCases.map(\.kind)

    /// Makes the layer of `spec`; throws `invalidInput` for an unknown name or parameter.
    public static func make(_ spec: LayerSpec) throws -> any Layer {
        guard let kind = all.first(where: { $0.name == spec.name }) else {
            throw WritePathError.invalidInput(
                field: "layer",
                message: "\(quoted(spec.name)) is not a layer; expected one of \(all.map { $0.name }.joined(separator: ", "))")
        }
        return try kind(spec.parameters)
    }
}

/// Parameter parsing shared by layers; every error names `layer.parameter`.
public struct LayerParameters: Sendable {
    public let layer: String
    public let values: [String: String]

    public init(layer: String, values: [String: String]) {
        self.layer = layer
        self.values = values
    }

    /// The parameters of `layer`, refusing any not in `accepted` with an `invalidInput` naming it.
    public init(layer: String, values: [String: String], accepted: [String]) throws {
        for key in values.keys.sorted() where !accepted.contains(key) {
            throw WritePathError.invalidInput(
                field: "\(layer).\(clipped(key))",
                message: "unknown parameter; \(layer) accepts \(accepted.isEmpty ? "none" : accepted.joined(separator: ", "))")
        }
        self.init(layer: layer, values: values)
    }

    public func string(_ key: String) -> String? { values[key] }

    public func integer(_ key: String, range: ClosedRange<Int>) throws -> Int? {
        guard let v = values[key] else { return nil }
        guard let i = Int(v), range.contains(i) else {
            throw WritePathError.invalidInput(
                field: "\(layer).\(key)", message: "\(quoted(v)) is not a whole number from \(range.lowerBound) to \(range.upperBound)")
        }
        return i
    }

    public func number(_ key: String, range: ClosedRange<Double>) throws -> Double? {
        guard let v = values[key] else { return nil }
        guard let d = Double(v), range.contains(d) else {
            throw WritePathError.invalidInput(
                field: "\(layer).\(key)", message: "\(quoted(v)) is not a number from \(range.lowerBound) to \(range.upperBound)")
        }
        return d
    }

    /// An absolute path to a folder that exists now: a layer writes into it, so a typo must not
    /// make writepath create folders elsewhere on the host.
    public func existingFolder(_ key: String) throws -> String? {
        guard let v = values[key] else { return nil }
        guard v.hasPrefix("/"), !v.utf8.contains(0) else {
            throw WritePathError.invalidInput(field: "\(layer).\(key)", message: "\(quoted(v)) must be an absolute host folder")
        }
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: v, isDirectory: &isDir), isDir.boolValue else {
            throw WritePathError.invalidInput(
                field: "\(layer).\(key)", message: "\(quoted(v)) is not an existing folder; create it or leave \(key) out")
        }
        return v
    }

    public func bytes(_ key: String) throws -> UInt64? {
        guard let v = values[key] else { return nil }
        return try ByteSize.parse(v, field: "\(layer).\(key)")
    }

    public func choice(_ key: String, _ options: [String]) throws -> String? {
        guard let v = values[key] else { return nil }
        guard options.contains(v) else {
            throw WritePathError.invalidInput(
                field: "\(layer).\(key)", message: "\(quoted(v)) is not supported; expected one of \(options.joined(separator: ", "))")
        }
        return v
    }

    public func boolean(_ key: String) throws -> Bool? {
        guard let v = values[key]?.lowercased() else { return nil }
        switch v {
        case "1", "true", "yes", "on": return true
        case "0", "false", "no", "off": return false
        default:
            throw WritePathError.invalidInput(field: "\(layer).\(key)", message: "\(quoted(v)) is not a boolean; expected true or false")
        }
    }
}

/// The write throttles containers (blkio cgroup) and guests (QEMU's `throttling.*`) take, under
/// the same parameter names so that the two ways to cap a tenant can be compared.
public struct WriteLimits: Sendable, Equatable {
    public static let parameterNames = ["write_iops_limit", "write_bps_limit"]
    /// Write I/Os per second.
    public var iops: Int?
    /// Write bytes per second.
    public var bytesPerSecond: UInt64?

    public init(_ p: LayerParameters) throws {
        iops = try p.integer("write_iops_limit", range: 1...10_000_000)
        bytesPerSecond = try p.bytes("write_bps_limit")
        if let b = bytesPerSecond, b == 0 {
            throw WritePathError.invalidInput(field: "\(p.layer).write_bps_limit", message: "must be at least 1 byte per second, e.g. 50m")
        }
    }

    var throttled: Bool { iops != nil || bytesPerSecond != nil }

    /// The settings for `runs[].layer`.
    var settings: [String: String] {
        var s: [String: String] = [:]
        if let iops { s["write_iops_limit"] = "\(iops)" }
        if let bytesPerSecond { s["write_bps_limit"] = "\(bytesPerSecond)" }
        return s
    }
}

extension LayerSpec {
    /// Parses a layer as the command line gives it: `docker-volume`, `docker-volume:write_iops_limit=500,cpus=1`
    /// or `docker-volume(write_iops_limit=500,cpus=1)` (the form `description` prints). Checks the
    /// name and parameters with `LayerRegistry.make`; throws `invalidInput` naming `field` or the parameter.
    public static func parse(_ text: String, field: String = "layer") throws -> LayerSpec {
        var name = text.trimmingCharacters(in: .whitespaces)
        var list = ""
        if let open = name.firstIndex(of: "("), name.hasSuffix(")") {
            list = String(name[name.index(after: open)..<name.index(before: name.endIndex)])
            name = String(name[..<open])
        } else if let colon = name.firstIndex(of: ":") {
            list = String(name[name.index(after: colon)...])
            name = String(name[..<colon])
        }
        var parameters: [String: String] = [:]
        for item in list.split(separator: ",") {
            let kv = item.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard kv.count == 2, !kv[0].isEmpty, !kv[1].isEmpty else {
                throw WritePathError.invalidInput(
                    field: field, message: "'\(item)' in '\(text)' is not KEY=VALUE; expected e.g. docker-volume:write_iops_limit=500")
            }
            parameters[kv[0]] = kv[1]
        }
        guard !name.isEmpty else {
            throw WritePathError.invalidInput(
                field: field, message: "'\(text)' names no layer; expected e.g. host or docker-volume:write_iops_limit=500")
        }
        let spec = LayerSpec(name: name, parameters: parameters)
        _ = try LayerRegistry.make(spec)
        return spec
    }
}
