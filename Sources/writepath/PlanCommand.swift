import ArgumentParser
import Foundation
import WritePathEngine
import WritePathReport
import WritePathResult
import WritePathRunner

/// `writepath plan`: from sweep results and a demand, how many tenants one host of each layer
/// carries within the latency objective, how many hosts the demand needs, and which layer is cheapest.
struct PlanCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plan",
        abstract: "How many tenants a host of each layer carries within a latency objective, and how many hosts a demand needs.",
        discussion: """
            Reads the curves of `writepath sweep` results. Per layer: capacity = the highest sustained IOPS \
            whose percentile meets --slo (interpolated between steps); usable = capacity x (1 - headroom); \
            tenants per host = floor(usable / --iops-per-tenant); hosts = ceil(--tenants / tenants per host); \
            margin = 1 - (load of the busiest host / capacity). The cheapest layer needs the fewest hosts \
            (ties: lower latency at the planned load). Only sweeps measured with --bs are used.

            Sweeps from several hosts (a fleet folder, or sweep folders of different machines) are planned \
            per host kind: a host's kind is --host-kind HOST=KIND, else the inventory's writepath_host_kind \
            recorded in fleet.json, else its CPU model and kernel from its results. Each kind's curve of a \
            layer counts every one of its hosts' repetitions; one plan section per kind, then the tenants \
            per host of each layer on each kind.

            Exit codes: 0 planned, 2 invalid input.
            """)

    @Option(name: .customLong("sweeps"), parsing: .upToNextOption, help: "Sweep run folders or result files (writepath sweep --results).")
    var sweeps: [String] = []
    @Option(name: .customLong("tenants"), help: "Tenants to place.") var tenants: Int
    @Option(name: .customLong("iops-per-tenant"), help: "I/Os per second each tenant needs (k suffix: x1000).") var iopsPerTenant: String
    @Option(name: .customLong("bs"), help: "Bytes per I/O (k/m suffixes); sweeps with another block size are left out.")
    var bs: String = "4k"
    @Option(name: .customLong("slo"), help: "Latency objective, e.g. p99=2ms (default: the one the first sweep recorded).") var slo: String?
    @Option(name: .customLong("headroom"), help: "Share of each host's capacity kept spare: 20% or 0.2.") var headroom: String = "20%"
    @Option(name: .customLong("output-format"), help: "text or csv.") var outputFormat: String = "text"
    @Option(name: .customLong("html"), help: "Also write the report page with the curves and the plan to FILE.") var html: String?
    @Option(
        name: .customLong("host-kind"),
        help: "HOST=KIND: the kind of one host of the results (repeatable; default: fleet.json's, else CPU model and kernel).")
    var hostKinds: [String] = []

    func validate() throws {
        guard !sweeps.isEmpty else {
            throw ValidationError("invalid sweeps: give at least one sweep results folder, e.g. --sweeps results/<run id>")
        }
        guard (1...10_000_000).contains(tenants) else {
            throw ValidationError("invalid tenants: '\(tenants)'; expected a whole number from 1 to 10000000")
        }
        guard ["text", "csv"].contains(outputFormat) else {
            throw ValidationError("invalid output-format: '\(outputFormat)' is not supported; expected text or csv")
        }
        for k in hostKinds {
            let parts = k.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard parts.count == 2, !parts[0].isEmpty, !parts[1].trimmingCharacters(in: .whitespaces).isEmpty else {
                throw ValidationError("invalid host-kind: '\(k)'; expected HOST=KIND, e.g. rack1-a=gen2")
            }
        }
    }

    /// Each host's kind: fleet.json's (`writepath_host_kind` in the inventory) for fleet folders
    /// among `sweeps`, then `--host-kind`, which must name hosts of `input`.
    func kindLabels(_ input: ResultInput) throws -> [String: String] {
        var labels: [String: String] = [:]
        for path in sweeps {
            let base = path.count > 1 && path.hasSuffix("/") ? String(path.dropLast()) : path
            guard let data = FileManager.default.contents(atPath: "\(base)/fleet.json"),
                let record = try? JSONDecoder().decode(FleetRecord.self, from: data)
            else { continue }
            for h in record.hosts { if let kind = h.kind, !kind.isEmpty { labels[h.host] = kind } }
        }
        let hosts = input.sources.map(\.hostLabel)
        for k in hostKinds {
            let parts = k.split(separator: "=", maxSplits: 1).map(String.init)
            guard hosts.contains(parts[0]) else {
                var known: [String] = []
                for h in hosts where !known.contains(h) { known.append(h) }
                throw WritePathError.invalidInput(
                    field: "host-kind", message: "'\(parts[0])' is not a host of the results; their hosts: \(known.joined(separator: ", "))"
                )
            }
            labels[parts[0]] = parts[1].trimmingCharacters(in: .whitespaces)
        }
        return labels
    }

    /// `500`, `1.5k`: I/Os per second above 0.
    static func parseIOPS(_ text: String) throws -> Double {
        let t = text.lowercased()
        let (digits, scale) = t.hasSuffix("k") ? (String(t.dropLast()), 1000.0) : (t, 1.0)
        guard let v = Double(digits), v > 0, v.isFinite, v * scale <= 1e9 else {
            throw WritePathError.invalidInput(field: "iops-per-tenant", message: "'\(text)' is not a rate above 0, e.g. 500 or 1.5k")
        }
        return v * scale
    }

    /// `20%` or `0.2`: a share from 0 to below 1.
    static func parseHeadroom(_ text: String) throws -> Double {
        let percent = text.hasSuffix("%")
        guard let v = Double(percent ? String(text.dropLast()) : text) else {
            throw WritePathError.invalidInput(field: "headroom", message: "'\(text)' is not a share; expected e.g. 20% or 0.2")
        }
        let share = percent ? v / 100 : v
        guard share >= 0, share < 1 else {
            throw WritePathError.invalidInput(
                field: "headroom", message: "'\(text)' is not from 0% to below 100%; expected e.g. 20% or 0.2")
        }
        return share
    }

    func run() throws {
        if let html { try OutputFile.check(html, field: "html") }
        let perTenant = try Self.parseIOPS(iopsPerTenant)
        let share = try Self.parseHeadroom(headroom)
        let blockSize = try ByteSize.parse(bs, field: "bs")
        let given = try slo.map { try LatencyObjective.parse($0, field: "slo") }
        let input = try ResultInput.load(sweeps)
        guard input.runs.contains(where: { $0.sweep != nil }) else {
            throw WritePathError.invalidInput(field: sweeps[0], message: "holds no sweep runs; give folders that writepath sweep wrote")
        }
        guard let objective = given ?? CapacityAnalysis.recordedObjective(input) else {
            throw WritePathError.invalidInput(field: "slo", message: "no objective given or recorded; give e.g. --slo p99=2ms")
        }
        let demand = CapacityDemand(tenants: tenants, iopsPerTenant: perTenant, bs: blockSize, objective: objective, headroom: share)
        if let kinds = HostKindCapacity.analyze(input, objective: objective, labels: try kindLabels(input)) {
            return try planPerKind(kinds, input: input, demand: demand)
        }
        let analysis = CapacityAnalysis.analyze(input, objective: objective)
        let plan = CapacityPlanner.plan(analysis, demand: demand)
        guard !plan.rows.isEmpty else {
            throw WritePathError.invalidInput(
                field: "bs",
                message: "no sweep was measured with bs=\(ByteSize.format(blockSize)): \(plan.excluded.joined(separator: "; "))")
        }
        if let html {
            let aggregation = Aggregation.aggregate(input)
            try Output.writeFile(HTMLReport.render(aggregation, capacity: analysis, plan: plan), to: html, field: "html")
        }
        Output.stdout(outputFormat == "csv" ? CapacityCSV.plan(plan) : CapacityText.plan(plan))
        if let html, outputFormat == "text" { Output.stdout("report: \(html)\n") }
    }

    /// One plan per host kind (text or CSV); `--html` gets every kind's curves and plan rows, each
    /// labelled `KIND: layer`.
    func planPerKind(_ kinds: [HostKindCapacity], input: ResultInput, demand: CapacityDemand) throws {
        let plans = kinds.map { (kind: $0, plan: CapacityPlanner.plan($0.analysis, demand: demand)) }
        guard plans.contains(where: { !$0.plan.rows.isEmpty }) else {
            let excluded = plans.flatMap(\.plan.excluded)
            throw WritePathError.invalidInput(
                field: "bs", message: "no sweep was measured with bs=\(ByteSize.format(demand.bs)): \(excluded.joined(separator: "; "))")
        }
        if let html {
            let (analysis, plan) = HostKindCapacity.combined(plans)
            try Output.writeFile(
                HTMLReport.render(Aggregation.aggregate(input), capacity: analysis, plan: plan), to: html, field: "html")
        }
        Output.stdout(outputFormat == "csv" ? CapacityCSV.plans(plans) : CapacityText.plans(plans))
        if let html, outputFormat == "text" { Output.stdout("report: \(html)\n") }
    }
}
