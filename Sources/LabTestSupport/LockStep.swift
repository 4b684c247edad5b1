import Glibc
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
/// Comparing after every instruction would cost far more than running it, so the two are
/// compared every `chunk` instructions (pc, registers, output, how they stopped), and the run
/// ends at the first chunk that differs. Runs are deterministic, so a fresh pair of machines is
/// then run at full speed to the end of the last chunk that agreed and stepped one instruction
/// at a time through the chunk that did not: the diverging step is found exactly, for at most
/// twice the cost of running to it plus `chunk` single steps, however late it comes.
public enum LockStep {
    public static func run(_ program: GuestProgram, executor: some InstructionExecutor,
                           maxInstructions: UInt64 = 50_000_000, chunk: UInt64 = 4096) -> DifferentialResult {
        Search(program: program, maxInstructions: maxInstructions, chunk: chunk,
               makeRunner: { lab in
                   { budget in
                       let start = lab.retired
                       let stop = lab.run(with: executor, maxInstructions: budget)
                       return (lab.retired - start, stop == .instructionLimit ? nil : stop)
                   }
               },
               describeStep: { pc, word, _ in StateReport.describe(word, at: pc) }).run()
    }

    /// The same for a block engine; `makeEngine` builds a fresh engine for a machine's memory
    /// (called again for each fresh machine of a search).
    public static func run(_ program: GuestProgram, engine makeEngine: @escaping (Memory) -> any BlockEngine,
                           maxInstructions: UInt64 = 50_000_000, chunk: UInt64 = 4096) -> DifferentialResult {
        Search(program: program, maxInstructions: maxInstructions, chunk: chunk,
               makeRunner: { lab in
                   let engine = makeEngine(lab.memory)
                   return { budget in
                       let start = lab.retired
                       while lab.retired - start < budget {
                           if let stop = lab.runBlock(with: engine).stop { return (lab.retired - start, stop) }
                       }
                       return (lab.retired - start, nil)
                   }
               },
               describeStep: { pc, _, count in
                   let listing = (0..<max(count, 1)).map { index -> String in
                       let address = pc &+ UInt32(index * 4)
                       return "      " + disassemble(program, at: address)
                   }
                   return "the block at pc 0x\(hex8(pc)) (\(count) instruction\(count == 1 ? "" : "s") retired):\n" + listing.joined(separator: "\n")
               }).run()
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

    static func isExit(_ stop: LabMachine.Stop) -> Bool {
        if case .exited = stop { return true }
        return false
    }
}

/// Runs the lab side for up to `budget` more instructions (a block engine may overshoot) and
/// returns how many retired and the stop, if it stopped.
typealias Runner = (_ budget: UInt64) -> (retired: UInt64, stop: LabMachine.Stop?)

/// A lab machine, the reference mirroring it, and the runner that moves the lab side.
private struct Pair {
    let lab: LabMachine
    let reference: ReferenceMachine
    let advanceLab: Runner

    /// Moves both sides: the lab by up to `budget`, the reference by as many as the lab retired.
    /// When the lab stopped at an instruction that did not retire (a trap, a lab-code failure),
    /// the reference tries that instruction too, so both report how it ends.
    func advance(_ budget: UInt64) -> (retired: UInt64, labStop: LabMachine.Stop?, referenceStop: LabMachine.Stop?) {
        let (count, labStop) = advanceLab(budget)
        var referenceStop = reference.run(count)
        if referenceStop == nil, let labStop, !LockStep.isExit(labStop) {
            referenceStop = reference.run(1)
        }
        return (count, labStop, referenceStop)
    }

    /// Same pc, registers and output, and the same way of stopping (if either stopped).
    /// Cheap: no copies, no strings (it runs once per chunk, and once per step when searching).
    func agree(_ labStop: LabMachine.Stop?, _ referenceStop: LabMachine.Stop?) -> Bool {
        if let labStop { if !labStop.sameOutcome(as: referenceStop) { return false } }
        else if referenceStop != nil { return false }
        guard lab.hart.pc == reference.pc else { return false }
        for number in 1..<32 where lab.hart[Register(UInt8(number))] != reference.register(Register(UInt8(number))) {
            return false
        }
        return lab.output.count == reference.system.output.count && lab.output == reference.system.output
    }
}

/// One search for the first divergence of one program (see `LockStep`).
private struct Search {
    let program: GuestProgram
    let maxInstructions: UInt64
    let chunk: UInt64
    let makeRunner: (LabMachine) -> Runner
    let describeStep: (UInt32, UInt32, Int) -> String

