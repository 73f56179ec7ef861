import Foundation
import Testing
import WritePathEngine
import WritePathTestSupport

@testable import WritePathRunner

#if canImport(Glibc)
    import Glibc
#endif

/// The `writepath` binary for the sandbox: WRITEPATH_ENGINE, else the one built with the tests.
private let gvisorEngine = BuiltBinaries.environmentEngine ?? BuiltBinaries.nextToTests ?? EngineRootfs.defaultEngineBinary()

private func gvisorContext(_ name: String) -> LayerContext {
    let base = "/var/tmp/writepath-gvisor-tests/\(name)-\(getpid())"
    try? FileManager.default.removeItem(atPath: base)
    try? FileManager.default.createDirectory(atPath: base, withIntermediateDirectories: true)
    return LayerContext(
        engineBinary: gvisorEngine, logDirectory: "\(base)/logs", scratchDirectory: "\(base)/scratch",
        runID: "gv\(getpid())\(name)", graceSeconds: 60)
}

private func gvisorWorkload(runtime: Double = 2, size: UInt64 = 16 << 20) -> Workload {
    var w = Workload()
    w.name = "gvisor"
    w.rw = .randwrite
    w.bs = 4096
    w.iodepth = 4
    w.size = size
    w.runtime = runtime
    w.time_based = true
    w.direct = true
    return w
}

private func removeGVisorTestFolder(_ context: LayerContext) {
    let base = (context.logDirectory as NSString).deletingLastPathComponent
    try? FileManager.default.removeItem(atPath: base)
    rmdir((base as NSString).deletingLastPathComponent)
}

/// Nothing of the run is left: no mount under the scratch folder, no runsc container, no folder.
private func expectGVisorRunLeftNothing(_ context: LayerContext) throws {
    let mountinfo = (try? String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8)) ?? ""
    #expect(!mountinfo.contains(context.scratchDirectory), "a mount is left under \(context.scratchDirectory)")
    let list = try Command.run("runsc", ["list", "-quiet"], timeout: 20)
    #expect(!list.stdout.split(separator: "\n").contains { $0 == "wp-\(context.runID)" }, "\(list.stdout)")
    #expect(!FileManager.default.fileExists(atPath: "\(context.scratchDirectory)/oci-\(context.runID)"))
}

private let gvisorAvailable: Bool = {
    let a = (try? GVisorLayer(parameters: [:]))?.availability() ?? .unavailable(reason: "layer did not initialise", fix: "")
    if case let .unavailable(reason, fix) = a { print("gvisor run tests skipped: \(reason); \(fix)") }
    return a.isAvailable && geteuid() == 0
}()

@Suite("gvisor layer: parameters")
struct GVisorLayerConfigTests {
    @Test(
        "is in the registry and rejects unknown parameters and bad values by name",
        arguments: [
            ("runtime", "runc"), ("platform", "systrap-ish"), ("storage", "tmpfs"), ("engine_fallback", "io_uring"), ("cpus", "0"),
            ("via", "kata"),
        ])
    func badParameters(key: String, value: String) {
        #expect(LayerRegistry.all.contains { $0.name == "gvisor" })
        do {
            _ = try LayerRegistry.make(LayerSpec(name: "gvisor", parameters: [key: value]))
            Issue.record("gvisor accepted \(key)=\(value)")
        } catch let e as WritePathError {
            #expect("\(e)".contains("gvisor.\(key)"), "\(e)")
        } catch {
            Issue.record("unexpected \(error)")
        }
    }

    @Test("the fallback replaces io_uring and its io_uring-only options, and leaves other engines alone")
    func fallbackApplies() throws {
        let f = try #require(try EngineFallback.parse(LayerParameters(layer: "gvisor", values: ["engine_fallback": "psync"])))
        var w = gvisorWorkload()
        w.io_uring.sqthread_poll = true
        let applied = f.applied(to: w)
        #expect(applied.ioengine == .psync)
        #expect(!applied.io_uring.sqthread_poll)
        w.ioengine = .libaio
        w.io_uring.sqthread_poll = false
        #expect(f.applied(to: w) == w)
        #expect(!f.replaces(w))
    }
}

extension RuntimeLayerRuns {
    @Suite("gvisor layer: runs", .serialized, Precondition.gvisor.trait)
    struct GVisorLayerRunTests {
        @Test("an io_uring run (OCI bundle) fails with the finding that gVisor blocks io_uring, and leaves nothing behind")
        func ioUringFinding() throws {
            let layer = try LayerRegistry.make(LayerSpec(name: "gvisor", parameters: ["via": "oci"]))
            let context = gvisorContext("uring")
            defer { removeGVisorTestFolder(context) }
            do {
                let result = try layer.run(gvisorWorkload(), rep: 1, context: context)
                print("gvisor io_uring: status \(result.status): \(result.error ?? "")")
                #expect(result.status == .failed)
                #expect(result.error?.contains("gVisor blocks io_uring") == true, "\(result.error ?? "")")
                #expect(result.error?.contains("engine_fallback") == true)
            } catch {
                // A runsc whose io_uring_setup fails: the engine gives no result, its error says why.
                print("gvisor io_uring: \(error)")
                #expect("\(error)".contains("io_uring"), "\(error)")
            }
            try expectGVisorRunLeftNothing(context)
        }

