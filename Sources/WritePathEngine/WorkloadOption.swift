/// One workload option: one entry of one table, as fio's `fio_options[]` (options.c) keeps each
/// option. An entry says how the option is spelled (fio's name and aliases), what it takes (its
/// kind; the range or choices are in its parser), the `Workload` property it sets, its help, an
/// example value and the engine that owns it, if any. Its default is the property's initial value.
///
/// Everything else reads the table (`Workload.options`): `Workload.set` (job files, matrix files
/// and the command line), `Workload.commandLineArguments`, the JSON coding of `Workload`,
/// `Workload.supportedOptions`, `Workload.refusedOptions`, the engine checks of
/// `Workload.validate` and `writepath run --help`. An engine's own options are declared in the
/// engine's file (`IOUringOptions.options`) and stored in the workload's value for that engine.
///
/// Sendable by hand: the entries hold key paths and closures over key paths, which are immutable.
public struct WorkloadOption: @unchecked Sendable {
    /// What an option takes on a command line or in a job file.
    public enum Kind: Sendable, Equatable {
        /// A value (`--bs=4k`, `--bs 4k`, `bs=4k`), shown in help as `placeholder`.
        case value(placeholder: String)
        /// A boolean that may be given bare (`--time_based`, `time_based`) meaning 1, or as 1/0,
        /// true/false, yes/no, on/off.
        case flag
        /// An fio option writepath does not take: giving it is an error with `reason`, which says
        /// what to use instead.
        case refused(reason: String)
    }

    /// fio's name of the option.
    public let name: String
    /// Other names fio takes for it (`readwrite` for `rw`).
    public let aliases: [String]
    public let kind: Kind
    /// One or two sentences for `--help`, without the default (that is added from the property).
    public let help: String
    /// The engine the option belongs to; nil when every engine takes it. With another `ioengine`
    /// the option must keep its default (fio, too, knows an engine's options only with that engine).
    public let engine: EngineKind?
    /// Further engines that take the option as `engine` does (io_uring_cmd takes io_uring's
    /// `fixedbufs` and `registerfiles`, as in fio, where both engines share one option table).
    public var sharedWith: [EngineKind] = []
    /// A value the option takes, for "needs a value, e.g. bs=4k".
    public let example: String
    /// The default as help shows it, when the property's initial value does not say it well
    /// (`filename`: "./NAME.JOB.0 per job").
    let defaultDescription: String?
    /// Parses the option's text (nil: the bare key) into a workload; the string is the key as given.
    let parse: (inout Workload, String?, String) throws -> Void
    /// The stored value's text in the form `parse` takes back, nil when unset (a nil optional);
    /// nil for an option that stores nothing of its own (an alias with another meaning, an
    /// option accepted as fio's, a refused one).
    let text: ((Workload) -> String?)?
    /// Whether two workloads differ in this option's property.
    let differs: (Workload, Workload) -> Bool
    let encode: ((Workload, inout KeyedEncodingContainer<WorkloadCodingKey>) throws -> Void)?
    let decode: ((inout Workload, KeyedDecodingContainer<WorkloadCodingKey>) throws -> Void)?
    /// The job-file scheduling switch the option sets (`stonewall`); job files only.
    let scheduling: WritableKeyPath<FioJobFile.Scheduling, Bool>?

    /// Every name the option answers to: `name`, then the aliases.
    public var names: [String] { [name] + aliases }

    /// The engines that take the option: `engine` and those it is shared with; empty for an option
    /// every engine takes.
    public var engines: [EngineKind] { engine.map { [$0] + sharedWith } ?? [] }

    /// The option, also taken by `engines` (as `engine` takes it).
    public func shared(with engines: [EngineKind]) -> WorkloadOption {
        var o = self
        o.sharedWith = engines
        return o
    }

    /// Whether the option is one writepath refuses.
    public var isRefused: Bool { if case .refused = kind { true } else { false } }

    /// The default as help shows it (`4k`, `1`), or nil when there is none worth showing.
    public var defaultText: String? {
        if let defaultDescription { return defaultDescription }
        guard let text, let t = text(Workload()) else { return nil }
        return t.hasSuffix(".0") ? String(t.dropLast(2)) : t
    }

