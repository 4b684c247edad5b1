import Testing
import RISCV
@testable import Machine

/// RV32I and M arithmetic, each against hand-computed results, including the corner cases.
@Suite struct IntegerInstructionTests {
    /// Runs `op x3, x1, x2` with x1 = a, x2 = b and returns x3.
    func registerResult(_ op: Operation, _ a: UInt32, _ b: UInt32) throws -> UInt32 {
        let machine = try makeMachine()
        machine.setRegister(x(1), a)
        machine.setRegister(x(2), b)
        let stop = try machine.run([Instruction(op, rd: x(3), rs1: x(1), rs2: x(2))])
        #expect(stop == .instructionLimit)
        #expect(machine.pc == ramBase + 4)
        return machine.register(x(3))
    }

    static let registerCases: [(Operation, UInt32, UInt32, UInt32)] = [
        (.add, 1, 2, 3), (.add, 0xFFFF_FFFF, 1, 0), (.add, 0x7FFF_FFFF, 1, 0x8000_0000),
        (.sub, 0, 1, 0xFFFF_FFFF), (.sub, 0x8000_0000, 1, 0x7FFF_FFFF), (.sub, 5, 5, 0),
        (.sll, 1, 31, 0x8000_0000), (.sll, 1, 32, 1), (.sll, 1, 33, 2), (.sll, 0xFFFF_FFFF, 0xFFFF_FFE4, 0xFFFF_FFF0),
        (.slt, 0xFFFF_FFFF, 0, 1), (.slt, 0, 0xFFFF_FFFF, 0), (.slt, 5, 5, 0), (.slt, 0x8000_0000, 0x7FFF_FFFF, 1),
        (.sltu, 0xFFFF_FFFF, 0, 0), (.sltu, 0, 0xFFFF_FFFF, 1), (.sltu, 5, 5, 0),
        (.xor, 0xF0F0_F0F0, 0xFF00_FF00, 0x0FF0_0FF0),
        (.or, 0xF0F0_0000, 0x0000_0F0F, 0xF0F0_0F0F),
        (.and, 0xF0F0_F0F0, 0xFF00_FF00, 0xF000_F000),
        (.srl, 0x8000_0000, 31, 1), (.srl, 0x8000_0000, 32, 0x8000_0000), (.srl, 0x8000_0000, 63, 1),
        (.sra, 0x8000_0000, 31, 0xFFFF_FFFF), (.sra, 0x8000_0000, 32, 0x8000_0000), (.sra, 0x8000_0000, 4, 0xF800_0000),
        (.sra, 0x4000_0000, 4, 0x0400_0000), (.sra, 0x8000_0000, 0xFFFF_FFE1, 0xC000_0000),
        // M extension
        (.mul, 123_456, 654_321, 0xCEDA_BE40), (.mul, 0xFFFF_FFFF, 0xFFFF_FFFF, 1), (.mul, 0x8000_0000, 2, 0),
        (.mulh, 0x8000_0000, 0x8000_0000, 0x4000_0000), (.mulh, 0xFFFF_FFFF, 0xFFFF_FFFF, 0),
        (.mulh, 0xFFFF_FFFF, 1, 0xFFFF_FFFF), (.mulh, 0x7FFF_FFFF, 0x7FFF_FFFF, 0x3FFF_FFFF),
        (.mulhsu, 0xFFFF_FFFF, 0xFFFF_FFFF, 0xFFFF_FFFF), (.mulhsu, 0x8000_0000, 0xFFFF_FFFF, 0x8000_0000),
        (.mulhsu, 2, 0x8000_0000, 1),
        (.mulhu, 0xFFFF_FFFF, 0xFFFF_FFFF, 0xFFFF_FFFE), (.mulhu, 0x8000_0000, 2, 1), (.mulhu, 3, 5, 0),
        (.div, 7, 2, 3), (.div, UInt32(bitPattern: -7), 2, UInt32(bitPattern: -3)), (.div, 7, UInt32(bitPattern: -2), UInt32(bitPattern: -3)),
        (.div, 0x8000_0000, 0xFFFF_FFFF, 0x8000_0000), (.div, 5, 0, 0xFFFF_FFFF), (.div, UInt32(bitPattern: -5), 0, 0xFFFF_FFFF),
        (.divu, 7, 2, 3), (.divu, 0xFFFF_FFFF, 2, 0x7FFF_FFFF), (.divu, 5, 0, 0xFFFF_FFFF), (.divu, 0x8000_0000, 0xFFFF_FFFF, 0),
        (.rem, UInt32(bitPattern: -7), 2, UInt32(bitPattern: -1)), (.rem, 7, UInt32(bitPattern: -2), 1),
        (.rem, 0x8000_0000, 0xFFFF_FFFF, 0), (.rem, 5, 0, 5), (.rem, UInt32(bitPattern: -5), 0, UInt32(bitPattern: -5)),
        (.remu, 7, 2, 1), (.remu, 0xFFFF_FFFF, 10, 5), (.remu, 5, 0, 5),
    ]