    /// What one single step did, for the report.
    struct Step {
        let pc: UInt32
        let word: UInt32
        let registersBefore: [UInt32]
        let count: UInt64
        let labStop: LabMachine.Stop?
        let referenceStop: LabMachine.Stop?
    }

    func freshPair() throws(LabError) -> Pair {
        let lab = try LabMachine(program: program)
        return Pair(lab: lab, reference: try ReferenceMachine(mirroring: lab), advanceLab: makeRunner(lab))
    }

    func run() -> DifferentialResult {
        let pair: Pair
        do { pair = try freshPair() } catch {
            return DifferentialResult(divergence: "cannot load \(program.name): \(error)", stop: .labCodeFailed("\(error)"), retired: 0, output: "")
        }
        var agreedAt: UInt64 = 0  // the last chunk end at which the two agreed
        while true {
            let budget = min(chunk, maxInstructions - min(maxInstructions, pair.lab.retired))
            if budget == 0 { return finish(pair, stop: .instructionLimit) }
            let (_, labStop, referenceStop) = pair.advance(budget)
            guard pair.agree(labStop, referenceStop) else {
                return explainDivergence(agreedAt: agreedAt, differedAt: pair.lab.retired)
            }
            agreedAt = pair.lab.retired
            if let labStop { return finish(pair, stop: labStop) }
        }
    }

    /// Runs a fresh pair at full speed to `agreedAt`, then one step at a time until `differs`
    /// holds after a step. Returns the pair and that step, or a line saying why there is none.
    func firstStep(after agreedAt: UInt64, within limit: UInt64, where differs: (Pair, LabMachine.Stop?, LabMachine.Stop?) -> Bool) -> Result<(Pair, Step), LabError> {
        let pair: Pair
        do { pair = try freshPair() } catch { return .failure(LabError("cannot reload \(program.name): \(error)")) }
        var stopped = false
        while pair.lab.retired < agreedAt && !stopped {
            stopped = pair.advanceLab(agreedAt - pair.lab.retired).stop != nil
        }
        let reachedReference = pair.reference.run(pair.lab.retired)
        guard pair.lab.retired == agreedAt, !stopped, reachedReference == nil, !differs(pair, nil, nil) else {
            return .failure(LabError("\(program.name): the second run did not repeat the first one up to instruction \(agreedAt) (is the lab code deterministic?)"))
        }
        while true {
            let pc = pair.lab.hart.pc
            let before = pair.lab.hart.registers.all
            let word = (try? pair.lab.memory.load(pc, size: .word)) ?? 0
            let (count, labStop, referenceStop) = pair.advance(1)
            let step = Step(pc: pc, word: word, registersBefore: before, count: count, labStop: labStop, referenceStop: referenceStop)
            if differs(pair, labStop, referenceStop) { return .success((pair, step)) }
            if labStop != nil || referenceStop != nil || pair.lab.retired > limit {
                return .failure(LabError("\(program.name): the runs differed before instruction \(limit), but not when run again step by step (is the lab code deterministic?)"))
            }
        }
    }

