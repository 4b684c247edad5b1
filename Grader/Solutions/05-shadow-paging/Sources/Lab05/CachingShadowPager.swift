import HypervisorCore
import Machine
import RISCV

/// Lab 05: a shadow pager that keeps a cache of shadow tables, one per guest address space and
/// view, and keeps them coherent with the guest's page tables by write-protecting those tables.
///
/// The guest kernel runs in real U-mode, so the hart cannot use the guest's page tables: they map
/// guest-virtual to *guest-physical* addresses, and the guest owns only some machine frames. The
/// VMM gives the hart a *shadow* table instead, mapping guest-virtual pages straight to machine
/// frames: the composition of the guest's table (virtual -> guest-physical) and the p2m
/// (guest-physical -> machine, `GuestMemory.machineAddress(of:)`).
///
/// You build those tables lazily: they start empty, the hart faults on a page the shadow table
/// lacks, and the VMM calls `handlePageFault`. You walk the guest's tables
/// (`GuestPageTableWalk.walk`, which also sets the guest PTE's A and D bits as the bare machine
/// does) and either install a shadow entry or tell the VMM what the guest's hardware would do.
///
/// Coherence: the guest edits its page tables with ordinary stores. Every guest page-table page
/// a shadow entry was derived from is *watched*: no shadow table maps it writable, so a store to
/// it exits, the VMM emulates the store and tells you (`guestRAMWritten`), and you remove exactly
/// the shadow entries derived from the PTE that changed. The shadow tables are then never staler
/// than the guest's own tables, which the ISA always allows, so they survive SFENCE.VMA and satp
/// switches: a process switched back in finds its shadow table still filled.
///
/// The VMM's frames for shadow tables (`ShadowFramePool`) are few: when they run out, evict the
/// address space used least recently (the seed's "flooded" shadow tables made bounded).
public final class CachingShadowPager: ShadowPager {
    /// How the VMM builds this pager for a guest (`VirtualMachine(..., pager: CachingShadowPager.factory)`).
    public static let factory: ShadowPagerFactory = { CachingShadowPager($0) }

    /// The TODOs this pager reached (the tests print them).
    public let unfinished = UnfinishedWork()

    let machine: Machine
    let memory: GuestMemory
    let pool: ShadowFramePool

    // MARK: The cache (you may change these to suit your design)

    /// One shadow table: the shadow of one guest address space (satp) seen through one view.
    final class ShadowAddressSpace {
        let view: ShadowView
        /// Machine address of the root table (a pool frame).
        let root: UInt32
        /// Root index (VPN[1]) -> machine address of that second-level table (a pool frame).
        var secondLevel: [UInt32: UInt32] = [:]
        /// Guest-virtual page -> what its shadow leaf was built from.
        var entries: [UInt32: ShadowEntry] = [:]
        /// When this table was last activated or filled (for least-recently-used eviction).
        var lastUsed: UInt64 = 0

        init(view: ShadowView, root: UInt32) {
            self.view = view
            self.root = root
        }
    }

    /// What one shadow leaf was derived from.
    struct ShadowEntry {
        /// The guest-physical page it maps.
        var guestPage: UInt32
        /// The guest-physical addresses of the guest PTEs the walk read (root entry first).
        var sources: [UInt32]
    }

    /// Names one shadow leaf: the table (by its view) and the guest-virtual page.
    struct EntryKey: Hashable {
        var view: ShadowView
        var virtualPage: UInt32
    }