    @Test(arguments: registerCases)
    func registerRegister(_ op: Operation, _ a: UInt32, _ b: UInt32, _ expected: UInt32) throws {
        #expect(try registerResult(op, a, b) == expected, "\(op.mnemonic) 0x\(String(a, radix: 16)), 0x\(String(b, radix: 16))")
    }

    static let immediateCases: [(Operation, UInt32, Int32, UInt32)] = [
        (.addi, 1, -1, 0), (.addi, 0x7FFF_FFFF, 1, 0x8000_0000), (.addi, 0, -2048, 0xFFFF_F800), (.addi, 0, 2047, 0x7FF),
        (.slti, 0xFFFF_FFFF, 0, 1), (.slti, 0, -1, 0), (.slti, 0x8000_0000, -2048, 1),
        (.sltiu, 0, -1, 1), (.sltiu, 0xFFFF_FFFF, -1, 0), (.sltiu, 0xFFFF_F7FF, -2048, 1), (.sltiu, 0, 0, 0),
        (.xori, 0xF0F0_F0F0, -1, 0x0F0F_0F0F), (.xori, 0x0000_00FF, 0x0F, 0xF0),
        (.ori, 0x1234_0000, -2048, 0xFFFF_F800), (.ori, 0x1234_0000, 0x123, 0x1234_0123),
        (.andi, 0xFFFF_FFFF, 0x7FF, 0x7FF), (.andi, 0x1234_5678, -16, 0x1234_5670),
        (.slli, 1, 31, 0x8000_0000), (.slli, 0xFFFF_FFFF, 4, 0xFFFF_FFF0), (.slli, 7, 0, 7),
        (.srli, 0x8000_0000, 31, 1), (.srli, 0xFFFF_FFFF, 28, 0xF),
        (.srai, 0x8000_0000, 31, 0xFFFF_FFFF), (.srai, 0x8000_0000, 1, 0xC000_0000), (.srai, 0x7FFF_FFFF, 30, 1),
    ]

    @Test(arguments: immediateCases)
    func registerImmediate(_ op: Operation, _ a: UInt32, _ immediate: Int32, _ expected: UInt32) throws {
        let machine = try makeMachine()
        machine.setRegister(x(1), a)
        try machine.run([Instruction(op, rd: x(3), rs1: x(1), immediate: immediate)])
        #expect(machine.register(x(3)) == expected, "\(op.mnemonic) 0x\(String(a, radix: 16)), \(immediate)")
    }

    @Test func upperImmediates() throws {
        let machine = try makeMachine()
        try machine.run([
            Instruction(.lui, rd: x(1), immediate: 0x1234_5000),
            Instruction(.auipc, rd: x(2), immediate: 0x1000),
            Instruction(.auipc, rd: x(3), immediate: -4096),
            Instruction(.lui, rd: x(4), immediate: Int32(bitPattern: 0xFFFF_F000)),
        ])
        #expect(machine.register(x(1)) == 0x1234_5000)
        #expect(machine.register(x(2)) == 0x8000_1004)
        #expect(machine.register(x(3)) == 0x7FFF_F008)
        #expect(machine.register(x(4)) == 0xFFFF_F000)
    }

    @Test func writesToX0AreIgnored() throws {
        let machine = try makeMachine()
        machine.setRegister(x(1), 5)
        machine.setRegister(x(2), ramBase)
        try machine.run([
            Instruction(.addi, rd: .zero, rs1: x(1), immediate: 1),
            Instruction(.lui, rd: .zero, immediate: 0x7000),
            Instruction(.add, rd: .zero, rs1: x(1), rs2: x(1)),
            Instruction(.lw, rd: .zero, rs1: x(2), immediate: 0),
        ])
        #expect(machine.register(.zero) == 0)
        machine.setRegister(.zero, 99)
        #expect(machine.register(.zero) == 0)
        // An instruction reading x0 after a write attempt sees 0.
        try machine.run([Instruction(.addi, rd: .zero, rs1: .zero, immediate: 9), Instruction(.addi, rd: x(2), rs1: .zero, immediate: 0)])
        #expect(machine.register(x(2)) == 0)
    }

    static let branchCases: [(Operation, UInt32, UInt32, Bool)] = [
        (.beq, 5, 5, true), (.beq, 5, 6, false),
        (.bne, 5, 6, true), (.bne, 5, 5, false),
        (.blt, 0xFFFF_FFFF, 0, true), (.blt, 0, 0xFFFF_FFFF, false), (.blt, 3, 3, false),
        (.bge, 0, 0xFFFF_FFFF, true), (.bge, 3, 3, true), (.bge, 0x8000_0000, 0x7FFF_FFFF, false),
        (.bltu, 0, 0xFFFF_FFFF, true), (.bltu, 0xFFFF_FFFF, 0, false),
        (.bgeu, 0xFFFF_FFFF, 0, true), (.bgeu, 3, 3, true), (.bgeu, 0, 1, false),
    ]

