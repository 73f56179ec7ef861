import Foundation
import Testing

@testable import WritePathRunner

#if canImport(Glibc)
    import Glibc
#endif

/// What a test needs from the machine, in one place: each condition, the reason a test is
/// skipped without it, and the trait that skips it (`@Test(..., Precondition.root.trait)`).
///
/// Without its precondition a test is skipped, and Swift Testing shows it as skipped with the
/// reason, never as passed. Under `CI=true` a skip is a failure: the trait's condition throws
/// `PreconditionMissing`, which Swift Testing records as an issue of that test, so the run fails
/// naming the precondition and what to install, unless the precondition is in `allowedInCI`.
public enum Precondition: String, CaseIterable, Sendable {
    /// Running as root (mounts, loop devices, cgroups).
    case root
    /// Root, losetup and /dev/loop-control: a loop device can be made over a file.
    case loopDevice
    /// /var/tmp is on a block device (a disk or a partition of one), not tmpfs or overlay.
    case blockDeviceUnderVarTmp
    /// crun installed, root, and hybrid cgroups whose v2 mount holds controllers (crun refuses them).
    case crunOnHybridCgroups
    /// A docker daemon answers (the docker-* layers).
    case docker
    /// runc, root and overlay (the oci-runc layer).
    case ociRunc
    /// QEMU and the guest image's inputs (the qemu-* layers).
    case qemu
    /// The qemu-virtiofs layer is available: QEMU, root and virtiofsd (qemu-system-common).
    case virtiofsd
    /// The qemu-iscsi layer can run: tgtd starts here and QEMU has its iSCSI driver (qemu-block-extra).
    case iscsiTarget
    /// QEMU runs guests under KVM here (/dev/kvm opens and QEMU's cached probe chose KVM).
    case kvm
    /// The nested Xen rig's inputs: QEMU and Debian's Xen packages, cached or fetchable.
    case xenNested
    /// WRITEPATH_XEN_HVM_TEST=1: the nested HVM end-to-end test, which takes minutes, is asked for.
    case xenHVMAsked
    /// fio is installed (the fio-import tests compare with real fio output).
    case fio
    /// Chromium is installed (report.html rendered in a real browser).
    case chromium
    /// cmark-gfm is installed (summary.md rendered as GitHub renders a job summary).
    case cmarkGFM
    /// Debian's python3 (/usr/bin/python3) imports pandas and prometheus_client: the docs' pandas
    /// snippet and Prometheus' own text-format parser.
    case pythonReports
    /// shellcheck is installed (the guests' scripts are checked with it).
    case shellcheck
    /// mkfs.minix (util-linux), mkfs.ntfs (ntfs-3g), mkfs.exfat (exfatprogs), mkfs.ext4 (e2fsprogs):
    /// the signature tests make real filesystems on loop devices.
    case mkfsMinix, mkfsNtfs, mkfsExfat, mkfsExt4
    /// Root, unshare and python3: a host name can be set inside a UTS namespace.
    case utsNamespace
    /// Root and the gvisor, nspawn and podman layers available (scripts/install-deps.sh runtimes).
    case gvisor, nspawn, podman
    /// Root and the lxc layer available, and podman `rootless: true` (scripts/install-deps.sh runtimes).
    case lxc, podmanRootless
    /// The docker daemon has gVisor's runsc registered (gvisor `via: docker`; scripts/start-dockerd.sh registers it).
    case gvisorDocker
    /// Root, Ansible (ansible-playbook), sshd, ssh, ssh-keygen, ip and unshare: fleet hosts made of
    /// network namespaces, each with its own sshd, reached by Ansible over real SSH.
    case fleet
    /// A docker daemon answers and a static busybox is installed (the Docker Swarm task image).
    case swarm
    /// kubectl is installed (`kubectl kustomize` reads the manifests offline).
    case kubectl

