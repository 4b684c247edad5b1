import Machine

/// The simplest correct `ShadowPager`: one shadow table per view, filled on demand, and every
/// table thrown away whenever the guest's page tables may have changed under it (SFENCE.VMA of
/// any kind, a satp write, a store the VMM emulated into a page it cannot rule out as a page
/// table) or the pool runs out. Flushing more than the guest asked for is always allowed, so it
/// needs no reverse maps and no write protection; it pays in refills (each one a page-fault exit)
/// after every context switch. `VirtualMachine` uses it when no other pager is given (Labs 03
/// and 04); `MemoryVirtualization.ReferenceShadowPager` keeps tables per address space instead.
public final class FlushingShadowPager: ShadowPager {
    public let pool: ShadowFramePool
    let memory: GuestMemory
    private var roots: [ShadowView: UInt32] = [:]
    /// Per view: root index -> machine address of the second-level table.
    private var secondLevels: [ShadowView: [UInt32: UInt32]] = [:]
    /// Guest frames any shadow entry maps (for `invalidate(guestFrame:)` and shares).
    private var mappedGuestFrames: Set<UInt32> = []
    private var counters = ShadowStatistics()
    private var mappedSinceDrop = false

    public init(_ resources: ShadowPagerResources) {
        pool = resources.frames
        memory = resources.memory
    }

    public static var factory: ShadowPagerFactory { { FlushingShadowPager($0) } }

    public var statistics: ShadowStatistics {
        var statistics = counters
        statistics.addressSpaces = roots.count
        statistics.framesInUse = pool.inUse
        statistics.peakFramesInUse = pool.peakInUse
        return statistics
    }

    public func activate(_ view: ShadowView) -> UInt32 {
        if let root = roots[view] { return ShadowPTE.satp(root: root) }
        if pool.available == 0 { dropEverything(evenIfNothingMapped: true) }
        guard let root = pool.allocate() else { return 0 }  // unreachable: the pool has at least 8 frames
        roots[view] = root
        return ShadowPTE.satp(root: root)
    }

    public func handlePageFault(at address: UInt32, _ access: GuestAccess, in view: ShadowView,
                                rules: any ShadowMappingRules) -> ShadowFaultOutcome {
        let walk = GuestPageTableWalk.walk(address, access, regime: view.regime(for: access), memory: memory)
        let guestPhysical: UInt32, leaf: UInt32?
        switch walk.translation {
        case .fault(let cause):
            counters.faultsReflected += 1
            return .reflect(cause: cause)
        case .guestPhysical(let physical, let pte):
            (guestPhysical, leaf) = (physical, pte)
        }
        let page = guestPhysical & ~0xFFF
        guard let frame = memory.machineAddress(of: page) else { return .notGuestRAM(guestPhysical: guestPhysical) }
        var permissions = view.permissions(grantedBy: leaf)
        switch rules.limit(forGuestPage: page, access: access, view: view) {
        case .exit(let reason): return .emulate(reason: reason)
        case .map(let limit): permissions.formIntersection(limit)
        }
        if !memory.isWritable(guestFrame: page) {
            if access == .store { return .breakShare(guestFrame: page) }
            permissions.remove(.writable)
        }
        guard permissions.allows(access) else {
            if access == .fetch { return .domainError("no shadow mapping can serve a fetch at 0x\(hex8(address))") }
            return .emulate(reason: .emulatedAccess)
        }
        install(address, frame: frame, permissions, in: view)
        mappedGuestFrames.insert(page)
        counters.fills += 1
        return .filled
    }

    public func fence(virtualAddress: UInt32?, asid: UInt32?) { dropEverything() }

    public func satpWritten(from old: UInt32, to new: UInt32) { dropEverything() }

    /// Any RAM write may have been a PTE edit; this pager keeps no list of page-table pages, and
    /// the hart may use a stale translation until the next fence, so it waits for that fence.
    public func guestRAMWritten(at guestPhysical: UInt32, count: Int) {}

    public func invalidate(guestFrame: UInt32) {
        if mappedGuestFrames.contains(guestFrame & ~0xFFF) { dropEverything() }
    }

    public func dropAll() { dropEverything() }

    private func install(_ address: UInt32, frame: UInt32, _ permissions: ShadowPermissions, in view: ShadowView) {
        let index = ShadowPTE.rootIndex(address)
        if secondLevels[view]?[index] == nil && pool.available == 0 {
            dropEverything(evenIfNothingMapped: true)
            // The hart's satp named a root that is gone; the VMM calls activate again before resuming.
        }
        guard let root = roots[view] ?? pool.allocate() else { return }
        roots[view] = root
        let second: UInt32
        if let existing = secondLevels[view]?[index] {
            second = existing
        } else {
            guard let table = pool.allocate() else { return }
            second = table
            secondLevels[view, default: [:]][index] = table
            pool.write(root + index * 4, ShadowPTE.pointer(to: table))
        }
        pool.write(second + ShadowPTE.leafIndex(address) * 4, ShadowPTE.leaf(frame: frame, permissions))
        mappedSinceDrop = true
    }

    /// Throws every table away and reclaims the pool. The hart's TLB caches shadow entries, so it
    /// goes too. Nothing mapped since the last time (the kernel's `csrw satp` then `sfence.vma`):
    /// the tables are empty, and the hart's TLB never caches a failed walk, so there is nothing to drop.
    private func dropEverything(evenIfNothingMapped: Bool = false) {
        guard mappedSinceDrop || evenIfNothingMapped else { return }
        mappedSinceDrop = false
        roots.removeAll(keepingCapacity: true)
        secondLevels.removeAll(keepingCapacity: true)
        mappedGuestFrames.removeAll(keepingCapacity: true)
        pool.releaseAll()
        counters.rebuilds += 1
        pool.machine.flushTLB()
    }
}
