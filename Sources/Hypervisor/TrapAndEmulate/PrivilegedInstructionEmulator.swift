import HypervisorCore
import Machine
import RISCV

/// The reference `ExitHandler`: the semantics of RV32's privileged architecture (M, S and U
/// modes, privileged spec v1.12), applied to the *virtual* CPU. It is the same behaviour the
/// emulated hart implements for itself (Sources/Machine/Hart), written again over
/// `VirtualCPU`, so a guest cannot tell the difference: the tests run small privileged guests bare
/// and under the VMM and compare the final architectural state.
///
/// Why this works at all (Popek and Goldberg, 1974): every RV32 instruction that reads or changes
/// privileged state (CSRs, xRET, WFI, SFENCE.VMA) is *privileged*: executed in U-mode it raises
/// an illegal-instruction exception. Running the guest kernel in U-mode therefore makes every
/// sensitive instruction trap to the VMM, which emulates it here.
public struct PrivilegedInstructionEmulator: ExitHandler {
    public init() {}

    static let misa: UInt32 = 1 << 30 | 1 << 0 | 1 << 8 | 1 << 12 | 1 << 18 | 1 << 20  // RV32 A I M S U
    static let delegableExceptions: UInt32 = 0xB3FF
    static let machineWritableStatus: UInt32 = StatusBits.sie | StatusBits.mie | StatusBits.spie | StatusBits.mpie
        | StatusBits.spp | StatusBits.mpp | StatusBits.mprv | StatusBits.sum | StatusBits.mxr
        | StatusBits.tvm | StatusBits.tw | StatusBits.tsr
    static let supervisorVisibleStatus: UInt32 = StatusBits.sie | StatusBits.spie | StatusBits.spp | StatusBits.sum | StatusBits.mxr

    // MARK: ExitHandler

    public mutating func emulatePrivileged(_ word: UInt32, vcpu: inout VirtualCPU) -> EmulationOutcome {
        let illegal = EmulationOutcome.exception(cause: ExceptionCode.illegalInstruction, value: word)
        let privilege = vcpu.privilege
        let funct3 = word >> 12 & 7
        if funct3 != 0 {
            guard funct3 != 4, executeCSRInstruction(word, vcpu: &vcpu) else { return illegal }
            vcpu.pc &+= 4
            return .completed
        }
        switch word {
        case 0x3020_0073:  // MRET
            guard privilege == .machine else { return illegal }
            var status = vcpu.csrs.mstatus
            let previous = PrivilegeLevel(rawValue: UInt8(status >> StatusBits.mppShift & 3)) ?? .user
            status = status & ~StatusBits.mie | (status & StatusBits.mpie != 0 ? StatusBits.mie : 0)
            status |= StatusBits.mpie
            status &= ~StatusBits.mpp
            if previous != .machine { status &= ~StatusBits.mprv }
            vcpu.csrs.mstatus = status
            vcpu.privilege = previous
            vcpu.pc = vcpu.csrs.mepc
            return .completed
        case 0x1020_0073:  // SRET
            guard privilege >= .supervisor,
                  !(privilege == .supervisor && vcpu.csrs.mstatus & StatusBits.tsr != 0) else { return illegal }
            var status = vcpu.csrs.mstatus
            let previous: PrivilegeLevel = status & StatusBits.spp != 0 ? .supervisor : .user
            status = status & ~StatusBits.sie | (status & StatusBits.spie != 0 ? StatusBits.sie : 0)
            status |= StatusBits.spie
            status &= ~StatusBits.spp
            status &= ~StatusBits.mprv
            vcpu.csrs.mstatus = status
            vcpu.privilege = previous
            vcpu.pc = vcpu.csrs.sepc
            return .completed
        case 0x1050_0073:  // WFI: illegal in U, and in S when TW is set
            guard privilege == .machine || (privilege == .supervisor && vcpu.csrs.mstatus & StatusBits.tw == 0) else {
                return illegal
            }
            vcpu.pc &+= 4
            return .waitForInterrupt
        default:
            guard word >> 25 == 0b000_1001 && word >> 7 & 31 == 0 else { return illegal }  // SFENCE.VMA
            guard privilege == .machine || (privilege == .supervisor && vcpu.csrs.mstatus & StatusBits.tvm == 0) else {
                return illegal
            }
            vcpu.pc &+= 4
            return .fenced
        }
    }

