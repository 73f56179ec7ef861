import Foundation
import Testing
import WritePathEngine
import WritePathResult
import WritePathTestSupport

@testable import WritePathRunner

/// virtiofsd processes serving a folder under `folder`.
func virtiofsdProcesses(using folder: String) -> [String] {
    let r = try? Command.run("pgrep", ["-af", "virtiofsd"], timeout: 10)
    return (r?.stdout ?? "").split(separator: "\n").map(String.init).filter { $0.contains(folder) }
}

@Suite("Shared-folder layers")
struct SharedFolderLayerTests {
    @Test("qemu-virtiofs and qemu-9p are layers with their own parameters, settings and write path")
    func registered() throws {
        let names = LayerRegistry.all.map(\.name)
        #expect(names.contains("qemu-virtiofs") && names.contains("qemu-9p"))
        let virtiofs = try LayerRegistry.make(LayerSpec(name: "qemu-virtiofs"))
        let s = virtiofs.describe()
        #expect(s["cache"] == "auto" && s["allow_direct_io"] == "off" && s["shared_folder"] == "virtiofs")
        let path = virtiofs.writePath(s).encoded
        #expect(path.contains("[guest: guest kernel (VFS · virtiofs (FUSE)) → transport (virtio-fs queue · shared memory)]"), "\(path)")
        #expect(path.contains("virtiofsd (cache=auto · no_allow_direct_io)"), "\(path)")
        #expect(LayerWritePath(encoded: path) != nil)

        let ninep = try LayerRegistry.make(LayerSpec(name: "qemu-9p", parameters: ["security_model": "passthrough", "cache": "loose"]))
        let n = ninep.describe()
        #expect(n["security_model"] == "passthrough" && n["cache"] == "loose")
        #expect(n["mount_options"] == "trans=virtio,version=9p2000.L,cache=loose")
        #expect(ninep.writePath(n).encoded.contains("9p server · local, passthrough"))
        #expect(n["write_path"]?.contains("QEMU's 9p server") == true)
    }

    @Test("bad shared-folder parameters are invalid input naming the layer's field")
    func badParameters() {
        for (layer, key, value) in [
            ("qemu-virtiofs", "cache", "loose"), ("qemu-virtiofs", "allow_direct_io", "maybe"), ("qemu-virtiofs", "memory", "16m"),
            ("qemu-virtiofs", "security_model", "none"), ("qemu-9p", "security_model", "mapped"), ("qemu-9p", "cache", "always"),
            ("qemu-9p", "allow_direct_io", "on"), ("qemu-9p", "vcpus", "0"),
        ] {
            do {
                _ = try LayerRegistry.make(LayerSpec(name: layer, parameters: [key: value]))
                Issue.record("\(layer).\(key)=\(value) was accepted")
            } catch let WritePathError.invalidInput(field, _) {
                #expect(field == "\(layer).\(key)")
            } catch {
                Issue.record("\(layer).\(key)=\(value): \(error)")
            }
        }
    }

    @Test("the host's page-cache check: grown is O_DIRECT dropped, flat is kept, buffered I/O is not judged")
    func hostCheck() {
        var w = shortWorkload()
        let dropped = SharedFolderLayer.hostCheck(
            file: "/f", before: 0, after: 8 << 20, fileBytes: 16 << 20, workload: w, server: "virtiofsd")
        #expect(dropped.bypassed_page_cache == false && dropped.cached_pages_after == 2048 && dropped.file_pages == 4096)
        #expect(dropped.note.contains("virtiofsd wrote it through the host page cache"))
        let kept = SharedFolderLayer.hostCheck(file: "/f", before: 0, after: 4096, fileBytes: 16 << 20, workload: w, server: "virtiofsd")
        #expect(kept.bypassed_page_cache == true)
        #expect(
            SharedFolderLayer.hostCheck(file: "/f", before: nil, after: 0, fileBytes: 1 << 20, workload: w, server: "x")
                .bypassed_page_cache == nil)
        w.direct = false
        #expect(
            SharedFolderLayer.hostCheck(file: "/f", before: 0, after: 8 << 20, fileBytes: 16 << 20, workload: w, server: "x")
                .bypassed_page_cache == nil)
    }
}

