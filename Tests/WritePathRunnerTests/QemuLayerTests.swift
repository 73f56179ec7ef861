import Foundation
import Testing
import WritePathEngine
import WritePathResult
import WritePathTestSupport

@testable import WritePathRunner

#if canImport(Glibc)
    import Glibc
#endif

/// The engine for guests: a release build with the Swift runtime linked in statically keeps the
/// initramfs small (make test builds it and sets WRITEPATH_ENGINE); else the debug build.
let guestEngineBinary: String = {
    if let e = BuiltBinaries.environmentEngine { return e }
    let release = BuiltBinaries.packageBuild("release")
    if FileManager.default.isExecutableFile(atPath: release),
        let libs = try? EngineRootfs.sharedLibraries(of: release), !libs.contains(where: { $0.contains("libswiftCore") })
    {
        return release
    }
    return engineBinary
}()

func guestContext(_ name: String) -> LayerContext {
    var c = testContext(name)
    c.engineBinary = guestEngineBinary
    return c
}

/// QEMU processes started with a disk under `folder`.
func qemuProcesses(using folder: String) -> [String] {
    let r = try? Command.run("pgrep", ["-af", "qemu-system"], timeout: 10)
    return (r?.stdout ?? "").split(separator: "\n").map(String.init).filter { $0.contains(folder) }
}

@Suite("QEMU layers", .serialized, Precondition.qemu.trait)
struct QemuLayerTests {
    @Test("accel=kvm boots the guest under KVM and records it", Precondition.kvm.trait)
    func kvm() throws {
        let layer = try LayerRegistry.make(LayerSpec(name: "qemu-virtio-blk", parameters: ["accel": "kvm"]))
        let context = guestContext("qemu-kvm")
        let result = try layer.run(shortWorkload(runtime: 2, iodepth: 8), rep: 1, context: context)
        #expect(result.status == .ok, "\(result.error ?? "")")
        #expect(result.layer.settings["accel"] == "kvm")
        #expect(!result.warnings.contains { $0.contains("TCG") })
        #expect((result.write?.ios ?? 0) > 0)
    }

