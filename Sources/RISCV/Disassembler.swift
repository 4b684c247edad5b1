/// Turns instructions back into assembly text that reads exactly like GNU objdump's.
///
/// Students compare VirtLab's listings with the ones the GNU toolchain prints, so the
/// disassembler follows `riscv64-unknown-elf-objdump -d` (binutils 2.40) to the character:
/// the same pseudo-instruction choices (`li`, `mv`, `ret`, `beqz`, `csrr`, ...), the same
/// operand syntax (`-20(s0)`, shift amounts in hex, `fence iorw,iorw` written as `fence`), the
/// same text for words that are no instruction (`.4byte 0x...`). `usePseudoInstructions: false`
/// matches `objdump -M no-aliases` and `useABINames: false` matches `objdump -M numeric`.
///
/// binutils 2.40 prints some base instructions under a shorter alias when an operand makes the
/// meaning plain: `addi a0,a0,1` as `add a0,a0,1`, `slli` as `sll a0,a0,0x3`, `csrrwi` as
/// `csrrw a0,mstatus,5`. VirtLab prints the same, because a listing that differs from the
/// reference tool on every other line would be useless to compare against; with
/// `usePseudoInstructions: false` every instruction appears under its own name.
///
/// Known, deliberate differences from objdump (the differential tests skip exactly these):
/// - RV64-only shift encodings (`slli`/`srli`/`srai` with shamt[5] set) are illegal on RV32 and
///   print as `.4byte`; objdump prints them as shifts by 32...63.
/// - `uret` and `dret` (N extension and debug mode, not part of VirtLab's ISA) print as `.4byte`.
/// - VirtLab's teaching instruction `vlab.popie rs1` (custom-0, TeachingExtension.swift) prints
///   under its name; objdump, which knows no custom-0 instruction, prints `.4byte`.
///
/// `format` sees one 32-bit word, so a word that is not a 32-bit encoding (zero, say, or
/// anything whose low bits are not `11`) prints as `.4byte 0x0`. A listing splits such bytes
/// the way objdump does: 16-bit parcels as `.2byte 0x...` (VirtLab has no C extension, and
/// neither has an ELF assembled for it), longer encodings as `.8byte`/`.byte`, zero runs as `...`.
public struct Disassembler: Sendable {
    /// Print `a0` (ABI names) rather than `x10`.
    public var useABINames: Bool
    /// Print pseudo-instructions and objdump's shorter aliases (`li`, `mv`, `ret`, `add a0,a0,1`).
    public var usePseudoInstructions: Bool

    public init(useABINames: Bool = true, usePseudoInstructions: Bool = true) {
        self.useABINames = useABINames
        self.usePseudoInstructions = usePseudoInstructions
    }

    /// objdump's text for one instruction at `address`, e.g. `lw\ta5,-20(s0)`, `j\t80000010`,
    /// `add\ta0,a0,1` (binutils 2.40's spelling of `addi a0,a0,1`; `addi\ta0,a0,1` without aliases). Branch and jump targets are absolute addresses in hex; naming them
    /// (`<main+0x10>`) and the `# address` comments objdump adds after `auipc`/`lui` pairs need
    /// the whole program, so `listing(of:fileName:)` adds those.
    public func format(_ instruction: Instruction, at address: UInt32) -> String {
        render(instruction, at: address).text
    }
}

/// One instruction as the listing needs it: the text, plus what objdump annotates it with.
struct RenderedInstruction {
    var mnemonic: String
    /// The operands before the branch or jump target, if any.
    var operands: String
    /// The absolute target of a branch or jump, printed last.
    var target: UInt32?
    /// The base register and offset of an address the instruction computes (loads, stores,
    /// `addi` with a register, `jalr`). objdump follows these to print `# 80001060 <msg>`.
    var addressBase: (register: Register, offset: Int32)?
    /// objdump looks at a `jalr` base twice when it prints an offset (`jr 8(a0)`): once for the
    /// offset, once for the register; the second look can replace the first address.
    var addressBaseReadTwice = false

