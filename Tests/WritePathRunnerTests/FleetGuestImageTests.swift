import Foundation
import Testing
import WritePathEngine
import WritePathResult
import WritePathTestSupport
import Yams

@testable import WritePathRunner

#if canImport(Glibc)
    import Glibc
#endif

/// A fleet whose matrix has guest layers copies the controller's guest image to every host, as it
/// copies the binary (a real guest fleet run is too slow for a test: the variables and the role's
/// tasks are checked, and the role's copy runs for real on this machine).
@Suite("fleet: the guest image goes to every host", .serialized)
struct FleetGuestImageTests {
    static let guestMatrix = try! MatrixSpec.parse(
        "layers: [host, qemu-virtio-blk]\nworkloads: [{ name: w, rw: randwrite, bs: 4k, size: 16m, runtime: 1, time_based: true }]\n",
        source: "m.yaml")
    static let hostMatrix = try! MatrixSpec.parse(
        "layers: [host]\nworkloads: [{ name: w, rw: randwrite, bs: 4k, size: 8m, runtime: 1, time_based: true }]\nrepetitions: 1\n",
        source: "m.yaml")

    static var roleDirectory: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("deploy/ansible").path
    }

    @Test("the playbook's variables name the guest image folder for a matrix with guest layers, none otherwise")
    func variables() {
        #expect(FleetRunner.hasGuestLayers(Self.guestMatrix) && !FleetRunner.hasGuestLayers(Self.hostMatrix))
        let v = FleetRunner.variables(spec: Self.guestMatrix, binary: "/b/writepath", fleetDirectory: "/f", guestImage: "/f/.guest-image")
        #expect(v["writepath_guest_image"] as? String == "/f/.guest-image" && v["writepath_matrix"] as? String == "/f/matrix.yaml")
        let none = FleetRunner.variables(spec: Self.hostMatrix, binary: "/b/writepath", fleetDirectory: "/f", guestImage: nil)
        #expect(none["writepath_guest_image"] as? String == "" && none["writepath_start_dockerd"] as? Bool == false)
    }

    @Test("the role copies the image folder when given, and the run sees it in WRITEPATH_GUEST_IMAGE")
    func roleTasks() throws {
        let text = try String(contentsOfFile: "\(Self.roleDirectory)/roles/writepath/tasks/main.yml", encoding: .utf8)
        let tasks = try #require(try Yams.load(yaml: text) as? [[String: Any]])
        let block = try #require(tasks.first { $0["block"] != nil }?["block"] as? [[String: Any]])
        let copy = try #require(block.first { $0["name"] as? String == "copy the guest image" })
        #expect(copy["when"] as? String == "writepath_guest_image | length > 0")
        let args = try #require(copy["ansible.builtin.copy"] as? [String: Any])
        #expect(
            args["src"] as? String == "{{ writepath_guest_image }}/" && args["dest"] as? String == "{{ writepath_scratch }}/guest-image/")
        let run = try #require(block.first { $0["name"] as? String == "run the matrix" })
        let env = try #require(run["environment"] as? [String: Any])
        #expect((env["WRITEPATH_GUEST_IMAGE"] as? String)?.contains("writepath_scratch ~ '/guest-image'") == true)
        let defaults = try #require(
            try Yams.load(yaml: String(contentsOfFile: "\(Self.roleDirectory)/roles/writepath/defaults/main.yml", encoding: .utf8))
                as? [String: Any])
        #expect(defaults["writepath_guest_image"] as? String == "" && defaults["writepath_host_kind"] as? String == "")
    }

    @Test("an exported image reads back; a folder without one is bad input naming it")
    func exportRoundTrip() throws {
        let dir = "/var/tmp/writepath-guest-export-test-\(getpid())"
        try FileManager.default.createDirectory(atPath: "\(dir)/src", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Data("kernel".utf8).write(to: URL(fileURLWithPath: "\(dir)/src/vmlinuz-6.1"))
        try Data("initramfs".utf8).write(to: URL(fileURLWithPath: "\(dir)/src/initramfs.zst"))
        let image = GuestImage(
            kernel: "\(dir)/src/vmlinuz-6.1", initramfs: "\(dir)/src/initramfs.zst", kernelVersion: "6.1.0-test", hash: "abc",
            initramfsBytes: 9)
        try image.export(to: "\(dir)/out", withFio: false)
        let back = try GuestImage.exported(at: "\(dir)/out")
        #expect(back.image.kernel == "\(dir)/out/vmlinuz" && back.image.hash == "abc" && back.image.kernelVersion == "6.1.0-test")
        #expect(back.image.initramfsBytes == 9 && !back.withFio)
        #expect { try GuestImage.exported(at: "\(dir)/src") } throws: {
            "\($0)".contains("WRITEPATH_GUEST_IMAGE") && "\($0)".contains("\(dir)/src")
        }
    }

    @Test(
        "the role, run by ansible-playbook on this machine, copies the guest image folder to the host's scratch folder",
        Precondition.fleet.trait)
    func roleCopiesImage() throws {
        let dir = "/var/tmp/writepath-fleet-guest-test-\(getpid())"
        try FileManager.default.createDirectory(atPath: "\(dir)/fleet", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Data("k".utf8).write(to: URL(fileURLWithPath: "\(dir)/k"))
        let fake = GuestImage(kernel: "\(dir)/k", initramfs: "\(dir)/k", kernelVersion: "t", hash: "t", initramfsBytes: 1)
        try fake.export(to: "\(dir)/fleet/.guest-image", withFio: false)
        try Self.hostMatrix.yaml.write(toFile: "\(dir)/fleet/matrix.yaml", atomically: true, encoding: .utf8)
        var vars = FleetRunner.variables(
            spec: Self.hostMatrix, binary: engineBinary, fleetDirectory: "\(dir)/fleet", guestImage: "\(dir)/fleet/.guest-image")
        vars["writepath_scratch"] = "\(dir)/scratch"
        vars["writepath_keep_scratch"] = true
        try JSONSerialization.data(withJSONObject: vars).write(to: URL(fileURLWithPath: "\(dir)/vars.json"))
        try "localhost ansible_connection=local ansible_python_interpreter=/usr/bin/python3\n".write(
            toFile: "\(dir)/hosts.ini", atomically: true, encoding: .utf8)
        let r = try Command.run(
            "/usr/bin/env",
            [
                "ANSIBLE_HOME=\(dir)/.ansible", "ANSIBLE_NOCOLOR=1", "ansible-playbook", "-i", "\(dir)/hosts.ini", "-e",
                "@\(dir)/vars.json",
                "\(Self.roleDirectory)/fleet.yml",
            ], timeout: 300)
        #expect(r.succeeded, "\(r.stdout.suffix(2000)) \(r.stderrTail())")
        for f in ["vmlinuz", "initramfs.zst", "guest-image.json"] {
            #expect(FileManager.default.fileExists(atPath: "\(dir)/scratch/guest-image/\(f)"), "\(f)")
        }
        // The role went on as usual: the run folder fetched, how the matrix ended recorded.
        let runs = (try? FileManager.default.contentsOfDirectory(atPath: "\(dir)/fleet/localhost")) ?? []
        #expect(runs.contains { FileManager.default.fileExists(atPath: "\(dir)/fleet/localhost/\($0)/run.json") }, "\(runs)")
        #expect(FileManager.default.fileExists(atPath: "\(dir)/fleet/.host-runs/localhost.json"))
    }
}
