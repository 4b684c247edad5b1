import Testing
import RISCV
@testable import Machine

/// Exceptions, CSRs, xRET, delegation and interrupts (privileged architecture v1.12).
@Suite struct PrivilegedTests {
    let mstatusMIE: UInt32 = 1 << 3, mstatusSIE: UInt32 = 1 << 1
    let mstatusMPIE: UInt32 = 1 << 7, mstatusSPIE: UInt32 = 1 << 5, mstatusSPP: UInt32 = 1 << 8
    let mstatusMPRV: UInt32 = 1 << 17, mstatusTVM: UInt32 = 1 << 20, mstatusTW: UInt32 = 1 << 21, mstatusTSR: UInt32 = 1 << 22

    // MARK: Exceptions

    @Test(arguments: [(PrivilegeLevel.user, Cause.ecallU), (.supervisor, Cause.ecallS), (.machine, Cause.ecallM)])
    func environmentCallCauseNamesTheCallingMode(_ privilege: PrivilegeLevel, _ cause: UInt32) throws {
        let machine = try makeMachine()
        machine.writeCSR(CSR.mstatus, mstatusMIE)
        machine.privilege = privilege
        try machine.run([nop, ecall], steps: 2)
        #expect(machine.readCSR(CSR.mcause) == cause)
        #expect(machine.readCSR(CSR.mepc) == ramBase + 4)
        #expect(machine.readCSR(CSR.mtval) == 0)
        #expect(machine.privilege == .machine)
        let status = machine.readCSR(CSR.mstatus)
        #expect((status >> 11) & 3 == UInt32(privilege.rawValue), "MPP holds the previous mode")
        #expect(status & mstatusMPIE != 0 && status & mstatusMIE == 0, "MIE is stacked into MPIE and cleared")
        #expect(machine.pc == handlerAddress)
    }

    @Test func breakpointReportsItsAddress() throws {
        let machine = try makeMachine()
        try machine.run([nop, nop, Instruction(.ebreak)])
        #expect(machine.readCSR(CSR.mcause) == Cause.breakpoint)
        #expect(machine.readCSR(CSR.mepc) == ramBase + 8)
        #expect(machine.readCSR(CSR.mtval) == ramBase + 8)
    }

    @Test func fetchFromNoDeviceIsAnInstructionAccessFault() throws {
        let machine = try makeMachine()
        machine.setRegister(x(1), 0x4000_0000)
        try machine.run([Instruction(.jalr, rd: x(2), rs1: x(1))], steps: 2)
        #expect(machine.readCSR(CSR.mcause) == Cause.fetchAccess)
        #expect(machine.readCSR(CSR.mepc) == 0x4000_0000)
        #expect(machine.readCSR(CSR.mtval) == 0x4000_0000)
        #expect(machine.register(x(2)) == ramBase + 4, "the jump itself completed")
    }

    @Test func retiredCountExcludesTrappingInstructions() throws {
        let machine = try makeMachine()
        try machine.run([nop, ecall], steps: 2)
        // nop retired, ecall did not, the handler's `j .` retired once.
        #expect(machine.retiredInstructions == 2)
        #expect(machine.pc == handlerAddress)
    }

    @Test func vectoredModeSendsExceptionsToBase() throws {
        let machine = try makeMachine()
        machine.writeCSR(CSR.mtvec, handlerAddress | 1)
        #expect(machine.readCSR(CSR.mtvec) == handlerAddress | 1)
        try machine.run([ecall])
        #expect(machine.pc == handlerAddress)
    }

    // MARK: CSR access rules

    struct CSRAccessCase: Sendable, CustomTestStringConvertible {
        var name: String
        var privilege: PrivilegeLevel
        var instruction: Instruction
        var mcounteren: UInt32 = 0
        var scounteren: UInt32 = 0
        var mstatus: UInt32 = 0
        var legal: Bool
        var testDescription: String { name }
    }

