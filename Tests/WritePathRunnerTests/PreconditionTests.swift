import Testing
import WritePathTestSupport

@Suite("Test preconditions: a missing one is a visible skip, and a failure under CI=true")
struct PreconditionTests {
    @Test("met runs; missing skips outside CI; missing fails under CI unless allow-listed")
    func decisions() throws {
        for p in Precondition.allCases {
            #expect(try Precondition.decide(p, met: true, ci: false))
            #expect(try Precondition.decide(p, met: true, ci: true))
            #expect(try !Precondition.decide(p, met: false, ci: false))
            if Precondition.allowedInCI[p] == nil {
                #expect(throws: PreconditionMissing.self, "\(p) missing passed a CI run") {
                    try Precondition.decide(p, met: false, ci: true)
                }
            } else {
                #expect(try !Precondition.decide(p, met: false, ci: true))
            }
        }
    }

    @Test("the CI allow-list is short, gives a reason for each entry, and holds KVM")
    func allowList() {
        #expect(Precondition.allowedInCI.count <= 3)
        #expect(Precondition.allowedInCI[.kvm] != nil)
        for (p, why) in Precondition.allowedInCI { #expect(why.count > 20, "\(p): \(why)") }
        for p in Precondition.allCases { #expect(!p.reason.isEmpty) }
    }

    @Test("the failure under CI names the precondition, the reason and where the allow-list is")
    func missingMessage() {
        let e = PreconditionMissing(precondition: .docker, reason: "the docker layers: daemon not running; scripts/start-dockerd.sh")
        #expect(e.description.contains("`docker`") && e.description.contains("daemon not running"))
        #expect(e.description.contains("Precondition.swift") && e.description.contains("kvm"))
    }
}
