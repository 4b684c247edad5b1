import LabSupport
import RISCV

/// One instruction in a known state, executed once by a lab executor and once by the reference,
/// compared on everything it can change: registers, pc, memory, the trap it raises.
public struct InstructionCase: Sendable, CustomStringConvertible {
    public var word: UInt32
    public var registers: [Register: UInt32]
    /// Where the instruction sits (in the code page at 0x0001_0000 ..< 0x0001_1000).
    public var pc: UInt32
    /// When set, the trap the lab machine must raise instead of asking the reference (for
    /// instructions the lab hart does not implement but `Machine` does, like CSR accesses).
    public var expectedTrap: Trap?
    /// Set when the case itself is broken (its assembly did not assemble): the check fails with it.
    public var setupProblem: String?

    public init(_ instruction: Instruction, _ registers: [Register: UInt32] = [:], pc: UInt32 = InstructionCase.codePage + 0x100, expectedTrap: Trap? = nil) {
        self.init(word: (try? instruction.encoded()) ?? 0, registers, pc: pc, expectedTrap: expectedTrap)
    }

    public init(word: UInt32, _ registers: [Register: UInt32] = [:], pc: UInt32 = InstructionCase.codePage + 0x100, expectedTrap: Trap? = nil) {
        self.word = word
        self.registers = registers
        self.pc = pc
        self.expectedTrap = expectedTrap
    }

    /// Assembles one line of assembly, e.g. `InstructionCase("add a0, a1, a2", [.a1: 1])`.
    /// Branch and jump targets are written as byte offsets from the instruction (`beq a0, a1, . + 8`).
    public init(_ assembly: String, _ registers: [Register: UInt32] = [:], pc: UInt32 = InstructionCase.codePage + 0x100, expectedTrap: Trap? = nil) {
        let source = "    .space \(pc - InstructionCase.codePage)\n    \(assembly)\n"
        var word: UInt32 = 0
        var problem: String? = "`\(assembly)` does not assemble"
        do {
            _ = try Assembler.assemble(source: source, fileName: "case.s", base: InstructionCase.codePage)
        } catch {
            problem = "`\(assembly)` does not assemble: \(error)"
        }
        if let program = try? Assembler.assemble(source: source, fileName: "case.s", base: InstructionCase.codePage),
           let text = program.section(named: ".text"), text.bytes.count >= Int(pc - InstructionCase.codePage) + 4 {
            let offset = Int(pc - InstructionCase.codePage)
            word = UInt32(text.bytes[offset]) | UInt32(text.bytes[offset + 1]) << 8 | UInt32(text.bytes[offset + 2]) << 16 | UInt32(text.bytes[offset + 3]) << 24
            problem = nil
        }
        self.init(word: word, registers, pc: pc, expectedTrap: expectedTrap)
        setupProblem = problem
    }

    public static let codePage: UInt32 = 0x1_0000
    /// A data page: 0x0002_0000 ..< 0x0002_1000, filled with a known pattern.
    public static let dataPage: UInt32 = 0x2_0000

    public var description: String {
        StateReport.disassembler.format(Instruction(decoding: word), at: pc)
    }

    static func dataPattern() -> [UInt8] { (0..<4096).map { UInt8(truncatingIfNeeded: $0 &* 151 &+ 0x5A) } }

    func makeMemory() throws(LabError) -> Memory {
        let memory = try Memory(regions: [
            Memory.Region(base: InstructionCase.codePage, size: 4096, name: "code"),
            Memory.Region(base: InstructionCase.dataPage, size: 4096, name: "data"),
        ])
        try memory.write([UInt8(word & 0xFF), UInt8(word >> 8 & 0xFF), UInt8(word >> 16 & 0xFF), UInt8(word >> 24)], at: pc)
        try memory.write(InstructionCase.dataPattern(), at: InstructionCase.dataPage)
        return memory
    }

    func makeHart(_ memory: Memory) -> Hart {
        var hart = Hart(pc: pc, memory: memory)
        for (register, value) in registers { hart[register] = value }
        return hart
    }
}

