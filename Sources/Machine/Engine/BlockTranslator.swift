import RISCV

/// The guest code a block may be translated from: the instruction words from the block's first
/// instruction to the end of its 4 KiB page. A block never crosses a page, so one fetch
/// translation (done by the engine before translating) covers all of it.
struct GuestCode {
    let words: UnsafeRawPointer
    /// How many words there are before the page ends.
    let count: Int

    func word(_ index: Int) -> UInt32 {
        words.loadUnaligned(fromByteOffset: 4 * index, as: UInt32.self)
    }
}

/// The translate-a-block step, as a protocol so a lab can supply its own: given the guest code at
/// `virtualPC`, produce the ops of one block, ending with exactly one terminator. The engine and
/// the code cache do the rest (lookup, chaining, invalidation, counting, traps).
///
/// The contract a translation must keep for the engines to stay identical: op *i* stands for the
/// instruction at `virtualPC + 4 * i`; only the last op is a terminator; an instruction whose
/// effect the ops cannot express is translated as `.interpret`, which ends the block.
protocol BlockTranslating {
    func translateBlock(at virtualPC: UInt32, code: GuestCode) -> [ThreadedOp]
}

/// VirtLab's block translator: decodes each instruction once with `Instruction.decode` (the
/// same decoder as the disassembler), folds pc-relative values into constants, and stops at the
/// first control transfer, SYSTEM or atomic instruction, FENCE.I, illegal word, or the page end.
struct BlockTranslator: BlockTranslating {
    /// Longer straight-line runs are split, so one block's ops stay a few cache lines and a
    /// store that invalidates a block throws away little work.
    static let maximumInstructions = 128

    func translateBlock(at virtualPC: UInt32, code: GuestCode) -> [ThreadedOp] {
        var ops: [ThreadedOp] = []
        ops.reserveCapacity(min(code.count, Self.maximumInstructions) + 1)
        var pc = virtualPC
        for index in 0..<min(code.count, Self.maximumInstructions) {
            let word = code.word(index)
            let op = Self.translate(Instruction.decode(word), at: pc)
            ops.append(op)
            if op.isTerminator { return ops }
            pc &+= 4
        }
        ops.append(ThreadedOp(kind: .fallThrough, immediate: pc))
        return ops
    }

    /// One instruction's op. Anything not listed becomes `.interpret`.
    static func translate(_ instruction: Instruction, at pc: UInt32) -> ThreadedOp {
        let rd = instruction.rd.number == 0 ? UInt8(HartState.discardRegister) : instruction.rd.number
        let rs1 = instruction.rs1.number, rs2 = instruction.rs2.number
        let immediate = UInt32(bitPattern: instruction.immediate)
        func op(_ kind: ThreadedOp.Kind) -> ThreadedOp {
            ThreadedOp(kind: kind, rd: rd, rs1: rs1, rs2: rs2, immediate: immediate)
        }
        let interpret = ThreadedOp(kind: .interpret)

        switch instruction.operation {
        case .lui: return ThreadedOp(kind: .loadImmediate, rd: rd, immediate: immediate)
        case .auipc: return ThreadedOp(kind: .loadImmediate, rd: rd, immediate: pc &+ immediate)
        case .jal:
            let target = pc &+ immediate
            // A misaligned target traps at the jump; the interpreter knows how.
            guard target & 3 == 0 else { return interpret }
            return ThreadedOp(kind: .jal, rd: rd, immediate: target, extra: pc &+ 4)
        case .jalr:
            return ThreadedOp(kind: .jalr, rd: rd, rs1: rs1, immediate: immediate, extra: pc &+ 4)
        case .beq, .bne, .blt, .bge, .bltu, .bgeu:
            let target = pc &+ immediate
            guard target & 3 == 0 else { return interpret }
            let kind: ThreadedOp.Kind
            switch instruction.operation {
            case .beq: kind = .beq
            case .bne: kind = .bne
            case .blt: kind = .blt
            case .bge: kind = .bge
            case .bltu: kind = .bltu
            default: kind = .bgeu
            }
            return ThreadedOp(kind: kind, rs1: rs1, rs2: rs2, immediate: target, extra: pc &+ 4)
        case .lb: return op(.lb)
        case .lh: return op(.lh)
        case .lw: return op(.lw)
        case .lbu: return op(.lbu)
        case .lhu: return op(.lhu)
        case .sb: return op(.sb)
        case .sh: return op(.sh)
        case .sw: return op(.sw)
        case .addi: return op(.addi)
        case .slti: return op(.slti)
        case .sltiu: return op(.sltiu)
        case .xori: return op(.xori)
        case .ori: return op(.ori)
        case .andi: return op(.andi)
        case .slli: return op(.slli)
        case .srli: return op(.srli)
        case .srai: return op(.srai)
        case .add: return op(.add)
        case .sub: return op(.sub)
        case .sll: return op(.sll)
        case .slt: return op(.slt)
        case .sltu: return op(.sltu)
        case .xor: return op(.xor)
        case .srl: return op(.srl)
        case .sra: return op(.sra)
        case .or: return op(.or)
        case .and: return op(.and)
        case .mul: return op(.mul)
        case .mulh: return op(.mulh)
        case .mulhsu: return op(.mulhsu)
        case .mulhu: return op(.mulhu)
        case .div: return op(.div)
        case .divu: return op(.divu)
        case .rem: return op(.rem)
        case .remu: return op(.remu)
        case .fence: return ThreadedOp(kind: .nop)
        case .fenceI, .ecall, .ebreak, .mret, .sret, .wfi, .sfenceVma,
             .csrrw, .csrrs, .csrrc, .csrrwi, .csrrsi, .csrrci,
             .lrW, .scW, .amoswapW, .amoaddW, .amoxorW, .amoandW, .amoorW,
             .amominW, .amomaxW, .amominuW, .amomaxuW, .illegal,
             .vlabPopie:  // changes an interrupt enable, so the run loop must look again after it
            return interpret
        }
    }
}
