/// Trap entry, interrupt selection, xRET, and the SYSTEM-opcode instructions.
extension Machine {
    /// Raises a synchronous exception for the instruction at `pc` (which did not complete).
    func raiseException(_ cause: UInt32, value: UInt32, pc: UInt32) {
        enterTrap(cause: cause, value: value, pc: pc)
    }

    /// Takes a trap (privileged spec 3.1.6.1, 3.1.7-9, 4.1.1): chooses M or S by delegation, saves
    /// pc, cause and tval, stacks the interrupt-enable bit and the previous privilege, jumps to the
    /// vector. With `interceptUserTraps`, a trap from U-mode instead stops the run and leaves the
    /// hart untouched.
    func enterTrap(cause: UInt32, value: UInt32, pc: UInt32) {
        let s = state
        let from = s.pointee.privilege
        let trap = Trap(cause: cause, value: value, pc: pc)
        // Debugging (Sources/Machine/Debug): a debugger's breakpoint stops the run instead of
        // trapping; a trace hears of every other trap once it is taken.
        if let hooks = debugHooks {
            if debugInterceptsTrap(hooks, cause: cause, pc: pc) { return }
            if let observer = hooks.trapObserver {
                defer {
                    let intercepted = configuration.interceptUserTraps && from == .user
                    observer(TrapEvent(trap: trap, from: from, to: intercepted ? nil : s.pointee.privilege,
                                       handler: s.pointee.pc))
                }
                return enterTrapTaken(trap, from: from)
            }
        }
        enterTrapTaken(trap, from: from)
    }

    /// The trap entry proper (split from `enterTrap` so the trace can look at its result).
    private func enterTrapTaken(_ trap: Trap, from: PrivilegeLevel) {
        let s = state
        let cause = trap.cause, value = trap.value, pc = trap.pc
        trapLog?.append(TrapRecord(retired: s.pointee.retired, trap: trap))
        if configuration.hypervisorExtension { return enterTrapWithHypervisor(trap, from: from) }
        if configuration.interceptUserTraps && from == .user {
            s.pointee.pc = pc
            pendingStop = .userTrap(trap)
            return
        }
        let isInterrupt = cause & 0x8000_0000 != 0
        let code = cause & 0x1F
        let delegation = isInterrupt ? s.pointee.mideleg : s.pointee.medeleg
        // A trap never moves to a less privileged mode: traps from M always go to M.
        let toSupervisor = from != .machine && (delegation >> code) & 1 != 0
        // A reservation does not survive a trap, so an interrupted LR/SC sequence retries.
        s.pointee.reservation = nil
        var status = s.pointee.mstatus
        let vector: UInt32
        if toSupervisor {
            s.pointee.scause = cause
            s.pointee.sepc = pc
            s.pointee.stval = value
            status = status & ~(Status.spie | Status.spp)
                | (status & Status.sie != 0 ? Status.spie : 0)
                | (from == .supervisor ? Status.spp : 0)
            status &= ~Status.sie
            s.pointee.privilege = .supervisor
            vector = s.pointee.stvec
        } else {
            s.pointee.mcause = cause
            s.pointee.mepc = pc
            s.pointee.mtval = value
            status = status & ~(Status.mpie | Status.mpp)
                | (status & Status.mie != 0 ? Status.mpie : 0)
                | UInt32(from.rawValue) << Status.mppShift
            status &= ~Status.mie
            s.pointee.privilege = .machine
            vector = s.pointee.mtvec
        }
        s.pointee.mstatus = status
        // Vectored mode sends interrupts to BASE + 4 * cause; exceptions always go to BASE.
        var target = vector & ~3
        if vector & 1 != 0 && isInterrupt { target &+= 4 * code }
        s.pointee.pc = target
        updateTranslationContext()

        // An exception raised by the first instruction of its own handler, at the same privilege,
        // repeats forever with no state changing: report it instead of spinning.
        if !isInterrupt && target == pc && s.pointee.privilege == from {
            var message = "trap loop: \(trap) enters the \(s.pointee.privilege)-mode trap handler at 0x\(hex(target)), which raises it again"
            if let earlier = lastTrap, earlier != trap { message += "; the first trap was \(earlier)" }
            pendingStop = .guestFault(message)
        }
        lastTrap = trap
    }

