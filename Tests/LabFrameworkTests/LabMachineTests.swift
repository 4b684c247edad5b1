import LabSupport
import LabTestSupport
import RISCV
import Testing

/// An executor that does nothing but move on: every check must catch it.
struct SkippingExecutor: InstructionExecutor {
    func execute(_ instruction: Instruction, on hart: inout Hart) throws { hart.pc &+= 4 }
}

@Suite struct LabHarnessTests {
    /// The reference side alone runs the programs the labs use, with the shared system calls.
    @Test func referenceRunsFibonacciAndHello() throws {
        let lab = try LabMachine(program: try Guests.assembly("fibonacci.s", Guests.fibonacci))
        let reference = try ReferenceMachine(mirroring: lab)
        #expect(reference.run(1_000_000) == .exited(code: 0))
        #expect(String(decoding: reference.system.output, as: UTF8.self) == "fib(25) = 75025\n")

        let hello = try ReferenceMachine(mirroring: try LabMachine(program: try Guests.linux("hello")))
        #expect(hello.run(1_000_000) == .exited(code: 0))
        #expect(String(decoding: hello.system.output, as: UTF8.self).hasPrefix("Hello from RV32 user mode!\n"))
    }

    @Test func instructionCheckExplainsAWrongResult() throws {
        let message = InstructionCheck.mismatch(InstructionCase("add a0, a1, a2", [.a1: 40, Register(12): 2]), executor: SkippingExecutor())
        #expect(message == """
            add\ta0,a1,a2  (pc 0x00010100, word 0x00c58533)
              inputs:   a1 = 0x00000028, a2 = 0x00000002
              expected: a0 = 0x0000002a
              actual:   a0 = 0x00000000
            """)
    }

    @Test func lockStepNamesTheFirstDivergingInstruction() throws {
        let result = LockStep.run(try Guests.assembly("fibonacci.s", Guests.fibonacci), executor: SkippingExecutor())
        let divergence = try #require(result.divergence)
        #expect(divergence.hasPrefix("fibonacci.s: first divergence from the reference after 0 instructions, at li\ts0,25"))
        #expect(divergence.contains("expected: s0 = 0x00000019"))
    }

    @Test func memoryFaultsAndWatching() throws {
        let memory = try Memory(regions: [Memory.Region(base: 0x1000, size: 0x1000, name: "one")])
        #expect(throws: Trap(.loadAccessFault, value: 0x2000)) { try memory.load(0x1FFE, size: .word) }
        #expect(throws: Trap(.storeAccessFault, value: 0x10)) { try memory.store(1, at: 0x10, size: .byte) }
        var writes: [UInt32] = []
        memory.onWatchedWrite = { address, _ in writes.append(address) }
        try memory.store(1, at: 0x1010, size: .word)
        memory.watchWrites(toPageContaining: 0x1000)
        try memory.store(0x0000_0513, at: 0x1020, size: .word)
        #expect(writes == [0x1020])
        #expect(try memory.fetch(0x1020).operation == .addi)
        #expect(memory.decodeCount == 1)
    }

    @Test func overlappingRegionsAreRejected() {
        #expect(throws: LabError.self) {
            try Memory(regions: [Memory.Region(base: 0x1000, size: 0x2000, name: "a"), Memory.Region(base: 0x2000, size: 0x1000, name: "b")])
        }
    }

    @Test func randomProgramsRepeat() throws {
        var first = RandomProgram(seed: 42), second = RandomProgram(seed: 42)
        #expect(try first.generate(name: "r").segments == second.generate(name: "r").segments)
        let reference = try ReferenceMachine(mirroring: try LabMachine(program: try RandomProgram(seed: 42).generateCopy()))
        #expect({ if case .exited = reference.run(10_000_000) { true } else { false } }())
    }
}

extension RandomProgram {
    func generateCopy() throws -> GuestProgram {
        var copy = self
        return try copy.generate(name: "r")
    }
}
