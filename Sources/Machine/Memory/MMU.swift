/// One cached translation of a 4 KiB virtual page for one kind of access in one context.
struct TLBEntry {
    /// `vpn | context << 20`; `TLB.invalidTag` when empty.
    var tag: UInt32 = TLB.invalidTag
    /// The physical page address in bits 31:12; bit 0 set if the entry came from a 4 MiB superpage
    /// (SFENCE.VMA for any address inside the superpage must drop it).
    var physicalPage: UInt32 = 0
    static let fromSuperpage: UInt32 = 1
    /// The page's bytes on the host when the page is plain RAM the engine may touch directly;
    /// nil for device pages, and in store entries for the page holding HTIF `tohost` and for pages
    /// holding translated code (stores there must be seen).
    var host: UnsafeMutableRawPointer? = nil
}

/// The kinds of memory access, which the MMU checks differently and reports with different causes.
enum MemoryAccess: Int {
    case fetch = 0, load = 1, store = 2

    var pageFault: UInt32 {
        switch self {
        case .fetch: return ExceptionCause.instructionPageFault
        case .load: return ExceptionCause.loadPageFault
        case .store: return ExceptionCause.storePageFault
        }
    }

    var accessFault: UInt32 {
        switch self {
        case .fetch: return ExceptionCause.instructionAccessFault
        case .load: return ExceptionCause.loadAccessFault
        case .store: return ExceptionCause.storeAccessFault
        }
    }
}

/// The software TLB: three direct-mapped arrays (fetch, load, store) of 4096 entries, indexed by the
/// low bits of the virtual page number.
///
/// An entry is filled only after a full Sv32 walk *and* permission check for its access kind, so a hit
/// needs no further checks. Entries are tagged with the translation context (privilege, and for data
/// SUM and MXR, with MPRV already folded into the privilege) so trap entry and return need no flush.
/// With translation off (bare mode, or M-mode) the entries are identity mappings; they still give the
/// engine its direct RAM pointer. `satp` writes and SFENCE.VMA flush; page faults are never cached.
enum TLB {
    /// 4096 entries cover 16 MiB per access kind. Measured with `vlab bench --workload memory`
    /// (random accesses over 4 MiB of a Linux guest's Sv32 heap), same run as qemu-riscv32 7.2:
    /// with 256 entries the translator took 13.9x qemu's time (80 MIPS, most accesses missed and
    /// walked the page table); with 4096, 1.9x (1270 MIPS). The cost is a longer full flush on
    /// satp writes and SFENCE.VMA (12288 tag stores), small next to the walks it saves.
    static let entriesPerKind = 4096
    static let invalidTag: UInt32 = .max

    static func flushAll(_ tlb: UnsafeMutablePointer<TLBEntry>) {
        for i in 0..<entriesPerKind * 3 { tlb[i].tag = invalidTag }
    }
}

/// What a translation produced: a physical address, or the cause of the exception to raise.
enum TranslationResult {
    case physical(UInt32, superpage: Bool)
    case fault(UInt32)
}

extension Machine {
    /// Recomputes the TLB tag contexts after a change of privilege, MPRV/MPP, SUM or MXR.
    func updateTranslationContext() {
        if configuration.hypervisorExtension { return updateTranslationContextWithHypervisor() }
        let s = state.pointee
        fetchContext = UInt32(s.privilege.rawValue) << 20
        var data = UInt32(s.dataPrivilege.rawValue)
        if s.mstatus & Status.sum != 0 { data |= 4 }
        if s.mstatus & Status.mxr != 0 { data |= 8 }
        dataContext = data << 20
    }

    /// SFENCE.VMA with an address: drop the entries the leaf PTE for that address may have made:
    /// the page's own, and, for a superpage, those of every 4 KiB page inside it. Entries are not
    /// ASID-tagged, so the ASID operand is ignored (flushing more than asked is always allowed).
    func flushTLB(virtualAddress: UInt32) {
        translationMonitor.counters[TranslationMonitor.Slot.pageFlushes] &+= 1
        let vpn = virtualAddress >> 12
        for i in 0..<TLB.entriesPerKind * 3 {
            let entry = tlb[i]
            guard entry.tag != TLB.invalidTag else { continue }
            let entryVPN = entry.tag & 0xF_FFFF
            if entryVPN == vpn || (entry.physicalPage & TLBEntry.fromSuperpage != 0 && entryVPN >> 10 == vpn >> 10) {
                tlb[i].tag = TLB.invalidTag
            }
        }
    }

