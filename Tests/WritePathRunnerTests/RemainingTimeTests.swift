import Testing

@testable import WritePathRunner

@Suite("Report progress: time left from the runs so far per layer kind")
struct RemainingTimeTests {
    @Test("each run left counts its kind's mean, an unseen kind the mean of all, nothing seen the fallback")
    func estimate() {
        var t = RemainingTime()
        #expect(t.estimate(["host", "qemu-nvme"], fallback: 5) == 10)
        t.record(kind: "host", wallSeconds: 2)
        t.record(kind: "host", wallSeconds: 4)
        t.record(kind: "qemu-nvme", wallSeconds: 30)
        #expect(t.estimate(["host", "host", "qemu-nvme"], fallback: 5) == 3 + 3 + 30)
        // docker-volume never ran: the mean of the three runs so far, 12 s.
        #expect(t.estimate(["docker-volume"], fallback: 5) == 12)
        t.record(kind: "host", wallSeconds: .nan)
        #expect(t.estimate(["host"], fallback: 5) == 3)
        #expect(t.estimate([], fallback: 5) == 0)
    }
}
