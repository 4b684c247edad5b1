import Machine

/// Shadow paging, as the VMM sees it: the one thing that decides what the hart's page tables say
/// while a guest runs. The VMM (`VirtualMachine`) talks to shadow paging only through this
/// protocol; Lab 05 implements it, `MemoryVirtualization.ReferenceShadowPager` is the reference,
/// and `FlushingShadowPager` (below, in HypervisorCore) is the simplest correct one.
///
/// Who does what:
/// - The VMM does the world switch, decides which accesses must exit whatever the guest's tables
///   say (device pages, the HTIF page, binary translation's code pages: `ShadowMappingRules`),
///   emulates those accesses, reflects faults into the guest, and tells the pager about the
///   guest's SFENCE.VMA, satp writes and every store it emulates into guest RAM.
/// - The pager builds shadow tables (guest-virtual page → machine frame, in frames from its
///   `ShadowFramePool`) on demand from walks of the guest's own tables (`GuestPageTableWalk`, which
///   also sets the guest PTE's A and D bits as the bare machine does), keeps them coherent with the
///   guest's edits, bounds how much memory they take, and counts what it did (`ShadowStatistics`).
///
/// The contract the VMM relies on: a shadow entry never grants more than the guest's own page
/// tables grant now, or granted before the guest's last edit the ISA lets the hart still use (an
/// edit without SFENCE.VMA); never maps a frame outside the guest's memory; and never lets a
/// store reach a frame the pager was told to protect (page-table pages it watches, frames
/// `GuestMemory.isWritable(guestFrame:)` refuses).
public protocol ShadowPager: AnyObject {
    /// What the pager has done so far.
    var statistics: ShadowStatistics { get }

    /// The `satp` value the hart must run with for the guest's current `view`: Sv32 mode and the
    /// root of the shadow table for that view (an empty one the first time). Called before every
    /// world switch into the guest, so it is also where a pager notices which address space is in
    /// use (for its cache's eviction policy).
    func activate(_ view: ShadowView) -> UInt32

    /// The hart could not translate `address` for `access` through the shadow table of `view`.
    /// Walk the guest's tables and decide. `rules` is the VMM: ask it (`rules.limit`) what a
    /// mapping of the guest page may grant before installing one.
    func handlePageFault(at address: UInt32, _ access: GuestAccess, in view: ShadowView,
                         rules: any ShadowMappingRules) -> ShadowFaultOutcome

    /// The guest executed SFENCE.VMA. `virtualAddress` is rs1's value (nil when rs1 is x0: every
    /// address), `asid` rs2's (nil when rs2 is x0: every address space). The paravirtual kernel's
    /// page-table hypercalls fence everything (nil, nil).
    func fence(virtualAddress: UInt32?, asid: UInt32?)

    /// The guest wrote its satp (the VMM calls this after the write, when the value changed).
    func satpWritten(from old: UInt32, to new: UInt32)

    /// The VMM wrote `count` bytes of guest RAM at `guestPhysical` for the guest: an emulated store
    /// or atomic, a hypercall's write. Called after the write, for every such write; a pager that
    /// write-protects guest page-table pages finds the PTE edits here.
    func guestRAMWritten(at guestPhysical: UInt32, count: Int)

    /// Removes every shadow entry that maps the guest frame holding `guestFrame` (a guest-physical
    /// address, as `GuestMemory` names frames), and flushes the hart's TLB: the frame's
    /// p2m mapping changed (a broken share, a frame given back through the balloon: the VMM
    /// registers this with `GuestMemory.observeRemapping`) or its contents did (a code page
    /// rewritten by binary translation).
    func invalidate(guestFrame: UInt32)

    /// Throws every shadow table away (a new image was loaded).
    func dropAll()
}

/// Builds a guest's pager from what the VMM set aside for it.
public typealias ShadowPagerFactory = @Sendable (ShadowPagerResources) -> any ShadowPager

