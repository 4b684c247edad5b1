import MiniSupport

public func add(_ a: Int, _ b: Int) throws -> Int { a &+ b }

// Attack: an infinite loop; only the multiplication test's time limit should stop it.
public func multiply(_ a: Int, _ b: Int) throws -> Int {
    var spins = 0
    while spins >= 0 { spins = (spins &+ 1) & 0xFFFF }
    return a &* b
}

public func divide(_ a: Int, _ b: Int) throws -> Int {
    guard b != 0 else { throw DivisionByZero() }
    return a / b
}
