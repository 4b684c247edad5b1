// Two-stage address translation of the hypervisor extension (privileged spec, H chapter,
// "Two-Stage Address Translation"): while V=1, a guest virtual address goes through the
// VS-stage (Sv32, rooted at vsatp, the guest OS's own page tables) to a guest-physical address,
// and that goes through the G-stage (Sv32x4, rooted at hgatp, the hypervisor's tables) to a
// machine (supervisor-physical) address.
//
// The guest's page tables live in guest-physical memory, so every VS-stage PTE address is itself
// translated by the G-stage before it is read: a full 2-D walk of Sv32 over Sv32x4 reads up to
// (2 + 1) * (2 + 1) - 1 = 8 PTEs. A G-stage failure is a *guest-page fault* (cause 20, 21 or
// 23 by the original access's kind, also when it happened on the VS-stage's own PTE access);
// its guest-physical address >> 2 goes to htval (or mtval2), its guest virtual address to stval.
//
// The TLB keeps the combined result (guest virtual page -> machine page) under a context with
// V set, so a V=1 translation is never used at V=0 or the reverse (see `updateTranslationContext`).

extension Machine {
    /// Whether a fetch or data access is translated in two stages now: V=1, or, for data, M-mode
    /// with MPRV=1 and MPV=1 (M-mode acting as the guest).
    func usesTwoStageTranslation(_ access: MemoryAccess) -> Bool {
        let s = state.pointee
        if s.hypervisor.virtualMode { return true }
        return access != .fetch && s.privilege == .machine && s.mstatus & Status.mprv != 0
            && s.hypervisor.machinePreviousVirtualMode
    }

    /// The TLB tag contexts with the hypervisor extension: privilege, SUM and MXR as without it,
    /// plus V (16), and for two-stage data accesses the guest's SUM/MXR (vsstatus) and HS-mode's
    /// MXR (32), which the G-stage obeys.
    func updateTranslationContextWithHypervisor() {
        let s = state.pointee
        fetchContext = (UInt32(s.privilege.rawValue) | (s.hypervisor.virtualMode ? 16 : 0)) << 20
        var data = UInt32(s.dataPrivilege.rawValue)
        if usesTwoStageTranslation(.load) {
            data |= 16
            if s.hypervisor.vsstatus & Status.sum != 0 { data |= 4 }
            if s.hypervisor.vsstatus & Status.mxr != 0 { data |= 8 }
            if s.mstatus & Status.mxr != 0 { data |= 32 }
        } else {
            if s.mstatus & Status.sum != 0 { data |= 4 }
            if s.mstatus & Status.mxr != 0 { data |= 8 }
        }
        dataContext = data << 20
    }

