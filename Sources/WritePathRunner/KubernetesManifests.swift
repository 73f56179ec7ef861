import Foundation
import WritePathEngine
import Yams

/// Kubernetes manifests that run a matrix's workloads in pods: a Job per StorageClass (each with
/// a PersistentVolumeClaim of that class, the target on it) or a DaemonSet (one pod per node, the
/// target on a hostPath folder of the node). writepath applies nothing: the manifests are for a
/// cluster ops already run (`kubectl apply -k DIR`).
///
/// Each run (workload × repetition) is one init container of the pod, so runs go one after the
/// other and each has its own log; the init container runs the task script from the ConfigMap
/// (`swarm-task.sh`, the same as Docker Swarm tasks run), which prints the engine's result in the
/// guest protocol's envelope: `kubectl logs POD -c CONTAINER > run.log`, then `writepath k8s
/// results run.log ...` opens the envelopes (a truncated or garbled log is an error, never a
/// number). The engine runs with `--layer-label` (`k8s-pvc-<class>`, `k8s-node`), so the results
/// are hand-run layers of a matrix's report.
///
/// The binary itself cannot come from a ConfigMap (a ConfigMap holds at most 1 MiB; the static
/// binary is tens of MB): it comes from an image made here (`SwarmRunner.image`: the engine, fio
/// when installed, a static busybox; `writepath-swarm:<content hash>`), loaded onto the nodes
/// (`docker save TAG | ctr -n k8s.io images import -`) or pushed to the cluster's registry.
public enum KubernetesManifests {
    /// What to make.
    public struct Options: Sendable {
        /// The namespace everything goes in (made by `namespace.yaml`).
        public var namespace = "writepath"
        /// One Job and one PVC per class.
        public var storageClasses: [String] = []
        /// A DaemonSet (one pod per node).
        public var daemonSet = false
        /// The image with `/writepath` and `/bin/busybox`.
        public var image: String
        /// Each PVC's size (Kubernetes quantity, e.g. 4Gi).
        public var claimSize = "4Gi"
        /// The DaemonSet's target folder on each node.
        public var hostPath = "/var/tmp/writepath-k8s"

        public init(image: String) { self.image = image }
    }

    /// The ConfigMap key and mount of the task script.
    static let scriptMount = "/writepath-task"

    /// The manifest files (name and YAML text) for `spec`'s workloads × repetitions (`auto`:
    /// its maximum): `namespace.yaml`, `configmap.yaml`, `job-<class>.yaml` per class (PVC and Job),
    /// `daemonset.yaml`, and `kustomization.yaml` listing them.
    public static func render(_ spec: MatrixSpec, options: Options) throws -> [(file: String, text: String)] {
        guard !options.storageClasses.isEmpty || options.daemonSet else {
            throw WritePathError.invalidInput(field: "storage-class", message: "give --storage-class CLASS (repeatable) or --daemonset")
        }
        for c in options.storageClasses where !isName(c) {
            throw WritePathError.invalidInput(
                field: "storage-class",
                message: "\(quoted(c)) is not a Kubernetes name ([a-z0-9.-], at most 63, starting and ending alphanumeric)")
        }
        guard isName(options.namespace) else {
            throw WritePathError.invalidInput(field: "namespace", message: "\(quoted(options.namespace)) is not a Kubernetes name")
        }
        let script = try GuestProtocol.Script.swarmTask.text()
        var files: [(file: String, text: String)] = []
        let labels = ["app.kubernetes.io/name": "writepath", "app.kubernetes.io/part-of": "writepath"]
        func metadata(_ name: String, _ labels: [String: String]) -> Object {
            ["name": name, "namespace": options.namespace, "labels": labels]
        }
        let namespace: Object = [
            "apiVersion": "v1", "kind": "Namespace", "metadata": ["name": options.namespace, "labels": labels] as Object,
        ]
        files.append(("namespace.yaml", try yaml(namespace)))
        let config: Object = [
            "apiVersion": "v1", "kind": "ConfigMap", "metadata": metadata("writepath-task", labels), "data": ["swarm-task.sh": script],
        ]
        files.append(("configmap.yaml", try yaml(config)))
        for c in options.storageClasses {
            let name = clipped("writepath-\(c)")
            let classLabels = labels.merging(["writepath/storage-class": c]) { a, _ in a }
            let claimSpec: Object = [
                "accessModes": ["ReadWriteOnce"], "storageClassName": c,
                "resources": ["requests": ["storage": options.claimSize]] as Object,
            ]
            let claim: Object = [
                "apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": metadata(name, classLabels), "spec": claimSpec,
            ]
            let volume: Object = ["name": "target", "persistentVolumeClaim": ["claimName": name]]
            let pod = podSpec(spec, image: options.image, label: "k8s-pvc-\(c)", volume: volume, restartPolicy: "Never")
            let template: Object = ["metadata": ["labels": classLabels] as Object, "spec": pod]
            let job: Object = [
                "apiVersion": "batch/v1", "kind": "Job", "metadata": metadata(name, classLabels),
                "spec": ["backoffLimit": 0, "template": template] as Object,
            ]
            files.append(("job-\(c).yaml", try yaml(claim) + "---\n" + (try yaml(job))))
        }
        if options.daemonSet {
            let selector = ["app.kubernetes.io/name": "writepath", "writepath/mode": "daemonset"]
            let volume: Object = ["name": "target", "hostPath": ["path": options.hostPath, "type": "DirectoryOrCreate"]]
            let pod = podSpec(spec, image: options.image, label: "k8s-node", volume: volume, restartPolicy: "Always")
            let template: Object = ["metadata": ["labels": labels.merging(selector) { a, _ in a }] as Object, "spec": pod]
            let daemonSet: Object = [
                "apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": metadata("writepath-node", labels),
                "spec": ["selector": ["matchLabels": selector], "template": template] as Object,
            ]
            files.append(("daemonset.yaml", try yaml(daemonSet)))
        }
        let kustomization: Object = [
            "apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization", "resources": files.map(\.file),
        ]
        files.append(("kustomization.yaml", try yaml(kustomization)))
        return files
    }

