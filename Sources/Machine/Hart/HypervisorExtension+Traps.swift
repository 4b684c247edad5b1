// Trap entry and interrupt selection with the hypervisor extension (privileged spec, H chapter,
// "Traps"), and the host's access to V. See HypervisorExtension.swift for the state and CSRs.
// MARK: - Traps and interrupts

extension Machine {
    /// Trap entry with the hypervisor extension: M, HS or VS by medeleg/mideleg and then
    /// hedeleg/hideleg (only for traps from V=1). Entering HS or M records the previous V
    /// (hstatus.SPV / mstatush.MPV), the guest's nominal privilege (hstatus.SPVP), whether tval
    /// is a guest virtual address (GVA) and the guest-physical address of a guest-page fault
    /// (htval / mtval2), and leaves V=0. Entering VS uses the VS CSRs, keeps V=1, and reports a
    /// VS-level interrupt (10, 6, 2) as the supervisor one (9, 5, 1).
    func enterTrapWithHypervisor(_ trap: Trap, from: PrivilegeLevel) {
        let s = state
        let cause = trap.cause, value = trap.value, pc = trap.pc
        let virtual = s.pointee.hypervisor.virtualMode
        let isInterrupt = cause & 0x8000_0000 != 0
        let code = cause & 0x1F
        let isGuestPageFault = !isInterrupt && (code == 20 || code == 21 || code == 23)
        let guestPhysical = isGuestPageFault ? s.pointee.hypervisor.faultingGuestPhysicalAddress : 0
        let tvalIsGuestVirtual = virtual || s.pointee.hypervisor.trapValueIsGuestVirtual
        s.pointee.hypervisor.trapValueIsGuestVirtual = false
        let writesGVA = tvalIsGuestVirtual && !isInterrupt && (ExceptionCause.writesGuestVirtualAddress >> code) & 1 != 0

        enum Destination { case machine, hypervisor, guest }
        let destination: Destination
        let machineDelegation = isInterrupt ? s.pointee.mideleg | forcedInterruptDelegation : s.pointee.medeleg
        if from == .machine && !virtual || (machineDelegation >> code) & 1 == 0 {
            destination = .machine
        } else if virtual && ((isInterrupt ? s.pointee.hypervisor.hideleg : s.pointee.hypervisor.hedeleg) >> code) & 1 != 0 {
            destination = .guest
        } else {
            destination = .hypervisor
        }

        if destination == .hypervisor && virtual && configuration.interceptGuestTraps {
            s.pointee.pc = pc
            pendingStop = .userTrap(Trap(cause: cause, value: value, pc: pc, fromGuest: true, htval: guestPhysical))
            return
        }
        if !virtual && from == .user && configuration.interceptUserTraps {
            s.pointee.pc = pc
            pendingStop = .userTrap(trap)
            return
        }

        s.pointee.reservation = nil
        var reportedCode = code
        let vector: UInt32
        switch destination {
        case .guest:
            var reported = cause
            if isInterrupt && InterruptBit.virtualSupervisorLevel >> code & 1 != 0 {
                reportedCode = code - 1
                reported = 0x8000_0000 | reportedCode
            }
            s.pointee.hypervisor.vscause = reported
            s.pointee.hypervisor.vsepc = pc
            s.pointee.hypervisor.vstval = value
            var status = s.pointee.hypervisor.vsstatus
            status = status & ~(Status.spie | Status.spp)
                | (status & Status.sie != 0 ? Status.spie : 0)
                | (from == .supervisor ? Status.spp : 0)
            status &= ~Status.sie
            s.pointee.hypervisor.vsstatus = status
            s.pointee.privilege = .supervisor
            vector = s.pointee.hypervisor.vstvec
        case .hypervisor:
            s.pointee.scause = cause
            s.pointee.sepc = pc
            s.pointee.stval = value
            var status = s.pointee.mstatus
            status = status & ~(Status.spie | Status.spp)
                | (status & Status.sie != 0 ? Status.spie : 0)
                | (from == .supervisor ? Status.spp : 0)
            status &= ~Status.sie
            s.pointee.mstatus = status
            var hstatus = s.pointee.hypervisor.hstatus & ~(HypervisorStatus.spv | HypervisorStatus.gva)
            if virtual {
                hstatus |= HypervisorStatus.spv
                hstatus = hstatus & ~HypervisorStatus.spvp | (from == .supervisor ? HypervisorStatus.spvp : 0)
            }
            if writesGVA { hstatus |= HypervisorStatus.gva }
            s.pointee.hypervisor.hstatus = hstatus
            s.pointee.hypervisor.htval = guestPhysical
            s.pointee.hypervisor.virtualMode = false
            s.pointee.privilege = .supervisor
            vector = s.pointee.stvec
        case .machine:
            s.pointee.mcause = cause
            s.pointee.mepc = pc
            s.pointee.mtval = value
            var status = s.pointee.mstatus
            status = status & ~(Status.mpie | Status.mpp)
                | (status & Status.mie != 0 ? Status.mpie : 0)
                | UInt32(from.rawValue) << Status.mppShift
            status &= ~Status.mie
            s.pointee.mstatus = status
            s.pointee.hypervisor.machinePreviousVirtualMode = virtual
            s.pointee.hypervisor.machineGuestVirtualAddress = writesGVA
            s.pointee.hypervisor.mtval2 = guestPhysical
            s.pointee.hypervisor.virtualMode = false
            s.pointee.privilege = .machine
            vector = s.pointee.mtvec
        }
        var target = vector & ~3
        if vector & 1 != 0 && isInterrupt { target &+= 4 * reportedCode }
        s.pointee.pc = target
        updateTranslationContext()

        if !isInterrupt && target == pc && s.pointee.privilege == from && s.pointee.hypervisor.virtualMode == virtual {
            var message = "trap loop: \(trap) enters the \(virtual ? "V" : "")\(s.pointee.privilege)-mode trap handler at 0x\(hex(target)), which raises it again"
            if let earlier = lastTrap, earlier != trap { message += "; the first trap was \(earlier)" }
            pendingStop = .guestFault(message)
        }
        lastTrap = trap
    }

