import Foundation
import Testing
import WritePathEngine
import WritePathTestSupport

@testable import WritePathRunner

#if canImport(Glibc)
    import Glibc
#endif

/// The same engine must take the same kernel path in every layer: the engine facts a run records
/// (`engine.features`: io_uring setup, fixed buffers and file, io-wq inline or punted, colocation)
/// must not change because the engine runs in a PID namespace or a container.
@Suite("Engine parity across layers", .serialized)
struct EngineParityTests {
    /// fsync at every write: io_uring always hands an fsync to an io-wq worker, so every layer's
    /// run must find `iowq:punted` and, at iodepth 1, colocate (`iowq_colocate=auto`).
    static let arguments = [
        "run", "--rw=write", "--bs=4k", "--iodepth=1", "--size=1m", "--fsync=1", "--output-format=json",
    ]

    static func features(ofJSON json: String) throws -> [String] {
        let root = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        let runs = try #require(root["runs"] as? [[String: Any]])
        let run = try #require(runs.first)
        #expect(run["status"] as? String == "ok", "\(run["error"] ?? "")")
        let engine = try #require(run["engine"] as? [String: Any])
        return try #require(engine["features"] as? [String])
    }

    /// The features with the CPU number of the colocation left out (which CPU is the first
    /// allowed one may differ between a container's cpuset and the host's).
    static func comparable(_ features: [String]) -> [String] {
        features.map { $0.hasPrefix("iowq_colocated:") ? "iowq_colocated:(\($0.split(separator: "(").last ?? ""))" : $0 }
    }

    func hostRun(_ prefix: [String] = [], file: String) throws -> [String] {
        defer { unlink(file) }
        let exe = prefix.first ?? BuiltBinaries.writepath
        let args =
            prefix.isEmpty
            ? Self.arguments + ["--filename=\(file)"]
            : Array(prefix.dropFirst()) + [BuiltBinaries.writepath] + Self.arguments + ["--filename=\(file)"]
        let r = try runProcess(exe, args, timeout: 120)
        #expect(r.status == 0, "\(r.stderr)")
        return try Self.features(ofJSON: r.stdout)
    }

    @Test("a PID namespace (unshare --pid --mount-proc) records the host's engine facts, io-wq punting included")
    func pidNamespace() throws {
        let host = try hostRun(file: "/var/tmp/wp-parity-host-\(getpid()).dat")
        #expect(host.contains("iowq:punted"), "host features: \(host)")
        let ns = try hostRun(
            ["/usr/bin/unshare", "--pid", "--fork", "--mount-proc"],
            file: "/var/tmp/wp-parity-ns-\(getpid()).dat")
        #expect(Self.comparable(ns) == Self.comparable(host), "host: \(host)\nnamespace: \(ns)")
    }

    @Test("a Docker container records the host's engine facts", Precondition.docker.trait)
    func docker() throws {
        var w = shortWorkload(runtime: 1, iodepth: 1)
        w.rw = .write
        w.size = 1 << 20
        w.time_based = false
        w.runtime = 0
        w.fsync = 1
        let context = testContext("parity")
        let host = try LayerRegistry.make(LayerSpec(name: "host")).run(w, rep: 1, context: context)
        let box = try LayerRegistry.make(LayerSpec(name: "docker-volume")).run(w, rep: 1, context: context)
        #expect(host.status == .ok, "\(host.error ?? "")")
        #expect(box.status == .ok, "\(box.error ?? "")")
        #expect(host.engine.features.contains("iowq:punted"), "\(host.engine.features)")
        #expect(
            Self.comparable(box.engine.features) == Self.comparable(host.engine.features),
            "host: \(host.engine.features)\ndocker-volume: \(box.engine.features)")
    }
}