    /// Guest virtual -> machine physical, for an access at the guest's nominal `privilege`.
    func twoStageWalk(_ virtualAddress: UInt32, _ access: MemoryAccess, privilege: PrivilegeLevel) -> TranslationResult {
        let s = state.pointee
        let vsatp = s.hypervisor.vsatp
        let counters = translationMonitor.counters
        counters[TranslationMonitor.Slot.misses + access.rawValue] &+= 1
        guard vsatp >> 31 == 1 else {
            // VS-stage Bare: the guest virtual address is the guest-physical address.
            return gStageTranslate(UInt64(virtualAddress), access, original: access)
        }
        let sum = s.hypervisor.vsstatus & Status.sum != 0
        let mxr = (s.hypervisor.vsstatus | s.mstatus) & Status.mxr != 0
        var tableAddress = UInt64(vsatp & 0x3F_FFFF) << 12
        var level = 1
        while true {
            let index = level == 1 ? virtualAddress >> 22 : (virtualAddress >> 12) & 0x3FF
            let pteGuestPhysical = tableAddress + UInt64(index) * 4
            // The PTE read is an implicit load of guest-physical memory: through the G-stage.
            let pteMachine: UInt32
            switch gStageTranslate(pteGuestPhysical, .load, original: access) {
            case .fault(let cause): return .fault(cause)
            case .physical(let address, _): pteMachine = address
            }
            guard let pteOffset = ramOffset(pteMachine, count: 4) else { return .fault(access.accessFault) }
            let pte = ram.load(fromByteOffset: pteOffset, as: UInt32.self)
            counters[TranslationMonitor.Slot.walkReferences] &+= 1
            let valid = pte & 1 != 0, readable = pte & 2 != 0, writable = pte & 4 != 0, executable = pte & 8 != 0
            if !valid || (!readable && writable) { return .fault(access.pageFault) }
            if !readable && !executable {
                guard level == 1 else { return .fault(access.pageFault) }
                tableAddress = UInt64(pte >> 10) << 12
                level = 0
                continue
            }
            let userPage = pte & 0x10 != 0
            if privilege == .user && !userPage { return .fault(access.pageFault) }
            if privilege == .supervisor && userPage && (access == .fetch || !sum) { return .fault(access.pageFault) }
            let permitted: Bool
            switch access {
            case .fetch: permitted = executable
            case .load: permitted = readable || (executable && mxr)
            case .store: permitted = writable
            }
            if !permitted { return .fault(access.pageFault) }
            let ppn = pte >> 10
            if level == 1 && ppn & 0x3FF != 0 { return .fault(access.pageFault) }
            let wanted: UInt32 = access == .store ? 0xC0 : 0x40
            if pte & wanted != wanted {
                // Setting A/D writes the guest's PTE: a store through the G-stage, which must allow it.
                if case .fault(let cause) = gStageTranslate(pteGuestPhysical, .store, original: access) { return .fault(cause) }
                ram.storeBytes(of: pte | wanted, toByteOffset: pteOffset, as: UInt32.self)
                noteRAMWrite(pteOffset, count: 4)
            }
            let guestPhysical: UInt64 = level == 1
                ? UInt64(ppn >> 10) << 22 | UInt64(virtualAddress & 0x3F_FFFF)
                : UInt64(ppn) << 12 | UInt64(virtualAddress & 0xFFF)
            switch gStageTranslate(guestPhysical, access, original: access) {
            case .fault(let cause): return .fault(cause)
            case .physical(let machineAddress, _):
                // SFENCE.VMA by the guest names guest virtual addresses: remember a VS-stage
                // superpage so a fence anywhere inside it drops this entry.
                return .physical(machineAddress, superpage: level == 1)
            }
        }
    }