    @Test(
        "every disk model boots a guest that runs the workload and hands back a checked result",
        arguments: ["qemu-virtio-blk", "qemu-virtio-scsi", "qemu-nvme", "qemu-ahci", "qemu-ide"])
    func diskModels(layerName: String) throws {
        let layer = try LayerRegistry.make(LayerSpec(name: layerName))
        let context = guestContext(layerName)
        let result = try layer.run(shortWorkload(runtime: 2, iodepth: 8), rep: 1, context: context)
        #expect(result.status == .ok, "\(result.error ?? "")")
        #expect(result.layer.name == layerName)
        #expect((result.write?.ios ?? 0) > 0)
        #expect(result.target?.kind == "block_device")
        let s = result.layer.settings
        #expect(s["accel"] == "tcg" || s["accel"] == "kvm")
        #expect(s["accel_reason"] != nil)
        #expect(s["qemu_version"]?.first?.isNumber == true)
        #expect(Double(s["boot_s"] ?? "") != nil, "boot time recorded apart from the workload")
        #expect(s["cache"] == "none" && s["aio"] == "threads" && s["format"] == "raw")
        #expect(result.workload == shortWorkload(runtime: 2, iodepth: 8))
        if s["accel"] == "tcg" { #expect(result.warnings.contains { $0.contains("TCG") }) }
        #expect(FileManager.default.fileExists(atPath: "\(context.logDirectory)/console.log"))
        #expect(!FileManager.default.fileExists(atPath: "\(context.scratchDirectory)/qemu-\(context.runID)"))
        #expect(qemuProcesses(using: context.scratchDirectory).isEmpty)
    }

    @Test(
        "engine fio runs in a guest: fio from the guest image on the test disk, its JSON back over the serial channel",
        Precondition.fio.trait)
    func fioInGuest() throws {
        // A loaded machine boots a TCG guest slowly: the boot has its own deadline, apart from fio's.
        let layer = try LayerRegistry.make(LayerSpec(name: "qemu-virtio-blk", parameters: ["boot_timeout": "600"]))
        let context = guestContext("qemu-fio")
        let w = fioWorkload(runtime: 2)
        let result = try layer.run(w, rep: 1, context: context)
        try expectPlausibleFioRun(result, layer: "qemu-virtio-blk", workload: w)
        #expect(result.layer.settings["device"] == "virtio-blk" && Double(result.layer.settings["boot_s"] ?? "") != nil)
        #expect(result.layer.settings["engine"] == "fio")
        let command = try String(contentsOfFile: "\(context.logDirectory)/command.txt", encoding: .utf8)
        #expect(command.contains("wp.args="))
        #expect(!FileManager.default.fileExists(atPath: "\(context.scratchDirectory)/qemu-\(context.runID)"))
        #expect(qemuProcesses(using: context.scratchDirectory).isEmpty)
    }

    @Test("host backends, cache modes, qcow2 and an iothread are applied and recorded")
    func settings() throws {
        let layer = try LayerRegistry.make(
            LayerSpec(
                name: "qemu-virtio-blk",
                parameters: [
                    "aio": "io_uring", "cache": "writeback", "format": "qcow2", "iothread": "on", "vcpus": "1", "memory": "512m",
                ]))
        let context = guestContext("settings")
        let result = try layer.run(shortWorkload(runtime: 1, iodepth: 4), rep: 1, context: context)
        #expect(result.status == .ok, "\(result.error ?? "")")
        let s = result.layer.settings
        #expect(s["aio"] == "io_uring" && s["cache"] == "writeback" && s["format"] == "qcow2" && s["iothread"] == "on" && s["vcpus"] == "1")
        let command = try String(contentsOfFile: "\(context.logDirectory)/command.txt", encoding: .utf8)
        #expect(command.contains("cache=writeback,aio=io_uring"))
        #expect(command.contains("iothread=io0"))
        #expect(command.contains("format=qcow2"))
    }

    @Test("a guest that does not reach the workload is killed at its deadline and reported with its console")
    func deadline() throws {
        let layer = try LayerRegistry.make(LayerSpec(name: "qemu-virtio-blk", parameters: ["boot_timeout": "1"]))
        let context = guestContext("deadline")
        let start = monotonicNanoseconds()
        do {
            _ = try layer.run(shortWorkload(runtime: 1), rep: 1, context: context)
            Issue.record("a guest with a 1 s boot deadline was not stopped")
        } catch let e as WritePathError {
            #expect(e.description.contains("did not reach the workload within 1 s"), "\(e)")
            #expect(e.description.contains("last console lines"))
        }
        #expect(Double(monotonicNanoseconds() - start) / 1e9 < 20)
        #expect(qemuProcesses(using: context.scratchDirectory).isEmpty)
        #expect(!FileManager.default.fileExists(atPath: "\(context.scratchDirectory)/qemu-\(context.runID)"))
    }

    @Test("QEMU's write throttling caps the guest's IOPS at write_iops_limit")
    func throttled() throws {
        let layer = try LayerRegistry.make(LayerSpec(name: "qemu-virtio-blk", parameters: ["write_iops_limit": "300"]))
        let context = guestContext("throttled")
        var w = shortWorkload(runtime: 3, iodepth: 8)
        w.ramp_time = 0.5
        let result = try layer.run(w, rep: 1, context: context)
        #expect(result.status == .ok, "\(result.error ?? "")")
        let iops = try #require(result.write?.iops)
        // QEMU's leaky bucket lets a burst of a tenth of a second through; over 3 s that is within 10%
        // above. Below, a TCG guest on a busy host may fall short of the limit itself (265 seen here).
        #expect(iops > 240 && iops < 330, "IOPS \(iops) under a 300 IOPS limit")
        #expect(result.layer.settings["write_iops_limit"] == "300")
        let command = try String(contentsOfFile: "\(context.logDirectory)/command.txt", encoding: .utf8)
        #expect(command.contains("throttling.iops-write=300"))
    }

    @Test("settings that QEMU would refuse are invalid input")
    func badSettings() {
        for (layer, params) in [
            ("qemu-virtio-blk", ["aio": "native", "cache": "writeback"]),
            ("qemu-virtio-blk", ["write_iops_limit": "0"]), ("qemu-nvme", ["write_bps_limit": "0"]),
            ("qemu-ahci", ["write_iops_limit": "many"]),
            ("qemu-nvme", ["iothread": "on"]), ("qemu-ide", ["cache": "fast"]),
            ("qemu-ahci", ["memory": "16m"]), ("qemu-virtio-scsi", ["vcpus": "0"]),
        ] {
            #expect(throws: WritePathError.self) { try LayerRegistry.make(LayerSpec(name: layer, parameters: params)) }
        }
    }
}

@Suite("Guest result envelope")
struct GuestEnvelopeTests {
    func envelope(_ json: String) throws -> String {
        let data = Data(json.utf8)
        // A file per test (they run in parallel); gzip reads stdin so that no file name goes into the
        // gzip header, where the garbled-envelope test would flip a byte that nothing checks.
        let tmp = "/tmp/wp-env-\(getpid())-\(UUID().uuidString).json"
        try data.write(to: URL(fileURLWithPath: tmp))
        defer { unlink(tmp) }
        let b64 = try Command.run("/bin/sh", ["-c", "gzip -c < \(tmp) | base64"], timeout: 10).stdout
        let sum = try Command.run("sha256sum", [tmp], timeout: 10).stdout.split(separator: " ")[0]
        return "noise\nWRITEPATH-BOOTED 1.0\nWRITEPATH-RESULT-BEGIN rc=0 len=\(data.count) sha256=\(sum)\n\(b64)WRITEPATH-RESULT-END\n"
    }

