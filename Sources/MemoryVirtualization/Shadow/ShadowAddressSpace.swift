import HypervisorCore

/// One cached shadow table: the translation of one guest address space (the guest satp's root
/// and ASID) in one view (virtual U, virtual S with or without SUM, bare), as the hart follows it.
///
/// It remembers where every entry came from, so the pager can tell which shadow entries a guest
/// store to a page-table page makes stale: each 4 MiB *region* (one root-table slot) was derived
/// from one guest root PTE and, unless that PTE is a superpage leaf, one guest second-level table;
/// each entry inside it from one guest leaf PTE.
final class ShadowAddressSpace {
    /// Names this space in the pager's reverse maps (a view is too big to copy into every one).
    let id: Int
    let view: ShadowView
    /// Machine address of the shadow root table (a pool frame).
    let root: UInt32
    /// When the guest last ran in this space (the pager's clock), for least-recently-used eviction.
    var lastUse: UInt64 = 0
    /// By root index (VPN[1]).
    var regions: [UInt32: ShadowRegion] = [:]

    init(id: Int, view: ShadowView, root: UInt32) {
        self.id = id
        self.view = view
        self.root = root
    }

    var entryCount: Int { regions.values.reduce(0) { $0 + $1.entries.count } }
}

/// The shadow second-level table for one 4 MiB region, and what it was built from.
struct ShadowRegion {
    /// Machine address of the shadow second-level table (a pool frame).
    let table: UInt32
    /// Guest-physical address of the guest root PTE the region came from, and its value then
    /// (nil for a bare view: nothing to watch).
    let rootEntryAddress: UInt32?
    var rootEntry: UInt32
    /// Guest-physical page of the guest second-level table, nil when the root PTE is a superpage
    /// leaf (or the view is bare).
    let guestTable: UInt32?
    /// By leaf index (VPN[0]).
    var entries: [UInt32: ShadowEntry] = [:]

    /// The guest page-table pages this region depends on (a page may be both, for a guest table
    /// that points back at its own root).
    var watchedPages: [UInt32] {
        var pages: [UInt32] = []
        if let rootEntryAddress { pages.append(rootEntryAddress & ~0xFFF) }
        if let guestTable, !pages.contains(guestTable) { pages.append(guestTable) }
        return pages
    }
}

/// One shadow leaf: the guest page it maps, the guest leaf PTE it came from (address and value
/// when filled; nil for a bare view or a superpage, whose leaf is the region's root entry), and
/// what it grants.
struct ShadowEntry {
    let guestPage: UInt32
    let leafAddress: UInt32?
    var leaf: UInt32
    var permissions: ShadowPermissions
}

/// A shadow entry or region by name, for the reverse maps.
struct ShadowEntryReference: Hashable {
    let space: Int
    let virtualPage: UInt32
}

struct ShadowRegionReference: Hashable {
    let space: Int
    let rootIndex: UInt32
}

extension ShadowPTEValue {
    /// Whether the guest PTE `current` still says what `recorded` said when a shadow entry was
    /// built from it. Accessed and dirty bits the hardware (a walk) has set since are no change:
    /// the entry is still no more permissive than the guest's PTE. A bit cleared, or any other bit
    /// changed, is.
    static func unchanged(_ current: UInt32, since recorded: UInt32) -> Bool {
        let accessedDirty: UInt32 = 0xC0
        return current & ~accessedDirty == recorded & ~accessedDirty && current & recorded & accessedDirty == recorded & accessedDirty
    }
}

enum ShadowPTEValue {}
