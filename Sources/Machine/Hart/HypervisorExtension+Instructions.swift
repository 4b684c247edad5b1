// The SYSTEM instructions of the hypervisor extension and the ones whose behaviour V changes
// (privileged spec, H chapter). See HypervisorExtension.swift for the state and CSRs.
// MARK: - SYSTEM instructions

extension Machine {
    /// The SYSTEM instructions whose behaviour the hypervisor extension changes. Returns false
    /// when the instruction behaves exactly as without the extension (`executeSystem` goes on).
    ///
    /// Virtual-instruction exceptions raised here (H chapter, "Virtual-Instruction Exception"):
    /// in VS- or VU-mode HFENCE.VVMA/GVMA and HLV/HLVX/HSV; in VU-mode SRET, SFENCE.VMA, and WFI
    /// (mstatus.TW = 0); in VS-mode SRET with VTSR, SFENCE.VMA with VTVM, WFI with VTW (TW = 0);
    /// CSR accesses: see `hypervisorCSRAccess`. Cases of the list that need extensions this hart
    /// lacks (SINVAL.VMA, Sstc's stimecmp, Smstateen, AIA, Zicbom/Zicboz, floating point,
    /// htimedelta) cannot arise.
    func executeHypervisorSystem(_ word: UInt32, pc: UInt32) -> Bool {
        let s = state
        let virtual = s.pointee.hypervisor.virtualMode
        let privilege = s.pointee.privilege
        func raise(_ cause: UInt32) { raiseException(cause, value: cause == ExceptionCause.virtualInstruction || cause == ExceptionCause.illegalInstruction ? word : 0, pc: pc) }
        func complete(next: UInt32) {
            s.pointee.pc = next
            s.pointee.retired &+= 1
        }
        let funct3 = word >> 12 & 7
        if funct3 == 4 {
            executeVirtualMachineAccess(word, pc: pc)
            return true
        }
        if funct3 != 0 {
            executeHypervisorCSRInstruction(word, pc: pc)
            return true
        }
        switch word {
        case 0x0000_0073:  // ECALL from VS-mode has its own cause
            guard virtual && privilege == .supervisor else { return false }
            raise(ExceptionCause.environmentCallFromVS)
            return true
        case 0x3020_0073:  // MRET: V becomes MPV when returning below M
            guard privilege == .machine else { return false }
            var status = s.pointee.mstatus
            let previous = PrivilegeLevel(rawValue: UInt8(status >> Status.mppShift & 3)) ?? .user
            status = status & ~Status.mie | (status & Status.mpie != 0 ? Status.mie : 0)
            status |= Status.mpie
            status &= ~Status.mpp
            if previous != .machine { status &= ~Status.mprv }
            s.pointee.mstatus = status
            s.pointee.hypervisor.virtualMode = previous != .machine && s.pointee.hypervisor.machinePreviousVirtualMode
            s.pointee.hypervisor.machinePreviousVirtualMode = false
            s.pointee.privilege = previous
            updateTranslationContext()
            complete(next: s.pointee.mepc)
            return true
        case 0x1020_0073:  // SRET
            if virtual {
                if privilege == .user || s.pointee.hypervisor.hstatus & HypervisorStatus.vtsr != 0 {
                    raise(ExceptionCause.virtualInstruction)
                    return true
                }
                // VS-mode's SRET uses the VS copies and stays in the guest.
                var status = s.pointee.hypervisor.vsstatus
                let previous: PrivilegeLevel = status & Status.spp != 0 ? .supervisor : .user
                status = status & ~Status.sie | (status & Status.spie != 0 ? Status.sie : 0)
                status |= Status.spie
                status &= ~Status.spp
                s.pointee.hypervisor.vsstatus = status
                s.pointee.privilege = previous
                updateTranslationContext()
                complete(next: s.pointee.hypervisor.vsepc)
                return true
            }
            guard privilege >= .supervisor,
                  !(privilege == .supervisor && s.pointee.mstatus & Status.tsr != 0) else { return false }
            // HS-mode (or M-mode) SRET: as without H, and V becomes hstatus.SPV, which is cleared.
            var status = s.pointee.mstatus
            let previous: PrivilegeLevel = status & Status.spp != 0 ? .supervisor : .user
            status = status & ~Status.sie | (status & Status.spie != 0 ? Status.sie : 0)
            status |= Status.spie
            status &= ~Status.spp
            status &= ~Status.mprv
            s.pointee.mstatus = status
            s.pointee.hypervisor.virtualMode = s.pointee.hypervisor.hstatus & HypervisorStatus.spv != 0
            s.pointee.hypervisor.hstatus &= ~HypervisorStatus.spv
            s.pointee.privilege = previous
            updateTranslationContext()
            complete(next: s.pointee.sepc)
            return true
        case 0x1050_0073:  // WFI
            guard virtual else { return false }
            if s.pointee.mstatus & Status.tw != 0 {
                raise(ExceptionCause.illegalInstruction)
            } else if privilege == .user || s.pointee.hypervisor.hstatus & HypervisorStatus.vtw != 0 {
                raise(ExceptionCause.virtualInstruction)
            } else {
                complete(next: pc &+ 4)
                waitingForInterrupt = true
            }
            return true
        default:
            guard word >> 7 & 31 == 0 else { return false }
            let rs1 = Int(word >> 15 & 31)
            switch word >> 25 {
            case 0b000_1001:  // SFENCE.VMA in a guest flushes the guest's (VS-stage) translations
                guard virtual else { return false }
                if privilege == .user || s.pointee.hypervisor.hstatus & HypervisorStatus.vtvm != 0 {
                    raise(ExceptionCause.virtualInstruction)
                    return true
                }
                if rs1 == 0 { flushTLB() } else { flushTLB(virtualAddress: s.pointee.registers[rs1]) }
            case 0b001_0001, 0b011_0001:  // HFENCE.VVMA, HFENCE.GVMA
                if virtual {
                    raise(ExceptionCause.virtualInstruction)
                    return true
                }
                let isGVMA = word >> 25 == 0b011_0001
                if privilege == .user || (isGVMA && privilege == .supervisor && s.pointee.mstatus & Status.tvm != 0) {
                    raise(ExceptionCause.illegalInstruction)
                    return true
                }
                // The TLB holds combined guest-virtual -> machine translations without VMIDs:
                // either fence drops them all (flushing more than asked is always allowed).
                flushTLB()
            default:
                return false
            }
            complete(next: pc &+ 4)
            return true
        }
    }
}