    /// The cached shadow tables.
    var spaces: [ShadowView: ShadowAddressSpace] = [:]
    /// Reverse map: guest-physical page -> the shadow leaves that map it.
    var mappingsOfPage: [UInt32: Set<EntryKey>] = [:]
    /// Watched guest page-table pages: page -> (guest PTE address -> the leaves derived from it).
    /// A page is watched exactly while it has an entry here.
    var derivedFrom: [UInt32: [UInt32: Set<EntryKey>]] = [:]
    /// Stores emulated into each watched page since it was last watched.
    var writesToWatchedPage: [UInt32: Int] = [:]
    /// After this many emulated stores a watched page is taken out of the shadow (every entry
    /// derived from it dropped) and mapped writable: a kernel zeroing or recycling a page that
    /// was a page table must not pay an exit per word (Xen and VMware "unshadow" such pages).
    static let writesBeforeUnshadowing = 32

    /// Ticks for `lastUsed`.
    var clock: UInt64 = 0
    var counters = ShadowStatistics()
    /// A root table with no entries, for `activate` when your `table(for:)` is not written yet:
    /// the guest then faults on every access and `handlePageFault` stops it.
    private var emptyRoot: UInt32?

    public init(_ resources: ShadowPagerResources) {
        machine = resources.machine
        memory = resources.memory
        pool = resources.frames
    }

    // MARK: The ShadowPager protocol (already written: it calls your functions below)

    public var statistics: ShadowStatistics {
        var statistics = counters
        statistics.addressSpaces = spaces.count
        statistics.framesInUse = pool.inUse
        statistics.peakFramesInUse = pool.peakInUse
        return statistics
    }

    public func activate(_ view: ShadowView) -> UInt32 {
        do {
            return ShadowPTE.satp(root: try table(for: view).root)
        } catch {
            unfinished.record(error)
            if emptyRoot == nil { emptyRoot = pool.allocate() }
            return ShadowPTE.satp(root: emptyRoot ?? pool.frames[0])
        }
    }

    public func handlePageFault(at address: UInt32, _ access: GuestAccess, in view: ShadowView,
                                rules: any ShadowMappingRules) -> ShadowFaultOutcome {
        do {
            return try fill(address, access, in: view, rules: rules)
        } catch {
            unfinished.record(error)
            return .domainError("the shadow pager could not handle a \(access) fault at 0x\(hex8(address)): \(error)")
        }
    }

    public func fence(virtualAddress: UInt32?, asid: UInt32?) {
        do { try fenced(virtualAddress: virtualAddress, asid: asid) } catch { unfinished.record(error) }
    }

    public func satpWritten(from old: UInt32, to new: UInt32) {}

    public func guestRAMWritten(at guestPhysical: UInt32, count: Int) {
        do { try written(at: guestPhysical, count: count) } catch { unfinished.record(error) }
    }

    public func invalidate(guestFrame: UInt32) {
        do { try removeMappings(ofGuestPage: guestFrame & ~0xFFF) } catch { unfinished.record(error) }
    }

    public func dropAll() {
        do {
            for view in Array(spaces.keys) { try evict(view) }
        } catch {
            unfinished.record(error)
        }
    }

    // MARK: Task 1: the cache of shadow tables

    /// The shadow table for `view`: the cached one, or a new empty one (a root frame from the
    /// pool, every entry invalid). Mark it used now. If the pool has no frame left, evict the
    /// least recently used table first (`evict`), never the one being asked for.
    func table(for view: ShadowView) throws -> ShadowAddressSpace {
        // BEGIN SOLUTION
        // STUB: throw NotImplemented(lab: "05", "CachingShadowPager.table(for:): find or build the shadow table for a view")
        clock += 1
        if let space = spaces[view] {
            space.lastUsed = clock
            return space
        }
        let root = try allocateFrame(keeping: nil)
        let space = ShadowAddressSpace(view: view, root: root)
        space.lastUsed = clock
        spaces[view] = space
        return space
        // END SOLUTION
    }

