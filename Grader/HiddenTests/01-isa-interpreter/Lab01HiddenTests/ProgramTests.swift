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

    @Test func multiplyDivideEdgeCases() throws {
        let result = checkProgram(try Guests.assembly("muldiv.s", multiplyDivideProgram))
        #expect(result.output.hasPrefix("checksum=0x"), "muldiv.s printed \(String(reflecting: result.output))")
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

    /// compute.elf is 7,551,891 instructions, ten times all the other programs together, so it
    /// runs only once the short programs agree with the reference: for a submission they already
    /// fail, this rubric test fails either way, and their own failures say where.
    @Test func computeSieveCRCAndMatrix() throws {
        for program in try ProgramTests.shortPrograms() where Explain.failure(LockStep.run(program, executor: Executor())) != nil {
            Issue.record("compute.elf was not run: \(program.name) already diverges from the reference (its own test shows where); compute.elf runs once the shorter programs agree with the reference.")
            return
        }
        _ = checkProgram(try Guests.linux("compute"), maxInstructions: 20_000_000)
    }

    /// The programs above that take under 25,000 instructions each (heap.elf takes 876,138).
    static func shortPrograms() throws -> [GuestProgram] {
        [try Guests.assembly("fibonacci.s", Guests.fibonacci), try Guests.assembly("sort.s", Guests.sort),
         try Guests.assembly("muldiv.s", multiplyDivideProgram),
         try Guests.linux("hello"), try Guests.linux("args", arguments: ["one", "two three"]), try Guests.linux("status", arguments: ["7"]),
         try Guests.linux("upper", input: Array("shout this\n".utf8))]
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