    /// Preconditions whose absence does not fail a CI run, each with the reason it may be missing
    /// there. Everything else a CI machine must have: `make test` installs it.
    public static let allowedInCI: [Precondition: String] = [
        .kvm: "no machine of this kind has a usable KVM (a Firecracker microVM: /dev/kvm, where present, fails QEMU's probe)",
        .xenHVMAsked:
            "a nested HVM domU boots in 1.5 to 8 minutes here (firmware in a device model inside the emulated dom0), "
            + "beyond a CI run's budget; it is asked for with WRITEPATH_XEN_HVM_TEST=1",
        .kubectl: "kubectl is not a Debian 12 package (it comes from Kubernetes' own apt repository)",
    ]

    /// Whether this run is a CI run (`CI=true`), in which a skip fails unless allow-listed.
    public static var isCIRun: Bool { ProcessInfo.processInfo.environment["CI"] == "true" }

    /// Whether the condition holds on this machine (worked out once per run).
    public var isMet: Bool { Self.met(self) }

    /// Why a test needing this is skipped here, and what would make it run (fixed text: Swift
    /// Testing builds every trait before the run, so this must not probe the machine).
    public var reason: String {
        switch self {
        case .root: "needs root"
        case .loopDevice: "needs root, losetup (util-linux) and /dev/loop-control to make a loop device"
        case .blockDeviceUnderVarTmp: "/var/tmp has no block device here (tmpfs or overlay)"
        case .crunOnHybridCgroups:
            "needs crun (scripts/install-deps.sh containers), root, and hybrid cgroups with controllers in /sys/fs/cgroup/unified"
        case .docker: "the docker layers are unavailable here (`writepath layers` says why; scripts/start-dockerd.sh)"
        case .ociRunc: "the oci-runc layer is unavailable here: it needs root, runc and overlay (`writepath layers` says why)"
        case .qemu: "the QEMU layers are unavailable here (`writepath layers` says why; scripts/install-deps.sh guests)"
        case .virtiofsd:
            "the qemu-virtiofs layer is unavailable here: it needs root and virtiofsd (qemu-system-common; scripts/install-deps.sh guests)"
        case .iscsiTarget: "the qemu-iscsi layer is unavailable here: tgtd or QEMU's iSCSI driver (scripts/install-deps.sh guests)"
        case .kvm: "KVM is not usable: /dev/kvm is missing, or QEMU's probe ran no guest under it (`writepath layers` says which)"
        case .xenNested: "the nested Xen rig is unavailable here (`writepath layers` says why; scripts/fetch-xen.sh)"
        case .xenHVMAsked: "the nested HVM end-to-end test boots for 1.5 to 8 minutes; set WRITEPATH_XEN_HVM_TEST=1 to run it"
        case .fio: "fio is not installed (scripts/install-deps.sh build)"
        case .chromium: "chromium is not installed (scripts/install-deps.sh reports)"
        case .cmarkGFM: "cmark-gfm is not installed (scripts/install-deps.sh reports)"
        case .pythonReports:
            "/usr/bin/python3 cannot import pandas and prometheus_client (python3-pandas, python3-prometheus-client: "
                + "scripts/install-deps.sh reports)"
        case .shellcheck: "shellcheck is not installed (scripts/install-deps.sh check)"
        case .mkfsMinix: "mkfs.minix is not installed (util-linux; scripts/install-deps.sh build)"
        case .mkfsNtfs: "mkfs.ntfs is not installed (ntfs-3g; scripts/install-deps.sh build)"
        case .mkfsExfat: "mkfs.exfat is not installed (exfatprogs; scripts/install-deps.sh build)"
        case .mkfsExt4: "mkfs.ext4 is not installed (e2fsprogs; scripts/install-deps.sh build)"
        case .utsNamespace: "needs root, unshare (util-linux) and python3 to set a host name in a UTS namespace"
        case .gvisor: "the gvisor layer is unavailable here: it needs root and runsc (scripts/install-deps.sh runtimes)"
        case .nspawn: "the nspawn layer is unavailable here: it needs root and systemd-nspawn (scripts/install-deps.sh runtimes)"
        case .podman: "the podman layer is unavailable here: it needs root and podman (scripts/install-deps.sh runtimes)"
        case .lxc: "the lxc layer is unavailable here: it needs root and lxc (scripts/install-deps.sh runtimes)"
        case .gvisorDocker:
            "dockerd has no runsc runtime registered: a dockerd started by scripts/start-dockerd.sh registers it "
                + "(or `runsc install` and a dockerd restart)"
        case .podmanRootless:
            "podman rootless: true is unavailable here: it needs root (to run it as writepath's user), podman, uidmap and "
                + "fuse-overlayfs (scripts/install-deps.sh runtimes)"
        case .fleet: "needs root, ansible-playbook, sshd, ssh, ssh-keygen, ip and unshare (scripts/install-deps.sh fleet)"
        case .swarm: "needs a docker daemon (scripts/start-dockerd.sh) and a static busybox (scripts/install-deps.sh guests)"
        case .kubectl: "kubectl is not installed (not in Debian 12; Kubernetes' apt repository has it)"
        }
    }