    public mutating func deliverTrap(cause: UInt32, value: UInt32, vcpu: inout VirtualCPU) {
        let from = vcpu.privilege
        let isInterrupt = cause & 0x8000_0000 != 0
        let code = cause & 0x1F
        let delegation = isInterrupt ? vcpu.csrs.mideleg : vcpu.csrs.medeleg
        let toSupervisor = from != .machine && (delegation >> code) & 1 != 0
        var status = vcpu.csrs.mstatus
        let vector: UInt32
        if toSupervisor {
            vcpu.csrs.scause = cause
            vcpu.csrs.sepc = vcpu.pc
            vcpu.csrs.stval = value
            status = status & ~(StatusBits.spie | StatusBits.spp)
                | (status & StatusBits.sie != 0 ? StatusBits.spie : 0)
                | (from == .supervisor ? StatusBits.spp : 0)
            status &= ~StatusBits.sie
            vcpu.privilege = .supervisor
            vector = vcpu.csrs.stvec
        } else {
            vcpu.csrs.mcause = cause
            vcpu.csrs.mepc = vcpu.pc
            vcpu.csrs.mtval = value
            status = status & ~(StatusBits.mpie | StatusBits.mpp)
                | (status & StatusBits.mie != 0 ? StatusBits.mpie : 0)
                | UInt32(from.rawValue) << StatusBits.mppShift
            status &= ~StatusBits.mie
            vcpu.privilege = .machine
            vector = vcpu.csrs.mtvec
        }
        vcpu.csrs.mstatus = status
        var target = vector & ~3
        if vector & 1 != 0 && isInterrupt { target &+= 4 * code }
        vcpu.pc = target
    }

    public func interruptToInject(_ vcpu: VirtualCPU) -> UInt32? {
        let pending = vcpu.pendingInterrupts & vcpu.csrs.mie
        guard pending != 0 else { return nil }
        let status = vcpu.csrs.mstatus
        let machineEnabled = vcpu.privilege < .machine || status & StatusBits.mie != 0
        let supervisorEnabled = vcpu.privilege < .supervisor || (vcpu.privilege == .supervisor && status & StatusBits.sie != 0)
        var candidates: UInt32 = 0
        let machineLevel = pending & ~vcpu.csrs.mideleg
        if machineEnabled && machineLevel != 0 {
            candidates = machineLevel
        } else if supervisorEnabled {
            candidates = pending & vcpu.csrs.mideleg
        }
        for code in InterruptBits.priorityOrder where candidates >> code & 1 != 0 { return 0x8000_0000 | code }
        return nil
    }

    // MARK: CSRs

    /// CSRRW/CSRRS/CSRRC and the immediate forms; false for an access the virtual privilege may not make.
    func executeCSRInstruction(_ word: UInt32, vcpu: inout VirtualCPU) -> Bool {
        let number = UInt16(word >> 20)
        let funct3 = word >> 12 & 7
        let rd = Int(word >> 7 & 31)
        let source = word >> 15 & 31
        let operand = funct3 >= 5 ? source : vcpu.register(Int(source))
        let isSwap = funct3 & 3 == 1
        let writes = isSwap || source != 0
        guard accessAllowed(number, writing: writes, vcpu: vcpu) else { return false }
        let old = (isSwap && rd == 0) ? 0 : (read(number, vcpu: vcpu) ?? 0)
        if writes {
            let new: UInt32
            switch funct3 & 3 {
            case 1: new = operand
            case 2: new = old | operand
            default: new = old & ~operand
            }
            write(number, new, vcpu: &vcpu)
        }
        vcpu.setRegister(rd, old)
        return true
    }