    @Test(arguments: branchCases)
    func branches(_ op: Operation, _ a: UInt32, _ b: UInt32, _ taken: Bool) throws {
        for offset: Int32 in [16, -8] {
            let machine = try makeMachine()
            machine.setRegister(x(1), a)
            machine.setRegister(x(2), b)
            try machine.run([Instruction(op, rs1: x(1), rs2: x(2), immediate: offset)], at: ramBase + 0x100)
            #expect(machine.pc == (taken ? ramBase + 0x100 &+ UInt32(bitPattern: offset) : ramBase + 0x104))
        }
    }

    @Test func jumpAndLink() throws {
        let machine = try makeMachine()
        try machine.run([Instruction(.jal, rd: x(1), immediate: 0x100)])
        #expect(machine.pc == ramBase + 0x100)
        #expect(machine.register(x(1)) == ramBase + 4)

        try machine.run([Instruction(.jal, rd: x(1), immediate: -0x10)], at: ramBase + 0x200)
        #expect(machine.pc == ramBase + 0x1F0)
    }

    @Test func jumpAndLinkRegisterClearsBitZeroAndReadsRs1BeforeWritingRd() throws {
        let machine = try makeMachine()
        machine.setRegister(x(1), ramBase + 0x301)
        try machine.run([Instruction(.jalr, rd: x(1), rs1: x(1), immediate: 0x10)])
        #expect(machine.pc == ramBase + 0x310)
        #expect(machine.register(x(1)) == ramBase + 4)
        machine.setRegister(x(5), ramBase + 0x400)
        try machine.run([Instruction(.jalr, rd: .zero, rs1: x(5), immediate: -4)])
        #expect(machine.pc == ramBase + 0x3FC)
    }

    /// Without the C extension, a jump to an address that is not 4-aligned traps at the jump
    /// (cause 0, tval = target) and the jump does not complete: rd keeps its value.
    @Test(arguments: [
        Instruction(.jal, rd: x(1), immediate: 6),
        Instruction(.jalr, rd: x(1), rs1: x(2), immediate: 2),
        Instruction(.beq, rs1: .zero, rs2: .zero, immediate: 6),
    ])
    func misalignedJumpTargetTrapsAtTheJump(_ jump: Instruction) throws {
        let machine = try makeMachine()
        machine.setRegister(x(1), 0xAAAA)
        machine.setRegister(x(2), ramBase + 0x200)
        try machine.run([nop, jump], steps: 2)
        #expect(machine.readCSR(CSR.mcause) == Cause.misalignedFetch)
        #expect(machine.readCSR(CSR.mepc) == ramBase + 4)
        let target = jump.operation == .jalr ? ramBase + 0x202 : ramBase + 4 + 6
        #expect(machine.readCSR(CSR.mtval) == target)
        #expect(machine.register(x(1)) == 0xAAAA)
        #expect(machine.pc == handlerAddress)
    }

    @Test func branchNotTakenToAMisalignedTargetDoesNotTrap() throws {
        let machine = try makeMachine()
        try machine.run([Instruction(.bne, rs1: .zero, rs2: .zero, immediate: 6)])
        #expect(machine.pc == ramBase + 4)
        #expect(machine.readCSR(CSR.mcause) == 0 && machine.readCSR(CSR.mepc) == 0)
    }

    @Test func fenceAndFenceIAreNoOps() throws {
        let machine = try makeMachine()
        try machine.run([Instruction(.fence, immediate: 0xFF), Instruction(.fenceI)])
        #expect(machine.pc == ramBase + 8)
        #expect(machine.retiredInstructions == 2)
    }

    static let illegalWords: [UInt32] = [
        0x0000_0000, 0xFFFF_FFFF,
        0x0000_7013,  // andi x0, x0, 0: legal, the control case
        0x4000_1013,  // slli with funct7 = 0x20
        0x0000_2063,  // branch funct3 = 2
        0x0000_3003,  // load funct3 = 3
        0x0000_3023,  // store funct3 = 3
        0x0000_1067,  // jalr funct3 = 1
        0x4000_7033,  // and with funct7 = 0x20
        0x0000_200F,  // misc-mem funct3 = 2
        0x0000_4073,  // SYSTEM funct3 = 4
        0x1060_0073,  // SYSTEM funct3 = 0, unknown function
    ]

    @Test(arguments: illegalWords)
    func illegalInstructionsTrapWithTheWordInTval(_ word: UInt32) throws {
        let machine = try makeMachine()
        try machine.writeWord(word, at: ramBase)
        machine.pc = ramBase
        _ = machine.run(maxInstructions: 1)
        if word == 0x0000_7013 {
            // andi x0, x0, 0 is legal: the control case that shows the trap is about the encoding.
            #expect(machine.readCSR(CSR.mcause) == 0 && machine.pc == ramBase + 4)
            return
        }
        #expect(machine.readCSR(CSR.mcause) == Cause.illegal)
        #expect(machine.readCSR(CSR.mepc) == ramBase)
        #expect(machine.readCSR(CSR.mtval) == word)
    }
}
