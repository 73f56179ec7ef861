import Foundation
import Testing
import WritePathEngine
import WritePathTestSupport

@testable import WritePathRunner

#if canImport(Glibc)
    import Glibc
#endif

/// Nothing of the run is left: no folder under the scratch folder, no cgroup, no LXC lock folder.
private func expectLXCRunLeftNothing(_ context: LayerContext) {
    let id = "wp-\(context.runID)"
    #expect(!FileManager.default.fileExists(atPath: "\(context.scratchDirectory)/lxc-\(context.runID)"))
    #expect(LXCLayer.leftoverCgroups(name: id).isEmpty, "\(LXCLayer.leftoverCgroups(name: id))")
    #expect(!FileManager.default.fileExists(atPath: "/run/lxc/lock\(context.scratchDirectory)/lxc-\(context.runID)"))
    let mountinfo = (try? String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8)) ?? ""
    #expect(!mountinfo.contains(context.scratchDirectory))
}

@Suite("lxc layer: parameters and configuration")
struct LXCLayerConfigTests {
    @Test(
        "is in the registry and names the parameter of a bad value or an unknown parameter",
        arguments: [("runtime", "runc"), ("storage", "volume"), ("memory", "1k"), ("cpus", "0"), ("write_iops_limit", "0"), ("path", "/")])
    func badParameters(key: String, value: String) {
        #expect(LayerRegistry.all.contains { $0.name == "lxc" })
        do {
            _ = try LayerRegistry.make(LayerSpec(name: "lxc", parameters: [key: value]))
            Issue.record("lxc accepted \(key)=\(value)")
        } catch let e as WritePathError {
            #expect("\(e)".contains("lxc.\(key)"), "\(e)")
        } catch {
            Issue.record("unexpected \(error)")
        }
    }

    @Test("cpus, memory and write limits become LXC's cgroup v1 keys, or cgroup2 keys on v2")
    func cgroupKeys() throws {
        let layer = try LXCLayer(parameters: ["cpus": "0.5", "memory": "256m", "write_iops_limit": "300", "write_bps_limit": "10m"])
        let v1 = Dictionary(uniqueKeysWithValues: layer.cgroupKeys(v2: false, device: (254, 0), memswAccounting: true))
        #expect(v1["lxc.cgroup.cpu.cfs_period_us"] == "100000")
        #expect(v1["lxc.cgroup.cpu.cfs_quota_us"] == "50000")
        #expect(v1["lxc.cgroup.memory.limit_in_bytes"] == "\(256 << 20)")
        #expect(v1["lxc.cgroup.memory.memsw.limit_in_bytes"] == "\(256 << 20)")
        #expect(v1["lxc.cgroup.blkio.throttle.write_iops_device"] == "254:0 300")
        #expect(v1["lxc.cgroup.blkio.throttle.write_bps_device"] == "254:0 \(10 << 20)")
        let v2 = Dictionary(uniqueKeysWithValues: layer.cgroupKeys(v2: true, device: (254, 0), memswAccounting: false))
        #expect(v2["lxc.cgroup2.cpu.max"] == "50000 100000")
        #expect(v2["lxc.cgroup2.memory.max"] == "\(256 << 20)")
        #expect(v2["lxc.cgroup2.io.max"] == "254:0 wiops=300 wbps=\(10 << 20)")
        #expect(try LXCLayer(parameters: [:]).cgroupKeys(v2: false, device: nil, memswAccounting: true).isEmpty)
    }

    @Test("the configuration has the dir rootfs, an empty network, no console, the bind mount and the keys")
    func config() throws {
        let layer = try LXCLayer(parameters: ["storage": "bind", "cpus": "1"])
        let text = layer.config(
            name: "wp-1", rootfs: "/s/lxc-1/rootfs", bind: "/s/lxc-1/bind",
            cgroupKeys: layer.cgroupKeys(v2: false, device: nil, memswAccounting: false), include: true)
        let lines = text.split(separator: "\n").map(String.init)
        for expected in [
            "lxc.rootfs.path = dir:/s/lxc-1/rootfs", "lxc.uts.name = wp-1", "lxc.include = \(LXCLayer.commonConfig)",
            "lxc.net.0.type = empty", "lxc.console.path = none", "lxc.mount.entry = /s/lxc-1/bind wp none bind,create=dir 0 0",
            "lxc.cgroup.cpu.cfs_quota_us = 100000",
        ] {
            #expect(lines.contains(expected), "\(expected) missing from:\n\(text)")
        }
        let rootfs = try LXCLayer(parameters: [:]).config(name: "wp-1", rootfs: "/r", bind: nil, cgroupKeys: [], include: false)
        #expect(!rootfs.contains("lxc.mount.entry") && !rootfs.contains("lxc.include"))
    }

