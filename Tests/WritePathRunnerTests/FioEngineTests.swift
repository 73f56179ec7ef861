import Foundation
import Testing
import WritePathEngine
import WritePathResult
import WritePathTestSupport

@testable import WritePathRunner

#if canImport(Glibc)
    import Glibc
#endif

let fioAvailable: Bool = {
    if case let .unavailable(reason, fix) = FioEngine.availability() { print("engine fio tests skipped: \(reason); \(fix)") }
    return FioEngine.availability().isAvailable
}()

/// `shortWorkload` run by fio.
func fioWorkload(runtime: Double = 2) -> Workload {
    var w = shortWorkload(runtime: runtime, iodepth: 8)
    w.engine = .fio
    return w
}

/// Checks an ok fio run: engine fio with its version, IOPS that agree with the I/Os it counted.
func expectPlausibleFioRun(_ r: RunResult, layer: String, workload: Workload) throws {
    #expect(r.status == .ok, "\(r.error ?? "")")
    #expect(r.engine.name == "fio")
    #expect(r.engine.features.contains { $0.hasPrefix("fio_version:fio-") }, "\(r.engine.features)")
    #expect(r.layer.name == layer)
    #expect(r.layer.settings["fio_version"]?.hasPrefix("fio-") == true)
    #expect(r.workload == workload)
    let write = try #require(r.write)
    #expect(write.iops > 100 && write.iops < 10_000_000, "\(write.iops) IOPS")
    // fio's IOPS are its I/Os over its runtime: both come back, and they must fit together.
    let implied = Double(write.ios) / write.runtime_s
    #expect(abs(implied - write.iops) / write.iops < 0.05, "ios \(write.ios) over \(write.runtime_s) s vs \(write.iops) IOPS")
    #expect(write.runtime_s > workload.runtime * 0.8)
    #expect(write.lat_ns.p50 > 0)
    #expect(r.warnings.contains { $0.contains("iowq_colocate") }, "the option fio lacks is recorded: \(r.warnings)")
}

@Suite("engine fio through the layers", .serialized, Precondition.fio.trait)
struct FioEngineTests {
    @Test("host: fio runs the workload and comes back as an ok run with engine fio")
    func host() throws {
        let context = testContext("fio-host")
        let r = try HostLayer(parameters: [:]).run(fioWorkload(), rep: 1, context: context)
        try expectPlausibleFioRun(r, layer: "host", workload: fioWorkload())
        let command = try String(contentsOfFile: "\(context.logDirectory)/command.txt", encoding: .utf8)
        #expect(command.contains("--direct=1") && command.contains("--fixedbufs=1") && command.contains("--iodepth=8"), "\(command)")
        #expect(!FileManager.default.fileExists(atPath: "\(context.scratchDirectory)/short.0.0"), "the target is removed")
    }

    @Test(
        "docker-volume: fio in the engine image comes back through the container's stdout",
        Precondition.docker.trait)
    func dockerVolume() throws {
        let r = try LayerRegistry.make(LayerSpec(name: "docker-volume")).run(fioWorkload(), rep: 2, context: testContext("fio-volume"))
        try expectPlausibleFioRun(r, layer: "docker-volume", workload: fioWorkload())
        #expect(r.rep == 2)
        #expect(r.layer.settings["image"]?.contains("-fio") == true, "the image tag names fio's hash: \(r.layer.settings["image"] ?? "")")
        let left = leftovers()
        #expect(left.containers.isEmpty && left.volumes.isEmpty, "left: \(left)")
    }

    @Test("fio takes the argument set of other engines too (psync: no io_uring options)")
    func psyncArguments() throws {
        var w = fioWorkload(runtime: 1)
        w.ioengine = .psync
        w.iodepth = 1
        let args = FioEngine.arguments(w, target: nil, directory: "/tmp")
        #expect(!args.contains { $0.hasPrefix("--fixedbufs") || $0.hasPrefix("--registerfiles") })
        let r = try HostLayer(parameters: [:]).run(w, rep: 1, context: testContext("fio-psync"))
        #expect(r.status == .ok, "\(r.error ?? "")")
        #expect(r.engine.features.contains("ioengine:psync"))
    }

    @Test("fio output that is no result is a failed run of engine fio, never a number")
    func noResult() {
        let r = FioEngine.result(
            stdout: Data("fio: failed parsing bs=x\n".utf8), status: 1, stderr: "fio: failed parsing bs=x",
            workload: fioWorkload(), layer: LayerInfo(name: "host"), rep: 1, source: "test")
        #expect(r.status == .failed)
        #expect(r.engine.name == "fio")
        #expect(r.write == nil)
        #expect(r.error?.contains("failed parsing") == true)
    }
}

@Suite("engine fio where it cannot run")
struct FioEngineUnavailableTests {
    @Test("QEMU and Xen guests take engine fio; a layer that does not place fio says so, writepath's engine still runs")
    func guests() throws {
        for name in ["qemu-virtio-blk", "xen-pv"] {
            let layer = try LayerRegistry.make(LayerSpec(name: name))
            #expect(layer.runsFio, "\(name)")
            #expect(layer.engineAvailability(fioWorkload()).isAvailable == FioEngine.availability().isAvailable, "\(name)")
        }
        let without = try LayerRegistry.all.compactMap { kind -> (any Layer)? in
            let layer = try? LayerRegistry.make(LayerSpec(name: kind.name))
            return layer.flatMap { $0.runsFio ? nil : $0 }
        }
        for layer in without {
            guard case let .unavailable(reason, _) = layer.engineAvailability(fioWorkload()) else {
                Issue.record("\(layer.name) claims to run engine fio")
                continue
            }
            #expect(reason.contains("engine fio is not available in \(layer.name)"))
            #expect(layer.engineAvailability(shortWorkload()).isAvailable)
        }
    }

    @Test("a matrix with engines runs each workload once per engine, and a bad engine names the field")
    func matrixEngines() throws {
        let yaml = """
            layers: [host]
            engines: [writepath, fio]
            workloads: [{ name: a, rw: randwrite, bs: 4k, size: 16m, runtime: 1, time_based: true }]
            seed: 1
            """
        let spec = try MatrixSpec.parse(yaml, source: "test")
        #expect(spec.workloads.map(\.identity) == ["a", "a [fio]"])
        let again = try MatrixSpec.parse(spec.yaml, source: "saved")
        #expect(again.workloads.map(\.identity) == ["a", "a [fio]"])
        #expect(throws: WritePathError.invalidInput(field: "engines[0]", message: "'gfio' is not an engine; expected writepath or fio")) {
            try MatrixSpec.parse(yaml.replacingOccurrences(of: "[writepath, fio]", with: "[gfio]"), source: "test")
        }
        let suite = try MatrixSpec.parse(try #require(Suites.named("crosscheck")), source: "crosscheck")
        #expect(suite.workloads.count == 4)
        #expect(suite.workloads.filter { $0.engine == .fio }.count == 2)
    }
}