    /// Sv32 translation (privileged spec 4.3.2), for an access made at `privilege`.
    ///
    /// Accessed/dirty bits: VirtLab updates them in hardware, as QEMU does (the Svade alternative,
    /// faulting so software sets them, would make every first touch of a page trap). The update is a
    /// plain write of the PTE with A (and D for stores) set, done only after all checks pass.
    /// A PTE read outside RAM is an access fault of the original access's kind.
    ///
    /// `sideEffects: false` is a probe (`probeTranslation`): no A/D update, nothing counted.
    func walk(_ virtualAddress: UInt32, _ access: MemoryAccess, privilege: PrivilegeLevel, sideEffects: Bool = true) -> TranslationResult {
        if configuration.hypervisorExtension && usesTwoStageTranslation(access) {
            return twoStageWalk(virtualAddress, access, privilege: privilege)
        }
        let s = state.pointee
        guard s.satp >> 31 == 1 && privilege != .machine else {
            return .physical(virtualAddress, superpage: false)
        }
        let counters = translationMonitor.counters
        if sideEffects { counters[TranslationMonitor.Slot.misses + access.rawValue] &+= 1 }
        var tableAddress = UInt64(s.satp & 0x3F_FFFF) << 12
        var level = 1
        while true {
            let index = level == 1 ? virtualAddress >> 22 : (virtualAddress >> 12) & 0x3FF
            let pteAddress64 = tableAddress + UInt64(index) * 4
            guard pteAddress64 < 1 << 32, let pteOffset = ramOffset(UInt32(pteAddress64), count: 4) else {
                return .fault(access.accessFault)
            }
            let pte = ram.load(fromByteOffset: pteOffset, as: UInt32.self)
            if sideEffects { counters[TranslationMonitor.Slot.walkReferences] &+= 1 }
            let valid = pte & 1 != 0, readable = pte & 2 != 0, writable = pte & 4 != 0, executable = pte & 8 != 0
            if !valid || (!readable && writable) { return .fault(access.pageFault) }
            if !readable && !executable {
                // A pointer to the next level.
                guard level == 1 else { return .fault(access.pageFault) }
                tableAddress = UInt64(pte >> 10) << 12
                level = 0
                continue
            }
            // A leaf: check the permissions for this access at this privilege.
            let userPage = pte & 0x10 != 0
            switch privilege {
            case .user:
                if !userPage { return .fault(access.pageFault) }
            case .supervisor:
                if userPage && (access == .fetch || s.mstatus & Status.sum == 0) { return .fault(access.pageFault) }
            case .machine:
                break
            }
            let permitted: Bool
            switch access {
            case .fetch: permitted = executable
            case .load: permitted = readable || (executable && s.mstatus & Status.mxr != 0)
            case .store: permitted = writable
            }
            if !permitted { return .fault(access.pageFault) }
            let ppn = pte >> 10
            // A superpage whose PPN[0] is not zero is misaligned: a page fault.
            if level == 1 && ppn & 0x3FF != 0 { return .fault(access.pageFault) }
            let wanted: UInt32 = access == .store ? 0xC0 : 0x40
            if pte & wanted != wanted && sideEffects {
                ram.storeBytes(of: pte | wanted, toByteOffset: pteOffset, as: UInt32.self)
                noteRAMWrite(pteOffset, count: 4)  // a page table may share a page with code
            }
            let physical: UInt64 = level == 1
                ? UInt64(ppn >> 10) << 22 | UInt64(virtualAddress & 0x3F_FFFF)
                : UInt64(ppn) << 12 | UInt64(virtualAddress & 0xFFF)
            // Sv32 makes 34-bit physical addresses; nothing lives above 4 GiB on this board.
            guard physical < 1 << 32 else { return .fault(access.accessFault) }
            return .physical(UInt32(physical), superpage: level == 1)
        }
    }