    @Test("the write path: LXC's namespaces and cgroup, then the directory rootfs or the bind mount")
    func writePath() throws {
        let layer = try LXCLayer(parameters: [:])
        let encoded = layer.writePath(layer.describe()).encoded
        #expect(encoded.contains("namespaces · cgroup (lxc)") && encoded.contains("directory rootfs"), "\(encoded)")
        let bind = try LXCLayer(parameters: ["storage": "bind"])
        #expect(bind.writePath(bind.describe()).encoded.contains("mount (bind mount)"))
    }
}

extension RuntimeLayerRuns {
    @Suite("lxc layer: runs", .serialized, Precondition.lxc.trait)
    struct LXCLayerRunTests {
        @Test("a short io_uring randwrite runs under lxc-execute on the directory rootfs, records the layer, leaves nothing behind")
        func shortRun() throws {
            let layer = try LayerRegistry.make(LayerSpec(name: "lxc"))
            let context = runtimeContext("lxcroot")
            defer { removeRuntimeTestFolder(context) }
            let pivots = LXCLayer.cgroupFolders(["lxc.pivot"])
            let result = try layer.runTimed(runtimeLayerWorkload(), rep: 2, context: context)
            let s = result.layer.settings
            print(
                "lxc rootfs: write iops \(String(format: "%.0f", result.write?.iops ?? 0)), startup_s \(s["startup_s"] ?? "?"), "
                    + "rootfs \(s["rootfs"] ?? "?"), engine \(result.engine.features)")
            #expect(result.status == .ok, "\(result.error ?? "")")
            #expect((result.write?.ios ?? 0) > 0)
            #expect(result.engine.name == "io_uring")
            #expect(result.layer.name == "lxc")
            #expect(result.rep == 2)
            #expect(s["runtime"] == "lxc")
            #expect(s["runtime_version"]?.hasPrefix("lxc 5") == true, "\(s["runtime_version"] ?? "")")
            #expect(s["target"] == "/data/target.dat (directory rootfs)")
            #expect(s["startup_s"].flatMap(Double.init) != nil)
            #expect(s[LayerWritePath.settingsKey]?.contains("directory rootfs") == true)
            expectLXCRunLeftNothing(context)
            #expect(LXCLayer.cgroupFolders(["lxc.pivot"]) == pivots, "LXC's pivot cgroups made by the run are left")
        }

        @Test("storage=bind with cpus, memory and write_iops_limit through LXC's cgroup keys holds IOPS to 300 ± 10%")
        func limits() throws {
            let layer = try LayerRegistry.make(
                LayerSpec(name: "lxc", parameters: ["storage": "bind", "cpus": "1", "memory": "256m", "write_iops_limit": "300"]))
            let context = runtimeContext("lxclim")
            defer { removeRuntimeTestFolder(context) }
            let result = try layer.run(runtimeLayerWorkload(runtime: 3, size: 64 << 20, rampTime: 1), rep: 1, context: context)
            let iops = result.write?.iops ?? 0
            let s = result.layer.settings
            print("lxc write_iops_limit=300: measured \(String(format: "%.1f", iops)) IOPS, keys \(s["lxc_cgroup_keys"] ?? "?")")
            #expect(result.status == .ok, "\(result.error ?? "")")
            #expect(abs(iops - 300) <= 30, "measured \(iops) IOPS")
            #expect(s["target"]?.hasPrefix("/wp/target.dat (bind mount") == true)
            #expect(s["write_iops_limit"] == "300")
            #expect(s["lxc_cgroup_keys"]?.contains("write_iops_device") == true || s["lxc_cgroup_keys"]?.contains("wiops=300") == true)
            expectLXCRunLeftNothing(context)
        }
    }
}