    /// Whether the option keeps a value of its own in the workload (not an alias with its own
    /// meaning, an fio option accepted for what writepath always does, a scheduling switch or a
    /// refused option): the options a result's workload records.
    public var isStored: Bool { text != nil }

    /// The option's value in `workload` as text `parse` takes back (`4096` for `bs`, `1` for a
    /// set flag), nil when unset (a nil optional) or when the option stores nothing of its own.
    public func value(in workload: Workload) -> String? { text?(workload) }

    /// `--name=value` for `workload`'s value when it differs from `defaults`, else nil.
    func argument(_ workload: Workload, defaults: Workload) -> String? {
        guard let text, differs(workload, defaults), let t = text(workload) else { return nil }
        return "--\(name)=\(t)"
    }
}

/// The JSON key of a workload option (its fio name).
public struct WorkloadCodingKey: CodingKey {
    public var stringValue: String
    public var intValue: Int? { nil }
    public init(_ name: String) { stringValue = name }
    public init?(stringValue: String) { self.stringValue = stringValue }
    public init?(intValue: Int) { nil }
}

/// A nil optional is left out of the JSON, as the synthesized coding did.
private protocol OptionalValue { var isNone: Bool { get } }
extension Optional: OptionalValue { var isNone: Bool { self == nil } }

// MARK: - Declaring entries

extension WorkloadOption {
    /// An option stored in the workload's `property`.
    /// - Parameters:
    ///   - parse: turns the text into the value; it gets the text (nil only for a bare flag) and
    ///     the key as given, to name in its error.
    ///   - format: the value as text `parse` takes back; nil for an unset optional.
    public static func stored<T: Codable & Equatable>(
        _ name: String, aliases: [String] = [], _ property: WritableKeyPath<Workload, T>, _ kind: Kind,
        engine: EngineKind? = nil, example: String = "1", default defaultDescription: String? = nil, help: String,
        parse: @escaping (String?, String) throws -> T, format: @escaping (T) -> String?
    ) -> WorkloadOption {
        let key = WorkloadCodingKey(name)
        return WorkloadOption(
            name: name, aliases: aliases, kind: kind, help: help, engine: engine, example: example,
            defaultDescription: defaultDescription,
            parse: { w, value, field in
                w[keyPath: property] = try parse(kind == .flag ? value : try required(value, field: field, example: example), field)
            },
            text: { format($0[keyPath: property]) },
            differs: { $0[keyPath: property] != $1[keyPath: property] },
            encode: { w, c in
                let v = w[keyPath: property]
                if let o = v as? OptionalValue, o.isNone { return }
                try c.encode(v, forKey: key)
            },
            decode: { w, c in
                if let v = try c.decodeIfPresent(T.self, forKey: key) { w[keyPath: property] = v }
            },
            scheduling: nil)
    }

    /// A boolean stored in `property` (1/0 as text).
    public static func flag(
        _ name: String, aliases: [String] = [], _ property: WritableKeyPath<Workload, Bool>, engine: EngineKind? = nil,
        help: String
    ) -> WorkloadOption {
        stored(
            name, aliases: aliases, property, .flag, engine: engine, help: help,
            parse: { try Workload.boolean($0, field: $1) }, format: { $0 ? "1" : "0" })
    }

    /// A whole number in `range` stored in `property`.
    public static func integer(
        _ name: String, aliases: [String] = [], _ property: WritableKeyPath<Workload, Int>, _ range: ClosedRange<Int>,
        engine: EngineKind? = nil, placeholder: String = "N", default defaultDescription: String? = nil, help: String
    ) -> WorkloadOption {
        stored(
            name, aliases: aliases, property, .value(placeholder: placeholder), engine: engine, example: "1",
            default: defaultDescription, help: help,
            parse: { try Workload.integer($0!, field: $1, range: range) }, format: { "\($0)" })
    }

    /// A byte count (k/m/g/t suffixes) stored in `property`.
    public static func bytes(
        _ name: String, aliases: [String] = [], _ property: WritableKeyPath<Workload, UInt64>, example: String,
        default defaultDescription: String? = nil, help: String
    ) -> WorkloadOption {
        stored(
            name, aliases: aliases, property, .value(placeholder: "SIZE"), example: example, default: defaultDescription, help: help,
            parse: { try ByteSize.parse($0!, field: $1) }, format: { "\($0)" })
    }

