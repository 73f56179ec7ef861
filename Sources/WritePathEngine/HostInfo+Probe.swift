import CWritePathShims

#if canImport(Glibc)
    import Glibc
#endif

extension HostInfo {
    /// Reads this machine's description from uname, /proc/cpuinfo and sysconf.
    public static func probe() -> HostInfo {
        var u = utsname()
        uname(&u)
        func field<T>(_ value: T) -> String {
            withUnsafeBytes(of: value) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
        }
        var cpu = "unknown"
        if let text = Sys.readSmallFile("/proc/cpuinfo") {
            for line in text.split(separator: "\n") where line.hasPrefix("model name") {
                if let colon = line.firstIndex(of: ":") {
                    cpu = String(line[line.index(after: colon)...]).trimmingWhitespace()
                }
                break
            }
        }
        let pages = UInt64(max(sysconf(Int32(_SC_PHYS_PAGES)), 0))
        let pageSize = UInt64(max(sysconf(Int32(_SC_PAGESIZE)), 0))
        return HostInfo(
            hostname: field(u.nodename), kernel: field(u.release), kernel_version: field(u.version),
            cpu: cpu, cores: Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))), memory_bytes: pages * pageSize,
            virtualization: Virtualization.probe(kernelRelease: field(u.release)))
    }
}

extension Virtualization {
    /// CPUID hypervisor signatures (leaf 0x40000000) and the names systemd-detect-virt gives them.
    static let signatures: [(String, String)] = [
        ("KVMKVMKVM", "kvm"), ("Microsoft Hv", "microsoft"), ("VMwareVMware", "vmware"), ("XenVMMXenVMM", "xen"),
        ("TCGTCGTCGTCG", "qemu-tcg"), ("bhyve bhyve", "bhyve"), ("ACRNACRNACRN", "acrn"), ("QNXQVMBSQG", "qnx"),
        ("VBoxVBoxVBox", "oracle"), ("prl hyperv", "parallels"), ("Linux KVM Hv", "kvm"),
    ]

    /// Reads the evidence on this machine.
    public static func probe(kernelRelease: String) -> Virtualization {
        var sig = [CChar](repeating: 0, count: 13)
        let present = wp_cpuid_hypervisor(&sig)
        let signature = String(decoding: sig.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        func read(_ p: String) -> String? {
            Sys.readSmallFile(p)?.trimmingWhitespace().nilIfEmpty
        }
        return classify(
            cpuidPresent: present == 1, signature: signature,
            dmiVendor: read("/sys/class/dmi/id/sys_vendor"), dmiProduct: read("/sys/class/dmi/id/product_name"),
            sysHypervisor: read("/sys/hypervisor/type"), commandLine: read("/proc/cmdline") ?? "",
            kernelRelease: kernelRelease)
    }

    /// The finding from the evidence (separate from `probe` so that each machine kind can be tested).
    static func classify(
        cpuidPresent: Bool, signature: String, dmiVendor: String?, dmiProduct: String?,
        sysHypervisor: String?, commandLine: String, kernelRelease: String
    ) -> Virtualization {
        var evidence: [String] = []
        var hypervisor: String?
        if cpuidPresent {
            let trimmed = signature.trimmingWhitespace()
            hypervisor = signatures.first { trimmed.hasPrefix($0.0) }?.1 ?? (trimmed.isEmpty ? "unknown" : trimmed)
            evidence.append("cpuid hypervisor bit set, leaf 0x40000000 \"\(trimmed)\"")
        } else {
            evidence.append("cpuid hypervisor bit clear")
        }
        if let x = sysHypervisor {
            hypervisor = hypervisor ?? x
            evidence.append("/sys/hypervisor/type \(x)")
        }
        var product: String?
        if dmiVendor != nil || dmiProduct != nil {
            let name = [dmiVendor, dmiProduct].compactMap { $0 }.joined(separator: " ")
            evidence.append("DMI \"\(name)\"")
            if hypervisor != nil { product = name }
        } else {
            evidence.append("no DMI tables")
        }
        let firecracker = commandLine.lowercased().contains("firecracker")
        if firecracker {
            evidence.append("kernel command line names firecracker")
            if hypervisor != nil || dmiVendor == nil { product = "Firecracker microVM" }
        }
        if kernelRelease.contains("-fc") && !firecracker { evidence.append("kernel \(kernelRelease)") }
        guard hypervisor != nil || firecracker else { return Virtualization(kind: "none", evidence: evidence.joined(separator: "; ")) }
        return Virtualization(kind: "vm", hypervisor: hypervisor ?? "kvm", product: product, evidence: evidence.joined(separator: "; "))
    }
}

extension String {
    var nilIfEmpty: String? { isEmpty ? nil : self }
}
