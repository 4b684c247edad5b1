/// Evaluating expressions against the symbol table, and pass two.
extension AssemblerState {
    static let maximumSymbolDepth = 64

    func evaluate(_ expression: Expression, _ context: EvaluationContext, depth: Int = 0) throws(AssemblyError) -> Value {
        func error(_ message: String) -> AssemblyError {
            AssemblyError(file: context.file, line: context.line, message: message)
        }
        switch expression {
        case .number(let n):
            return .absolute(n)
        case .location:
            return Value(section: context.location.section, offset: Int64(context.location.offset))
        case .symbol(let name):
            return try value(of: name, context, depth: depth)
        case .negate(let inner):
            let v = try absolute(try evaluate(inner, context, depth: depth), "-", context)
            return .absolute(0 &- v)
        case .complement(let inner):
            return .absolute(~(try absolute(try evaluate(inner, context, depth: depth), "~", context)))
        case .logicalNot(let inner):
            return .absolute(try absolute(try evaluate(inner, context, depth: depth), "!", context) == 0 ? 1 : 0)
        case .binary(let op, let leftExpression, let rightExpression):
            let left = try evaluate(leftExpression, context, depth: depth)
            let right = try evaluate(rightExpression, context, depth: depth)
            switch op {
            case .add:
                if left.section != nil && right.section != nil { throw error("cannot add two addresses") }
                return Value(section: left.section ?? right.section, offset: left.offset &+ right.offset)
            case .subtract:
                if left.section == right.section { return .absolute(left.offset &- right.offset) }
                if right.section == nil { return Value(section: left.section, offset: left.offset &- right.offset) }
                // Addresses in two different sections: their distance is known once they are placed.
                if context.laidOut, left.section != nil {
                    return .absolute(address(of: left) &- address(of: right))
                }
                throw error("the distance between two sections is not known yet here")
            default:
                let a = try absolute(left, op.rawValue, context)
                let b = try absolute(right, op.rawValue, context)
                switch op {
                case .multiply: return .absolute(a &* b)
                case .divide, .remainder:
                    guard b != 0 else { throw error("division by zero") }
                    if a == Int64.min && b == -1 { return .absolute(op == .divide ? a : 0) }
                    return .absolute(op == .divide ? a / b : a % b)
                case .shiftLeft: return .absolute(b < 0 || b >= 64 ? 0 : a << b)
                case .shiftRight: return .absolute(b < 0 || b >= 64 ? 0 : Int64(bitPattern: UInt64(bitPattern: a) >> UInt64(b)))
                case .and: return .absolute(a & b)
                case .or: return .absolute(a | b)
                case .xor: return .absolute(a ^ b)
                case .add, .subtract: return .absolute(0)  // handled above
                }
            }
        }
    }

    func absolute(_ value: Value, _ operation: String, _ context: EvaluationContext) throws(AssemblyError) -> Int64 {
        guard value.isAbsolute else {
            throw AssemblyError(file: context.file, line: context.line,
                                message: "operator '\(operation)' needs numbers, not addresses")
        }
        return value.offset
    }

    func value(of name: String, _ context: EvaluationContext, depth: Int) throws(AssemblyError) -> Value {
        func error(_ message: String) -> AssemblyError {
            AssemblyError(file: context.file, line: context.line, message: message)
        }
        guard depth < AssemblerState.maximumSymbolDepth else {
            throw error("symbol \(AssemblerState.displayName(name)) is defined in terms of itself")
        }
        guard let symbol = symbols[name], let first = symbol.definitions.first else {
            if !context.laidOut {
                throw error("symbol \(AssemblerState.displayName(name)) must be defined before this use")
            }
            throw error("undefined symbol \(AssemblerState.displayName(name))")
        }
        // The definition in force at this statement; a use before any definition sees the first one.
        let inForce = symbol.definitions.last { $0.sequence <= context.sequence }
        if inForce == nil && !context.laidOut {
            throw error("symbol \(AssemblerState.displayName(name)) must be defined before this use")
        }
        let chosen = inForce ?? first
        switch chosen.definition {
        case .label(let location):
            return Value(section: location.section, offset: Int64(location.offset))
        case .expression(let expression, let location, let file, let line):
            // The right-hand side sees the definitions before this one: `.set X, X + 1` increments.
            let inner = EvaluationContext(sequence: chosen.sequence - 1, location: location, file: file, line: line,
                                          laidOut: context.laidOut)
            do {
                return try evaluate(expression, inner, depth: depth + 1)
            } catch {
                // Report the problem where the value was needed, naming the symbol (once, at the outermost use).
                if depth > 0 || (error.file == context.file && error.line == context.line) { throw error }
                throw AssemblyError(file: context.file, line: context.line,
                                    message: "\(AssemblerState.displayName(name)): \(error.message) (at \(error.file):\(error.line))")
            }
        }
    }

