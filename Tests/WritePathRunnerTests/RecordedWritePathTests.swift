import Foundation
import Testing
import WritePathEngine
import WritePathResult

@testable import WritePathRunner

/// Results from before layers recorded their write path get the registry layer's own.
@Suite struct RecordedWritePathTests {
    static func run(_ layer: String, settings: [String: String]) -> RunResult {
        RunResult.failed(
            layer: LayerInfo(name: layer, settings: settings), workload: Workload(), rep: 1,
            error: "old result", startedAt: "2026-11-26T12:00:00Z")
    }

    @Test("an old docker-volume run gets its path; a recorded path, an unknown layer and a hand-run stay as they are")
    func fills() throws {
        var recorded = Self.run("host", settings: [LayerWritePath.settingsKey: "as recorded"])
        recorded.layer.settings["kind"] = "bare-metal-or-vm-host"
        var hand = Self.run("k8s-pod", settings: [:])
        hand.hand_run = HandRun(label: "k8s-pod", host: HostInfo.probe())
        let runs = [
            Self.run("docker-volume", settings: ["storage": "named volume (local driver)"]), recorded,
            Self.run("fio-host", settings: ["source": "fio"]), hand,
        ]
        let document = ResultDocument(
            writepath: Provenance(version: "t", git_commit: "t", arguments: []),
            host: HostInfo.probe(), runs: runs)
        var input = ResultInput(sources: [ResultInput.Source(path: "old.json", document: document)])
        #expect(LayerRegistry.fillWritePaths(&input) == 1)
        let out = input.runs.map { $0.layer.settings[LayerWritePath.settingsKey] }
        #expect(out[0]?.contains("mount (named volume)") == true, "\(out[0] ?? "nil")")
        #expect(out[1] == "as recorded")
        #expect(out[2] == nil)
        #expect(out[3] == nil)
    }
}
