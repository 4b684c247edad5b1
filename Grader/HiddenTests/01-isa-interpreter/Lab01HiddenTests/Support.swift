import Lab01
import LabSupport
import LabTestSupport
import RISCV
import Testing

func check(_ testCase: InstructionCase, sourceLocation: SourceLocation = #_sourceLocation) {
    if let mismatch = InstructionCheck.mismatch(testCase, executor: Executor()) {
        Issue.record(Comment(rawValue: mismatch), sourceLocation: sourceLocation)
    }
}

/// Runs a program in lock-step with the reference; the run ends at the first divergence.
/// The default cap is ten times the longest of these programs (heap.elf, 876,138 instructions):
/// it only matters if a program never ends, and then it bounds the test's time.
func checkProgram(_ program: GuestProgram, maxInstructions: UInt64 = 10_000_000, sourceLocation: SourceLocation = #_sourceLocation) -> DifferentialResult {
    let result = LockStep.run(program, executor: Executor(), maxInstructions: maxInstructions)
    if let failure = Explain.failure(result) { Issue.record(Comment(rawValue: failure), sourceLocation: sourceLocation) }
    return result
}

let a2 = Register(12)
/// Operand values that find the usual mistakes: signs, the top bit, wrap-around, shift amounts past 31.
let operandPairs: [(UInt32, UInt32)] = [
    (0, 0), (1, 1), (5, 3), (3, 5), (0xFFFF_FFFF, 1), (1, 0xFFFF_FFFF), (0x8000_0000, 0xFFFF_FFFF),
    (0x7FFF_FFFF, 1), (0x8000_0000, 0x7FFF_FFFF), (0x1234_5678, 0x9ABC_DEF0), (0xFFFF_FFFF, 0xFFFF_FFFF),
    (0x8000_0001, 33), (0xF000_000F, 31), (0x0F0F_0F0F, 0xFFFF_FFE4),
]

func registerCases(_ mnemonics: [String]) -> [InstructionCase] {
    mnemonics.flatMap { mnemonic in
        operandPairs.map { InstructionCase("\(mnemonic) a0, a1, a2", [.a1: $0.0, a2: $0.1]) }
    } + mnemonics.map { InstructionCase("\($0) a1, a1, a1", [.a1: 0x8765_4321]) }   // rd = rs1 = rs2
      + mnemonics.map { InstructionCase("\($0) zero, a1, a2", [.a1: 7, a2: 9]) }     // x0 stays 0
}
