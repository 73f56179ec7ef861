import Foundation
import Testing
import WritePathEngine
import WritePathTestSupport

@testable import WritePathRunner

#if canImport(Glibc)
    import Glibc
#endif

/// The `writepath` binary for the container: WRITEPATH_ENGINE, else the one built with the tests.
private let ociEngine = BuiltBinaries.environmentEngine ?? BuiltBinaries.nextToTests ?? EngineRootfs.defaultEngineBinary()

private func ociContext(_ name: String) -> LayerContext {
    let base = "/var/tmp/writepath-oci-tests/\(name)-\(getpid())"
    try? FileManager.default.removeItem(atPath: base)
    try? FileManager.default.createDirectory(atPath: base, withIntermediateDirectories: true)
    return LayerContext(
        engineBinary: ociEngine, logDirectory: "\(base)/logs", scratchDirectory: "\(base)/scratch",
        runID: "oci\(getpid())\(name)", graceSeconds: 60)
}

private func ociWorkload(runtime: Double, iodepth: Int, size: UInt64 = 16 << 20) -> Workload {
    var w = Workload()
    w.name = "oci"
    w.rw = .randwrite
    w.bs = 4096
    w.iodepth = iodepth
    w.size = size
    w.runtime = runtime
    w.time_based = true
    w.direct = true
    return w
}

/// Removes a test's folder, and the tests' parent folder when it is empty.
private func removeTestFolder(_ context: LayerContext) {
    let base = (context.logDirectory as NSString).deletingLastPathComponent
    try? FileManager.default.removeItem(atPath: base)
    rmdir((base as NSString).deletingLastPathComponent)
}

/// Mount points at or below `path` (/proc/self/mountinfo).
private func mounts(under path: String) -> [String] {
    let text = (try? String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8)) ?? ""
    return text.split(separator: "\n").compactMap { line -> String? in
        let f = line.split(separator: " ")
        guard f.count > 4 else { return nil }
        let mp = String(f[4])
        return mp.hasPrefix(path) ? mp : nil
    }
}

@Suite("oci-runc layer: parameters and bundle")
struct OCIRuncLayerConfigTests {
    @Test("an unknown parameter is rejected with its name")
    func unknownParameter() throws {
        do {
            _ = try LayerRegistry.make(LayerSpec(name: "oci-runc", parameters: ["blkio_weight": "100"]))
            Issue.record("accepted an unknown parameter")
        } catch let e as WritePathError {
            #expect("\(e)".contains("oci-runc.blkio_weight"), "\(e)")
        }
        #expect(throws: WritePathError.self) { try OCIRuncLayer(parameters: ["bogus": "1"]) }
        do {
            _ = try OCIRuncLayer(parameters: ["bogus": "1"])
        } catch let e as WritePathError {
            #expect("\(e)".contains("oci-runc.bogus"), "\(e)")
        }
    }

    @Test(
        "bad values name oci-runc.<parameter>",
        arguments: [
            ("cpus", "lots"), ("memory", "huge"), ("memory", "1m"), ("write_iops_limit", "0"),
            ("write_bps_limit", "fast"), ("runtime", "kata"),
        ])
    func badValues(key: String, value: String) {
        do {
            _ = try OCIRuncLayer(parameters: [key: value])
            Issue.record("\(key)=\(value) accepted")
        } catch {
            #expect("\(error)".contains("oci-runc.\(key)"), "\(error)")
        }
    }

    @Test("is in the registry")
    func registered() {
        #expect(LayerRegistry.all.contains { $0.name == "oci-runc" })
    }

