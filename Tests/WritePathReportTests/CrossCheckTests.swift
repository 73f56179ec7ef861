import Foundation
import Testing
import WritePathResult

@testable import WritePathEngine
@testable import WritePathReport

/// The cross-check table sets writepath's and fio's layer ratios side by side with a verdict.
@Suite("Cross-check with fio in reports")
struct CrossCheckReportTests {
    /// `reps` runs of `layer` at `iops` (2% noise) with `engine`.
    func runs(_ layer: String, _ engine: WorkloadEngine, iops: Double, reps: Int = 4, seed: UInt64) -> [RunResult] {
        Synthetic.runs(layer: layer, reps: reps, iops: iops, noise: 0.02, seed: seed).map {
            var r = $0
            r.workload.engine = engine
            if engine == .fio { r.engine.name = "fio" }
            return r
        }
    }

    @Test("agree, disagree and too noisy to tell, with both engines' rows kept apart in the normal table")
    func verdicts() throws {
        let all =
            runs("host", .writepath, iops: 100_000, seed: 1) + runs("host", .fio, iops: 60_000, seed: 2)
            // Same cost for both engines: agree.
            + runs("docker-volume", .writepath, iops: 80_000, seed: 3) + runs("docker-volume", .fio, iops: 48_000, seed: 4)
            // writepath sees 0.5x, fio 0.9x: disagree.
            + runs("docker-overlay", .writepath, iops: 50_000, seed: 5) + runs("docker-overlay", .fio, iops: 54_000, seed: 6)
            // One fio repetition: no interval.
            + runs("oci-runc", .writepath, iops: 90_000, seed: 7) + runs("oci-runc", .fio, iops: 50_000, reps: 1, seed: 8)
        let a = Aggregation.aggregate(Synthetic.input(all))
        #expect(a.rows.count == 8)
        #expect(a.rows.filter { $0.workloadIdentity == "rand4k [fio]" }.count == 4)
        // Each engine's rows compare with that engine's baseline: fio's docker-volume is 0.8x, not 0.48x.
        let fioVolume = try #require(a.rows.first { $0.label == "docker-volume / rand4k [fio]" })
        #expect(abs((fioVolume.iopsRatio?.point ?? 0) - 0.8) < 0.05)
        let rows = CrossCheck.rows(a)
        #expect(rows.map(\.layer) == ["docker-volume", "docker-overlay", "oci-runc"])
        #expect(rows.map(\.verdict) == [.agree, .disagree, .tooNoisy])
        let text = TextReport.render(a)
        #expect(text.contains("cross-check"))
        let overlayLine = try #require(
            text.split(separator: "\n").first {
                $0.hasPrefix("docker-overlay / rand4k ") && $0.hasSuffix("disagree")
            })
        #expect(overlayLine.components(separatedBy: "x [").count == 3, "both ratios with intervals: \(overlayLine)")
        let overlay = rows[1]
        #expect(abs((overlay.writepath?.point ?? 0) - 0.5) < 0.03 && abs((overlay.fio?.point ?? 0) - 0.9) < 0.03, "\(overlay)")
        #expect(text.contains("too noisy to tell"))
        let html = HTMLReport.render(a)
        #expect(html.contains("<section id=\"crosscheck\">"))
        #expect(html.contains("<b>disagree</b>"))
        #expect(html.contains("href=\"#crosscheck\""))
    }

    @Test("without runs of both engines there is no cross-check table")
    func none() {
        let all = runs("host", .writepath, iops: 1000, seed: 1) + runs("oci-runc", .writepath, iops: 900, seed: 2)
        let a = Aggregation.aggregate(Synthetic.input(all))
        #expect(CrossCheck.rows(a).isEmpty)
        #expect(!TextReport.render(a).contains("cross-check"))
        #expect(!HTMLReport.render(a).contains("id=\"crosscheck\""))
    }
}
