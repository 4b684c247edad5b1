/// Assembler directives (`.word`, `.section`, `.align`, ...).
extension AssemblerState {
    /// Directives GNU as accepts that change nothing in the bytes VirtLab produces.
    static let ignoredDirectives: Set<String> = [
        ".file", ".ident", ".attribute", ".loc", ".addrsig", ".addrsig_sym", ".hidden", ".protected",
        ".internal",
    ]

    mutating func directive(_ name: String, _ operands: [[Token]], _ context: EvaluationContext) throws(AssemblyError) {
        func error(_ message: String) -> AssemblyError {
            AssemblyError(file: context.file, line: context.line, message: message)
        }
        func requireCount(_ range: ClosedRange<Int>) throws(AssemblyError) {
            guard range.contains(operands.count) else {
                let expected = range.lowerBound == range.upperBound ? "\(range.lowerBound)" : "\(range.lowerBound) to \(range.upperBound)"
                throw error("\(name) takes \(expected) argument\(range.upperBound == 1 ? "" : "s"), got \(operands.count)")
            }
        }
        func symbolName(_ tokens: [Token]) throws(AssemblyError) -> String {
            guard tokens.count == 1, case .identifier(let symbol) = tokens[0], symbol != "." else {
                throw error("\(name) expects a symbol name, got '\(tokens.map(\.description).joined(separator: " "))'")
            }
            return symbol
        }

        if AssemblerState.ignoredDirectives.contains(name) || name.hasPrefix(".cfi_") { return }
        switch name {
        case ".text", ".data", ".bss", ".rodata":
            try requireCount(0...1)
            if operands.count == 1 {
                // `.text 1` selects a subsection; VirtLab has none, so only 0 is accepted.
                guard try constant(operands[0], context, what: "subsection") == 0 else {
                    throw error("subsections are not supported")
                }
            }
            switchSection(to: name)
        case ".section", ".pushsection":
            try sectionDirective(name, operands, context)
        case ".previous":
            try requireCount(0...0)
            (currentSection, previousSection) = (previousSection, currentSection)
        case ".popsection":
            try requireCount(0...0)
            guard let saved = sectionStack.popLast() else { throw error(".popsection without .pushsection") }
            (currentSection, previousSection) = (saved.current, saved.previous)
        case ".globl", ".global", ".local", ".weak":
            guard !operands.isEmpty else { throw error("\(name) expects a symbol name") }
            for operand in operands {
                let symbol = try symbolName(operand)
                var entry = record(symbol)
                entry.binding = name == ".local" ? .local : name == ".weak" ? .weak : .global
                symbols[symbol] = entry
            }
        case ".type":
            try requireCount(2...2)
            let symbol = try symbolName(operands[0])
            let typeText = operands[1].map(\.description).joined()
            var entry = record(symbol)
            switch typeText.trimmingPrefix(while: { $0 == "@" || $0 == "%" }) {
            case "function", "STT_FUNC": entry.kind = .function
            case "object", "STT_OBJECT": entry.kind = .object
            case "notype", "STT_NOTYPE": entry.kind = .none
            default: throw error(".type: unknown symbol type '\(typeText)'")
            }
            symbols[symbol] = entry
        case ".size":
            try requireCount(2...2)
            let symbol = try symbolName(operands[0])
            symbols[symbol] = record(symbol)
            fixups.append(Fixup(kind: .symbolSize(symbol, try parseExpression(operands[1], context)),
                                location: context.location, sequence: context.sequence,
                                file: context.file, line: context.line))
        case ".option":
            try requireCount(1...1)
            guard case .identifier(let option) = operands[0].first,
                  ["rvc", "norvc", "push", "pop", "relax", "norelax", "pic", "nopic", "arch", "csr-check", "no-csr-check"].contains(option)
            else { throw error(".option: unknown option '\(operands[0].map(\.description).joined())'") }
            if option == "rvc" {
                // VirtLab emits no compressed instructions; GNU would compress from here on.
                throw error(".option rvc: compressed instructions are not supported (VirtLab's ISA is RV32IMA)")
            }
        case ".align", ".p2align", ".balign":
            try requireCount(1...3)
            let amount = try constant(operands[0], context, what: "alignment")
            let bytes: Int64
            if name == ".balign" {
                guard amount > 0, amount & (amount - 1) == 0, amount <= 1 << 24 else {
                    throw error("\(name): alignment \(amount) is not a power of 2 up to 2^24")
                }
                bytes = amount
            } else {
                guard (0...24).contains(amount) else { throw error("\(name): alignment 2^\(amount) is out of range (0 to 24)") }
                bytes = 1 << amount
            }
            var fill: UInt8?
            if operands.count >= 2 && !operands[1].isEmpty {
                let value = try constant(operands[1], context, what: "fill value")
                guard (-128...255).contains(value) else { throw error("\(name): fill value \(value) does not fit in a byte") }
                fill = UInt8(truncatingIfNeeded: value)
            }
            var maximumSkip: Int?
            if operands.count == 3 {
                let value = try constant(operands[2], context, what: "maximum skip")
                guard value >= 0 else { throw error("\(name): negative maximum skip") }
                maximumSkip = Int(min(value, Int64(Int32.max)))
            }
            try align(to: Int(bytes), fill: fill, maximumSkip: maximumSkip, context)
        case ".byte": try data(operands, width: 1, context)
        case ".half", ".2byte", ".short": try data(operands, width: 2, context)
        case ".word", ".4byte", ".long", ".int": try data(operands, width: 4, context)
        case ".dword", ".8byte", ".quad": try data(operands, width: 8, context)
        case ".ascii", ".asciz", ".string":
            guard !operands.isEmpty else { throw error("\(name) expects a string") }
            for operand in operands {
                guard operand.count == 1, case .string(let bytes) = operand[0] else {
                    throw error("\(name) expects a string in double quotes")
                }
                try emit(bytes + (name == ".ascii" ? [] : [0]), context)
            }
        case ".space", ".skip", ".zero":
            try requireCount(name == ".zero" ? 1...1 : 1...2)
            let count = try constant(operands[0], context, what: "size")
            var fill: UInt8 = 0
            if operands.count == 2 {
                let value = try constant(operands[1], context, what: "fill value")
                guard (-128...255).contains(value) else { throw error("\(name): fill value \(value) does not fit in a byte") }
                fill = UInt8(truncatingIfNeeded: value)
            }
            try emitFill(count: count, byte: fill, context)
        case ".fill":
            try requireCount(1...3)
            let repeatCount = try constant(operands[0], context, what: "repeat count")
            let size = operands.count >= 2 ? try constant(operands[1], context, what: "size") : 1
            let value = operands.count == 3 ? try constant(operands[2], context, what: "value") : 0
            guard [1, 2, 4, 8].contains(size) else { throw error(".fill: size \(size) must be 1, 2, 4 or 8") }
            guard repeatCount >= 0, repeatCount <= Int64(AssemblerState.maximumSectionSize) / size else {
                throw error(".fill: bad repeat count \(repeatCount)")
            }
            // GNU keeps only the low four bytes of the value; wider units get zeros above them.
            let unit = (0..<Int(size)).map { UInt8(truncatingIfNeeded: UInt64(UInt32(truncatingIfNeeded: value)) >> (8 * UInt64($0))) }
            if sections[currentSection].noBits && unit.allSatisfy({ $0 == 0 }) {
                try emitFill(count: repeatCount * size, byte: 0, context)
            } else {
                try requireContents(".fill", context)
                try grow(by: Int(repeatCount * size), context)
                for _ in 0..<repeatCount { sections[currentSection].bytes += unit }
            }
        case ".equ", ".set", ".equiv":
            guard operands.count == 2 else { throw error("\(name) expects a symbol and a value") }
            try assign(try symbolName(operands[0]), operands[1], context, redefinable: name != ".equiv")
        case ".include":
            try requireCount(1...1)
            guard operands[0].count == 1, case .string(let bytes) = operands[0][0] else {
                throw error(".include expects a file name in double quotes")
            }
            let file = String(decoding: bytes, as: UTF8.self)
            guard includeDepth < AssemblerState.maximumIncludeDepth else {
                throw error(".include \"\(file)\": includes nested more than \(AssemblerState.maximumIncludeDepth) deep")
            }
            let text: String
            do {
                text = try include(file)
            } catch let failure {
                throw error("cannot include \"\(file)\": \(failure)")
            }
            includeDepth += 1
            defer { includeDepth -= 1 }
            try assembleFile(source: text, fileName: file)
        case ".end":
            ended = true
        default:
            throw error("unknown directive \(name)")
        }
    }

