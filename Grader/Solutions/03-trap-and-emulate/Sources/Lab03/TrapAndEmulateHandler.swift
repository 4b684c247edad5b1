import HypervisorCore
import Machine
import RISCV

/// Lab 03: the exit handler of a trap-and-emulate VMM.
///
/// The VMM core (HypervisorCore's `VirtualMachine`) runs the guest kernel in U-mode of the real
/// hart. Whenever the guest executes a SYSTEM instruction that needs more privilege than U-mode
/// (a CSR access, MRET, SRET, WFI, SFENCE.VMA), the hart raises an illegal-instruction exception,
/// the core catches it (an *exit*) and calls `emulatePrivileged` with the instruction word. Your
/// job is to do what the real hart would have done at the guest's *virtual* privilege level, to
/// the guest's *virtual* CPU (`VirtualCPU`: its registers, pc, virtual privilege and the plain CSR
/// storage `vcpu.csrs`). The core does everything else: shadow page tables, device emulation,
/// virtual time, counting exits.
///
/// The core also calls `deliverTrap` whenever the guest must take a trap (an exception the guest
/// caused, or an interrupt from `interruptToInject`), because the guest's trap vector, cause and
/// status registers exist only in `vcpu.csrs`: the real hart knows nothing of them.
///
/// The specification you are implementing is the RISC-V privileged architecture (v1.12), chapters
/// 3 (M-mode) and 4 (S-mode), for RV32 with M, S and U modes and no PMP. The bare `Machine` is the
/// oracle: the tests run each guest on it and under your handler, and compare.
public struct TrapAndEmulateHandler: ExitHandler {
    /// The TODOs this handler reached (the tests print them).
    public let unfinished = UnfinishedWork()

    public init() {}

    // MARK: The ExitHandler protocol (already written: it calls your functions below)

    public mutating func emulatePrivileged(_ word: UInt32, vcpu: inout VirtualCPU) -> EmulationOutcome {
        do {
            return try emulate(word, vcpu: &vcpu)
        } catch {
            unfinished.record(error)
            return .exception(cause: ExceptionCode.illegalInstruction, value: word)
        }
    }

    public mutating func deliverTrap(cause: UInt32, value: UInt32, vcpu: inout VirtualCPU) {
        do {
            try takeTrap(cause: cause, value: value, vcpu: &vcpu)
        } catch {
            unfinished.record(error)
        }
    }

    public func interruptToInject(_ vcpu: VirtualCPU) -> UInt32? {
        do {
            return try pendingInterrupt(vcpu)
        } catch {
            unfinished.record(error)
            return nil
        }
    }

    // MARK: Constants of the virtual hart (the same as the bare machine's)

    /// misa: RV32 with A, I, M, S, U.
    static let misa: UInt32 = 1 << 30 | 1 << 0 | 1 << 8 | 1 << 12 | 1 << 18 | 1 << 20
    /// medeleg bits that can be set: every exception except ECALL from M (11) and the reserved 10, 14.
    static let delegableExceptions: UInt32 = 0xB3FF
    /// The mstatus fields this hart implements (no F/V/X state, MBE/SBE/UBE fixed little-endian).
    static let machineWritableStatus: UInt32 = StatusBits.sie | StatusBits.mie | StatusBits.spie | StatusBits.mpie
        | StatusBits.spp | StatusBits.mpp | StatusBits.mprv | StatusBits.sum | StatusBits.mxr
        | StatusBits.tvm | StatusBits.tw | StatusBits.tsr
    /// The part of mstatus that S-mode sees as sstatus.
    static let supervisorVisibleStatus: UInt32 = StatusBits.sie | StatusBits.spie | StatusBits.spp | StatusBits.sum | StatusBits.mxr

    static let mret: UInt32 = 0x3020_0073
    static let sret: UInt32 = 0x1020_0073
    static let wfi: UInt32 = 0x1050_0073

    // MARK: Task 1: dispatch a trapped SYSTEM instruction