    static let accessCases: [CSRAccessCase] = [
        .init(name: "U reads mstatus", privilege: .user, instruction: csrr(x(5), CSR.mstatus), legal: false),
        .init(name: "U reads sstatus", privilege: .user, instruction: csrr(x(5), CSR.sstatus), legal: false),
        .init(name: "S reads sstatus", privilege: .supervisor, instruction: csrr(x(5), CSR.sstatus), legal: true),
        .init(name: "S writes mstatus", privilege: .supervisor, instruction: csrw(CSR.mstatus, x(6)), legal: false),
        .init(name: "S reads mscratch", privilege: .supervisor, instruction: csrr(x(5), CSR.mscratch), legal: false),
        .init(name: "M writes mvendorid (read-only)", privilege: .machine, instruction: csrw(CSR.mvendorid, x(6)), legal: false),
        .init(name: "M reads mvendorid", privilege: .machine, instruction: csrr(x(5), CSR.mvendorid), legal: true),
        .init(name: "M csrrs cycle with rs1=x0 (no write)", privilege: .machine, instruction: csrr(x(5), CSR.cycle), legal: true),
        .init(name: "M csrrw to cycle", privilege: .machine, instruction: csrw(CSR.cycle, x(6)), legal: false),
        .init(name: "M csrrsi cycle, 0 (no write)", privilege: .machine, instruction: Instruction(.csrrsi, rd: x(5), immediate: 0, csr: CSR.cycle), legal: true),
        .init(name: "M csrrsi cycle, 1", privilege: .machine, instruction: Instruction(.csrrsi, rd: x(5), immediate: 1, csr: CSR.cycle), legal: false),
        .init(name: "M reads nonexistent 0x7C0", privilege: .machine, instruction: csrr(x(5), 0x7C0), legal: false),
        .init(name: "M reads hypervisor hstatus 0x600", privilege: .machine, instruction: csrr(x(5), 0x600), legal: false),
        .init(name: "M reads fflags (no F)", privilege: .machine, instruction: csrr(x(5), 0x001), legal: false),
        .init(name: "S reads cycle, mcounteren.CY=0", privilege: .supervisor, instruction: csrr(x(5), CSR.cycle), legal: false),
        .init(name: "S reads cycle, mcounteren.CY=1", privilege: .supervisor, instruction: csrr(x(5), CSR.cycle), mcounteren: 1, legal: true),
        .init(name: "U reads time, mcounteren.TM=1 only", privilege: .user, instruction: csrr(x(5), CSR.time), mcounteren: 2, legal: false),
        .init(name: "U reads time, both TM", privilege: .user, instruction: csrr(x(5), CSR.time), mcounteren: 2, scounteren: 2, legal: true),
        .init(name: "U reads instreth, IR in both", privilege: .user, instruction: csrr(x(5), CSR.instreth), mcounteren: 4, scounteren: 4, legal: true),
        .init(name: "U reads instret, only CY", privilege: .user, instruction: csrr(x(5), CSR.instret), mcounteren: 1, scounteren: 1, legal: false),
        .init(name: "S reads hpmcounter3 with bit 3", privilege: .supervisor, instruction: csrr(x(5), 0xC03), mcounteren: 8, legal: true),
        .init(name: "S reads satp", privilege: .supervisor, instruction: csrr(x(5), CSR.satp), legal: true),
        .init(name: "S reads satp with TVM", privilege: .supervisor, instruction: csrr(x(5), CSR.satp), mstatus: 1 << 20, legal: false),
        .init(name: "M reads satp with TVM", privilege: .machine, instruction: csrr(x(5), CSR.satp), mstatus: 1 << 20, legal: true),
        .init(name: "M writes pmpaddr0", privilege: .machine, instruction: csrw(CSR.pmpaddr0, x(6)), legal: true),
        .init(name: "S writes menvcfg", privilege: .supervisor, instruction: csrw(CSR.menvcfg, x(6)), legal: false),
    ]

