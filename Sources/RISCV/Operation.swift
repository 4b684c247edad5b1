/// Every RV32 operation VirtLab knows: RV32I, M, A, Zicsr, Zifencei, the privileged
/// instructions, and one teaching extension in the custom-0 space (`vlab.popie`, see
/// TeachingExtension.swift). This file is the ISA as data: each operation's instruction format and
/// its fixed bits (`match` under `mask`), exactly as the ISA manual's opcode tables give them.
/// The encoder is driven by this table; the decoder is a hand-written switch over the same
/// bits (fast, because it runs once per emulated instruction) and a test checks the two agree.
public enum Operation: UInt8, CaseIterable, Sendable {
    // RV32I
    case lui, auipc, jal, jalr
    case beq, bne, blt, bge, bltu, bgeu
    case lb, lh, lw, lbu, lhu
    case sb, sh, sw
    case addi, slti, sltiu, xori, ori, andi, slli, srli, srai
    case add, sub, sll, slt, sltu, xor, srl, sra, or, and
    case fence, ecall, ebreak
    // Zifencei
    case fenceI
    // Zicsr
    case csrrw, csrrs, csrrc, csrrwi, csrrsi, csrrci
    // M
    case mul, mulh, mulhsu, mulhu, div, divu, rem, remu
    // A
    case lrW, scW, amoswapW, amoaddW, amoxorW, amoandW, amoorW, amominW, amomaxW, amominuW, amomaxuW
    // Privileged
    case mret, sret, wfi, sfenceVma
    /// VirtLab's teaching extension: the one sensitive-but-unprivileged instruction
    /// (custom-0 space; TeachingExtension.swift says what it does and why it exists).
    case vlabPopie
    /// A word that is not any of the above. Decoding never fails; it yields this.
    case illegal
}

/// How an operation's operands are laid out in the 32-bit word.
public enum InstructionFormat: Sendable {
    case r          // rd, rs1, rs2
    case i          // rd, rs1, imm[11:0]
    case load       // I-type, printed as rd, imm(rs1)
    case shift      // rd, rs1, shamt[4:0]
    case s          // rs2, imm(rs1)
    case b          // rs1, rs2, pc-relative imm[12:1]
    case u          // rd, imm[31:12]
    case j          // rd, pc-relative imm[20:1]
    case csr        // rd, csr, rs1
    case csrImmediate // rd, csr, uimm[4:0]
    case fence      // pred, succ
    case atomic     // rd, rs2, (rs1), with aq/rl bits
    case loadReserved // rd, (rs1), with aq/rl bits
    case fixed      // no operands: the whole word is the match value
    case sfence     // rs1, rs2
    case sourceOnly // rs1 alone; rd and imm[11:0] are zero (vlab.popie)
}

extension Operation {
    /// The assembler mnemonic: `fence.i`, `lr.w`, `amoadd.w`, `sfence.vma`.
    public var mnemonic: String {
        switch self {
        case .fenceI: return "fence.i"
        case .lrW: return "lr.w"
        case .scW: return "sc.w"
        case .amoswapW: return "amoswap.w"
        case .amoaddW: return "amoadd.w"
        case .amoxorW: return "amoxor.w"
        case .amoandW: return "amoand.w"
        case .amoorW: return "amoor.w"
        case .amominW: return "amomin.w"
        case .amomaxW: return "amomax.w"
        case .amominuW: return "amominu.w"
        case .amomaxuW: return "amomaxu.w"
        case .sfenceVma: return "sfence.vma"
        case .vlabPopie: return "vlab.popie"
        case .illegal: return ".insn"
        default: return String(describing: self)
        }
    }

    /// Looks an operation up by its mnemonic (`amoadd.w` and `amoadd.w.aqrl` both give `amoaddW`;
    /// the ordering suffix is the caller's to parse).
    public init?(mnemonic: String) {
        guard let op = Operation.byMnemonic[mnemonic] else { return nil }
        self = op
    }

    private static let byMnemonic: [String: Operation] = {
        var table: [String: Operation] = [:]
        for op in Operation.allCases where op != .illegal { table[op.mnemonic] = op }
        return table
    }()

    public var format: InstructionFormat {
        switch self {
        case .lui, .auipc: return .u
        case .jal: return .j
        case .jalr, .addi, .slti, .sltiu, .xori, .ori, .andi: return .i
        case .beq, .bne, .blt, .bge, .bltu, .bgeu: return .b
        case .lb, .lh, .lw, .lbu, .lhu: return .load
        case .sb, .sh, .sw: return .s
        case .slli, .srli, .srai: return .shift
        case .add, .sub, .sll, .slt, .sltu, .xor, .srl, .sra, .or, .and,
             .mul, .mulh, .mulhsu, .mulhu, .div, .divu, .rem, .remu: return .r
        case .fence: return .fence
        case .fenceI, .ecall, .ebreak, .mret, .sret, .wfi, .illegal: return .fixed
        case .csrrw, .csrrs, .csrrc: return .csr
        case .csrrwi, .csrrsi, .csrrci: return .csrImmediate
        case .lrW: return .loadReserved
        case .scW, .amoswapW, .amoaddW, .amoxorW, .amoandW, .amoorW,
             .amominW, .amomaxW, .amominuW, .amomaxuW: return .atomic
        case .sfenceVma: return .sfence
        case .vlabPopie: return .sourceOnly
        }
    }

