import Foundation
import Testing
import WritePathEngine
import WritePathResult
import WritePathTestSupport

@testable import WritePathRunner

#if canImport(Glibc)
    import Glibc
#endif

/// Processes of `program` whose command line holds `folder`.
func serverProcesses(_ program: String, using folder: String) -> [String] {
    let r = try? Command.run("pgrep", ["-af", program], timeout: 10)
    return (r?.stdout ?? "").split(separator: "\n").map(String.init).filter { $0.contains(folder) && !$0.contains("pgrep") }
}

/// Checks a served drive's run: the workload ran, the server's settings are recorded, and the
/// server process (by its recorded pid) and QEMU are gone.
func expectServedRun(_ result: RunResult, layer: String, server: String, context: LayerContext) throws {
    #expect(result.status == .ok, "\(result.error ?? "")")
    #expect(result.layer.name == layer)
    #expect((result.write?.ios ?? 0) > 0)
    let s = result.layer.settings
    #expect(s["server"] == server)
    #expect(s["server_version"].map { !$0.isEmpty && $0 != "unknown" } == true, "\(s["server_version"] ?? "")")
    #expect(s["server_cache"] != nil && s["server_aio"] != nil && s["server_command"] != nil)
    #expect(s["write_path"]?.contains(server) == true, "\(s["write_path"] ?? "")")
    #expect(s[LayerWritePath.settingsKey]?.contains("server (\(server)") == true, "\(s[LayerWritePath.settingsKey] ?? "")")
    let pid = try #require(s["server_pid"].flatMap { pid_t($0) })
    #expect(ServerProcess.hasExited(pid) && kill(pid, 0) != 0, "server \(server) pid \(pid) is still there")
    #expect(qemuProcesses(using: context.scratchDirectory).isEmpty)
    #expect(!FileManager.default.fileExists(atPath: "\(context.scratchDirectory)/qemu-\(context.runID)"))
}

/// Runs a short workload on served layer `name` with `parameters` (a generous boot deadline: the
/// machine is shared), checks it with `expectServedRun`, and returns what it recorded and its log folder.
func runServed(_ name: String, _ parameters: [String: String] = [:], server: String, context label: String) throws
    -> (settings: [String: String], logs: String)
{
    let layer = try LayerRegistry.make(LayerSpec(name: name, parameters: parameters.merging(["boot_timeout": "300"]) { a, _ in a }))
    let context = guestContext(label)
    let result = try layer.run(shortWorkload(runtime: 2, iodepth: 8), rep: 1, context: context)
    try expectServedRun(result, layer: name, server: server, context: context)
    return (result.layer.settings, context.logDirectory)
}

@Suite("QEMU served drives (NBD, vhost-user-blk, iSCSI)", .serialized, Precondition.qemu.trait)
struct ServedDriveTests {
    @Test("qemu-nbd over loopback TCP serves a qcow2 image with its own cache and aio, and is stopped")
    func qemuNbdTCP() throws {
        let (s, logs) = try runServed(
            "qemu-nbd", ["transport": "tcp", "format": "qcow2", "l2_cache_size": "2m", "aio": "io_uring"], server: "qemu-nbd",
            context: "nbd-tcp")
        #expect(s["server_cache"] == "none" && s["server_aio"] == "io_uring" && s["transport"] == "tcp 127.0.0.1")
        #expect(s["server_address"]?.hasPrefix("127.0.0.1:") == true)
        #expect(s["server_command"]?.contains("l2-cache-size=\(2 << 20)") == true)
        let command = try String(contentsOfFile: "\(logs)/command.txt", encoding: .utf8)
        #expect(command.contains("file.driver=nbd,file.server.type=inet"))
    }

    @Test("nbdkit on a Unix socket serves the raw image, its cache mode recorded, and is stopped")
    func nbdkitUnix() throws {
        let (s, _) = try runServed("qemu-nbd", ["server": "nbdkit", "cache": "writeback"], server: "nbdkit", context: "nbdkit")
        #expect(s["server_cache"]?.hasPrefix("default") == true && s["transport"] == "unix socket")
        #expect(s["server_version"]?.hasPrefix("nbdkit 1.") == true)
    }

    @Test("qemu-storage-daemon serves the image as vhost-user-blk to a guest with shared memory, and is stopped")
    func vhostUserBlk() throws {
        let (s, logs) = try runServed("qemu-vhost-user-blk", server: "qemu-storage-daemon", context: "vhost-user-blk")
        #expect(s["device"] == "vhost-user-blk" && s["server_cache"] == "none")
        #expect(s["guest_memory"]?.contains("share=on") == true)
        let command = try String(contentsOfFile: "\(logs)/command.txt", encoding: .utf8)
        #expect(command.contains("memory-backend-memfd") && command.contains("vhost-user-blk-pci"))
    }

