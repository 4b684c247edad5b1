import MiniSupport

public func add(_ a: Int, _ b: Int) throws -> Int {
    // BEGIN SOLUTION
    // STUB: throw Unimplemented("add")
    return a &+ b
    // END SOLUTION
}

public func multiply(_ a: Int, _ b: Int) throws -> Int {
    // BEGIN SOLUTION
    // STUB: throw Unimplemented("multiply")
    return a &* b
    // END SOLUTION
}

public func divide(_ a: Int, _ b: Int) throws -> Int {
    // BEGIN SOLUTION
    // STUB: throw Unimplemented("divide")
    guard b != 0 else { throw DivisionByZero() }
    return a / b
    // END SOLUTION
}
