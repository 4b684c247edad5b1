import Foundation
import Lab02
import LabSupport
import LabTestSupport
import Testing

func differential(_ program: GuestProgram, maxInstructions: UInt64 = 50_000_000, expectExit: Bool = true,
                  sourceLocation: SourceLocation = #_sourceLocation) -> DifferentialResult {
    let result = LockStep.run(program, engine: { BlockTranslator(memory: $0) }, maxInstructions: maxInstructions)
    if let failure = Explain.failure(result, expectExit: expectExit) { Issue.record(Comment(rawValue: failure), sourceLocation: sourceLocation) }
    return result
}

/// Runs a program to the end with the student's engine, for the statistics.
func runTranslated(_ program: GuestProgram) throws -> (machine: LabMachine, engine: BlockTranslator, stop: LabMachine.Stop) {
    let machine = try LabMachine(program: program)
    let engine = BlockTranslator(memory: machine.memory)
    let stop = machine.run(with: engine, maxInstructions: 100_000_000)
    return (machine, engine, stop)
}

@Suite struct CorrectnessTests {
    @Test func assemblyPrograms() throws {
        _ = differential(try Guests.assembly("fibonacci.s", Guests.fibonacci))
        _ = differential(try Guests.assembly("sort.s", Guests.sort))
    }

    @Test(arguments: [("hello", [String]()), ("args", ["a", "b c"]), ("status", ["3"]), ("heap", [])])
    func cGuest(_ name: String, _ arguments: [String]) throws {
        _ = differential(try Guests.linux(name, arguments: arguments))
    }

    @Test func compute() throws {
        _ = differential(try Guests.linux("compute"), maxInstructions: 200_000_000)
    }

    @Test(arguments: [11, 12, 13, 14, 15, 16] as [UInt64])
    func randomProgram(seed: UInt64) throws {
        var generator = RandomProgram(seed: seed)
        _ = differential(try generator.generate(name: "random-\(seed)", bodyLength: 100, iterations: 30))
    }
}

@Suite struct BlockTrapTests {
    /// A fault in the middle of a block: the instructions before it retired, pc is at it.
    @Test func faultInTheMiddleOfABlock() throws {
        let result = differential(try Guests.assembly("fault.s", Guests.faultInBlock), expectExit: false)
        #expect(result.stop == .trapped(Trap(.loadAccessFault, value: 0), pc: 0x1_000C))
    }

    @Test func illegalInstructionEndsTheProgram() throws {
        let program = try Guests.assembly("illegal.s", ".text\n_start:\n li a0, 5\n addi a0, a0, 1\n .word 0xffffffff\n li a7, 93\n ecall\n")
        let result = differential(program, expectExit: false)
        #expect(result.stop == .trapped(Trap(.illegalInstruction, value: 0xFFFF_FFFF), pc: 0x1_0008))
    }
}

@Suite struct InvalidationTests {
    @Test func storeIntoTranslatedCode() throws {
        let result = differential(try Guests.assembly("smc-store.s", Guests.selfModifying(fenceI: false)))
        #expect(result.stop == .exited(code: 128))
        let run = try runTranslated(try Guests.assembly("smc-store.s", Guests.selfModifying(fenceI: false)))
        #expect(run.engine.statistics.blocksInvalidated >= 49, "cache: \(run.engine.statistics)")
    }

    @Test func fenceIFlushes() throws {
        let result = differential(try Guests.assembly("smc-fence.s", Guests.selfModifying(fenceI: true)))
        #expect(result.stop == .exited(code: 128))
        let run = try runTranslated(try Guests.assembly("smc-fence.s", Guests.selfModifying(fenceI: true)))
        #expect(run.engine.statistics.flushes >= 50, "cache: \(run.engine.statistics)")
    }

    /// Stores into data that shares a page with code must not throw the code away.
    @Test func dataNextToCodeKeepsTheCache() throws {
        let run = try runTranslated(try Guests.assembly("sort.s", Guests.sort))
        #expect({ if case .exited = run.stop { true } else { false } }(), "stopped: \(run.stop)")
        #expect(run.engine.statistics.blocksInvalidated == 0, "cache: \(run.engine.statistics)")
        #expect(run.engine.statistics.hitRatio > 0.95, "cache: \(run.engine.statistics)")
    }
}

@Suite struct CacheStatisticsTests {
    /// The counts are honest: one lookup per block run, every lookup a hit or a translation,
    /// and every executed instruction decoded at least once (through memory.fetch).
    @Test func countsAreConsistent() throws {
        let run = try runTranslated(try Guests.linux("compute"))
        let statistics = run.engine.statistics
        #expect({ if case .exited = run.stop { true } else { false } }(), "stopped: \(run.stop)")
        #expect(statistics.lookups == run.machine.blockRuns, "cache: \(statistics); the machine ran \(run.machine.blockRuns) blocks")
        #expect(statistics.hits + statistics.blocksTranslated == statistics.lookups, "cache: \(statistics)")
        #expect(run.machine.memory.decodeCount > 100, "only \(run.machine.memory.decodeCount) decodes through memory.fetch")
    }

    @Test func computeDecodesEachInstructionAboutOnce() throws {
        let run = try runTranslated(try Guests.linux("compute"))
        let ratio = Double(run.machine.memory.decodeCount) / Double(max(run.machine.retired, 1))
        #expect(ratio < 0.001, "\(run.machine.memory.decodeCount) decodes for \(run.machine.retired) instructions")
        #expect(run.engine.statistics.hitRatio > 0.99, "cache: \(run.engine.statistics)")
    }
}

@Suite struct SpeedupTests {
    /// Translated code must beat the interpreter on the same executor by a clear margin. Wall
    /// time only as a ratio, measured here, both ways, best of three: never an absolute time.
    @Test func fasterThanInterpreting() throws {
        let program = try Guests.assembly("hot-loop.s", Guests.hotLoop)
        func seconds(_ body: () throws -> Void) rethrows -> Double {
            var best = Double.infinity
            for _ in 0..<3 {
                let start = DispatchTime.now().uptimeNanoseconds
                try body()
                best = min(best, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
            }
            return best
        }
        var interpreted: LabMachine.Stop = .instructionLimit, translated: LabMachine.Stop = .instructionLimit
        let interpreter = try seconds {
            let machine = try LabMachine(program: program)
            interpreted = machine.run(with: Executor())
        }
        let translator = try seconds {
            let machine = try LabMachine(program: program)
            translated = machine.run(with: BlockTranslator(memory: machine.memory))
        }
        #expect(translated == interpreted, "the translated run stopped with \(translated), the interpreted one with \(interpreted)")
        let speedup = interpreter / translator
        print("Lab02 speed-up: translated \(translator) s, interpreted \(interpreter) s, \(speedup)x")
        #expect(speedup >= SpeedupTests.requiredSpeedup,
                "translated \(String(format: "%.3f", translator)) s vs interpreted \(String(format: "%.3f", interpreter)) s: speed-up \(String(format: "%.2f", speedup))x, needs \(SpeedupTests.requiredSpeedup)x")
    }

    static let requiredSpeedup = 1.3
}
