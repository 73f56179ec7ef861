import Foundation
import Testing

@testable import WritePathEngine

/// What the "host" itself runs on, so that a VM baseline is never taken for bare metal.
@Suite("Host virtualization")
struct VirtualizationTests {
    @Test("a Firecracker microVM: KVM's cpuid signature, no DMI, firecracker on the kernel command line")
    func firecracker() {
        let v = Virtualization.classify(
            cpuidPresent: true, signature: "KVMKVMKVM", dmiVendor: nil, dmiProduct: nil,
            sysHypervisor: nil, commandLine: "console=ttyS0 -- --firecracker-init",
            kernelRelease: "6.18.44-fc-v1045")
        #expect(v.kind == "vm" && v.hypervisor == "kvm" && v.product == "Firecracker microVM")
        #expect(v.phrase == "a Firecracker microVM (kvm)")
        #expect(v.evidence.contains("KVMKVMKVM") && v.evidence.contains("no DMI"))
    }

    @Test("other machines: bare metal, a QEMU/KVM guest with DMI, a Xen domU, TCG, Hyper-V")
    func others() {
        let metal = Virtualization.classify(
            cpuidPresent: false, signature: "", dmiVendor: "Dell Inc.", dmiProduct: "PowerEdge R650",
            sysHypervisor: nil, commandLine: "root=/dev/sda1", kernelRelease: "6.1.0-13-amd64")
        #expect(metal.kind == "none" && metal.phrase == "bare metal" && metal.hypervisor == nil)
        let qemu = Virtualization.classify(
            cpuidPresent: true, signature: "KVMKVMKVM", dmiVendor: "QEMU",
            dmiProduct: "Standard PC (Q35 + ICH9, 2009)", sysHypervisor: nil, commandLine: "",
            kernelRelease: "6.1.0-13-amd64")
        #expect(qemu.kind == "vm" && qemu.hypervisor == "kvm" && qemu.product == "QEMU Standard PC (Q35 + ICH9, 2009)")
        let xen = Virtualization.classify(
            cpuidPresent: false, signature: "", dmiVendor: nil, dmiProduct: nil,
            sysHypervisor: "xen", commandLine: "", kernelRelease: "6.1.0")
        #expect(xen.kind == "vm" && xen.hypervisor == "xen")
        let tcg = Virtualization.classify(
            cpuidPresent: true, signature: "TCGTCGTCGTCG", dmiVendor: "QEMU", dmiProduct: "Standard PC",
            sysHypervisor: nil, commandLine: "", kernelRelease: "6.1.0")
        #expect(tcg.hypervisor == "qemu-tcg")
        let hv = Virtualization.classify(
            cpuidPresent: true, signature: "Microsoft Hv", dmiVendor: "Microsoft Corporation",
            dmiProduct: "Virtual Machine", sysHypervisor: nil, commandLine: "", kernelRelease: "6.1.0")
        #expect(hv.hypervisor == "microsoft")
    }

    @Test("on this machine the probe agrees with the kernel's own hypervisor flag in /proc/cpuinfo")
    func probeHere() throws {
        let cpuinfo = try String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)
        let flagged = cpuinfo.split(separator: "\n").contains { $0.hasPrefix("flags") && $0.split(separator: " ").contains("hypervisor") }
        let v = try #require(HostInfo.probe().virtualization)
        #expect((v.kind == "vm") == flagged, "\(v)")
        if flagged { #expect(v.hypervisor != nil && !v.evidence.isEmpty) }
    }
}
