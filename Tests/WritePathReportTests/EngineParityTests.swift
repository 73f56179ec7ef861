import Foundation
import Testing
import WritePathResult

@testable import WritePathEngine
@testable import WritePathReport

/// The report tells a layer's cost from an engine that took another path in that layer.
@Suite("Engine parity in reports")
struct EngineParityReportTests {
    static let hostFeatures = [
        "setup:single_issuer", "setup:defer_taskrun", "fixed_buffers", "registered_file",
        "registered_ring_fd", "iowq:punted", "iowq_colocated:cpu0(auto)",
    ]

    func runs(_ layer: String, engine: String = "io_uring", features: [String]) -> [RunResult] {
        Synthetic.runs(layer: layer, reps: 3, iops: 100_000, noise: 0.02, seed: 7).map {
            var r = $0
            r.engine = EngineInfo(name: engine, features: features)
            return r
        }
    }

    @Test("the same path (CPU number aside) is no finding; another setup, engine or registration is the engine's, punting the layer's")
    func findings() throws {
        var inline = Self.hostFeatures.filter { !$0.hasPrefix("iowq") }
        inline.append("iowq:inline")
        let noFixed = Self.hostFeatures.map { $0 == "fixed_buffers" ? "fixed_buffers:unavailable(ENOMEM)" : $0 }
            .map { $0.hasPrefix("iowq_colocated:") ? "iowq_colocated:cpu1(auto)" : $0 }
        let all =
            runs("host", features: Self.hostFeatures)
            + runs("docker-volume", features: Self.hostFeatures.map { $0.hasPrefix("iowq_colocated") ? "iowq_colocated:cpu1(auto)" : $0 })
            + runs("docker-overlay", features: inline)
            + runs("oci-runc", features: noFixed)
            + runs("gvisor", engine: "libaio", features: [])
        let a = Aggregation.aggregate(Synthetic.input(all))
        let f = EngineParity.findings(a.rows, baselineLayer: "host")
        #expect(!f.contains { $0.label.hasPrefix("docker-volume") }, "\(f)")
        let overlay = try #require(f.first { $0.label.hasPrefix("docker-overlay") })
        // Automatic colocation follows punting: without punting there is none, the layer's effect too.
        #expect(
            overlay.layerDifferences == [
                "iowq:inline (baseline iowq:punted)",
                "no iowq_colocated:(auto) (follows the io-wq finding)",
            ])
        #expect(overlay.engineDifferences.isEmpty)
        let runc = try #require(f.first { $0.label.hasPrefix("oci-runc") })
        #expect(runc.engineDifferences.contains("fixed_buffers:unavailable(ENOMEM) (not in the baseline)"))
        #expect(runc.engineDifferences.contains("no fixed_buffers (the baseline has it)"))
        #expect(runc.layerDifferences.isEmpty)
        let gvisor = try #require(f.first { $0.label.hasPrefix("gvisor") })
        #expect(gvisor.engineDifferences.first == "engine libaio (baseline io_uring)")
        // Each row whose engine took another path is a warning in every report.
        #expect(a.warnings.contains { $0.hasPrefix("oci-runc / rand4k: the engine took another path than in host") })
        #expect(!a.warnings.contains { $0.hasPrefix("docker-volume") })
        let page = HTMLReport.render(a)
        #expect(page.contains("<b>engine</b>: engine libaio (baseline io_uring)"))
        #expect(page.contains("<i>layer</i>: iowq:inline (baseline iowq:punted)"))
        #expect(page.contains("same path"))
    }
}