    @Test("config.json carries the limits, the namespaces and the engine command")
    func config() throws {
        let layer = try OCIRuncLayer(parameters: ["cpus": "1.5", "memory": "512m", "write_iops_limit": "500", "write_bps_limit": "20m"])
        var w = Workload()
        w.rw = .randwrite
        w.directory = "/host/folder"
        w.filename = "/host/file.dat"
        let args = EngineInBox.command(w, target: OCIRuncLayer.targetPath)
        #expect(Array(args.prefix(4)) == ["/writepath", "run", "--output-format=json", "--quiet"])
        #expect(args.contains("--filename=/data/target.dat"))
        #expect(args.contains("--rw=randwrite"))
        #expect(!args.contains { $0.hasPrefix("--directory") })
        let spec = layer.config(arguments: args, cgroupsPath: "/writepath/wp-x", throttleDevice: (major: 254, minor: 0))
        let data = try JSONSerialization.data(withJSONObject: spec, options: [.sortedKeys])
        let json = try #require(JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(json["ociVersion"] as? String == "1.0.2")
        let root = try #require(json["root"] as? [String: Any])
        #expect(root["path"] as? String == "rootfs")
        #expect(root["readonly"] as? Bool == false)
        let process = try #require(json["process"] as? [String: Any])
        #expect(process["terminal"] as? Bool == false)
        #expect(process["cwd"] as? String == "/")
        #expect(process["args"] as? [String] == args)
        let linux = try #require(json["linux"] as? [String: Any])
        #expect(linux["cgroupsPath"] as? String == "/writepath/wp-x")
        let ns = (linux["namespaces"] as? [[String: Any]])?.compactMap { $0["type"] as? String } ?? []
        #expect(Set(ns) == ["pid", "ipc", "uts", "mount", "network"])
        let res = try #require(linux["resources"] as? [String: Any])
        let cpu = try #require(res["cpu"] as? [String: Any])
        #expect((cpu["quota"] as? NSNumber)?.intValue == 150_000)
        #expect((cpu["period"] as? NSNumber)?.intValue == 100_000)
        let mem = try #require(res["memory"] as? [String: Any])
        #expect((mem["limit"] as? NSNumber)?.uint64Value == 512 << 20)
        let blk = try #require(res["blockIO"] as? [String: Any])
        let iops = try #require((blk["throttleWriteIOPSDevice"] as? [[String: Any]])?.first)
        #expect((iops["major"] as? NSNumber)?.intValue == 254)
        #expect((iops["minor"] as? NSNumber)?.intValue == 0)
        #expect((iops["rate"] as? NSNumber)?.intValue == 500)
        let bps = try #require((blk["throttleWriteBpsDevice"] as? [[String: Any]])?.first)
        #expect((bps["rate"] as? NSNumber)?.uint64Value == 20 << 20)
        let mountPoints = (json["mounts"] as? [[String: Any]])?.compactMap { $0["destination"] as? String } ?? []
        #expect(mountPoints.contains("/proc") && mountPoints.contains("/dev") && mountPoints.contains("/sys"))

        let settings = layer.describe()
        #expect(settings["cpus"] == "1.5")
        #expect(settings["cpu_cfs_quota_period_us"] == "150000/100000")
        #expect(settings["memory_bytes"] == "\(512 << 20)")
        #expect(settings["write_iops_limit"] == "500")
        #expect(settings["storage"] == "overlay (mounted by writepath)")
        #expect(settings["cgroup_version"] == "v1" || settings["cgroup_version"] == "v2")
    }

    @Test("the whole disk of a folder on a block device is found (a partition gives its disk)", Precondition.blockDeviceUnderVarTmp.trait)
    func wholeDisk() throws {
        let disk = try #require(OCIRuncLayer.wholeDisk(holding: "/var/tmp"))
        #expect(FileManager.default.fileExists(atPath: "/sys/block/\(disk.name)"), "\(disk)")
        #expect(OCIRuncLayer.wholeDisk(holding: "/proc") == nil)
    }