/// What a pager is given: the machine (for flushing the hart's TLB after changing a shadow entry),
/// the guest's memory (p2m; where `GuestPageTableWalk` reads the guest's tables), and the VMM's
/// frames for this guest's shadow tables.
public struct ShadowPagerResources {
    public let name: String
    public let machine: Machine
    public let memory: GuestMemory
    public let frames: ShadowFramePool
    public init(name: String, machine: Machine, memory: GuestMemory, frames: ShadowFramePool) {
        self.name = name
        self.machine = machine
        self.memory = memory
        self.frames = frames
    }
}

/// What the pager decided about one shadow page fault.
public enum ShadowFaultOutcome: Equatable, Sendable {
    /// A shadow entry now serves the access: resume the guest, which retries it.
    case filled
    /// The guest's own tables forbid the access: the VMM delivers `cause` to the guest (tval =
    /// the faulting address), as the bare machine would raise it.
    case reflect(cause: UInt32)
    /// The guest's tables allow it, but the guest-physical address is not guest RAM: the VMM
    /// emulates a device access there, or raises the access fault the bare machine raises.
    case notGuestRAM(guestPhysical: UInt32)
    /// The access must not run on the hart: the VMM emulates this one instruction (and, for a
    /// store into guest RAM, calls `guestRAMWritten`). `reason` is what it counts the exit as:
    /// the one `ShadowMappingRules` gave, or `.pageTableWrite` for a write-protected page table.
    case emulate(reason: ExitReason)
    /// A store to a frame shared copy-on-write (`GuestMemory.isWritable(guestFrame:)` says no):
    /// the VMM breaks the share (`GuestMemory.breakShare`, whose remapping reaches the pager's
    /// `invalidate(guestFrame:)`) and resumes the guest to retry.
    case breakShare(guestFrame: UInt32)
    /// The guest's page tables make the guest unrunnable in a way the hardware has no exception
    /// for (reported as a domain error, the guest stops; never a host crash).
    case domainError(String)
}

/// The VMM's say over one shadow mapping.
public protocol ShadowMappingRules {
    /// The most a shadow entry mapping the guest-physical page `guestPage` (4 KiB aligned, guest
    /// RAM) may grant in `view`, for a fill caused by `access`; or the exit reason when this access
    /// must not run on the hart at all (the VMM will emulate it).
    func limit(forGuestPage guestPage: UInt32, access: GuestAccess, view: ShadowView) -> ShadowMappingLimit
}

public enum ShadowMappingLimit: Equatable, Sendable {
    case map(ShadowPermissions)
    case exit(ExitReason)
}

/// Permissions of a shadow leaf (the hart runs the guest in U-mode, so every leaf is a U page).
public struct ShadowPermissions: OptionSet, Hashable, Sendable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    public static let readable = ShadowPermissions(rawValue: 1)
    public static let writable = ShadowPermissions(rawValue: 2)
    public static let executable = ShadowPermissions(rawValue: 4)
    public static let all: ShadowPermissions = [.readable, .writable, .executable]

    /// Whether a mapping with these permissions serves `access` on the hart.
    public func allows(_ access: GuestAccess) -> Bool {
        switch access {
        case .fetch: return contains(.executable)
        case .load: return contains(.readable)
        case .store: return contains(.writable) && contains(.readable)
        }
    }
}