    @Test(arguments: accessCases)
    func csrAccessRules(_ c: CSRAccessCase) throws {
        let machine = try makeMachine()
        machine.writeCSR(CSR.mcounteren, c.mcounteren)
        machine.writeCSR(CSR.scounteren, c.scounteren)
        machine.writeCSR(CSR.mstatus, c.mstatus)
        machine.setRegister(x(5), 0x1234)
        machine.setRegister(x(6), 0xFFFF_FFFF)
        machine.privilege = c.privilege
        try machine.run([c.instruction])
        if c.legal {
            #expect(machine.pc == ramBase + 4)
            #expect(machine.readCSR(CSR.mcause) == 0)
        } else {
            #expect(machine.readCSR(CSR.mcause) == Cause.illegal)
            #expect(machine.readCSR(CSR.mtval) == (try c.instruction.encoded()))
            #expect(machine.register(x(5)) == 0x1234, "rd is not written")
        }
    }

    @Test func csrReadModifyWriteForms() throws {
        let machine = try makeMachine()
        machine.setRegister(x(1), 0xF0)
        machine.setRegister(x(2), 0x30)
        try machine.run([
            Instruction(.csrrw, rd: x(3), rs1: x(1), csr: CSR.mscratch),     // x3 = 0, mscratch = F0
            Instruction(.csrrs, rd: x(4), rs1: x(2), csr: CSR.mscratch),     // x4 = F0, mscratch = F0
            Instruction(.csrrc, rd: x(5), rs1: x(2), csr: CSR.mscratch),     // x5 = F0, mscratch = C0
            Instruction(.csrrwi, rd: x(6), immediate: 0x1F, csr: CSR.sscratch),
            Instruction(.csrrsi, rd: x(7), immediate: 0x0, csr: CSR.mscratch), // read only
            Instruction(.csrrci, rd: x(8), immediate: 0x3, csr: CSR.sscratch),
            Instruction(.csrrs, rd: x(9), rs1: .zero, csr: CSR.sscratch),
        ])
        #expect(machine.register(x(3)) == 0)
        #expect(machine.register(x(4)) == 0xF0)
        #expect(machine.register(x(5)) == 0xF0)
        #expect(machine.readCSR(CSR.mscratch) == 0xC0)
        #expect(machine.register(x(6)) == 0)
        #expect(machine.register(x(7)) == 0xC0)
        #expect(machine.register(x(8)) == 0x1F)
        #expect(machine.register(x(9)) == 0x1C)
    }

    @Test func warlFieldsAndViews() throws {
        let machine = try makeMachine()
        machine.writeCSR(CSR.mstatus, 0xFFFF_FFFF)
        let status = machine.readCSR(CSR.mstatus)
        // SIE MIE SPIE MPIE SPP MPP MPRV SUM MXR TVM TW TSR; no FS/VS/XS/SD/UBE.
        #expect(status == 0x007E_19AA)
        #expect(machine.readCSR(CSR.sstatus) == 0x000C_0122)
        machine.writeCSR(CSR.sstatus, 0)
        #expect(machine.readCSR(CSR.mstatus) == 0x0072_1888, "an sstatus write changes only S-level fields")
        // MPP = 2 is reserved: the old value stays.
        machine.writeCSR(CSR.mstatus, 1 << 11)
        machine.writeCSR(CSR.mstatus, 2 << 11)
        #expect((machine.readCSR(CSR.mstatus) >> 11) & 3 == 1)
        #expect(machine.readCSR(CSR.misa) == 0x4014_1101)
        machine.writeCSR(CSR.misa, 0)
        #expect(machine.readCSR(CSR.misa) == 0x4014_1101)
        machine.writeCSR(CSR.medeleg, 0xFFFF_FFFF)
        #expect(machine.readCSR(CSR.medeleg) == 0xB3FF)
        machine.writeCSR(CSR.mideleg, 0xFFFF_FFFF)
        #expect(machine.readCSR(CSR.mideleg) == 0x222)
        machine.writeCSR(CSR.mie, 0xFFFF_FFFF)
        #expect(machine.readCSR(CSR.mie) == 0xAAA)
        #expect(machine.readCSR(CSR.sie) == 0x222)
        machine.writeCSR(CSR.sie, 0)
        #expect(machine.readCSR(CSR.mie) == 0x888)
        machine.writeCSR(CSR.mip, 0xFFFF_FFFF)
        #expect(machine.readCSR(CSR.mip) == 0x222, "only SSIP, STIP, SEIP are software-writable")
        machine.writeCSR(CSR.sip, 0)
        #expect(machine.readCSR(CSR.mip) == 0x220, "sip writes only SSIP")
        machine.writeCSR(CSR.mepc, 0x8000_0007)
        #expect(machine.readCSR(CSR.mepc) == 0x8000_0004)
        machine.writeCSR(CSR.stvec, 0x8000_0103)
        #expect(machine.readCSR(CSR.stvec) == 0x8000_0101)
        for zero in [CSR.mvendorid, CSR.marchid, CSR.mimpid, CSR.mhartid, CSR.menvcfg, CSR.mstatush, CSR.pmpcfg0, CSR.pmpaddr0 + 5] {
            machine.writeCSR(zero, 0xFFFF_FFFF)
            #expect(machine.readCSR(zero) == 0)
        }
    }