    /// The bits that identify this operation, and which bits of the word they occupy.
    /// (`word & mask == match` holds for every encoding of the operation.)
    public var encodingPattern: (match: UInt32, mask: UInt32) {
        let opcodeOnly: UInt32 = 0x7F
        let withFunct3: UInt32 = 0x707F
        let withFunct7: UInt32 = 0xFE00_707F
        let amo: UInt32 = 0xF800_707F
        func f3(_ opcode: UInt32, _ funct3: UInt32) -> UInt32 { opcode | funct3 << 12 }
        func f7(_ opcode: UInt32, _ funct3: UInt32, _ funct7: UInt32) -> UInt32 {
            opcode | funct3 << 12 | funct7 << 25
        }
        func a(_ funct5: UInt32) -> UInt32 { 0x2F | 2 << 12 | funct5 << 27 }
        switch self {
        case .lui: return (0x37, opcodeOnly)
        case .auipc: return (0x17, opcodeOnly)
        case .jal: return (0x6F, opcodeOnly)
        case .jalr: return (f3(0x67, 0), withFunct3)
        case .beq: return (f3(0x63, 0), withFunct3)
        case .bne: return (f3(0x63, 1), withFunct3)
        case .blt: return (f3(0x63, 4), withFunct3)
        case .bge: return (f3(0x63, 5), withFunct3)
        case .bltu: return (f3(0x63, 6), withFunct3)
        case .bgeu: return (f3(0x63, 7), withFunct3)
        case .lb: return (f3(0x03, 0), withFunct3)
        case .lh: return (f3(0x03, 1), withFunct3)
        case .lw: return (f3(0x03, 2), withFunct3)
        case .lbu: return (f3(0x03, 4), withFunct3)
        case .lhu: return (f3(0x03, 5), withFunct3)
        case .sb: return (f3(0x23, 0), withFunct3)
        case .sh: return (f3(0x23, 1), withFunct3)
        case .sw: return (f3(0x23, 2), withFunct3)
        case .addi: return (f3(0x13, 0), withFunct3)
        case .slti: return (f3(0x13, 2), withFunct3)
        case .sltiu: return (f3(0x13, 3), withFunct3)
        case .xori: return (f3(0x13, 4), withFunct3)
        case .ori: return (f3(0x13, 6), withFunct3)
        case .andi: return (f3(0x13, 7), withFunct3)
        case .slli: return (f7(0x13, 1, 0x00), withFunct7)
        case .srli: return (f7(0x13, 5, 0x00), withFunct7)
        case .srai: return (f7(0x13, 5, 0x20), withFunct7)
        case .add: return (f7(0x33, 0, 0x00), withFunct7)
        case .sub: return (f7(0x33, 0, 0x20), withFunct7)
        case .sll: return (f7(0x33, 1, 0x00), withFunct7)
        case .slt: return (f7(0x33, 2, 0x00), withFunct7)
        case .sltu: return (f7(0x33, 3, 0x00), withFunct7)
        case .xor: return (f7(0x33, 4, 0x00), withFunct7)
        case .srl: return (f7(0x33, 5, 0x00), withFunct7)
        case .sra: return (f7(0x33, 5, 0x20), withFunct7)
        case .or: return (f7(0x33, 6, 0x00), withFunct7)
        case .and: return (f7(0x33, 7, 0x00), withFunct7)
        case .mul: return (f7(0x33, 0, 0x01), withFunct7)
        case .mulh: return (f7(0x33, 1, 0x01), withFunct7)
        case .mulhsu: return (f7(0x33, 2, 0x01), withFunct7)
        case .mulhu: return (f7(0x33, 3, 0x01), withFunct7)
        case .div: return (f7(0x33, 4, 0x01), withFunct7)
        case .divu: return (f7(0x33, 5, 0x01), withFunct7)
        case .rem: return (f7(0x33, 6, 0x01), withFunct7)
        case .remu: return (f7(0x33, 7, 0x01), withFunct7)
        case .fence: return (f3(0x0F, 0), withFunct3)
        case .fenceI: return (f3(0x0F, 1), withFunct3)
        case .ecall: return (0x0000_0073, 0xFFFF_FFFF)
        case .ebreak: return (0x0010_0073, 0xFFFF_FFFF)
        case .sret: return (0x1020_0073, 0xFFFF_FFFF)
        case .mret: return (0x3020_0073, 0xFFFF_FFFF)
        case .wfi: return (0x1050_0073, 0xFFFF_FFFF)
        case .sfenceVma: return (f7(0x73, 0, 0x09), 0xFE00_7FFF)
        case .csrrw: return (f3(0x73, 1), withFunct3)
        case .csrrs: return (f3(0x73, 2), withFunct3)
        case .csrrc: return (f3(0x73, 3), withFunct3)
        case .csrrwi: return (f3(0x73, 5), withFunct3)
        case .csrrsi: return (f3(0x73, 6), withFunct3)
        case .csrrci: return (f3(0x73, 7), withFunct3)
        case .lrW: return (a(0b00010), 0xF9F0_707F)
        case .scW: return (a(0b00011), amo)
        case .amoswapW: return (a(0b00001), amo)
        case .amoaddW: return (a(0b00000), amo)
        case .amoxorW: return (a(0b00100), amo)
        case .amoandW: return (a(0b01100), amo)
        case .amoorW: return (a(0b01000), amo)
        case .amominW: return (a(0b10000), amo)
        case .amomaxW: return (a(0b10100), amo)
        case .amominuW: return (a(0b11000), amo)
        case .amomaxuW: return (a(0b11100), amo)
        case .vlabPopie: return (TeachingExtension.popieMatch, TeachingExtension.popieMask)
        case .illegal: return (0, 0)
        }
    }
}
