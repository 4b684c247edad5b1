/// Instructions and pseudo-instructions: parsing operands in pass one, encoding in pass two.

/// How pass two computes an instruction's immediate field.
enum ImmediateOperand {
    case constant(Int32)
    /// A plain expression that must come out as a number (I/S immediates, shift amounts, CSR uimm).
    case number(Expression)
    /// LUI/AUIPC written with a plain number: the 20-bit upper immediate.
    case upper(Expression)
    case high(Expression)            // %hi(x)
    case low(Expression)             // %lo(x)
    case pcrelHigh(Expression)       // %pcrel_hi(x)
    case pcrelLow(Expression)        // %pcrel_lo(label of the AUIPC)
    /// The low part that pairs with the AUIPC at a location (pseudo-instruction expansions).
    case pcrelLowOf(Location)
    /// A branch or jump target; the field is its distance from this instruction.
    case target(Expression, allowAbsolute: Bool)
}

/// An instruction whose registers are known and whose immediate pass two computes.
struct PendingInstruction {
    var operation: Operation
    var rd = Register.zero
    var rs1 = Register.zero
    var rs2 = Register.zero
    var immediate = ImmediateOperand.constant(0)
    var csr: UInt16 = 0
    var acquire = false
    var release = false
}

extension AssemblerState {
    // MARK: Operand parsing

    func operandText(_ tokens: [Token]) -> String { tokens.map(\.description).joined(separator: " ") }

    func register(_ tokens: [Token], _ context: EvaluationContext) throws(AssemblyError) -> Register {
        guard tokens.count == 1, case .identifier(let name) = tokens[0] else {
            throw AssemblyError(file: context.file, line: context.line,
                                message: "expected a register, found '\(operandText(tokens))'")
        }
        guard let register = Register(name: name) else {
            throw AssemblyError(file: context.file, line: context.line, message: "unknown register '\(name)'")
        }
        return register
    }

    /// A lone name that is neither a register nor a symbol seen so far: most likely a misspelt register.
    func isUnknownName(_ tokens: [Token]) -> Bool {
        if tokens.count == 1, case .identifier(let name) = tokens[0], symbols[name] == nil { return true }
        return false
    }

    func isRegister(_ tokens: [Token]) -> Bool {
        if tokens.count == 1, case .identifier(let name) = tokens[0], Register(name: name) != nil { return true }
        return false
    }

    /// An immediate operand: a plain expression or `%hi(x)`, `%lo(x)`, `%pcrel_hi(x)`, `%pcrel_lo(l)`.
    func immediate(_ tokens: [Token], _ context: EvaluationContext, upper: Bool = false) throws(AssemblyError) -> ImmediateOperand {
        func error(_ message: String) -> AssemblyError {
            AssemblyError(file: context.file, line: context.line, message: message)
        }
        guard case .modifier(let modifier)? = tokens.first else {
            let expression = try parseExpression(tokens, context)
            return upper ? .upper(expression) : .number(expression)
        }
        guard tokens.count >= 3, tokens[1] == .symbol("("), tokens.last == .symbol(")") else {
            throw error("%\(modifier) must be written %\(modifier)(expression)")
        }
        let inner = try parseExpression(Array(tokens[2..<(tokens.count - 1)]), context)
        switch (modifier, upper) {
        case ("hi", true): return .high(inner)
        case ("pcrel_hi", true): return .pcrelHigh(inner)
        case ("lo", false): return .low(inner)
        case ("pcrel_lo", false): return .pcrelLow(inner)
        default:
            throw error("%\(modifier) cannot be used here (%hi and %pcrel_hi go with lui/auipc, %lo and %pcrel_lo with I- and S-type immediates)")
        }
    }

    /// A memory operand `offset(reg)`, `(reg)` or `%lo(x)(reg)`; nil if the operand has no `(reg)` suffix.
    func memoryOperand(_ tokens: [Token], _ context: EvaluationContext) throws(AssemblyError) -> (ImmediateOperand, Register)? {
        guard tokens.count >= 3, tokens.last == .symbol(")"), tokens[tokens.count - 3] == .symbol("("),
              isRegister([tokens[tokens.count - 2]]) else { return nil }
        let base = try register([tokens[tokens.count - 2]], context)
        let offsetTokens = Array(tokens[..<(tokens.count - 3)])
        if offsetTokens.isEmpty { return (.constant(0), base) }
        return (try immediate(offsetTokens, context), base)
    }

