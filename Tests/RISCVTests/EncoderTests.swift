import Testing
@testable import RISCV

/// Encoding against decoding: every operation, every register in every field, boundary
/// immediates, every CSR number; and the errors for operands that do not fit.
@Suite struct EncoderTests {
    static let allRegisters = (0..<32).map { Register(UInt8($0)) }

    /// Immediates that reach each format's limits, plus ordinary ones.
    static func boundaryImmediates(_ format: InstructionFormat) -> [Int32] {
        switch format {
        case .i, .load, .s: return [0, 1, -1, 2, 100, -100, 1023, 1024, -1024, 2047, -2048, 0x555, -0x556]
        case .b: return [0, 2, -2, 4, 2046, 2048, -2048, -2050, 4094, -4096, 0xAAA, -0xAAA]
        case .j: return [0, 2, -2, 2048, 4094, 4096, -4096, 0x7_FFFE, 0xF_FFFE, -0x10_0000, 0x5_5554, -0x5_5556]
        case .u: return [0, 0x1000, -0x1000, 0x7FFF_F000, Int32.min, 0x1234_5000, -0x5555_6000]
        case .shift, .csrImmediate: return Array(0...31)
        case .fence: return Array(stride(from: 0, to: 4096, by: 7)) + [0x0FF, 0x833, 0xFFF]
        case .fixed: return [0]
        case .r, .csr, .atomic, .loadReserved, .sfence, .sourceOnly: return [0]
        }
    }

    /// The instruction with the given operands, keeping only the fields `operation` has.
    static func instruction(_ operation: Operation, rd: Register, rs1: Register, rs2: Register,
                            immediate: Int32, csr: UInt16 = 0, acquire: Bool = false, release: Bool = false) -> Instruction {
        var i = Instruction(operation, rd: rd, rs1: rs1, rs2: rs2, immediate: immediate, csr: csr,
                            acquire: acquire, release: release)
        switch operation.format {
        case .r: i.immediate = 0
        case .i, .load, .shift: i.rs2 = .zero
        case .s, .b: i.rd = .zero
        case .u, .j: i.rs1 = .zero; i.rs2 = .zero
        case .csr: i.rs2 = .zero; i.immediate = 0
        case .csrImmediate: i.rs1 = .zero; i.rs2 = .zero
        case .fence: i.rs2 = .zero          // rd and rs1 are reserved fields a FENCE keeps
        case .atomic: i.immediate = 0
        case .loadReserved: i.rs2 = .zero; i.immediate = 0
        case .sfence: i.rd = .zero; i.immediate = 0
        case .sourceOnly: i.rd = .zero; i.rs2 = .zero; i.immediate = 0
        case .fixed:
            // FENCE.I keeps its reserved rd, rs1 and imm fields; the others have none.
            if operation == .fenceI {
                i.rs2 = .zero
                i.immediate = max(-2048, min(2047, immediate))
            } else {
                i = Instruction(operation)
            }
        }
        if operation.format != .csr && operation.format != .csrImmediate { i.csr = 0 }
        if operation.format != .atomic && operation.format != .loadReserved { i.acquire = false; i.release = false }
        return i
    }

    static let operations = Operation.allCases.filter { $0 != .illegal }

    @Test(arguments: operations)
    func roundTripsEveryRegisterAndBoundaryImmediate(operation: Operation) throws {
        let (match, mask) = operation.encodingPattern
        var failures: [String] = []
        var checked = 0
        let csrs: [UInt16] = [0, 1, 0x300, 0x7FF, 0x800, 0xC00, 0xFFF]
        for immediate in Self.boundaryImmediates(operation.format) {
            for (k, register) in Self.allRegisters.enumerated() {
                // Each register appears in every field, next to different partners.
                let rd = register
                let rs1 = Self.allRegisters[(k * 7 + 3) % 32]
                let rs2 = Self.allRegisters[(k * 13 + 5) % 32]
                for (rdx, rs1x, rs2x) in [(rd, rs1, rs2), (rs2, rd, rs1), (rs1, rs2, rd)] {
                    let i = Self.instruction(operation, rd: rdx, rs1: rs1x, rs2: rs2x, immediate: immediate,
                                             csr: csrs[k % csrs.count], acquire: k & 1 == 1, release: k & 2 == 2)
                    let word = try i.encoded()
                    checked += 1
                    if word & mask != match { failures.append("\(i) encodes as 0x\(String(word, radix: 16)), outside its pattern") }
                    let back = Instruction.decode(word)
                    if back != i { failures.append("\(i) -> 0x\(String(word, radix: 16)) -> \(back)") }
                }
            }
        }
        #expect(failures.isEmpty, "\(failures.count) of \(checked) failed, first: \(failures.prefix(5))")
    }