    typealias Object = [String: Any]

    /// The pod: one init container per run (workload × repetition, in that order), each running the
    /// task script on the target volume, then a main container that says the runs are done (and,
    /// in a DaemonSet, stays: its pods must not end).
    static func podSpec(_ spec: MatrixSpec, image: String, label: String, volume: Object, restartPolicy: String) -> Object {
        var runs: [Object] = []
        for rep in 1...max(spec.repetitions.maximum, 1) {
            for w in spec.workloads {
                let name = containerName(w, rep: rep)
                var argv = EngineInBox.command(w, target: "/wp/\(name).dat")
                if argv.first == "/writepath" { argv.insert(contentsOf: ["--layer-label", label], at: 2) }
                let mounts: [Object] = [["name": "target", "mountPath": "/wp"], ["name": "task", "mountPath": scriptMount]]
                runs.append([
                    "name": name, "image": image, "imagePullPolicy": "IfNotPresent",
                    "command": ["/bin/busybox", "sh", "\(scriptMount)/swarm-task.sh"] + argv, "volumeMounts": mounts,
                ])
            }
        }
        let hold = restartPolicy == "Always" ? "echo WRITEPATH-RUNS-DONE; exec /bin/busybox sleep 2147483647" : "echo WRITEPATH-RUNS-DONE"
        let main: Object = [
            "name": "done", "image": image, "imagePullPolicy": "IfNotPresent", "command": ["/bin/busybox", "sh", "-c", hold],
        ]
        let task: Object = ["name": "task", "configMap": ["name": "writepath-task"]]
        return ["restartPolicy": restartPolicy, "initContainers": runs, "containers": [main], "volumes": [volume, task]]
    }

    /// `r1-rand-4k-qd32`: a DNS label (lower case, digits, `-`, at most 63).
    static func containerName(_ w: Workload, rep: Int) -> String {
        let body = (w.name + (w.engine == .fio ? "-fio" : "")).lowercased().map { $0.isLetter || $0.isNumber ? $0 : "-" }
        var name = "r\(rep)-" + String(body)
        while name.contains("--") { name = name.replacingOccurrences(of: "--", with: "-") }
        name = clipped(name)
        while name.hasSuffix("-") { name.removeLast() }
        return name
    }

    static func clipped(_ s: String) -> String { String(s.prefix(63)) }

    /// A DNS-1123 label (what names of namespaces, claims and classes must be, near enough).
    static func isName(_ s: String) -> Bool {
        guard !s.isEmpty, s.count <= 63, let f = s.first, let l = s.last, f.isLetter || f.isNumber, l.isLetter || l.isNumber else {
            return false
        }
        return s.allSatisfy { ($0.isASCII && ($0.isLowercase || $0.isNumber)) || $0 == "-" || $0 == "." }
    }

    static func yaml(_ object: [String: Any]) throws -> String {
        do { return try Yams.dump(object: object, sortKeys: true) } catch {
            throw WritePathError.system(call: "yaml", path: "manifest", errno: EINVAL, hint: "\(error)")
        }
    }

    /// The engine's result in a pod's log (`kubectl logs POD -c CONTAINER`), from its envelope:
    /// the JSON the engine wrote. Throws naming `source` for a log without a whole envelope.
    public static func openLog(_ text: String, source: String) throws -> Data {
        do {
            return try GuestEnvelope.open(text, host: source, consoleTail: text.split(separator: "\n").suffix(3).joined(separator: " | "))
                .output
        } catch let WritePathError.system(_, _, _, hint) {
            throw WritePathError.invalidInput(field: source, message: "holds no whole result envelope: \(hint)")
        }
    }
}
