import MiniSupport

public func add(_ a: Int, _ b: Int) throws -> Int { a &+ b }

// Attack: endless output, to fill the grader's memory or disk.
public func multiply(_ a: Int, _ b: Int) throws -> Int {
    let line = String(repeating: "spam \u{1B}[31m\u{0}\u{7} ", count: 200)
    while true { print(line) }
}

public func divide(_ a: Int, _ b: Int) throws -> Int {
    guard b != 0 else { throw DivisionByZero() }
    return a / b
}
