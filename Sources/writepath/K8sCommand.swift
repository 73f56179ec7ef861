import ArgumentParser
import Foundation
import WritePathEngine
import WritePathRunner

/// `writepath k8s`: manifests that run a matrix's workloads in Kubernetes pods, and the results
/// from their logs. No cluster is needed to make them, and writepath applies nothing.
struct K8sCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "k8s",
        abstract: "Kubernetes manifests for a matrix's workloads (a Job per StorageClass or a DaemonSet), and results from pod logs.",
        subcommands: [K8sManifestsCommand.self, K8sResultsCommand.self])
}

/// `writepath k8s manifests`: see `KubernetesManifests`.
struct K8sManifestsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "manifests",
        abstract: "Write Kubernetes manifests that run a matrix's workloads: a Job per StorageClass (a PVC each) or a DaemonSet.",
        discussion: """
            Writes namespace.yaml, configmap.yaml (the task script), job-<class>.yaml (a PVC of the class \\
            and a Job) per --storage-class, daemonset.yaml with --daemonset (the target on a hostPath \\
            folder of each node), and kustomization.yaml into --output: apply them with kubectl apply -k DIR. \\
            Each run (workload x repetition; auto: its maximum) is an init container of the pod, one after \\
            the other; its log holds the result in the guest protocol's envelope: save it with kubectl logs \\
            POD -c CONTAINER > FILE and read it with writepath k8s results. The matrix's layers are not used: \\
            the pod is the layer (--layer-label k8s-pvc-<class> or k8s-node). The engine comes from an image \\
            (--image; default the image this binary makes for Docker Swarm tasks, built here with --build-image), \\
            which the nodes must have: a ConfigMap holds at most 1 MiB, too little for the binary. See docs/fleet.md.
            """)

    @Option(name: .customLong("matrix"), help: "A suite (quick, standard, full, crosscheck) or a matrix YAML file.") var matrix: String
    @Option(name: .customLong("storage-class"), help: "A StorageClass: one Job and one PVC of it (repeatable).") var storageClasses:
        [String] =
            []
    @Flag(name: .customLong("daemonset"), help: "A DaemonSet: one pod per node, the target on a hostPath folder.") var daemonSet = false
    @Option(name: .customLong("image"), help: "The image with /writepath and /bin/busybox (default: writepath-swarm:<content hash>).")
    var image: String?
    @Flag(name: .customLong("build-image"), help: "Build the default image in the local docker (for docker save | ctr import).")
    var buildImage = false
    @Option(name: .customLong("namespace"), help: "The namespace (made by namespace.yaml).") var namespace = "writepath"
    @Option(name: .customLong("claim-size"), help: "Each PVC's size, a Kubernetes quantity.") var claimSize = "4Gi"
    @Option(name: .customLong("host-path"), help: "The DaemonSet's target folder on each node.") var hostPath = "/var/tmp/writepath-k8s"
    @Option(name: .customLong("output"), help: "The folder the manifests go in (made if missing).") var output: String

    func validate() throws {
        if image != nil && buildImage { throw ValidationError("invalid --build-image: not with --image (it builds the default image)") }
        guard hostPath.hasPrefix("/") else { throw ValidationError("invalid host-path: '\(hostPath)'; expected an absolute path") }
        guard claimSize.range(of: "^[0-9]+(Ki|Mi|Gi|Ti|k|M|G|T)?$", options: .regularExpression) != nil else {
            throw ValidationError("invalid claim-size: '\(claimSize)'; expected a Kubernetes quantity such as 4Gi")
        }
    }

    func run() throws {
        let given = try MatrixCommandRunner.matrixText(matrix)
        let spec = try MatrixSpec.parse(given.text, source: given.source)
        let binary = EngineRootfs.defaultEngineBinary()
        let tag = try image ?? (buildImage ? SwarmRunner.image(binary: binary) : SwarmRunner.imageTag(binary: binary))
        var options = KubernetesManifests.Options(image: tag)
        options.namespace = namespace
        options.storageClasses = storageClasses
        options.daemonSet = daemonSet
        options.claimSize = claimSize
        options.hostPath = hostPath
        let files = try KubernetesManifests.render(spec, options: options)
        try OutputFile.ensureFolder(output, field: "output")
        for f in files { try Output.writeFile(f.text, to: "\(output)/\(f.file)", field: "output") }
        Output.stdout(
            "wrote \(files.map(\.file).joined(separator: ", ")) to \(output); image \(tag)"
                + (image == nil && !buildImage ? " (not built: --build-image builds it here)" : "") + "\n"
                + "apply: kubectl apply -k \(output); results: kubectl logs POD -c CONTAINER > run.log; writepath k8s results run.log\n")
    }
}

/// `writepath k8s results LOG...`: the engine's results from pod logs (their envelopes).
struct K8sResultsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "results",
        abstract: "Read the results from pod logs (kubectl logs POD -c CONTAINER) into result files.",
        discussion: """
            Each LOG must hold one whole envelope (a truncated or garbled one is an error naming the file, \\
            exit 2). Writes <output-dir>/<log name>.json, writepath.result/1 documents that writepath report \\
            reads beside a matrix's run folder (hand-run layers).
            """)

    @Argument(help: "Pod container logs, one run each.") var logs: [String]
    @Option(name: .customLong("output-dir"), help: "Where the result files go (default: the current folder).") var outputDirectory = "."

    func validate() throws {
        guard !logs.isEmpty else { throw ValidationError("invalid LOG: missing; give the saved logs of the pods' run containers") }
    }

    func run() throws {
        try OutputFile.ensureFolder(outputDirectory, field: "output-dir")
        for log in logs {
            guard let data = FileManager.default.contents(atPath: log) else {
                throw WritePathError.invalidInput(field: log, message: "cannot be read; give a saved pod log")
            }
            let json = try KubernetesManifests.openLog(String(decoding: data, as: UTF8.self), source: log)
            let name = ((log as NSString).lastPathComponent as NSString).deletingPathExtension
            let file = "\(outputDirectory)/\(name).json"
            try Output.writeFile(String(decoding: json, as: UTF8.self), to: file, field: "output-dir")
            Output.stdout("\(log): \(file)\n")
        }
    }
}