    /// Emulates the SYSTEM instruction `word` at `vcpu.pc`. Return `.completed` after moving
    /// `vcpu.pc` on (the core counts the retirement), `.fenced` for SFENCE.VMA, `.waitForInterrupt`
    /// for WFI, or `.exception(cause: 2, value: word)` where the hardware would raise an
    /// illegal-instruction exception at the guest's virtual privilege (then change nothing).
    func emulate(_ word: UInt32, vcpu: inout VirtualCPU) throws -> EmulationOutcome {
        // BEGIN SOLUTION
        // STUB: throw NotImplemented(lab: "03", "TrapAndEmulateHandler.emulate(_:vcpu:): dispatch CSR instructions, MRET, SRET, WFI and SFENCE.VMA")
        let illegal = EmulationOutcome.exception(cause: ExceptionCode.illegalInstruction, value: word)
        let privilege = vcpu.privilege
        let funct3 = word >> 12 & 7
        if funct3 != 0 {
            guard funct3 != 4, try executeCSRInstruction(word, vcpu: &vcpu) else { return illegal }
            vcpu.pc &+= 4
            return .completed
        }
        switch word {
        case Self.mret:
            guard privilege == .machine else { return illegal }
            try returnFromMachineMode(vcpu: &vcpu)
            return .completed
        case Self.sret:
            // SRET is legal in M and S, except in S when mstatus.TSR traps it.
            guard privilege >= .supervisor,
                  !(privilege == .supervisor && vcpu.csrs.mstatus & StatusBits.tsr != 0) else { return illegal }
            try returnFromSupervisorMode(vcpu: &vcpu)
            return .completed
        case Self.wfi:
            // Illegal in U; in S only when mstatus.TW is set.
            guard privilege == .machine || (privilege == .supervisor && vcpu.csrs.mstatus & StatusBits.tw == 0) else {
                return illegal
            }
            vcpu.pc &+= 4
            return .waitForInterrupt
        default:
            // SFENCE.VMA: funct7 0001001, rd 0 (rs1/rs2 name the address and ASID; we flush all).
            guard word >> 25 == 0b000_1001 && word >> 7 & 31 == 0 else { return illegal }
            guard privilege == .machine || (privilege == .supervisor && vcpu.csrs.mstatus & StatusBits.tvm == 0) else {
                return illegal
            }
            vcpu.pc &+= 4
            return .fenced
        }
        // END SOLUTION
    }

    // MARK: Task 2: CSR instructions

    /// CSRRW, CSRRS, CSRRC and their immediate forms (funct3 1-3, 5-7). Returns false, having
    /// changed nothing, for an access the virtual privilege may not make (the caller raises the
    /// illegal-instruction exception). Remember: CSRRW with rd = x0 does not read the CSR, and
    /// CSRRS/CSRRC with rs1 = x0 (or uimm = 0) do not write it.
    func executeCSRInstruction(_ word: UInt32, vcpu: inout VirtualCPU) throws -> Bool {
        // BEGIN SOLUTION
        // STUB: throw NotImplemented(lab: "03", "TrapAndEmulateHandler.executeCSRInstruction(_:vcpu:): CSRRW/CSRRS/CSRRC and the immediate forms")
        let number = UInt16(word >> 20)
        let funct3 = word >> 12 & 7
        let rd = Int(word >> 7 & 31)
        let source = word >> 15 & 31
        let operand = funct3 >= 5 ? source : vcpu.register(Int(source))
        let isSwap = funct3 & 3 == 1
        let writes = isSwap || source != 0
        guard try accessAllowed(number, writing: writes, vcpu: vcpu) else { return false }
        let old = (isSwap && rd == 0) ? 0 : (try readCSR(number, vcpu: vcpu) ?? 0)
        if writes {
            let new: UInt32
            switch funct3 & 3 {
            case 1: new = operand
            case 2: new = old | operand
            default: new = old & ~operand
            }
            try writeCSR(number, new, vcpu: &vcpu)
        }
        vcpu.setRegister(rd, old)
        return true
        // END SOLUTION
    }

