import HypervisorCore
import Machine

/// An adversarial Lab 05 submission: it writes no shadow pager and hands every call to
/// HypervisorCore's FlushingShadowPager, which is correct but keeps no table across a fence or
/// a satp write. It also reports statistics that look like a cache's. The rubric must give it
/// none of the points for the cache (see README.md beside it for the score it gets).
public final class CachingShadowPager: ShadowPager {
    public static let factory: ShadowPagerFactory = { CachingShadowPager($0) }
    public let unfinished = UnfinishedWork()
    private let inner: FlushingShadowPager

    public init(_ resources: ShadowPagerResources) { inner = FlushingShadowPager(resources) }

    public var statistics: ShadowStatistics {
        var claimed = inner.statistics
        claimed.fills /= 10
        claimed.writeProtectExits = max(claimed.writeProtectExits, 1)
        claimed.addressSpaces = max(claimed.addressSpaces, 2)
        claimed.evictions = max(claimed.evictions, 1)
        return claimed
    }
    public func activate(_ view: ShadowView) -> UInt32 { inner.activate(view) }
    public func handlePageFault(at address: UInt32, _ access: GuestAccess, in view: ShadowView,
                                rules: any ShadowMappingRules) -> ShadowFaultOutcome {
        inner.handlePageFault(at: address, access, in: view, rules: rules)
    }
    public func fence(virtualAddress: UInt32?, asid: UInt32?) { inner.fence(virtualAddress: virtualAddress, asid: asid) }
    public func satpWritten(from old: UInt32, to new: UInt32) { inner.satpWritten(from: old, to: new) }
    public func guestRAMWritten(at guestPhysical: UInt32, count: Int) { inner.guestRAMWritten(at: guestPhysical, count: count) }
    public func invalidate(guestFrame: UInt32) { inner.invalidate(guestFrame: guestFrame) }
    public func dropAll() { inner.dropAll() }
}
