import MiniSupport

// Attack: none; the submission simply does not compile (a missing brace and an undefined name).
public func add(_ a: Int, _ b: Int) throws -> Int {
    return a &+ b + undefinedName

public func multiply(_ a: Int, _ b: Int) throws -> Int { a &* b }

public func divide(_ a: Int, _ b: Int) throws -> Int {
    guard b != 0 else { throw DivisionByZero() }
    return a / b
}