    /// A zeroed pool frame. When the pool is empty, evicts least recently used tables (never
    /// `keeping`, the table the frame is for) until one is free.
    func allocateFrame(keeping: ShadowView?) throws -> UInt32 {
        // BEGIN SOLUTION
        // STUB: throw NotImplemented(lab: "05", "CachingShadowPager.allocateFrame(keeping:): a pool frame, evicting when the pool is empty")
        while true {
            if let frame = pool.allocate() { return frame }
            let victims = spaces.values.filter { $0.view != keeping }
            guard let victim = victims.min(by: { $0.lastUsed < $1.lastUsed }) else {
                // Only the table we are filling holds frames: start it over.
                guard let keeping else { throw ShadowPagerError("the shadow frame pool is empty and holds no table to evict") }
                try evict(keeping)
                throw TableEvicted()
            }
            try evict(victim.view)
            counters.evictions += 1
        }
        // END SOLUTION
    }

    /// Forgets the table for `view`: every entry of it leaves the reverse map and the watch lists,
    /// and its frames go back to the pool. If the hart runs on it (its root is in the hart's satp)
    /// the hart's TLB must be flushed.
    func evict(_ view: ShadowView) throws {
        // BEGIN SOLUTION
        // STUB: throw NotImplemented(lab: "05", "CachingShadowPager.evict(_:): drop one shadow table and give its frames back")
        guard let space = spaces.removeValue(forKey: view) else { return }
        for (page, entry) in space.entries { forget(EntryKey(view: view, virtualPage: page), entry) }
        for table in space.secondLevel.values { pool.release(table) }
        pool.release(space.root)
        counters.rebuilds += 1
        if isOnHart(space) { machine.flushTLB() }
        // END SOLUTION
    }

    // MARK: Task 2: filling on a shadow page fault

    /// The hart faulted at `address` for `access` in `view`'s table. Walk the guest's tables in
    /// the view's regime for that access (`view.regime(for:)`), then, in this order:
    /// - the walk faults: `.reflect(cause:)` (count `faultsReflected`);
    /// - the guest-physical address is not guest RAM: `.notGuestRAM`;
    /// - `rules.limit` says exit: `.emulate(reason:)` with its reason;
    /// - a store to a watched page-table page: `.emulate(reason: .pageTableWrite)` (count
    ///   `writeProtectExits`): the VMM does the store and calls `guestRAMWritten`; but once a
    ///   page has taken `writesBeforeUnshadowing` such stores, unshadow it
    ///   (`removeDerivedEntries`) and map it like any other page;
    /// - a store to a frame `memory.isWritable(guestFrame:)` refuses: `.breakShare`;
    /// otherwise install a leaf granting `view.permissions(grantedBy: leaf)` within the rules'
    /// limit, never writable for a watched or unwritable frame, watch every page-table page the
    /// walk read, and return `.filled` (count `fills`). If the permissions cannot serve the
    /// access: a fetch is a `.domainError`, a load or store `.emulate(reason: .emulatedAccess)`.
    func fill(_ address: UInt32, _ access: GuestAccess, in view: ShadowView, rules: any ShadowMappingRules) throws -> ShadowFaultOutcome {
        // BEGIN SOLUTION
        // STUB: throw NotImplemented(lab: "05", "CachingShadowPager.fill(_:_:in:rules:): walk the guest's tables and install a shadow entry")
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
        let mapsItsOwnTable = walk.pteAddresses.contains { $0 & ~0xFFF == page }
        if access == .store && derivedFrom[page] != nil && !mapsItsOwnTable {
            writesToWatchedPage[page, default: 0] += 1
            if writesToWatchedPage[page, default: 0] > Self.writesBeforeUnshadowing {
                // A page stored to this often is being reused (zeroed, freed), not edited: stop
                // shadowing it. Dropping what was derived from it is never stale.
                try removeDerivedEntries(ofPageTablePage: page)
            }
        }
        if derivedFrom[page] != nil || mapsItsOwnTable {
            if access == .store {
                counters.writeProtectExits += 1
                return .emulate(reason: .pageTableWrite)
            }
            permissions.remove(.writable)
        }
        if !memory.isWritable(guestFrame: page) {
            if access == .store { return .breakShare(guestFrame: page) }
            permissions.remove(.writable)
        }
        guard permissions.allows(access) else {
            if access == .fetch { return .domainError("no shadow mapping can serve a fetch at 0x\(hex8(address))") }
            return .emulate(reason: .emulatedAccess)
        }
        do {
            try install(address & ~0xFFF, frame: frame, permissions, guestPage: page, sources: walk.pteAddresses, in: view)
        } catch is TableEvicted {
            // The pool held only this table; it was emptied. The hart retries and faults again.
            return .filled
        }
        counters.fills += 1
        return .filled
        // END SOLUTION
    }