    func expression(_ tokens: [Token], _ context: EvaluationContext) throws(AssemblyError) -> Expression {
        try parseExpression(tokens, context)
    }

    func csrNumber(_ tokens: [Token], _ context: EvaluationContext) throws(AssemblyError) -> UInt16 {
        if tokens.count == 1, case .identifier(let name) = tokens[0], let number = CSR.numbers[name] { return number }
        if tokens.count == 1, case .identifier(let name) = tokens[0], symbols[name] == nil {
            throw AssemblyError(file: context.file, line: context.line, message: "unknown CSR '\(name)'")
        }
        let value = try constant(tokens, context, what: "CSR number")
        guard (0..<4096).contains(value) else {
            throw AssemblyError(file: context.file, line: context.line, message: "CSR number \(value) is out of range [0, 4095]")
        }
        return UInt16(value)
    }

    /// `iorw`-style ordering sets for FENCE: bits i=8, o=4, r=2, w=1.
    func fenceSet(_ tokens: [Token], _ context: EvaluationContext) throws(AssemblyError) -> Int32 {
        guard tokens.count == 1, case .identifier(let text) = tokens[0] else {
            throw AssemblyError(file: context.file, line: context.line, message: "bad fence operand '\(operandText(tokens))'")
        }
        var bits: Int32 = 0
        for c in text {
            let bit: Int32
            switch c {
            case "i": bit = 8
            case "o": bit = 4
            case "r": bit = 2
            case "w": bit = 1
            default:
                throw AssemblyError(file: context.file, line: context.line, message: "bad fence operand '\(text)' (use letters from iorw)")
            }
            guard bits & bit == 0 else {
                throw AssemblyError(file: context.file, line: context.line, message: "bad fence operand '\(text)'")
            }
            bits |= bit
        }
        // GNU as requires i, o, r, w in that order.
        let canonical = [("i", 8), ("o", 4), ("r", 2), ("w", 1)].filter { bits & Int32($0.1) != 0 }.map(\.0).joined()
        guard canonical == text else {
            throw AssemblyError(file: context.file, line: context.line, message: "bad fence operand '\(text)' (write it as '\(canonical)')")
        }
        return bits
    }

    // MARK: Pass one: instructions

    mutating func emitInstruction(_ instruction: PendingInstruction, _ context: EvaluationContext) throws(AssemblyError) {
        var here = context
        here.location = location
        try requireContents("an instruction", context)
        if instruction.operation == .auipc, case .pcrelHigh(let target) = instruction.immediate {
            pcrelHighParts[here.location] = (target, here)
        }
        try emitFixup(.instruction(instruction), width: 4, here)
    }

