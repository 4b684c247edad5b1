import Lab02
import LabSupport
import LabTestSupport
import Testing

// The public tests of Lab 02. Run them with `vlab test 02`
// (or `VLAB_LAB=02 swift test --filter Lab02PublicTests`).
//
// Your BlockTranslator runs each program in lock-step, block by block, with the reference
// emulator: after every block the registers must match. A failure names the first block after
// which they differ, lists its instructions, and shows expected against actual values.

func differential(_ program: GuestProgram, sourceLocation: SourceLocation = #_sourceLocation) -> DifferentialResult {
    let result = LockStep.run(program, engine: { BlockTranslator(memory: $0) })
    if let failure = Explain.failure(result) { Issue.record(Comment(rawValue: failure), sourceLocation: sourceLocation) }
    return result
}

@Suite struct TranslatedPrograms {
    @Test func fibonacci() throws {
        let result = differential(try Guests.assembly("fibonacci.s", Guests.fibonacci))
        #expect(result.output == "fib(25) = 75025\n")
    }

    @Test func helloFromC() throws {
        let result = differential(try Guests.linux("hello"))
        #expect(result.output.hasPrefix("Hello from RV32 user mode!\n"))
    }

    @Test func selfModifyingCodeWithFenceI() throws {
        let result = differential(try Guests.assembly("smc-fence.s", Guests.selfModifying(fenceI: true)))
        #expect(result.stop == .exited(code: 128))
    }
}

@Suite struct CodeCacheBehaviour {
    /// A loop runs from the cache: almost every lookup hits, and each instruction is decoded about once.
    @Test func hotLoopIsDecodedOnce() throws {
        let machine = try LabMachine(program: try Guests.assembly("hot-loop.s", Guests.hotLoop))
        let engine = BlockTranslator(memory: machine.memory)
        let stop = machine.run(with: engine)
        let exited: Bool
        if case .exited = stop { exited = true } else { exited = false }
        #expect(exited, "the program did not exit: \(stop)")
        let decodesPerInstruction = Double(machine.memory.decodeCount) / Double(max(machine.retired, 1))
        #expect(decodesPerInstruction < 0.01, "decoded \(machine.memory.decodeCount) times for \(machine.retired) instructions: is the cache used?")
        #expect(engine.statistics.hitRatio > 0.99, "cache: \(engine.statistics)")
    }
}