/// Shared-folder guests, in the serialized QEMU suite: guests are not booted side by side.
extension QemuLayerTests {
    /// Runs a short randwrite QD8 in a guest of `spec` and checks the run: I/O done, a file
    /// target, the host's page-cache check recorded, nothing left behind.
    func sharedFolderRun(_ spec: LayerSpec, _ contextName: String) throws -> (RunResult, HostPageCacheCheck) {
        let context = guestContext(contextName)
        let result = try LayerRegistry.make(spec).run(shortWorkload(runtime: 2, iodepth: 8), rep: 1, context: context)
        let layerName = spec.name
        #expect(result.status == .ok, "\(result.error ?? "")")
        #expect(result.layer.name == layerName)
        #expect((result.write?.ios ?? 0) > 0)
        #expect(result.target?.kind == "file")
        #expect(result.target?.path == "/mnt/wp/target.dat")
        let s = result.layer.settings
        #expect(Double(s["boot_s"] ?? "") != nil)
        #expect(s["host_page_cache_after_bytes"] != nil && s["host_direct_io"] != nil)
        #expect(s[LayerWritePath.settingsKey]?.contains("[guest:") == true)
        #expect(!FileManager.default.fileExists(atPath: "\(context.scratchDirectory)/qemu-\(context.runID)"))
        #expect(qemuProcesses(using: context.scratchDirectory).isEmpty)
        #expect(virtiofsdProcesses(using: context.scratchDirectory).isEmpty)
        return (result, try #require(result.target?.direct_io?.host))
    }

    @Test(
        "qemu-virtiofs: the guest writes a file on virtiofs; without allow_direct_io the host page cache shows O_DIRECT dropped",
        Precondition.virtiofsd.trait)
    func sharedFolderVirtiofs() throws {
        let (result, host) = try sharedFolderRun(LayerSpec(name: "qemu-virtiofs"), "virtiofs")
        let s = result.layer.settings
        #expect(s["cache"] == "auto" && s["allow_direct_io"] == "off" && s["virtiofsd_version"]?.first?.isNumber == true)
        print("virtiofs no_allow_direct_io: guest \(result.target?.direct_io?.note ?? "-"); host \(host.note)")
        #expect(host.bypassed_page_cache == false, "\(host.note)")
        #expect(result.warnings.contains { $0.contains("O_DIRECT did not reach the host file") })
    }

    @Test(
        "qemu-virtiofs with allow_direct_io: the guest's O_DIRECT reaches the host file (its page cache stays flat)",
        Precondition.virtiofsd.trait)
    func sharedFolderVirtiofsDirect() throws {
        let (result, host) = try sharedFolderRun(
            LayerSpec(name: "qemu-virtiofs", parameters: ["allow_direct_io": "on", "cache": "none"]), "virtiofs-dio")
        #expect(result.layer.settings["allow_direct_io"] == "on" && result.layer.settings["cache"] == "none")
        print("virtiofs allow_direct_io: host \(host.note)")
        #expect(host.bypassed_page_cache == true, "\(host.note)")
    }

    @Test("qemu-9p: the guest writes a file on 9p; the host's page cache over it is recorded")
    func sharedFolder9p() throws {
        let (result, host) = try sharedFolderRun(LayerSpec(name: "qemu-9p"), "9p")
        let s = result.layer.settings
        #expect(s["security_model"] == "mapped-xattr" && s["cache"] == "none")
        print("9p: guest \(result.target?.direct_io?.note ?? "-"); host \(host.note)")
        // QEMU's 9p server opens the host file without O_DIRECT: the host page cache holds the writes.
        #expect(host.bypassed_page_cache == false, "\(host.note)")
    }

    @Test("shared folders: the guest's flushes are counted where they reach the host file", Precondition.virtiofsd.trait)
    func sharedFolderDurability() throws {
        for name in ["qemu-9p", "qemu-virtiofs"] {
            let result = try LayerRegistry.make(LayerSpec(name: name)).run(flushWorkload(), rep: 1, context: guestContext("\(name)-sync"))
            #expect(result.status == .ok, "\(result.error ?? "")")
            let d = try #require(result.durability)
            print("\(name) durability: \(d.evidence)")
            #expect(d.verdict == "durable", "\(d.evidence)")
            let arrived = try #require(d.host_file_flushes)
            #expect(arrived >= d.flushes_issued && arrived <= d.flushes_issued + 4, "\(arrived) for \(d.flushes_issued)")
        }
    }

    @Test("a virtiofs guest that does not reach the workload is killed, and virtiofsd with it", Precondition.virtiofsd.trait)
    func sharedFolderDeadline() throws {
        let layer = try LayerRegistry.make(LayerSpec(name: "qemu-virtiofs", parameters: ["boot_timeout": "1"]))
        let context = guestContext("virtiofs-deadline")
        #expect(throws: WritePathError.self) { try layer.run(shortWorkload(runtime: 1), rep: 1, context: context) }
        #expect(qemuProcesses(using: context.scratchDirectory).isEmpty)
        #expect(virtiofsdProcesses(using: context.scratchDirectory).isEmpty)
        #expect(!FileManager.default.fileExists(atPath: "\(context.scratchDirectory)/qemu-\(context.runID)"))
    }
}

extension QemuLayerTests {
    @Test(
        "Ctrl-C while a virtiofs guest runs: writepath exits 130 and leaves no virtiofsd, QEMU or scratch folder behind",
        Precondition.virtiofsd.trait)
    func sharedFolderInterrupted() throws {
        let base = "/var/tmp/writepath-layer-tests/virtiofs-int-\(getpid())"
        let scratch = "\(base)/scratch"
        try? FileManager.default.removeItem(atPath: base)
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: base) }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: BuiltBinaries.writepath)
        p.arguments = [
            "sweep", "--layer", "qemu-virtiofs", "--sweep", "iodepth=1,2", "--runtime", "60", "--size", "16m",
            "--scratch", scratch, "--results", "\(base)/results", "--quiet", "--output-format", "none",
        ]
        p.environment = ProcessInfo.processInfo.environment.merging(["WRITEPATH_ENGINE": guestEngineBinary]) { _, new in new }
        p.standardInput = FileHandle.nullDevice
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        let start = monotonicNanoseconds()
        func elapsed() -> Double { Double(monotonicNanoseconds() - start) / 1e9 }
        while virtiofsdProcesses(using: scratch).isEmpty && p.isRunning && elapsed() < 120 { usleep(100_000) }
        let served = !virtiofsdProcesses(using: scratch).isEmpty
        if served { sleep(3) }  // the guest boots meanwhile
        kill(p.processIdentifier, SIGINT)
        while p.isRunning && elapsed() < 240 { usleep(100_000) }
        if p.isRunning { kill(p.processIdentifier, SIGKILL) }
        p.waitUntilExit()
        #expect(served, "no virtiofsd appeared for the sweep's guest")
        #expect(p.terminationStatus == 130)
        #expect(virtiofsdProcesses(using: base).isEmpty)
        #expect(qemuProcesses(using: base).isEmpty)
        #expect(((try? FileManager.default.contentsOfDirectory(atPath: scratch)) ?? []).isEmpty, "scratch left behind")
    }
}
