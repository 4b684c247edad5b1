import RISCV

/// The control and status registers (privileged spec v1.12, chapters 2-4), for an RV32 hart with
/// M, S and U modes, misa = RV32IMA + S + U.
extension Machine {
    static let misa: UInt32 = 1 << 30 | 1 << 0 | 1 << 8 | 1 << 12 | 1 << 18 | 1 << 20  // MXL=32, A I M S U

    /// Exceptions S-mode may take (medeleg): every cause except reserved codes and ECALL from M.
    static let delegableExceptions: UInt32 = 0xB3FF
    /// Only the supervisor-level interrupts can be delegated (mideleg); M-level ones stay in M.
    static let delegableInterrupts: UInt32 = InterruptBit.supervisorLevel
    /// The bits of mip that software writes (MSIP/MTIP/MEIP come from devices).
    static let softwareWritablePending: UInt32 = InterruptBit.supervisorLevel

    /// The CSR's value as M-mode reads it, or nil if the hart has no such CSR.
    func csrValue(_ number: UInt16) -> UInt32? {
        let s = state.pointee
        switch number {
        case CSR.mstatus: return s.mstatus
        case CSR.sstatus: return s.mstatus & Status.supervisorVisible
        case CSR.mstatush: return machineStatusHigh  // MBE/SBE zero: little-endian only; MPV/GVA with H
        case CSR.misa: return Machine.misa | hypervisorMisaBit
        case CSR.medeleg: return s.medeleg
        case CSR.mideleg: return s.mideleg | forcedInterruptDelegation
        case CSR.mie: return s.mie
        case CSR.sie: return s.mie & s.mideleg
        case CSR.mip:
            refreshDevicePending()
            return state.pointee.mip
        case CSR.sip:
            refreshDevicePending()
            return state.pointee.mip & s.mideleg
        case CSR.mtvec: return s.mtvec
        case CSR.stvec: return s.stvec
        case CSR.mepc: return s.mepc
        case CSR.sepc: return s.sepc
        case CSR.mcause: return s.mcause
        case CSR.scause: return s.scause
        case CSR.mtval: return s.mtval
        case CSR.stval: return s.stval
        case CSR.mscratch: return s.mscratch
        case CSR.sscratch: return s.sscratch
        case CSR.satp: return s.satp
        case CSR.mcounteren: return s.mcounteren
        case CSR.scounteren: return s.scounteren
        case CSR.menvcfg, CSR.menvcfgh, CSR.senvcfg: return 0  // no FIOM/CBIE/PBMTE... fields: WARL zero
        case CSR.mcountinhibit: return 0                      // counters always count (WARL zero)
        case CSR.mvendorid, CSR.marchid, CSR.mimpid, CSR.mhartid, CSR.mconfigptr: return 0
        case CSR.mcycle, CSR.cycle: return UInt32(truncatingIfNeeded: cycles)
        case CSR.mcycleh, CSR.cycleh: return UInt32(truncatingIfNeeded: cycles >> 32)
        case CSR.minstret, CSR.instret: return UInt32(truncatingIfNeeded: instructionsRetired)
        case CSR.minstreth, CSR.instreth: return UInt32(truncatingIfNeeded: instructionsRetired >> 32)
        case CSR.time: return UInt32(truncatingIfNeeded: clint.mtime(retired: s.retired))
        case CSR.timeh: return UInt32(truncatingIfNeeded: clint.mtime(retired: s.retired) >> 32)
        case 0x3A0...0x3AF, 0x3B0...0x3EF: return 0    // pmpcfg0-15, pmpaddr0-63: no PMP (WARL zero)
        case 0xB03...0xB1F, 0xB83...0xB9F: return 0    // mhpmcounter3-31(h): no events to count
        case 0x323...0x33F: return 0                   // mhpmevent3-31
        case 0xC03...0xC1F, 0xC83...0xC9F: return 0    // hpmcounter3-31(h)
        default: return hypervisorCSRValue(number)  // nil without the H extension
        }
    }

    /// `mcycle`: one cycle per retired instruction, plus what software wrote.
    var cycles: UInt64 { state.pointee.retired &+ state.pointee.cycleOffset }
    var instructionsRetired: UInt64 { state.pointee.retired &+ state.pointee.instretOffset }

