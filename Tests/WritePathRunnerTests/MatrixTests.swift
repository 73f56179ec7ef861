import Foundation
import Testing
import WritePathEngine
import WritePathResult

@testable import WritePathRunner

#if canImport(Glibc)
    import Glibc
#endif

@Suite("Matrix files")
struct MatrixSpecTests {
    @Test("the issue's example parses: names, parameters, fio options, repetitions")
    func example() throws {
        let spec = try MatrixSpec.parse(
            """
            layers:
              - host
              - docker-volume
              - { name: docker-volume, write_iops_limit: 500 }
            workloads:
              - { name: rand4k, rw: randwrite, bs: 4k, iodepth: 32, size: 256M, runtime: 10, time_based: true }
            repetitions: 3
            seed: 11
            """, source: "m.yaml")
        #expect(
            spec.layers == [
                LayerSpec(name: "host"), LayerSpec(name: "docker-volume"),
                LayerSpec(name: "docker-volume", parameters: ["write_iops_limit": "500"]),
            ])
        #expect(spec.workloads.count == 1)
        #expect(spec.workloads[0].bs == 4096)
        #expect(spec.workloads[0].iodepth == 32)
        #expect(spec.workloads[0].size == 256 << 20)
        #expect(spec.workloads[0].time_based)
        #expect(spec.repetitions == .fixed(3))
        #expect(spec.seed == 11)
        // What is saved for --resume reads back the same.
        #expect(try MatrixSpec.parse(spec.yaml, source: "saved") == spec)
    }

    @Test("auto repetitions take their bounds")
    func auto() throws {
        let spec = try MatrixSpec.parse(
            """
            layers: [host]
            workloads: [{ name: w, size: 1m }]
            repetitions: auto
            max_repetitions: 7
            cv_target: 0.02
            """, source: "m.yaml")
        #expect(spec.repetitions == .auto(minimum: 3, maximum: 7, cvTarget: 0.02))
        #expect(try MatrixSpec.parse(spec.yaml, source: "saved") == spec)
    }

    @Test("matrix.yaml is written with Yams: names and values with quotes, backslashes and control characters read back the same")
    func savedSpecEscapes() throws {
        // A real folder whose name has a quote, a backslash, a comma and ": ".
        let folder = "/dev/shm/writepath-yaml-\(getpid())-a \"b\" \\c, d: e"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let quotedFolder = folder.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
        let spec = try MatrixSpec.parse(
            #"""
            layers: [{ name: host, directory: "\#(quotedFolder)" }]
            workloads: [{ name: "say \"hi\" \\ there: #1, {x}", size: 64k, buffer_pattern: "zero" },
                        { name: "tab\there\u001b[2J", size: 1m }]
            repetitions: 2
            """#, source: "m.yaml")
        #expect(spec.workloads[0].name == #"say "hi" \ there: #1, {x}"#)
        #expect(spec.layers[0].parameters["directory"] == folder)
        #expect(try MatrixSpec.parse(spec.yaml, source: "saved") == spec)
    }

    @Test("QEMU option values double their commas, so a path cannot add options")
    func qemuCommaEscaping() {
        #expect(QemuRun.optionValue("/r/a,format=qcow2,b") == "/r/a,,format=qcow2,,b")
        #expect(QemuRun.optionValue("/plain/path") == "/plain/path")
    }

    @Test("every suite parses", arguments: ["quick", "standard", "full"])
    func suites(name: String) throws {
        let spec = try MatrixSpec.parse(try #require(Suites.named(name)), source: name)
        #expect(spec.layers.contains(LayerSpec(name: "host")))
    }

    @Test(
        "bad matrices name the key",
        arguments: [
            ("layers: [host]\nworkloads: [{ name: w, size: 1m }]\nrepetition: 3\n", "repetition"),
            ("layers: [hots]\nworkloads: [{ name: w, size: 1m }]\n", "layer"),
            ("layers: [{ name: docker-volume, colour: blue }]\nworkloads: [{ name: w, size: 1m }]\n", "docker-volume.colour"),
            ("layers: [host]\nworkloads: [{ name: w }]\n", "workloads[0].size"),
            ("layers: [host]\nworkloads: [{ name: w, size: 1m, bs: 4q }]\n", "workloads[0].bs"),
            ("layers: [host]\nworkloads: [{ name: w, size: 1m, verify: md5 }]\n", "workloads[0].verify"),
            ("layers: [host]\nworkloads: [{ name: w, size: 1m, filename: /etc/passwd }]\n", "workloads[0].filename"),
            ("layers: [host]\nworkloads: [{ name: w, size: 1m }]\nrepetitions: many\n", "repetitions"),
            ("layers: [host]\nworkloads: [{ name: w, size: 1m }]\nrepetitions: 0\n", "repetitions"),
            ("layers: []\nworkloads: [{ name: w, size: 1m }]\n", "layers"),
            ("layers: [host]\n", "workloads"),
            ("layers: [host, host]\nworkloads: [{ name: w, size: 1m }]\n", "layers"),
            ("layers: [host]\nworkloads: [{ name: w, size: [1, 2] }]\n", "workloads[0].size"),
            ("- just\n- a list\n", "m.yaml"),
            ("layers: [host\n", "m.yaml"),
            ("", "m.yaml"),
        ])
    func bad(text: String, field: String) {
        do {
            _ = try MatrixSpec.parse(text, source: "m.yaml")
            Issue.record("accepted: \(text)")
        } catch let e as WritePathError {
            #expect(e.exitCode == 2)
            #expect(e.description.contains(field), "\(e)")
        } catch {
            Issue.record("unexpected error \(error)")
        }
    }
}

@Suite("Matrix runs", .serialized)
struct MatrixRunTests {
    @Test("a matrix runs every workload in every layer per round, shuffled, and writes every file")
    func runs() throws {
        let root = "/var/tmp/writepath-matrix-test-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: root) }
        let spec = try MatrixSpec.parse(
            """
            layers: [host, { name: host, directory: /dev/shm }]
            workloads:
              - { name: a, rw: randwrite, bs: 4k, iodepth: 4, size: 4m, runtime: 0.5, time_based: true }
              - { name: b, rw: write, bs: 64k, iodepth: 2, size: 4m }
            repetitions: 3
            seed: 5
            """, source: "t.yaml")
        var options = MatrixRunner.Options()
        options.resultsRoot = root
        options.engineBinary = engineBinary
        var lines: [String] = []
        options.progress = { lines.append($0) }
        let runner = try MatrixRunner(spec: spec, options: options, provenance: Provenance(version: "t", git_commit: "t", arguments: []))
        let doc = try runner.run()
        #expect(doc.runs.count == 12)
        #expect(doc.runs.allSatisfy { $0.status == .ok })
        #expect(doc.matrix?.complete == true)
        #expect(doc.matrix?.rounds.count == 3)
        #expect(doc.matrix?.seed == 5)
        #expect(doc.matrix?.stop_reasons.count == 4)
        #expect(lines.count == 12)
        // Each round holds every layer and workload once.
        for rep in 1...3 {
            #expect(doc.runs.filter { $0.rep == rep }.count == 4)
        }
        let files = try FileManager.default.contentsOfDirectory(atPath: "\(runner.directory)/runs")
        #expect(files.count == 12)
        #expect(FileManager.default.fileExists(atPath: "\(runner.directory)/run.json"))
        #expect(FileManager.default.fileExists(atPath: "\(runner.directory)/matrix.yaml"))
        // A second runner never overwrites the first folder.
        let second = try MatrixRunner(spec: spec, options: options, provenance: Provenance(version: "t", git_commit: "t", arguments: []))
        #expect(second.directory != runner.directory)
    }

    @Test("a path with a quote and a newline gives a matrix.yaml that --resume reads back the same")
    func resumeReadsQuotedPaths() throws {
        let root = "/var/tmp/writepath-matrix-yaml-\(getpid())"
        let folder = "/dev/shm/writepath-yaml-\(getpid())-say \"hi\"\nline two"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer {
            try? FileManager.default.removeItem(atPath: root)
            try? FileManager.default.removeItem(atPath: folder)
        }
        var spec = try MatrixSpec.parse(
            """
            layers: [host]
            workloads: [{ name: a, rw: write, bs: 4k, size: 64k }]
            """, source: "t.yaml")
        spec.layers = [LayerSpec(name: "host", parameters: ["directory": folder])]
        spec.workloads[0].name = "quote \" and\nnewline"
        var options = MatrixRunner.Options()
        options.resultsRoot = root
        options.engineBinary = engineBinary
        let provenance = Provenance(version: "t", git_commit: "t", arguments: [])
        let first = try MatrixRunner(spec: spec, options: options, provenance: provenance)
        options.resumeDirectory = first.directory
        let resumed = try MatrixRunner(spec: nil, options: options, provenance: provenance)
        #expect(resumed.spec == spec)
        #expect(resumed.spec.layers[0].parameters["directory"] == folder)
        #expect(resumed.spec.workloads[0].name == "quote \" and\nnewline")
    }

    @Test("auto repetitions stop on a small spread and record why")
    func autoStops() throws {
        let root = "/var/tmp/writepath-matrix-auto-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: root) }
        let spec = try MatrixSpec.parse(
            """
            layers: [host]
            workloads: [{ name: paced, rw: randwrite, bs: 4k, size: 4m, rate_iops: 200, runtime: 1, time_based: true }]
            repetitions: auto
            max_repetitions: 6
            """, source: "t.yaml")
        var options = MatrixRunner.Options()
        options.resultsRoot = root
        options.engineBinary = engineBinary
        let doc = try MatrixRunner(spec: spec, options: options, provenance: Provenance(version: "t", git_commit: "t", arguments: [])).run()
        // A rate-limited workload is steady: three repetitions are enough.
        #expect(doc.runs.count == 3)
        #expect(doc.matrix?.stop_reasons["host / paced"]?.contains("below") == true)
    }
}

@Suite("Shipped suites")
struct ShippedSuiteTests {
    @Test("every shipped suite parses and names only layers and parameters the registry accepts")
    func everySuiteBuilds() throws {
        for name in Suites.names {
            let text = try #require(Suites.named(name), "\(name) is listed but not shipped")
            let spec = try MatrixSpec.parse(text, source: name)
            #expect(!spec.layers.isEmpty && !spec.workloads.isEmpty, "\(name)")
            for layer in spec.layers { _ = try LayerRegistry.make(layer) }
        }
        #expect(Suites.named("no-such-suite") == nil)
        let guestPaths = try MatrixSpec.parse(try #require(Suites.named("guest-paths")), source: "guest-paths")
        #expect(
            Set(guestPaths.layers.map(\.name))
                == ["host", "qemu-virtio-blk", "qemu-virtiofs", "qemu-9p", "qemu-nbd", "qemu-vhost-user-blk", "qemu-iscsi", "qemu-nvme"])
    }
}
