import LabSupport
import RISCV

/// The outcome of running one program on a lab machine and on the reference side by side.
public struct DifferentialResult: Sendable {
    /// nil when the two agreed on every register after every step, on how the program stopped,
    /// on its output and on its final memory; otherwise what differed first, explained.
    public var divergence: String?
    public var stop: LabMachine.Stop
    public var retired: UInt64
    public var output: String
}

/// Lock-step differential runs: the lab machine and `ReferenceMachine` run the same program, and
/// the first instruction (or, for Lab 02, the first block) after which their states differ is
/// reported with the instruction, its inputs, and the expected and actual values.
///
/// To stay fast, the two are compared every `chunk` instructions; when a chunk differs, both are
/// rebuilt and replayed from the start one step at a time to that chunk, which finds the first
/// diverging step exactly (runs are deterministic).
public enum LockStep {
    public static func run(_ program: GuestProgram, executor: some InstructionExecutor,
                           maxInstructions: UInt64 = 50_000_000, chunk: UInt64 = 4096) -> DifferentialResult {
        run(program, maxInstructions: maxInstructions, chunk: chunk,
            advance: { lab, budget in
                let start = lab.retired
                let stop = lab.run(with: executor, maxInstructions: budget)
                return (lab.retired - start, stop == .instructionLimit ? nil : stop)
            },
            describeStep: { pc, word, _ in StateReport.describe(word, at: pc) })
    }

    /// The same for a block engine; `makeEngine` builds a fresh engine for a machine's memory
    /// (called again for the replay).
    public static func run(_ program: GuestProgram, engine makeEngine: @escaping (Memory) -> any BlockEngine,
                           maxInstructions: UInt64 = 50_000_000, chunk: UInt64 = 4096) -> DifferentialResult {
        var engines: [ObjectIdentifier: any BlockEngine] = [:]
        func engine(for lab: LabMachine) -> any BlockEngine {
            if let existing = engines[ObjectIdentifier(lab)] { return existing }
            let made = makeEngine(lab.memory)
            engines[ObjectIdentifier(lab)] = made
            return made
        }
        return run(program, maxInstructions: maxInstructions, chunk: chunk,
                   advance: { lab, budget in
                       let start = lab.retired
                       let engine = engine(for: lab)
                       while lab.retired - start < budget {
                           if let stop = lab.runBlock(with: engine).stop { return (lab.retired - start, stop) }
                       }
                       return (lab.retired - start, nil)
                   },
                   describeStep: { pc, _, count in
                       let listing = (0..<max(count, 1)).map { index -> String in
                           let address = pc &+ UInt32(index * 4)
                           return "      " + disassemble(program, at: address)
                       }
                       return "the block at pc 0x\(hex8(pc)) (\(count) instruction\(count == 1 ? "" : "s") retired):\n" + listing.joined(separator: "\n")
                   })
    }

    static func disassemble(_ program: GuestProgram, at address: UInt32) -> String {
        for segment in program.segments where address >= segment.address && UInt64(address) + 4 <= UInt64(segment.address) + UInt64(segment.bytes.count) {
            let offset = Int(address - segment.address)
            let b = segment.bytes
            let word = UInt32(b[offset]) | UInt32(b[offset + 1]) << 8 | UInt32(b[offset + 2]) << 16 | UInt32(b[offset + 3]) << 24
            return "0x\(hex8(address)): \(StateReport.disassembler.format(Instruction(decoding: word), at: address))"
        }
        return "0x\(hex8(address)): (not in the program image)"
    }

    /// `advance(lab, budget)` runs the lab side for up to `budget` instructions (a block engine
    /// may overshoot) and returns how many retired and the stop, if it stopped.
    private static func run(_ program: GuestProgram, maxInstructions: UInt64, chunk: UInt64,
                            advance: (LabMachine, UInt64) -> (retired: UInt64, stop: LabMachine.Stop?),
                            describeStep: (UInt32, UInt32, Int) -> String) -> DifferentialResult {
        let lab: LabMachine, reference: ReferenceMachine
        do {
            lab = try LabMachine(program: program)
            reference = try ReferenceMachine(mirroring: lab)
        } catch {
            return DifferentialResult(divergence: "cannot load \(program.name): \(error)", stop: .labCodeFailed("\(error)"), retired: 0, output: "")
        }
        while true {
            let budget = min(chunk, maxInstructions - min(maxInstructions, lab.retired))
            if budget == 0 {
                return finish(program, lab, reference, stop: .instructionLimit, describeStep: describeStep, advance: advance)
            }
            let (count, labStop) = advance(lab, budget)
            var referenceStop = reference.run(count)
            if referenceStop == nil, let labStop, !isExit(labStop) {
                // The lab side stopped at an instruction that did not retire: let the reference try it.
                referenceStop = reference.run(1)
            }
            if !agree(lab, reference, labStop, referenceStop) {
                return replay(program, upTo: lab.retired, advance: advance, describeStep: describeStep)
            }
            if let labStop {
                return finish(program, lab, reference, stop: labStop, describeStep: describeStep, advance: advance)
            }
        }
    }

    private static func agree(_ lab: LabMachine, _ reference: ReferenceMachine, _ labStop: LabMachine.Stop?, _ referenceStop: LabMachine.Stop?) -> Bool {
        if let labStop, !labStop.sameOutcome(as: referenceStop) { return false }
        if labStop == nil && referenceStop != nil { return false }
        return lab.hart.pc == reference.pc && lab.hart.registers.all == reference.registers && lab.output == reference.system.output
    }

