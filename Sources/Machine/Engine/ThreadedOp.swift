/// The translator's host form of one guest instruction: decoded once, executed many times.
///
/// A translated block is a run of these in the code cache, ending with a *terminator* (a branch,
/// a jump, an instruction handed to the interpreter, or `.fallThrough`). Everything the
/// interpreter works out per execution — which operation, which registers, the sign-extended
/// immediate, the absolute target of a pc-relative jump — is worked out here once, so executing
/// an op is one jump-table dispatch and the operation itself.
///
/// Register fields are indices into the hart's register file; a destination of x0 is rewritten
/// to `HartState.discardRegister`, so no op needs an "is rd zero?" test.
struct ThreadedOp {
    var kind: Kind
    var rd: UInt8 = 0
    var rs1: UInt8 = 0
    var rs2: UInt8 = 0
    /// The immediate operand: sign-extended, or an absolute value computed at translation time
    /// (LUI/AUIPC results, branch and jump targets).
    var immediate: UInt32 = 0
    /// A second constant: the fall-through pc of a branch, the link value of JAL/JALR.
    var extra: UInt32 = 0

    /// One case per operation and operand shape, so the dispatch is a single switch.
    enum Kind: UInt8 {
        // x[rd] = x[rs1] op immediate
        case addi, slti, sltiu, xori, ori, andi, slli, srli, srai
        // x[rd] = x[rs1] op x[rs2]
        case add, sub, sll, slt, sltu, xor, srl, sra, or, and
        case mul, mulh, mulhsu, mulhu, div, divu, rem, remu
        /// x[rd] = immediate (LUI, and AUIPC with the pc folded in at translation time).
        case loadImmediate
        case lb, lh, lw, lbu, lhu
        case sb, sh, sw
        /// FENCE: orders nothing on one in-order hart.
        case nop

        // Terminators: each ends its block.
        /// Conditional branches to `immediate`, or on to `extra`.
        case beq, bne, blt, bge, bltu, bgeu
        /// x[rd] = extra; pc = immediate.
        case jal
        /// pc = (x[rs1] + immediate) & ~1, x[rd] = extra (target read before the link is written).
        case jalr
        /// The block ends without a control transfer (page end or length limit): pc = immediate.
        case fallThrough
        /// An instruction the translator leaves to the interpreter (SYSTEM, atomics, FENCE.I,
        /// illegal encodings, jumps to misaligned targets): it runs exactly that one instruction, then
        /// control returns to `Machine.run`, as the interpreter itself does after such instructions.
        case interpret
    }

    /// Terminators that retire as an instruction of the block. (`.fallThrough` is not an
    /// instruction; `.interpret` is counted by the interpreter that runs it.)
    var isTerminator: Bool { kind.rawValue >= Kind.beq.rawValue }
    var isConditionalBranch: Bool { kind.rawValue >= Kind.beq.rawValue && kind.rawValue <= Kind.bgeu.rawValue }
}
