import Foundation
import Testing
import WritePathEngine
import WritePathTestSupport

@testable import WritePathRunner

/// How long a box takes to start and to go away is measured for every container layer.
@Suite("Start-up and teardown times", .serialized)
struct StartupTimeTests {
    @Test(
        "a docker-volume run records startup_s and teardown_s, within the run's wall time",
        Precondition.docker.trait)
    func docker() throws {
        var w = shortWorkload(runtime: 1, iodepth: 1)
        w.size = 1 << 20
        let context = testContext("startup")
        let begin = Date()
        let r = try LayerRegistry.make(LayerSpec(name: "docker-volume")).runTimed(w, rep: 1, context: context)
        let wall = Date().timeIntervalSince(begin)
        #expect(r.status == .ok, "\(r.error ?? "")")
        let up = try #require(r.layer.settings["startup_s"].flatMap(Double.init), "\(r.layer.settings)")
        let down = try #require(r.layer.settings["teardown_s"].flatMap(Double.init))
        // A container takes some time to start, and start-up plus the run plus teardown fit the wall time.
        #expect(up > 0.01 && down >= 0)
        #expect(up + 1 + down <= wall + 0.05, "startup \(up) + run + teardown \(down) > wall \(wall)")
    }

    @Test("the host layer's start-up is small: no box to start")
    func host() throws {
        var w = shortWorkload(runtime: 1, iodepth: 1)
        w.size = 1 << 20
        let r = try LayerRegistry.make(LayerSpec(name: "host")).runTimed(w, rep: 1, context: testContext("startuphost"))
        #expect(r.status == .ok, "\(r.error ?? "")")
        let up = try #require(r.layer.settings["startup_s"].flatMap(Double.init), "\(r.layer.settings)")
        #expect(up < 5)
    }
}