    mutating func instruction(_ mnemonic: String, _ operands: [[Token]], _ context: EvaluationContext) throws(AssemblyError) {
        func error(_ message: String) -> AssemblyError {
            AssemblyError(file: context.file, line: context.line, message: message)
        }
        func expect(_ count: Int, _ form: String) throws(AssemblyError) {
            guard operands.count == count else {
                throw error("\(mnemonic) expects \(form), got \(operands.count) operand\(operands.count == 1 ? "" : "s")")
            }
        }
        func reg(_ i: Int) throws(AssemblyError) -> Register { try register(operands[i], context) }
        func emit(_ p: PendingInstruction) throws(AssemblyError) { try emitInstruction(p, context) }

        // An AUIPC with %pcrel_hi(target) and a second instruction that takes the low part from it.
        func pcrelPair(_ auipcRd: Register, _ target: Expression, _ second: PendingInstruction) throws(AssemblyError) {
            let auipcLocation = location
            try emit(PendingInstruction(operation: .auipc, rd: auipcRd, immediate: .pcrelHigh(target)))
            var low = second
            low.immediate = .pcrelLowOf(auipcLocation)
            try emit(low)
        }

        switch mnemonic {
        // The hypervisor extension's fences (privileged spec, H chapter): SFENCE.VMA's format with
        // funct7 0010001 / 0110001. They are not `Operation`s: the decoder and disassembler stay
        // RV32IMA + privileged (the words print as `.4byte`, as objdump prints them for an ELF
        // without H), so the assembler emits them as plain instruction words.
        case "hfence.vvma", "hfence.gvma":
            guard operands.count <= 2 else { throw error("\(mnemonic) expects at most rs1, rs2") }
            let rs1 = operands.count >= 1 ? try reg(0) : Register.zero
            let rs2 = operands.count == 2 ? try reg(1) : Register.zero
            let funct7: UInt32 = mnemonic == "hfence.vvma" ? 0b001_0001 : 0b011_0001
            let word = funct7 << 25 | UInt32(rs2.number) << 20 | UInt32(rs1.number) << 15 | 0x73
            try emit(PendingInstruction(operation: .illegal, immediate: .constant(Int32(bitPattern: word))))
        // The hypervisor's virtual-machine loads and stores, emitted as words for the same reason:
        // funct7 0110 ss s (size 2^ss, s = 1 for HSV), funct3 100; a load's rs2 field picks the
        // variant (0 signed, 1 unsigned, 3 HLVX).
        case "hlv.b", "hlv.bu", "hlv.h", "hlv.hu", "hlvx.hu", "hlv.w", "hlvx.wu", "hsv.b", "hsv.h", "hsv.w":
            try expect(2, mnemonic.hasPrefix("hsv") ? "rs2, (rs1)" : "rd, (rs1)")
            let data = try reg(0)
            let base = try atomicAddress(operands[1], context)
            let sizeBits: UInt32 = mnemonic.hasSuffix("w") || mnemonic.hasSuffix("wu") ? 2 : (mnemonic.contains(".h") ? 1 : 0)
            let isStore = mnemonic.hasPrefix("hsv")
            let variant: UInt32 = mnemonic.hasPrefix("hlvx") ? 3 : (mnemonic.hasSuffix("u") ? 1 : 0)
            let funct7 = 0b0110_000 | sizeBits << 1 | (isStore ? 1 : 0)
            let word = funct7 << 25 | (isStore ? UInt32(data.number) : variant) << 20 | UInt32(base.number) << 15
                | 4 << 12 | (isStore ? 0 : UInt32(data.number) << 7) | 0x73
            try emit(PendingInstruction(operation: .illegal, immediate: .constant(Int32(bitPattern: word))))
        case "nop":
            try expect(0, "no operands")
            try emit(PendingInstruction(operation: .addi))
        case "li":
            try expect(2, "rd, constant")
            try loadImmediate(try reg(0), try constant(operands[1], context, what: "li's value"), context)
        case "la", "lla":
            try expect(2, "rd, symbol")
            let rd = try reg(0)
            try pcrelPair(rd, try expression(operands[1], context), PendingInstruction(operation: .addi, rd: rd, rs1: rd))
        case "mv":
            try expect(2, "rd, rs")
            try emit(PendingInstruction(operation: .addi, rd: try reg(0), rs1: try reg(1)))
        case "not":
            try expect(2, "rd, rs")
            try emit(PendingInstruction(operation: .xori, rd: try reg(0), rs1: try reg(1), immediate: .constant(-1)))
        case "neg":
            try expect(2, "rd, rs")
            try emit(PendingInstruction(operation: .sub, rd: try reg(0), rs1: .zero, rs2: try reg(1)))
        case "seqz":
            try expect(2, "rd, rs")
            try emit(PendingInstruction(operation: .sltiu, rd: try reg(0), rs1: try reg(1), immediate: .constant(1)))
        case "snez":
            try expect(2, "rd, rs")
            try emit(PendingInstruction(operation: .sltu, rd: try reg(0), rs1: .zero, rs2: try reg(1)))
        case "sltz":
            try expect(2, "rd, rs")
            try emit(PendingInstruction(operation: .slt, rd: try reg(0), rs1: try reg(1), rs2: .zero))
        case "sgtz":
            try expect(2, "rd, rs")
            try emit(PendingInstruction(operation: .slt, rd: try reg(0), rs1: .zero, rs2: try reg(1)))
        case "sgt", "sgtu":
            try expect(3, "rd, rs1, rs2")
            try emit(PendingInstruction(operation: mnemonic == "sgt" ? .slt : .sltu, rd: try reg(0), rs1: try reg(2), rs2: try reg(1)))
        case "beqz", "bnez", "bltz", "bgez", "blez", "bgtz":
            try expect(2, "rs, target")
            let rs = try reg(0)
            let target = ImmediateOperand.target(try expression(operands[1], context), allowAbsolute: false)
            let (operation, rs1, rs2): (Operation, Register, Register) = switch mnemonic {
            case "beqz": (.beq, rs, .zero)
            case "bnez": (.bne, rs, .zero)
            case "bltz": (.blt, rs, .zero)
            case "bgez": (.bge, rs, .zero)
            case "blez": (.bge, .zero, rs)
            default: (.blt, .zero, rs)  // bgtz
            }
            try emit(PendingInstruction(operation: operation, rs1: rs1, rs2: rs2, immediate: target))
        case "bgt", "ble", "bgtu", "bleu":
            try expect(3, "rs1, rs2, target")
            let operation: Operation = ["bgt": .blt, "ble": .bge, "bgtu": .bltu, "bleu": .bgeu][mnemonic] ?? .blt
            try emit(PendingInstruction(operation: operation, rs1: try reg(1), rs2: try reg(0),
                                        immediate: .target(try expression(operands[2], context), allowAbsolute: false)))
        case "j":
            try expect(1, "a target")
            try emit(PendingInstruction(operation: .jal, immediate: .target(try expression(operands[0], context), allowAbsolute: true)))
        case "jal" where operands.count == 1:
            try emit(PendingInstruction(operation: .jal, rd: .ra, immediate: .target(try expression(operands[0], context), allowAbsolute: true)))
        case "jr":
            try expect(1, "rs")
            if let (offset, base) = try memoryOperand(operands[0], context) {
                try emit(PendingInstruction(operation: .jalr, rs1: base, immediate: offset))
            } else {
                try emit(PendingInstruction(operation: .jalr, rs1: try reg(0)))
            }
        case "jalr" where operands.count == 1:
            if let (offset, base) = try memoryOperand(operands[0], context) {
                try emit(PendingInstruction(operation: .jalr, rd: .ra, rs1: base, immediate: offset))
            } else {
                try emit(PendingInstruction(operation: .jalr, rd: .ra, rs1: try reg(0)))
            }
        case "jalr" where operands.count == 2 && isRegister(operands[1]):
            try emit(PendingInstruction(operation: .jalr, rd: try reg(0), rs1: try reg(1)))
        case "jalr" where operands.count == 3:
            try emit(PendingInstruction(operation: .jalr, rd: try reg(0), rs1: try reg(1), immediate: try immediate(operands[2], context)))
        case "ret":
            try expect(0, "no operands")
            try emit(PendingInstruction(operation: .jalr, rs1: .ra))
        case "call", "tail":
            guard operands.count == 1 || (mnemonic == "call" && operands.count == 2) else {
                throw error("\(mnemonic) expects a target")
            }
            // `call f` uses ra both to link and to hold the high part; `call rd, f` and `tail f`
            // use t1 for the high part (as GNU as does).
            let link: Register = mnemonic == "tail" ? .zero : operands.count == 2 ? try reg(0) : .ra
            let scratch: Register = mnemonic == "call" && operands.count == 1 ? .ra : Register(6)
            try pcrelPair(scratch, try expression(operands[operands.count - 1], context),
                          PendingInstruction(operation: .jalr, rd: link, rs1: scratch))
        case "csrr":
            try expect(2, "rd, csr")
            try emit(PendingInstruction(operation: .csrrs, rd: try reg(0), csr: try csrNumber(operands[1], context)))
        case "csrw", "csrs", "csrc":
            try expect(2, "csr, rs")
            let csr = try csrNumber(operands[0], context)
            if isRegister(operands[1]) {
                let operation: Operation = mnemonic == "csrw" ? .csrrw : mnemonic == "csrs" ? .csrrs : .csrrc
                try emit(PendingInstruction(operation: operation, rs1: try reg(1), csr: csr))
            } else {
                // GNU as turns an immediate source into the CSR-immediate form.
                let operation: Operation = mnemonic == "csrw" ? .csrrwi : mnemonic == "csrs" ? .csrrsi : .csrrci
                try emit(PendingInstruction(operation: operation, immediate: try immediate(operands[1], context), csr: csr))
            }
        case "csrwi", "csrsi", "csrci":
            try expect(2, "csr, uimm")
            let operation: Operation = mnemonic == "csrwi" ? .csrrwi : mnemonic == "csrsi" ? .csrrsi : .csrrci
            try emit(PendingInstruction(operation: operation, immediate: try immediate(operands[1], context),
                                        csr: try csrNumber(operands[0], context)))
        case "rdcycle", "rdtime", "rdinstret", "rdcycleh", "rdtimeh", "rdinstreth":
            try expect(1, "rd")
            let csr = CSR.numbers[String(mnemonic.dropFirst(2))] ?? 0
            try emit(PendingInstruction(operation: .csrrs, rd: try reg(0), csr: csr))
        case "unimp":
            try expect(0, "no operands")
            try emit(PendingInstruction(operation: .csrrw, csr: CSR.cycle))
        case "fence.tso":
            try expect(0, "no operands")
            try emit(PendingInstruction(operation: .fence, immediate: .constant(0x833)))
        default:
            try realInstruction(mnemonic, operands, context)
        }
    }

