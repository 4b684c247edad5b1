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
        throw NotImplemented(lab: "03", "TrapAndEmulateHandler.emulate(_:vcpu:): dispatch CSR instructions, MRET, SRET, WFI and SFENCE.VMA")
    }

    // MARK: Task 2: CSR instructions

    /// CSRRW, CSRRS, CSRRC and their immediate forms (funct3 1-3, 5-7). Returns false, having
    /// changed nothing, for an access the virtual privilege may not make (the caller raises the
    /// illegal-instruction exception). Remember: CSRRW with rd = x0 does not read the CSR, and
    /// CSRRS/CSRRC with rs1 = x0 (or uimm = 0) do not write it.
    func executeCSRInstruction(_ word: UInt32, vcpu: inout VirtualCPU) throws -> Bool {
        throw NotImplemented(lab: "03", "TrapAndEmulateHandler.executeCSRInstruction(_:vcpu:): CSRRW/CSRRS/CSRRC and the immediate forms")
    }

    /// May the guest, at its virtual privilege, access CSR `number` (and write it, if `writing`)?
    /// The CSR number says it all (privileged spec 2.1): bits 9:8 are the lowest privilege that
    /// may access it, bits 11:10 = 3 mean read-only. Then: satp is illegal from S when mstatus.TVM
    /// is set; the counters need their bit in mcounteren (below M) and scounteren (in U); and a CSR
    /// the hart does not have is illegal.
    func accessAllowed(_ number: UInt16, writing: Bool, vcpu: VirtualCPU) throws -> Bool {
        throw NotImplemented(lab: "03", "TrapAndEmulateHandler.accessAllowed(_:writing:vcpu:): which CSRs the virtual privilege may access")
    }

    /// The value of CSR `number` as the hart reads it (ignoring privilege checks), or nil if the
    /// hart has no such CSR. The S-mode CSRs are views of the M-mode ones: sstatus is part of
    /// mstatus, sie/sip are mie/mip masked by mideleg. mip comes from `vcpu.pendingInterrupts`
    /// (the timer drives MTIP). The counters are `vcpu.retired` plus the offsets in `vcpu.csrs`;
    /// `time` is `vcpu.mtime`. PMP CSRs and the hardware-performance counters read 0.
    func readCSR(_ number: UInt16, vcpu: VirtualCPU) throws -> UInt32? {
        throw NotImplemented(lab: "03", "TrapAndEmulateHandler.readCSR(_:vcpu:): the value of each virtual CSR")
    }

    /// Writes CSR `number` as the hart does, keeping only the fields it implements (WARL): see
    /// the constants above for mstatus/sstatus, medeleg and misa (read-only here); mideleg holds
    /// only the S-level interrupts; mie any interrupt bit; software may write only SSIP, STIP and
    /// SEIP in mip (and only SSIP, if delegated, through sip); xtvec keeps modes 0 and 1; xepc
    /// is 4-byte aligned; an MPP of 2 (reserved) leaves MPP unchanged. A write to minstret/mcycle
    /// (or their high halves) sets the counter so that the *next* instruction reads exactly the
    /// value written. Writes to read-only or hardwired CSRs are ignored.
    func writeCSR(_ number: UInt16, _ value: UInt32, vcpu: inout VirtualCPU) throws {
        throw NotImplemented(lab: "03", "TrapAndEmulateHandler.writeCSR(_:_:vcpu:): writing each virtual CSR, legalizing its fields")
    }


    // MARK: Task 3: returning from traps

    /// MRET (privileged spec 3.3.2): privilege := MPP, MIE := MPIE, MPIE := 1, MPP := U, MPRV := 0
    /// if the new privilege is not M, pc := mepc.
    func returnFromMachineMode(vcpu: inout VirtualCPU) throws {
        throw NotImplemented(lab: "03", "TrapAndEmulateHandler.returnFromMachineMode(vcpu:): MRET")
    }

    /// SRET: privilege := S if SPP else U, SIE := SPIE, SPIE := 1, SPP := 0, MPRV := 0 (the new
    /// privilege is never M), pc := sepc.
    func returnFromSupervisorMode(vcpu: inout VirtualCPU) throws {
        throw NotImplemented(lab: "03", "TrapAndEmulateHandler.returnFromSupervisorMode(vcpu:): SRET")
    }

    // MARK: Task 4: virtual trap delivery

    /// Makes the guest take a trap (privileged spec 3.1.6.1, 3.1.7-9, 4.1.1). Bit 31 of `cause`
    /// says interrupt. A trap from U or S whose bit is set in medeleg (exceptions) or mideleg
    /// (interrupts) goes to S-mode, anything else to M-mode (a trap never goes to a lower
    /// privilege). Save pc in xepc, cause and value in xcause/xtval, stack the interrupt enable
    /// (xPIE := xIE, xIE := 0) and the previous privilege (SPP or MPP), switch privilege, and jump
    /// to xtvec (in vectored mode, interrupts go to base + 4 * code).
    func takeTrap(cause: UInt32, value: UInt32, vcpu: inout VirtualCPU) throws {
        throw NotImplemented(lab: "03", "TrapAndEmulateHandler.takeTrap(cause:value:vcpu:): delivering a trap to the guest")
    }

    // MARK: Task 5: virtual interrupt injection

    /// The interrupt the guest takes now, as an mcause value (bit 31 set), or nil. An interrupt
    /// is a candidate when it is pending (`vcpu.pendingInterrupts`) and enabled in mie. One not
    /// delegated (mideleg) goes to M: taken if the guest is below M, or in M with mstatus.MIE.
    /// A delegated one goes to S: taken if the guest is in U, or in S with mstatus.SIE (never
    /// while in M). M-level interrupts win; among several, the order is MEI, MSI, MTI, SEI, SSI,
    /// STI (`InterruptBits.priorityOrder`).
    func pendingInterrupt(_ vcpu: VirtualCPU) throws -> UInt32? {
        throw NotImplemented(lab: "03", "TrapAndEmulateHandler.pendingInterrupt(_:): which virtual interrupt to inject")
    }
}
