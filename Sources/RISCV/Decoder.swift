/// Decoding a 32-bit word into an `Instruction`.
///
/// Every word decodes: one that is no RV32IMA/Zicsr/Zifencei/privileged instruction
/// becomes `.illegal(word)`, which an emulator turns into an illegal-instruction trap.
/// Compressed (16-bit) encodings are not part of VirtLab's ISA, so a word whose low two
/// bits are not `11` is illegal too.
extension Instruction {
    @inlinable
    public init(decoding word: UInt32) {
        self = Instruction.decode(word)
    }

    // Immediate extraction, per the ISA manual's "Immediate Encoding Variants" figure.
    @inlinable static func iImmediate(_ w: UInt32) -> Int32 { Int32(bitPattern: w) >> 20 }
    @inlinable static func sImmediate(_ w: UInt32) -> Int32 {
        (Int32(bitPattern: w & 0xFE00_0000) >> 20) | Int32((w >> 7) & 0x1F)
    }
    @inlinable static func bImmediate(_ w: UInt32) -> Int32 {
        (Int32(bitPattern: w & 0x8000_0000) >> 19)     // imm[12]
            | Int32((w & 0x80) << 4)                   // imm[11]
            | Int32((w >> 20) & 0x7E0)                 // imm[10:5]
            | Int32((w >> 7) & 0x1E)                   // imm[4:1]
    }
    @inlinable static func uImmediate(_ w: UInt32) -> Int32 { Int32(bitPattern: w & 0xFFFF_F000) }
    @inlinable static func jImmediate(_ w: UInt32) -> Int32 {
        (Int32(bitPattern: w & 0x8000_0000) >> 11)     // imm[20]
            | Int32(w & 0xF_F000)                      // imm[19:12]
            | Int32((w >> 9) & 0x800)                  // imm[11]
            | Int32((w >> 20) & 0x7FE)                 // imm[10:1]
    }

    @inlinable
    public static func decode(_ w: UInt32) -> Instruction {
        let rd = Register(truncating: w >> 7)
        let rs1 = Register(truncating: w >> 15)
        let rs2 = Register(truncating: w >> 20)
        let funct3 = (w >> 12) & 7
        let funct7 = w >> 25
        switch w & 0x7F {
        case 0x37: return Instruction(.lui, rd: rd, immediate: uImmediate(w))
        case 0x17: return Instruction(.auipc, rd: rd, immediate: uImmediate(w))
        case 0x6F: return Instruction(.jal, rd: rd, immediate: jImmediate(w))
        case 0x67:
            guard funct3 == 0 else { return .illegal(w) }
            return Instruction(.jalr, rd: rd, rs1: rs1, immediate: iImmediate(w))
        case 0x63:
            let ops: [Operation?] = [.beq, .bne, nil, nil, .blt, .bge, .bltu, .bgeu]
            guard let op = ops[Int(funct3)] else { return .illegal(w) }
            return Instruction(op, rs1: rs1, rs2: rs2, immediate: bImmediate(w))
        case 0x03:
            let ops: [Operation?] = [.lb, .lh, .lw, nil, .lbu, .lhu, nil, nil]
            guard let op = ops[Int(funct3)] else { return .illegal(w) }
            return Instruction(op, rd: rd, rs1: rs1, immediate: iImmediate(w))
        case 0x23:
            let ops: [Operation?] = [.sb, .sh, .sw, nil, nil, nil, nil, nil]
            guard let op = ops[Int(funct3)] else { return .illegal(w) }
            return Instruction(op, rs1: rs1, rs2: rs2, immediate: sImmediate(w))
        case 0x13:
            switch funct3 {
            case 1:
                guard funct7 == 0 else { return .illegal(w) }
                return Instruction(.slli, rd: rd, rs1: rs1, immediate: Int32(rs2.number))
            case 5:
                switch funct7 {
                case 0x00: return Instruction(.srli, rd: rd, rs1: rs1, immediate: Int32(rs2.number))
                case 0x20: return Instruction(.srai, rd: rd, rs1: rs1, immediate: Int32(rs2.number))
                default: return .illegal(w)
                }
            default:
                let ops: [Operation] = [.addi, .slli, .slti, .sltiu, .xori, .srli, .ori, .andi]
                return Instruction(ops[Int(funct3)], rd: rd, rs1: rs1, immediate: iImmediate(w))
            }
        case 0x33:
            let op: Operation
            switch funct7 {
            case 0x00: op = [.add, .sll, .slt, .sltu, .xor, .srl, .or, .and][Int(funct3)]
            case 0x01: op = [.mul, .mulh, .mulhsu, .mulhu, .div, .divu, .rem, .remu][Int(funct3)]
            case 0x20:
                switch funct3 {
                case 0: op = .sub
                case 5: op = .sra
                default: return .illegal(w)
                }
            default: return .illegal(w)
            }
            return Instruction(op, rd: rd, rs1: rs1, rs2: rs2)
        case 0x0F:
            switch funct3 {
            case 0: return Instruction(.fence, rd: rd, rs1: rs1, immediate: Int32((w >> 20) & 0xFFF))
            case 1: return Instruction(.fenceI, rd: rd, rs1: rs1, immediate: iImmediate(w))
            default: return .illegal(w)
            }
        case 0x73:
            let csr = UInt16(w >> 20)
            switch funct3 {
            case 0:
                switch w {
                case 0x0000_0073: return Instruction(.ecall)
                case 0x0010_0073: return Instruction(.ebreak)
                case 0x1020_0073: return Instruction(.sret)
                case 0x3020_0073: return Instruction(.mret)
                case 0x1050_0073: return Instruction(.wfi)
                default:
                    if funct7 == 0x09 && rd.number == 0 {
                        return Instruction(.sfenceVma, rs1: rs1, rs2: rs2)
                    }
                    return .illegal(w)
                }
            case 1: return Instruction(.csrrw, rd: rd, rs1: rs1, csr: csr)
            case 2: return Instruction(.csrrs, rd: rd, rs1: rs1, csr: csr)
            case 3: return Instruction(.csrrc, rd: rd, rs1: rs1, csr: csr)
            case 5: return Instruction(.csrrwi, rd: rd, immediate: Int32(rs1.number), csr: csr)
            case 6: return Instruction(.csrrsi, rd: rd, immediate: Int32(rs1.number), csr: csr)
            case 7: return Instruction(.csrrci, rd: rd, immediate: Int32(rs1.number), csr: csr)
            default: return .illegal(w)
            }
        case 0x2F:
            guard funct3 == 2 else { return .illegal(w) }
            let aq = w & (1 << 26) != 0
            let rl = w & (1 << 25) != 0
            let op: Operation
            switch w >> 27 {
            case 0b00010:
                guard rs2.number == 0 else { return .illegal(w) }
                op = .lrW
            case 0b00011: op = .scW
            case 0b00001: op = .amoswapW
            case 0b00000: op = .amoaddW
            case 0b00100: op = .amoxorW
            case 0b01100: op = .amoandW
            case 0b01000: op = .amoorW
            case 0b10000: op = .amominW
            case 0b10100: op = .amomaxW
            case 0b11000: op = .amominuW
            case 0b11100: op = .amomaxuW
            default: return .illegal(w)
            }
            return Instruction(op, rd: rd, rs1: rs1, rs2: rs2, acquire: aq, release: rl)
        case TeachingExtension.customZeroOpcode:
            guard w & TeachingExtension.popieMask == TeachingExtension.popieMatch else { return .illegal(w) }
            return Instruction(.vlabPopie, rs1: rs1)
        default:
            return .illegal(w)
        }
    }
}
