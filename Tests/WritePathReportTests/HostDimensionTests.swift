import Foundation
import Testing

@testable import WritePathEngine
@testable import WritePathReport
@testable import WritePathResult

/// Results from several hosts (a fleet folder, or run folders of different machines): the host is
/// a dimension of the report.
@Suite("The host as a report dimension")
struct HostDimensionTests {
    /// Host `name` whose host layer runs at `hostIOPS` and whose docker-volume layer at `volumeIOPS`.
    static func source(_ name: String, hostIOPS: Double, volumeIOPS: Double, label: String? = nil) -> ResultInput.Source {
        var info = Synthetic.host
        info.hostname = name
        info.kernel = "6.1.0-\(name)"
        let runs =
            Synthetic.runs(layer: "host", reps: 5, iops: hostIOPS, noise: 0.02, seed: 1)
            + Synthetic.runs(layer: "docker-volume", reps: 5, iops: volumeIOPS, noise: 0.02, seed: 2)
        return ResultInput.Source(path: "\(name).json", document: Synthetic.document(runs, host: info), host: label)
    }

    @Test("rows per host, each layer compared with its own host's baseline, host facts in report.csv")
    func rowsPerHost() throws {
        let input = ResultInput(sources: [
            Self.source("gen1", hostIOPS: 10_000, volumeIOPS: 9_000),
            Self.source("gen2", hostIOPS: 20_000, volumeIOPS: 10_000),
        ])
        let a = Aggregation.aggregate(input)
        #expect(
            a.rows.map(\.label) == [
                "gen1: host / rand4k", "gen1: docker-volume / rand4k", "gen2: host / rand4k",
                "gen2: docker-volume / rand4k",
            ])
        // Against its own host: 0.9 on gen1, 0.5 on gen2 (merged across hosts it would be neither).
        let r1 = try #require(a.rows[1].iopsRatio?.point), r2 = try #require(a.rows[3].iopsRatio?.point)
        #expect(abs(r1 - 0.9) < 0.05 && abs(r2 - 0.5) < 0.05, "\(r1) \(r2)")
        let csv = CSVReport.render(a).split(separator: "\n").map {
            $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        }
        let host = try #require(csv[0].firstIndex(of: "host")), kernel = try #require(csv[0].firstIndex(of: "host_kernel"))
        #expect(csv.dropFirst().map { $0[host] } == ["gen1", "gen1", "gen2", "gen2"])
        #expect(csv.dropFirst().map { $0[kernel] } == ["6.1.0-gen1", "6.1.0-gen1", "6.1.0-gen2", "6.1.0-gen2"])
        let spread = HostSpread.rows(a)
        #expect(spread.map(\.layer) == ["host", "docker-volume"])
        #expect(abs((spread[0].spread ?? 0) - 2) < 0.1 && abs((spread[1].spread ?? 0) - 10_000.0 / 9_000) < 0.05)
        #expect(TextReport.render(a).contains("across hosts"))
    }

    @Test("one host: no host dimension; the CSV's host and host_kernel say the results' host, the other host columns empty")
    func oneHost() {
        let a = Aggregation.aggregate(ResultInput(sources: [Self.source("solo", hostIOPS: 10_000, volumeIOPS: 9_000)]))
        #expect(a.rows.allSatisfy { $0.host == nil })
        #expect(HostSpread.rows(a).isEmpty && !TextReport.render(a).contains("across hosts"))
        let line = CSVReport.render(a).split(separator: "\n")[1]
        let cells = line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        let header = CSVReport.columns
        let cell = { (name: String) in cells[header.firstIndex(of: name)!] }
        #expect(cells.count == header.count)
        #expect(cell("host") == "solo" && cell("host_kernel") == "6.1.0-solo", "\(line)")
        #expect(cell("host_cpu") == "" && cell("host_virtualization") == "", "\(line)")
    }

    @Test("a fleet folder's hosts are its folder names, even when the machines share a host name")
    func fleetFolderLabels() throws {
        let dir = scratchFolder("fleet-folder")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Data("{}".utf8).write(to: URL(fileURLWithPath: "\(dir)/fleet.json"))
        for name in ["rack1-a", "rack1-b"] {
            try FileManager.default.createDirectory(atPath: "\(dir)/\(name)/20261203T000000Z-same", withIntermediateDirectories: true)
            let doc = Self.source("same", hostIOPS: 10_000, volumeIOPS: 9_000).document
            try JSONFormat.render(doc).write(toFile: "\(dir)/\(name)/20261203T000000Z-same/run.json", atomically: true, encoding: .utf8)
        }
        let input = try ResultInput.load([dir])
        #expect(input.sources.map(\.hostLabel) == ["rack1-a", "rack1-b"])
        #expect(Set(Aggregation.aggregate(input).rows.compactMap(\.host)) == ["rack1-a", "rack1-b"])
    }
}
