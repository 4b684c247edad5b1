import LabSupport
import RISCV

/// One guest basic block in host form: a straight run of guest instructions, of which only the
/// last may change control flow, turned into one host closure per instruction.
///
/// Running a block calls the closures in order. Each closure performs its guest instruction on the
/// hart, including setting `hart.pc` to the next instruction, exactly as the executor would, so a
/// closure that throws a `Trap` leaves `hart.pc` at the trapping instruction, as the lab machine
/// requires.
public struct TranslatedBlock {
    public typealias HostOperation = (inout Hart) throws -> Void

    /// The guest address of the first instruction.
    public let start: UInt32
    /// The host form, one operation per guest instruction.
    public let operations: [HostOperation]
    /// The block ends with FENCE.I: after running it, the code cache must be flushed.
    public let endsWithFenceI: Bool

    public init(start: UInt32, operations: [HostOperation], endsWithFenceI: Bool) {
        self.start = start
        self.operations = operations
        self.endsWithFenceI = endsWithFenceI
    }

    public var instructionCount: Int { operations.count }
    /// One past the guest address of the last instruction.
    public var end: UInt32 { start &+ UInt32(operations.count * 4) }
}

/// Lab 02, part 1: the translator. Decodes a guest basic block once and turns it into host form.
public struct Translator {
    /// Blocks are cut at this many instructions, so a long straight run of code is several blocks.
    public static let maximumBlockLength = 64

    /// Used for the instructions you do not specialize (see `hostOperation(for:)`).
    let executor = Executor()

    public init() {}

    /// Whether a block ends after `instruction`: anything that may change control flow (branches,
    /// jumps, ECALL and EBREAK, which trap), FENCE.I (the cache must be flushed before the next
    /// fetch), and anything that will trap as illegal.
    public static func endsBlock(_ instruction: Instruction) -> Bool {
        // BEGIN SOLUTION
        // STUB: return true  // TODO (Lab 02): decide which instructions end a basic block
        switch instruction.operation {
        case .beq, .bne, .blt, .bge, .bltu, .bgeu, .jal, .jalr, .ecall, .ebreak, .fenceI:
            return true
        case .lui, .auipc, .addi, .slti, .sltiu, .xori, .ori, .andi, .slli, .srli, .srai,
             .add, .sub, .sll, .slt, .sltu, .xor, .srl, .sra, .or, .and,
             .mul, .mulh, .mulhsu, .mulhu, .div, .divu, .rem, .remu,
             .lb, .lh, .lw, .lbu, .lhu, .sb, .sh, .sw, .fence:
            return false
        default:
            return true  // illegal here: it will trap
        }
        // END SOLUTION
    }

    /// Translates the block that starts at `pc`: decode each instruction with `memory.fetch`
    /// (once: that is the point), stop after the one that ends the block or at
    /// `maximumBlockLength`, and build the host operations.
    ///
    /// Only the *first* instruction's fetch may fail the translation (throw its Trap): if a later
    /// fetch fails, end the block before it, because that instruction may never run.
    public func translate(at pc: UInt32, memory: Memory) throws -> TranslatedBlock {
        // BEGIN SOLUTION
        // STUB: throw NotImplemented(lab: "02", "Translator.translate(at:memory:), which decodes a guest basic block into host operations")
        var operations: [TranslatedBlock.HostOperation] = []
        var address = pc
        var endsWithFenceI = false
        while operations.count < Translator.maximumBlockLength {
            let instruction: Instruction
            do {
                instruction = try memory.fetch(address)
            } catch {
                if operations.isEmpty { throw error }
                break
            }
            operations.append(hostOperation(for: instruction))
            if Translator.endsBlock(instruction) {
                endsWithFenceI = instruction.operation == .fenceI
                break
            }
            address &+= 4
        }
        return TranslatedBlock(start: pc, operations: operations, endsWithFenceI: endsWithFenceI)
        // END SOLUTION
    }

    /// The host form of one instruction. Specializing the common instructions into closures that
    /// capture their operands is what makes translated code fast: no decode, no switch on the
    /// operation at run time. Anything else can fall back to the executor.
    public func hostOperation(for instruction: Instruction) -> TranslatedBlock.HostOperation {
        // BEGIN SOLUTION
        // STUB: let executor = self.executor
        // STUB: return { hart in try executor.execute(instruction, on: &hart) }  // TODO (Lab 02): specialize the common instructions
        let rd = instruction.rd, rs1 = instruction.rs1, rs2 = instruction.rs2
        let immediate = UInt32(bitPattern: instruction.immediate)
        switch instruction.operation {
        case .addi:
            return { hart in hart[rd] = hart[rs1] &+ immediate; hart.pc &+= 4 }
        case .add:
            return { hart in hart[rd] = hart[rs1] &+ hart[rs2]; hart.pc &+= 4 }
        case .sub:
            return { hart in hart[rd] = hart[rs1] &- hart[rs2]; hart.pc &+= 4 }
        case .andi:
            return { hart in hart[rd] = hart[rs1] & immediate; hart.pc &+= 4 }
        case .and:
            return { hart in hart[rd] = hart[rs1] & hart[rs2]; hart.pc &+= 4 }
        case .or:
            return { hart in hart[rd] = hart[rs1] | hart[rs2]; hart.pc &+= 4 }
        case .xor:
            return { hart in hart[rd] = hart[rs1] ^ hart[rs2]; hart.pc &+= 4 }
        case .slli:
            return { hart in hart[rd] = hart[rs1] &<< immediate; hart.pc &+= 4 }
        case .srli:
            return { hart in hart[rd] = hart[rs1] &>> immediate; hart.pc &+= 4 }
        case .lui:
            return { hart in hart[rd] = immediate; hart.pc &+= 4 }
        case .lw:
            return { hart in
                let value = try hart.memory.load(hart[rs1] &+ immediate, size: .word)
                hart[rd] = value
                hart.pc &+= 4
            }
        case .sw:
            return { hart in
                try hart.memory.store(hart[rs2], at: hart[rs1] &+ immediate, size: .word)
                hart.pc &+= 4
            }
        case .beq, .bne, .blt, .bge, .bltu, .bgeu:
            let operation = instruction.operation
            return { hart in
                let a = hart[rs1], b = hart[rs2]
                let taken: Bool
                switch operation {
                case .beq: taken = a == b
                case .bne: taken = a != b
                case .blt: taken = Int32(bitPattern: a) < Int32(bitPattern: b)
                case .bge: taken = Int32(bitPattern: a) >= Int32(bitPattern: b)
                case .bltu: taken = a < b
                default: taken = a >= b
                }
                if taken {
                    let target = hart.pc &+ immediate
                    guard target & 3 == 0 else { throw Trap(.instructionAddressMisaligned, value: target) }
                    hart.pc = target
                } else {
                    hart.pc &+= 4
                }
            }
        default:
            let executor = self.executor
            return { hart in try executor.execute(instruction, on: &hart) }
        }
        // END SOLUTION
    }
}
