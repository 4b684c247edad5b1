import Machine

/// The page tables the hart really uses while a guest runs: built by the VMM from the guest's own
/// page tables, mapping guest-virtual pages straight to machine frames.
///
/// The guest runs in real U-mode, so every shadow leaf has the U bit; what keeps the guest's user
/// processes out of its kernel is that there is one shadow table per *view*: the pair of
/// translation regimes (for fetches, for loads and stores) the virtual CPU is in. A virtual-U view
/// maps only pages the guest marks U; a virtual-S view maps kernel pages (and U pages only with
/// SUM, never executable); a bare view maps guest-physical = guest-virtual for the firmware and for
/// a kernel that has not turned paging on.
///
/// Tables start empty and fill on demand: the hart faults on a missing page, the VMM walks the
/// guest's tables (`GuestPageTableWalk`) and either installs the translation here (a "page-fault"
/// exit) or reflects the fault into the guest. Device pages are never mapped, so device accesses
/// always exit and are emulated. SFENCE.VMA and satp writes throw every view away
/// (`flush()`); flushing more than the guest asked for is always allowed.
///
/// The frames come from a pool the VMM reserved for itself: no guest can name them, because no
/// guest-physical address maps to them.
public final class ShadowPageTables {
    /// A view: the regime instruction fetches are translated in, and the one for data accesses.
    /// They differ only when the virtual M-mode sets MPRV; then data accesses are not mapped at all
    /// and every one of them exits to be emulated.
    public struct View: Hashable, Sendable {
        public var fetch: TranslationRegime
        public var data: TranslationRegime
        public init(_ vcpu: VirtualCPU) {
            fetch = TranslationRegime(vcpu, for: .fetch)
            data = TranslationRegime(vcpu, for: .load)
        }
        /// Data accesses cannot share the fetch mapping.
        public var dataAccessesExit: Bool { fetch != data }
    }

    private struct Table {
        let root: UInt32
        var secondLevel: [UInt32: UInt32] = [:]  // root index -> machine address of the second-level table
    }

    let machine: Machine
    /// The pool: machine addresses of the frames the shadow tables may use.
    public let frames: [UInt32]
    private var nextFrame = 0
    private var tables: [View: Table] = [:]
    private var mappedSinceFlush = true
    /// How often every view was thrown away (SFENCE.VMA, satp writes, a full pool).
    public private(set) var flushes = 0
    /// Shadow entries written.
    public private(set) var fills = 0

    private static let zeroPage = [UInt8](repeating: 0, count: 4096)

    public init(machine: Machine, frames: [UInt32]) {
        self.machine = machine
        self.frames = frames
    }

    /// Throws every shadow table away. The hart's TLB is flushed too, since it caches them.
    public func flush() {
        // Nothing mapped since the last flush (the kernel's `csrw satp` then `sfence.vma`): the
        // tables are empty, and the hart's TLB never caches a failed walk, so there is nothing to drop.
        guard mappedSinceFlush else { return }
        reset()
    }

    /// Drops every table and reclaims the whole pool (also when the pool runs out).
    private func reset() {
        mappedSinceFlush = false
        tables.removeAll(keepingCapacity: true)
        nextFrame = 0
        flushes += 1
        machine.flushTLB()
    }

    /// The `satp` value that makes the hart use `view`'s table (allocating an empty one if needed).
    public func satp(for view: View) -> UInt32 {
        guard let table = table(for: view) else {
            reset()
            return satp(for: view)
        }
        return 0x8000_0000 | table.root >> 12
    }

    /// Maps the 4 KiB page holding `virtualAddress` to the machine frame at `machineFrame` in
    /// `view`, with the permissions given (the caller derived them from the guest's PTE). The entry
    /// is a U-mode leaf with A set, and D set exactly when it is writable.
    public func map(_ virtualAddress: UInt32, to machineFrame: UInt32, in view: View,
                    readable: Bool, writable: Bool, executable: Bool) {
        guard readable || executable else { return }
        if frames.count - nextFrame < 2 && tables[view]?.secondLevel[virtualAddress >> 22] == nil { reset() }
        guard var table = table(for: view) else { return }
        let index = virtualAddress >> 22
        let second: UInt32
        if let existing = table.secondLevel[index] {
            second = existing
        } else {
            guard let frame = allocateFrame() else { return }
            second = frame
            table.secondLevel[index] = frame
            tables[view] = table
            writeWord(table.root + index * 4, (frame >> 12) << 10 | 1)
        }
        var pte: UInt32 = (machineFrame >> 12) << 10 | 0x1 | 0x10 | 0x40
        if readable { pte |= 0x2 }
        if writable && readable { pte |= 0x4 | 0x80 }
        if executable { pte |= 0x8 }
        writeWord(second + (virtualAddress >> 12 & 0x3FF) * 4, pte)
        mappedSinceFlush = true
        fills += 1
    }

    private func table(for view: View) -> Table? {
        if let table = tables[view] { return table }
        guard let root = allocateFrame() else { return nil }
        let table = Table(root: root)
        tables[view] = table
        return table
    }

    private func allocateFrame() -> UInt32? {
        guard nextFrame < frames.count else { return nil }
        let frame = frames[nextFrame]
        nextFrame += 1
        try? machine.writePhysical(frame, ShadowPageTables.zeroPage)
        return frame
    }

    private func writeWord(_ address: UInt32, _ value: UInt32) {
        try? machine.writePhysical(address, [UInt8(truncatingIfNeeded: value), UInt8(truncatingIfNeeded: value >> 8),
                                             UInt8(truncatingIfNeeded: value >> 16), UInt8(truncatingIfNeeded: value >> 24)])
    }
}