    /// The interrupt to take now with the hypervisor extension (H chapter, "Trap Entry" and the
    /// interrupt rules): M-level ones when below M or MIE; HS-level ones (delegated by mideleg,
    /// not by hideleg) whenever V=1, in U-mode, or in HS-mode with SIE; VS-level ones (delegated
    /// by hideleg) only when V=1, in VU-mode or in VS-mode with vsstatus.SIE.
    func takeableInterruptWithHypervisor() -> UInt32? {
        let s = state.pointee
        let pending = s.mip & s.mie
        guard pending != 0 else { return nil }
        let h = s.hypervisor
        let privilege = s.privilege
        let mideleg = s.mideleg | forcedInterruptDelegation
        let machineEnabled = privilege < .machine || s.mstatus & Status.mie != 0
        let hypervisorEnabled = h.virtualMode || privilege == .user
            || (privilege == .supervisor && s.mstatus & Status.sie != 0)
        let guestEnabled = h.virtualMode && (privilege == .user || h.vsstatus & Status.sie != 0)
        let machineLevel = pending & ~mideleg
        let hypervisorLevel = pending & mideleg & ~h.hideleg
        let guestLevel = pending & mideleg & h.hideleg
        var candidates: UInt32 = 0
        if machineEnabled && machineLevel != 0 {
            candidates = machineLevel
        } else if hypervisorEnabled && hypervisorLevel != 0 {
            candidates = hypervisorLevel
        } else if guestEnabled && guestLevel != 0 {
            candidates = guestLevel
        }
        guard candidates != 0 else { return nil }
        for code in InterruptBit.priorityOrderWithHypervisor where candidates >> code & 1 != 0 {
            return 0x8000_0000 | code
        }
        return nil
    }

    // MARK: Host access

    /// The virtualization mode V (always false without the hypervisor extension). Setting it is
    /// for hosts that start a guest directly in VS- or VU-mode; it is ignored without the extension.
    public var virtualizationMode: Bool {
        get { state.pointee.hypervisor.virtualMode }
        set {
            guard configuration.hypervisorExtension else { return }
            state.pointee.hypervisor.virtualMode = newValue
            updateTranslationContext()
        }
    }
}
