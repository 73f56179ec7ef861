import Foundation
import Testing
import WritePathEngine
import WritePathResult

@Suite("Run status")
struct RunStatusTests {
    @Test("statuses keep their JSON spelling; one this version does not know reads back as spelled and is never ok")
    func spelling() throws {
        for text in ["ok", "failed", "unavailable", "interrupted", "skipped"] {
            let data = try JSONEncoder().encode([RunStatus(text)])
            #expect(String(decoding: data, as: UTF8.self) == "[\"\(text)\"]")
            #expect(try JSONDecoder().decode([RunStatus].self, from: data) == [RunStatus(text)])
        }
        #expect(RunStatus("ok") == .ok && RunStatus("interrupted") == .interrupted)
        #expect(RunStatus("skipped") == .unrecognized("skipped"))
        #expect(RunStatus("skipped") != .ok)

        var run = RunResult.failed(layer: LayerInfo(name: "host"), workload: Workload(), rep: 1, error: "x", startedAt: "t")
        run.status = RunStatus("skipped")
        let doc = ResultDocument(writepath: Provenance(version: "t", git_commit: "c", arguments: []), host: HostInfo.probe(), runs: [run])
        let text = try JSONFormat.render(doc)
        #expect(text.contains("\"skipped\""))
        let back = try JSONFormat.parse(Data(text.utf8), source: "t.json")
        #expect(back.runs[0].status == .unrecognized("skipped"))
        #expect(back.runs[0].error == "x")
        #expect(try JSONFormat.render(back) == text)
    }
}
