// Lab 02 ships the Lab 01 reference executor, so your translator does not depend on your
// Lab 01 being right. It is not graded and not one of your files: the grader uses this copy.
// (LabFrameworkTests checks that it stays equal to the Lab 01 reference solution.)
import LabSupport
import RISCV

/// Lab 01: the execute step of an RV32IM interpreter.
///
/// The lab machine (LabSupport's `LabMachine`) does the rest of the interpreter loop for you:
/// it fetches the word at `hart.pc`, decodes it into an `Instruction` (operation, rd, rs1, rs2,
/// and an immediate that is already sign-extended and scaled), and calls `execute`. Your job is
/// to perform that one instruction on the hart:
///
/// - read source registers with `hart[instruction.rs1]`, write with `hart[instruction.rd] = value`
///   (x0 is handled for you: it reads 0 and ignores writes);
/// - use wrapping arithmetic (`&+`, `&-`, `&*`): registers are 32-bit and overflow wraps;
/// - reach memory through `hart.memory.load(_:size:)` / `store(_:at:size:)`, which throw the
///   access-fault `Trap` themselves: let it propagate with `try`;
/// - on success set `hart.pc` to the next instruction: `hart.pc &+ 4`, or the branch or jump target;
/// - raise exceptions by throwing a `Trap`, *before* changing anything (traps are precise).
public struct Executor: InstructionExecutor {
    public init() {}

    public func execute(_ instruction: Instruction, on hart: inout Hart) throws {
        switch instruction.operation {
        case .lui, .auipc,
             .addi, .slti, .sltiu, .xori, .ori, .andi, .slli, .srli, .srai,
             .add, .sub, .sll, .slt, .sltu, .xor, .srl, .sra, .or, .and:
            try executeComputation(instruction, on: &hart)
        case .mul, .mulh, .mulhsu, .mulhu, .div, .divu, .rem, .remu:
            try executeMultiplyDivide(instruction, on: &hart)
        case .beq, .bne, .blt, .bge, .bltu, .bgeu:
            try executeBranch(instruction, on: &hart)
        case .jal, .jalr:
            try executeJump(instruction, on: &hart)
        case .lb, .lh, .lw, .lbu, .lhu:
            try executeLoad(instruction, on: &hart)
        case .sb, .sh, .sw:
            try executeStore(instruction, on: &hart)
        default:
            try executeSystem(instruction, on: &hart)
        }
    }

    /// LUI, AUIPC, and the integer register-immediate and register-register instructions:
    /// arithmetic, logic, shifts and set-less-than.
    func executeComputation(_ instruction: Instruction, on hart: inout Hart) throws {
        let a = hart[instruction.rs1]
        // The second operand: rs2 for register-register forms, the immediate otherwise. For shift
        // immediates the decoder already gives the 5-bit shift amount.
        let b: UInt32
        switch instruction.operation.format {
        case .r: b = hart[instruction.rs2]
        default: b = UInt32(bitPattern: instruction.immediate)
        }
        let result: UInt32
        switch instruction.operation {
        case .lui: result = UInt32(bitPattern: instruction.immediate)
        case .auipc: result = hart.pc &+ UInt32(bitPattern: instruction.immediate)
        case .add, .addi: result = a &+ b
        case .sub: result = a &- b
        // RISC-V uses only the low 5 bits of the shift amount; Swift's masking shifts do the same.
        case .sll, .slli: result = a &<< (b & 31)
        case .srl, .srli: result = a &>> (b & 31)
        case .sra, .srai: result = UInt32(bitPattern: Int32(bitPattern: a) &>> Int32(b & 31))
        case .slt, .slti: result = Int32(bitPattern: a) < Int32(bitPattern: b) ? 1 : 0
        case .sltu, .sltiu: result = a < b ? 1 : 0
        case .xor, .xori: result = a ^ b
        case .or, .ori: result = a | b
        case .and, .andi: result = a & b
        default: throw Trap.illegalInstruction(instruction)
        }
        hart[instruction.rd] = result
        hart.pc &+= 4
    }

    /// The M extension: MUL, MULH, MULHSU, MULHU, DIV, DIVU, REM, REMU, with the specification's
    /// results for division by zero and for the one signed overflow (-2^31 / -1). None of them trap.
    func executeMultiplyDivide(_ instruction: Instruction, on hart: inout Hart) throws {
        let a = hart[instruction.rs1], b = hart[instruction.rs2]
        let signedA = Int64(Int32(bitPattern: a)), signedB = Int64(Int32(bitPattern: b))
        let result: UInt32
        switch instruction.operation {
        case .mul: result = a &* b
        // The high halves: a 64-bit product of the operands read as signed or unsigned.
        case .mulh: result = UInt32(truncatingIfNeeded: (signedA * signedB) >> 32)
        case .mulhsu: result = UInt32(truncatingIfNeeded: (signedA * Int64(b)) >> 32)
        case .mulhu: result = UInt32(truncatingIfNeeded: (UInt64(a) * UInt64(b)) >> 32)
        // Division by zero: quotient all ones, remainder the dividend. Overflow: quotient -2^31, remainder 0.
        // Dividing as 64-bit values makes -2^31 / -1 = 2^31, which truncates to -2^31 as required.
        case .div: result = b == 0 ? .max : UInt32(truncatingIfNeeded: signedA / signedB)
        case .divu: result = b == 0 ? .max : a / b
        case .rem: result = b == 0 ? a : UInt32(truncatingIfNeeded: signedA % signedB)
        case .remu: result = b == 0 ? a : a % b
        default: throw Trap.illegalInstruction(instruction)
        }
        hart[instruction.rd] = result
        hart.pc &+= 4
    }