    /// The G-stage: guest-physical (34 bits for Sv32x4) -> machine physical. `access` is the
    /// kind of this memory access (the VS-stage's PTE reads are loads, its A/D updates stores);
    /// `original` is the guest's access whose fault kind is reported.
    ///
    /// Sv32x4 is Sv32 with two more guest-physical bits: the root table has 4096 entries (16 KiB,
    /// indexed by GPA bits 33:22), the level-0 tables are Sv32's. Every leaf must have U=1 (G-stage
    /// accesses are all checked as U-mode accesses); HS-mode's MXR applies. A/D are set by the
    /// hardware, as in the single-stage walk.
    func gStageTranslate(_ guestPhysical: UInt64, _ access: MemoryAccess, original: MemoryAccess) -> TranslationResult {
        let s = state.pointee
        let hgatp = s.hypervisor.hgatp
        func guestPageFault() -> TranslationResult {
            state.pointee.hypervisor.faultingGuestPhysicalAddress = UInt32(truncatingIfNeeded: guestPhysical >> 2)
            return .fault(original.guestPageFault)
        }
        guard hgatp >> 31 == 1 else {
            // G-stage Bare: guest-physical = machine physical; nothing lives above 4 GiB.
            guard guestPhysical < 1 << 32 else { return .fault(original.accessFault) }
            return .physical(UInt32(guestPhysical), superpage: false)
        }
        guard guestPhysical < 1 << 34 else { return guestPageFault() }
        let counters = translationMonitor.counters
        let cacheSlot = configuration.gStageWalkCache
            ? translationMonitor.gStageCache + Int(guestPhysical >> 12) % TranslationMonitor.gStageCacheEntries : nil
        if let cacheSlot {
            if let machineAddress = gStageCacheHit(cacheSlot.pointee, guestPhysical, access) {
                counters[TranslationMonitor.Slot.gStageCacheHits] &+= 1
                counters[TranslationMonitor.Slot.gStageReferencesSaved] &+= cacheSlot.pointee.superpage ? 1 : 2
                return .physical(machineAddress, superpage: cacheSlot.pointee.superpage)
            }
            counters[TranslationMonitor.Slot.gStageCacheMisses] &+= 1
        }
        var tableAddress = UInt64(hgatp & 0x3F_FFFC) << 12
        var level = 1
        while true {
            let index = level == 1 ? guestPhysical >> 22 : (guestPhysical >> 12) & 0x3FF
            let pteAddress = tableAddress + index * 4
            guard pteAddress < 1 << 32, let pteOffset = ramOffset(UInt32(pteAddress), count: 4) else {
                return .fault(original.accessFault)
            }
            let pte = ram.load(fromByteOffset: pteOffset, as: UInt32.self)
            counters[TranslationMonitor.Slot.walkReferences] &+= 1
            counters[TranslationMonitor.Slot.gStageReferences] &+= 1
            let valid = pte & 1 != 0, readable = pte & 2 != 0, writable = pte & 4 != 0, executable = pte & 8 != 0
            if !valid || (!readable && writable) { return guestPageFault() }
            if !readable && !executable {
                guard level == 1 else { return guestPageFault() }
                tableAddress = UInt64(pte >> 10) << 12
                level = 0
                continue
            }
            guard pte & 0x10 != 0 else { return guestPageFault() }
            let permitted: Bool
            switch access {
            case .fetch: permitted = executable
            case .load: permitted = readable || (executable && s.mstatus & Status.mxr != 0)
            case .store: permitted = writable
            }
            if !permitted { return guestPageFault() }
            let ppn = pte >> 10
            if level == 1 && ppn & 0x3FF != 0 { return guestPageFault() }
            let wanted: UInt32 = access == .store ? 0xC0 : 0x40
            if pte & wanted != wanted {
                ram.storeBytes(of: pte | wanted, toByteOffset: pteOffset, as: UInt32.self)
                noteRAMWrite(pteOffset, count: 4)
            }
            let machineAddress: UInt64 = level == 1
                ? UInt64(ppn >> 10) << 22 | guestPhysical & 0x3F_FFFF
                : UInt64(ppn) << 12 | guestPhysical & 0xFFF
            guard machineAddress < 1 << 32 else { return .fault(original.accessFault) }
            cacheSlot?.pointee = GStageCacheEntry(guestPage: guestPhysical >> 12, leaf: pte | wanted, superpage: level == 1)
            return .physical(UInt32(machineAddress), superpage: level == 1)
        }
    }
}

extension Machine {
    /// The machine address a cached G-stage leaf gives `guestPhysical` for `access`, or nil when
    /// the entry is for another page or the access needs the full walk (its permission check
    /// fails, so the walk must raise the fault, or A/D would have to be set). Superpage entries
    /// are cached per 4 KiB page, like everything else, so a hit is always the same page.
    func gStageCacheHit(_ entry: GStageCacheEntry, _ guestPhysical: UInt64, _ access: MemoryAccess) -> UInt32? {
        guard entry.guestPage == guestPhysical >> 12 else { return nil }
        let pte = entry.leaf
        let permitted: Bool
        switch access {
        case .fetch: permitted = pte & 8 != 0
        case .load: permitted = pte & 2 != 0 || (pte & 8 != 0 && state.pointee.mstatus & Status.mxr != 0)
        case .store: permitted = pte & 4 != 0
        }
        let wanted: UInt32 = access == .store ? 0xC0 : 0x40
        guard permitted, pte & wanted == wanted else { return nil }
        let ppn = pte >> 10
        let machineAddress: UInt64 = entry.superpage
            ? UInt64(ppn >> 10) << 22 | guestPhysical & 0x3F_FFFF
            : UInt64(ppn) << 12 | guestPhysical & 0xFFF
        return machineAddress < 1 << 32 ? UInt32(machineAddress) : nil
    }
}
