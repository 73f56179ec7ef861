import Foundation
import Testing

@testable import WritePathEngine
@testable import WritePathReport

/// The report's write-path diagrams are what each layer recorded, not guessed from its name.
@Suite("Write-path diagrams")
struct WritePathDiagramTests {
    @Test("the diagram draws the layer's recorded write path, whatever the layer is called")
    func recorded() {
        let path = LayerWritePath.boxed(
            "guest", [.init("guest kernel", "VFS · fs · block"), .init("virtual device", "nvme")],
            then: [.init("hypervisor", "QEMU (tcg)")])
        let (boxes, group) = HTMLReport.writePath(layerName: "podman-like-name", settings: [LayerWritePath.settingsKey: path.encoded])
        #expect(group == "guest")
        #expect(boxes.map(\.title) == ["application", "guest kernel", "virtual device", "hypervisor", "host kernel", "device"])
        #expect(boxes.map(\.group) == [false, true, true, false, false, false])
        #expect(boxes[3].detail == "QEMU (tcg)")
    }

    @Test("a run that recorded no write path is drawn as one box for its layer, not guessed from the name")
    func notRecorded() {
        let (boxes, group) = HTMLReport.writePath(layerName: "docker-tmpfs", settings: ["storage": "tmpfs mount"])
        #expect(boxes.map(\.title) == ["application", "docker-tmpfs", "host kernel", "device"])
        #expect(group == "layer (no write path recorded)")
    }
}