    @Test("runtime=crun reports honestly whether it can run here")
    func crunAvailability() throws {
        let layer = try OCIRuncLayer(parameters: ["runtime": "crun"])
        let a = layer.availability()
        let cg = OCIRuncLayer.cgroupMode()
        // Every branch checks something: installed or not, root or not, hybrid cgroups or not.
        if Command.which("crun") == nil {
            #expect(a == .unavailable(reason: "crun is not installed", fix: "apt-get install crun"))
        } else if geteuid() != 0 {
            guard case let .unavailable(reason, _) = a else { Issue.record("crun claimed available without root: \(a)"); return }
            #expect(reason.contains("needs root"), "\(reason)")
        } else if cg.mode == "hybrid", !cg.unifiedControllers.isEmpty {
            guard case let .unavailable(reason, fix) = a else { Issue.record("crun claimed available on hybrid cgroups: \(a)"); return }
            #expect(reason.contains("hybrid"), "\(reason)")
            #expect(fix.contains("runtime=runc"))
        } else if OCIRuncLayer.overlaySupported() {
            guard case let .available(detail) = a else { Issue.record("crun unavailable on \(cg.mode) cgroups: \(a)"); return }
            #expect(detail.contains("crun"), "\(detail)")
            #expect(detail.contains("cgroup \(cg.version) (\(cg.mode))"), "\(detail)")
        } else {
            #expect(!a.isAvailable, "available without overlay: \(a)")
        }
    }
}

@Suite("oci-runc layer: runs", .serialized, Precondition.ociRunc.trait)
struct OCIRuncLayerRunTests {
    @Test("a short randwrite runs in runc, records the layer and leaves nothing behind")
    func shortRun() throws {
        let layer = try LayerRegistry.make(LayerSpec(name: "oci-runc"))
        let context = ociContext("short")
        defer { removeTestFolder(context) }
        let workload = ociWorkload(runtime: 2, iodepth: 4)
        let start = Date()
        let result = try layer.run(workload, rep: 3, context: context)
        let took = Date().timeIntervalSince(start)
        print(
            "oci-runc short run: \(String(format: "%.2f", took)) s wall (workload 2 s), write iops "
                + "\(String(format: "%.0f", result.write?.iops ?? 0))"
        )
        #expect(result.status == .ok, "\(result.error ?? "")")
        #expect((result.write?.ios ?? 0) > 0)
        #expect(result.layer.name == "oci-runc")
        #expect(result.layer.settings["runtime"] == "runc")
        #expect(result.layer.settings["runtime_version"]?.hasPrefix("runc version") == true)
        #expect(result.layer.settings["target"] == "/data/target.dat (overlay upper)")
        #expect(result.rep == 3)
        #expect(result.workload == workload)
        #expect(result.target?.path == "/data/target.dat" || result.jobs.first?.path == "/data/target.dat")

        // Nothing left behind: no mount, no container, no bundle.
        #expect(mounts(under: context.scratchDirectory).isEmpty, "\(mounts(under: context.scratchDirectory))")
        let list = try Command.run("runc", ["list", "-q"], timeout: 20)
        #expect(!list.stdout.split(separator: "\n").contains { $0 == "wp-\(context.runID)" }, "\(list.stdout)")
        let bundle = try #require(result.layer.settings["bundle"])
        #expect(!FileManager.default.fileExists(atPath: bundle))
        #expect(!FileManager.default.fileExists(atPath: "\(context.scratchDirectory)/oci-\(context.runID)"))
        #expect(!FileManager.default.fileExists(atPath: "/sys/fs/cgroup/blkio/writepath/wp-\(context.runID)"))
        #expect(FileManager.default.fileExists(atPath: "\(context.logDirectory)/engine-stdout.json"))
    }

