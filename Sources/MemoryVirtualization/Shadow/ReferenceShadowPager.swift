import HypervisorCore
import Machine

/// The reference shadow pager (issue 7; Lab 05's reference answer is written against the same
/// protocol). "Each page table of the guest OSes has a separate page table in the VMM
/// corresponding to it, called the shadow page table":
///
/// - **Per address space.** One shadow table per guest address space (satp root and ASID) and
///   view, built on demand, one entry per shadow page fault, from walks of the guest's tables.
///   Tables are kept across satp switches: a context switch back to a cached address space costs
///   no refills.
/// - **Coherent** (`Coherence`). Every guest page-table page a shadow entry was derived from is
///   mapped read-only in every shadow table; a guest store to one exits, the VMM emulates it, and
///   `guestRAMWritten` finds exactly the shadow entries derived from the PTE that changed. The ISA
///   lets the hart keep using the old translation until an SFENCE.VMA names it, and the bare
///   machine does (its TLB), so by default those entries are dropped when a fence names them (or
///   at a satp write, when the bare hart flushes its TLB): the guest sees what it would see bare.
///   `.writeProtectEager` drops them at once instead (also allowed; fences then have nothing to
///   do); `.fences` does not write-protect at all and re-checks, at each fence, the entries it
///   names against the guest's PTEs. A fence of everything re-checks every entry in all modes,
///   which also catches edits that did not come through a guest store (a device's DMA into a
///   page table, a hypercall writing guest memory).
/// - **A and D bits** are set by `GuestPageTableWalk` as the bare MMU sets them: A on any access
///   that walks, D on a store; a shadow entry is writable only once the guest PTE is dirty, so the
///   first store to a clean page exits and its walk sets D.
/// - **Bounded.** At most `maximumAddressSpaces` tables, and no more frames than the pool has;
///   when either runs out the least recently used table is evicted (the seed's "flooded" case,
///   counted in `evictions`); when the current table alone fills the pool it is rebuilt.
public final class ReferenceShadowPager: ShadowPager {
    public struct Configuration: Sendable {
        /// Shadow tables (address space + view) kept at once.
        public var maximumAddressSpaces = 128
        public var coherence = Coherence.writeProtect
        public init() {}
    }

    /// How the shadow tables follow the guest's page-table edits.
    public enum Coherence: Sendable {
        /// Write-protect page-table pages; an edit takes effect at the next fence naming it (or satp write).
        case writeProtect
        /// Write-protect page-table pages; an edit takes effect at once.
        case writeProtectEager
        /// No write protection; fences re-check the entries they name.
        case fences
        var writeProtects: Bool { self != .fences }
    }

    /// How the VMM builds this pager for a guest.
    public static func factory(_ configuration: Configuration = Configuration()) -> ShadowPagerFactory {
        { ReferenceShadowPager($0, configuration: configuration) }
    }

    public let configuration: Configuration
    let pool: ShadowFramePool
    let memory: GuestMemory
    let machine: Machine

    var spaces: [ShadowView: ShadowAddressSpace] = [:]
    var spacesByID: [Int: ShadowAddressSpace] = [:]
    var nextSpaceID = 0
    var clock: UInt64 = 0
    /// Reverse map: guest page → the shadow entries mapping it.
    var mappings: [UInt32: Set<ShadowEntryReference>] = [:]
    /// Guest page-table pages → the regions derived from them. A page with users is watched
    /// (write-protected in every shadow table).
    var tableUsers: [UInt32: Set<ShadowRegionReference>] = [:]
    /// Guest-physical addresses of PTEs the guest stored to whose shadow entries may be stale
    /// until a fence (`Coherence.writeProtect`).
    var editedEntries: Set<UInt32> = []
    var counters = ShadowStatistics()

    public init(_ resources: ShadowPagerResources, configuration: Configuration = Configuration()) {
        self.configuration = configuration
        pool = resources.frames
        memory = resources.memory
        machine = resources.machine
    }

    public var statistics: ShadowStatistics {
        var statistics = counters
        statistics.addressSpaces = spaces.count
        statistics.framesInUse = pool.inUse
        statistics.peakFramesInUse = pool.peakInUse
        return statistics
    }

    // MARK: Address spaces

    public func activate(_ view: ShadowView) -> UInt32 {
        clock += 1
        if let space = spaces[view] {
            space.lastUse = clock
            return ShadowPTE.satp(root: space.root)
        }
        if spaces.count >= max(1, configuration.maximumAddressSpaces) { _ = evictLeastRecentlyUsed(keeping: nil) }
        guard let root = allocateFrame(keeping: nil) else { return 0 }  // unreachable: an empty cache has the whole pool
        let space = ShadowAddressSpace(id: nextSpaceID, view: view, root: root)
        nextSpaceID += 1
        space.lastUse = clock
        spaces[view] = space
        spacesByID[space.id] = space
        return ShadowPTE.satp(root: root)
    }