    /// What the machine says about a missing layer precondition (its availability's reason and
    /// fix), else `reason`. Probes the machine: called only when the precondition is missing.
    public var detail: String {
        switch self {
        case .docker: Self.unavailable(Self.dockerAvailability, "the docker layers")
        case .ociRunc: geteuid() != 0 ? "the oci-runc layer needs root" : Self.unavailable(Self.ociRuncAvailability, "the oci-runc layer")
        case .qemu: Self.unavailable(Self.qemuAvailability, "the QEMU layers")
        case .iscsiTarget: Self.unavailable(Self.iscsiAvailability, "the qemu-iscsi layer")
        case .xenNested: Self.unavailable(Self.xenNestedAvailability, "the nested Xen rig")
        default: reason
        }
    }

    /// The trait that skips a test or suite without this precondition, showing `reason`; under
    /// `CI=true` it records `PreconditionMissing` instead (a failure), unless allow-listed.
    public var trait: ConditionTrait {
        .enabled(Comment(rawValue: reason)) {
            let run = try Self.decide(self, met: isMet, ci: Self.isCIRun)
            if !run, detail != reason { FileHandle.standardError.write(Data("precondition \(rawValue) is missing: \(detail)\n".utf8)) }
            return run
        }
    }

    /// What the trait does: run (true), skip (false) or fail (throws) for a precondition that is
    /// `met` or not, in a CI run or not.
    public static func decide(_ p: Precondition, met: Bool, ci: Bool) throws -> Bool {
        if met { return true }
        if ci, allowedInCI[p] == nil { throw PreconditionMissing(precondition: p, reason: p.detail) }
        return false
    }

    private static func unavailable(_ a: Availability, _ what: String) -> String {
        switch a {
        case let .unavailable(reason, fix): "\(what): \(reason); \(fix)"
        case .available: "\(what) is available"
        }
    }

    private static func met(_ p: Precondition) -> Bool {
        switch p {
        case .root: geteuid() == 0
        case .loopDevice: loopDeviceMet
        case .blockDeviceUnderVarTmp: BlockDevice.wholeDisk(holding: "/var/tmp") != nil
        case .crunOnHybridCgroups: crunOnHybridMet
        case .docker: dockerAvailability.isAvailable
        case .ociRunc: geteuid() == 0 && ociRuncAvailability.isAvailable
        case .qemu: qemuAvailability.isAvailable
        case .iscsiTarget: iscsiAvailability.isAvailable
        case .kvm: kvmMet
        case .virtiofsd: geteuid() == 0 && layerAvailable(LayerSpec(name: "qemu-virtiofs"))
        case .xenNested: xenNestedAvailability.isAvailable
        case .xenHVMAsked: ProcessInfo.processInfo.environment["WRITEPATH_XEN_HVM_TEST"] == "1"
        case .fio: Command.which("fio") != nil
        case .chromium: ["chromium", "chromium-browser", "google-chrome"].contains { Command.which($0) != nil }
        case .cmarkGFM: Command.which("cmark-gfm") != nil
        case .pythonReports: pythonReportsMet
        case .shellcheck: Command.which("shellcheck") != nil
        case .mkfsMinix: Command.which("mkfs.minix") != nil
        case .mkfsNtfs: Command.which("mkfs.ntfs") != nil
        case .mkfsExfat: Command.which("mkfs.exfat") != nil
        case .mkfsExt4: Command.which("mkfs.ext4") != nil
        case .utsNamespace: geteuid() == 0 && Command.which("unshare") != nil && Command.which("python3") != nil
        case .gvisor: geteuid() == 0 && layerAvailable(LayerSpec(name: "gvisor"))
        case .nspawn: geteuid() == 0 && layerAvailable(LayerSpec(name: "nspawn"))
        case .podman: geteuid() == 0 && layerAvailable(LayerSpec(name: "podman", parameters: ["runtime": "runc"]))
        case .lxc: geteuid() == 0 && layerAvailable(LayerSpec(name: "lxc"))
        case .gvisorDocker: geteuid() == 0 && GVisorLayer.dockerRunsc() != nil
        case .podmanRootless:
            geteuid() == 0 && layerAvailable(LayerSpec(name: "podman", parameters: ["runtime": "runc", "rootless": "true"]))
        case .fleet:
            geteuid() == 0 && ["ansible-playbook", "sshd", "ssh", "ssh-keygen", "ip", "unshare"].allSatisfy { Command.which($0) != nil }
        case .swarm: dockerAvailability.isAvailable && (try? GuestImage.findBusybox()) != nil
        case .kubectl: Command.which("kubectl") != nil
        }
    }