    init(_ mnemonic: String, _ operands: String = "", target: UInt32? = nil,
         addressBase: (register: Register, offset: Int32)? = nil) {
        self.mnemonic = mnemonic
        self.operands = operands
        self.target = target
        self.addressBase = addressBase
    }

    /// The text with the target written as a bare hex number (`targetPrefix` is "0x" when the
    /// program has no symbols at all, as objdump does).
    func text(targetPrefix: String = "") -> String {
        var parts = operands
        if let target {
            if !parts.isEmpty { parts += "," }
            parts += targetPrefix + Disassembler.hex(target)
        }
        return parts.isEmpty ? mnemonic : mnemonic + "\t" + parts
    }

    var text: String { text() }
}


extension Disassembler {
    /// Lowercase hex without leading zeros, objdump's way of writing numbers and addresses.
    static func hex<T: BinaryInteger>(_ value: T) -> String { String(value, radix: 16) }

    func name(_ register: Register) -> String {
        useABINames ? register.abiName : "x\(register.number)"
    }

    func csrName(_ number: UInt16) -> String {
        Disassembler.csrNames[number] ?? "0x" + Disassembler.hex(number)
    }

    /// The word objdump could not decode, printed as data.
    static func rawWord(_ word: UInt32) -> RenderedInstruction {
        RenderedInstruction(".4byte", "0x" + Disassembler.hex(word))
    }