    /// `li`: the shortest of ADDI, LUI, or LUI+ADDI, exactly as GNU as expands it for RV32.
    mutating func loadImmediate(_ rd: Register, _ value: Int64, _ context: EvaluationContext) throws(AssemblyError) {
        guard value >= Int64(Int32.min) && value <= Int64(UInt32.max) else {
            throw AssemblyError(file: context.file, line: context.line,
                                message: "li: value \(value) does not fit in 32 bits")
        }
        let word = Int32(truncatingIfNeeded: value)
        if (-2048...2047).contains(word) {
            try emitInstruction(PendingInstruction(operation: .addi, rd: rd, immediate: .constant(word)), context)
            return
        }
        // The low 12 bits are added sign-extended, so the upper part is rounded up when bit 11 is set.
        let low = (word << 20) >> 20
        let upper = Int32(bitPattern: UInt32(bitPattern: word &- low) & 0xFFFF_F000)
        try emitInstruction(PendingInstruction(operation: .lui, rd: rd, immediate: .constant(upper)), context)
        if low != 0 {
            try emitInstruction(PendingInstruction(operation: .addi, rd: rd, rs1: rd, immediate: .constant(low)), context)
        }
    }

    /// An instruction from the `Operation` table, with GNU's operand forms for each format.
    mutating func realInstruction(_ mnemonic: String, _ operands: [[Token]], _ context: EvaluationContext) throws(AssemblyError) {
        func error(_ message: String) -> AssemblyError {
            AssemblyError(file: context.file, line: context.line, message: message)
        }
        // Atomic ordering suffixes: amoadd.w.aq, lr.w.rl, sc.w.aqrl.
        var name = mnemonic
        var acquire = false, release = false
        for (suffix, aq, rl) in [(".aqrl", true, true), (".aq", true, false), (".rl", false, true)] where name.hasSuffix(suffix) {
            let base = String(name.dropLast(suffix.count))
            if let op = Operation(mnemonic: base), op.format == .atomic || op.format == .loadReserved {
                name = base
                acquire = aq
                release = rl
            }
            break
        }
        guard let operation = Operation(mnemonic: name) else { throw error("unknown instruction '\(mnemonic)'") }
        func expect(_ count: Int, _ form: String) throws(AssemblyError) {
            guard operands.count == count else {
                throw error("\(mnemonic) expects \(form), got \(operands.count) operand\(operands.count == 1 ? "" : "s")")
            }
        }
        func reg(_ i: Int) throws(AssemblyError) -> Register { try register(operands[i], context) }
        var p = PendingInstruction(operation: operation, acquire: acquire, release: release)

        switch operation.format {
        case .r:
            try expect(3, "rd, rs1, rs2")
            p.rd = try reg(0)
            p.rs1 = try reg(1)
            if !isRegister(operands[2]), !isUnknownName(operands[2]),
               let immediateForm = AssemblerState.immediateForms[operation] {
                // GNU accepts `add a0, a0, 5` and the like as the immediate instruction.
                p.operation = immediateForm
                p.immediate = try immediate(operands[2], context)
            } else {
                p.rs2 = try reg(2)
            }
        case .i, .shift:
            if operation == .jalr && operands.count == 2 {
                p.rd = try reg(0)
                guard let (offset, base) = try memoryOperand(operands[1], context) else {
                    throw error("jalr expects rd, offset(rs1)")
                }
                p.rs1 = base
                p.immediate = offset
                break
            }
            try expect(3, "rd, rs1, immediate")
            p.rd = try reg(0)
            p.rs1 = try reg(1)
            p.immediate = try immediate(operands[2], context)
        case .load:
            try expect(2, "rd, offset(rs1)")
            p.rd = try reg(0)
            if let (offset, base) = try memoryOperand(operands[1], context) {
                p.rs1 = base
                p.immediate = offset
            } else {
                // `lw rd, symbol`: rd itself holds the high part of the address.
                let auipcLocation = location
                try emitInstruction(PendingInstruction(operation: .auipc, rd: p.rd,
                                                       immediate: .pcrelHigh(try expression(operands[1], context))), context)
                p.rs1 = p.rd
                p.immediate = .pcrelLowOf(auipcLocation)
            }
        case .s:
            guard operands.count == 2 || operands.count == 3 else {
                throw error("\(mnemonic) expects rs2, offset(rs1) or rs2, symbol, rt")
            }
            p.rs2 = try reg(0)
            if operands.count == 2 {
                guard let (offset, base) = try memoryOperand(operands[1], context) else {
                    throw error("\(mnemonic) expects rs2, offset(rs1) (or rs2, symbol, rt)")
                }
                p.rs1 = base
                p.immediate = offset
            } else {
                // `sw rs2, symbol, rt`: rt is the scratch register for the high part.
                let scratch = try reg(2)
                let auipcLocation = location
                try emitInstruction(PendingInstruction(operation: .auipc, rd: scratch,
                                                       immediate: .pcrelHigh(try expression(operands[1], context))), context)
                p.rs1 = scratch
                p.immediate = .pcrelLowOf(auipcLocation)
            }
        case .b:
            try expect(3, "rs1, rs2, target")
            p.rs1 = try reg(0)
            p.rs2 = try reg(1)
            p.immediate = .target(try expression(operands[2], context), allowAbsolute: false)
        case .u:
            try expect(2, "rd, immediate")
            p.rd = try reg(0)
            p.immediate = try immediate(operands[1], context, upper: true)
        case .j:
            try expect(2, "rd, target")
            p.rd = try reg(0)
            p.immediate = .target(try expression(operands[1], context), allowAbsolute: true)
        case .csr:
            try expect(3, "rd, csr, rs1")
            p.rd = try reg(0)
            p.csr = try csrNumber(operands[1], context)
            if isRegister(operands[2]) {
                p.rs1 = try reg(2)
            } else {
                p.operation = operation == .csrrw ? .csrrwi : operation == .csrrs ? .csrrsi : .csrrci
                p.immediate = try immediate(operands[2], context)
            }
        case .csrImmediate:
            try expect(3, "rd, csr, uimm")
            p.rd = try reg(0)
            p.csr = try csrNumber(operands[1], context)
            p.immediate = try immediate(operands[2], context)
        case .fence:
            if operands.isEmpty {
                p.immediate = .constant(0xFF)  // fence iorw, iorw
            } else {
                try expect(2, "predecessor, successor")
                p.immediate = .constant(try fenceSet(operands[0], context) << 4 | fenceSet(operands[1], context))
            }
        case .atomic:
            try expect(3, "rd, rs2, (rs1)")
            p.rd = try reg(0)
            p.rs2 = try reg(1)
            p.rs1 = try atomicAddress(operands[2], context)
        case .loadReserved:
            try expect(2, "rd, (rs1)")
            p.rd = try reg(0)
            p.rs1 = try atomicAddress(operands[1], context)
        case .sfence:
            guard operands.count <= 2 else { throw error("sfence.vma expects at most rs1, rs2") }
            if operands.count >= 1 { p.rs1 = try reg(0) }
            if operands.count == 2 { p.rs2 = try reg(1) }
        case .sourceOnly:
            try expect(1, "rs1")
            p.rs1 = try reg(0)
        case .fixed:
            try expect(0, "no operands")
        }
        try emitInstruction(p, context)
    }