    @Test("write_iops_limit=500 holds the measured IOPS to 500 ± 10%")
    func iopsThrottle() throws {
        let layer = try LayerRegistry.make(LayerSpec(name: "oci-runc", parameters: ["write_iops_limit": "500"]))
        let context = ociContext("iops")
        defer { removeTestFolder(context) }
        var workload = ociWorkload(runtime: 3, iodepth: 8, size: 64 << 20)
        workload.ioengine = .io_uring
        // Watch the container's cgroup while it runs: what runc wrote into the throttle file.
        let watcher = CgroupWatcher(path: "/sys/fs/cgroup/blkio/writepath/wp-\(context.runID)/blkio.throttle.write_iops_device")
        watcher.start()
        let start = Date()
        let result = try layer.run(workload, rep: 1, context: context)
        let took = Date().timeIntervalSince(start)
        watcher.stop()
        let iops = result.write?.iops ?? 0
        print(
            "oci-runc write_iops_limit=500: measured \(String(format: "%.1f", iops)) IOPS over "
                + "\(String(format: "%.2f", result.write?.runtime_s ?? 0)) s; run took \(String(format: "%.2f", took)) s; "
                + "throttle file seen: \(watcher.seen.isEmpty ? "never" : watcher.seen.joined(separator: " | ")); device "
                + "\(result.layer.settings["throttle_device"] ?? "?")"
        )
        #expect(result.status == .ok, "\(result.error ?? "")")
        #expect(result.layer.settings["write_iops_limit"] == "500")
        #expect(abs(iops - 500) <= 50, "measured \(iops) IOPS; throttle file: \(watcher.seen)")
        #expect(mounts(under: context.scratchDirectory).isEmpty)
    }

    @Test("cpus, memory and write_bps_limit reach the container's cgroup; bandwidth is held to the limit")
    func limitsReachCgroup() throws {
        let layer = try LayerRegistry.make(
            LayerSpec(name: "oci-runc", parameters: ["cpus": "0.5", "memory": "256m", "write_bps_limit": "8m"]))
        let context = ociContext("limits")
        defer { removeTestFolder(context) }
        var workload = ociWorkload(runtime: 3, iodepth: 4, size: 64 << 20)
        workload.bs = 64 << 10
        workload.rw = .write
        let cg = "writepath/wp-\(context.runID)"
        let quota = CgroupWatcher(path: "/sys/fs/cgroup/cpu/\(cg)/cpu.cfs_quota_us")
        let memory = CgroupWatcher(path: "/sys/fs/cgroup/memory/\(cg)/memory.limit_in_bytes")
        let bps = CgroupWatcher(path: "/sys/fs/cgroup/blkio/\(cg)/blkio.throttle.write_bps_device")
        let v1 = OCIRuncLayer.cgroupMode().version == "v1"
        if v1 { [quota, memory, bps].forEach { $0.start() } }
        let result = try layer.run(workload, rep: 1, context: context)
        [quota, memory, bps].forEach { $0.stop() }
        let bw = result.write?.bw_bytes_per_s ?? 0
        print(
            "oci-runc cpus=0.5 memory=256m write_bps_limit=8m: \(String(format: "%.2f", bw / 1048576)) MiB/s; cgroup saw quota "
                + "\(quota.seen), memory \(memory.seen), bps \(bps.seen)"
        )
        #expect(result.status == .ok, "\(result.error ?? "")")
        #expect(result.layer.settings["cpu_cfs_quota_period_us"] == "50000/100000")
        #expect(result.layer.settings["memory_bytes"] == "\(256 << 20)")
        #expect(result.layer.settings["write_bps_limit"] == "\(8 << 20)")
        if v1 {
            #expect(quota.seen.contains("50000"), "\(quota.seen)")
            #expect(memory.seen.contains("\(256 << 20)"), "\(memory.seen)")
            #expect(bps.seen.contains { $0.hasSuffix(" \(8 << 20)") }, "\(bps.seen)")
        }
        #expect(abs(bw - Double(8 << 20)) <= 0.15 * Double(8 << 20), "measured \(bw) B/s")
    }