    @Test(arguments: [Operation.csrrw, .csrrs, .csrrc, .csrrwi, .csrrsi, .csrrci])
    func roundTripsEveryCSRNumber(operation: Operation) throws {
        var failures: [UInt16] = []
        for csr: UInt16 in 0..<4096 {
            let i = Self.instruction(operation, rd: Register(UInt8(csr % 32)), rs1: Register(UInt8((csr / 32) % 32)),
                                     rs2: .zero, immediate: Int32(csr % 32), csr: csr)
            let word = try i.encoded()
            if word >> 20 != UInt32(csr) || Instruction.decode(word) != i { failures.append(csr) }
        }
        #expect(failures.isEmpty, "CSRs that did not round-trip: \(failures.prefix(10))")
    }

    /// The table's fixed bits identify the operation whatever the operand bits are.
    @Test(arguments: operations)
    func patternWithRandomOperandBitsDecodesToTheOperation(operation: Operation) {
        let (match, mask) = operation.encodingPattern
        var random = CodecTestRandom(seed: UInt64(operation.rawValue) &+ 77)
        var failures: [String] = []
        for _ in 0..<20_000 {
            let word = match | (random.word() & ~mask)
            let decoded = Instruction.decode(word).operation
            if decoded != operation { failures.append("0x\(String(word, radix: 16)) -> \(decoded)") }
        }
        #expect(failures.isEmpty, "\(operation): \(failures.count) words decoded otherwise, first: \(failures.prefix(5))")
    }

    @Test(arguments: [
        (Instruction(.addi, rd: .a0, immediate: 2048), "immediate 2048"),
        (Instruction(.addi, rd: .a0, immediate: -2049), "immediate -2049"),
        (Instruction(.lw, rd: .a0, rs1: .sp, immediate: 4096), "immediate 4096"),
        (Instruction(.jalr, rd: .ra, rs1: .a0, immediate: -3000), "immediate -3000"),
        (Instruction(.sw, rs1: .sp, rs2: .a0, immediate: 2048), "offset 2048"),
        (Instruction(.sb, rs1: .sp, rs2: .a0, immediate: -2049), "offset -2049"),
        (Instruction(.beq, immediate: 4096), "branch offset 4096"),
        (Instruction(.bne, immediate: -4098), "branch offset -4098"),
        (Instruction(.blt, immediate: 3), "offset 3 is odd"),
        (Instruction(.bgeu, immediate: -1), "offset -1 is odd"),
        (Instruction(.jal, rd: .ra, immediate: 0x10_0000), "jump offset 1048576"),
        (Instruction(.jal, immediate: -0x10_0002), "jump offset -1048578"),
        (Instruction(.jal, immediate: 0x101), "offset 257 is odd"),
        (Instruction(.slli, rd: .a0, rs1: .a0, immediate: 32), "shift amount 32"),
        (Instruction(.srai, rd: .a0, rs1: .a0, immediate: -1), "shift amount -1"),
        (Instruction(.lui, rd: .a0, immediate: 0x1234), "low 12 bits"),
        (Instruction(.auipc, rd: .a0, immediate: 1), "low 12 bits"),
        (Instruction(.csrrw, rd: .a0, csr: 4096), "CSR number 4096"),
        (Instruction(.csrrsi, rd: .a0, immediate: 1, csr: 0x1000), "CSR number 4096"),
        (Instruction(.csrrwi, rd: .a0, immediate: 32, csr: 0x300), "immediate 32"),
        (Instruction(.csrrci, rd: .a0, immediate: -1, csr: 0x300), "immediate -1"),
        (Instruction(.fence, immediate: 4096), "fence"),
        (Instruction(.fence, immediate: -1), "fence"),
        (Instruction(.fenceI, immediate: 2048), "immediate 2048"),
    ] as [(Instruction, String)])
    func outOfRangeOperandsThrowWithAMessage(instruction: Instruction, expected: String) {
        #expect {
            try instruction.encoded()
        } throws: { error in
            guard let error = error as? EncodingError else { return false }
            return error.message.hasPrefix(instruction.operation.mnemonic + ":") && error.message.contains(expected)
        }
    }

    @Test func limitsThemselvesEncode() throws {
        // One step inside each limit encodes; the words are GNU as's for the same instruction.
        #expect(try Instruction(.addi, rd: .a0, rs1: .a0, immediate: 2047).encoded() == 0x7FF5_0513)
        #expect(try Instruction(.addi, rd: .a0, rs1: .a0, immediate: -2048).encoded() == 0x8005_0513)
        #expect(try Instruction(.beq, immediate: -4096).encoded() == 0x8000_0063)
        #expect(try Instruction(.beq, immediate: 4094).encoded() == 0x7E00_0FE3)
        #expect(try Instruction(.jal, immediate: 0xF_FFFE).encoded() == 0x7FFF_F06F)
        #expect(try Instruction(.jal, rd: .ra, immediate: -0x10_0000).encoded() == 0x8000_00EF)
        #expect(try Instruction(.slli, rd: .a0, rs1: .a1, immediate: 31).encoded() == 0x01F5_9513)
        #expect(try Instruction(.lui, rd: .a0, immediate: Int32(bitPattern: 0xFFFF_F000)).encoded() == 0xFFFF_F537)
        #expect(try Instruction(.csrrwi, rd: .zero, immediate: 31, csr: 0xFFF).encoded() == 0xFFFF_D073)
    }
}