    /// A value with its section resolved to an address (pass two).
    func address(of value: Value) -> Int64 {
        guard let section = value.section else { return value.offset }
        return sections[section].address &+ value.offset
    }

    /// An absolute number known in pass one (for sizes, counts, `li`).
    func constant(_ tokens: [Token], _ context: EvaluationContext, what: String) throws(AssemblyError) -> Int64 {
        let value = try evaluate(try parseExpression(tokens, context), context)
        guard value.isAbsolute else {
            throw AssemblyError(file: context.file, line: context.line, message: "\(what) must be a number, not an address")
        }
        return value.offset
    }

    // MARK: Pass two

    mutating func applyFixups() throws(AssemblyError) {
        for fixup in fixups {
            let context = EvaluationContext(sequence: fixup.sequence, location: fixup.location,
                                            file: fixup.file, line: fixup.line, laidOut: true)
            func error(_ message: String) -> AssemblyError {
                AssemblyError(file: fixup.file, line: fixup.line, message: message)
            }
            switch fixup.kind {
            case .data(let width, let expression):
                let value = address(of: try evaluate(expression, context))
                if width < 8 {
                    let bits = Int64(width * 8)
                    guard value >= -(1 << (bits - 1)) && value < 1 << bits else {
                        throw error("value \(value) does not fit in \(width) byte\(width == 1 ? "" : "s")")
                    }
                }
                patch(fixup.location, UInt64(bitPattern: value), width: width)
            case .instruction(let pending):
                let word = try encode(pending, context)
                patch(fixup.location, UInt64(word), width: 4)
            case .symbolSize(let name, let expression):
                let value = try evaluate(expression, context)
                guard value.isAbsolute, value.offset >= 0, value.offset <= Int64(UInt32.max) else {
                    throw error(".size of \(AssemblerState.displayName(name)) must be a non-negative number")
                }
                symbols[name]?.size = UInt32(value.offset)
            }
        }
    }

    mutating func patch(_ location: Location, _ value: UInt64, width: Int) {
        for i in 0..<width {
            sections[location.section].bytes[location.offset + i] = UInt8(truncatingIfNeeded: value >> (8 * UInt64(i)))
        }
    }

    // MARK: The result

    func program() throws(AssemblyError) -> AssembledProgram {
        var result = AssembledProgram(sections: [], symbols: [], entry: base)
        for section in sections {
            result.sections.append(AssembledProgram.Section(
                name: section.name, address: section.allocated ? UInt32(truncatingIfNeeded: section.address) : 0,
                alignment: UInt32(section.alignment), bytes: section.noBits ? [] : section.bytes,
                size: UInt32(section.size), isAllocated: section.allocated, isWritable: section.writable,
                isExecutable: section.executable, isNoBits: section.noBits))
        }
        let finalContext = EvaluationContext(sequence: Int.max, location: Location(section: 0, offset: 0),
                                             file: mainFile, line: 0, laidOut: true)
        for name in symbolOrder {
            guard let symbol = symbols[name], let last = symbol.definitions.last else { continue }
            let context = EvaluationContext(sequence: finalContext.sequence, location: finalContext.location,
                                            file: last.file, line: last.line, laidOut: true)
            let value = try self.value(of: name, context, depth: 0)
            if name == "_start" { result.entry = UInt32(truncatingIfNeeded: address(of: value)) }
            // GNU keeps `.L` names out of the symbol table: they are the assembler's own.
            if name.hasPrefix(".L") { continue }
            result.symbols.append(AssembledProgram.Symbol(
                name: name, value: UInt32(truncatingIfNeeded: address(of: value)), size: symbol.size,
                kind: symbol.kind, binding: {
                    switch symbol.binding {
                    case .local: return .local
                    case .global: return .global
                    case .weak: return .weak
                    }
                }(), section: value.section.map { sections[$0].name }))
        }
        return result
    }
}
