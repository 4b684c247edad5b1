import LabSupport
import RISCV

/// How the tests print machine state in failure messages: registers by ABI name, values in hex.
enum StateReport {
    static let disassembler = Disassembler()

    static func name(_ number: Int) -> String { Register(UInt8(number)).abiName }

    /// `add a0, a1, a2` with its pc and word.
    static func describe(_ word: UInt32, at pc: UInt32) -> String {
        "\(disassembler.format(Instruction(decoding: word), at: pc))  (pc 0x\(hex8(pc)), word 0x\(hex8(word)))"
    }

    /// The registers an instruction reads, with their values: "a1 = 0x00000001, a2 = 0x00000002".
    static func inputs(of instruction: Instruction, registers: [UInt32]) -> String {
        var read: [Register] = []
        switch instruction.operation.format {
        case .r, .s, .b, .atomic, .sfence: read = [instruction.rs1, instruction.rs2]
        case .i, .load, .shift, .csr, .loadReserved: read = [instruction.rs1]
        default: read = []
        }
        var seen = Set<UInt8>()
        let parts = read.filter { seen.insert($0.number).inserted }
            .map { "\($0.abiName) = 0x\(hex8(registers[Int($0.number)]))" }
        return parts.isEmpty ? "(no register inputs)" : parts.joined(separator: ", ")
    }

    /// The registers that differ between two register files, as "expected" and "actual" lines.
    static func registerDifferences(expected: [UInt32], actual: [UInt32]) -> (expected: [String], actual: [String]) {
        var e: [String] = [], a: [String] = []
        for index in 1..<32 where expected[index] != actual[index] {
            e.append("\(name(index)) = 0x\(hex8(expected[index]))")
            a.append("\(name(index)) = 0x\(hex8(actual[index]))")
        }
        return (e, a)
    }
}

extension LabMachine.Stop {
    /// Whether two stops are the same for a test: lab-code failures always differ.
    func sameOutcome(as other: LabMachine.Stop?) -> Bool {
        if case .labCodeFailed = self { return false }
        return self == other
    }
}
