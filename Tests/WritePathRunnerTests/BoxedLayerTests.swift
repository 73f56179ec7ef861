import Foundation
import Testing
import WritePathEngine
import WritePathTestSupport

@testable import WritePathRunner

/// What every boxed layer shares (`EngineInBox`), the layers that are values of one type, the
/// write path each layer records, and the guests' scripts.
@Suite("Boxed layers: one driver, layers as values, recorded write paths")
struct BoxedLayerTests {
    @Test("every layer records a write path from the engine to the device that reads back as it was")
    func recordedWritePaths() throws {
        for kind in LayerRegistry.all {
            let layer = try kind([:])
            let settings = layer.recordedSettings()
            let path = try #require(LayerWritePath(settings: settings), "\(kind.name): \(settings[LayerWritePath.settingsKey] ?? "none")")
            #expect(path == layer.writePath(layer.describe()), "\(kind.name)")
            #expect(path.steps.first == LayerWritePath.application && path.steps.suffix(2) == LayerWritePath.host[...], "\(kind.name)")
            #expect((path.box == nil) == (kind.name == "host"), "\(kind.name): only the host has no box")
            #expect(path.steps.contains(where: \.boxed) == (path.box != nil), "\(kind.name)")
        }
    }

    @Test("the text form keeps details with parentheses and the box's extent")
    func textForm() throws {
        let path = LayerWritePath.boxed(
            "gVisor sandbox", [.init("Sentry", "user-space kernel (ptrace)"), .init("gofer", "host file I/O")],
            then: [.init("hypervisor", "QEMU (tcg)")])
        #expect(path.encoded.hasPrefix("application (writepath engine) → [gVisor sandbox: Sentry (user-space kernel (ptrace)) → gofer"))
        #expect(LayerWritePath(encoded: path.encoded) == path)
        // No detail, a box that never closes, a second box left open: no path.
        for bad in ["", "no detail", "[box: open (x)", "a (b) → [c: d (e)] → [f: g (h)"] {
            #expect(LayerWritePath(encoded: bad) == nil, "\(bad)")
        }
    }

    @Test("a QEMU disk model is one value: its layer, summary, parameters and checks come from it")
    func diskModelsAreValues() throws {
        let sharedFolders = SharedFolder.allCases.map(\.layerName)
        let qemu = LayerRegistry.all.filter { $0.name.hasPrefix("qemu-") && !sharedFolders.contains($0.name) }
        #expect(qemu.map(\.name) == DiskModel.all.map(\.layerName) + DriveBackend.served.map(\.layerName))
        for model in DiskModel.all {
            let layer = try LayerRegistry.make(LayerSpec(name: model.layerName))
            #expect(layer.describe()["device"] == model.name && layer.describe()["machine"] == model.machine)
            let iothread = LayerSpec(name: model.layerName, parameters: ["iothread": "true"])
            if model.supportsIOThread {
                #expect(try LayerRegistry.make(iothread).describe()["iothread"] == "on")
            } else {
                #expect(throws: WritePathError.self) { try LayerRegistry.make(iothread) }
            }
        }
        let blk = try #require(DiskModel.all.first { $0.name == "virtio-blk" })
        #expect(blk.deviceArguments(iothread: true) == ["-device", "virtio-blk-pci,drive=d0,iothread=io0"])
        #expect(blk.deviceArguments(iothread: false) == ["-device", "virtio-blk-pci,drive=d0"])
    }

    @Test("containers and guests take the write limits under the same names with the same checks")
    func writeLimitsOnce() throws {
        for name in ["docker-volume", "oci-runc", "lxc", "qemu-virtio-blk"] {
            let layer = try LayerRegistry.make(LayerSpec(name: name, parameters: ["write_iops_limit": "500", "write_bps_limit": "20m"]))
            #expect(layer.describe()["write_iops_limit"] == "500" && layer.describe()["write_bps_limit"] == "\(20 << 20)", "\(name)")
            for (key, value) in [("write_iops_limit", "0"), ("write_bps_limit", "0"), ("write_iops_limit", "many")] {
                #expect(throws: WritePathError.self, "\(name).\(key)=\(value)") {
                    try LayerRegistry.make(LayerSpec(name: name, parameters: [key: value]))
                }
            }
        }
    }

    @Test("the engine's command line: a file target in containers, the init's disk in guests")
    func engineCommands() {
        var w = Workload()
        w.filename = "/host/file"
        let container = EngineInBox.command(w, target: "/wp/target.dat")
        #expect(Array(container.prefix(2)) == ["/writepath", "run"] && container.contains("--filename=/wp/target.dat"))
        let guest = EngineInBox.guestCommand(w)
        #expect(guest.contains("--allow-destroy") && !guest.contains { $0.hasPrefix("--filename") })
        w.engine = .fio
        let fio = EngineInBox.guestCommand(w)
        #expect(fio.first == FioEngine.pathInContainer && !fio.contains { $0.hasPrefix("--filename") })
        #expect(fio.contains("--output-format=json"))
        var context = LayerContext(engineBinary: "/x", logDirectory: "/tmp", scratchDirectory: "/tmp", runID: "t", graceSeconds: 7)
        w.runtime = 2
        w.ramp_time = 1
        #expect(EngineInBox.deadline(w, context) == 10 && EngineInBox.deadline(w, context, startup: 90) == 100)
        context.graceSeconds = 0
        #expect(EngineInBox.deadline(w, context) == 3)
    }

    @Test("the guests' scripts are found beside the binary, as the build copies them")
    func scriptsBesideTheBinary() throws {
        for script in GuestProtocol.Script.allCases {
            let text = try script.text()
            #expect(text.hasPrefix("#!/bin/"), "\(script.rawValue)")
        }
    }

    @Test("the guests' scripts pass shellcheck", Precondition.shellcheck.trait)
    func shellcheck() throws {
        let paths = try GuestProtocol.Script.allCases.map { try #require($0.path, "\($0.rawValue)") }
        let r = try Command.run("shellcheck", paths, timeout: 120)
        #expect(r.succeeded, "\(r.stdout.prefix(2000))")
    }
}
