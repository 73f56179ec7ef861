import WritePathEngine
import WritePathResult

/// The long format of a set of results: one row per run × direction (a run that writes and
/// reads, `randrw`, has two rows; a run with no metrics, failed or unavailable, has one with an
/// empty `direction`), every row saying where it came from and every layer setting and workload
/// option in its own column, for notebooks and dashboards that stack runs of many hosts and
/// days. `LongCSVFormat` (`results-long.csv`) and `JSONLinesFormat` (`results.jsonl`) write it.
///
/// Columns, in order (units: ns, bytes, bytes/s, seconds):
///
///     host, kernel, cpu, cores, memory_bytes          the host of the run (a fleet: its inventory name)
///     virtualization, hypervisor, virtualization_product   what the host runs on (none or vm; kvm, ...)
///     writepath_version, writepath_commit             the writepath that measured it
///     started_at                                      when the run started (UTC ISO 8601)
///     layer, layer_name                               the layer identity (matrix spec) and kind
///     workload, rep, status, direction                workload name ([fio] for engine fio); from 1; ok, failed, ...; write or read
///     engine, engine_features, hand_run               the engine and what it found; the --layer-label of a run made by hand
///     sweep_parameter, sweep_value, sweep_step, sweep_tenant    a sweep's step (empty otherwise)
///     ios, bytes, iops, bw_bytes_per_s, runtime_s, errors       the direction's counts
///     lat_min_ns, lat_mean_ns, lat_stddev_ns, lat_p50_ns, lat_p90_ns, lat_p99_ns, lat_p99_9_ns, lat_p99_99_ns, lat_max_ns
///     cpu_user_s, cpu_sys_s, cpu_ns_per_io           the run's CPU (both directions together)
///     error                                           why a run failed
///     layer.KEY ...                                   each layer setting (sorted by key; empty where a layer has none),
///                                                     but the write-path diagram (`write_path_diagram`, drawn by report.html)
///     workload.OPTION ...                             each workload option the option table stores, in its order
///
/// The `layer.` columns depend on the layers in the results; the others are always there.
public struct LongTable: Sendable {
    /// A cell: a number (its JSON text), text, or nothing.
    public enum Cell: Sendable, Equatable {
        case number(String)
        case text(String)
        case missing

        /// The cell as CSV shows it: the number's text, the text, or empty.
        public var plain: String {
            switch self {
            case let .number(n): n
            case let .text(t): t
            case .missing: ""
            }
        }
    }

    /// The column names, in order.
    public var columns: [String]
    /// The rows, each with one cell per column.
    public var rows: [[Cell]]

    /// The columns every table has, before the `layer.` and `workload.` ones.
    public static let fixedColumns =
        [
            "host", "kernel", "cpu", "cores", "memory_bytes", "virtualization", "hypervisor", "virtualization_product",
            "writepath_version", "writepath_commit", "started_at", "layer", "layer_name", "workload", "rep", "status", "direction",
            "engine", "engine_features", "hand_run", "sweep_parameter", "sweep_value", "sweep_step", "sweep_tenant",
            "ios", "bytes", "iops", "bw_bytes_per_s", "runtime_s", "errors",
        ] + CSVFormat.latencyFields.map { "lat_\($0)_ns" } + ["cpu_user_s", "cpu_sys_s", "cpu_ns_per_io", "error"]

    /// The workload options that get a column: those the option table stores, in its order.
    public static var workloadOptions: [WorkloadOption] { Workload.options.filter(\.isStored) }

