/// Turning GNU-as source text into statements of tokens.
///
/// GNU as for RISC-V ends a line at `#`; it also accepts C comments (`//` and `/* */`, which
/// may span lines) and separates statements on one line with `;`. The lexer handles all of that
/// in one pass over the bytes, so a `#` or `;` inside a string or character literal stays data.

/// One lexical token of an assembly statement.
enum Token: Equatable, Sendable {
    /// A name: symbol, mnemonic, directive or register (`loop`, `lr.w.aq`, `.word`, `a0`, `$x`).
    case identifier(String)
    case number(Int64)
    /// `1b` (backward) or `1f` (forward): a reference to numeric local label 1.
    case localLabel(Int, forward: Bool)
    case string([UInt8])
    /// A relocation operator: `%hi`, `%lo`, `%pcrel_hi`, `%pcrel_lo`.
    case modifier(String)
    /// Punctuation and operators: `( ) , : = + - * / % << >> & | ^ ~ !`.
    case symbol(String)
}

extension Token: CustomStringConvertible {
    var description: String {
        switch self {
        case .identifier(let name): return name
        case .number(let value): return String(value)
        case .localLabel(let n, let forward): return "\(n)\(forward ? "f" : "b")"
        case .string(let bytes): return "\"" + String(decoding: bytes, as: UTF8.self) + "\""
        case .modifier(let name): return "%" + name
        case .symbol(let s): return s
        }
    }
}

/// The tokens of one statement and where it came from.
struct Statement: Sendable {
    var tokens: [Token]
    var file: String
    var line: Int
}

struct SourceLexer {
    static let relocationModifiers: Set<String> = ["hi", "lo", "pcrel_hi", "pcrel_lo"]

    let file: String
    let bytes: [UInt8]

    init(source: String, file: String) {
        self.file = file
        self.bytes = Array(source.utf8)
    }

