import Foundation
import Testing

@testable import WritePathEngine
@testable import WritePathReport

/// A report whose baseline ran on a VM says so wherever the baseline is named.
@Suite("A VM baseline in reports")
struct VMBaselineReportTests {
    @Test("the warning, the text table's baseline row and the HTML name the VM; bare metal adds nothing")
    func vmBaseline() {
        var host = Synthetic.host
        host.virtualization = Virtualization(
            kind: "vm", hypervisor: "kvm", product: "Firecracker microVM",
            evidence: "cpuid leaf 0x40000000 \"KVMKVMKVM\"")
        let runs =
            Synthetic.runs(layer: "host", reps: 3, iops: 1e5, noise: 0.02, seed: 1)
            + Synthetic.runs(layer: "docker-volume", reps: 3, iops: 8e4, noise: 0.02, seed: 2)
        let a = Aggregation.aggregate(Synthetic.input(runs, host: host))
        #expect(a.warnings.contains { $0.contains("is a Firecracker microVM (kvm), not bare metal") })
        #expect(TextReport.render(a).contains("baseline (Firecracker microVM)"))
        #expect(HTMLReport.render(a).contains("(itself a Firecracker microVM (kvm), not bare metal)"))
        var metal = Synthetic.host
        metal.virtualization = Virtualization(kind: "none", evidence: "cpuid hypervisor bit clear")
        let b = Aggregation.aggregate(Synthetic.input(runs, host: metal))
        #expect(!b.warnings.contains { $0.contains("not bare metal") })
        #expect(!TextReport.render(b).contains("baseline ("))
    }
}
