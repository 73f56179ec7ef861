import Foundation
import Testing
import WritePathResult

@testable import WritePathEngine
@testable import WritePathReport

@Suite("Start-up times in reports")
struct StartupTimesReportTests {
    @Test("median [min, max] per layer in the text and the HTML; boot for guests; not a layer setting")
    func table() {
        func tagged(_ layer: String, _ key: String, _ values: [String]) -> [RunResult] {
            Synthetic.runs(layer: layer, reps: values.count, iops: 1e5, noise: 0.02, seed: 3).enumerated().map { i, r in
                var r = r
                r.layer.settings[key] = values[i]
                if key == "startup_s" { r.layer.settings["teardown_s"] = "0.1" }
                return r
            }
        }
        let runs =
            tagged("host", "startup_s", ["0.010", "0.020", "0.030"])
            + tagged("docker-volume", "startup_s", ["0.400", "0.600", "0.500"])
            + tagged("qemu-virtio-blk", "boot_s", ["30.0", "32.0", "31.0"])
        let a = Aggregation.aggregate(Synthetic.input(runs))
        let rows = StartupTimes.rows(a)
        #expect(rows.map(\.layer) == ["host", "docker-volume", "qemu-virtio-blk"])
        #expect(StartupTimes.summary(rows[1].startup) == "0.500 s [0.400, 0.600] (n=3)")
        let text = TextReport.render(a)
        #expect(text.contains("docker-volume: start-up 0.500 s [0.400, 0.600] (n=3), teardown 0.100 s"))
        #expect(text.contains("qemu-virtio-blk: boot 31.000 s"))
        #expect(HTMLReport.render(a).contains("<caption>Start-up and teardown per layer</caption>"))
        #expect(a.rows.allSatisfy { $0.settings["startup_s"] == nil && $0.settings["boot_s"] == nil })
    }
}