/// A view: the regime instruction fetches are translated in, and the one for data accesses: the
/// key of one shadow table. The guest runs in real U-mode, so every shadow leaf has the U bit;
/// what keeps the guest's user processes out of its kernel is that each view has its own table:
/// a virtual-U view maps only pages the guest marks U; a virtual-S view maps kernel pages (and U
/// pages only with SUM, never executable); a bare view maps guest-physical = guest-virtual.
///
/// Both regimes carry the guest's satp (root page and ASID), so a guest address space and its
/// view together name one shadow table.
public struct ShadowView: Hashable, Sendable {
    public var fetch: TranslationRegime
    public var data: TranslationRegime
    public init(_ vcpu: VirtualCPU) {
        fetch = TranslationRegime(vcpu, for: .fetch)
        data = TranslationRegime(vcpu, for: .load)
    }
    public init(fetch: TranslationRegime, data: TranslationRegime) {
        self.fetch = fetch
        self.data = data
    }
    /// Data accesses cannot share the fetch mapping (virtual M-mode with MPRV): they all exit.
    public var dataAccessesExit: Bool { fetch != data }
    /// The regime `access` is translated in.
    public func regime(for access: GuestAccess) -> TranslationRegime { access == .fetch ? fetch : data }
    /// The guest satp this view translates with (0 for a bare view).
    public var satp: UInt32 { fetch.bare ? data.satp : fetch.satp }
    /// The guest's ASID (satp bits 30:22).
    public var asid: UInt32 { satp >> 22 & 0x1FF }

    /// What a shadow entry may grant in this view, given the guest's leaf PTE for the page (nil:
    /// bare, everything allowed). Write only once the guest PTE is dirty, so that the first store
    /// exits and the walk for it sets D, as on the bare machine; nothing for data accesses when
    /// they must exit.
    public func permissions(grantedBy leaf: UInt32?) -> ShadowPermissions {
        func allows(_ access: GuestAccess, _ regime: TranslationRegime) -> Bool {
            guard !regime.bare else { return true }
            guard let leaf else { return false }
            return GuestPageTableWalk.permits(leaf, access, regime: regime)
        }
        var granted: ShadowPermissions = []
        if allows(.fetch, fetch) { granted.insert(.executable) }
        if !dataAccessesExit {
            if allows(.load, data) { granted.insert(.readable) }
            let dirty = leaf.map { $0 & 0x80 != 0 } ?? true
            if dirty && allows(.store, data) { granted.insert(.writable) }
        }
        return granted
    }
}

/// A pager's counters. "Frames" are 4 KiB machine frames of the pager's pool: the memory spent
/// on shadow tables.
public struct ShadowStatistics: Equatable, Sendable {
    /// Shadow leaf entries written (each one a page-fault exit the guest's tables allowed).
    public var fills: UInt64 = 0
    /// Shadow page faults the guest's own tables explain, reflected into the guest.
    public var faultsReflected: UInt64 = 0
    /// Times shadow entries were thrown away and would have to be built again: a whole table or
    /// cache dropped (fence, satp write, full pool), counted once per drop.
    public var rebuilds: UInt64 = 0
    /// Shadow address spaces evicted from a full cache to make room for another.
    public var evictions: UInt64 = 0
    /// Stores to write-protected guest page-table pages the VMM emulated for the pager.
    public var writeProtectExits: UInt64 = 0
    /// Shadow entries removed because the guest edited the PTE they came from, a fence named
    /// them, or `invalidate(guestFrame:)` asked.
    public var entriesInvalidated: UInt64 = 0
    /// Shadow tables (address space + view) currently cached.
    public var addressSpaces: Int = 0
    /// Pool frames holding shadow tables now, and the most ever at once.
    public var framesInUse: Int = 0
    public var peakFramesInUse: Int = 0
    public init() {}

    /// One line for `--stats`.
    public var summary: String {
        "\(fills) fills, \(faultsReflected) faults reflected, \(writeProtectExits) page-table writes, \(entriesInvalidated) entries invalidated, \(rebuilds) rebuilds, \(evictions) evictions; \(addressSpaces) tables, \(framesInUse) frames (peak \(peakFramesInUse))"
    }
}

extension ExitReason {
    /// A store to a guest page-table page the shadow pager write-protects, emulated by the VMM.
    public static let pageTableWrite = ExitReason("page-table-write")
    /// A store to a guest frame shared copy-on-write: the VMM broke the share.
    public static let shareBreak = ExitReason("share-break")
}
