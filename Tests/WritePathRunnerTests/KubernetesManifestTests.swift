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

/// `writepath k8s manifests`: the YAML parses and has the structure a cluster needs. No cluster
/// runs here: kubectl's schema validation needs an API server and is skipped visibly.
@Suite("Kubernetes manifests")
struct KubernetesManifestTests {
    static let matrix = try! MatrixSpec.parse(
        """
        layers: [host]
        workloads:
          - { name: rand-4k-qd32, rw: randwrite, bs: 4k, iodepth: 32, size: 64m, runtime: 2, time_based: true }
          - { name: seq_128k, rw: write, bs: 128k, iodepth: 8, size: 64m, runtime: 2, time_based: true }
        repetitions: 2
        """, source: "test")

    static func files() throws -> [String: [[String: Any]]] {
        var o = KubernetesManifests.Options(image: "writepath-swarm:test")
        o.storageClasses = ["fast-ssd", "standard"]
        o.daemonSet = true
        var out: [String: [[String: Any]]] = [:]
        for f in try KubernetesManifests.render(matrix, options: o) {
            out[f.file] = try Yams.load_all(yaml: f.text).compactMap { $0 as? [String: Any] }
        }
        return out
    }

    @Test("a Job and a PVC per StorageClass, a DaemonSet, the ConfigMap with the task script, a kustomization listing them")
    func structure() throws {
        let files = try Self.files()
        #expect(
            Set(files.keys) == [
                "namespace.yaml", "configmap.yaml", "job-fast-ssd.yaml", "job-standard.yaml", "daemonset.yaml", "kustomization.yaml",
            ])
        let kustomization = try #require(files["kustomization.yaml"]?.first)
        #expect(Set((kustomization["resources"] as? [String]) ?? []) == Set(files.keys).subtracting(["kustomization.yaml"]))
        let config = try #require(files["configmap.yaml"]?.first)
        let script = try #require((config["data"] as? [String: String])?["swarm-task.sh"])
        #expect(script == (try GuestProtocol.Script.swarmTask.text()))

        let job = try #require(files["job-fast-ssd.yaml"])
        #expect(job.map { $0["kind"] as? String } == ["PersistentVolumeClaim", "Job"])
        let claim = job[0], jobObject = job[1]
        let claimSpec = try #require(claim["spec"] as? [String: Any])
        #expect(claimSpec["storageClassName"] as? String == "fast-ssd")
        #expect((claim["metadata"] as? [String: Any])?["namespace"] as? String == "writepath")
        #expect(jobObject["apiVersion"] as? String == "batch/v1")
        let jobSpec = try #require(jobObject["spec"] as? [String: Any])
        #expect(jobSpec["backoffLimit"] as? Int == 0)
        let pod = try #require((jobSpec["template"] as? [String: Any])?["spec"] as? [String: Any])
        #expect(pod["restartPolicy"] as? String == "Never")
        let volumes = try #require(pod["volumes"] as? [[String: Any]])
        let claimName = (volumes.first { $0["name"] as? String == "target" }?["persistentVolumeClaim"] as? [String: Any])?["claimName"]
        #expect(claimName as? String == "writepath-fast-ssd")
        #expect((volumes.first { $0["name"] as? String == "task" }?["configMap"] as? [String: Any])?["name"] as? String == "writepath-task")
        // One init container per run, repetition by repetition, each running the task script.
        let runs = try #require(pod["initContainers"] as? [[String: Any]])
        #expect(runs.map { $0["name"] as? String } == ["r1-rand-4k-qd32", "r1-seq-128k", "r2-rand-4k-qd32", "r2-seq-128k"])
        for r in runs {
            let command = try #require(r["command"] as? [String])
            #expect(Array(command.prefix(5)) == ["/bin/busybox", "sh", "/writepath-task/swarm-task.sh", "/writepath", "run"])
            #expect(command.contains("--layer-label") && command.contains("k8s-pvc-fast-ssd"))
            #expect(command.contains { $0.hasPrefix("--filename=/wp/") })
            #expect(r["image"] as? String == "writepath-swarm:test")
        }