    mutating func switchSection(to name: String) {
        let index: Int
        if let existing = sections.firstIndex(where: { $0.name == name }) {
            index = existing
        } else {
            sections.append(SectionState.defaults(for: name))
            index = sections.count - 1
        }
        if index != currentSection {
            previousSection = currentSection
            currentSection = index
        }
    }

    /// `.section NAME[, "FLAGS"[, @TYPE]]`
    mutating func sectionDirective(_ directive: String, _ operands: [[Token]], _ context: EvaluationContext) throws(AssemblyError) {
        func error(_ message: String) -> AssemblyError {
            AssemblyError(file: context.file, line: context.line, message: message)
        }
        guard let nameTokens = operands.first, !nameTokens.isEmpty else { throw error("\(directive) expects a section name") }
        let name: String
        if nameTokens.count == 1, case .string(let bytes) = nameTokens[0] {
            name = String(decoding: bytes, as: UTF8.self)
        } else {
            // A name may be written as several tokens (`.text.init` is one; `.note.GNU-stack` is three).
            name = nameTokens.map(\.description).joined()
        }
        guard !name.isEmpty else { throw error("\(directive) expects a section name") }
        if directive == ".pushsection" { sectionStack.append((currentSection, previousSection)) }
        let isNew = !sections.contains { $0.name == name }
        switchSection(to: name)
        guard operands.count >= 2 else { return }
        guard operands[1].count == 1, case .string(let flagBytes) = operands[1][0] else {
            throw error("\(directive): section flags must be a string such as \"ax\"")
        }
        var type: String?
        if operands.count >= 3 {
            let text = operands[2].map(\.description).joined()
            guard text.hasPrefix("@") || text.hasPrefix("%") else { throw error("\(directive): bad section type '\(text)'") }
            type = String(text.dropFirst())
            guard type == "progbits" || type == "nobits" || type == "note" else {
                throw error("\(directive): unsupported section type '\(text)'")
            }
        }
        // GNU warns and keeps the first attributes when a section is reopened with others.
        guard isNew else { return }
        var section = sections[currentSection]
        section.allocated = false
        section.writable = false
        section.executable = false
        for flag in flagBytes {
            switch flag {
            case UInt8(ascii: "a"): section.allocated = true
            case UInt8(ascii: "w"): section.writable = true
            case UInt8(ascii: "x"): section.executable = true
            case UInt8(ascii: "M"), UInt8(ascii: "S"), UInt8(ascii: "G"), UInt8(ascii: "T"),
                 UInt8(ascii: "?"), UInt8(ascii: "R"), UInt8(ascii: "o"), UInt8(ascii: "e"), UInt8(ascii: "d"):
                break
            default:
                throw error("\(directive): unknown section flag '\(Character(Unicode.Scalar(flag)))'")
            }
        }
        if let type { section.noBits = type == "nobits" }
        sections[currentSection] = section
    }

    mutating func data(_ operands: [[Token]], width: Int, _ context: EvaluationContext) throws(AssemblyError) {
        guard !operands.isEmpty else {
            throw AssemblyError(file: context.file, line: context.line, message: "data directive without values")
        }
        for operand in operands {
            let expression = try parseExpression(operand, context)
            if sections[currentSection].noBits {
                // Only zeros can go into a section with no file contents.
                let value = try evaluate(expression, context)
                guard value == .absolute(0) else { try requireContents("data", context); return }
                try emitFill(count: Int64(width), byte: 0, context)
                continue
            }
            var here = context
            here.location = location
            try emitFixup(.data(width: width, expression), width: width, here)
        }
    }
}
