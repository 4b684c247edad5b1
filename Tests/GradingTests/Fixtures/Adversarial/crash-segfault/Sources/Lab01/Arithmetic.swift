import MiniSupport

public func add(_ a: Int, _ b: Int) throws -> Int { a &+ b }

public func multiply(_ a: Int, _ b: Int) throws -> Int { a &* b }

// Attack: a segmentation fault (a store to address 8) in the division test.
public func divide(_ a: Int, _ b: Int) throws -> Int {
    let nowhere = UnsafeMutablePointer<Int>(bitPattern: 8 &+ a &* 0)
    nowhere?.pointee = b
    return a / b
}
