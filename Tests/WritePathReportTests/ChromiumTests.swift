import Foundation
import Testing
import WritePathTestSupport

@testable import WritePathEngine
@testable import WritePathReport

/// Renders a generated report.html in headless Chromium: the page must load without console
/// errors, its charts must be in the DOM with non-empty path data, and a screenshot is taken
/// (kept at /dev/shm/writepath-report-screenshot.png for a person to look at).
@Suite("report.html in a real browser", .serialized)
struct ChromiumTests {
    static let chromium = which("chromium") ?? which("chromium-browser") ?? which("google-chrome")

    static func flags(_ profile: String) -> [String] {
        ["--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run", "--user-data-dir=\(profile)", "--window-size=1280,2000"]
    }

    @Test("renders with its SVG charts and no console error", Precondition.chromium.trait)
    func render() throws {
        let dir = scratchFolder("chromium")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var runs = Synthetic.runs(layer: "host", reps: 3, iops: 60_000, noise: 0.03, seed: 1)
        runs += Synthetic.runs(
            layer: "docker-volume", reps: 3, iops: 52_000, noise: 0.03, seed: 2,
            settings: ["docker_version": "20.10", "storage_driver": "overlay2"])
        runs += Synthetic.runs(layer: "qemu-virtio-blk", reps: 3, iops: 30_000, noise: 0.05, seed: 3, settings: ["accel": "tcg"])
        runs += Synthetic.runs(layer: "host", workload: "seq128k", reps: 2, iops: 20_000, noise: 0.03, seed: 4)
        runs += Synthetic.runs(layer: "docker-volume", workload: "seq128k", reps: 2, iops: 18_000, noise: 0.03, seed: 5)
        for i in runs.indices where runs[i].workload.name == "seq128k" { runs[i].workload.bs = 128 << 10 }
        let page = HTMLReport.render(Aggregation.aggregate(Synthetic.input(runs)))
        let file = "\(dir)/report.html"
        try page.write(toFile: file, atomically: true, encoding: .utf8)

        let dom = try runProcess(
            Self.chromium!, Self.flags("\(dir)/profile") + ["--dump-dom", "--enable-logging=stderr", "--v=0", "file://\(file)"])
        #expect(dom.status == 0, "\(dom.stderr)")
        for marker in ["CONSOLE", "Uncaught", "Refused to"] {
            #expect(!dom.stderr.contains(marker), "console output: \(dom.stderr.split(separator: "\n").filter { $0.contains(marker) })")
        }
        // Charts and diagrams are images (role="img"); the small line keys beside layer names are not.
        let svgs = dom.stdout.components(separatedBy: "role=\"img\"").count - 1
        #expect(svgs == 2 * 3 + 3)  // three charts per workload, one diagram per layer
        #expect(dom.stdout.contains("What each write path costs"))
        let d = try Regex(#"<path[^>]*\sd="([^"]*)""#)
        let paths = dom.stdout.matches(of: d).map { String($0.output[1].substring ?? "") }
        #expect(paths.count > 40)
        #expect(paths.allSatisfy { !$0.isEmpty && !$0.contains("nan") && !$0.contains("inf") })

        let shot = "/dev/shm/writepath-report-screenshot.png"
        try? FileManager.default.removeItem(atPath: shot)
        let s = try runProcess(Self.chromium!, Self.flags("\(dir)/profile") + ["--screenshot=\(shot)", "file://\(file)"])
        #expect(s.status == 0)
        let size = (try? FileManager.default.attributesOfItem(atPath: shot)[.size] as? Int) ?? 0
        #expect(size > 50_000, "screenshot is \(size) bytes; an empty page is much smaller")

        // A phone's width: the page still renders (the tables scroll inside their boxes).
        let phone = "/dev/shm/writepath-report-screenshot-phone.png"
        try? FileManager.default.removeItem(atPath: phone)
        let p = try runProcess(
            Self.chromium!,
            Self.flags("\(dir)/profile").map { $0.hasPrefix("--window-size") ? "--window-size=390,1600" : $0 }
                + ["--screenshot=\(phone)", "file://\(file)"])
        #expect(p.status == 0)
        let phoneSize = (try? FileManager.default.attributesOfItem(atPath: phone)[.size] as? Int) ?? 0
        #expect(phoneSize > 20_000, "phone screenshot is \(phoneSize) bytes")
    }
}