    /// Writes the shadow leaf for `virtualPage` in `view`'s table (allocating its second-level
    /// table if needed), records it in the reverse map and under every PTE in `sources`, and
    /// watches those PTEs' pages (`watch`). An entry the page already had is replaced.
    func install(_ virtualPage: UInt32, frame: UInt32, _ permissions: ShadowPermissions, guestPage: UInt32,
                 sources: [UInt32], in view: ShadowView) throws {
        // BEGIN SOLUTION
        // STUB: throw NotImplemented(lab: "05", "CachingShadowPager.install(...): write a shadow leaf and record where it came from")
        let space = try table(for: view)
        let key = EntryKey(view: view, virtualPage: virtualPage)
        if let old = space.entries[virtualPage] { forget(key, old) }
        let index = virtualPage >> 22
        let second: UInt32
        if let existing = space.secondLevel[index] {
            second = existing
        } else {
            second = try allocateFrame(keeping: view)
            space.secondLevel[index] = second
            pool.write(space.root + index * 4, ShadowPTE.pointer(to: second))
        }
        for source in sources { try watch(pageTablePage: source & ~0xFFF) }
        pool.write(second + (virtualPage >> 12 & 0x3FF) * 4, ShadowPTE.leaf(frame: frame, permissions))
        space.entries[virtualPage] = ShadowEntry(guestPage: guestPage, sources: sources)
        mappingsOfPage[guestPage, default: []].insert(key)
        for source in sources { derivedFrom[source & ~0xFFF, default: [:]][source, default: []].insert(key) }
        // END SOLUTION
    }

    // MARK: Task 3: coherence

    /// From now on `page` (guest-physical) holds page-table entries you depend on: no shadow
    /// entry may let the guest store to it without an exit. Make every writable shadow leaf that
    /// maps it read-only (or remove it), then flush the hart's TLB if one of them was in the
    /// table the hart runs on.
    func watch(pageTablePage page: UInt32) throws {
        // BEGIN SOLUTION
        // STUB: throw NotImplemented(lab: "05", "CachingShadowPager.watch(pageTablePage:): write-protect a guest page-table page")
        if derivedFrom[page] != nil { return }
        derivedFrom[page] = [:]
        writesToWatchedPage[page] = nil
        for key in mappingsOfPage[page] ?? [] { try unmap(key) }
        // END SOLUTION
    }

    /// The VMM wrote `count` bytes of guest RAM at `guestPhysical` for the guest (an emulated
    /// store, usually to a watched page). Remove every shadow leaf derived from a guest PTE in
    /// those bytes: the guest's next access through it faults and is filled from the new PTE.
    func written(at guestPhysical: UInt32, count: Int) throws {
        // BEGIN SOLUTION
        // STUB: throw NotImplemented(lab: "05", "CachingShadowPager.written(at:count:): a store to a page table changed PTEs")
        guard count > 0 else { return }
        var word = guestPhysical & ~3
        let end = UInt64(guestPhysical) + UInt64(count)
        while UInt64(word) < end {
            if let dependents = derivedFrom[word & ~0xFFF]?[word] {
                for key in dependents { try unmap(key) }
            }
            word &+= 4
            if word == 0 { break }
        }
        // END SOLUTION
    }