    /// May the guest, at its virtual privilege, access CSR `number` (and write it, if `writing`)?
    /// The CSR number says it all (privileged spec 2.1): bits 9:8 are the lowest privilege that
    /// may access it, bits 11:10 = 3 mean read-only. Then: satp is illegal from S when mstatus.TVM
    /// is set; the counters need their bit in mcounteren (below M) and scounteren (in U); and a CSR
    /// the hart does not have is illegal.
    func accessAllowed(_ number: UInt16, writing: Bool, vcpu: VirtualCPU) throws -> Bool {
        // BEGIN SOLUTION
        // STUB: throw NotImplemented(lab: "03", "TrapAndEmulateHandler.accessAllowed(_:writing:vcpu:): which CSRs the virtual privilege may access")
        let privilege = vcpu.privilege
        guard privilege.rawValue >= UInt8(number >> 8 & 3) else { return false }
        if writing && number >> 10 == 3 { return false }
        if number == CSR.satp && privilege == .supervisor && vcpu.csrs.mstatus & StatusBits.tvm != 0 { return false }
        if (0xC00...0xC1F).contains(number) || (0xC80...0xC9F).contains(number) {
            let bit = UInt32(1) << UInt32(number & 0x1F)
            if privilege < .machine && vcpu.csrs.mcounteren & bit == 0 { return false }
            if privilege == .user && vcpu.csrs.scounteren & bit == 0 { return false }
        }
        return try readCSR(number, vcpu: vcpu) != nil
        // END SOLUTION
    }

