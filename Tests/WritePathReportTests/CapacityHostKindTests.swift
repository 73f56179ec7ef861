import Foundation
import Testing
import WritePathResult
import WritePathTestSupport

@testable import WritePathEngine
@testable import WritePathReport

/// `plan` over sweeps of several hosts: one curve and one plan per host kind.
@Suite("plan per host kind", .serialized)
struct CapacityHostKindTests {
    static let objective = LatencyObjective(percentile: 99, thresholdNs: 10_000_000)

    /// A host's iodepth sweep of `layer`: IOPS = min(1000 × iodepth, cap), latency by Little's law.
    static func source(_ name: String, cpu: String, cap: Double, layer: String = "host", seed: UInt64) -> ResultInput.Source {
        var info = Synthetic.host
        info.hostname = name
        info.cpu = cpu
        info.kernel = "6.1.0-27-amd64"
        var runs: [RunResult] = []
        for (i, depth) in [1, 2, 4, 8, 16, 32].enumerated() {
            let iops = min(1000 * Double(depth), cap)
            var r = Synthetic.run(
                layer: layer, workload: "w", rep: 1, iops: iops, latencyNs: Double(depth) / iops * 1e9, seed: seed + UInt64(i))
            r.sweep = SweepTag(
                parameter: "iodepth", value: depth, step: i + 1, tenant: 1, tenants: 1, offered: Double(depth), wall_start_s: 0,
                wall_end_s: 1)
            runs.append(r)
        }
        return ResultInput.Source(path: "\(name)/sweep/run.json", document: Synthetic.document(runs, host: info), host: name)
    }

    static let fleet = [
        source("gen1-a", cpu: "Xeon Gen1", cap: 3000, seed: 10),
        source("gen1-b", cpu: "Xeon Gen1", cap: 3200, seed: 20),
        source("gen2-a", cpu: "Xeon Gen2", cap: 8000, seed: 30),
    ]

    @Test("hosts with the same CPU and kernel are one kind; each host's runs of a step are repetitions of the kind's step")
    func kindsFromFacts() throws {
        let kinds = try #require(HostKindCapacity.analyze(ResultInput(sources: Self.fleet), objective: Self.objective, labels: [:]))
        #expect(kinds.map(\.kind) == ["Xeon Gen1, Linux 6.1.0-27-amd64", "Xeon Gen2, Linux 6.1.0-27-amd64"])
        #expect(kinds.map(\.hosts) == [["gen1-a", "gen1-b"], ["gen2-a"]] && kinds.allSatisfy { !$0.labelled })
        let gen1 = try #require(kinds[0].analysis.entries.first)
        #expect(kinds[0].analysis.entries.count == 1 && gen1.curve.points.count == 6)
        #expect(gen1.curve.points.allSatisfy { $0.repetitions == 2 }, "\(gen1.curve.points.map(\.repetitions))")
        // The kind's IOPS at a step is the median over its hosts', not their sum.
        #expect(abs(gen1.curve.points[3].iops - 3100) < 200, "\(gen1.curve.points[3].iops)")
        let demand = CapacityDemand(tenants: 100, iopsPerTenant: 500, bs: 4096, objective: Self.objective, headroom: 0.2)
        let plans = kinds.map { (kind: $0, plan: CapacityPlanner.plan($0.analysis, demand: demand)) }
        let per = plans.map { $0.plan.rows[0].tenantsPerHost }
        #expect(per[1] > per[0], "gen2 carries more tenants per host: \(per)")
        let text = CapacityText.plans(plans)
        #expect(text.contains("== host kind Xeon Gen1, Linux 6.1.0-27-amd64 (from the hosts' CPU and kernel): 2 hosts, gen1-a, gen1-b =="))
        #expect(text.contains("tenants per host by host kind:\n  host: Xeon Gen1, Linux 6.1.0-27-amd64 \(per[0]), "))
        #expect(text.contains("(most: Xeon Gen2, Linux 6.1.0-27-amd64)"))
        let lines = CapacityCSV.plans(plans).split(separator: "\n")
        #expect(lines.count == 3 && lines[0].hasSuffix(",note,source,host_kind,host_kind_hosts"))
        // The kind has a comma: quoted, as every CSV cell that needs it.
        #expect(lines[1].hasSuffix(",\"Xeon Gen1, Linux 6.1.0-27-amd64\",gen1-a gen1-b"), "\(lines[1])")
    }