    /// Every non-empty statement of the source, in order.
    func statements() throws(AssemblyError) -> [Statement] {
        var result: [Statement] = []
        var current: [Token] = []
        var line = 1
        var statementLine = 1
        var i = 0
        let n = bytes.count

        func error(_ message: String) -> AssemblyError {
            AssemblyError(file: file, line: line, message: message)
        }
        func finishStatement() {
            if !current.isEmpty { result.append(Statement(tokens: current, file: file, line: statementLine)) }
            current = []
        }
        func isIdentifierStart(_ c: UInt8) -> Bool {
            (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || c == 0x5F || c == 0x2E || c == 0x24
        }
        func isIdentifierPart(_ c: UInt8) -> Bool { isIdentifierStart(c) || isDigit(c) }
        // `@` starts the type words of `.type` and `.section` (`@function`, `@progbits`).
        func isTypeWordStart(_ c: UInt8) -> Bool { c == 0x40 }
        func isDigit(_ c: UInt8) -> Bool { c >= 0x30 && c <= 0x39 }

        while i < n {
            let c = bytes[i]
            if current.isEmpty { statementLine = line }
            switch c {
            case 0x0A:  // newline
                finishStatement()
                line += 1
                i += 1
            case 0x20, 0x09, 0x0D, 0x0C, 0x0B:
                i += 1
            case 0x23:  // '#' line comment
                while i < n && bytes[i] != 0x0A { i += 1 }
            case 0x3B:  // ';' statement separator
                finishStatement()
                i += 1
            case 0x2F where i + 1 < n && bytes[i + 1] == 0x2F:  // '//'
                while i < n && bytes[i] != 0x0A { i += 1 }
            case 0x2F where i + 1 < n && bytes[i + 1] == 0x2A:  // '/*' ... '*/'
                let startLine = line
                i += 2
                var closed = false
                while i < n {
                    if bytes[i] == 0x2A && i + 1 < n && bytes[i + 1] == 0x2F { i += 2; closed = true; break }
                    if bytes[i] == 0x0A { line += 1 }
                    i += 1
                }
                if !closed {
                    throw AssemblyError(file: file, line: startLine, message: "unterminated /* comment")
                }
            case 0x22:  // string literal
                i += 1
                var value: [UInt8] = []
                var closed = false
                while i < n {
                    let b = bytes[i]
                    if b == 0x22 { i += 1; closed = true; break }
                    if b == 0x0A { break }
                    if b == 0x5C {
                        let (byte, next) = try escape(at: i + 1, line: line)
                        value.append(byte)
                        i = next
                    } else {
                        value.append(b)
                        i += 1
                    }
                }
                guard closed else { throw error("unterminated string") }
                current.append(.string(value))
            case 0x27:  // character literal 'c' (GNU also accepts 'c without the closing quote)
                guard i + 1 < n, bytes[i + 1] != 0x0A else { throw error("empty character literal") }
                var value: UInt8
                var next: Int
                if bytes[i + 1] == 0x5C {
                    (value, next) = try escape(at: i + 2, line: line)
                } else {
                    value = bytes[i + 1]
                    next = i + 2
                }
                if next < n && bytes[next] == 0x27 { next += 1 }
                if value >= 0x80 { value = 0x3F }  // only ASCII characters have a one-byte value
                current.append(.number(Int64(value)))
                i = next
            case _ where isDigit(c):
                var j = i
                while j < n && isIdentifierPart(bytes[j]) { j += 1 }
                let text = String(decoding: bytes[i..<j], as: UTF8.self)
                current.append(try number(text, line: line))
                i = j
            case _ where isIdentifierStart(c) || isTypeWordStart(c):
                var j = i + 1
                while j < n && isIdentifierPart(bytes[j]) { j += 1 }
                current.append(.identifier(String(decoding: bytes[i..<j], as: UTF8.self)))
                i = j
            case 0x25:  // '%': a relocation operator when a known name follows, else modulo
                var j = i + 1
                while j < n && isIdentifierPart(bytes[j]) { j += 1 }
                let name = String(decoding: bytes[(i + 1)..<j], as: UTF8.self)
                if SourceLexer.relocationModifiers.contains(name) {
                    current.append(.modifier(name))
                    i = j
                } else if !name.isEmpty && isIdentifierStart(bytes[i + 1]) && j < n && bytes[j] == 0x28 {
                    throw error("unknown relocation operator %\(name)")
                } else {
                    current.append(.symbol("%"))
                    i += 1
                }
            case 0x3C, 0x3E:  // << >>
                guard i + 1 < n, bytes[i + 1] == c else {
                    throw error("unexpected character '\(Character(Unicode.Scalar(c)))'")
                }
                current.append(.symbol(c == 0x3C ? "<<" : ">>"))
                i += 2
            case 0x28, 0x29, 0x2C, 0x3A, 0x3D, 0x2B, 0x2D, 0x2A, 0x2F, 0x26, 0x7C, 0x5E, 0x7E, 0x21:
                current.append(.symbol(String(Character(Unicode.Scalar(c)))))
                i += 1
            default:
                if c >= 0x80 {
                    throw error("unexpected non-ASCII character outside a string")
                }
                throw error("unexpected character '\(Character(Unicode.Scalar(c)))'")
            }
        }
        finishStatement()
        return result
    }

    /// Decodes the escape sequence after a backslash at `index`; returns the byte and the next index.
    private func escape(at index: Int, line: Int) throws(AssemblyError) -> (UInt8, Int) {
        guard index < bytes.count, bytes[index] != 0x0A else {
            throw AssemblyError(file: file, line: line, message: "backslash at end of line")
        }
        let c = bytes[index]
        switch c {
        case UInt8(ascii: "n"): return (0x0A, index + 1)
        case UInt8(ascii: "t"): return (0x09, index + 1)
        case UInt8(ascii: "r"): return (0x0D, index + 1)
        case UInt8(ascii: "b"): return (0x08, index + 1)
        case UInt8(ascii: "f"): return (0x0C, index + 1)
        case UInt8(ascii: "v"): return (0x0B, index + 1)
        case UInt8(ascii: "a"): return (0x07, index + 1)
        case UInt8(ascii: "e"): return (0x1B, index + 1)
        case UInt8(ascii: "x"), UInt8(ascii: "X"):
            var j = index + 1
            var value = 0
            while j < bytes.count, let digit = hexDigit(bytes[j]) {
                value = (value * 16 + digit) & 0xFF
                j += 1
            }
            guard j > index + 1 else {
                throw AssemblyError(file: file, line: line, message: "\\x needs hexadecimal digits")
            }
            return (UInt8(value), j)
        case UInt8(ascii: "0")...UInt8(ascii: "7"):
            var j = index
            var value = 0
            while j < bytes.count, j < index + 3, bytes[j] >= 0x30, bytes[j] <= 0x37 {
                value = value * 8 + Int(bytes[j] - 0x30)
                j += 1
            }
            return (UInt8(value & 0xFF), j)
        default:
            return (c, index + 1)  // \\ \" \' and any other character stand for themselves
        }
    }

    private func hexDigit(_ c: UInt8) -> Int? {
        switch c {
        case 0x30...0x39: return Int(c - 0x30)
        case 0x41...0x46: return Int(c - 0x41 + 10)
        case 0x61...0x66: return Int(c - 0x61 + 10)
        default: return nil
        }
    }

    /// A numeric literal (`42`, `0x2A`, `0b101010`, `052`) or a local label reference (`1b`, `2f`).
    private func number(_ text: String, line: Int) throws(AssemblyError) -> Token {
        func bad() -> AssemblyError {
            AssemblyError(file: file, line: line, message: "bad number '\(text)'")
        }
        let lower = text.lowercased()
        if let last = lower.last, last == "b" || last == "f",
           lower.dropLast().allSatisfy({ $0.isASCII && $0.isNumber }),
           !(lower.hasPrefix("0b") && lower.count > 2) {
            guard let label = Int(lower.dropLast()) else { throw bad() }
            return .localLabel(label, forward: last == "f")
        }
        var digits = Substring(lower)
        var radix = 10
        if lower.hasPrefix("0x") { radix = 16; digits = digits.dropFirst(2) }
        else if lower.hasPrefix("0b") { radix = 2; digits = digits.dropFirst(2) }
        else if lower.hasPrefix("0") && lower.count > 1 { radix = 8; digits = digits.dropFirst() }
        guard !digits.isEmpty, let value = UInt64(digits, radix: radix) else { throw bad() }
        // GNU as evaluates in 64 bits; a literal above Int64.max keeps its bit pattern.
        return .number(Int64(bitPattern: value))
    }
}