        @Test("engine_fallback=libaio (OCI bundle) runs libaio on the overlay root, records platform and fallback, host page cache")
        func libaioFallback() throws {
            let layer = try LayerRegistry.make(LayerSpec(name: "gvisor", parameters: ["engine_fallback": "libaio", "via": "oci"]))
            let context = gvisorContext("libaio")
            defer { removeGVisorTestFolder(context) }
            let start = Date()
            let result = try layer.run(gvisorWorkload(), rep: 2, context: context)
            let s = result.layer.settings
            print(
                "gvisor libaio: \(String(format: "%.2f", Date().timeIntervalSince(start))) s wall, "
                    + "write iops \(String(format: "%.0f", result.write?.iops ?? 0)), "
                    + "host page cache after \(s["host_page_cache_after_bytes"] ?? "?") bytes, "
                    + "sandbox direct_io \(String(describing: result.target?.direct_io))"
            )
            #expect(result.status == .ok, "\(result.error ?? "")")
            #expect((result.write?.ios ?? 0) > 0)
            #expect(result.layer.name == "gvisor")
            #expect(result.engine.name == "libaio")
            #expect(result.workload.ioengine == .libaio)
            #expect(result.rep == 2)
            #expect(s["runtime"] == "runsc")
            #expect(s["platform"] == "ptrace")
            #expect(s["engine_fallback"]?.hasPrefix("libaio") == true)
            #expect(s["runtime_version"]?.hasPrefix("runsc version") == true)
            #expect(s["target"] == "/data/target.dat (overlay upper)")
            #expect(s["host_page_cache_after_bytes"].flatMap(UInt64.init) != nil)
            try expectGVisorRunLeftNothing(context)
        }

        @Test("storage=bind with engine_fallback=psync writes the bind mount and leaves nothing behind")
        func psyncBind() throws {
            let layer = try LayerRegistry.make(
                LayerSpec(name: "gvisor", parameters: ["engine_fallback": "psync", "storage": "bind", "via": "oci"]))
            let context = gvisorContext("bind")
            defer { removeGVisorTestFolder(context) }
            var w = gvisorWorkload()
            w.iodepth = 1
            let result = try layer.run(w, rep: 1, context: context)
            print(
                "gvisor psync bind: write iops \(String(format: "%.0f", result.write?.iops ?? 0)), "
                    + "target \(result.layer.settings["target"] ?? "?")"
            )
            #expect(result.status == .ok, "\(result.error ?? "")")
            #expect((result.write?.ios ?? 0) > 0)
            #expect(result.engine.name == "psync")
            #expect(result.layer.settings["target"]?.hasPrefix("/wp/target.dat (bind mount") == true)
            #expect(result.layer.settings["engine_fallback"]?.hasPrefix("psync") == true)
            try expectGVisorRunLeftNothing(context)
        }

        @Test("write_iops_limit and write_bps_limit are refused with the reason (the gofer writes the host page cache)")
        func throttlesRefused() {
            for key in ["write_iops_limit", "write_bps_limit"] {
                do {
                    _ = try LayerRegistry.make(LayerSpec(name: "gvisor", parameters: [key: "300"]))
                    Issue.record("gvisor accepted \(key)")
                } catch let e as WritePathError {
                    #expect("\(e)".contains("gvisor.\(key)") && "\(e)".contains("page cache"), "\(e)")
                } catch {
                    Issue.record("unexpected \(error)")
                }
            }
        }
    }

    @Suite("gvisor layer: via docker or oci", Precondition.docker.trait, Precondition.gvisor.trait)
    struct Via {
        @Test("via: docker runs through dockerd's runsc when registered, else is unavailable with the fix; via: oci keeps the bundle")
        func viaDockerOrOCI() throws {
            let registered = GVisorLayer.dockerRunsc() != nil
            let docker = try LayerRegistry.make(LayerSpec(name: "gvisor", parameters: ["via": "docker"]))
            switch docker.availability() {
            case let .available(detail):
                #expect(registered && detail.contains("docker --runtime=runsc"), "\(detail)")
                #expect(docker.describe()["via"] == "docker --runtime=runsc")
            case let .unavailable(reason, fix):
                #expect(!registered)
                #expect(
                    reason.contains("no runsc runtime registered") && fix.contains("runsc install") && fix.contains("restart dockerd"),
                    "\(reason); \(fix)")
            }
            let oci = try LayerRegistry.make(LayerSpec(name: "gvisor", parameters: ["via": "oci"]))
            #expect(oci.availability().isAvailable)
            #expect(oci.describe()["via"] == "OCI bundle (runsc run)")
        }

        @Test(
            "through docker --runtime=runsc: libaio on a bind mount, the runtime's flags recorded, no container left",
            Precondition.gvisorDocker.trait)
        func runThroughDocker() throws {
            let layer = try LayerRegistry.make(
                LayerSpec(name: "gvisor", parameters: ["via": "docker", "engine_fallback": "libaio", "storage": "bind"]))
            let context = gvisorContext("docker")
            defer { removeGVisorTestFolder(context) }
            let result = try layer.runTimed(gvisorWorkload(), rep: 1, context: context)
            let s = result.layer.settings
            print(
                "gvisor via docker: \(result.status) \(result.error ?? ""), write iops \(String(format: "%.0f", result.write?.iops ?? 0)), "
                    + "startup_s \(s["startup_s"] ?? "?"), runtime_args \(s["runtime_args"] ?? "?")")
            #expect(result.status == .ok, "\(result.error ?? "")")
            #expect(result.engine.name == "libaio")
            #expect(s["via"] == "docker --runtime=runsc")
            #expect(s["runtime"] == "runsc")
            #expect(s["target"]?.hasPrefix("/wp/target.dat") == true)
            let left = try Command.run("docker", ["ps", "-a", "-q", "--filter", "name=wp-\(context.runID)"], timeout: 60)
            #expect(left.stdout.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty, "\(left.stdout)")
        }
    }
}
