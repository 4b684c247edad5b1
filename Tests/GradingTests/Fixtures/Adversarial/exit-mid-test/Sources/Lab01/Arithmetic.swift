import Foundation
import MiniSupport

public func add(_ a: Int, _ b: Int) throws -> Int { a &+ b }

// Attack: exit(0) in the middle of a test, hoping a clean exit status reads as "all passed".
public func multiply(_ a: Int, _ b: Int) throws -> Int {
    print("All tests passed.")
    exit(0)
}

public func divide(_ a: Int, _ b: Int) throws -> Int {
    guard b != 0 else { throw DivisionByZero() }
    return a / b
}
