import Machine

/// The three kinds of memory access, checked and reported differently.
public enum GuestAccess: Int, Sendable, CaseIterable {
    case fetch = 0, load = 1, store = 2

    public var pageFaultCause: UInt32 {
        switch self {
        case .fetch: return ExceptionCode.instructionPageFault
        case .load: return ExceptionCode.loadPageFault
        case .store: return ExceptionCode.storePageFault
        }
    }

    public var accessFaultCause: UInt32 {
        switch self {
        case .fetch: return ExceptionCode.instructionAccessFault
        case .load: return ExceptionCode.loadAccessFault
        case .store: return ExceptionCode.storeAccessFault
        }
    }
}

/// The translation regime a guest access is made in: the inputs of an Sv32 walk besides the address.
public struct TranslationRegime: Hashable, Sendable {
    /// Bare translation (virtual satp MODE = 0, or an M-mode access): guest-virtual = guest-physical.
    public var bare: Bool
    public var privilege: PrivilegeLevel
    public var sum: Bool
    public var mxr: Bool
    public var satp: UInt32

    /// The regime for `vcpu`'s accesses of kind `access` (data accesses honour MPRV).
    public init(_ vcpu: VirtualCPU, for access: GuestAccess) {
        let privilege = access == .fetch ? vcpu.privilege : vcpu.dataPrivilege
        self.privilege = privilege
        let bare = privilege == .machine || vcpu.csrs.satp >> 31 == 0
        self.bare = bare
        // Every bare regime translates alike (guest-virtual = guest-physical, everything allowed),
        // so they share one key, and one shadow table: the firmware and a kernel without paging
        // switch between them without a TLB flush.
        satp = bare ? 0 : vcpu.csrs.satp
        if bare { self.privilege = .machine }
        sum = !bare && vcpu.csrs.mstatus & StatusBits.sum != 0
        mxr = !bare && vcpu.csrs.mstatus & StatusBits.mxr != 0
    }
}

/// What the guest's own page tables say about an address.
public enum GuestTranslation: Equatable, Sendable {
    /// The access is allowed; `leaf` is the guest PTE (nil in bare mode), for the permissions it grants.
    case guestPhysical(UInt32, leaf: UInt32?)
    /// The guest's hardware would raise this exception (a page fault, or an access fault for a PTE
    /// outside the guest's RAM).
    case fault(cause: UInt32)
}

/// An Sv32 walk of the *guest's* page tables (privileged spec 4.3.2), reading and updating them in
/// guest-physical memory, with the same checks and the same accessed/dirty updates the bare
/// machine's MMU makes, so a guest sees identical page-table behaviour bare and virtualized.
public enum GuestPageTableWalk {
    public static func translate(_ virtualAddress: UInt32, _ access: GuestAccess, regime: TranslationRegime,
                                 memory: GuestMemory) -> GuestTranslation {
        walk(virtualAddress, access, regime: regime, memory: memory).translation
    }

    /// The walk, with where it read: a shadow pager needs to know which guest frames hold the
    /// PTEs a shadow entry was derived from, so it can notice when the guest edits them.
    public static func walk(_ virtualAddress: UInt32, _ access: GuestAccess, regime: TranslationRegime,
                            memory: GuestMemory) -> GuestWalk {
        var walk = GuestWalk(translation: .guestPhysical(virtualAddress, leaf: nil))
        if regime.bare { return walk }
        var table = UInt64(regime.satp & 0x3F_FFFF) << 12
        var level = 1
        while true {
            let index = level == 1 ? virtualAddress >> 22 : virtualAddress >> 12 & 0x3FF
            let pteAddress = table + UInt64(index) * 4
            guard pteAddress < 1 << 32, let pte = memory.read32(UInt32(pteAddress)) else {
                walk.translation = .fault(cause: access.accessFaultCause)
                return walk
            }
            walk.pteAddresses.append(UInt32(pteAddress))
            let valid = pte & 1 != 0, readable = pte & 2 != 0, writable = pte & 4 != 0, executable = pte & 8 != 0
            if !valid || (!readable && writable) {
                walk.translation = .fault(cause: access.pageFaultCause)
                return walk
            }
            if !readable && !executable {
                guard level == 1 else {
                    walk.translation = .fault(cause: access.pageFaultCause)
                    return walk
                }
                table = UInt64(pte >> 10) << 12
                level = 0
                continue
            }
            guard permits(pte, access, regime: regime) else {
                walk.translation = .fault(cause: access.pageFaultCause)
                return walk
            }
            let ppn = pte >> 10
            if level == 1 && ppn & 0x3FF != 0 {
                walk.translation = .fault(cause: access.pageFaultCause)
                return walk
            }
            let wanted: UInt32 = access == .store ? 0xC0 : 0x40
            if pte & wanted != wanted { memory.write32(UInt32(pteAddress), pte | wanted) }
            let physical: UInt64 = level == 1
                ? UInt64(ppn >> 10) << 22 | UInt64(virtualAddress & 0x3F_FFFF)
                : UInt64(ppn) << 12 | UInt64(virtualAddress & 0xFFF)
            guard physical < 1 << 32 else {
                walk.translation = .fault(cause: access.accessFaultCause)
                return walk
            }
            walk.translation = .guestPhysical(UInt32(physical), leaf: pte | wanted)
            walk.superpage = level == 1
            return walk
        }
    }

    /// Whether a leaf PTE allows `access` in `regime` (the U bit against the privilege, SUM, MXR).
    public static func permits(_ pte: UInt32, _ access: GuestAccess, regime: TranslationRegime) -> Bool {
        let userPage = pte & 0x10 != 0
        switch regime.privilege {
        case .user: if !userPage { return false }
        case .supervisor: if userPage && (access == .fetch || !regime.sum) { return false }
        case .machine: break
        }
        switch access {
        case .fetch: return pte & 8 != 0
        case .load: return pte & 2 != 0 || (pte & 8 != 0 && regime.mxr)
        case .store: return pte & 4 != 0
        }
    }
}

/// One guest page-table walk: what it found, and the guest-physical address of every PTE it read
/// (the root table's entry first; empty for a bare regime, one entry for a superpage or a fault
/// at the root).
public struct GuestWalk: Equatable, Sendable {
    public var translation: GuestTranslation
    public var pteAddresses: [UInt32] = []
    /// The leaf was a 4 MiB superpage (found in the root table).
    public var superpage = false
    public init(translation: GuestTranslation) { self.translation = translation }
}
