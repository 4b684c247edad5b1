import MiniSupport

public func add(_ a: Int, _ b: Int) throws -> Int { a &+ b }

// Attack: allocate and touch memory without bound (the multiplication test's limit is 256M).
public func multiply(_ a: Int, _ b: Int) throws -> Int {
    var hoard: [[UInt8]] = []
    while true {
        hoard.append([UInt8](repeating: UInt8(truncatingIfNeeded: hoard.count | 1), count: 32 << 20))
    }
}

public func divide(_ a: Int, _ b: Int) throws -> Int {
    guard b != 0 else { throw DivisionByZero() }
    return a / b
}