    @Test("a run past its deadline is killed, reported as a `runc run` timeout, and cleaned up")
    func timeout() throws {
        let layer = try LayerRegistry.make(LayerSpec(name: "oci-runc"))
        var context = ociContext("timeout")
        defer { removeTestFolder(context) }
        context.graceSeconds = 2
        var workload = Workload()
        workload.rw = .write
        workload.size = 64 << 20
        workload.rate_iops = 100  // 16384 writes: minutes, far past the 2 s deadline
        let start = Date()
        do {
            _ = try layer.run(workload, rep: 1, context: context)
            Issue.record("a run of minutes finished within 2 s")
        } catch let WritePathError.system(call, _, errno, hint) {
            #expect(call == "runc run")
            #expect(errno == ETIMEDOUT, "\(hint)")
        }
        let took = Date().timeIntervalSince(start)
        print("oci-runc timeout: stopped after \(String(format: "%.2f", took)) s")
        #expect(took < 15)
        #expect(mounts(under: context.scratchDirectory).isEmpty)
        let list = try Command.run("runc", ["list", "-q"], timeout: 20)
        #expect(!list.stdout.contains("wp-\(context.runID)"), "\(list.stdout)")
        #expect(!FileManager.default.fileExists(atPath: "\(context.scratchDirectory)/oci-\(context.runID)"))
    }

    @Test("a throttle on a scratch folder without a block device names the parameter and leaves nothing")
    func throttleWithoutDevice() throws {
        let layer = try LayerRegistry.make(LayerSpec(name: "oci-runc", parameters: ["write_iops_limit": "500"]))
        var context = ociContext("tmpfs")
        defer { removeTestFolder(context); try? FileManager.default.removeItem(atPath: context.scratchDirectory) }
        context.scratchDirectory = "/dev/shm/writepath-oci-test-\(getpid())"
        do {
            _ = try layer.run(ociWorkload(runtime: 1, iodepth: 1), rep: 1, context: context)
            Issue.record("throttled a tmpfs")
        } catch let WritePathError.invalidInput(field, _) {
            #expect(field == "oci-runc.write_iops_limit")
        }
        #expect(mounts(under: context.scratchDirectory).isEmpty)
        #expect(!FileManager.default.fileExists(atPath: "\(context.scratchDirectory)/oci-\(context.runID)"))
    }

    @Test("runtime=crun on hybrid cgroups fails as a `crun run` error naming the reason", Precondition.crunOnHybridCgroups.trait)
    func crunFailsHonestly() throws {
        let layer = try OCIRuncLayer(parameters: ["runtime": "crun"])
        let context = ociContext("crun")
        defer { removeTestFolder(context) }
        do {
            _ = try layer.run(ociWorkload(runtime: 1, iodepth: 1), rep: 1, context: context)
            Issue.record("crun ran although availability() said it cannot")
        } catch let WritePathError.system(call, _, _, hint) {
            #expect(call == "crun run")
            #expect(hint.contains("hybrid"), "\(hint)")
        }
        #expect(mounts(under: context.scratchDirectory).isEmpty)
        #expect(!FileManager.default.fileExists(atPath: "\(context.scratchDirectory)/oci-\(context.runID)"))
    }
}

/// Polls a cgroup file on a thread and keeps each distinct content it saw.
private final class CgroupWatcher: @unchecked Sendable {
    let path: String
    private let lock = NSLock()
    private var values: [String] = []
    private var running = true
    init(path: String) { self.path = path }

    var seen: [String] { lock.lock(); defer { lock.unlock() }; return values }

    func start() {
        Thread.detachNewThread { [self] in
            while true {
                lock.lock(); let go = running; lock.unlock()
                if !go { break }
                if let s = try? String(contentsOfFile: path, encoding: .utf8) {
                    let v = s.trimmingCharacters(in: .whitespacesAndNewlines)
                    let stored = v.isEmpty ? "(empty)" : v
                    lock.lock(); if values.last != stored { values.append(stored) }; lock.unlock()
                }
                usleep(100_000)
            }
        }
    }

    func stop() { lock.lock(); running = false; lock.unlock() }
}
