import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Reads fio INI job files: a `[global]` section whose options every job inherits, then one
/// section per job. A line whose first non-blank character is `;` or `#` is a comment, and so is
/// the rest of a line from a `;` or `#` after a blank (`bs=4k ; note`); inside a value they are
/// data: `filename=/mnt/t/run#1.dat` keeps its `#` (fio 3.33 would cut it to `/mnt/t/run`). Values expand `${VAR}` from the
/// environment and fio's keywords `$ncpus`, `$mb_memory` and `$pagesize`. Keys are fio option names;
/// any key writepath does not support is an error naming it and listing the supported ones, never ignored.
public enum FioJobFile {
    /// How a job section is scheduled and reported, as fio does: every job starts at once unless
    /// `stonewall` (alias `wait_for_previous`) makes it wait until the jobs before it have ended;
    /// a stonewall or `new_group` starts a new reporting group; `group_reporting` sums a group's
    /// jobs in the text output (the JSON keeps every job's own result).
    public struct Scheduling: Sendable, Equatable {
        public var stonewall = false
        public var newGroup = false
        public var groupReporting = false
        public init() {}

        /// Takes the scheduling keys (the table's `.scheduling` entries); false for every other key.
        mutating func set(_ key: String, _ value: String?, field: String) throws -> Bool {
            guard let property = Workload.option(named: key)?.scheduling else { return false }
            self[keyPath: property] = try Workload.boolean(value, field: field)
            return true
        }
    }

    /// A job section: its workload and how it is scheduled.
    public struct Job: Sendable {
        public var workload: Workload
        public var scheduling: Scheduling
        public init(workload: Workload, scheduling: Scheduling) {
            self.workload = workload
            self.scheduling = scheduling
        }
    }

    /// Parses job-file text into one `Workload` per job section, in file order (the sections'
    /// scheduling is dropped: see `parseJobs`).
    public static func parse(
        _ text: String, path: String, base: Workload = Workload(),
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws -> [Workload] {
        try parseJobs(text, path: path, base: base, environment: environment).map(\.workload)
    }

    /// Parses job-file text into its job sections, in file order.
    /// - Parameters:
    ///   - text: the file's contents.
    ///   - path: the file's name, used in error messages.
    ///   - base: options given on the command line, applied before the file's (fio applies the
    ///     command line first, then the file).
    ///   - environment: the variables `${VAR}` expands from.
    public static func parseJobs(
        _ text: String, path: String, base: Workload = Workload(),
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws -> [Job] {
        var global = base
        var globalScheduling = Scheduling()
        var jobs: [Job] = []
        var current: Job?
        var inGlobal = false
        var sawSection = false
        var lineNumber = 0
        var jobNames: Set<String> = []
        // Lines end in LF, CRLF or CR: a "\r\n" is one Character, so split on every newline.
        for rawLine in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline) {
            lineNumber += 1
            var line = String(rawLine).trimmingWhitespace()
            if line.isEmpty || line.hasPrefix(";") || line.hasPrefix("#") { continue }
            line = withoutTrailingComment(line)
            let at = "\(path):\(lineNumber)"
            line = try expand(line, environment: environment, at: at)
            if line.hasPrefix("[") {
                guard line.hasSuffix("]"), line.count > 2 else {
                    throw WritePathError.invalidInput(
                        field: at, message: "\(quoted(line)) is not a section header; expected [global] or [jobname]")
                }
                if let job = current { jobs.append(job) }
                let name = String(line.dropFirst().dropLast()).trimmingWhitespace()
                sawSection = true
                if name == "global" {
                    inGlobal = true
                    current = nil
                    guard jobs.isEmpty else {
                        throw WritePathError.invalidInput(field: at, message: "[global] after a job section is not supported; put it first")
                    }
                } else {
                    inGlobal = false
                    guard jobNames.insert(name).inserted else {
                        throw WritePathError.invalidInput(
                            field: at, message: "duplicate job section [\(clipped(name))]; give each job its own name")
                    }
                    var job = global
                    do { try job.set("name", name) } catch { throw prefixed(error, at) }
                    current = Job(workload: job, scheduling: globalScheduling)
                }
                continue
            }
            guard sawSection else {
                throw WritePathError.invalidInput(field: at, message: "option outside a section; start the file with [global] or [jobname]")
            }
            let key: String
            let value: String?
            if let eq = line.firstIndex(of: "=") {
                key = String(line[..<eq]).trimmingWhitespace()
                value = String(line[line.index(after: eq)...]).trimmingWhitespace()
                guard !key.isEmpty else {
                    throw WritePathError.invalidInput(
                        field: at, message: "\(quoted(line)) has no option name; expected key=value, e.g. bs=4k")
                }
            } else {
                key = line
                value = nil
            }
            do {
                if inGlobal {
                    if try !globalScheduling.set(key, value, field: key) { try global.set(key, value) }
                } else {
                    if try !current!.scheduling.set(key, value, field: key) { try current!.workload.set(key, value) }
                }
            } catch {
                throw prefixed(error, at)
            }
        }
        if let job = current { jobs.append(job) }
        guard !jobs.isEmpty else {
            throw WritePathError.invalidInput(field: path, message: "no job sections; add one, e.g. [randwrite-4k]")
        }
        return jobs
    }

    /// `line` without a comment that starts at a `;` or `#` after a blank.
    static func withoutTrailingComment(_ line: String) -> String {
        var previous: Character = " "
        for i in line.indices {
            let c = line[i]
            if (c == ";" || c == "#") && (previous == " " || previous == "\t") {
                return String(line[..<i]).trimmingWhitespace()
            }
            previous = c
        }
        return line
    }

    /// fio's keywords (init.c `fio_keywords`): the CPUs online, the memory in MiB, the page size.
    static let keywords: [(String, @Sendable () -> String)] = [
        ("$pagesize", { "\(sysconf(Int32(_SC_PAGESIZE)))" }),
        ("$mb_memory", { "\(UInt64(sysconf(Int32(_SC_PHYS_PAGES))) * UInt64(sysconf(Int32(_SC_PAGESIZE))) >> 20)" }),
        ("$ncpus", { "\(sysconf(Int32(_SC_NPROCESSORS_ONLN)))" }),
    ]

    /// Expands `${VAR}` from `environment` and fio's `$` keywords in one line. fio replaces an
    /// unset variable with nothing (options.c `option_dup_subs`), which turns `${DIR}/x.dat` into
    /// `/x.dat`; writepath refuses it instead, naming the variable.
    static func expand(_ line: String, environment: [String: String], at: String) throws -> String {
        var out = ""
        var rest = Substring(line)
        while let start = rest.range(of: "${") {
            out += rest[..<start.lowerBound]
            guard let close = rest[start.upperBound...].firstIndex(of: "}"), close > start.upperBound else {
                out += rest[start.lowerBound...]
                rest = ""
                break
            }
            let name = String(rest[start.upperBound..<close])
            guard let value = environment[name] else {
                throw WritePathError.invalidInput(
                    field: at,
                    message: "${\(clipped(name))} is not set in the environment; "
                        + "set it or write the value (fio would put nothing there)")
            }
            out += value
            rest = rest[rest.index(after: close)...]
        }
        out += rest
        for (keyword, value) in keywords where out.contains(keyword) {
            out = out.replacingOccurrences(of: keyword, with: value())
        }
        return out
    }

    private static func prefixed(_ error: Error, _ at: String) -> Error {
        if case let WritePathError.invalidInput(field, message) = error {
            return WritePathError.invalidInput(field: "\(field) (\(at))", message: message)
        }
        return error
    }
}
