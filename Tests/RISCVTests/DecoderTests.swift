import Testing
@testable import RISCV

/// Deterministic pseudo-random numbers (SplitMix64), so a failing sweep is reproducible.
struct CodecTestRandom: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func word() -> UInt32 { UInt32(truncatingIfNeeded: next()) }
}

/// The decoder against the ISA table in Operation.swift and against the encoder: the decoder is
/// a hand-written switch, the encoder is driven by the table, so agreement between the two over
/// the whole opcode space checks each against the other.
@Suite struct DecoderTests {
    /// The table's patterns, grouped by opcode (every pattern fixes all seven opcode bits), so the
    /// sweeps below look at a handful of patterns per word instead of all seventy.
    static let patternsByOpcode: [[(operation: Operation, match: UInt32, mask: UInt32)]] = {
        var buckets = [[(operation: Operation, match: UInt32, mask: UInt32)]](repeating: [], count: 128)
        for op in Operation.allCases where op != .illegal {
            let (match, mask) = op.encodingPattern
            precondition(mask & 0x7F == 0x7F, "\(op)'s pattern does not fix the opcode")
            buckets[Int(match & 0x7F)].append((op, match, mask))
        }
        return buckets
    }()

    /// The operations whose fixed bits a word has, per the table.
    static func matchingOperations(_ word: UInt32) -> [Operation] {
        var found: [Operation] = []
        for pattern in patternsByOpcode[Int(word & 0x7F)] where word & pattern.mask == pattern.match {
            found.append(pattern.operation)
        }
        return found
    }

    /// Every combination of opcode, funct3 and funct7 (with several rd and rs2 values, which the
    /// SYSTEM and AMO encodings also constrain) decodes to exactly the operation the table says,
    /// or to `.illegal` when the table has none.
    @Test func decoderAgreesWithTheTableOnEveryOpcodeAndFunctField() {
        var disagreements: [String] = []
        for opcode: UInt32 in 0..<128 {
            for funct3: UInt32 in 0..<8 {
                for funct7: UInt32 in 0..<128 {
                    for (rd, rs2): (UInt32, UInt32) in [(0, 0), (0, 1), (0, 2), (0, 5), (1, 0), (1, 2), (0, 31), (5, 0)] {
                        let word = opcode | rd << 7 | funct3 << 12 | rs2 << 20 | funct7 << 25
                        let matching = Self.matchingOperations(word)
                        let decoded = Instruction.decode(word).operation
                        if matching.count > 1 || decoded != (matching.first ?? .illegal) {
                            disagreements.append("0x\(String(word, radix: 16)): table \(matching), decoder \(decoded)")
                        }
                    }
                }
            }
        }
        #expect(disagreements.isEmpty, "\(disagreements.count) words, first: \(disagreements.prefix(10))")
    }

    /// 2^20 pseudo-random words: the decoder agrees with the table, and every legal word
    /// re-encodes to itself (every bit of a legal RV32 word is either fixed or an operand field
    /// the instruction keeps, FENCE's reserved fields included).
    @Test func randomWordsDecodeConsistentlyAndRoundTrip() {
        var random = CodecTestRandom(seed: 0x5EED)
        var problems: [String] = []
        var legal = 0
        for _ in 0..<(1 << 20) {
            // Half the words get low bits 11, so most of them land in the 32-bit opcode space.
            var word = random.word()
            if word & 1 == 0 { word |= 3 }
            let instruction = Instruction.decode(word)
            let matching = Self.matchingOperations(word)
            if instruction.operation != (matching.first ?? .illegal) || matching.count > 1 {
                problems.append("0x\(String(word, radix: 16)) decodes to \(instruction.operation), table says \(matching)")
                continue
            }
            guard instruction.operation != .illegal else {
                if instruction.illegalWord != word { problems.append("0x\(String(word, radix: 16)) lost its word") }
                continue
            }
            legal += 1
            do {
                let encoded = try instruction.encoded()
                if encoded != word {
                    problems.append("0x\(String(word, radix: 16)) re-encodes as 0x\(String(encoded, radix: 16))")
                }
            } catch {
                problems.append("0x\(String(word, radix: 16)) (\(instruction.operation)) does not re-encode: \(error)")
            }
        }
        #expect(problems.isEmpty, "\(problems.count) problems, first: \(problems.prefix(10))")
        #expect(legal > 100_000, "the sweep should hit many legal words, hit \(legal)")
    }