    /// The TLB entry for `virtualAddress`, filling it by a walk on a miss; or the exception cause.
    @inline(__always)
    func tlbEntry(_ virtualAddress: UInt32, _ access: MemoryAccess) -> (UnsafeMutablePointer<TLBEntry>?, UInt32) {
        let vpn = virtualAddress >> 12
        let context = access == .fetch ? fetchContext : dataContext
        let entry = tlb + access.rawValue * TLB.entriesPerKind + Int(vpn & UInt32(TLB.entriesPerKind - 1))
        let counters = translationMonitor.counters
        if entry.pointee.tag == vpn | context {
            counters[TranslationMonitor.Slot.hits + access.rawValue] &+= 1
            return (entry, 0)
        }
        let privilege = access == .fetch ? state.pointee.privilege : state.pointee.dataPrivilege
        switch walk(virtualAddress, access, privilege: privilege) {
        case .fault(let cause):
            counters[TranslationMonitor.Slot.faults + access.rawValue] &+= 1
            return (nil, cause)
        case .physical(let physical, let superpage):
            let page = physical & ~0xFFF
            var host: UnsafeMutableRawPointer? = nil
            if let offset = ramOffset(page, count: 4096) {
                if !(access == .store && storesMustBeSeen(ramPage: offset >> 12)) { host = ram + offset }
                // Measurement runs: no direct pointer for data, so every load and store reaches this lookup.
                if access == .load && configuration.countsEveryTLBLookup { host = nil }
            }
            entry.pointee = TLBEntry(tag: vpn | context, physicalPage: page | (superpage ? TLBEntry.fromSuperpage : 0), host: host)
            if translationMonitor.fillObserver != nil { noteTLBFill(virtualAddress, access, physicalPage: page, privilege: privilege) }
            return (entry, 0)
        }
    }

    /// The host address of the RAM page holding the instruction at `pc`, or nil after raising the
    /// fetch exception (page fault, or access fault when the page is not RAM: VirtLab executes only
    /// from RAM).
    func fetchPage(_ pc: UInt32) -> UnsafeMutableRawPointer? {
        let (entry, cause) = tlbEntry(pc, .fetch)
        guard let entry else {
            raiseException(cause, value: pc, pc: pc)
            return nil
        }
        guard let host = entry.pointee.host else {
            raiseException(ExceptionCause.instructionAccessFault, value: pc, pc: pc)
            return nil
        }
        return host
    }

    /// Translates every page an access of `size` bytes touches, so a store that crosses into a
    /// faulting page writes nothing. Returns the physical address of each byte's page plus offset
    /// (at most two pages), or the cause and the faulting virtual address.
    private func translateAccess(_ virtualAddress: UInt32, size: Int, _ access: MemoryAccess)
        -> (first: UInt32, second: UInt32?, fault: (cause: UInt32, address: UInt32)?)
    {
        let (entry, cause) = tlbEntry(virtualAddress, access)
        guard let entry else { return (0, nil, (cause, virtualAddress)) }
        let first = entry.pointee.physicalPage & ~0xFFF | virtualAddress & 0xFFF
        guard Int(virtualAddress & 0xFFF) + size > 4096 else { return (first, nil, nil) }
        let nextPage = (virtualAddress | 0xFFF) &+ 1
        let (secondEntry, secondCause) = tlbEntry(nextPage, access)
        guard let secondEntry else { return (0, nil, (secondCause, nextPage)) }
        return (first, secondEntry.pointee.physicalPage & ~0xFFF, nil)
    }

    /// A load the engine's fast path could not do: a TLB miss, a device, or an access that crosses a
    /// page. Returns the zero-extended value, or nil after raising the exception.
    ///
    /// Misaligned loads and stores are not trapped: like QEMU, VirtLab performs them (byte by byte
    /// when they cross a page or touch a device). Only LR/SC/AMOs trap on misalignment (see
    /// `executeAtomic`), and instruction fetch, which traps at the jump or branch (no C extension).
    func loadSlow(_ virtualAddress: UInt32, size: Int, pc: UInt32) -> UInt32? {
        let (first, second, fault) = translateAccess(virtualAddress, size: size, .load)
        if let fault {
            raiseException(fault.cause, value: fault.address, pc: pc)
            return nil
        }
        if second == nil && (first & UInt32(size - 1) == 0 || ramOffset(first, count: size) != nil) {
            guard let value = busRead(first, size: size) else {
                raiseException(ExceptionCause.loadAccessFault, value: virtualAddress, pc: pc)
                return nil
            }
            return value
        }
        var value: UInt32 = 0
        for i in 0..<size {
            let byteVirtual = virtualAddress &+ UInt32(i)
            let physical = (byteVirtual & 0xFFF) < (virtualAddress & 0xFFF) ? second! | byteVirtual & 0xFFF : first &+ UInt32(i)
            guard let byte = busRead(physical, size: 1) else {
                raiseException(ExceptionCause.loadAccessFault, value: byteVirtual, pc: pc)
                return nil
            }
            value |= byte << (8 * UInt32(i))
        }
        return value
    }

