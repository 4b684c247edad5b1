/// Chooses which domain's vCPU the hart runs next, one slice at a time. The VMM preempts a
/// guest at the end of its slice whatever the guest does (interrupts off, an endless loop), so no
/// domain can starve the others.
public protocol VCPUScheduler {
    /// The domain to run next, from the runnable ones (in domain order); nil if none.
    mutating func pick(from runnable: [DomainInfo]) -> DomainID?
    /// How many guest instructions `domain` just ran.
    mutating func account(_ domain: DomainID, instructions: UInt64)
}

/// Every runnable domain in turn, one slice each.
public struct RoundRobinScheduler: VCPUScheduler {
    private var last: DomainID? = nil
    public init() {}

    public mutating func pick(from runnable: [DomainInfo]) -> DomainID? {
        guard !runnable.isEmpty else { return nil }
        let next = runnable.first { domain in last.map { domain.id > $0 } ?? true } ?? runnable[0]
        last = next.id
        return next.id
    }

    public mutating func account(_ domain: DomainID, instructions: UInt64) {}
}

/// A weighted credit scheduler after Xen's: every accounting period hands out credits (guest
/// instructions) in proportion to the runnable domains' weights; the domain with the most credit
/// left runs next and pays for what it runs. When every runnable domain has used its credit, a new
/// period begins. Credit does not pile up: a domain that was idle or paused gets at most one
/// period's share, so coming back does not let it monopolize the hart.
public struct CreditScheduler: VCPUScheduler {
    /// Instructions handed out per period and runnable domain.
    public let periodPerDomain: Int64
    private var credit: [DomainID: Int64] = [:]
    private var last: DomainID? = nil

    public init(periodPerDomain: Int64 = 100_000) {
        self.periodPerDomain = max(1, periodPerDomain)
    }

    public mutating func pick(from runnable: [DomainInfo]) -> DomainID? {
        guard !runnable.isEmpty else { return nil }
        if runnable.allSatisfy({ (credit[$0.id] ?? 0) <= 0 }) {
            let totalWeight = runnable.reduce(0) { $0 + Int64(max(1, $1.weight)) }
            let period = periodPerDomain * Int64(runnable.count)
            for domain in runnable {
                let share = period * Int64(max(1, domain.weight)) / totalWeight
                credit[domain.id] = min((credit[domain.id] ?? 0) + share, share)
            }
        }
        // Most credit first; among equals, the next one after the last to run (round robin).
        let after = runnable.filter { domain in last.map { domain.id > $0 } ?? true }
        let ordered = after + runnable.filter { domain in !after.contains { $0.id == domain.id } }
        let most = ordered.map { credit[$0.id] ?? 0 }.max() ?? 0
        guard let chosen = ordered.first(where: { (credit[$0.id] ?? 0) == most }) else { return nil }
        last = chosen.id
        return chosen.id
    }

    public mutating func account(_ domain: DomainID, instructions: UInt64) {
        credit[domain, default: 0] -= Int64(clamping: instructions)
    }

    /// A domain's credit left (for tests and `vlab` reports).
    public func credit(of domain: DomainID) -> Int64 { credit[domain] ?? 0 }
}
