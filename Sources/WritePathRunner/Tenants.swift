import Foundation
import WritePathEngine
import WritePathResult

#if canImport(Glibc)
    import Glibc
#endif

/// One tenant's run: its result or the error its layer threw, and when it ran.
public struct TenantOutcome: Sendable {
    /// The tenant, from 1.
    public var tenant: Int
    public var result: Result<RunResult, any Error>
    /// Wall-clock start and end of the layer's `run`, Unix seconds (container start or guest boot
    /// included).
    public var wallStart: Double
    public var wallEnd: Double

    public init(tenant: Int, result: Result<RunResult, any Error>, wallStart: Double, wallEnd: Double) {
        self.tenant = tenant
        self.result = result
        self.wallStart = wallStart
        self.wallEnd = wallEnd
    }
}

/// Serializes what tenants would otherwise build at the same time and in the same place: the
/// container image, the guest image, the acceleration probe.
enum SharedPreparation {
    static let lock = NSRecursiveLock()
}

extension Layer {
    /// Runs `count` copies of `workload` at once, one thread per tenant, all released together.
    ///
    /// Tenant i (from 1) gets the run id `<id>t<i>` (so its own container, volume or guest), the
    /// scratch folder `<scratch>/tenant<i>` (its own target file on the host) and the log folder
    /// `<logs>/tenant<i>`; its workload is named `<name>-t<i>` while it runs (distinct file names in
    /// a shared folder) and the result carries the workload as given. With `count` 1 the run is
    /// the plain `run` in `context`.
    public func runTenants(_ workload: Workload, count: Int, rep: Int, context: LayerContext) -> [TenantOutcome] {
        if count <= 1 {
            let start = Date().timeIntervalSince1970
            let result = Result { try run(workload, rep: rep, context: context) }
            return [TenantOutcome(tenant: 1, result: result, wallStart: start, wallEnd: Date().timeIntervalSince1970)]
        }
        let outcomes = TenantOutcomes(count: count)
        let gate = DispatchGroup()
        gate.enter()
        let finished = DispatchGroup()
        for i in 1...count {
            var ctx = context
            ctx.runID = "\(context.runID)t\(i)"
            ctx.scratchDirectory = "\(context.scratchDirectory)/tenant\(i)"
            ctx.logDirectory = "\(context.logDirectory)/tenant\(i)"
            try? FileManager.default.createDirectory(atPath: ctx.logDirectory, withIntermediateDirectories: true)
            var w = workload
            w.name = "\(workload.name)-t\(i)"
            let tenantContext = ctx, tenantWorkload = w
            finished.enter()
            let thread = Thread { [self] in
                gate.wait()
                let start = Date().timeIntervalSince1970
                var result = Result { try run(tenantWorkload, rep: rep, context: tenantContext) }
                if case var .success(r) = result {
                    r.workload = workload
                    result = .success(r)
                }
                outcomes.set(i - 1, TenantOutcome(tenant: i, result: result, wallStart: start, wallEnd: Date().timeIntervalSince1970))
                finished.leave()
            }
            thread.name = "tenant-\(i)"
            thread.start()
        }
        gate.leave()
        finished.wait()
        return outcomes.all
    }
}

/// Tenant outcomes filled in by their threads.
final class TenantOutcomes: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [TenantOutcome?]

    init(count: Int) { items = Array(repeating: nil, count: count) }

    func set(_ index: Int, _ outcome: TenantOutcome) {
        lock.lock()
        items[index] = outcome
        lock.unlock()
    }

    var all: [TenantOutcome] {
        lock.lock()
        defer { lock.unlock() }
        return items.map { $0! }
    }
}
