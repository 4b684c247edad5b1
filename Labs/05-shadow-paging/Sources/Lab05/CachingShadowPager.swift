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
        throw NotImplemented(lab: "05", "CachingShadowPager.table(for:): find or build the shadow table for a view")
    }

    /// A zeroed pool frame. When the pool is empty, evicts least recently used tables (never
    /// `keeping`, the table the frame is for) until one is free.
    func allocateFrame(keeping: ShadowView?) throws -> UInt32 {
        throw NotImplemented(lab: "05", "CachingShadowPager.allocateFrame(keeping:): a pool frame, evicting when the pool is empty")
    }

    /// Forgets the table for `view`: every entry of it leaves the reverse map and the watch lists,
    /// and its frames go back to the pool. If the hart runs on it (its root is in the hart's satp)
    /// the hart's TLB must be flushed.
    func evict(_ view: ShadowView) throws {
        throw NotImplemented(lab: "05", "CachingShadowPager.evict(_:): drop one shadow table and give its frames back")
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
        throw NotImplemented(lab: "05", "CachingShadowPager.fill(_:_:in:rules:): walk the guest's tables and install a shadow entry")
    }

    /// Writes the shadow leaf for `virtualPage` in `view`'s table (allocating its second-level
    /// table if needed), records it in the reverse map and under every PTE in `sources`, and
    /// watches those PTEs' pages (`watch`). An entry the page already had is replaced.
    func install(_ virtualPage: UInt32, frame: UInt32, _ permissions: ShadowPermissions, guestPage: UInt32,
                 sources: [UInt32], in view: ShadowView) throws {
        throw NotImplemented(lab: "05", "CachingShadowPager.install(...): write a shadow leaf and record where it came from")
    }

    // MARK: Task 3: coherence

    /// From now on `page` (guest-physical) holds page-table entries you depend on: no shadow
    /// entry may let the guest store to it without an exit. Make every writable shadow leaf that
    /// maps it read-only (or remove it), then flush the hart's TLB if one of them was in the
    /// table the hart runs on.
    func watch(pageTablePage page: UInt32) throws {
        throw NotImplemented(lab: "05", "CachingShadowPager.watch(pageTablePage:): write-protect a guest page-table page")
    }

    /// The VMM wrote `count` bytes of guest RAM at `guestPhysical` for the guest (an emulated
    /// store, usually to a watched page). Remove every shadow leaf derived from a guest PTE in
    /// those bytes: the guest's next access through it faults and is filled from the new PTE.
    func written(at guestPhysical: UInt32, count: Int) throws {
        throw NotImplemented(lab: "05", "CachingShadowPager.written(at:count:): a store to a page table changed PTEs")
    }

    /// The guest-physical page's frame is about to change (a broken share, a balloon): remove
    /// every shadow leaf that maps it, and, if it is a watched page-table page, every leaf derived
    /// from a PTE in it.
    func removeMappings(ofGuestPage page: UInt32) throws {
        throw NotImplemented(lab: "05", "CachingShadowPager.removeMappings(ofGuestPage:): the reverse map")
    }

    /// Removes every shadow leaf derived from a PTE in `page`; the page is then no longer watched.
    func removeDerivedEntries(ofPageTablePage page: UInt32) throws {
        throw NotImplemented(lab: "05", "CachingShadowPager.removeDerivedEntries(ofPageTablePage:): unshadow a page table")
    }

    /// SFENCE.VMA (nil: every address, every address space). Your tables are kept coherent by
    /// write protection, so they are never staler than the guest's own: decide what, if
    /// anything, a fence must still do.
    func fenced(virtualAddress: UInt32?, asid: UInt32?) throws {
        throw NotImplemented(lab: "05", "CachingShadowPager.fenced(virtualAddress:asid:): SFENCE.VMA")
    }

    /// Removes one shadow leaf: clears it in its table, forgets it, and flushes the hart's TLB
    /// if the hart runs on that table.
    func unmap(_ key: EntryKey) throws {
        throw NotImplemented(lab: "05", "CachingShadowPager.unmap(_:): remove one shadow leaf")
    }

}

/// A failure of the pager itself, with a message.
public struct ShadowPagerError: Error, Equatable, Sendable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
