// Watching the MMU: counters for the memory-virtualization measurements (`vlab bench memory`), an
// observer of TLB fills (the translation audit), and a side-effect-free translation probe.
//
// What is counted where. Both engines (and the translator's native code) look up the TLB inline
// on every load and store and go to the MMU (`tlbEntry`) only on a miss, a device page, a page
// crossing, or a store entry without a host pointer. So by default the MMU sees every *miss*
// exactly (each miss is one page walk, whatever engine runs) but only the hits of those slow
// paths. Counting every hit in the fast paths would cost an increment per guest load and store,
// exactly the path the TLB exists to keep short. Instead, `MachineConfiguration.countsEveryTLBLookup`
// fills load and store TLB entries without a host pointer, so every data access reaches the MMU
// and is counted as a hit or a miss (slower: for measurement runs only). Instruction fetches are
// looked up once per page the hart moves to (exactly when the interpreter does), so fetch hits
// are derived: every retired instruction was fetched through a valid translation, and each fetch
// miss filled one, so fetch hits = retired instructions - fetch walks that succeeded.

/// The kinds of memory access, as reported by the MMU's counters and observers.
public enum TranslationAccess: Int, Sendable, CaseIterable, CustomStringConvertible {
    case fetch = 0, load = 1, store = 2
    public var description: String {
        switch self {
        case .fetch: return "fetch"
        case .load: return "load"
        case .store: return "store"
        }
    }
}

/// One TLB fill: the MMU walked the page tables for an access and cached the result.
public struct TLBFill: Sendable, Equatable {
    /// The virtual page (address with the low 12 bits clear).
    public var virtualPage: UInt32
    public var access: TranslationAccess
    /// The physical page the walk produced (with two-stage translation: the machine page).
    public var physicalPage: UInt32
    /// The hart's retired-instruction count when the access was made (the instruction making it
    /// has not retired yet).
    public var retired: UInt64
    /// The privilege the access was checked at (data accesses: with MPRV folded in).
    public var privilege: PrivilegeLevel
    /// Whether the access was translated in two stages (H extension, V=1).
    public var twoStage: Bool
    /// The pc of the instruction making the access.
    public var pc: UInt32
}

/// What the MMU counted since the machine was built or `resetTranslationStatistics()` was called.
public struct TranslationStatistics: Sendable, Equatable {
    /// TLB lookups that found their entry, by access kind. Loads and stores: only the lookups that
    /// reached the MMU (all of them with `countsEveryTLBLookup`); fetches: derived, see `fetchHits(retired:)`.
    public var hits: [UInt64] = [0, 0, 0]
    /// TLB misses, by access kind: each is one page walk.
    public var misses: [UInt64] = [0, 0, 0]
    /// Walks that ended in a page fault, guest-page fault or access fault (nothing cached).
    public var faults: [UInt64] = [0, 0, 0]
    /// Page walks (= misses).
    public var walks: UInt64 { misses.reduce(0, +) }
    /// Page-table entries read by all walks: a 4 KiB page costs 2 in a one-stage Sv32 walk, up to
    /// (2 + 1) * (2 + 1) - 1 = 8 in a two-stage walk of Sv32 over Sv32x4.
    public var walkReferences: UInt64 = 0
    /// Of those, the G-stage's own PTE reads (two-stage walks only).
    public var gStageReferences: UInt64 = 0
    /// G-stage PTE reads the G-stage walk cache saved (`MachineConfiguration.gStageWalkCache`).
    public var gStageReferencesSaved: UInt64 = 0
    /// G-stage walk cache lookups that hit / missed.
    public var gStageCacheHits: UInt64 = 0
    public var gStageCacheMisses: UInt64 = 0
    /// Whole-TLB flushes (satp/vsatp/hgatp writes, SFENCE.VMA with no address, host requests).
    public var fullFlushes: UInt64 = 0
    /// SFENCE.VMA with an address.
    public var pageFlushes: UInt64 = 0

    public init() {}

    public func hits(_ access: TranslationAccess) -> UInt64 { hits[access.rawValue] }
    public func misses(_ access: TranslationAccess) -> UInt64 { misses[access.rawValue] }

    /// Memory references per page walk (0 when nothing walked).
    public var referencesPerWalk: Double { walks == 0 ? 0 : Double(walkReferences) / Double(walks) }

    /// Fetch hits for a run that retired `retired` instructions: each retired instruction was
    /// fetched through a translation; each successful fetch walk provided one of them.
    public func fetchHits(retired: UInt64) -> UInt64 {
        let filled = misses[0] - min(misses[0], faults[0])
        return retired - min(retired, filled)
    }
}

/// The MMU's counters and observer for one machine. The counters are plain words behind a
/// pointer, so a walk bumps one with a single add (no exclusivity check, no array copy).
final class TranslationMonitor {
    /// Slots of `counters`.
    enum Slot {
        static let hits = 0, misses = 3, faults = 6  // + access kind
        static let walkReferences = 9, gStageReferences = 10, gStageReferencesSaved = 11
        static let gStageCacheHits = 12, gStageCacheMisses = 13, fullFlushes = 14, pageFlushes = 15
        static let count = 16
    }
    let counters: UnsafeMutablePointer<UInt64>
    /// Called after every TLB fill, with the hart's state as of the access.
    var fillObserver: ((TLBFill) -> Void)? = nil
    /// With `MachineConfiguration.gStageWalkCache`: guest-physical page -> G-stage leaf PTE,
    /// direct-mapped.
    let gStageCache: UnsafeMutablePointer<GStageCacheEntry>
    static let gStageCacheEntries = 64