    /// The report for a pair that disagreed somewhere after `agreedAt`, at the latest at `differedAt`.
    func explainDivergence(agreedAt: UInt64, differedAt: UInt64) -> DifferentialResult {
        switch firstStep(after: agreedAt, within: differedAt, where: { pair, labStop, referenceStop in !pair.agree(labStop, referenceStop) }) {
        case .failure(let problem):
            return DifferentialResult(divergence: problem.message, stop: .labCodeFailed(problem.message), retired: differedAt, output: "")
        case .success(let (pair, step)):
            let lab = pair.lab, reference = pair.reference
            var expected: [String] = [], actual: [String] = []
            if !(step.labStop?.sameOutcome(as: step.referenceStop) ?? (step.referenceStop == nil)) {
                expected.append(step.referenceStop.map { "stop: \($0)" } ?? "no stop")
                actual.append(step.labStop.map { "stop: \($0)" } ?? "no stop")
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
                    \(program.name): first divergence from the reference after \(lab.retired - step.count) instructions, at \
                    \(describeStep(step.pc, step.word, Int(step.count)))
                      inputs:   \(StateReport.inputs(of: Instruction(decoding: step.word), registers: step.registersBefore))
                      expected: \(expected.joined(separator: ", "))
                      actual:   \(actual.joined(separator: ", "))
                    """ + memoryNote(pair),
                stop: step.labStop ?? .instructionLimit, retired: lab.retired, output: lab.outputText)
        }
    }

    /// A wrong store shows only when something reads the byte back, so a register or output
    /// divergence may be a late symptom: if memory differs too, name the step that first made it differ.
    func memoryNote(_ pair: Pair) -> String {
        guard let difference = memoryDifference(pair) else { return "" }
        let writer = findWriter(of: difference.address, observedAt: pair.lab.retired)
        return "\nAlso, " + difference.description + (writer.isEmpty ? "" : "\n" + writer)
    }

    /// Both stopped the same way with the same registers: compare what they leave behind.
    func finish(_ pair: Pair, stop: LabMachine.Stop) -> DifferentialResult {
        let lab = pair.lab
        guard let difference = memoryDifference(pair) else {
            return DifferentialResult(divergence: nil, stop: stop, retired: lab.retired, output: lab.outputText)
        }
        return DifferentialResult(
            divergence: "\(program.name): registers agreed at every step, but at the end \(difference)\n\(findWriter(of: difference.address, observedAt: lab.retired))",
            stop: stop, retired: lab.retired, output: lab.outputText)
    }

    /// The first byte of guest memory at which the two differ.
    struct MemoryDifference: CustomStringConvertible {
        let address: UInt32, region: String, expected: UInt8, actual: UInt8
        var description: String {
            "memory differs at 0x\(hex8(address)) (\(region)): expected byte 0x\(String(expected, radix: 16)), actual 0x\(String(actual, radix: 16))."
        }
    }

    func memoryDifference(_ pair: Pair) -> MemoryDifference? {
        for region in pair.lab.memory.regions {
            let mine = pair.lab.memory.contents(of: region)
            guard let theirs = pair.reference.read(region.base, count: Int(region.size)),
                  let index = firstDifference(mine, theirs), index < mine.count, index < theirs.count else { continue }
            return MemoryDifference(address: region.base + UInt32(index), region: region.name, expected: theirs[index], actual: mine[index])
        }
        return nil
    }

    /// The first step after which the two memories differ at `address`, which they do after
    /// `observedAt` instructions: found like a divergence, a chunked run comparing that byte up to
    /// there, then one chunk stepped.
    func findWriter(of address: UInt32, observedAt: UInt64) -> String {
        func byteDiffers(_ pair: Pair) -> Bool {
            pair.lab.memory.read(address, count: 1) != pair.reference.read(address, count: 1)
        }
        guard let pair = try? freshPair() else { return "" }
        var agreedAt: UInt64 = 0
        while true {
            let budget = min(chunk, observedAt - min(observedAt, pair.lab.retired))
            if budget == 0 { return "" }
            let (_, labStop, referenceStop) = pair.advance(budget)
            if byteDiffers(pair) { break }
            agreedAt = pair.lab.retired
            if labStop != nil || referenceStop != nil { return "" }
        }
        guard case .success(let (_, step)) = firstStep(after: agreedAt, within: pair.lab.retired, where: { pair, _, _ in byteDiffers(pair) }) else {
            return ""
        }
        return """
            The first step after which they differ there: \(describeStep(step.pc, step.word, Int(step.count)))
              inputs:   \(StateReport.inputs(of: Instruction(decoding: step.word), registers: step.registersBefore))
            """
    }
}

/// The index of the first byte at which two arrays differ, or nil. A region is megabytes and a
/// byte loop in a debug build is slow, so whole pages are compared with `memcmp` first.
func firstDifference(_ a: [UInt8], _ b: [UInt8]) -> Int? {
    let common = min(a.count, b.count)
    let page = Int(Memory.pageSize)
    let differingPage = a.withUnsafeBytes { x in
        b.withUnsafeBytes { y -> Int? in
            guard let xBase = x.baseAddress, let yBase = y.baseAddress else { return nil }
            return stride(from: 0, to: common, by: page).first { memcmp(xBase + $0, yBase + $0, min(page, common - $0)) != 0 }
        }
    }
    if let start = differingPage, let index = (start..<min(start + page, common)).first(where: { a[$0] != b[$0] }) {
        return index
    }
    return a.count == b.count ? nil : common
}
