import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

@Suite("writepath sweep and plan on the command line", .serialized)
struct CapacityCLITests {
    @Test(
        "bad input exits 2 with one line naming the field",
        arguments: [
            (["sweep", "--slo", "p99=2"], "slo"),
            (["sweep", "--slo", "q99=2ms"], "slo"),
            (["sweep", "--slo", "p100=2ms"], "slo"),
            (["sweep", "--sweep", "qd=1,2"], "sweep"),
            (["sweep", "--sweep", "iodepth=8,4"], "sweep"),
            (["sweep", "--sweep", "iodepth=1:step=1:max=1000"], "sweep"),
            (["sweep", "--sweep", "rate_iops=1000:max=500"], "sweep"),
            (["sweep", "--layer", "hots"], "layer"),
            (["sweep", "--layer", "docker-volume:colour=blue"], "docker-volume.colour"),
            (["sweep", "--iodepth", "8"], "iodepth"),
            (["sweep", "--filename", "/dev/shm/x"], "filename"),
            (["sweep", "--tenants", "0"], "tenants"),
            (["sweep", "--output-format", "xml"], "output-format"),
            (["plan", "--tenants", "10", "--iops-per-tenant", "100"], "sweeps"),
            (["plan", "--sweeps", "/nonexistent/sweep", "--tenants", "10", "--iops-per-tenant", "100"], "/nonexistent/sweep"),
            (["plan", "--sweeps", "/nonexistent/sweep", "--tenants", "10", "--iops-per-tenant", "abc"], "iops-per-tenant"),
            (["plan", "--sweeps", "/nonexistent/sweep", "--tenants", "10", "--iops-per-tenant", "100", "--headroom", "150%"], "headroom"),
            (["plan", "--sweeps", "/nonexistent/sweep", "--tenants", "10", "--iops-per-tenant", "100", "--slo", "p99"], "slo"),
        ])
    func badInput(arguments: [String], field: String) throws {
        let r = try writepath(arguments + ["--results", "/dev/shm/writepath-cli-never"].filter { _ in arguments[0] == "sweep" })
        #expect(r.status == 2, "\(arguments): exit \(r.status), stderr: \(r.stderr)")
        let lines = r.stderr.split(separator: "\n")
        #expect(lines.count == 1, "\(arguments): \(r.stderr)")
        #expect(r.stderr.contains(field), "\(arguments): \(r.stderr)")
        #expect(r.stdout.isEmpty)
        #expect(!FileManager.default.fileExists(atPath: "/dev/shm/writepath-cli-never"), "invalid input must not start a run folder")
    }

    @Test("sweep, then plan (text, CSV, HTML) and report on its folder")
    func sweepAndPlan() throws {
        let dir = scratch("sweep-plan")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let s = try writepath([
            "sweep", "--layer", "host", "--sweep", "iodepth=1,2", "--runtime", "1", "--size", "8m", "--slo", "p99=1s",
            "--results", "\(dir)/results", "--scratch", "\(dir)/scratch", "--quiet",
        ])
        #expect(s.status == 0, "\(s.stderr)")
        #expect(s.stdout.contains("host: iodepth sweep of job (rw=randwrite bs=4KiB)"), "\(s.stdout)")
        #expect(s.stdout.contains("SLO p99 <= 1 s: "))
        #expect(s.stdout.contains("knee: "))
        let runs = try FileManager.default.contentsOfDirectory(atPath: "\(dir)/results")
        #expect(runs.count == 1)
        let folder = "\(dir)/results/\(runs[0])"
        #expect(FileManager.default.fileExists(atPath: "\(folder)/run.json"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: "\(folder)/runs").count == 2)

        let p = try writepath([
            "plan", "--sweeps", folder, "--tenants", "10", "--iops-per-tenant", "100", "--bs", "4k", "--html", "\(dir)/plan.html",
        ])
        #expect(p.status == 0, "\(p.stderr)")
        #expect(p.stdout.contains("demand: 10 tenants x 100 IOPS of 4KiB"), "\(p.stdout)")
        #expect(p.stdout.contains("objective p99 <= 1 s, headroom 20%"), "the recorded objective is the default: \(p.stdout)")
        #expect(p.stdout.contains("cheapest: host: "), "\(p.stdout)")
        let html = try String(contentsOfFile: "\(dir)/plan.html", encoding: .utf8)
        #expect(html.contains("id=\"capacity\"") && html.contains("<svg") && html.contains("(cheapest)"))

        let csv = try writepath([
            "plan", "--sweeps", folder, "--tenants", "10", "--iops-per-tenant", "100", "--slo", "p99.9=2s", "--output-format", "csv",
        ])
        #expect(csv.status == 0, "\(csv.stderr)")
        let lines = csv.stdout.split(separator: "\n")
        #expect(lines.count == 2 && lines[0].hasPrefix("layer,label,layer_name,tenants_measured,"))
        #expect(lines[1].contains(",p99.9=2s,99.9") && lines[1].hasPrefix("host,host,host,1,iodepth,randwrite,4096,"), "\(lines)")

        let wrong = try writepath(["plan", "--sweeps", folder, "--tenants", "10", "--iops-per-tenant", "100", "--bs", "8k"])
        #expect(wrong.status == 2 && wrong.stderr.contains("invalid bs: no sweep was measured with bs=8KiB"), "\(wrong.stderr)")

        let r = try writepath(["report", folder])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("capacity (objective p99 <= 1 s):"), "\(r.stdout)")
        #expect(FileManager.default.fileExists(atPath: "\(folder)/capacity.csv"))
        let page = try String(contentsOfFile: "\(folder)/report.html", encoding: .utf8)
        #expect(page.contains("id=\"capacity\"") && !page.contains("id=\"summary\""))
    }
}