    @Test("tgtd on loopback serves the image over iSCSI; its target, LUN and control socket are removed", Precondition.iscsiTarget.trait)
    func iscsi() throws {
        let (s, _) = try runServed("qemu-iscsi", server: "tgtd", context: "iscsi")
        #expect(s["server_bsoflags"] == "direct" && s["server_backing_store"] == "rdwr")
        let control = try #require(s["server_command"]?.split(separator: " ").drop { $0 != "-C" }.dropFirst().first)
        #expect(!FileManager.default.fileExists(atPath: "\(ISCSITarget.runDirectory)/socket.\(control)"))
        #expect(!FileManager.default.fileExists(atPath: "\(ISCSITarget.runDirectory)/socket.\(control).lock"))
    }

    @Test("a guest stopped at its boot deadline leaves no server behind", arguments: ["qemu-nbd", "qemu-vhost-user-blk"])
    func stoppedAtDeadline(layerName: String) throws {
        let layer = try LayerRegistry.make(LayerSpec(name: layerName, parameters: ["boot_timeout": "1"]))
        let context = guestContext("deadline-\(layerName)")
        #expect(throws: WritePathError.self) { try layer.run(shortWorkload(runtime: 1), rep: 1, context: context) }
        for program in ["qemu-nbd", "qemu-storage-daemon", "qemu-system"] {
            #expect(serverProcesses(program, using: context.scratchDirectory).isEmpty, "\(program) left running")
        }
    }

    @Test("a server process is stopped by pid and reaped; it is ready once its socket listens")
    func serverProcess() throws {
        let dir = "/tmp/wp-server-\(getpid())"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let socket = "\(dir)/s.sock"
        #expect(FileManager.default.createFile(atPath: "\(dir)/d.raw", contents: Data(count: 1 << 20)))
        let server = try ServerProcess("qemu-nbd", ["--persistent", "-f", "raw", "--socket=\(socket)", "\(dir)/d.raw"], log: "\(dir)/log")
        #expect(!server.hasExited)
        try server.waitUntilReady(socket, timeout: 20) { ListeningSocket.unix(socket) }
        #expect(ListeningSocket.unix(socket))
        server.stop()
        #expect(server.hasExited && kill(server.pid, 0) != 0)
        #expect(!ListeningSocket.unix(socket))
        let quitting = try ServerProcess("true", [], log: "\(dir)/log2")
        #expect(throws: WritePathError.self) { try quitting.waitUntilReady("never", timeout: 10) { false } }
        quitting.stop()
    }

    @Test("qcow2 cluster_size and l2_cache_size reach qemu-img and the drive, and are recorded")
    func qcow2Geometry() throws {
        let layer = try LayerRegistry.make(
            LayerSpec(
                name: "qemu-virtio-blk",
                parameters: [
                    "format": "qcow2", "preallocation": "off", "cluster_size": "2m", "l2_cache_size": "4m", "boot_timeout": "300",
                ]))
        var context = guestContext("qcow2-geometry")
        context.keep = true
        let result = try layer.run(shortWorkload(runtime: 1, iodepth: 4), rep: 1, context: context)
        defer { try? FileManager.default.removeItem(atPath: "\(context.scratchDirectory)/qemu-\(context.runID)") }
        #expect(result.status == .ok, "\(result.error ?? "")")
        let s = result.layer.settings
        #expect(s["cluster_size_bytes"] == "\(2 << 20)" && s["l2_cache_size_bytes"] == "\(4 << 20)" && s["preallocation"] == "off")
        let info = try Command.run("qemu-img", ["info", "--output=json", "\(context.scratchDirectory)/qemu-\(context.runID)/disk.qcow2"])
        #expect(info.stdout.contains("\"cluster-size\": \(2 << 20)"), "\(info.stdout)")
        let command = try String(contentsOfFile: "\(context.logDirectory)/command.txt", encoding: .utf8)
        #expect(command.contains("l2-cache-size=\(4 << 20)"))
    }
}

