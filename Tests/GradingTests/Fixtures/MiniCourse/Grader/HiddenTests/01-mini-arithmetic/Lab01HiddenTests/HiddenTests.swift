import Lab01
import MiniSupport
import Testing

@Suite struct AdditionTests {
    @Test(arguments: [(1, 2, 3), (-5, 5, 0), (Int.max, 1, Int.min)])
    func sums(a: Int, b: Int, expected: Int) throws {
        let actual = try add(a, b)
        #expect(actual == expected, "add(\(a), \(b)) should be \(expected) (wrapping), got \(actual)")
    }
}

@Suite struct MultiplicationTests {
    @Test func products() throws {
        #expect(try multiply(6, 7) == 42)
        #expect(try multiply(-3, 3) == -9)
    }
}

@Suite struct DivisionTests {
    @Test func quotients() throws {
        #expect(try divide(42, 6) == 7)
        #expect(try divide(-7, 2) == -3, "Swift's / rounds toward zero")
    }

    @Test func divisionByZeroThrows() {
        #expect(throws: DivisionByZero.self) { try divide(1, 0) }
    }
}