    @Test("labels make the kinds; one host is no host kind")
    func labelsAndOneHost() throws {
        let kinds = try #require(
            HostKindCapacity.analyze(
                ResultInput(sources: Self.fleet), objective: Self.objective, labels: ["gen1-a": "rack-a", "gen1-b": "rack-b"]))
        #expect(kinds.map(\.kind) == ["rack-a", "rack-b", "Xeon Gen2, Linux 6.1.0-27-amd64"])
        #expect(kinds.map(\.labelled) == [true, true, false])
        #expect(HostKindCapacity.analyze(ResultInput(sources: [Self.fleet[0]]), objective: Self.objective, labels: [:]) == nil)
    }

    /// A fleet folder of sweep run folders, its fleet.json giving gen1-a and gen1-b the kind gen1.
    static func writeFleet(_ dir: String) throws {
        let hosts = Self.fleet.map { s in
            let kind = s.hostLabel.hasPrefix("gen1") ? ", \"kind\": \"gen1\"" : ""
            return "{\"host\": \"\(s.hostLabel)\", \"status\": \"ok\", \"attempts\": 1\(kind)}"
        }
        try """
        {"schema": "writepath.fleet/1", "fleet_id": "f", "inventory": "hosts.ini", "forks": 5, "started_at": "2026-12-03T00:00:00Z",
         "complete": true, "hosts": [\(hosts.joined(separator: ", "))]}
        """.write(toFile: "\(dir)/fleet.json", atomically: true, encoding: .utf8)
        for s in Self.fleet {
            try FileManager.default.createDirectory(atPath: "\(dir)/\(s.hostLabel)/sweep", withIntermediateDirectories: true)
            try JSONFormat.render(s.document).write(toFile: "\(dir)/\(s.hostLabel)/sweep/run.json", atomically: true, encoding: .utf8)
        }
    }

    @Test("writepath plan on a fleet folder: the inventory's kinds from fleet.json, one section per kind, CSV and HTML")
    func commandLine() throws {
        let dir = scratchFolder("plan-kinds")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Self.writeFleet(dir)
        let common = ["plan", "--sweeps", dir, "--tenants", "100", "--iops-per-tenant", "500", "--slo", "p99=10ms"]
        var o = try runProcess(writepathBinary, common + ["--html", "\(dir)/plan.html"])
        #expect(o.status == 0, "\(o.stderr)")
        #expect(o.stdout.contains("== host kind gen1 (labelled): 2 hosts, gen1-a, gen1-b =="), "\(o.stdout)")
        #expect(o.stdout.contains("== host kind Xeon Gen2, Linux 6.1.0-27-amd64 (from the hosts' CPU and kernel): 1 host, gen2-a =="))
        let html = try String(contentsOfFile: "\(dir)/plan.html", encoding: .utf8)
        #expect(html.contains("gen1: host") && html.contains("id=\"capacity\""))
        o = try runProcess(writepathBinary, common + ["--host-kind", "gen2-a=gen2", "--output-format", "csv"])
        #expect(o.status == 0 && o.stdout.contains(",gen2,gen2-a\n"), "\(o.stdout) \(o.stderr)")
        o = try runProcess(writepathBinary, common + ["--host-kind", "nosuch=gen3"])
        #expect(o.status == 2 && o.stderr.contains("invalid host-kind: 'nosuch' is not a host of the results"), "\(o.stderr)")
        o = try runProcess(writepathBinary, common + ["--host-kind", "gen2-a"])
        #expect(o.status == 2 && o.stderr.contains("expected HOST=KIND"), "\(o.stderr)")
    }
}