    /// The value of CSR `number` as the hart reads it (ignoring privilege checks), or nil if the
    /// hart has no such CSR. The S-mode CSRs are views of the M-mode ones: sstatus is part of
    /// mstatus, sie/sip are mie/mip masked by mideleg. mip comes from `vcpu.pendingInterrupts`
    /// (the timer drives MTIP). The counters are `vcpu.retired` plus the offsets in `vcpu.csrs`;
    /// `time` is `vcpu.mtime`. PMP CSRs and the hardware-performance counters read 0.
    func readCSR(_ number: UInt16, vcpu: VirtualCPU) throws -> UInt32? {
        // BEGIN SOLUTION
        // STUB: throw NotImplemented(lab: "03", "TrapAndEmulateHandler.readCSR(_:vcpu:): the value of each virtual CSR")
        let c = vcpu.csrs
        let cycles = vcpu.retired &+ c.cycleOffset, instret = vcpu.retired &+ c.instretOffset
        switch number {
        case CSR.mstatus: return c.mstatus
        case CSR.sstatus: return c.mstatus & Self.supervisorVisibleStatus
        case CSR.mstatush: return 0
        case CSR.misa: return Self.misa
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
        // END SOLUTION
    }

    /// Writes CSR `number` as the hart does, keeping only the fields it implements (WARL): see
    /// the constants above for mstatus/sstatus, medeleg and misa (read-only here); mideleg holds
    /// only the S-level interrupts; mie any interrupt bit; software may write only SSIP, STIP and
    /// SEIP in mip (and only SSIP, if delegated, through sip); xtvec keeps modes 0 and 1; xepc
    /// is 4-byte aligned; an MPP of 2 (reserved) leaves MPP unchanged. A write to minstret/mcycle
    /// (or their high halves) sets the counter so that the *next* instruction reads exactly the
    /// value written. Writes to read-only or hardwired CSRs are ignored.
    func writeCSR(_ number: UInt16, _ value: UInt32, vcpu: inout VirtualCPU) throws {
        // BEGIN SOLUTION
        // STUB: throw NotImplemented(lab: "03", "TrapAndEmulateHandler.writeCSR(_:_:vcpu:): writing each virtual CSR, legalizing its fields")
        switch number {
        case CSR.mstatus: writeStatus(value, mask: Self.machineWritableStatus, vcpu: &vcpu)
        case CSR.sstatus: writeStatus(value, mask: Self.supervisorVisibleStatus, vcpu: &vcpu)
        case CSR.medeleg: vcpu.csrs.medeleg = value & Self.delegableExceptions
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
        // The writing instruction's own retirement must not count: the next instruction reads
        // exactly the value written, hence `retired + 1`.
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
        // END SOLUTION
    }

    // BEGIN SOLUTION
    private func writeStatus(_ value: UInt32, mask: UInt32, vcpu: inout VirtualCPU) {
        let old = vcpu.csrs.mstatus
        var new = old & ~mask | value & mask
        if new & StatusBits.mpp == 2 << StatusBits.mppShift { new = new & ~StatusBits.mpp | old & StatusBits.mpp }
        vcpu.csrs.mstatus = new
    }
    // END SOLUTION

    // MARK: Task 3: returning from traps

    /// MRET (privileged spec 3.3.2): privilege := MPP, MIE := MPIE, MPIE := 1, MPP := U, MPRV := 0
    /// if the new privilege is not M, pc := mepc.
    func returnFromMachineMode(vcpu: inout VirtualCPU) throws {
        // BEGIN SOLUTION
        // STUB: throw NotImplemented(lab: "03", "TrapAndEmulateHandler.returnFromMachineMode(vcpu:): MRET")
        var status = vcpu.csrs.mstatus
        let previous = PrivilegeLevel(rawValue: UInt8(status >> StatusBits.mppShift & 3)) ?? .user
        status = status & ~StatusBits.mie | (status & StatusBits.mpie != 0 ? StatusBits.mie : 0)
        status |= StatusBits.mpie
        status &= ~StatusBits.mpp
        if previous != .machine { status &= ~StatusBits.mprv }
        vcpu.csrs.mstatus = status
        vcpu.privilege = previous
        vcpu.pc = vcpu.csrs.mepc
        // END SOLUTION
    }

    /// SRET: privilege := S if SPP else U, SIE := SPIE, SPIE := 1, SPP := 0, MPRV := 0 (the new
    /// privilege is never M), pc := sepc.
    func returnFromSupervisorMode(vcpu: inout VirtualCPU) throws {
        // BEGIN SOLUTION
        // STUB: throw NotImplemented(lab: "03", "TrapAndEmulateHandler.returnFromSupervisorMode(vcpu:): SRET")
        var status = vcpu.csrs.mstatus
        let previous: PrivilegeLevel = status & StatusBits.spp != 0 ? .supervisor : .user
        status = status & ~StatusBits.sie | (status & StatusBits.spie != 0 ? StatusBits.sie : 0)
        status |= StatusBits.spie
        status &= ~StatusBits.spp
        status &= ~StatusBits.mprv
        vcpu.csrs.mstatus = status
        vcpu.privilege = previous
        vcpu.pc = vcpu.csrs.sepc
        // END SOLUTION
    }

    // MARK: Task 4: virtual trap delivery

    /// Makes the guest take a trap (privileged spec 3.1.6.1, 3.1.7-9, 4.1.1). Bit 31 of `cause`
    /// says interrupt. A trap from U or S whose bit is set in medeleg (exceptions) or mideleg
    /// (interrupts) goes to S-mode, anything else to M-mode (a trap never goes to a lower
    /// privilege). Save pc in xepc, cause and value in xcause/xtval, stack the interrupt enable
    /// (xPIE := xIE, xIE := 0) and the previous privilege (SPP or MPP), switch privilege, and jump
    /// to xtvec (in vectored mode, interrupts go to base + 4 * code).
    func takeTrap(cause: UInt32, value: UInt32, vcpu: inout VirtualCPU) throws {
        // BEGIN SOLUTION
        // STUB: throw NotImplemented(lab: "03", "TrapAndEmulateHandler.takeTrap(cause:value:vcpu:): delivering a trap to the guest")
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
        // END SOLUTION
    }

    // MARK: Task 5: virtual interrupt injection

    /// The interrupt the guest takes now, as an mcause value (bit 31 set), or nil. An interrupt
    /// is a candidate when it is pending (`vcpu.pendingInterrupts`) and enabled in mie. One not
    /// delegated (mideleg) goes to M: taken if the guest is below M, or in M with mstatus.MIE.
    /// A delegated one goes to S: taken if the guest is in U, or in S with mstatus.SIE (never
    /// while in M). M-level interrupts win; among several, the order is MEI, MSI, MTI, SEI, SSI,
    /// STI (`InterruptBits.priorityOrder`).
    func pendingInterrupt(_ vcpu: VirtualCPU) throws -> UInt32? {
        // BEGIN SOLUTION
        // STUB: throw NotImplemented(lab: "03", "TrapAndEmulateHandler.pendingInterrupt(_:): which virtual interrupt to inject")
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
        // END SOLUTION
    }
}