@Suite("QEMU drive backends as values")
struct DriveBackendTests {
    @Test("bad drive parameters are refused naming the field")
    func refused() {
        let cases: [(String, [String: String], String)] = [
            ("qemu-virtio-blk", ["cluster_size": "64k"], "qemu-virtio-blk.cluster_size"),
            ("qemu-virtio-blk", ["l2_cache_size": "1m"], "qemu-virtio-blk.l2_cache_size"),
            ("qemu-virtio-blk", ["format": "qcow2", "cluster_size": "3000"], "qemu-virtio-blk.cluster_size"),
            ("qemu-virtio-blk", ["format": "qcow2", "cluster_size": "4m"], "qemu-virtio-blk.cluster_size"),
            ("qemu-nvme", ["preallocation": "metadata"], "qemu-nvme.preallocation"),
            ("qemu-virtio-blk", ["server": "nbdkit"], "qemu-virtio-blk.server"),
            ("qemu-nbd", ["server": "nfs"], "qemu-nbd.server"),
            ("qemu-nbd", ["transport": "rdma"], "qemu-nbd.transport"),
            ("qemu-nbd", ["server": "nbdkit", "format": "qcow2"], "qemu-nbd.format"),
            ("qemu-nbd", ["server": "nbdkit", "aio": "io_uring"], "qemu-nbd.aio"),
            ("qemu-nbd", ["server": "nbdkit", "cache": "directsync"], "qemu-nbd.cache"),
            ("qemu-nbd", ["inject_write_errors": "true"], "qemu-nbd.inject_write_errors"),
            ("qemu-iscsi", ["format": "qcow2"], "qemu-iscsi.format"),
            ("qemu-iscsi", ["cache": "unsafe"], "qemu-iscsi.cache"),
            ("qemu-iscsi", ["aio": "io_uring"], "qemu-iscsi.aio"),
            ("qemu-iscsi", ["transport": "unix"], "qemu-iscsi.transport"),
            ("qemu-vhost-user-blk", ["write_iops_limit": "100"], "qemu-vhost-user-blk.write_iops_limit"),
            ("qemu-vhost-user-blk", ["server": "nbdkit"], "qemu-vhost-user-blk.server"),
        ]
        for (layer, parameters, field) in cases {
            do {
                _ = try LayerRegistry.make(LayerSpec(name: layer, parameters: parameters))
                Issue.record("\(layer) \(parameters) was accepted")
            } catch let WritePathError.invalidInput(f, message) {
                #expect(f == field, "\(f): \(message)")
            } catch {
                Issue.record("\(error)")
            }
        }
    }

    @Test("each served backend is a layer with its own write path: transport and server after QEMU")
    func writePaths() throws {
        #expect(
            LayerRegistry.all.map(\.name).filter { $0.hasPrefix("qemu-") } == DiskModel.all.map(\.layerName)
                + DriveBackend.served.map(\.layerName) + SharedFolder.allCases.map(\.layerName))
        for (spec, server, transport) in [
            (LayerSpec(name: "qemu-nbd"), "qemu-nbd", "NBD · unix socket"),
            (LayerSpec(name: "qemu-nbd", parameters: ["server": "nbdkit", "transport": "tcp"]), "nbdkit", "NBD · tcp 127.0.0.1"),
            (LayerSpec(name: "qemu-vhost-user-blk"), "qemu-storage-daemon", "vhost-user"),
            (LayerSpec(name: "qemu-iscsi"), "tgtd", "iSCSI · loopback TCP"),
        ] {
            let layer = try LayerRegistry.make(spec)
            let d = layer.describe()
            #expect(d["server"] == server && d["server_cache"] != nil && d["server_aio"] != nil, "\(d)")
            let path = layer.writePath(d)
            #expect(LayerWritePath(encoded: path.encoded) == path)
            let titles = path.steps.map(\.title)
            #expect(titles.firstIndex(of: "hypervisor").map { titles[$0 + 1] } == "transport", "\(path.encoded)")
            #expect(path.steps.contains { $0.title == "transport" && $0.detail.hasPrefix(transport) }, "\(path.encoded)")
            #expect(path.steps.contains { $0.title == "server" && $0.detail.hasPrefix(server) }, "\(path.encoded)")
        }
        let file = try LayerRegistry.make(LayerSpec(name: "qemu-virtio-blk", parameters: ["format": "qcow2"])).describe()
        #expect(file["backend"] == nil && file["server"] == nil && file["cluster_size_bytes"] == "65536")
    }

    @Test("the formats suite parses: raw and qcow2 with every preallocation on qemu-virtio-blk")
    func formatsSuite() throws {
        let spec = try MatrixSpec.parse(try #require(Suites.named("formats")), source: "formats")
        let qemu = spec.layers.filter { $0.name == "qemu-virtio-blk" }
        #expect(
            Set(qemu.map { "\($0.parameters["format"] ?? "")/\($0.parameters["preallocation"] ?? "")" }).isSuperset(of: [
                "raw/off", "raw/falloc", "raw/full", "qcow2/off", "qcow2/metadata", "qcow2/falloc", "qcow2/full",
            ]))
        for l in spec.layers { _ = try LayerRegistry.make(l) }
    }

    @Test("the lifeline stops the server when writepath is gone (its pipe closes)")
    func lifeline() throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/sh")
        let log = "/tmp/wp-lifeline-\(getpid()).log"
        defer { unlink(log) }
        // A server that ignores SIGTERM: the lifeline's SIGKILL ends it.
        p.arguments = ["-c", ServerProcess.lifelineScript, "lifeline", log, "/bin/sh", "-c", "trap '' TERM; while :; do sleep 1; done"]
        let input = Pipe(), output = Pipe()
        p.standardInput = input
        p.standardOutput = output
        try p.run()
        var line = Data()
        while !line.contains(UInt8(ascii: "\n")) {
            let d = output.fileHandleForReading.availableData
            if d.isEmpty { break }
            line += d
        }
        let pid = try #require(pid_t(String(decoding: line, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)))
        #expect(!ServerProcess.hasExited(pid))
        try input.fileHandleForWriting.close()
        p.waitUntilExit()
        #expect(ServerProcess.hasExited(pid))
    }
}