    /// A duration in seconds (suffixes us, ms, s, m, h, d) stored in `property`.
    public static func seconds(
        _ name: String, _ property: WritableKeyPath<Workload, Double>, example: String = "10", help: String
    ) -> WorkloadOption {
        stored(
            name, property, .value(placeholder: "SECONDS"), example: example, help: help,
            parse: { try Workload.seconds($0!, field: $1) }, format: { "\($0)" })
    }

    /// One of `T`'s cases by its raw value, stored in `property`; `lowercased`: case does not matter.
    public static func choice<T: RawRepresentable & CaseIterable & Codable & Equatable>(
        _ name: String, aliases: [String] = [], _ property: WritableKeyPath<Workload, T>, lowercased: Bool = false,
        help: String
    ) -> WorkloadOption where T.RawValue == String {
        let cases = T.allCases.map(\.rawValue)
        return stored(
            name, aliases: aliases, property, .value(placeholder: cases.joined(separator: "|")), example: cases[0], help: help,
            parse: { text, field in
                guard let v = T(rawValue: lowercased ? text!.lowercased() : text!) else {
                    throw WritePathError.invalidInput(
                        field: field, message: "\(quoted(text!)) is not supported; expected one of \(cases.joined(separator: ", "))")
                }
                return v
            }, format: { $0.rawValue })
    }

    /// An option with no property of its own: an alias with its own meaning (`buffered` sets
    /// `direct`), or an fio option accepted for what writepath always does (`thread`).
    public static func derived(
        _ name: String, aliases: [String] = [], _ kind: Kind, example: String = "1", help: String,
        parse: @escaping (inout Workload, String?, String) throws -> Void
    ) -> WorkloadOption {
        WorkloadOption(
            name: name, aliases: aliases, kind: kind, help: help, engine: nil, example: example, defaultDescription: nil,
            parse: { w, value, field in
                try parse(&w, kind == .flag ? value : try required(value, field: field, example: example), field)
            },
            text: nil, differs: { _, _ in false }, encode: nil, decode: nil, scheduling: nil)
    }

    /// A fio flag writepath always behaves as if it were 1: `name=1` is accepted and changes
    /// nothing, `name=0` is refused with `why` (what writepath does instead).
    public static func alwaysOn(_ name: String, help: String, why: String) -> WorkloadOption {
        derived(name, .flag, help: help) { _, text, field in
            guard try Workload.boolean(text, field: field) else {
                throw WritePathError.invalidInput(field: field, message: "0 is not supported: \(why)")
            }
        }
    }

    /// A job-file scheduling switch (`stonewall`): sets `FioJobFile.Scheduling` in a job file and
    /// is accepted on a command line, where one job has nothing to wait for.
    public static func scheduling(
        _ name: String, aliases: [String] = [], _ property: WritableKeyPath<FioJobFile.Scheduling, Bool>, help: String
    ) -> WorkloadOption {
        WorkloadOption(
            name: name, aliases: aliases, kind: .flag, help: help, engine: nil, example: "1", defaultDescription: nil,
            parse: { _, value, field in _ = try Workload.boolean(value, field: field) },
            text: nil, differs: { _, _ in false }, encode: nil, decode: nil, scheduling: property)
    }

    /// An fio option writepath refuses, with the reason (what to use instead).
    public static func refused(_ name: String, _ reason: String) -> WorkloadOption {
        WorkloadOption(
            name: name, aliases: [], kind: .refused(reason: reason), help: "Refused: \(reason).", engine: nil, example: "1",
            defaultDescription: nil,
            parse: { _, _, field in throw WritePathError.invalidInput(field: field, message: "not supported: \(reason)") },
            text: nil, differs: { _, _ in false }, encode: nil, decode: nil, scheduling: nil)
    }

    /// The text of a value option, or an error saying it needs one.
    static func required(_ value: String?, field: String, example: String) throws -> String {
        guard let v = value, !v.isEmpty else {
            throw WritePathError.invalidInput(field: field, message: "needs a value, e.g. \(field)=\(example)")
        }
        return v
    }
}