    /// A store the fast path could not do. Returns false after raising the exception.
    func storeSlow(_ virtualAddress: UInt32, size: Int, value: UInt32, pc: UInt32) -> Bool {
        let (first, second, fault) = translateAccess(virtualAddress, size: size, .store)
        if let fault {
            raiseException(fault.cause, value: fault.address, pc: pc)
            return false
        }
        if second == nil && (first & UInt32(size - 1) == 0 || ramOffset(first, count: size) != nil) {
            guard busWrite(first, size: size, value: value) else {
                raiseException(ExceptionCause.storeAccessFault, value: virtualAddress, pc: pc)
                return false
            }
            return true
        }
        // Split: check every byte has a target before writing any.
        var targets: [UInt32] = []
        for i in 0..<size {
            let byteVirtual = virtualAddress &+ UInt32(i)
            let physical = (byteVirtual & 0xFFF) < (virtualAddress & 0xFFF) ? second! | byteVirtual & 0xFFF : first &+ UInt32(i)
            guard deviceOrRAMExists(at: physical) else {
                raiseException(ExceptionCause.storeAccessFault, value: byteVirtual, pc: pc)
                return false
            }
            targets.append(physical)
        }
        for (i, physical) in targets.enumerated() {
            _ = busWrite(physical, size: 1, value: value >> (8 * UInt32(i)))
        }
        return true
    }

    /// LR.W, SC.W and the AMOs (A extension). Returns true when the instruction completed (rd is
    /// written; the caller advances pc and counts it retired), false after raising an exception.
    ///
    /// These must be naturally aligned: a misaligned LR raises "load address misaligned", a misaligned
    /// SC or AMO "store/AMO address misaligned" (they are never split, unlike plain loads and stores).
    /// The reservation covers one word. SC fails (rd = 1, no write, no translation) unless the last LR
    /// reserved this address; any SC clears the reservation, and so does every trap.
    func executeAtomic(_ word: UInt32, pc: UInt32) -> Bool {
        let registers = state.pointee.registers
        let rd = Int(word >> 7 & 31), rs1 = Int(word >> 15 & 31), rs2 = Int(word >> 20 & 31)
        let funct5 = word >> 27
        let address = registers[rs1]
        guard word >> 12 & 7 == 2 else {
            raiseException(ExceptionCause.illegalInstruction, value: word, pc: pc)
            return false
        }
        switch funct5 {
        case 0b00010:  // LR.W
            guard rs2 == 0 else {
                raiseException(ExceptionCause.illegalInstruction, value: word, pc: pc)
                return false
            }
            guard address & 3 == 0 else {
                raiseException(ExceptionCause.loadAddressMisaligned, value: address, pc: pc)
                return false
            }
            guard let value = loadSlow(address, size: 4, pc: pc) else { return false }
            state.pointee.reservation = address
            if rd != 0 { registers[rd] = value }
            return true
        case 0b00011:  // SC.W
            guard address & 3 == 0 else {
                raiseException(ExceptionCause.storeAddressMisaligned, value: address, pc: pc)
                return false
            }
            let reserved = state.pointee.reservation == address
            state.pointee.reservation = nil
            if reserved {
                guard storeSlow(address, size: 4, value: registers[rs2], pc: pc) else { return false }
            }
            if rd != 0 { registers[rd] = reserved ? 0 : 1 }
            return true
        case 0b00001, 0b00000, 0b00100, 0b01100, 0b01000, 0b10000, 0b10100, 0b11000, 0b11100:
            guard address & 3 == 0 else {
                raiseException(ExceptionCause.storeAddressMisaligned, value: address, pc: pc)
                return false
            }
            // An AMO needs write permission; its faults are store/AMO faults.
            let (first, _, fault) = translateAccess(address, size: 4, .store)
            if let fault {
                raiseException(fault.cause, value: fault.address, pc: pc)
                return false
            }
            guard let old = busRead(first, size: 4) else {
                raiseException(ExceptionCause.storeAccessFault, value: address, pc: pc)
                return false
            }
            let operand = registers[rs2]
            let new: UInt32
            switch funct5 {
            case 0b00001: new = operand
            case 0b00000: new = old &+ operand
            case 0b00100: new = old ^ operand
            case 0b01100: new = old & operand
            case 0b01000: new = old | operand
            case 0b10000: new = Int32(bitPattern: old) < Int32(bitPattern: operand) ? old : operand
            case 0b10100: new = Int32(bitPattern: old) > Int32(bitPattern: operand) ? old : operand
            case 0b11000: new = min(old, operand)
            default: new = max(old, operand)
            }
            guard busWrite(first, size: 4, value: new) else {
                raiseException(ExceptionCause.storeAccessFault, value: address, pc: pc)
                return false
            }
            if rd != 0 { registers[rd] = old }
            return true
        default:
            raiseException(ExceptionCause.illegalInstruction, value: word, pc: pc)
            return false
        }
    }
}