    @Test(arguments: [
        (0x0000_0000, "all zeros (also a compressed encoding)"),
        (0xFFFF_FFFF, "all ones (reserved long encoding)"),
        (0x0000_0001, "compressed: c.nop"),
        (0x0000_8082, "compressed: c.ret"),
        (0x0000_4501, "compressed: c.li"),
        (0x0000_001F, "48-bit encoding"),
        (0x0000_003F, "64-bit encoding"),
        (0x0000_007F, "long encoding"),
        // custom-0 holds one VirtLab instruction, vlab.popie (0x0000_000B with any rs1); the rest is illegal.
        (0x0000_100B, "custom-0 opcode, funct3 1"),
        (0x0000_008B, "custom-0 opcode, vlab.popie with rd set"),
        (0x0010_000B, "custom-0 opcode, vlab.popie with an immediate"),
        (0x0000_0007, "LOAD-FP opcode (no F extension)"),
        (0x0000_0053, "OP-FP opcode"),
        (0x0000_001B, "OP-IMM-32 (RV64 only)"),
        (0x0000_003B, "OP-32 (RV64 only)"),
        (0x0000_3003, "ld: load funct3 3 (RV64 only)"),
        (0x0000_6003, "lwu: load funct3 6 (RV64 only)"),
        (0x0000_7003, "load funct3 7"),
        (0x0000_3023, "sd: store funct3 3 (RV64 only)"),
        (0x0000_4023, "store funct3 4"),
        (0x0000_2063, "branch funct3 2"),
        (0x0000_3063, "branch funct3 3"),
        (0x0000_1067, "jalr funct3 1"),
        (0x0000_2067, "jalr funct3 2"),
        (0x0200_1013, "slli with shamt[5] (RV64 only)"),
        (0x4000_1013, "slli with bit 30"),
        (0x0200_5013, "srli with shamt[5] (RV64 only)"),
        (0x4200_5013, "srai with shamt[5] (RV64 only)"),
        (0x6000_5013, "srai with bit 29 too"),
        (0xC000_5013, "srai with bit 31 instead of 30"),
        (0x4000_1033, "sll with bit 30"),
        (0x4000_2033, "slt with bit 30"),
        (0x4000_7033, "and with bit 30"),
        (0x4200_0033, "sub with the M bit"),
        (0x8000_0033, "add with funct7 0x40"),
        (0x0800_0033, "add with funct7 0x04"),
        (0x0000_200F, "misc-mem funct3 2"),
        (0x0000_4073, "system funct3 4 (hypervisor loads)"),
        (0x0000_8073, "ecall with rs1 set"),
        (0x0000_0473, "ecall with rd set"),
        (0x0020_0073, "uret (N extension, not implemented)"),
        (0x7B20_0073, "dret (debug mode)"),
        (0x1030_0073, "sret variant"),
        (0x1050_0473, "wfi with rd set"),
        (0x1200_0F73, "sfence.vma with rd set"),
        (0x2200_0073, "hfence.vvma (hypervisor)"),
        (0x0000_102F, "AMO funct3 1"),
        (0x0000_302F, "amoadd.d (RV64 only)"),
        (0x1015_A52F, "lr.w with rs2 = 1"),
        (0x101F_A52F, "lr.w with rs2 = 31"),
        (0x2800_202F, "AMO funct5 00101 (reserved)"),
        (0x3000_202F, "AMO funct5 00110 (reserved)"),
        (0x3800_202F, "AMO funct5 00111 (reserved)"),
        (0xF800_202F, "AMO funct5 11111 (reserved)"),
        (0x8800_202F, "AMO funct5 10001 (reserved)"),
    ] as [(UInt32, String)])
    func illegalEncodingsDecodeToIllegal(word: UInt32, what: String) {
        let instruction = Instruction.decode(word)
        #expect(instruction.operation == .illegal, "\(what): 0x\(String(word, radix: 16)) decoded as \(instruction.operation)")
        #expect(instruction.illegalWord == word, "\(what): the illegal instruction keeps its word")
        #expect(instruction == Instruction.illegal(word))
        #expect((try? instruction.encoded()) == word, "an illegal instruction encodes back to its word")
    }

    @Test func decodesFieldsScaledAndSignExtended() {
        // Values read off GNU as output for the written instruction.
        #expect(Instruction.decode(0xFEC4_2783) == Instruction(.lw, rd: Register(15), rs1: Register(8), immediate: -20))
        #expect(Instruction.decode(0xFEF4_2623) == Instruction(.sw, rs1: Register(8), rs2: Register(15), immediate: -20))
        #expect(Instruction.decode(0x8000_0063) == Instruction(.beq, immediate: -4096))
        #expect(Instruction.decode(0x7E00_0FE3) == Instruction(.beq, immediate: 4094))
        #expect(Instruction.decode(0x8000_006F) == Instruction(.jal, immediate: -0x10_0000))
        #expect(Instruction.decode(0x7FFF_F06F) == Instruction(.jal, immediate: 0xF_FFFE))
        #expect(Instruction.decode(0xFFFF_F517) == Instruction(.auipc, rd: .a0, immediate: -4096))
        #expect(Instruction.decode(0x4035_D513) == Instruction(.srai, rd: .a0, rs1: .a1, immediate: 3))
        #expect(Instruction.decode(0x3002_D573) == Instruction(.csrrwi, rd: .a0, immediate: 5, csr: 0x300))
        #expect(Instruction.decode(0x1EC5_A52F) == Instruction(.scW, rd: .a0, rs1: .a1, rs2: Register(12),
                                                               acquire: true, release: true))
        #expect(Instruction.decode(0x8330_000F) == Instruction(.fence, immediate: 0x833))
        #expect(Instruction.decode(0x12B5_0073) == Instruction(.sfenceVma, rs1: .a0, rs2: .a1))
    }
}
