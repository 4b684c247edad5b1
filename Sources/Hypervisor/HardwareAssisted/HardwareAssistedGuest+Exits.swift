import HypervisorCore
import Machine
import RISCV

/// The exits of a hardware-assisted guest: what the hart reports with `interceptGuestTraps`
/// (the trap as HS-mode would have seen it, the hart untouched), and what the VMM does about it.
extension HardwareAssistedGuest {
    /// Cause codes the hart reports from V=1 that a bare hart has not.
    enum GuestCause {
        static let environmentCallFromVS: UInt32 = 10
        static let instructionGuestPageFault: UInt32 = 20
        static let loadGuestPageFault: UInt32 = 21
        static let virtualInstruction: UInt32 = 22
        static let storeGuestPageFault: UInt32 = 23
    }

    func handleExit(_ trap: Trap) -> GuestRunResult? {
        if trap.isInterrupt {
            // A VS-level interrupt the guest did not delegate to itself: the run loop's
            // `injectInterrupt` routes it through the virtual CPU.
            statistics.count(.interrupt)
            return nil
        }
        switch trap.cause {
        case ExceptionCode.illegalInstruction, GuestCause.virtualInstruction:
            return handlePrivilegedInstruction(trap.value)
        case GuestCause.environmentCallFromVS:
            // The hart runs the guest's S-mode *and* M-mode in VS-mode: the virtual mode says whose call it is.
            if vcpu.privilege == .machine {
                statistics.count(.exception)
                return reflect(cause: ExceptionCode.environmentCallFromM, value: 0)
            }
            statistics.count(.ecall)
            if servesFirmwareCalls && serveFirmwareCall() { return nil }
            return reflect(cause: ExceptionCode.environmentCallFromS, value: 0)
        case GuestCause.instructionGuestPageFault, GuestCause.loadGuestPageFault, GuestCause.storeGuestPageFault:
            return handleGuestPageFault(trap)
        default:
            // Exceptions the guest did not delegate to its kernel (to its M-mode, then): the
            // cause codes are the same on the virtual CPU.
            statistics.count(.exception)
            return reflect(cause: trap.cause, value: trap.value)
        }
    }

    /// A privileged instruction the hart would not run for the guest: an M-mode CSR, MRET, WFI
    /// (VTW), a counter (hcounteren), satp or SFENCE.VMA in virtual M-mode (VTVM). The trap-and-emulate
    /// reference emulates it on the virtual CPU, exactly as for a deprivileged guest.
    private func handlePrivilegedInstruction(_ word: UInt32) -> GuestRunResult? {
        let isSystem = word & 0x7F == 0x73 && word != 0x0000_0073 && word != 0x0010_0073
        guard isSystem else {
            statistics.count(.exception)
            return reflect(cause: ExceptionCode.illegalInstruction, value: word)
        }
        statistics.count(ExitReason.classifying(systemInstruction: word))
        switch emulator.emulatePrivileged(word, vcpu: &vcpu) {
        case .completed:
            retireEmulated()
        case .fenced:
            retireEmulated()
            machine.flushTLB()
        case .waitForInterrupt, .block:
            // (No hypercall reaches here; a guest alone on its hart waits in place.)
            retireEmulated()
            vcpu.waitingForInterrupt = true
        case .yield:
            retireEmulated()
        case .exception(let cause, let value):
            return reflect(cause: cause, value: value)
        }
        return nil
    }

    /// A guest-physical address the G-stage does not map. On a device: emulate the load or store
    /// (MMIO) and step over it. Anywhere else there is nothing, as on the bare board: the guest
    /// gets the access fault its hardware would raise (tval = its virtual address).
    private func handleGuestPageFault(_ trap: Trap) -> GuestRunResult? {
        let accessFault: UInt32
        switch trap.cause {
        case GuestCause.instructionGuestPageFault: accessFault = ExceptionCode.instructionAccessFault
        case GuestCause.loadGuestPageFault: accessFault = ExceptionCode.loadAccessFault
        default: accessFault = ExceptionCode.storeAccessFault
        }
        let guestPhysical = trap.guestPhysicalAddress
        guard trap.cause != GuestCause.instructionGuestPageFault, guestPhysical < 1 << 32,
              devices.claims(UInt32(guestPhysical)) else {
            statistics.count(.guestPageFault)
            return reflect(cause: accessFault, value: trap.value)
        }
        statistics.count(.mmio)
        guard let word = instructionWord(at: vcpu.pc) else {
            return fault("cannot read the instruction at pc 0x\(hex8(vcpu.pc)) that touched the device at 0x\(hex8(UInt32(guestPhysical)))")
        }
        let address = UInt32(guestPhysical)
        let funct3 = word >> 12 & 7
        let rd = Int(word >> 7 & 31), rs2 = Int(word >> 20 & 31)
        switch (word & 0x7F, funct3) {
        case (0x03, 0), (0x03, 1), (0x03, 2), (0x03, 4), (0x03, 5):
            let size = 1 << Int(funct3 & 3)
            guard var value = devices.read(address, size: size, vcpu: &vcpu) else {
                return reflect(cause: accessFault, value: trap.value)
            }
            if funct3 == 0 { value = UInt32(bitPattern: Int32(Int8(truncatingIfNeeded: value))) }
            if funct3 == 1 { value = UInt32(bitPattern: Int32(Int16(truncatingIfNeeded: value))) }
            vcpu.setRegister(rd, value)
        case (0x23, 0), (0x23, 1), (0x23, 2):
            let size = 1 << Int(funct3)
            guard devices.write(address, size: size, value: vcpu.register(rs2), vcpu: &vcpu) else {
                return reflect(cause: accessFault, value: trap.value)
            }
        default:
            // An atomic on a device register: the board's devices do not support them.
            return reflect(cause: accessFault, value: trap.value)
        }
        vcpu.pc &+= 4
        retireEmulated()
        return nil
    }

    /// The instruction word at a guest virtual pc, through the guest's own page tables.
    private func instructionWord(at pc: UInt32) -> UInt32? {
        let regime = TranslationRegime(vcpu, for: .fetch)
        guard case .guestPhysical(let address, _) = GuestPageTableWalk.translate(pc, .fetch, regime: regime, memory: memory) else {
            return nil
        }
        return memory.read32(address)
    }

    func retireEmulated() {
        vcpu.retired &+= 1
        statistics.emulatedInstructions &+= 1
    }

    /// Delivers an exception to the guest through the virtual CPU (to its S- or M-mode by its
    /// medeleg), and stops a guest whose trap handler traps at its own first instruction forever.
    func reflect(cause: UInt32, value: UInt32) -> GuestRunResult? {
        let pc = vcpu.pc, privilege = vcpu.privilege
        machine.clearReservation()  // as the hart's own trap entry does
        emulator.deliverTrap(cause: cause, value: value, vcpu: &vcpu)
        if vcpu.pc == pc && vcpu.privilege == privilege {
            return fault("trap loop: \(Trap.name(ofCause: cause)) (tval 0x\(hex8(value))) enters the guest's \(privilege)-mode trap handler at 0x\(hex8(pc)), which raises it again")
        }
        return nil
    }
}