    func render(_ instruction: Instruction, at address: UInt32) -> RenderedInstruction {
        let i = instruction
        let aliases = usePseudoInstructions
        let rd = name(i.rd), rs1 = name(i.rs1), rs2 = name(i.rs2)
        let imm = i.immediate
        let op = i.operation
        let zero = Register.zero

        switch op {
        case .illegal:
            return Disassembler.rawWord(i.illegalWord)

        case .csrrw where i.rd == zero && i.rs1 == zero && i.csr == CSR.cycle:
            // `csrrw zero,cycle,zero` writes a read-only CSR: the canonical illegal instruction,
            // which assemblers and objdump call `unimp`.
            return RenderedInstruction("unimp")

        case .lui, .auipc:
            return RenderedInstruction(op.mnemonic, "\(rd),0x" + Disassembler.hex(UInt32(bitPattern: imm) >> 12))

        case .jal:
            let target = address &+ UInt32(bitPattern: imm)
            if aliases && i.rd == zero { return RenderedInstruction("j", target: target) }
            if aliases && i.rd == .ra { return RenderedInstruction("jal", target: target) }
            return RenderedInstruction("jal", rd, target: target)

        case .jalr:
            var rendered: RenderedInstruction
            let target = imm == 0 ? rs1 : "\(imm)(\(rs1))"
            if !aliases {
                rendered = RenderedInstruction("jalr", "\(rd),\(imm)(\(rs1))")
            } else if i.rd == zero && i.rs1 == .ra && imm == 0 {
                return RenderedInstruction("ret")
            } else if i.rd == zero {
                rendered = RenderedInstruction("jr", target)
            } else if i.rd == .ra {
                rendered = RenderedInstruction("jalr", target)
            } else {
                rendered = RenderedInstruction("jalr", "\(rd),\(target)")
            }
            rendered.addressBase = (i.rs1, imm)
            rendered.addressBaseReadTwice = !aliases || imm != 0
            return rendered

        case .beq, .bne, .blt, .bge, .bltu, .bgeu:
            let target = address &+ UInt32(bitPattern: imm)
            if aliases {
                switch (op, i.rs1 == zero, i.rs2 == zero) {
                case (.beq, _, true): return RenderedInstruction("beqz", rs1, target: target)
                case (.bne, _, true): return RenderedInstruction("bnez", rs1, target: target)
                case (.blt, _, true): return RenderedInstruction("bltz", rs1, target: target)
                case (.blt, true, false): return RenderedInstruction("bgtz", rs2, target: target)
                case (.bge, true, _): return RenderedInstruction("blez", rs2, target: target)
                case (.bge, false, true): return RenderedInstruction("bgez", rs1, target: target)
                default: break
                }
            }
            return RenderedInstruction(op.mnemonic, "\(rs1),\(rs2)", target: target)

        case .lb, .lh, .lw, .lbu, .lhu:
            return RenderedInstruction(op.mnemonic, "\(rd),\(imm)(\(rs1))", addressBase: (i.rs1, imm))
        case .sb, .sh, .sw:
            return RenderedInstruction(op.mnemonic, "\(rs2),\(imm)(\(rs1))", addressBase: (i.rs1, imm))

        case .addi:
            // objdump follows `addi` with a base register (`addi a0,a0,%lo(msg)`), never `li`/`mv`.
            let base: (register: Register, offset: Int32)? = i.rs1 == zero ? nil : (i.rs1, imm)
            guard aliases else { return RenderedInstruction("addi", "\(rd),\(rs1),\(imm)", addressBase: base) }
            if i.rd == zero && i.rs1 == zero && imm == 0 { return RenderedInstruction("nop") }
            if i.rs1 == zero { return RenderedInstruction("li", "\(rd),\(imm)") }
            if imm == 0 { return RenderedInstruction("mv", "\(rd),\(rs1)") }
            return RenderedInstruction("add", "\(rd),\(rs1),\(imm)", addressBase: base)
        case .slti:
            return RenderedInstruction("slti", "\(rd),\(rs1),\(imm)")
        case .sltiu:
            if aliases && imm == 1 { return RenderedInstruction("seqz", "\(rd),\(rs1)") }
            return RenderedInstruction("sltiu", "\(rd),\(rs1),\(imm)")
        case .xori:
            if aliases && imm == -1 { return RenderedInstruction("not", "\(rd),\(rs1)") }
            return RenderedInstruction(aliases ? "xor" : "xori", "\(rd),\(rs1),\(imm)")
        case .ori:
            return RenderedInstruction(aliases ? "or" : "ori", "\(rd),\(rs1),\(imm)")
        case .andi:
            if aliases && imm == 255 { return RenderedInstruction("zext.b", "\(rd),\(rs1)") }
            return RenderedInstruction(aliases ? "and" : "andi", "\(rd),\(rs1),\(imm)")
        case .slli, .srli, .srai:
            let mnemonic = aliases ? String(op.mnemonic.dropLast()) : op.mnemonic
            return RenderedInstruction(mnemonic, "\(rd),\(rs1),0x" + Disassembler.hex(imm))

        case .sub where aliases && i.rs1 == zero:
            return RenderedInstruction("neg", "\(rd),\(rs2)")
        case .slt where aliases && i.rs2 == zero:
            return RenderedInstruction("sltz", "\(rd),\(rs1)")
        case .slt where aliases && i.rs1 == zero:
            return RenderedInstruction("sgtz", "\(rd),\(rs2)")
        case .sltu where aliases && i.rs1 == zero:
            return RenderedInstruction("snez", "\(rd),\(rs2)")
        case .add, .sub, .sll, .slt, .sltu, .xor, .srl, .sra, .or, .and,
             .mul, .mulh, .mulhsu, .mulhu, .div, .divu, .rem, .remu:
            return RenderedInstruction(op.mnemonic, "\(rd),\(rs1),\(rs2)")

        case .fence:
            return renderFence(i)
        case .fenceI:
            // The Zifencei spec reserves rd, rs1 and imm; hardware ignores them, objdump does not
            // recognise a FENCE.I that sets them.
            guard i.rd == zero && i.rs1 == zero && imm == 0 else { return rawWordOf(i) }
            return RenderedInstruction("fence.i")

        case .ecall, .ebreak, .mret, .sret, .wfi:
            return RenderedInstruction(op.mnemonic)
        case .sfenceVma:
            guard aliases else { return RenderedInstruction("sfence.vma", "\(rs1),\(rs2)") }
            if i.rs2 != zero { return RenderedInstruction("sfence.vma", "\(rs1),\(rs2)") }
            return RenderedInstruction("sfence.vma", i.rs1 == zero ? "" : rs1)

        case .vlabPopie:
            // binutils knows no custom-0 instruction and prints `.4byte`; VirtLab names its own.
            return RenderedInstruction(op.mnemonic, rs1)

        case .csrrw, .csrrs, .csrrc:
            return renderCSR(i)
        case .csrrwi, .csrrsi, .csrrci:
            let csr = csrName(i.csr)
            guard aliases else { return RenderedInstruction(op.mnemonic, "\(rd),\(csr),\(imm)") }
            let base = String(op.mnemonic.dropLast())   // csrrw, csrrs, csrrc
            if i.rd == zero {
                return RenderedInstruction("csr" + String(base.suffix(1)), "\(csr),\(imm)")
            }
            return RenderedInstruction(base, "\(rd),\(csr),\(imm)")

        case .lrW:
            return RenderedInstruction(op.mnemonic + orderingSuffix(i), "\(rd),(\(rs1))")
        case .scW, .amoswapW, .amoaddW, .amoxorW, .amoandW, .amoorW,
             .amominW, .amomaxW, .amominuW, .amomaxuW:
            return RenderedInstruction(op.mnemonic + orderingSuffix(i), "\(rd),\(rs2),(\(rs1))")
        }
    }

