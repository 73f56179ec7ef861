import Foundation
import Testing
import WritePathEngine
import WritePathResult
import WritePathTestSupport

@testable import WritePathRunner

/// `qemu-nvme` with `passthrough: true`: the guest writes its NVMe namespace's generic char
/// device with the io_uring_cmd engine. Each test boots a real TCG guest.
@Suite("NVMe passthrough in a QEMU guest", .serialized, Precondition.qemu.trait)
struct NVMePassthroughTests {
    @Test("passthrough=true writes /dev/ng0n1 with io_uring_cmd: NVMe commands, no block layer, all of it recorded")
    func passthrough() throws {
        let layer = try LayerRegistry.make(LayerSpec(name: "qemu-nvme", parameters: ["passthrough": "true", "boot_timeout": "300"]))
        let context = guestContext("nvme-passthrough")
        let result = try layer.run(shortWorkload(runtime: 2, iodepth: 8), rep: 1, context: context)
        #expect(result.status == .ok, "\(result.error ?? "")")
        #expect((result.write?.ios ?? 0) > 0)
        #expect(result.write?.errors == 0)
        #expect(result.engine.name == "io_uring_cmd")
        #expect(result.workload.ioengine == .io_uring_cmd, "the run records the engine that ran")
        #expect(result.target?.kind == "nvme_char_device")
        #expect(result.target?.path == "/dev/ng0n1")
        #expect(result.target?.logical_block_size == 512)
        #expect(result.target?.direct_io?.bypassed_page_cache == true)
        let features = result.engine.features
        for f in ["setup:sqe128", "setup:cqe32", "cmd_op:NVME_URING_CMD_IO", "fixed_buffers", "registered_file"] {
            #expect(features.contains(f), "\(features)")
        }
        #expect(features.contains { $0.hasPrefix("nvme:nsid=1,") }, "\(features)")
        let s = result.layer.settings
        #expect(s["passthrough"]?.hasPrefix("on") == true)
        #expect(s["write_path"]?.contains("no block layer") == true, "\(s["write_path"] ?? "")")
        #expect(s["engine_path"]?.contains("io_uring_cmd") == true && s["engine_path"]?.contains("ioengine=io_uring") == true)
        #expect(s[LayerWritePath.settingsKey]?.contains("no block layer") == true)
        #expect(qemuProcesses(using: context.scratchDirectory).isEmpty)
    }

    @Test("a write the emulated controller fails (EIO under it) comes back as an NVMe status: an error, never I/O")
    func deviceErrors() throws {
        let layer = try LayerRegistry.make(
            LayerSpec(name: "qemu-nvme", parameters: ["passthrough": "true", "inject_write_errors": "true", "boot_timeout": "300"]))
        let result = try layer.run(shortWorkload(runtime: 1), rep: 1, context: guestContext("nvme-passthrough-eio"))
        #expect(result.status == .failed)
        #expect(result.error?.contains("NVMe status") == true, "\(result.error ?? "")")
        #expect(result.write?.ios == 0)
        #expect((result.write?.errors ?? 0) > 0)
    }
}

@Suite("NVMe passthrough: what it refuses before a guest boots")
struct NVMePassthroughRefusalTests {
    /// The field of the `invalidInput` that `body` throws, else nil.
    func invalidField(_ body: () throws -> Void) -> String? {
        do { try body() } catch let WritePathError.invalidInput(field, _) { return field } catch { return "other: \(error)" }
        return nil
    }

    @Test("only qemu-nvme takes passthrough; an engine other than io_uring or an option io_uring_cmd lacks is invalid input")
    func refusals() throws {
        #expect(invalidField { _ = try LayerRegistry.make(LayerSpec(name: "qemu-virtio-blk", parameters: ["passthrough": "true"])) } != nil)
        #expect(invalidField { _ = try LayerRegistry.make(LayerSpec(name: "qemu-nvme", parameters: ["passthrough": "maybe"])) } != nil)
        let layer = try LayerRegistry.make(LayerSpec(name: "qemu-nvme", parameters: ["passthrough": "true"]))
        var libaio = shortWorkload()
        libaio.ioengine = .libaio
        #expect(invalidField { _ = try layer.run(libaio, rep: 1, context: guestContext("nvme-refused")) } == "qemu-nvme.passthrough")
        var verify = shortWorkload()
        verify.verify = .crc32c
        #expect(invalidField { _ = try layer.run(verify, rep: 1, context: guestContext("nvme-refused")) } == "qemu-nvme.passthrough")
        var sqpoll = shortWorkload()
        sqpoll.io_uring.sqthread_poll = true
        #expect(invalidField { _ = try layer.run(sqpoll, rep: 1, context: guestContext("nvme-refused")) } == "qemu-nvme.passthrough")
        let plain = try LayerRegistry.make(LayerSpec(name: "qemu-nvme"))
        var command = shortWorkload()
        command.ioengine = .io_uring_cmd
        #expect(invalidField { _ = try plain.run(command, rep: 1, context: guestContext("nvme-refused")) } == "qemu-nvme.passthrough")
        let virtio = try LayerRegistry.make(LayerSpec(name: "qemu-virtio-blk"))
        #expect(invalidField { _ = try virtio.run(command, rep: 1, context: guestContext("nvme-refused")) } == "ioengine")
        #expect(plain.describe()["passthrough"] == nil)
        #expect(layer.describe()["passthrough"]?.hasPrefix("on") == true)
        #expect(layer.writePath(layer.describe()).encoded.contains("no block layer"))
    }
}
