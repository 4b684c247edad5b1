import RISCV

// The RISC-V hypervisor extension, version 1.0 (privileged specification, chapter "H"), for an
// RV32 hart: the virtualization mode V, the hypervisor and virtual-supervisor CSRs, trap routing
// between M, HS and VS, and the instructions whose behaviour V changes. Two-stage address
// translation lives in Memory/TwoStageTranslation.swift; the instructions (SRET/MRET/WFI/ECALL
// with V, HFENCE, HLV/HSV, CSR access rules) in HypervisorExtension+Instructions.swift; trap
// routing and interrupt selection in HypervisorExtension+Traps.swift.
//
// Everything here is behind `MachineConfiguration.hypervisorExtension`: with it off, none of this
// code runs and the hart is the plain M/S/U one. The existing machine code calls in through a few
// hooks (CSR read/write defaults, trap entry, interrupt selection, SYSTEM instructions, the page
// walk and the TLB context), so both engines, which share those paths, agree by construction.
//
// Simplifications, all allowed by the specification: GEILEN = 0 (no guest external interrupts:
// hgeie/hgeip and hstatus.VGEIN read as zero), VMIDLEN = 0 (hgatp.VMID reads as zero, and TLB
// flushes are global), htinst/mtinst always zero, little-endian only (hstatus.VSBE zero),
// henvcfg zero. Not implemented: htimedelta (and so the VS-mode `time` offset).

/// The hypervisor extension's part of the hart state.
struct HypervisorState {
    /// V: the hart runs a guest (VS- or VU-mode) when true.
    var virtualMode = false
    var hstatus: UInt32 = 0
    var hedeleg: UInt32 = 0
    var hideleg: UInt32 = 0
    var hcounteren: UInt32 = 0
    var htval: UInt32 = 0
    var hgatp: UInt32 = 0
    // The VS CSRs, which stand in for the supervisor ones while V=1.
    var vsstatus: UInt32 = 0
    var vstvec: UInt32 = 0
    var vsscratch: UInt32 = 0
    var vsepc: UInt32 = 0
    var vscause: UInt32 = 0
    var vstval: UInt32 = 0
    var vsatp: UInt32 = 0
    /// mstatush.MPV and mstatush.GVA (on RV32 they live in the high half of mstatus).
    var machinePreviousVirtualMode = false
    var machineGuestVirtualAddress = false
    var mtval2: UInt32 = 0
    /// The guest-physical address (>> 2) of the last guest-page fault a walk found; trap entry
    /// copies it into htval or mtval2.
    var faultingGuestPhysicalAddress: UInt32 = 0
    /// Set while an HLV/HSV raises its fault: its tval is a guest virtual address although V=0.
    var trapValueIsGuestVirtual = false
}

/// Field masks of `hstatus` for RV32.
enum HypervisorStatus {
    static let gva: UInt32 = 1 << 6
    static let spv: UInt32 = 1 << 7
    static let spvp: UInt32 = 1 << 8
    static let hu: UInt32 = 1 << 9
    static let vtvm: UInt32 = 1 << 20
    static let vtw: UInt32 = 1 << 21
    static let vtsr: UInt32 = 1 << 22
    /// VSBE (endianness) and VGEIN (GEILEN = 0) are read-only zero.
    static let writable: UInt32 = gva | spv | spvp | hu | vtvm | vtw | vtsr
}

/// `mstatush` fields (RV32).
enum MachineStatusHigh {
    static let gva: UInt32 = 1 << 6
    static let mpv: UInt32 = 1 << 7
}

extension ExceptionCause {
    static let environmentCallFromVS: UInt32 = 10
    static let instructionGuestPageFault: UInt32 = 20
    static let loadGuestPageFault: UInt32 = 21
    static let virtualInstruction: UInt32 = 22
    static let storeGuestPageFault: UInt32 = 23

    /// The exceptions whose tval is a virtual address (breakpoint, misaligned, access, page and
    /// guest-page faults): taken from V=1 they set hstatus.GVA / mstatush.GVA.
    static let writesGuestVirtualAddress: UInt32 =
        1 << 0 | 1 << 1 | 1 << 3 | 1 << 4 | 1 << 5 | 1 << 6 | 1 << 7 | 1 << 12 | 1 << 13 | 1 << 15
        | 1 << 20 | 1 << 21 | 1 << 23
}