    /// Writes a CSR as M-mode would, legalizing WARL fields. Returns false if there is no such CSR.
    /// (Privilege and read-only checks are the CSR instructions' job, see `csrAccessAllowed`.)
    func setCSR(_ number: UInt16, _ value: UInt32) -> Bool {
        let s = state
        switch number {
        case CSR.mstatus:
            writeStatus(value, mask: Status.machineWritable)
        case CSR.sstatus:
            writeStatus(value, mask: Status.supervisorVisible)
        case CSR.mstatush where configuration.hypervisorExtension:
            return setHypervisorCSR(number, value) ?? true
        case CSR.mstatush, CSR.misa, CSR.menvcfg, CSR.menvcfgh, CSR.senvcfg, CSR.mcountinhibit:
            break  // WARL with no writable bits here
        case CSR.medeleg: s.pointee.medeleg = value & delegableExceptionMask
        case CSR.mideleg: s.pointee.mideleg = value & Machine.delegableInterrupts
        case CSR.mie: s.pointee.mie = value & interruptEnableMask
        case CSR.sie:
            let mask = s.pointee.mideleg
            s.pointee.mie = s.pointee.mie & ~mask | value & mask
        case CSR.mip:
            let mask = softwareWritablePendingMask
            s.pointee.mip = s.pointee.mip & ~mask | value & mask
        case CSR.sip:
            // Only SSIP is writable from S-mode, and only when delegated.
            let mask = InterruptBit.supervisorSoftware & s.pointee.mideleg
            s.pointee.mip = s.pointee.mip & ~mask | value & mask
        // MODE 2 and 3 are reserved: keeping only bit 0 maps them to direct/vectored.
        case CSR.mtvec: s.pointee.mtvec = value & ~2
        case CSR.stvec: s.pointee.stvec = value & ~2
        // IALIGN is 32 (no C extension): epc bits 1:0 are always zero.
        case CSR.mepc: s.pointee.mepc = value & ~3
        case CSR.sepc: s.pointee.sepc = value & ~3
        case CSR.mcause: s.pointee.mcause = value
        case CSR.scause: s.pointee.scause = value
        case CSR.mtval: s.pointee.mtval = value
        case CSR.stval: s.pointee.stval = value
        case CSR.mscratch: s.pointee.mscratch = value
        case CSR.sscratch: s.pointee.sscratch = value
        case CSR.satp:
            // Both MODE values (Bare, Sv32) are legal on RV32, and all 9 ASID bits are kept.
            s.pointee.satp = value
            flushTLB()
        case CSR.mcounteren: s.pointee.mcounteren = value
        case CSR.scounteren: s.pointee.scounteren = value
        // A counter write replaces the increment of the writing instruction (Zicsr spec): the next
        // instruction reads exactly the value written. Engines count the CSR instruction as retired
        // after this, hence the `+ 1`.
        case CSR.mcycle:
            s.pointee.cycleOffset = (cycles & 0xFFFF_FFFF_0000_0000 | UInt64(value)) &- (s.pointee.retired &+ 1)
        case CSR.mcycleh:
            s.pointee.cycleOffset = (cycles & 0xFFFF_FFFF | UInt64(value) << 32) &- (s.pointee.retired &+ 1)
        case CSR.minstret:
            s.pointee.instretOffset = (instructionsRetired & 0xFFFF_FFFF_0000_0000 | UInt64(value)) &- (s.pointee.retired &+ 1)
        case CSR.minstreth:
            s.pointee.instretOffset = (instructionsRetired & 0xFFFF_FFFF | UInt64(value) << 32) &- (s.pointee.retired &+ 1)
        default:
            if let handled = setHypervisorCSR(number, value) { return handled }
            return csrValue(number) != nil  // a read-only or hardwired-zero CSR: the write is ignored
        }
        return true
    }

    private func writeStatus(_ value: UInt32, mask: UInt32) {
        let old = state.pointee.mstatus
        var new = old & ~mask | value & mask
        // MPP is WARL: 2 (the hypervisor level) is not supported, so such a write keeps the old MPP.
        if new & Status.mpp == 2 << Status.mppShift { new = new & ~Status.mpp | old & Status.mpp }
        state.pointee.mstatus = new
        updateTranslationContext()
    }

    /// The CSR instruction's access rules (Zicsr, privileged spec 2.1 and 3.1.11-12): the CSR must
    /// exist, the hart's privilege must reach the level in bits 9:8, a write to a read-only CSR
    /// (bits 11:10 = 3) is illegal, counters need their mcounteren/scounteren bit below M-mode, and
    /// satp is off-limits to S-mode when mstatus.TVM is set.
    func csrAccessAllowed(_ number: UInt16, writing: Bool) -> Bool {
        let s = state.pointee
        let privilege = s.privilege
        guard privilege.rawValue >= UInt8(number >> 8 & 3) else { return false }
        if writing && number >> 10 == 3 { return false }
        if number == CSR.satp && privilege == .supervisor && s.mstatus & Status.tvm != 0 { return false }
        if (0xC00...0xC1F).contains(number) || (0xC80...0xC9F).contains(number) {
            let bit = UInt32(1) << UInt32(number & 0x1F)
            if privilege < .machine && s.mcounteren & bit == 0 { return false }
            if privilege == .user && s.scounteren & bit == 0 { return false }
        }
        return csrValue(number) != nil
    }

    /// CSRRW/CSRRS/CSRRC and their immediate forms. Returns false for an illegal access.
    /// CSRRW with rd = x0 does not read; CSRRS/CSRRC with rs1 = x0 (or uimm = 0) do not write, so
    /// they may read read-only CSRs.
    func executeCSRInstruction(_ word: UInt32) -> Bool {
        let number = UInt16(word >> 20)
        let funct3 = word >> 12 & 7
        let rd = Int(word >> 7 & 31)
        let source = word >> 15 & 31
        let registers = state.pointee.registers
        let operand = funct3 >= 5 ? source : registers[Int(source)]
        let isSwap = funct3 & 3 == 1
        let writes = isSwap || source != 0
        guard csrAccessAllowed(number, writing: writes) else { return false }
        let old = (isSwap && rd == 0) ? 0 : (csrValue(number) ?? 0)
        if writes {
            let new: UInt32
            switch funct3 & 3 {
            case 1: new = operand
            case 2: new = old | operand
            default: new = old & ~operand
            }
            _ = setCSR(number, new)
        }
        if rd != 0 { registers[rd] = old }
        return true
    }
}
