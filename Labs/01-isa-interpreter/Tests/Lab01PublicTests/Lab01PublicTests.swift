import Lab01
import LabSupport
import LabTestSupport
import RISCV
import Testing

// The public tests of Lab 01. Run them with `vlab test 01`
// (or `VLAB_LAB=01 swift test --filter Lab01PublicTests`).
//
// Every check runs your Executor and the library's reference emulator on the same input and
// compares everything the instruction can change. A failure prints the instruction, its pc,
// its input registers, and what was expected against what your executor did.

/// Records the explanation as the test's failure, if there is one.
func check(_ testCase: InstructionCase, sourceLocation: SourceLocation = #_sourceLocation) {
    if let mismatch = InstructionCheck.mismatch(testCase, executor: Executor()) {
        Issue.record(Comment(rawValue: mismatch), sourceLocation: sourceLocation)
    }
}

@Suite struct InstructionSamples {
    @Test(arguments: [
        InstructionCase("add a0, a1, a2", [.a1: 40, Register(12): 2]),
        InstructionCase("addi a0, a1, -1", [.a1: 0]),
        InstructionCase("sub a0, a1, a2", [.a1: 0, Register(12): 1]),
        InstructionCase("lui a0, 0x12345"),
        InstructionCase("auipc a0, 1"),
        InstructionCase("xor a0, a1, a2", [.a1: 0xF0F0_F0F0, Register(12): 0xFF00_FF00]),
    ])
    func computation(_ testCase: InstructionCase) { check(testCase) }

    @Test(arguments: [
        InstructionCase("sll a0, a1, a2", [.a1: 1, Register(12): 33]),
        InstructionCase("srai a0, a1, 4", [.a1: 0x8000_0000]),
        InstructionCase("slt a0, a1, a2", [.a1: 0xFFFF_FFFF, Register(12): 1]),
        InstructionCase("sltu a0, a1, a2", [.a1: 0xFFFF_FFFF, Register(12): 1]),
    ])
    func shiftsAndCompares(_ testCase: InstructionCase) { check(testCase) }

    @Test(arguments: [
        InstructionCase("mul a0, a1, a2", [.a1: 0x1_0001, Register(12): 0x1_0001]),
        InstructionCase("div a0, a1, a2", [.a1: 7, Register(12): 0xFFFF_FFFE]),
        InstructionCase("divu a0, a1, zero", [.a1: 7]),
    ])
    func multiplyDivide(_ testCase: InstructionCase) { check(testCase) }

    @Test(arguments: [
        InstructionCase("beq a0, a1, . + 16", [.a0: 5, .a1: 5]),
        InstructionCase("blt a0, a1, . - 8", [.a0: 0xFFFF_FFFF, .a1: 0]),
        InstructionCase("jal ra, . + 64"),
        InstructionCase("jalr ra, 8(a0)", [.a0: 0x1_0200]),
    ])
    func controlTransfer(_ testCase: InstructionCase) { check(testCase) }

    @Test(arguments: [
        InstructionCase("lw a0, 16(a1)", [.a1: InstructionCase.dataPage]),
        InstructionCase("lb a0, 3(a1)", [.a1: InstructionCase.dataPage]),
        InstructionCase("sw a2, 8(a1)", [.a1: InstructionCase.dataPage, Register(12): 0xDEAD_BEEF]),
        InstructionCase("sb a2, 1(a1)", [.a1: InstructionCase.dataPage, Register(12): 0x1234_5678]),
    ])
    func loadsAndStores(_ testCase: InstructionCase) { check(testCase) }

    @Test(arguments: [
        InstructionCase("ecall"),
        InstructionCase("ebreak"),
        InstructionCase(word: 0xFFFF_FFFF),
        InstructionCase("jalr ra, 2(a0)", [.a0: 0x1_0200]),
    ])
    func traps(_ testCase: InstructionCase) { check(testCase) }
}

@Suite struct FirstPrograms {
    @Test func fibonacci() throws {
        let result = LockStep.run(try Guests.assembly("fibonacci.s", Guests.fibonacci), executor: Executor())
        if let failure = Explain.failure(result) { Issue.record(Comment(rawValue: failure)) }
        #expect(result.output == "fib(25) = 75025\n")
    }

    @Test func helloFromC() throws {
        let result = LockStep.run(try Guests.linux("hello"), executor: Executor())
        if let failure = Explain.failure(result) { Issue.record(Comment(rawValue: failure)) }
        #expect(result.output.hasPrefix("Hello from RV32 user mode!\n"))
    }
}