    @Test func countersCountRetiredInstructionsAndWritesReplaceTheIncrement() throws {
        let machine = try makeMachine()
        machine.setRegister(x(1), 100)
        try machine.run([
            nop, nop,
            csrr(x(2), CSR.instret),               // 2 retired before it
            csrr(x(3), CSR.cycle),
            csrr(x(4), CSR.time),
            csrw(CSR.minstret, x(1)),
            csrr(x(5), CSR.minstret),              // reads exactly what was written
            csrr(x(6), CSR.instreth),
        ])
        #expect(machine.register(x(2)) == 2)
        #expect(machine.register(x(3)) == 3)
        #expect(machine.register(x(4)) == 4)
        #expect(machine.register(x(5)) == 100)
        #expect(machine.register(x(6)) == 0)
        #expect(machine.readCSR(CSR.minstret) == 102)
    }

    // MARK: MRET / SRET

    @Test(arguments: [PrivilegeLevel.user, .supervisor, .machine])
    func mretRestoresPrivilegeAndInterruptEnable(_ previous: PrivilegeLevel) throws {
        let machine = try makeMachine()
        machine.writeCSR(CSR.mstatus, mstatusMPIE | mstatusMPRV | UInt32(previous.rawValue) << 11)
        machine.writeCSR(CSR.mepc, ramBase + 0x100)
        try machine.run([mret])
        #expect(machine.pc == ramBase + 0x100)
        #expect(machine.privilege == previous)
        let status = machine.readCSR(CSR.mstatus)
        #expect(status & mstatusMIE != 0, "MIE = old MPIE")
        #expect(status & mstatusMPIE != 0, "MPIE = 1")
        #expect((status >> 11) & 3 == 0, "MPP = U")
        #expect((status & mstatusMPRV != 0) == (previous == .machine), "MPRV cleared when returning below M")
    }

    @Test func sretRestoresPrivilegeAndInterruptEnable() throws {
        let machine = try makeMachine()
        machine.writeCSR(CSR.mstatus, mstatusSPIE | mstatusSPP | mstatusMPRV)
        machine.writeCSR(CSR.sepc, ramBase + 0x200)
        machine.privilege = .supervisor
        try machine.run([sret])
        #expect(machine.pc == ramBase + 0x200)
        #expect(machine.privilege == .supervisor)
        let status = machine.readCSR(CSR.mstatus)
        #expect(status & mstatusSIE != 0 && status & mstatusSPIE != 0 && status & mstatusSPP == 0)
        #expect(status & mstatusMPRV == 0)

        machine.writeCSR(CSR.sepc, ramBase + 0x300)
        try machine.run([sret], at: ramBase + 0x200)
        #expect(machine.privilege == .user, "SPP was reset to U by the first SRET")
        #expect(machine.pc == ramBase + 0x300)
    }