    init() {
        counters = .allocate(capacity: Slot.count)
        counters.initialize(repeating: 0, count: Slot.count)
        gStageCache = .allocate(capacity: Self.gStageCacheEntries)
        gStageCache.initialize(repeating: GStageCacheEntry(), count: Self.gStageCacheEntries)
    }

    deinit {
        counters.deallocate()
        gStageCache.deallocate()
    }

    func reset() { counters.update(repeating: 0, count: Slot.count) }

    func flushGStageCache() {
        for i in 0..<Self.gStageCacheEntries { gStageCache[i].guestPage = .max }
    }

    var statistics: TranslationStatistics {
        var s = TranslationStatistics()
        s.hits = (0..<3).map { counters[Slot.hits + $0] }
        s.misses = (0..<3).map { counters[Slot.misses + $0] }
        s.faults = (0..<3).map { counters[Slot.faults + $0] }
        s.walkReferences = counters[Slot.walkReferences]
        s.gStageReferences = counters[Slot.gStageReferences]
        s.gStageReferencesSaved = counters[Slot.gStageReferencesSaved]
        s.gStageCacheHits = counters[Slot.gStageCacheHits]
        s.gStageCacheMisses = counters[Slot.gStageCacheMisses]
        s.fullFlushes = counters[Slot.fullFlushes]
        s.pageFlushes = counters[Slot.pageFlushes]
        return s
    }
}

/// One cached G-stage translation: what the last walk of this guest-physical page found.
struct GStageCacheEntry {
    /// Guest-physical page number (34-bit address >> 12); `.max` when empty.
    var guestPage: UInt64 = .max
    var leaf: UInt32 = 0
    /// Whether the leaf was a superpage.
    var superpage = false
}

extension Machine {
    /// What the MMU counted so far (see the file comment for what is counted where).
    public var translationStatistics: TranslationStatistics { translationMonitor.statistics }

    /// Starts the counters again from zero.
    public func resetTranslationStatistics() {
        translationMonitor.reset()
    }

    /// Called after every TLB fill (a successful page walk, or, with translation off, the identity
    /// entry the engine gets its direct RAM pointer from), with the access and the hart's retired
    /// count at that moment. For checking tools such as a translation audit; nil (the default)
    /// costs nothing.
    public var tlbFillObserver: ((TLBFill) -> Void)? {
        get { translationMonitor.fillObserver }
        set { translationMonitor.fillObserver = newValue }
    }

    /// What the hart's MMU would make of an access to `virtualAddress` right now, in its current
    /// context (privilege, MPRV, SUM, MXR, satp), without changing anything: no TLB fill, no A/D
    /// update, nothing counted. A valid TLB entry is used as the hardware would; otherwise the
    /// page tables are walked. Returns the physical address, or the exception cause.
    /// Not for two-stage contexts (V=1): returns nil there.
    public func probeTranslation(_ virtualAddress: UInt32, _ access: TranslationAccess) -> Result<UInt32, TranslationFault>? {
        guard let kind = MemoryAccess(rawValue: access.rawValue) else { return nil }
        if configuration.hypervisorExtension && usesTwoStageTranslation(kind) { return nil }
        let vpn = virtualAddress >> 12
        let context = kind == .fetch ? fetchContext : dataContext
        let entry = tlb[kind.rawValue * TLB.entriesPerKind + Int(vpn & UInt32(TLB.entriesPerKind - 1))]
        if entry.tag == vpn | context {
            return .success(entry.physicalPage & ~0xFFF | virtualAddress & 0xFFF)
        }
        let privilege = kind == .fetch ? state.pointee.privilege : state.pointee.dataPrivilege
        switch walk(virtualAddress, kind, privilege: privilege, sideEffects: false) {
        case .physical(let physical, _): return .success(physical)
        case .fault(let cause): return .failure(TranslationFault(cause: cause))
        }
    }

    /// The privilege a data access would be checked at now (M-mode with MPRV acts as MPP).
    public var dataAccessPrivilege: PrivilegeLevel { state.pointee.dataPrivilege }

    /// Counts one TLB lookup that reached the MMU and calls the fill observer; the miss side of
    /// `tlbEntry`, kept out of line so the lookup itself stays small.
    @inline(never)
    func noteTLBFill(_ virtualAddress: UInt32, _ access: MemoryAccess, physicalPage: UInt32, privilege: PrivilegeLevel) {
        guard let observer = translationMonitor.fillObserver else { return }
        let twoStage = configuration.hypervisorExtension && usesTwoStageTranslation(access)
        observer(TLBFill(virtualPage: virtualAddress & ~0xFFF, access: TranslationAccess(rawValue: access.rawValue) ?? .load,
                         physicalPage: physicalPage, retired: state.pointee.retired, privilege: privilege, twoStage: twoStage,
                         pc: state.pointee.pc))
    }
}

/// A translation that ends in an exception: its cause (page fault, guest-page fault, access fault).
public struct TranslationFault: Error, Sendable, Equatable, CustomStringConvertible {
    public var cause: UInt32
    public init(cause: UInt32) { self.cause = cause }
    public var description: String { Trap.name(ofCause: cause) }
}

extension TranslationMonitor {
    /// Every cached translation was dropped: count it, and drop the G-stage walk cache with it.
    func noteFullFlush() {
        counters[Slot.fullFlushes] &+= 1
        flushGStageCache()
    }
}