// MARK: - HLV, HLVX, HSV

extension Machine {
    /// The virtual-machine load and store instructions (H chapter, "Hypervisor Virtual-Machine Load
    /// and Store Instructions"): from M- or HS-mode (or U-mode with hstatus.HU), an explicit access
    /// translated and checked exactly as if V=1 at privilege hstatus.SPVP (VS-stage by vsatp with
    /// vsstatus.SUM/MXR, then the G-stage). HLVX needs execute rather than read permission. A fault
    /// is reported with the load/store cause and tval = the guest virtual address (GVA = 1). From
    /// VS/VU-mode they raise a virtual-instruction exception. They bypass the TLB (a hypervisor
    /// uses them rarely, to read a guest's memory), so they never leave V=1 entries behind.
    func executeVirtualMachineAccess(_ word: UInt32, pc: UInt32) {
        let s = state
        let registers = s.pointee.registers
        // For loads the rs2 field selects the variant (0 signed, 1 unsigned, 3 HLVX); for stores it is rs2.
        let rd = Int(word >> 7 & 31), rs1 = Int(word >> 15 & 31), selector = word >> 20 & 31
        let funct7 = word >> 25
        if s.pointee.hypervisor.virtualMode {
            return raiseException(ExceptionCause.virtualInstruction, value: word, pc: pc)
        }
        let hu = s.pointee.hypervisor.hstatus & HypervisorStatus.hu != 0
        guard s.pointee.privilege != .user || hu else {
            return raiseException(ExceptionCause.illegalInstruction, value: word, pc: pc)
        }
        // funct7 0110 ss l: size 2^ss, l = 1 for HSV; loads pick the variant in the rs2 field.
        let size = 1 << Int(funct7 >> 1 & 3)
        let isStore = funct7 & 1 != 0
        let isLoadExecutable = !isStore && selector == 3
        let validLoad = !isStore && (selector == 0 || (selector == 1 && size < 4) || (selector == 3 && size > 1))
        guard funct7 >> 3 == 0b0110, size <= 4, isStore ? rd == 0 : validLoad else {
            return raiseException(ExceptionCause.illegalInstruction, value: word, pc: pc)
        }
        let address = registers[rs1]
        guard address & UInt32(size - 1) == 0 else {
            return raiseException(isStore ? ExceptionCause.storeAddressMisaligned : ExceptionCause.loadAddressMisaligned,
                                  value: address, pc: pc)
        }
        let privilege: PrivilegeLevel = s.pointee.hypervisor.hstatus & HypervisorStatus.spvp != 0 ? .supervisor : .user
        let access: MemoryAccess = isStore ? .store : (isLoadExecutable ? .fetch : .load)
        func fail(_ cause: UInt32) {
            // HLVX checks execute permission but faults as a load.
            var reported = cause
            if isLoadExecutable {
                switch cause {
                case ExceptionCause.instructionPageFault: reported = ExceptionCause.loadPageFault
                case ExceptionCause.instructionGuestPageFault: reported = ExceptionCause.loadGuestPageFault
                case ExceptionCause.instructionAccessFault: reported = ExceptionCause.loadAccessFault
                default: break
                }
            }
            s.pointee.hypervisor.trapValueIsGuestVirtual = true
            raiseException(reported, value: address, pc: pc)
        }
        switch twoStageWalk(address, access, privilege: privilege) {
        case .fault(let cause):
            return fail(cause)
        case .physical(let physical, _):
            if isStore {
                guard busWrite(physical, size: size, value: registers[Int(selector)]) else {
                    return fail(ExceptionCause.storeAccessFault)
                }
            } else {
                guard var value = busRead(physical, size: size) else { return fail(ExceptionCause.loadAccessFault) }
                if selector == 0 && size == 1 { value = UInt32(bitPattern: Int32(Int8(truncatingIfNeeded: value))) }
                if selector == 0 && size == 2 { value = UInt32(bitPattern: Int32(Int16(truncatingIfNeeded: value))) }
                if rd != 0 { registers[rd] = value }
            }
        }
        s.pointee.pc = pc &+ 4
        s.pointee.retired &+= 1
    }
}