    @Test(arguments: [
        (Operation.mret, PrivilegeLevel.supervisor, UInt32(0)),
        (.mret, .user, 0),
        (.sret, .user, 0),
        (.sret, .supervisor, 1 << 22),   // TSR
        (.wfi, .user, 0),
        (.wfi, .supervisor, 1 << 21),    // TW
        (.sfenceVma, .user, 0),
        (.sfenceVma, .supervisor, 1 << 20), // TVM
    ])
    func privilegedInstructionsTrapWhereNotAllowed(_ op: Operation, _ privilege: PrivilegeLevel, _ mstatus: UInt32) throws {
        let machine = try makeMachine()
        machine.writeCSR(CSR.mstatus, mstatus)
        machine.privilege = privilege
        try machine.run([Instruction(op)])
        #expect(machine.readCSR(CSR.mcause) == Cause.illegal)
        #expect(machine.readCSR(CSR.mepc) == ramBase)
        #expect(machine.readCSR(CSR.mtval) == (try Instruction(op).encoded()))
    }

    @Test func sretAndSfenceAreLegalInSupervisorModeWithoutTrapBits() throws {
        let machine = try makeMachine()
        machine.writeCSR(CSR.mstatus, mstatusSPP)
        machine.writeCSR(CSR.sepc, ramBase + 8)
        machine.privilege = .supervisor
        try machine.run([Instruction(.sfenceVma), sret, nop])
        #expect(machine.pc == ramBase + 12)
        #expect(machine.readCSR(CSR.mcause) == 0)
    }

    // MARK: Delegation

    @Test func delegatedExceptionGoesToSupervisor() throws {
        let machine = try makeMachine()
        machine.writeCSR(CSR.medeleg, 1 << Cause.ecallU)
        machine.writeCSR(CSR.mstatus, mstatusSIE)
        machine.privilege = .user
        try machine.run([nop, ecall], steps: 2)
        #expect(machine.privilege == .supervisor)
        #expect(machine.readCSR(CSR.scause) == Cause.ecallU)
        #expect(machine.readCSR(CSR.sepc) == ramBase + 4)
        #expect(machine.readCSR(CSR.mcause) == 0)
        let status = machine.readCSR(CSR.mstatus)
        #expect(status & mstatusSPP == 0 && status & mstatusSPIE != 0 && status & mstatusSIE == 0)
        #expect(machine.pc == handlerAddress)
    }

    @Test func delegationNeverLowersPrivilege() throws {
        let machine = try makeMachine()
        machine.writeCSR(CSR.medeleg, 0xFFFF)
        try machine.run([Instruction(.ebreak)])
        #expect(machine.privilege == .machine)
        #expect(machine.readCSR(CSR.mcause) == Cause.breakpoint)
        #expect(machine.readCSR(CSR.scause) == 0)
    }

    @Test func supervisorEcallIsDelegableButNotDelegatedByDefault() throws {
        let machine = try makeMachine()
        machine.privilege = .supervisor
        try machine.run([ecall])
        #expect(machine.readCSR(CSR.mcause) == Cause.ecallS)
        #expect((machine.readCSR(CSR.mstatus) >> 11) & 3 == 1)
    }

    // MARK: Interrupts

    /// Interrupts pending at once are taken in the order MEI, MSI, MTI, SEI, SSI, STI.
    static let priorityCases: [(pending: UInt32, code: UInt32)] = [
        (0x222, 9),          // SEI beats SSI and STI
        (0x022, 1),          // SSI beats STI
        (0x020, 5),
        (0x2A2, 7),          // MTI (0x80) beats the S-level ones
        (0x0AA, 3),          // MSI (0x08) beats MTI
    ]

    @Test(arguments: priorityCases)
    func interruptPriority(_ pending: UInt32, _ expectedCode: UInt32) throws {
        let machine = try makeMachine()
        machine.writeCSR(CSR.mip, pending)
        if pending & 0x08 != 0 { try machine.writeWord(1, at: 0x0200_0000) }  // CLINT msip
        if pending & 0x80 != 0 { try machine.writePhysical(0x0200_4000, [UInt8](repeating: 0, count: 8)) }  // mtimecmp = 0
        machine.writeCSR(CSR.mie, 0xAAA)
        machine.writeCSR(CSR.mstatus, mstatusMIE)
        try machine.run([nop])
        #expect(machine.readCSR(CSR.mcause) == 0x8000_0000 | expectedCode)
        #expect(machine.readCSR(CSR.mepc) == ramBase)
        #expect(machine.pc == handlerAddress)
    }