    let document = """
        {"schema":"writepath.result/1","writepath":{"version":"t","git_commit":"t","arguments":[]},
         "host":{"hostname":"g","kernel":"6.1","kernel_version":"x","cpu":"c","cores":1,"memory_bytes":1},"runs":[]}
        """

    @Test("a whole envelope decodes")
    func whole() throws {
        let doc = try JSONFormat.parse(try GuestEnvelope.open(try envelope(document), host: "", consoleTail: "").output, source: "envelope")
        #expect(doc.host.hostname == "g")
    }

    @Test("a truncated or garbled envelope is an error, never a number")
    func damaged() throws {
        let good = try envelope(document)
        let lines = good.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let truncated = lines.filter { $0 != "WRITEPATH-RESULT-END" }.joined(separator: "\n")
        var garbled = lines
        if let i = garbled.firstIndex(where: { $0.hasPrefix("WRITEPATH-RESULT-BEGIN") }), i + 1 < garbled.count {
            var body = Array(garbled[i + 1])
            body[body.count / 2] = body[body.count / 2] == "A" ? "B" : "A"
            garbled[i + 1] = String(body)
        }
        let badLength = good.replacingOccurrences(of: "len=", with: "len=1")
        for text in [truncated, garbled.joined(separator: "\n"), badLength, "WRITEPATH-BOOTED 1\n", ""] {
            #expect(throws: WritePathError.self) { try GuestEnvelope.open(text, host: "", consoleTail: "") }
        }
    }
}

/// Faults and durability, in the same serialized suite: guests are not booted side by side.
extension QemuLayerTests {
    func flushWorkload() -> Workload {
        var w = shortWorkload(runtime: 2, iodepth: 1)
        w.fdatasync = 1
        return w
    }

    @Test("flushes reach the host file with cache=none and are shown dropped with cache=unsafe")
    func durability() throws {
        // aio=io_uring: QEMU's trace counts the flushes reaching the image file exactly, so
        // other tests' I/O on this machine cannot blur the count.
        let safe = try LayerRegistry.make(LayerSpec(name: "qemu-virtio-blk", parameters: ["aio": "io_uring"]))
            .run(flushWorkload(), rep: 1, context: guestContext("durable"))
        let d = try #require(safe.durability)
        #expect(d.verdict == "durable", "\(d.evidence)")
        // Every engine flush reaches the file; the guest's own final sync may add one or two.
        let arrived = d.host_file_flushes ?? 0
        #expect(arrived >= d.flushes_issued && arrived <= d.flushes_issued + 4, "\(arrived) for \(d.flushes_issued)")
        print("durability cache=none: \(d.evidence)")
        #expect(d.flushes_issued > 0)

        let unsafe = try LayerRegistry.make(LayerSpec(name: "qemu-virtio-blk", parameters: ["cache": "unsafe", "aio": "io_uring"]))
            .run(flushWorkload(), rep: 1, context: guestContext("unsafe"))
        let u = try #require(unsafe.durability)
        #expect(u.verdict == "not durable", "\(u.evidence)")
        print("durability cache=unsafe: \(u.evidence)")
        #expect(u.host_file_flushes == 0)
        #expect(u.flushes_issued > 0)
        #expect(unsafe.layer.settings["durability"] == "not durable")
    }

    @Test("write errors injected under the guest's disk (blkdebug) are reported, never counted as I/O")
    func injectedErrors() throws {
        let result = try LayerRegistry.make(LayerSpec(name: "qemu-virtio-blk", parameters: ["inject_write_errors": "true"]))
            .run(shortWorkload(runtime: 1), rep: 1, context: guestContext("blkdebug"))
        #expect(result.status == .failed)
        #expect(result.error?.contains("EIO") == true, "\(result.error ?? "")")
        #expect(result.write?.ios == 0)
        #expect((result.write?.errors ?? 0) > 0)
    }
}
