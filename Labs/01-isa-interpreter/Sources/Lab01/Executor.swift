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
        throw NotImplemented(lab: "01", "LUI, AUIPC and the ALU instructions (add, addi, sub, shifts, slt, logic) in Executor.executeComputation")
    }

    /// The M extension: MUL, MULH, MULHSU, MULHU, DIV, DIVU, REM, REMU, with the specification's
    /// results for division by zero and for the one signed overflow (-2^31 / -1). None of them trap.
    func executeMultiplyDivide(_ instruction: Instruction, on hart: inout Hart) throws {
        throw NotImplemented(lab: "01", "the M extension (mul, mulh, mulhsu, mulhu, div, divu, rem, remu) in Executor.executeMultiplyDivide")
    }

    /// The conditional branches. A taken branch to an address that is not 4-byte aligned raises
    /// instruction-address-misaligned (mtval = the target) at the branch; a branch not taken never does.
    func executeBranch(_ instruction: Instruction, on hart: inout Hart) throws {
        throw NotImplemented(lab: "01", "the conditional branches (beq, bne, blt, bge, bltu, bgeu) in Executor.executeBranch")
    }

    /// JAL and JALR: rd gets the address of the next instruction (pc + 4). JALR's target is
    /// (rs1 + immediate) with bit 0 cleared. A target that is not 4-byte aligned raises
    /// instruction-address-misaligned (mtval = the target) and writes nothing, not even rd.
    func executeJump(_ instruction: Instruction, on hart: inout Hart) throws {
        throw NotImplemented(lab: "01", "the jumps (jal, jalr) in Executor.executeJump")
    }

    /// LB, LH, LW, LBU, LHU: address = rs1 + immediate. LB and LH sign-extend, LBU and LHU zero-extend.
    func executeLoad(_ instruction: Instruction, on hart: inout Hart) throws {
        throw NotImplemented(lab: "01", "the loads (lb, lh, lw, lbu, lhu) in Executor.executeLoad")
    }

    /// SB, SH, SW: store the low 8, 16 or 32 bits of rs2 at rs1 + immediate.
    func executeStore(_ instruction: Instruction, on hart: inout Hart) throws {
        throw NotImplemented(lab: "01", "the stores (sb, sh, sw) in Executor.executeStore")
    }

    /// FENCE and FENCE.I, ECALL and EBREAK, and everything this user-mode RV32IM hart does not
    /// implement (CSR accesses, the A extension, privileged instructions, undecodable words),
    /// which raises illegal-instruction with the instruction word as mtval.
    func executeSystem(_ instruction: Instruction, on hart: inout Hart) throws {
        throw NotImplemented(lab: "01", "FENCE, FENCE.I, ECALL, EBREAK and the illegal-instruction trap in Executor.executeSystem")
    }
}