    /// The conditional branches. A taken branch to an address that is not 4-byte aligned raises
    /// instruction-address-misaligned (mtval = the target) at the branch; a branch not taken never does.
    func executeBranch(_ instruction: Instruction, on hart: inout Hart) throws {
        let a = hart[instruction.rs1], b = hart[instruction.rs2]
        let taken: Bool
        switch instruction.operation {
        case .beq: taken = a == b
        case .bne: taken = a != b
        case .blt: taken = Int32(bitPattern: a) < Int32(bitPattern: b)
        case .bge: taken = Int32(bitPattern: a) >= Int32(bitPattern: b)
        case .bltu: taken = a < b
        case .bgeu: taken = a >= b
        default: throw Trap.illegalInstruction(instruction)
        }
        guard taken else {
            hart.pc &+= 4
            return
        }
        let target = hart.pc &+ UInt32(bitPattern: instruction.immediate)
        guard target & 3 == 0 else { throw Trap(.instructionAddressMisaligned, value: target) }
        hart.pc = target
    }

    /// JAL and JALR: rd gets the address of the next instruction (pc + 4). JALR's target is
    /// (rs1 + immediate) with bit 0 cleared. A target that is not 4-byte aligned raises
    /// instruction-address-misaligned (mtval = the target) and writes nothing, not even rd.
    func executeJump(_ instruction: Instruction, on hart: inout Hart) throws {
        let target: UInt32
        if instruction.operation == .jal {
            target = hart.pc &+ UInt32(bitPattern: instruction.immediate)
        } else {
            // Read rs1 before writing rd: they may be the same register (`jalr ra, 0(ra)`).
            target = (hart[instruction.rs1] &+ UInt32(bitPattern: instruction.immediate)) & ~1
        }
        guard target & 3 == 0 else { throw Trap(.instructionAddressMisaligned, value: target) }
        hart[instruction.rd] = hart.pc &+ 4
        hart.pc = target
    }

    /// LB, LH, LW, LBU, LHU: address = rs1 + immediate. LB and LH sign-extend, LBU and LHU zero-extend.
    func executeLoad(_ instruction: Instruction, on hart: inout Hart) throws {
        let address = hart[instruction.rs1] &+ UInt32(bitPattern: instruction.immediate)
        let value: UInt32
        switch instruction.operation {
        case .lb: value = UInt32(bitPattern: Int32(Int8(truncatingIfNeeded: try hart.memory.load(address, size: .byte))))
        case .lh: value = UInt32(bitPattern: Int32(Int16(truncatingIfNeeded: try hart.memory.load(address, size: .halfword))))
        case .lw: value = try hart.memory.load(address, size: .word)
        case .lbu: value = try hart.memory.load(address, size: .byte)
        case .lhu: value = try hart.memory.load(address, size: .halfword)
        default: throw Trap.illegalInstruction(instruction)
        }
        hart[instruction.rd] = value
        hart.pc &+= 4
    }

    /// SB, SH, SW: store the low 8, 16 or 32 bits of rs2 at rs1 + immediate.
    func executeStore(_ instruction: Instruction, on hart: inout Hart) throws {
        let address = hart[instruction.rs1] &+ UInt32(bitPattern: instruction.immediate)
        let size: AccessSize
        switch instruction.operation {
        case .sb: size = .byte
        case .sh: size = .halfword
        case .sw: size = .word
        default: throw Trap.illegalInstruction(instruction)
        }
        try hart.memory.store(hart[instruction.rs2], at: address, size: size)
        hart.pc &+= 4
    }

    /// FENCE and FENCE.I, ECALL and EBREAK, and everything this user-mode RV32IM hart does not
    /// implement (CSR accesses, the A extension, privileged instructions, undecodable words),
    /// which raises illegal-instruction with the instruction word as mtval.
    func executeSystem(_ instruction: Instruction, on hart: inout Hart) throws {
        switch instruction.operation {
        case .fence, .fenceI:
            // One in-order hart with no caches: memory order and instruction fetch are already
            // what these ask for. (Lab 02's translator is where FENCE.I gets work to do.)
            hart.pc &+= 4
        case .ecall:
            throw Trap(.environmentCall)
        case .ebreak:
            throw Trap(.breakpoint, value: hart.pc)
        default:
            throw Trap.illegalInstruction(instruction)
        }
    }
}