    private static func layerAvailability(_ spec: LayerSpec) -> Availability {
        (try? LayerRegistry.make(spec))?.availability() ?? .unavailable(reason: "no layer \(spec.name)", fix: "")
    }
    private static func layerAvailable(_ spec: LayerSpec) -> Bool {
        (try? LayerRegistry.make(spec))?.availability().isAvailable ?? false
    }
    private static let pythonReportsMet: Bool =
        (try? runProcess(debianPython, ["-c", "import pandas, prometheus_client"], timeout: 60))?.status == 0
    /// Debian's python3, where python3-pandas and python3-prometheus-client install (a python3
    /// earlier on PATH, such as pyenv's, does not see them).
    public static let debianPython = "/usr/bin/python3"
    private static let loopDeviceMet: Bool =
        geteuid() == 0 && Command.which("losetup") != nil && FileManager.default.fileExists(atPath: "/dev/loop-control")
    private static let crunOnHybridMet: Bool = {
        let cg = OCIRuncLayer.cgroupMode()
        return geteuid() == 0 && Command.which("crun") != nil && cg.mode == "hybrid" && !cg.unifiedControllers.isEmpty
    }()
    // The layers' own availability, asked once per run.
    private static let dockerAvailability = DockerRun.availability()
    private static let ociRuncAvailability =
        (try? OCIRuncLayer(parameters: [:]))?.availability() ?? .unavailable(reason: "the layer did not initialise", fix: "")
    private static let qemuAvailability = QemuRun.availability()
    private static let iscsiAvailability = layerAvailability(LayerSpec(name: "qemu-iscsi"))
    private static let xenNestedAvailability = XenRun.availability("nested")
    /// /dev/kvm opens and QEMU's probe (a guest boot, cached per boot of the machine) ran a guest
    /// under it: here /dev/kvm exists, but QEMU's KVM asserts in kvm_buf_set_msrs.
    private static let kvmMet: Bool = {
        let fd = open("/dev/kvm", O_RDWR | O_CLOEXEC)
        if fd >= 0 { close(fd) }
        return fd >= 0 && Accelerator.cached()?.name == "kvm"
    }()
}

/// A CI run (`CI=true`) lacks a precondition that is not allow-listed: the test fails with this.
public struct PreconditionMissing: Error, CustomStringConvertible {
    public var precondition: Precondition
    public var reason: String
    public init(precondition: Precondition, reason: String) {
        self.precondition = precondition
        self.reason = reason
    }
    public var description: String {
        "CI=true: precondition `\(precondition.rawValue)` is missing (\(reason)); a CI run must not skip it "
            + "(only \(Precondition.allowedInCI.keys.map(\.rawValue).sorted().joined(separator: ", ")) may be missing: "
            + "Tests/WritePathTestSupport/Precondition.swift)"
    }
}