    private func orderingSuffix(_ i: Instruction) -> String {
        switch (i.acquire, i.release) {
        case (false, false): return ""
        case (true, false): return ".aq"
        case (false, true): return ".rl"
        case (true, true): return ".aqrl"
        }
    }

    /// An instruction the decoder accepts but objdump prints as raw data (reserved fields set).
    private func rawWordOf(_ i: Instruction) -> RenderedInstruction {
        // These instructions' fields all fit, so encoding cannot fail; .illegal is a safe fallback.
        let word = (try? i.encoded()) ?? i.illegalWord
        return Disassembler.rawWord(word)
    }

    private func renderFence(_ i: Instruction) -> RenderedInstruction {
        let bits = UInt32(bitPattern: i.immediate) & 0xFFF
        let fm = bits >> 8, predecessor = bits >> 4 & 0xF, successor = bits & 0xF
        // The spec has base implementations ignore rd, rs1 and unknown fm values (treating them
        // as a plain FENCE); objdump only recognises the standard encodings.
        guard i.rd == .zero && i.rs1 == .zero else { return rawWordOf(i) }
        if fm == 0b1000 && predecessor == 0b0011 && successor == 0b0011 { return RenderedInstruction("fence.tso") }
        guard fm == 0 else { return rawWordOf(i) }
        if usePseudoInstructions && predecessor == 0xF && successor == 0xF { return RenderedInstruction("fence") }
        return RenderedInstruction("fence", fenceSet(predecessor) + "," + fenceSet(successor))
    }

    /// `iorw` letters for a FENCE predecessor or successor set; objdump writes an empty set as
    /// `unknown`.
    private func fenceSet(_ bits: UInt32) -> String {
        guard bits != 0 else { return "unknown" }
        var text = ""
        for (bit, letter) in [(UInt32(8), "i"), (4, "o"), (2, "r"), (1, "w")] where bits & bit != 0 {
            text += letter
        }
        return text
    }

    private func renderCSR(_ i: Instruction) -> RenderedInstruction {
        let rd = name(i.rd), rs1 = name(i.rs1), csr = csrName(i.csr)
        let full = RenderedInstruction(i.operation.mnemonic, "\(rd),\(csr),\(rs1)")
        guard usePseudoInstructions else { return full }
        switch i.operation {
        case .csrrs where i.rs1 == .zero:
            let counters: [UInt16: String] = [
                CSR.cycle: "rdcycle", CSR.time: "rdtime", CSR.instret: "rdinstret",
                CSR.cycleh: "rdcycleh", CSR.timeh: "rdtimeh", CSR.instreth: "rdinstreth",
            ]
            if let counter = counters[i.csr] { return RenderedInstruction(counter, rd) }
            return RenderedInstruction("csrr", "\(rd),\(csr)")
        case .csrrw where i.rd == .zero: return RenderedInstruction("csrw", "\(csr),\(rs1)")
        case .csrrs where i.rd == .zero: return RenderedInstruction("csrs", "\(csr),\(rs1)")
        case .csrrc where i.rd == .zero: return RenderedInstruction("csrc", "\(csr),\(rs1)")
        default: return full
        }
    }
}