/// Runs instruction cases and explains any difference.
public enum InstructionCheck {
    /// nil if the executor did exactly what the reference did; otherwise a message naming the
    /// instruction, its pc, its inputs, and the expected and actual results.
    public static func mismatch(_ testCase: InstructionCase, executor: some InstructionExecutor) -> String? {
        do {
            return try compare(testCase, executor: executor)
        } catch {
            return "could not set up \(testCase): \(error)"
        }
    }

    private static func compare(_ testCase: InstructionCase, executor: some InstructionExecutor) throws -> String? {
        if let problem = testCase.setupProblem { return "broken test case: \(problem)" }
        // The lab side.
        let labMemory = try testCase.makeMemory()
        var hart = testCase.makeHart(labMemory)
        let inputRegisters = hart.registers.all
        let instruction = Instruction(decoding: testCase.word)
        var labTrap: Trap? = nil
        do {
            try executor.execute(instruction, on: &hart)
        } catch let trap as Trap {
            labTrap = trap
        } catch {
            return "\(StateReport.describe(testCase.word, at: testCase.pc)): your executor threw \(error)"
        }

        // The reference side.
        let expectedRegisters: [UInt32], expectedPC: UInt32, expectedTrap: Trap?
        var expectedData: [UInt8]
        if let trap = testCase.expectedTrap {
            expectedRegisters = inputRegisters
            expectedPC = testCase.pc
            expectedTrap = trap
            expectedData = InstructionCase.dataPattern()
        } else {
            let referenceMemory = try testCase.makeMemory()
            let reference = try ReferenceMachine(memory: referenceMemory, hart: testCase.makeHart(referenceMemory),
                                                 system: LinuxSystemCalls(heapStart: 0, heapLimit: 0, input: []))
            // ECALL would be a system call on the reference; the executor only has to raise it.
            if instruction.operation == .ecall {
                expectedTrap = Trap(.environmentCall)
                expectedRegisters = inputRegisters
                expectedPC = testCase.pc
            } else if case .trapped(let trap, _) = reference.run(1) {
                expectedTrap = trap
                expectedRegisters = inputRegisters
                expectedPC = testCase.pc
            } else {
                expectedTrap = nil
                expectedRegisters = reference.registers
                expectedPC = reference.pc
            }
            expectedData = reference.read(InstructionCase.dataPage, count: 4096) ?? []
        }

        let actualRegisters = hart.registers.all
        let actualData = labMemory.read(InstructionCase.dataPage, count: 4096) ?? []
        var expected: [String] = [], actual: [String] = []
        if expectedTrap != labTrap {
            expected.append(expectedTrap.map { "trap: \($0)" } ?? "no trap")
            actual.append(labTrap.map { "trap: \($0)" } ?? "no trap")
        }
        let registers = StateReport.registerDifferences(expected: expectedRegisters, actual: actualRegisters)
        expected += registers.expected
        actual += registers.actual
        if expectedPC != hart.pc {
            expected.append("pc = 0x\(hex8(expectedPC))")
            actual.append("pc = 0x\(hex8(hart.pc))")
        }
        if expectedData != actualData, let index = expectedData.indices.first(where: { index in index < actualData.count && expectedData[index] != actualData[index] }) {
            let address = InstructionCase.dataPage + UInt32(index)
            expected.append("memory[0x\(hex8(address))] = 0x\(String(expectedData[index], radix: 16))")
            actual.append("memory[0x\(hex8(address))] = 0x\(String(actualData[index], radix: 16))")
        }
        guard !expected.isEmpty || !actual.isEmpty else { return nil }
        return """
            \(StateReport.describe(testCase.word, at: testCase.pc))
              inputs:   \(StateReport.inputs(of: instruction, registers: inputRegisters))
              expected: \(expected.joined(separator: ", "))
              actual:   \(actual.joined(separator: ", "))
            """
    }
}