    /// The interrupt to take now, as an mcause value, if any (privileged spec 3.1.9): pending and
    /// enabled in mie; M-level (not delegated) ones when the hart is below M or mstatus.MIE is set;
    /// delegated ones when the hart is below S, or in S with mstatus.SIE set (never in M). M-level
    /// interrupts come first, then the order MEI, MSI, MTI, SEI, SSI, STI.
    func takeableInterrupt() -> UInt32? {
        if configuration.hypervisorExtension { return takeableInterruptWithHypervisor() }
        let s = state.pointee
        let pending = s.mip & s.mie
        guard pending != 0 else { return nil }
        let privilege = s.privilege
        let machineEnabled = privilege < .machine || s.mstatus & Status.mie != 0
        let supervisorEnabled = privilege < .supervisor || (privilege == .supervisor && s.mstatus & Status.sie != 0)
        var candidates: UInt32 = 0
        let machineLevel = pending & ~s.mideleg
        if machineEnabled && machineLevel != 0 {
            candidates = machineLevel
        } else if supervisorEnabled {
            candidates = pending & s.mideleg
        }
        guard candidates != 0 else { return nil }
        for code in InterruptBit.priorityOrder where candidates >> code & 1 != 0 {
            return 0x8000_0000 | code
        }
        return nil
    }

    /// Executes one SYSTEM-opcode instruction (CSR access, ECALL, EBREAK, MRET, SRET, WFI,
    /// SFENCE.VMA) at `pc`: either it completes (pc moves on, one more instruction retired) or it
    /// raises an exception. Engines hand every SYSTEM instruction here and end their run after it,
    /// because each may change privilege, translation or interrupt enables.
    func executeSystem(_ word: UInt32, pc: UInt32) {
        let s = state
        let privilege = s.pointee.privilege
        func illegal() { raiseException(ExceptionCause.illegalInstruction, value: word, pc: pc) }
        func complete(next: UInt32) {
            s.pointee.pc = next
            s.pointee.retired &+= 1
        }
        if configuration.hypervisorExtension && executeHypervisorSystem(word, pc: pc) { return }
        let funct3 = word >> 12 & 7
        if funct3 != 0 {
            guard funct3 != 4, executeCSRInstruction(word) else { return illegal() }
            return complete(next: pc &+ 4)
        }
        switch word {
        case 0x0000_0073:  // ECALL: the cause says which mode called (8, 9 or 11)
            raiseException(ExceptionCause.environmentCallFromU + UInt32(privilege.rawValue), value: 0, pc: pc)
        case 0x0010_0073:  // EBREAK: tval is the breakpoint's address
            raiseException(ExceptionCause.breakpoint, value: pc, pc: pc)
        case 0x3020_0073:  // MRET
            guard privilege == .machine else { return illegal() }
            var status = s.pointee.mstatus
            let previous = PrivilegeLevel(rawValue: UInt8(status >> Status.mppShift & 3)) ?? .user
            status = status & ~Status.mie | (status & Status.mpie != 0 ? Status.mie : 0)
            status |= Status.mpie
            status &= ~Status.mpp  // MPP becomes U, the least-privileged mode
            // Version 1.12: returning to a mode below M clears MPRV.
            if previous != .machine { status &= ~Status.mprv }
            s.pointee.mstatus = status
            s.pointee.privilege = previous
            updateTranslationContext()
            complete(next: s.pointee.mepc)
        case 0x1020_0073:  // SRET
            guard privilege >= .supervisor,
                  !(privilege == .supervisor && s.pointee.mstatus & Status.tsr != 0) else { return illegal() }
            var status = s.pointee.mstatus
            let previous: PrivilegeLevel = status & Status.spp != 0 ? .supervisor : .user
            status = status & ~Status.sie | (status & Status.spie != 0 ? Status.sie : 0)
            status |= Status.spie
            status &= ~Status.spp
            status &= ~Status.mprv  // SRET always returns below M
            s.pointee.mstatus = status
            s.pointee.privilege = previous
            updateTranslationContext()
            complete(next: s.pointee.sepc)
        case 0x1050_0073:  // WFI
            // Illegal in U-mode (S-mode exists), and in S-mode when mstatus.TW is set, as QEMU does:
            // the "bounded time limit" the spec allows is zero.
            guard privilege == .machine || (privilege == .supervisor && s.pointee.mstatus & Status.tw == 0) else {
                return illegal()
            }
            complete(next: pc &+ 4)
            waitingForInterrupt = true
        default:
            // SFENCE.VMA rs1, rs2: funct7 = 0001001, rd = 0.
            guard word >> 25 == 0b000_1001 && word >> 7 & 31 == 0 else { return illegal() }
            guard privilege == .machine || (privilege == .supervisor && s.pointee.mstatus & Status.tvm == 0) else {
                return illegal()
            }
            let rs1 = Int(word >> 15 & 31)
            if rs1 == 0 { flushTLB() } else { flushTLB(virtualAddress: s.pointee.registers[rs1]) }
            complete(next: pc &+ 4)
        }
    }
}