extension InterruptBit {
    static let virtualSupervisorSoftware: UInt32 = 1 << 2
    static let virtualSupervisorTimer: UInt32 = 1 << 6
    static let virtualSupervisorExternal: UInt32 = 1 << 10
    static let virtualSupervisorLevel: UInt32 = virtualSupervisorSoftware | virtualSupervisorTimer | virtualSupervisorExternal
    /// Priority with the hypervisor extension: MEI, MSI, MTI, SEI, SSI, STI, (SGEI,) VSEI, VSSI, VSTI.
    static let priorityOrderWithHypervisor: [UInt32] = [11, 3, 7, 9, 1, 5, 12, 10, 2, 6]
}

extension MemoryAccess {
    var guestPageFault: UInt32 {
        switch self {
        case .fetch: return ExceptionCause.instructionGuestPageFault
        case .load: return ExceptionCause.loadGuestPageFault
        case .store: return ExceptionCause.storeGuestPageFault
        }
    }
}

// MARK: - CSRs

extension Machine {
    var hypervisorMisaBit: UInt32 { configuration.hypervisorExtension ? 1 << 7 : 0 }

    /// medeleg: with H, also ECALL from VS-mode (10), guest-page faults and virtual instruction (20-23).
    var delegableExceptionMask: UInt32 {
        configuration.hypervisorExtension ? Machine.delegableExceptions | 1 << 10 | 0xF0_0000 : Machine.delegableExceptions
    }

    /// mideleg bits 10, 6, 2 (the VS-level interrupts) are read-only one with H: they always go
    /// at least to HS-mode. They are not stored in `mideleg`, so `sie`/`sip` never see them.
    var forcedInterruptDelegation: UInt32 { configuration.hypervisorExtension ? InterruptBit.virtualSupervisorLevel : 0 }

    /// mie: the VS-level enables are the same bits as hie's.
    var interruptEnableMask: UInt32 {
        configuration.hypervisorExtension ? InterruptBit.all | InterruptBit.virtualSupervisorLevel : InterruptBit.all
    }

    /// mip: VSSIP is writable through mip too (it is the same bit as hip.VSSIP and hvip.VSSIP).
    var softwareWritablePendingMask: UInt32 {
        configuration.hypervisorExtension
            ? Machine.softwareWritablePending | InterruptBit.virtualSupervisorSoftware : Machine.softwareWritablePending
    }

    var machineStatusHigh: UInt32 {
        let h = state.pointee.hypervisor
        return (h.machinePreviousVirtualMode ? MachineStatusHigh.mpv : 0) | (h.machineGuestVirtualAddress ? MachineStatusHigh.gva : 0)
    }

    /// A hypervisor-extension CSR's value as M-mode reads it; nil without the extension or for
    /// another number.
    func hypervisorCSRValue(_ number: UInt16) -> UInt32? {
        guard configuration.hypervisorExtension else { return nil }
        let s = state.pointee
        let h = s.hypervisor
        switch number {
        case CSR.hstatus: return h.hstatus
        case CSR.hedeleg: return h.hedeleg
        case CSR.hideleg: return h.hideleg
        case CSR.hie: return s.mie & InterruptBit.virtualSupervisorLevel
        case CSR.hip: return s.mip & InterruptBit.virtualSupervisorLevel
        case CSR.hvip: return s.mip & InterruptBit.virtualSupervisorLevel
        case CSR.hcounteren: return h.hcounteren
        case CSR.htval: return h.htval
        case CSR.hgatp: return h.hgatp
        case CSR.hgeie, CSR.hgeip, CSR.htinst, CSR.henvcfg, CSR.henvcfgh, CSR.hedelegh, CSR.mtinst: return 0
        case CSR.mtval2: return h.mtval2
        case CSR.vsstatus: return h.vsstatus
        // vsie/vsip show the VS-level bits delegated by hideleg at the positions of the
        // supervisor ones (VSSIP bit 2 appears as SSIP bit 1, and so on).
        case CSR.vsie: return (s.mie & h.hideleg & InterruptBit.virtualSupervisorLevel) >> 1
        case CSR.vsip: return (s.mip & h.hideleg & InterruptBit.virtualSupervisorLevel) >> 1
        case CSR.vstvec: return h.vstvec
        case CSR.vsscratch: return h.vsscratch
        case CSR.vsepc: return h.vsepc
        case CSR.vscause: return h.vscause
        case CSR.vstval: return h.vstval
        case CSR.vsatp: return h.vsatp
        default: return nil
        }
    }