    @Test func machineInterruptsNeedMIEOnlyInMachineMode() throws {
        let machine = try makeMachine()
        machine.writeCSR(CSR.mie, 0x002)
        machine.writeCSR(CSR.mip, 0x002)
        try machine.run([nop, nop])
        #expect(machine.pc == ramBase + 8, "M-mode with MIE=0 ignores it")
        machine.privilege = .supervisor
        try machine.run([nop])
        #expect(machine.readCSR(CSR.mcause) == 0x8000_0001, "below M, M-level interrupts are always enabled")
        #expect(machine.privilege == .machine)
    }

    @Test func delegatedInterruptsFollowSupervisorEnables() throws {
        let machine = try makeMachine()
        machine.writeCSR(CSR.mideleg, 0x222)
        machine.writeCSR(CSR.mie, 0x002)
        machine.writeCSR(CSR.mip, 0x002)
        machine.writeCSR(CSR.mstatus, mstatusMIE | mstatusSIE)
        try machine.run([nop])
        #expect(machine.pc == ramBase + 4, "an S-level interrupt is never taken in M-mode")
        machine.privilege = .supervisor
        machine.writeCSR(CSR.mstatus, 0)
        try machine.run([nop])
        #expect(machine.pc == ramBase + 4, "S-mode with SIE=0 masks it")
        machine.privilege = .user
        try machine.run([nop])
        #expect(machine.privilege == .supervisor)
        #expect(machine.readCSR(CSR.scause) == 0x8000_0001)
        #expect(machine.readCSR(CSR.sepc) == ramBase)
        #expect(machine.readCSR(CSR.mcause) == 0)
    }

    @Test func vectoredModeSendsInterruptsToBasePlusFourTimesCause() throws {
        let machine = try makeMachine()
        try machine.write([Instruction(.jal, immediate: 0)], at: handlerAddress + 4 * 5)
        machine.writeCSR(CSR.mtvec, handlerAddress | 1)
        machine.writeCSR(CSR.mie, 0x020)
        machine.writeCSR(CSR.mip, 0x020)
        machine.writeCSR(CSR.mstatus, mstatusMIE)
        try machine.run([nop])
        #expect(machine.readCSR(CSR.mcause) == 0x8000_0005)
        #expect(machine.pc == handlerAddress + 20)
    }

    @Test func wfiResumesOnPendingInterruptEvenWhenGloballyDisabled() throws {
        let machine = try makeMachine()
        machine.writeCSR(CSR.mie, 0x002)
        machine.writeCSR(CSR.mip, 0x002)
        try machine.run([wfi, nop])
        #expect(machine.pc == ramBase + 8)
        #expect(machine.readCSR(CSR.mcause) == 0)
    }

    @Test func wfiWithNothingToWakeItIsAGuestFault() throws {
        let machine = try makeMachine()
        let stop = try machine.run([nop, wfi, nop], steps: 10)
        guard case .guestFault(let message) = stop else {
            Issue.record("expected a guest fault, got \(stop)")
            return
        }
        #expect(message.contains("80000004"), "the message names the WFI's pc: \(message)")
    }

    @Test func trapLoopIsAGuestFault() throws {
        let machine = try makeMachine()
        machine.writeCSR(CSR.mtvec, 0x4000_0000)
        machine.setRegister(x(1), 0x5000_0000)
        let stop = try machine.run([Instruction(.jalr, rs1: x(1))], steps: 100)
        guard case .guestFault(let message) = stop else {
            Issue.record("expected a guest fault, got \(stop)")
            return
        }
        #expect(message.contains("40000000"))
        #expect(message.contains("50000000"), "the first fault is named too: \(message)")
    }
}
