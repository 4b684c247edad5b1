import LabSupport
import RISCV

/// Randomly generated straight-line-and-loop programs, from a seed (so a failure repeats).
///
/// Shape: registers get random values; then a loop runs `iterations` times over a body of
/// random RV32IM instructions: ALU and M-extension operations on random registers (division by
/// zero and overflow included), loads and stores of every width at random offsets from a data
/// block, forward branches and jumps that skip a few instructions. Two registers are reserved:
/// s0 holds the data block's address and t6 counts the loop, so the program always ends
/// (with exit, status = a0 & 0xFF).
public struct RandomProgram {
    private var state: UInt64

    public init(seed: UInt64) { state = seed }

    /// splitmix64: small, fast, and the same everywhere.
    private mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    private mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }

    /// Registers the body may write: everything but zero, sp, s0 (data base) and t6 (loop counter).
    private static let writable: [Register] = (1..<32).map { Register(UInt8($0)) }
        .filter { $0 != .sp && $0.number != 8 && $0.number != 31 }

    private mutating func anyRegister() -> Register { Register(UInt8(below(32))) }
    private mutating func destination() -> Register { RandomProgram.writable[below(RandomProgram.writable.count)] }

    private mutating func interestingValue() -> Int32 {
        let specials: [Int32] = [0, 1, -1, 2, Int32.min, Int32.max, 31, 32, 0x7FF, -0x800, 0xFF, 0xFFFF]
        return below(3) == 0 ? specials[below(specials.count)] : Int32(truncatingIfNeeded: next())
    }

    /// The program: `bodyLength` random instructions, looped `iterations` times.
    public mutating func generate(name: String, bodyLength: Int = 60, iterations: Int = 20) throws(LabError) -> GuestProgram {
        let code = LabLayout.codeBase
        let data: UInt32 = 0x2_0000
        var words: [UInt32] = []
        func emit(_ instruction: Instruction) {
            words.append((try? instruction.encoded()) ?? 0x0000_0013)
        }
        func loadImmediate(_ register: Register, _ value: Int32) {
            let low = Int32(Int16(truncatingIfNeeded: value << 4) >> 4)  // sign-extended low 12 bits
            let high = value &- low
            emit(Instruction(.lui, rd: register, immediate: high))
            emit(Instruction(.addi, rd: register, rs1: register, immediate: low))
        }
        // Prologue: s0 = the middle of the data block, t6 = iterations, the rest random.
        loadImmediate(Register(8), Int32(data + 0x800))
        loadImmediate(Register(31), Int32(iterations))
        for register in RandomProgram.writable { loadImmediate(register, interestingValue()) }

        let bodyStart = words.count
        let alu: [Operation] = [.add, .sub, .sll, .slt, .sltu, .xor, .srl, .sra, .or, .and,
                                .mul, .mulh, .mulhsu, .mulhu, .div, .divu, .rem, .remu]
        let immediateALU: [Operation] = [.addi, .slti, .sltiu, .xori, .ori, .andi]
        let shifts: [Operation] = [.slli, .srli, .srai]
        let loads: [Operation] = [.lb, .lh, .lw, .lbu, .lhu]
        let stores: [Operation] = [.sb, .sh, .sw]
        let branches: [Operation] = [.beq, .bne, .blt, .bge, .bltu, .bgeu]
        var index = 0
        while index < bodyLength {
            let left = bodyLength - index
            let offset = Int32(below(4096)) - 2048
            switch below(20) {
            case 0..<7: emit(Instruction(alu[below(alu.count)], rd: destination(), rs1: anyRegister(), rs2: anyRegister()))
            case 7..<10: emit(Instruction(immediateALU[below(immediateALU.count)], rd: destination(), rs1: anyRegister(), immediate: Int32(below(4096)) - 2048))
            case 10..<12: emit(Instruction(shifts[below(shifts.count)], rd: destination(), rs1: anyRegister(), immediate: Int32(below(32))))
            case 12: emit(Instruction(below(2) == 0 ? .lui : .auipc, rd: destination(), immediate: Int32(truncatingIfNeeded: next()) & ~0xFFF))
            case 13..<15: emit(Instruction(loads[below(loads.count)], rd: destination(), rs1: Register(8), immediate: offset))
            case 15..<17: emit(Instruction(stores[below(stores.count)], rs1: Register(8), rs2: anyRegister(), immediate: offset))
            case 17..<19 where left > 2:
                // Forward, at most to the loop's decrement: skip 1...min(5, left - 1) instructions.
                let skip = 1 + below(min(5, left - 1))
                emit(Instruction(branches[below(branches.count)], rs1: anyRegister(), rs2: anyRegister(), immediate: Int32(4 * (skip + 1))))
            case 19 where left > 2:
                let skip = 1 + below(min(5, left - 1))
                emit(Instruction(.jal, rd: destination(), immediate: Int32(4 * (skip + 1))))
            default:
                emit(Instruction(.addi, rd: destination(), rs1: anyRegister(), immediate: offset))
            }
            index += 1
        }
        // Loop: t6 -= 1; bnez t6, body.
        emit(Instruction(.addi, rd: Register(31), rs1: Register(31), immediate: -1))
        emit(Instruction(.bne, rs1: Register(31), rs2: .zero, immediate: Int32(4 * (bodyStart - words.count))))
        emit(Instruction(.addi, rd: .a7, immediate: 93))
        emit(Instruction(.ecall))

        var codeBytes: [UInt8] = []
        for word in words { codeBytes += [UInt8(word & 0xFF), UInt8(word >> 8 & 0xFF), UInt8(word >> 16 & 0xFF), UInt8(word >> 24)] }
        let dataBytes: [UInt8] = (0..<4096).map { _ in UInt8(truncatingIfNeeded: next()) }
        return try GuestProgram(name: name, segments: [
            GuestProgram.Segment(address: code, bytes: codeBytes, size: UInt32(codeBytes.count)),
            GuestProgram.Segment(address: data, bytes: dataBytes, size: 4096),
        ], entry: code)
    }
}