    /// The address operand of an atomic: `(rs1)` or `0(rs1)`.
    func atomicAddress(_ tokens: [Token], _ context: EvaluationContext) throws(AssemblyError) -> Register {
        guard let (offset, base) = try memoryOperand(tokens, context) else {
            throw AssemblyError(file: context.file, line: context.line,
                                message: "expected an address (rs1), found '\(operandText(tokens))'")
        }
        var zero = false
        switch offset {
        case .constant(0): zero = true
        case .number(let e): zero = (try? evaluate(e, context)) == .absolute(0)
        default: break
        }
        guard zero else {
            throw AssemblyError(file: context.file, line: context.line,
                                message: "atomic instructions take no offset: write (\(base.abiName))")
        }
        return base
    }

    static let immediateForms: [Operation: Operation] = [
        .add: .addi, .and: .andi, .or: .ori, .xor: .xori, .slt: .slti, .sltu: .sltiu,
        .sll: .slli, .srl: .srli, .sra: .srai,
    ]

    // MARK: Pass two: encoding

    func encode(_ pending: PendingInstruction, _ context: EvaluationContext) throws(AssemblyError) -> UInt32 {
        func error(_ message: String) -> AssemblyError {
            AssemblyError(file: context.file, line: context.line, message: message)
        }
        let name = pending.operation.mnemonic
        let pc = address(of: Value(section: context.location.section, offset: Int64(context.location.offset)))
        func int32(_ value: Int64, _ what: String) throws(AssemblyError) -> Int32 {
            guard let v = Int32(exactly: value) else { throw error("\(name): \(what) \(value) is out of range") }
            return v
        }
        func addressValue(_ expression: Expression) throws(AssemblyError) -> UInt32 {
            UInt32(truncatingIfNeeded: address(of: try evaluate(expression, context)))
        }
        func lowPart(_ value: UInt32) -> Int32 { Int32(bitPattern: value << 20) >> 20 }
        func highPart(_ value: UInt32) -> Int32 { Int32(bitPattern: (value &+ 0x800) & 0xFFFF_F000) }
        func pcrelLow(at auipc: Location) throws(AssemblyError) -> Int32 {
            guard let (target, auipcContext) = pcrelHighParts[auipc] else {
                throw error("%pcrel_lo: no auipc with %pcrel_hi at that label")
            }
            var evaluationContext = auipcContext
            evaluationContext.laidOut = true
            let targetAddress = address(of: try evaluate(target, evaluationContext))
            let auipcAddress = address(of: Value(section: auipc.section, offset: Int64(auipc.offset)))
            return lowPart(UInt32(truncatingIfNeeded: targetAddress &- auipcAddress))
        }

        var immediate: Int32
        switch pending.immediate {
        case .constant(let v):
            immediate = v
        case .number(let expression):
            let value = try evaluate(expression, context)
            guard value.isAbsolute else {
                throw error("\(name): the immediate must be a number; use %lo(...) or %pcrel_lo(...) for an address")
            }
            immediate = try int32(value.offset, "immediate")
        case .upper(let expression):
            let value = try evaluate(expression, context)
            guard value.isAbsolute else {
                throw error("\(name): the immediate must be a number; use %hi(...) or %pcrel_hi(...) for an address")
            }
            guard (0...0xFFFFF).contains(value.offset) else {
                throw error("\(name): immediate \(value.offset) is out of range [0, 1048575]")
            }
            immediate = Int32(bitPattern: UInt32(value.offset) << 12)
        case .high(let expression):
            immediate = highPart(try addressValue(expression))
        case .low(let expression):
            immediate = lowPart(try addressValue(expression))
        case .pcrelHigh(let expression):
            immediate = highPart(try addressValue(expression) &- UInt32(truncatingIfNeeded: pc))
        case .pcrelLow(let label):
            let value = try evaluate(label, context)
            guard let section = value.section else { throw error("%pcrel_lo needs the label of an auipc") }
            immediate = try pcrelLow(at: Location(section: section, offset: Int(value.offset)))
        case .pcrelLowOf(let location):
            immediate = try pcrelLow(at: location)
        case .target(let expression, let allowAbsolute):
            let value = try evaluate(expression, context)
            if value.isAbsolute && !allowAbsolute {
                throw error("\(name): branch target must be a label, not the number \(value.offset)")
            }
            immediate = try int32(address(of: value) &- pc, "target offset")
        }
        let instruction = Instruction(pending.operation, rd: pending.rd, rs1: pending.rs1, rs2: pending.rs2,
                                      immediate: immediate, csr: pending.csr,
                                      acquire: pending.acquire, release: pending.release)
        do {
            return try instruction.encoded()
        } catch let failure {
            throw error(failure.message)
        }
    }
}