        let ds = try #require(files["daemonset.yaml"]?.first)
        #expect(ds["kind"] as? String == "DaemonSet" && ds["apiVersion"] as? String == "apps/v1")
        let dsSpec = try #require(ds["spec"] as? [String: Any])
        let selector = try #require((dsSpec["selector"] as? [String: Any])?["matchLabels"] as? [String: String])
        let template = try #require(dsSpec["template"] as? [String: Any])
        let podLabels = try #require((template["metadata"] as? [String: Any])?["labels"] as? [String: String])
        #expect(selector.allSatisfy { podLabels[$0.key] == $0.value }, "the selector must match the pod's labels")
        let dsPod = try #require(template["spec"] as? [String: Any])
        #expect(dsPod["restartPolicy"] as? String == "Always")
        let hostPath = (dsPod["volumes"] as? [[String: Any]])?.first { $0["name"] as? String == "target" }?["hostPath"] as? [String: Any]
        #expect(hostPath?["path"] as? String == "/var/tmp/writepath-k8s")
        let main = try #require((dsPod["containers"] as? [[String: Any]])?.first?["command"] as? [String])
        #expect(main.last?.contains("sleep") == true, "a DaemonSet's pod must not end")
        // Every name is a DNS label.
        for name in runs.compactMap({ $0["name"] as? String }) { #expect(KubernetesManifests.isName(name) && name.count <= 63) }
    }

    @Test("bad input names the field")
    func badInput() {
        var o = KubernetesManifests.Options(image: "x")
        #expect(throws: WritePathError.self) { try KubernetesManifests.render(Self.matrix, options: o) }
        o.storageClasses = ["Fast_SSD"]
        #expect {
            try KubernetesManifests.render(Self.matrix, options: o)
        } throws: { "\($0)".contains("storage-class") && "\($0)".contains("Fast_SSD") }
    }

    @Test(
        "a run's envelope, as the task script prints it with busybox, opens to the engine's result; a cut log does not",
        Precondition.swarm.trait)
    func envelopeRoundTrip() throws {
        let busybox = try GuestImage.findBusybox()
        let script = try #require(GuestProtocol.Script.swarmTask.path)
        let dir = "/var/tmp/writepath-k8s-test-\(getpid())"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let r = try Command.run(
            busybox,
            [
                "sh", script, engineBinary, "run", "--output-format=json", "--quiet", "--layer-label", "k8s-node", "--name=t",
                "--rw=randwrite", "--bs=4k", "--size=8m", "--runtime=1", "--time_based", "--filename=\(dir)/t.dat",
            ], timeout: 120)
        #expect(r.succeeded, "\(r.stderrTail())")
        let json = try KubernetesManifests.openLog(r.stdout, source: "pod.log")
        let doc = try JSONFormat.parse(json, source: "pod.log")
        #expect(doc.runs.count == 1 && doc.runs[0].status == .ok && doc.runs[0].layer.name == "k8s-node")
        let cut = String(r.stdout.prefix(r.stdout.count / 2))
        #expect { try KubernetesManifests.openLog(cut, source: "cut.log") } throws: { "\($0)".contains("cut.log") }
    }

    /// A Job for class standard and a DaemonSet, written into `dir`.
    static func writeManifests(to dir: String) throws {
        var o = KubernetesManifests.Options(image: "writepath-swarm:test")
        o.storageClasses = ["standard"]
        o.daemonSet = true
        for f in try KubernetesManifests.render(Self.matrix, options: o) {
            try f.text.write(toFile: "\(dir)/\(f.file)", atomically: true, encoding: .utf8)
        }
    }

    @Test("kubectl reads the manifests offline (kubectl kustomize)", Precondition.kubectl.trait)
    func kubectlKustomize() throws {
        let dir = "/var/tmp/writepath-k8s-kustomize-\(getpid())"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Self.writeManifests(to: dir)
        let r = try Command.run("kubectl", ["kustomize", dir], timeout: 60)
        #expect(r.succeeded, "\(r.stderrTail())")
        for kind in ["Namespace", "ConfigMap", "PersistentVolumeClaim", "Job", "DaemonSet"] { #expect(r.stdout.contains("kind: \(kind)")) }
    }
}
