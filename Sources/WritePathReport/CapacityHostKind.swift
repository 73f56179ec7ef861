import Foundation
import WritePathEngine
import WritePathResult

/// Sweep results of several hosts, grouped by host kind: hosts that are meant to be alike (one
/// generation, one kernel), so that `plan` says how many tenants each kind carries.
public struct HostKindCapacity: Sendable {
    /// The kind's name: a label given for its hosts (an inventory's `writepath_host_kind`, or
    /// `plan --host-kind`), else `CPU model, Linux kernel` from the hosts' own results.
    public var kind: String
    /// Whether `kind` was given (true) or made from the results' facts (false).
    public var labelled: Bool
    /// The kind's hosts, in first-seen order.
    public var hosts: [String]
    /// The kind's curves: per layer one curve over all of its hosts, each host's repetitions of a
    /// step counted as repetitions of the kind's step (median IOPS over them, percentiles from their
    /// merged histograms, as `SweepStep` does for one host).
    public var analysis: CapacityAnalysis

    /// Groups `input`'s sources by host kind and analyses each kind's curves; nil when the results
    /// come from one host (plan them as one). `labels` maps a host (`Source.hostLabel`) to its kind.
    public static func analyze(_ input: ResultInput, objective: LatencyObjective, labels: [String: String]) -> [HostKindCapacity]? {
        var hostOrder: [String] = []
        for s in input.sources where !hostOrder.contains(s.hostLabel) { hostOrder.append(s.hostLabel) }
        guard hostOrder.count > 1 else { return nil }
        var kinds: [(kind: String, labelled: Bool, hosts: [String])] = []
        for h in hostOrder {
            let facts = input.sources.first { $0.hostLabel == h }!.document.host
            let kind = labels[h] ?? factsKind(facts)
            if let i = kinds.firstIndex(where: { $0.kind == kind }) {
                kinds[i].hosts.append(h)
            } else {
                kinds.append((kind, labels[h] != nil, [h]))
            }
        }
        return kinds.map { k in
            let sources = input.sources.filter { k.hosts.contains($0.hostLabel) }
            var document = sources[0].document
            // Repetitions of different hosts must stay apart: host n's repetition r becomes n × 100000 + r.
            document.runs = sources.flatMap { s in
                let n = k.hosts.firstIndex(of: s.hostLabel)!
                return s.document.runs.map { r in
                    var run = r
                    run.rep += n * repetitionStride
                    return run
                }
            }
            let merged = ResultInput.Source(
                path: sources.map(\.path).joined(separator: " + "), document: document, host: k.kind)
            return HostKindCapacity(
                kind: k.kind, labelled: k.labelled, hosts: k.hosts,
                analysis: CapacityAnalysis.analyze(ResultInput(sources: [merged]), objective: objective))
        }
    }

    /// Every kind's curves and plan rows in one analysis and one plan (for the report page), each
    /// labelled `KIND: layer`; each kind's cheapest row stays marked.
    public static func combined(_ plans: [(kind: HostKindCapacity, plan: CapacityPlan)]) -> (CapacityAnalysis, CapacityPlan) {
        var entries: [CapacityAnalysis.Entry] = []
        var rows: [PlanRow] = []
        for (k, p) in plans {
            for var e in k.analysis.entries {
                e.label = "\(k.kind): \(e.label)"
                entries.append(e)
            }
            for var r in p.rows {
                r.entry.label = "\(k.kind): \(r.entry.label)"
                rows.append(r)
            }
        }
        let demand = plans[0].plan.demand
        return (
            CapacityAnalysis(objective: demand.objective, entries: entries),
            CapacityPlan(demand: demand, rows: rows, excluded: plans.flatMap(\.plan.excluded))
        )
    }

    /// Repetition numbers of the n-th host of a kind start at n × this.
    static let repetitionStride = 100_000

    /// `Intel(R) Xeon(R) Gold 6338, Linux 6.1.0-27-amd64`: the facts a host kind is made of when no
    /// label names it.
    public static func factsKind(_ h: HostInfo) -> String { "\(h.cpu.isEmpty ? "CPU unknown" : h.cpu), Linux \(h.kernel)" }
}

extension CapacityText {
    /// `writepath plan` over host kinds: one plan section per kind, then per layer the tenants
    /// one host of each kind carries and the kind that carries the most.
    public static func plans(_ plans: [(kind: HostKindCapacity, plan: CapacityPlan)]) -> String {
        var out = ""
        for (k, p) in plans {
            let from = k.labelled ? "labelled" : "from the hosts' CPU and kernel"
            out += "== host kind \(k.kind) (\(from)): \(k.hosts.count) host\(k.hosts.count == 1 ? "" : "s"), "
            out += "\(k.hosts.joined(separator: ", ")) ==\n"
            out += plan(p) + "\n"
        }
        var layers: [String] = []
        for (_, p) in plans { for r in p.rows where !layers.contains(r.entry.label) { layers.append(r.entry.label) } }
        guard plans.count > 1, !layers.isEmpty else { return out }
        out += "tenants per host by host kind:\n"
        for layer in layers {
            let cells = plans.compactMap { entry in
                entry.plan.rows.first { $0.entry.label == layer }.map { (kind: entry.kind.kind, row: $0) }
            }
            let best = cells.max { $0.row.tenantsPerHost < $1.row.tenantsPerHost }
            out += "  \(layer): " + cells.map { "\($0.kind) \($0.row.tenantsPerHost)" }.joined(separator: ", ")
            if let best, cells.count > 1, best.row.tenantsPerHost > 0 { out += " (most: \(best.kind))" }
            out += "\n"
        }
        return out
    }
}

extension CapacityCSV {
    /// `writepath plan --output-format csv` over host kinds: `planColumns` plus `host_kind` and
    /// `host_kind_hosts` (space-separated), one row per kind × layer.
    public static func plans(_ plans: [(kind: HostKindCapacity, plan: CapacityPlan)]) -> String {
        var out = (planColumns + ["host_kind", "host_kind_hosts"]).joined(separator: ",") + "\n"
        for (k, p) in plans {
            for r in p.rows {
                out += (planValues(r, p.demand) + [k.kind, k.hosts.joined(separator: " ")]).map(CSVFormat.escape).joined(separator: ",")
                out += "\n"
            }
        }
        return out
    }
}
