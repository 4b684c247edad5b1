import RISCV
import Testing
@testable import Machine

/// The teaching variant's `vlab.popie rs1` (RISCV/TeachingExtension.swift) on both engines:
/// it sets MIE in M-mode and SIE in S-mode from the register's status image, does nothing at
/// all in U-mode, and is an illegal instruction unless the configuration implements it.
@Suite struct TeachingPopieTests {
    static let mie: UInt32 = 1 << 3, sie: UInt32 = 1 << 1

    static func machine(engine: ExecutionEngineKind, implementsPopie: Bool) throws -> Machine {
        var configuration = MachineConfiguration()
        configuration.ramSize = 1 << 20
        configuration.engine = engine
        configuration.implementsTeachingPopie = implementsPopie
        let machine = try Machine(configuration: configuration)
        machine.console = .silent
        try machine.write([Instruction(.jal, rd: .zero, immediate: 0)], at: handlerAddress)
        machine.writeCSR(CSR.mtvec, handlerAddress)
        machine.writeCSR(CSR.stvec, handlerAddress)
        return machine
    }

    static func popie(_ source: Register) -> Instruction { Instruction(.vlabPopie, rs1: source) }

    @Test(arguments: ExecutionEngineKind.allCases)
    func setsOnlyTheCurrentModesEnableFromItsStatusBit(engine: ExecutionEngineKind) throws {
        // (mode, source value, mstatus before, mstatus after)
        let cases: [(PrivilegeLevel, UInt32, UInt32, UInt32)] = [
            (.machine, Self.mie, 0, Self.mie),
            (.machine, ~Self.mie, Self.mie | Self.sie, Self.sie),          // only MIE moves
            (.machine, 0xFFFF_FFFF, 0, Self.mie),
            (.supervisor, Self.sie, 0, Self.sie),
            (.supervisor, ~Self.sie, Self.sie | Self.mie, Self.mie),       // only SIE moves
            (.supervisor, 0xFFFF_FFFF, 0, Self.sie),
            (.user, 0xFFFF_FFFF, 0, 0),                                    // silently nothing
            (.user, 0, Self.sie | Self.mie, Self.sie | Self.mie),
        ]
        for (privilege, source, before, after) in cases {
            let machine = try Self.machine(engine: engine, implementsPopie: true)
            machine.writeCSR(CSR.mstatus, before)
            machine.privilege = privilege
            machine.setRegister(x(9), source)
            let stop = try machine.run([Self.popie(x(9)), nop], steps: 2)
            #expect(stop == .instructionLimit, "\(privilege)")
            #expect(machine.readCSR(CSR.mstatus) & (Self.mie | Self.sie) == after, "\(privilege), source 0x\(String(source, radix: 16))")
            #expect(machine.pc == ramBase + 8, "\(privilege): retired without a trap")
            #expect(machine.retiredInstructions == 2)
            #expect(machine.privilege == privilege)
        }
    }

    @Test(arguments: ExecutionEngineKind.allCases)
    func withoutTheVariantItIsAnIllegalInstruction(engine: ExecutionEngineKind) throws {
        for privilege in [PrivilegeLevel.machine, .supervisor, .user] {
            let machine = try Self.machine(engine: engine, implementsPopie: false)
            machine.writeCSR(CSR.mstatus, 0)
            machine.privilege = privilege
            machine.setRegister(x(5), 0xFFFF_FFFF)
            try machine.run([nop, Self.popie(x(5))], steps: 2)
            #expect(machine.readCSR(CSR.mcause) == Cause.illegal, "\(privilege)")
            #expect(machine.readCSR(CSR.mepc) == ramBase + 4)
            #expect(machine.readCSR(CSR.mtval) == TeachingExtension.popieWord(source: x(5)))
            #expect(machine.readCSR(CSR.mstatus) & (Self.mie | Self.sie) == 0, "the enables did not change")
        }
    }

    @Test(arguments: ExecutionEngineKind.allCases)
    func otherCustomZeroWordsStayIllegalWithTheVariant(engine: ExecutionEngineKind) throws {
        let machine = try Self.machine(engine: engine, implementsPopie: true)
        try machine.writeWord(0x0000_100B, at: ramBase)   // custom-0, funct3 = 1
        machine.pc = ramBase
        _ = machine.run(maxInstructions: 1)
        #expect(machine.readCSR(CSR.mcause) == Cause.illegal)
        #expect(machine.readCSR(CSR.mtval) == 0x0000_100B)
    }