    /// The long table of every run in `input`.
    public static func of(_ input: ResultInput) -> LongTable {
        // The write-path diagram is the layer's description, drawn by report.html, not a setting of the run.
        let settingKeys = Set(input.runs.flatMap { $0.layer.settings.keys }).subtracting([LayerWritePath.settingsKey]).sorted()
        let options = workloadOptions
        let columns = fixedColumns + settingKeys.map { "layer.\($0)" } + options.map { "workload.\($0.name)" }
        var rows: [[Cell]] = []
        for source in input.sources {
            let d = source.document
            for run in d.runs {
                let directions: [(String, DirectionResult?)] = [("write", run.write), ("read", run.read)].filter { $0.1 != nil }
                for (name, direction) in directions.isEmpty ? [("", nil)] : directions {
                    var row = provenance(source) + [text(run.started_at)]
                    row += [text(run.layerIdentity), text(run.layer.name), text(run.workload.identity), int(run.rep)]
                    row += [
                        text(run.status.description), text(name), text(run.engine.name), text(run.engine.features.joined(separator: " ")),
                    ]
                    row.append(text(run.hand_run?.label ?? ""))
                    let s = run.sweep
                    row += [text(s?.parameter ?? ""), s.map { int($0.value) } ?? .missing, s.map { int($0.step) } ?? .missing]
                    row.append(s.map { int($0.tenant) } ?? .missing)
                    row += metrics(direction)
                    row += [number(run.cpu.user_s), number(run.cpu.sys_s), number(run.cpu.cpu_ns_per_io), text(run.error ?? "")]
                    row += settingKeys.map { run.layer.settings[$0].map(Cell.text) ?? .missing }
                    row += options.map { o in o.value(in: run.workload).map(optionCell) ?? .missing }
                    rows.append(row)
                }
            }
        }
        return LongTable(columns: columns, rows: rows)
    }

    /// The host, writepath and machine columns of `source`'s runs.
    static func provenance(_ source: ResultInput.Source) -> [Cell] {
        let h = source.document.host
        let v = h.virtualization
        return [
            text(source.hostLabel), text(h.kernel), text(h.cpu), int(h.cores), int(h.memory_bytes), text(v?.kind ?? ""),
            text(v?.hypervisor ?? ""), text(v?.product ?? ""), text(source.document.writepath.version),
            text(source.document.writepath.git_commit),
        ]
    }

    /// The direction's counts and latency; empty cells for a run without it.
    static func metrics(_ d: DirectionResult?) -> [Cell] {
        guard let d else { return Array(repeating: .missing, count: 6 + CSVFormat.latencyFields.count) }
        let l = d.lat_ns
        return [
            int(d.ios), int(d.bytes), number(d.iops), number(d.bw_bytes_per_s), number(d.runtime_s), int(d.errors),
            int(l.min), number(l.mean), number(l.stddev), int(l.p50), int(l.p90), int(l.p99), int(l.p99_9), int(l.p99_99), int(l.max),
        ]
    }

    static func text(_ s: String) -> Cell { s.isEmpty ? .missing : .text(s) }
    static func int<I: BinaryInteger>(_ i: I) -> Cell { .number("\(i)") }
    /// Three decimals, as the other CSV files; nothing for NaN or infinity (JSON has neither).
    static func number(_ d: Double) -> Cell { d.isFinite ? .number(CSVFormat.num(d)) : .missing }

    /// A workload option's text: a number when it is one in JSON's grammar (`4096`, `10.0`),
    /// else text (`randwrite`, `zipf:1.2`).
    static func optionCell(_ s: String) -> Cell { isJSONNumber(s) ? .number(s) : .text(s) }

    /// Whether `s` is a number as JSON spells one: `-?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?`.
    static func isJSONNumber(_ s: String) -> Bool {
        var b = Array(s.utf8)[...]
        func digits() -> Int {
            let n = b.prefix { $0 >= 0x30 && $0 <= 0x39 }.count
            b = b.dropFirst(n)
            return n
        }
        if b.first == 0x2D { b = b.dropFirst() }
        if b.first == 0x30 { b = b.dropFirst() } else if digits() == 0 { return false }
        if b.first == 0x2E {
            b = b.dropFirst()
            if digits() == 0 { return false }
        }
        if b.first == 0x65 || b.first == 0x45 {
            b = b.dropFirst()
            if b.first == 0x2B || b.first == 0x2D { b = b.dropFirst() }
            if digits() == 0 { return false }
        }
        return b.isEmpty
    }
}