    /// Privilege level in bits 9:8, read-only CSRs (bits 11:10 = 3), counter enables, and TVM for satp.
    func accessAllowed(_ number: UInt16, writing: Bool, vcpu: VirtualCPU) -> Bool {
        let privilege = vcpu.privilege
        guard privilege.rawValue >= UInt8(number >> 8 & 3) else { return false }
        if writing && number >> 10 == 3 { return false }
        if number == CSR.satp && privilege == .supervisor && vcpu.csrs.mstatus & StatusBits.tvm != 0 { return false }
        if (0xC00...0xC1F).contains(number) || (0xC80...0xC9F).contains(number) {
            let bit = UInt32(1) << UInt32(number & 0x1F)
            if privilege < .machine && vcpu.csrs.mcounteren & bit == 0 { return false }
            if privilege == .user && vcpu.csrs.scounteren & bit == 0 { return false }
        }
        return read(number, vcpu: vcpu) != nil
    }

    /// A CSR as the virtual M-mode reads it; nil if the hart has no such CSR.
    public func read(_ number: UInt16, vcpu: VirtualCPU) -> UInt32? {
        let c = vcpu.csrs
        let cycles = vcpu.retired &+ c.cycleOffset, instret = vcpu.retired &+ c.instretOffset
        switch number {
        case CSR.mstatus: return c.mstatus
        case CSR.sstatus: return c.mstatus & PrivilegedInstructionEmulator.supervisorVisibleStatus
        case CSR.mstatush: return 0
        case CSR.misa: return PrivilegedInstructionEmulator.misa
        case CSR.medeleg: return c.medeleg
        case CSR.mideleg: return c.mideleg
        case CSR.mie: return c.mie
        case CSR.sie: return c.mie & c.mideleg
        case CSR.mip: return vcpu.pendingInterrupts
        case CSR.sip: return vcpu.pendingInterrupts & c.mideleg
        case CSR.mtvec: return c.mtvec
        case CSR.stvec: return c.stvec
        case CSR.mepc: return c.mepc
        case CSR.sepc: return c.sepc
        case CSR.mcause: return c.mcause
        case CSR.scause: return c.scause
        case CSR.mtval: return c.mtval
        case CSR.stval: return c.stval
        case CSR.mscratch: return c.mscratch
        case CSR.sscratch: return c.sscratch
        case CSR.satp: return c.satp
        case CSR.mcounteren: return c.mcounteren
        case CSR.scounteren: return c.scounteren
        case CSR.menvcfg, CSR.menvcfgh, CSR.senvcfg, CSR.mcountinhibit: return 0
        case CSR.mvendorid, CSR.marchid, CSR.mimpid, CSR.mhartid, CSR.mconfigptr: return 0
        case CSR.mcycle, CSR.cycle: return UInt32(truncatingIfNeeded: cycles)
        case CSR.mcycleh, CSR.cycleh: return UInt32(truncatingIfNeeded: cycles >> 32)
        case CSR.minstret, CSR.instret: return UInt32(truncatingIfNeeded: instret)
        case CSR.minstreth, CSR.instreth: return UInt32(truncatingIfNeeded: instret >> 32)
        case CSR.time: return UInt32(truncatingIfNeeded: vcpu.mtime)
        case CSR.timeh: return UInt32(truncatingIfNeeded: vcpu.mtime >> 32)
        case 0x3A0...0x3AF, 0x3B0...0x3EF: return 0  // no PMP: the VMM's p2m is the protection
        case 0xB03...0xB1F, 0xB83...0xB9F, 0x323...0x33F, 0xC03...0xC1F, 0xC83...0xC9F: return 0
        default: return nil
        }
    }