    /// The guest-physical page's frame is about to change (a broken share, a balloon): remove
    /// every shadow leaf that maps it, and, if it is a watched page-table page, every leaf derived
    /// from a PTE in it.
    func removeMappings(ofGuestPage page: UInt32) throws {
        // BEGIN SOLUTION
        // STUB: throw NotImplemented(lab: "05", "CachingShadowPager.removeMappings(ofGuestPage:): the reverse map")
        for key in mappingsOfPage[page] ?? [] { try unmap(key) }
        try removeDerivedEntries(ofPageTablePage: page)
        // END SOLUTION
    }

    /// Removes every shadow leaf derived from a PTE in `page`; the page is then no longer watched.
    func removeDerivedEntries(ofPageTablePage page: UInt32) throws {
        // BEGIN SOLUTION
        // STUB: throw NotImplemented(lab: "05", "CachingShadowPager.removeDerivedEntries(ofPageTablePage:): unshadow a page table")
        for dependents in (derivedFrom[page] ?? [:]).values {
            for key in dependents { try unmap(key) }
        }
        derivedFrom[page] = nil
        // END SOLUTION
    }

    /// SFENCE.VMA (nil: every address, every address space). Your tables are kept coherent by
    /// write protection, so they are never staler than the guest's own: decide what, if
    /// anything, a fence must still do.
    func fenced(virtualAddress: UInt32?, asid: UInt32?) throws {
        // BEGIN SOLUTION
        // STUB: throw NotImplemented(lab: "05", "CachingShadowPager.fenced(virtualAddress:asid:): SFENCE.VMA")
        // Nothing: every shadow leaf was derived from PTEs in watched pages, and every edit of
        // those was seen when it happened (`written`). The ISA lets the hart use a translation
        // from before an unfenced edit; it does not require it.
        // END SOLUTION
    }

    /// Removes one shadow leaf: clears it in its table, forgets it, and flushes the hart's TLB
    /// if the hart runs on that table.
    func unmap(_ key: EntryKey) throws {
        // BEGIN SOLUTION
        // STUB: throw NotImplemented(lab: "05", "CachingShadowPager.unmap(_:): remove one shadow leaf")
        guard let space = spaces[key.view], let entry = space.entries[key.virtualPage] else { return }
        if let second = space.secondLevel[key.virtualPage >> 22] {
            pool.write(second + (key.virtualPage >> 12 & 0x3FF) * 4, 0)
        }
        forget(key, entry)
        counters.entriesInvalidated += 1
        if isOnHart(space) { machine.flushTLB() }
        // END SOLUTION
    }

    // BEGIN SOLUTION
    /// Removes a leaf from its table's entries, the reverse map and the watch lists (a page no
    /// leaf depends on any more is no longer watched). Does not touch the shadow table itself.
    private func forget(_ key: EntryKey, _ entry: ShadowEntry) {
        spaces[key.view]?.entries[key.virtualPage] = nil
        mappingsOfPage[entry.guestPage]?.remove(key)
        if mappingsOfPage[entry.guestPage]?.isEmpty == true { mappingsOfPage[entry.guestPage] = nil }
        for source in entry.sources {
            let page = source & ~0xFFF
            derivedFrom[page]?[source]?.remove(key)
            if derivedFrom[page]?[source]?.isEmpty == true { derivedFrom[page]?[source] = nil }
            if derivedFrom[page]?.isEmpty == true { derivedFrom[page] = nil }
        }
    }

    /// Whether the hart's satp names this table's root.
    private func isOnHart(_ space: ShadowAddressSpace) -> Bool {
        machine.readCSR(CSR.satp) == ShadowPTE.satp(root: space.root)
    }

    /// Thrown by `allocateFrame` when the only table it could empty was the one being filled.
    struct TableEvicted: Error {}
    // END SOLUTION
}

/// A failure of the pager itself, with a message.
public struct ShadowPagerError: Error, Equatable, Sendable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