    /// Both stopped the same way with the same registers: compare what they leave behind.
    private static func finish(_ program: GuestProgram, _ lab: LabMachine, _ reference: ReferenceMachine, stop: LabMachine.Stop,
                               describeStep: (UInt32, UInt32, Int) -> String,
                               advance: (LabMachine, UInt64) -> (retired: UInt64, stop: LabMachine.Stop?)) -> DifferentialResult {
        for region in lab.memory.regions {
            let mine = lab.memory.contents(of: region)
            guard let theirs = reference.read(region.base, count: Int(region.size)), mine != theirs else { continue }
            guard let index = mine.indices.first(where: { mine[$0] != theirs[$0] }) else { continue }
            let address = region.base + UInt32(index)
            let writer = findWriter(program, address: address, advance: advance, describeStep: describeStep)
            return DifferentialResult(
                divergence: """
                    \(program.name): registers agreed at every step, but at the end memory differs at 0x\(hex8(address)) \
                    (\(region.name)): expected byte 0x\(String(theirs[index], radix: 16)), actual 0x\(String(mine[index], radix: 16)).
                    \(writer)
                    """,
                stop: stop, retired: lab.retired, output: lab.outputText)
        }
        return DifferentialResult(divergence: nil, stop: stop, retired: lab.retired, output: lab.outputText)
    }

    /// Replays from the start, one step at a time, to the first step after which the two differ.
    private static func replay(_ program: GuestProgram, upTo limit: UInt64,
                               advance: (LabMachine, UInt64) -> (retired: UInt64, stop: LabMachine.Stop?),
                               describeStep: (UInt32, UInt32, Int) -> String) -> DifferentialResult {
        guard let lab = try? LabMachine(program: program), let reference = try? ReferenceMachine(mirroring: lab) else {
            return DifferentialResult(divergence: "cannot reload \(program.name)", stop: .labCodeFailed(""), retired: 0, output: "")
        }
        while true {
            let pc = lab.hart.pc
            let before = lab.hart.registers.all
            let word = lab.memory.read(pc, count: 4).map { littleEndian($0) } ?? 0
            let (count, labStop) = advance(lab, 1)
            var referenceStop = reference.run(count)
            if referenceStop == nil, let labStop, !isExit(labStop) {
                referenceStop = reference.run(1)
            }
            if !agree(lab, reference, labStop, referenceStop) || lab.retired > limit {
                let instruction = Instruction(decoding: word)
                var expected: [String] = [], actual: [String] = []
                if !(labStop?.sameOutcome(as: referenceStop) ?? (referenceStop == nil)) {
                    expected.append(referenceStop.map { "stop: \($0)" } ?? "no stop")
                    actual.append(labStop.map { "stop: \($0)" } ?? "no stop")
                }
                let registers = StateReport.registerDifferences(expected: reference.registers, actual: lab.hart.registers.all)
                expected += registers.expected
                actual += registers.actual
                if lab.hart.pc != reference.pc {
                    expected.append("next pc = 0x\(hex8(reference.pc))")
                    actual.append("next pc = 0x\(hex8(lab.hart.pc))")
                }
                if lab.output != reference.system.output {
                    expected.append("output \(String(reflecting: String(decoding: reference.system.output.suffix(60), as: UTF8.self)))")
                    actual.append("output \(String(reflecting: String(decoding: lab.output.suffix(60), as: UTF8.self)))")
                }
                return DifferentialResult(
                    divergence: """
                        \(program.name): first divergence from the reference after \(lab.retired - UInt64(count)) instructions, at \
                        \(describeStep(pc, word, Int(count)))
                          inputs:   \(StateReport.inputs(of: instruction, registers: before))
                          expected: \(expected.joined(separator: ", "))
                          actual:   \(actual.joined(separator: ", "))
                        """,
                    stop: labStop ?? .instructionLimit, retired: lab.retired, output: lab.outputText)
            }
            if labStop != nil {
                return DifferentialResult(divergence: "\(program.name): the runs differed, but not when replayed step by step (is the lab code deterministic?)",
                                          stop: labStop ?? .instructionLimit, retired: lab.retired, output: lab.outputText)
            }
        }
    }

    /// Replays to find the first step after which the two memories differ at `address`.
    private static func findWriter(_ program: GuestProgram, address: UInt32,
                                   advance: (LabMachine, UInt64) -> (retired: UInt64, stop: LabMachine.Stop?),
                                   describeStep: (UInt32, UInt32, Int) -> String) -> String {
        guard let lab = try? LabMachine(program: program), let reference = try? ReferenceMachine(mirroring: lab) else { return "" }
        while true {
            let pc = lab.hart.pc
            let before = lab.hart.registers.all
            let word = lab.memory.read(pc, count: 4).map { littleEndian($0) } ?? 0
            let (count, labStop) = advance(lab, 1)
            _ = reference.run(count)
            let mine = lab.memory.read(address, count: 1), theirs = reference.read(address, count: 1)
            if mine != theirs {
                return """
                    The first step after which they differ there: \(describeStep(pc, word, Int(count)))
                      inputs:   \(StateReport.inputs(of: Instruction(decoding: word), registers: before))
                    """
            }
            if labStop != nil { return "" }
        }
    }

    static func isExit(_ stop: LabMachine.Stop) -> Bool {
        if case .exited = stop { return true }
        return false
    }

    static func littleEndian(_ b: [UInt8]) -> UInt32 {
        UInt32(b[0]) | UInt32(b[1]) << 8 | UInt32(b[2]) << 16 | UInt32(b[3]) << 24
    }
}