    /// A guest for the engine comparison: enabling interrupts with vlab.popie while one is pending
    /// must deliver it before the next instruction (M and S), disabling must hold it off, and in
    /// U-mode the instruction must change nothing and trap nowhere.
    static let guest = """
        .text
        .globl _start
    _start:
        la t0, machine_trap
        csrw mtvec, t0
        li s1, 0                    # machine timer interrupts taken
        li s3, 0                    # mepc of the first one
        li t0, 0x80
        csrw mie, t0                # MTIE
        li t1, 0x2004000
        sw zero, 0(t1)
        sw zero, 4(t1)              # mtimecmp = 0: MTIP is pending from now on
        li t2, 0
        vlab.popie t2               # MIE stays 0: nothing may happen
        nop
        nop
        mv s2, s1                   # must be 0
        li t2, 8
        vlab.popie t2               # MIE = 1: the interrupt comes right here
    after_machine_enable:
        nop
        li t2, 0
        vlab.popie t2
        la t0, after_machine_enable
        sub s3, s3, t0              # 0 when the interrupt was taken right after vlab.popie

        # S-mode: a supervisor software interrupt, delegated, enabled in sie, pending in sip.
        li t0, 2
        csrw mideleg, t0
        csrw sie, t0
        la t0, supervisor_trap
        csrw stvec, t0
        li t0, 0x1800
        csrc mstatus, t0
        li t0, 0x800
        csrs mstatus, t0            # MPP = S
        la t0, supervisor_code
        csrw mepc, t0
        mret

    supervisor_code:
        li s4, 0                    # supervisor interrupts taken
        li t0, 2
        csrs sip, t0                # SSIP pending
        li t2, 0
        vlab.popie t2
        nop
        mv s5, s4                   # must be 0
        li t2, -1                   # all ones: only SIE may change, not MIE
        vlab.popie t2
    after_supervisor_enable:
        nop
        li t2, 0
        vlab.popie t2
        la t0, after_supervisor_enable
        sub s6, s6, t0              # 0 when taken right after vlab.popie
        li t0, 0x120                # SPP = 0, SPIE = 1: SRET enters U-mode with SIE = 1
        csrc sstatus, t0
        li t0, 0x20
        csrs sstatus, t0
        la t0, user_code
        csrw sepc, t0
        sret

    user_code:
        li t2, 0
        vlab.popie t2               # U-mode: silently nothing, no trap
        li t2, -1
        vlab.popie t2
        li s7, 1
        ecall                       # to M-mode (not delegated), which checks the enables

    supervisor_trap:
        csrr s6, sepc
        addi s4, s4, 1
        li t0, 2
        csrc sip, t0
        sret

    machine_trap:
        csrr t0, mcause
        bltz t0, machine_interrupt
        csrr s8, mstatus            # the ECALL from U-mode: SIE must still be 1, MIE 0
        li t0, 0x100000
        li t1, 0x5555
        sw t1, 0(t0)
    1:  j 1b
    machine_interrupt:
        addi s1, s1, 1
        bnez s3, 2f
        csrr s3, mepc
    2:  li t1, 0x2004000
        li t0, -1
        sw t0, 4(t1)                # no further machine timer interrupts
        mret
    """

    @Test func bothEnginesAgreeOnAGuestThatUsesItInEveryMode() throws {
        let program = try Assembler.assemble(source: Self.guest, fileName: "popie.s", base: 0x8000_0000)
        let elf = try ELFFile(bytes: program.elfExecutable())
        let (snapshot, _) = try EngineComparison.expectIdentical("vlab.popie guest") { engine, output in
            var configuration = MachineConfiguration()
            configuration.engine = engine
            configuration.ramSize = 1 << 20
            configuration.implementsTeachingPopie = true
            let machine = try Machine(configuration: configuration)
            EngineComparison.prepare(machine, output)
            try machine.load(elf)
            return (machine, "\(machine.run(maxInstructions: 100_000))")
        }
        let s = { (n: UInt8) in snapshot.registers[Int(n)] }
        #expect(snapshot.stop == "\(StopReason.exited(code: 0))")
        #expect(s(9) == 1, "one machine timer interrupt (s1)")
        #expect(s(18) == 0, "none while MIE was 0 (s2)")
        #expect(s(19) == 0, "taken right after the enabling vlab.popie (s3)")
        #expect(s(20) == 1, "one supervisor interrupt (s4)")
        #expect(s(21) == 0, "none while SIE was 0 (s5)")
        #expect(s(22) == 0, "taken right after the enabling vlab.popie (s6)")
        #expect(s(23) == 1, "U-mode ran both vlab.popie without trapping (s7)")
        #expect(s(24) & (Self.sie | Self.mie) == Self.sie, "U-mode changed neither enable (s8)")
        #expect(snapshot.traps.count == 3, "\(snapshot.traps)")
    }
}
