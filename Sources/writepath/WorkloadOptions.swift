import ArgumentParser
import WritePathEngine

#if canImport(Glibc)
    import Glibc
#endif

/// The workload options of `run` and `sweep`, read from the option table (`Workload.options`)
/// rather than declared here one by one. `extract` takes them out of the command line before the
/// argument parser sees it, in the spellings fio takes (`--rw=randwrite`, `--rw randwrite`, a bare
/// `--time_based`, `--time_based 0`, aliases such as `--readwrite`), and hands them on in the
/// hidden `--workload-option NAME=VALUE`; `helpSection` lists the table in `--help`.
struct WorkloadOptions: ParsableArguments {
    /// The hidden option `extract` passes the workload options in.
    static let carrier = "workload-option"
    /// Subcommands that take workload options.
    static let subcommands: Set<String> = ["run", "sweep"]

    @Option(name: .customLong(carrier), help: .hidden) var carried: [String] = []

    /// The options given, as (fio name, text), each once with its last value, in table order
    /// (so that `--buffered` after `--direct` means what it means in a job file).
    var given: [(String, String)] {
        var last: [String: String] = [:]
        for c in carried {
            let kv = c.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
            last[kv[0]] = kv.count > 1 ? kv[1] : "1"
        }
        return Workload.options.compactMap { o in last[o.name].map { (o.name, $0) } }
    }

    /// Applies the given options on top of `workload`.
    func apply(to workload: inout Workload) throws {
        for (k, v) in given { try workload.set(k, v) }
    }

    /// Values a bare flag may be followed by as its own argument (`--time_based 0`).
    static let booleanWords: Set<String> = ["0", "1", "true", "false", "yes", "no", "on", "off"]

    /// The command line with the workload options of `run` and `sweep` turned into the hidden
    /// carrier option; fio options writepath refuses are refused with the reason, for any
    /// subcommand, as in a job file.
    static func extract(_ arguments: [String]) throws -> [String] {
        let end = arguments.firstIndex(of: "--") ?? arguments.endIndex
        for a in arguments[..<end] where a.hasPrefix("--") {
            let key = String(a.dropFirst(2).prefix { $0 != "=" })
            if let reason = Workload.refusedOptions[key] {
                throw WritePathError.invalidInput(field: key, message: "not supported: \(reason)")
            }
        }
        guard let subcommand = arguments.first, subcommands.contains(subcommand) else { return arguments }
        var carried: [String] = [], rest: [String] = []
        var i = 1
        while i < end {
            let a = arguments[i]
            i += 1
            let key = String(a.dropFirst(2).prefix { $0 != "=" })
            guard a.hasPrefix("--"), let option = Workload.option(named: key), option.names.contains(key) else {
                rest.append(a)
                continue
            }
            var value = a.contains("=") ? String(a.drop { $0 != "=" }.dropFirst()) : nil
            switch option.kind {
            case .flag:
                if value == nil, i < end, booleanWords.contains(arguments[i].lowercased()) {
                    value = arguments[i]
                    i += 1
                }
            case .value:
                if value == nil, i < end, !arguments[i].hasPrefix("--") {
                    value = arguments[i]
                    i += 1
                }
                guard let v = value, !v.isEmpty else {
                    throw WritePathError.invalidInput(
                        field: option.name, message: "missing value for '--\(key)'; give one, e.g. --\(key)=\(option.example)")
                }
            case .refused: break
            }
            carried.append("--\(carrier)=\(option.name)" + (value.map { "=\($0)" } ?? ""))
        }
        return [subcommand] + carried + rest + arguments[end...]
    }

    // MARK: - Help

    /// Whether `arguments` ask for the help of a subcommand that takes workload options.
    static func asksForHelp(_ arguments: [String]) -> Bool {
        guard let first = arguments.first else { return false }
        if first == "help" { return arguments.dropFirst().first.map(subcommands.contains) ?? false }
        let end = arguments.firstIndex(of: "--") ?? arguments.endIndex
        return subcommands.contains(first) && arguments[..<end].contains { $0 == "--help" || $0 == "-h" }
    }

    /// The help of a subcommand with the table's options added before its own (`OPTIONS:`).
    static func help(_ text: String, width: Int = terminalWidth) -> String {
        let section = helpSection(width: width)
        guard let at = text.range(of: "\nOPTIONS:\n") else { return text + "\n" + section }
        return String(text[..<at.lowerBound]) + "\n" + section + String(text[at.lowerBound...])
    }

    /// The table as help: the common options, then each engine's, then the refused fio options,
    /// laid out as the argument parser lays out its own (labels, then help from column 26).
    static func helpSection(width: Int) -> String {
        var out = "WORKLOAD (FIO NAMES; ALSO name=value IN A JOB FILE):\n"
        let common = Workload.options.filter { $0.engine == nil && !$0.isRefused }
        for o in common { out += entry(o, width: width) }
        for engine in EngineKind.allCases {
            let own = Workload.options.filter { $0.engines.contains(engine) }
            guard !own.isEmpty else { continue }
            out += "\n\(engine.rawValue.uppercased()) ENGINE (ONLY WITH --ioengine=\(engine.rawValue)):\n"
            for o in own { out += entry(o, width: width) }
        }
        let refused = Workload.options.filter(\.isRefused).map(\.name)
        out +=
            "\n"
            + wrapped(
                "Refused fio options (each says why and what to use instead): \(refused.joined(separator: ", ")).",
                width: width, indent: 2, first: 2) + "\n"
        return out
    }

    static let labelColumn = 26

    /// One option: `--name, --alias <value>` and its help with the default.
    static func entry(_ o: WorkloadOption, width: Int) -> String {
        var label = "  " + o.names.map { "--\($0)" }.joined(separator: ", ")
        if case let .value(placeholder) = o.kind { label += " <\(placeholder)>" }
        var help = o.help
        if let d = o.defaultText { help += " (default: \(d))" }
        if label.count <= labelColumn - 2 {
            let text = wrapped(help, width: width, indent: labelColumn, first: labelColumn)
            return label + text.dropFirst(label.count) + "\n"
        }
        return label + "\n" + wrapped(help, width: width, indent: labelColumn, first: labelColumn) + "\n"
    }

    /// `text` wrapped at word boundaries to `width` columns, every line indented by `indent`
    /// (the first by `first`).
    static func wrapped(_ text: String, width: Int, indent: Int, first: Int) -> String {
        var lines: [String] = []
        var line = String(repeating: " ", count: first)
        var lineIsEmpty = true
        for word in text.split(separator: " ") {
            if !lineIsEmpty && line.count + 1 + word.count > width {
                lines.append(line)
                line = String(repeating: " ", count: indent)
                lineIsEmpty = true
            }
            line += (lineIsEmpty ? "" : " ") + word
            lineIsEmpty = false
        }
        lines.append(line)
        return lines.joined(separator: "\n")
    }

    /// Columns of the terminal, as the argument parser finds them: `COLUMNS`, else the terminal's
    /// width, else 80.
    static var terminalWidth: Int {
        if let c = getenv("COLUMNS").flatMap({ Int(String(cString: $0)) }), c > 0 { return c }
        var size = winsize()
        if ioctl(STDOUT_FILENO, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 { return Int(size.ws_col) }
        return 80
    }
}