    /// Writes a hypervisor-extension CSR as M-mode would; nil if `number` is not one.
    func setHypervisorCSR(_ number: UInt16, _ value: UInt32) -> Bool? {
        guard configuration.hypervisorExtension else { return nil }
        let s = state
        switch number {
        case CSR.mstatush:
            s.pointee.hypervisor.machinePreviousVirtualMode = value & MachineStatusHigh.mpv != 0
            s.pointee.hypervisor.machineGuestVirtualAddress = value & MachineStatusHigh.gva != 0
            updateTranslationContext()  // MPRV with MPV=1 makes M-mode data accesses two-stage
        case CSR.hstatus: s.pointee.hypervisor.hstatus = value & HypervisorStatus.writable
        // ECALLs from HS/VS/M, the guest-page faults and virtual instruction stay out of VS-mode.
        case CSR.hedeleg: s.pointee.hypervisor.hedeleg = value & 0xB1FF
        case CSR.hideleg: s.pointee.hypervisor.hideleg = value & InterruptBit.virtualSupervisorLevel
        case CSR.hie:
            let mask = InterruptBit.virtualSupervisorLevel
            s.pointee.mie = s.pointee.mie & ~mask | value & mask
        case CSR.hip:
            let mask = InterruptBit.virtualSupervisorSoftware  // VSTIP/VSEIP come from hvip only
            s.pointee.mip = s.pointee.mip & ~mask | value & mask
        case CSR.hvip:
            let mask = InterruptBit.virtualSupervisorLevel
            s.pointee.mip = s.pointee.mip & ~mask | value & mask
        case CSR.hcounteren: s.pointee.hypervisor.hcounteren = value
        case CSR.htval: s.pointee.hypervisor.htval = value
        case CSR.hgatp:
            // Sv32x4 or Bare; VMID read-only zero; the root table is 16 KiB aligned, so PPN[1:0] read as zero.
            s.pointee.hypervisor.hgatp = value & (0x8000_0000 | 0x3F_FFFC)
            flushTLB()
        case CSR.mtval2: s.pointee.hypervisor.mtval2 = value
        case CSR.vsstatus:
            let h = s.pointee.hypervisor
            s.pointee.hypervisor.vsstatus = h.vsstatus & ~Status.supervisorVisible | value & Status.supervisorVisible
            updateTranslationContext()
        case CSR.vsie:
            let mask = s.pointee.hypervisor.hideleg & InterruptBit.virtualSupervisorLevel
            s.pointee.mie = s.pointee.mie & ~mask | (value << 1) & mask
        case CSR.vsip:
            let mask = s.pointee.hypervisor.hideleg & InterruptBit.virtualSupervisorSoftware
            s.pointee.mip = s.pointee.mip & ~mask | (value << 1) & mask
        case CSR.vstvec: s.pointee.hypervisor.vstvec = value & ~2
        case CSR.vsscratch: s.pointee.hypervisor.vsscratch = value
        case CSR.vsepc: s.pointee.hypervisor.vsepc = value & ~3
        case CSR.vscause: s.pointee.hypervisor.vscause = value
        case CSR.vstval: s.pointee.hypervisor.vstval = value
        case CSR.vsatp:
            s.pointee.hypervisor.vsatp = value
            flushTLB()
        default:
            return hypervisorCSRValue(number) != nil ? true : nil  // read-only or hardwired zero
        }
        return true
    }

    /// What a CSR instruction may do with the hypervisor extension.
    enum HypervisorCSRAccess: Equatable {
        /// Allowed, on this CSR number (with V=1 a supervisor CSR is replaced by its VS copy).
        case allowed(UInt16)
        case illegal
        case virtualInstruction
    }

