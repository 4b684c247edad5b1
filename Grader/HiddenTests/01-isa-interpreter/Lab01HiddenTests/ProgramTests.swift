import Lab01
import LabSupport
import LabTestSupport
import Testing

/// Whole programs, run in lock-step with the reference: the first instruction after which the
/// two disagree is reported.
@Suite struct ProgramTests {
    @Test func fibonacci() throws {
        let result = checkProgram(try Guests.assembly("fibonacci.s", Guests.fibonacci))
        #expect(result.output == "fib(25) = 75025\n")
    }

    @Test func insertionSortWithCalls() throws {
        _ = checkProgram(try Guests.assembly("sort.s", Guests.sort))
    }

    @Test(arguments: [("hello", [String]()), ("args", ["one", "two three"]), ("status", ["7"]), ("heap", [])])
    func cGuest(_ name: String, _ arguments: [String]) throws {
        let result = checkProgram(try Guests.linux(name, arguments: arguments))
        #expect(!result.output.isEmpty, "\(name) printed nothing")
    }

    @Test func upperReadsStandardInput() throws {
        let result = checkProgram(try Guests.linux("upper", input: Array("shout this\n".utf8)))
        #expect(result.output.contains("SHOUT THIS"))
    }

    @Test func computeSieveCRCAndMatrix() throws {
        _ = checkProgram(try Guests.linux("compute"), maxInstructions: 200_000_000)
    }
}

/// Random programs from fixed seeds: every instruction group mixed, with values no one chose.
@Suite struct RandomProgramTests {
    @Test(arguments: [1, 2, 3, 4, 5, 6, 7, 8] as [UInt64])
    func randomProgram(seed: UInt64) throws {
        var generator = RandomProgram(seed: seed)
        let program = try generator.generate(name: "random-\(seed)", bodyLength: 80, iterations: 25)
        _ = checkProgram(program)
    }
}
