/// Assembler expressions: the arithmetic GNU as allows in operands and directive arguments.
///
/// Precedence follows GNU as, which differs from C: `* / % << >>` bind tightest, then
/// `| & ^`, then `+ -`. So `1 + 2 & 3` is `1 + (2 & 3)`, as GNU computes it.
indirect enum Expression: Sendable, Equatable {
    case number(Int64)
    case symbol(String)
    /// `.`: the address of the current statement.
    case location
    case negate(Expression)
    case complement(Expression)
    case logicalNot(Expression)
    case binary(BinaryOperator, Expression, Expression)
}

enum BinaryOperator: String, Sendable {
    case add = "+", subtract = "-", multiply = "*", divide = "/", remainder = "%"
    case shiftLeft = "<<", shiftRight = ">>", and = "&", or = "|", xor = "^"
}

/// A recursive-descent parser over the tokens of one operand.
struct ExpressionParser {
    let tokens: [Token]
    var index = 0

    init(_ tokens: [Token]) { self.tokens = tokens }

    /// Parses the whole token list as one expression, or returns a message saying what is wrong.
    static func parse(_ tokens: [Token]) -> Result<Expression, ExpressionSyntaxError> {
        var parser = ExpressionParser(tokens)
        do throws(ExpressionSyntaxError) {
            let expression = try parser.parseSum()
            guard parser.index == tokens.count else {
                throw ExpressionSyntaxError(message: "unexpected '\(tokens[parser.index])' in expression")
            }
            return .success(expression)
        } catch {
            return .failure(error)
        }
    }

    private var current: Token? { index < tokens.count ? tokens[index] : nil }

    private mutating func parseSum() throws(ExpressionSyntaxError) -> Expression {
        var left = try parseBitwise()
        while case .symbol(let s)? = current, s == "+" || s == "-" {
            index += 1
            let right = try parseBitwise()
            left = .binary(s == "+" ? .add : .subtract, left, right)
        }
        return left
    }

    private mutating func parseBitwise() throws(ExpressionSyntaxError) -> Expression {
        var left = try parseProduct()
        while case .symbol(let s)? = current, let op = BinaryOperator(rawValue: s), [.and, .or, .xor].contains(op) {
            index += 1
            left = .binary(op, left, try parseProduct())
        }
        return left
    }

    private mutating func parseProduct() throws(ExpressionSyntaxError) -> Expression {
        var left = try parseUnary()
        while case .symbol(let s)? = current, let op = BinaryOperator(rawValue: s),
              [.multiply, .divide, .remainder, .shiftLeft, .shiftRight].contains(op) {
            index += 1
            left = .binary(op, left, try parseUnary())
        }
        return left
    }

    private mutating func parseUnary() throws(ExpressionSyntaxError) -> Expression {
        if case .symbol(let s)? = current {
            switch s {
            case "-": index += 1; return .negate(try parseUnary())
            case "+": index += 1; return try parseUnary()
            case "~": index += 1; return .complement(try parseUnary())
            case "!": index += 1; return .logicalNot(try parseUnary())
            default: break
            }
        }
        return try parsePrimary()
    }

    private mutating func parsePrimary() throws(ExpressionSyntaxError) -> Expression {
        guard let token = current else { throw ExpressionSyntaxError(message: "missing expression") }
        index += 1
        switch token {
        case .number(let value):
            return .number(value)
        case .identifier(let name):
            return name == "." ? .location : .symbol(name)
        case .symbol("("):
            let inner = try parseSum()
            guard case .symbol(")")? = current else { throw ExpressionSyntaxError(message: "missing ')'") }
            index += 1
            return inner
        case .modifier(let name):
            throw ExpressionSyntaxError(message: "%\(name) is only allowed as a whole instruction operand")
        case .string:
            throw ExpressionSyntaxError(message: "a string is not a number")
        case .localLabel(let n, let forward):
            // The assembler rewrites these before parsing; reaching here means it could not.
            throw ExpressionSyntaxError(message: "local label reference \(n)\(forward ? "f" : "b") not allowed here")
        case .symbol(let s):
            throw ExpressionSyntaxError(message: "unexpected '\(s)' in expression")
        }
    }
}

struct ExpressionSyntaxError: Error {
    var message: String
}

/// The value of an expression: a number, or an offset into a section (an address not yet
/// known until the sections are laid out). `section == nil` means an absolute number.
struct Value: Equatable, Sendable {
    var section: Int?
    var offset: Int64

    static func absolute(_ n: Int64) -> Value { Value(section: nil, offset: n) }
    var isAbsolute: Bool { section == nil }
}