    /// The CSR access rules with V and HS-mode (H chapter, "Hypervisor and Virtual Supervisor
    /// CSRs" and "Virtual-Instruction Exception"): HS-mode reaches the hypervisor-level CSRs (bits
    /// 9:8 = 2); with V=1 the supervisor CSRs are replaced by the VS ones, and an access HS-mode
    /// could make but VS/VU may not raises a virtual-instruction exception instead of an illegal one.
    func hypervisorCSRAccess(_ number: UInt16, writing: Bool) -> HypervisorCSRAccess {
        let s = state.pointee
        let h = s.hypervisor
        let privilege = s.privilege
        guard csrValue(number) != nil else { return .illegal }
        let level = UInt8(number >> 8 & 3)
        if writing && number >> 10 == 3 { return .illegal }
        let isCounter = (0xC00...0xC1F).contains(number) || (0xC80...0xC9F).contains(number)
        let counterBit = UInt32(1) << UInt32(number & 0x1F)
        if !h.virtualMode {
            let reach: UInt8 = privilege == .machine ? 3 : (privilege == .supervisor ? 2 : 0)
            guard level <= reach else { return .illegal }
            if privilege == .supervisor && s.mstatus & Status.tvm != 0 && (number == CSR.satp || number == CSR.hgatp) {
                return .illegal
            }
            if isCounter {
                if privilege < .machine && s.mcounteren & counterBit == 0 { return .illegal }
                if privilege == .user && s.scounteren & counterBit == 0 { return .illegal }
            }
            return .allowed(number)
        }
        // V = 1: VS-mode (nominal S) or VU-mode (nominal U).
        if level == 3 { return .illegal }
        if isCounter {
            if s.mcounteren & counterBit == 0 { return .illegal }
            if h.hcounteren & counterBit == 0 { return .virtualInstruction }
            if privilege == .user && s.scounteren & counterBit == 0 { return .virtualInstruction }
            return .allowed(number)
        }
        if level == 2 { return .virtualInstruction }  // hypervisor and VS CSRs: HS-mode only
        if level == 1 {
            if privilege == .user { return .virtualInstruction }
            switch number {
            case CSR.sstatus: return .allowed(CSR.vsstatus)
            case CSR.sie: return .allowed(CSR.vsie)
            case CSR.stvec: return .allowed(CSR.vstvec)
            case CSR.sscratch: return .allowed(CSR.vsscratch)
            case CSR.sepc: return .allowed(CSR.vsepc)
            case CSR.scause: return .allowed(CSR.vscause)
            case CSR.stval: return .allowed(CSR.vstval)
            case CSR.sip: return .allowed(CSR.vsip)
            case CSR.satp: return h.hstatus & HypervisorStatus.vtvm != 0 ? .virtualInstruction : .allowed(CSR.vsatp)
            default: return .allowed(number)  // scounteren, senvcfg: no VS copy
            }
        }
        return .allowed(number)
    }

    /// CSRRW/CSRRS/CSRRC (and immediate forms) with the hypervisor extension. Same read/write
    /// rules as `executeCSRInstruction`, with `hypervisorCSRAccess` deciding legality.
    func executeHypervisorCSRInstruction(_ word: UInt32, pc: UInt32) {
        let number = UInt16(word >> 20)
        let funct3 = word >> 12 & 7
        let rd = Int(word >> 7 & 31)
        let source = word >> 15 & 31
        let registers = state.pointee.registers
        let operand = funct3 >= 5 ? source : registers[Int(source)]
        let isSwap = funct3 & 3 == 1
        let writes = isSwap || source != 0
        let effective: UInt16
        switch hypervisorCSRAccess(number, writing: writes) {
        case .illegal: return raiseException(ExceptionCause.illegalInstruction, value: word, pc: pc)
        case .virtualInstruction: return raiseException(ExceptionCause.virtualInstruction, value: word, pc: pc)
        case .allowed(let n): effective = n
        }
        let old = (isSwap && rd == 0) ? 0 : (csrValue(effective) ?? 0)
        if writes {
            let new: UInt32
            switch funct3 & 3 {
            case 1: new = operand
            case 2: new = old | operand
            default: new = old & ~operand
            }
            _ = setCSR(effective, new)
        }
        if rd != 0 { registers[rd] = old }
        state.pointee.pc = pc &+ 4
        state.pointee.retired &+= 1
    }
}