    // MARK: Filling

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
        guard memory.machineAddress(of: page) != nil else { return .notGuestRAM(guestPhysical: guestPhysical) }
        var permissions = view.permissions(grantedBy: leaf)
        switch rules.limit(forGuestPage: page, access: access, view: view) {
        case .exit(let reason): return .emulate(reason: reason)
        case .map(let limit): permissions.formIntersection(limit)
        }
        if !memory.isWritable(guestFrame: page) {
            if access == .store { return .breakShare(guestFrame: page) }
            permissions.remove(.writable)
        }
        // The space exists (the VMM activated it before running the guest), unless an eviction
        // since then took it: then build it again.
        if spaces[view] == nil { _ = activate(view) }
        guard let space = spaces[view] else { return .domainError("no shadow table for the guest's address space") }
        let rootIndex = ShadowPTE.rootIndex(address)
        guard let table = region(rootIndex, in: space, derivedFrom: walk) else {
            return .domainError("\(pool.capacity) shadow frames cannot hold even one shadow table")
        }
        // A page-table page the shadow tables depend on is never writable through them.
        if configuration.coherence.writeProtects && tableUsers[page] != nil {
            permissions.remove(.writable)
            if access == .store {
                counters.writeProtectExits += 1
                return .emulate(reason: .pageTableWrite)
            }
        }
        guard permissions.allows(access) else {
            if access == .fetch { return .domainError("no shadow mapping can serve a fetch at 0x\(hex8(address))") }
            return .emulate(reason: .emulatedAccess)
        }
        let leafAddress = walk.superpage ? nil : walk.pteAddresses.count == 2 ? walk.pteAddresses[1] : nil
        let entry = ShadowEntry(guestPage: page, leafAddress: leafAddress,
                                leaf: leafAddress.flatMap { memory.read32($0) } ?? 0, permissions: permissions)
        install(entry, at: address, in: space, table: table)
        counters.fills += 1
        return .filled
    }

    /// The shadow second-level table for `rootIndex` in `space`, created (and its guest
    /// page-table pages watched) if needed; a region built from a root PTE the guest has since
    /// changed is rebuilt. Nil only when the pool cannot hold one table.
    private func region(_ rootIndex: UInt32, in space: ShadowAddressSpace, derivedFrom walk: GuestWalk) -> UInt32? {
        let rootEntryAddress = walk.pteAddresses.first
        let guestTable = !walk.superpage && walk.pteAddresses.count == 2 ? walk.pteAddresses[1] & ~0xFFF : nil
        if let existing = space.regions[rootIndex] {
            if existing.rootEntryAddress == rootEntryAddress && existing.guestTable == guestTable { return existing.table }
            dropRegion(rootIndex, in: space)  // (only without write protection: a root PTE edited without a fence)
            machine.flushTLB()
        }
        var frame = allocateFrame(keeping: space)
        if frame == nil {
            // The current table alone fills the pool: start it again.
            for index in Array(space.regions.keys) { dropRegion(index, in: space) }
            counters.rebuilds += 1
            machine.flushTLB()
            frame = allocateFrame(keeping: space)
        }
        guard let frame else { return nil }
        let region = ShadowRegion(table: frame, rootEntryAddress: rootEntryAddress,
                                  rootEntry: rootEntryAddress.flatMap { memory.read32($0) } ?? 0, guestTable: guestTable)
        space.regions[rootIndex] = region
        pool.write(space.root + rootIndex * 4, ShadowPTE.pointer(to: frame))
        for page in region.watchedPages { watch(page, by: ShadowRegionReference(space: space.id, rootIndex: rootIndex)) }
        return frame
    }

    private func install(_ entry: ShadowEntry, at address: UInt32, in space: ShadowAddressSpace, table: UInt32) {
        let rootIndex = ShadowPTE.rootIndex(address), leafIndex = ShadowPTE.leafIndex(address)
        let reference = ShadowEntryReference(space: space.id, virtualPage: address & ~0xFFF)
        if let old = space.regions[rootIndex]?.entries[leafIndex] {
            mappings[old.guestPage]?.remove(reference)
            // Usually a read-only entry made writable by a store: it only grows, and the hart's
            // TLB may keep the old one. Anything else (fences alone, a PTE edited without one)
            // must not be used again.
            if old.guestPage != entry.guestPage || !old.permissions.isSubset(of: entry.permissions) { machine.flushTLB() }
        }
        space.regions[rootIndex]?.entries[leafIndex] = entry
        mappings[entry.guestPage, default: []].insert(reference)
        guard let frame = memory.machineAddress(of: entry.guestPage) else { return }
        pool.write(table + leafIndex * 4, ShadowPTE.leaf(frame: frame, entry.permissions))
    }
}