    /// Writes a CSR as the virtual M-mode would, legalizing WARL fields.
    public func write(_ number: UInt16, _ value: UInt32, vcpu: inout VirtualCPU) {
        switch number {
        case CSR.mstatus: writeStatus(value, mask: PrivilegedInstructionEmulator.machineWritableStatus, vcpu: &vcpu)
        case CSR.sstatus: writeStatus(value, mask: PrivilegedInstructionEmulator.supervisorVisibleStatus, vcpu: &vcpu)
        case CSR.medeleg: vcpu.csrs.medeleg = value & PrivilegedInstructionEmulator.delegableExceptions
        case CSR.mideleg: vcpu.csrs.mideleg = value & InterruptBits.supervisorLevel
        case CSR.mie: vcpu.csrs.mie = value & InterruptBits.all
        case CSR.sie:
            let mask = vcpu.csrs.mideleg
            vcpu.csrs.mie = vcpu.csrs.mie & ~mask | value & mask
        case CSR.mip:
            let mask = InterruptBits.supervisorLevel
            vcpu.csrs.mip = vcpu.csrs.mip & ~mask | value & mask
        case CSR.sip:
            let mask = InterruptBits.supervisorSoftware & vcpu.csrs.mideleg
            vcpu.csrs.mip = vcpu.csrs.mip & ~mask | value & mask
        case CSR.mtvec: vcpu.csrs.mtvec = value & ~2
        case CSR.stvec: vcpu.csrs.stvec = value & ~2
        case CSR.mepc: vcpu.csrs.mepc = value & ~3
        case CSR.sepc: vcpu.csrs.sepc = value & ~3
        case CSR.mcause: vcpu.csrs.mcause = value
        case CSR.scause: vcpu.csrs.scause = value
        case CSR.mtval: vcpu.csrs.mtval = value
        case CSR.stval: vcpu.csrs.stval = value
        case CSR.mscratch: vcpu.csrs.mscratch = value
        case CSR.sscratch: vcpu.csrs.sscratch = value
        case CSR.satp: vcpu.csrs.satp = value
        case CSR.mcounteren: vcpu.csrs.mcounteren = value
        case CSR.scounteren: vcpu.csrs.scounteren = value
        // A counter write replaces the writing instruction's own increment (Zicsr): the next
        // instruction reads exactly the value written, hence `retired + 1`.
        case CSR.mcycle:
            let cycles = vcpu.retired &+ vcpu.csrs.cycleOffset
            vcpu.csrs.cycleOffset = (cycles & 0xFFFF_FFFF_0000_0000 | UInt64(value)) &- (vcpu.retired &+ 1)
        case CSR.mcycleh:
            let cycles = vcpu.retired &+ vcpu.csrs.cycleOffset
            vcpu.csrs.cycleOffset = (cycles & 0xFFFF_FFFF | UInt64(value) << 32) &- (vcpu.retired &+ 1)
        case CSR.minstret:
            let instret = vcpu.retired &+ vcpu.csrs.instretOffset
            vcpu.csrs.instretOffset = (instret & 0xFFFF_FFFF_0000_0000 | UInt64(value)) &- (vcpu.retired &+ 1)
        case CSR.minstreth:
            let instret = vcpu.retired &+ vcpu.csrs.instretOffset
            vcpu.csrs.instretOffset = (instret & 0xFFFF_FFFF | UInt64(value) << 32) &- (vcpu.retired &+ 1)
        default: break  // read-only or hardwired zero: ignored
        }
    }

    private func writeStatus(_ value: UInt32, mask: UInt32, vcpu: inout VirtualCPU) {
        let old = vcpu.csrs.mstatus
        var new = old & ~mask | value & mask
        if new & StatusBits.mpp == 2 << StatusBits.mppShift { new = new & ~StatusBits.mpp | old & StatusBits.mpp }
        vcpu.csrs.mstatus = new
    }
}
