import RISCV

/// The small computer the labs run on: one RV32IM hart in user mode, `Memory` with a program
/// loaded, and a tiny Linux system-call layer. It is deliberately simple enough to hold in
/// your head: fetch, decode, call the executor, handle what it throws.
///
///     loop:
///         instruction = memory.fetch(hart.pc)       // decode
///         executor.execute(instruction, &hart)      // YOUR CODE (Lab 01)
///         on Trap(environmentCall): system call, pc += 4
///         on any other Trap:        the process dies (like a Linux signal) -> .trapped
///
/// Lab 02 replaces the per-instruction loop with `runBlock` calls on a `BlockEngine`.
///
/// An ECALL that the system-call layer completes counts as one retired instruction.
///
/// Not Sendable: a machine belongs to one thread.
public final class LabMachine {
    /// Why a run stopped.
    public enum Stop: Equatable, Sendable, CustomStringConvertible {
        /// The program called exit or exit_group.
        case exited(code: Int32)
        /// An instruction trapped and the process died of it (pc = that instruction).
        case trapped(Trap, pc: UInt32)
        /// The instruction budget ran out.
        case instructionLimit
        /// The lab code threw something that is not a `Trap` (e.g. `NotImplemented`), or broke
        /// the engine contract. The message says what.
        case labCodeFailed(String)

        public var description: String {
            switch self {
            case .exited(let code): return "exited with status \(code)"
            case .trapped(let trap, let pc): return "\(trap) at pc 0x\(hex8(pc))"
            case .instructionLimit: return "instruction limit reached"
            case .labCodeFailed(let message): return message
            }
        }
    }

    public let program: GuestProgram
    public let memory: Memory
    public var hart: Hart
    public private(set) var system: LinuxSystemCalls
    /// Instructions retired since the program started.
    public private(set) var retired: UInt64 = 0
    /// Calls to a block engine's `runBlock` (each one is a code-cache lookup).
    public private(set) var blockRuns: UInt64 = 0
    /// Set once the program has stopped for good (exit, a fatal trap, a lab-code failure).
    public private(set) var finalStop: Stop?

    /// What the program wrote to its standard output and error.
    public var output: [UInt8] { system.output }
    public var outputText: String { String(decoding: system.output, as: UTF8.self) }

    public init(program: GuestProgram) throws(LabError) {
        self.program = program
        memory = try Memory(regions: program.memoryRegions)
        for segment in program.segments {
            try memory.write(segment.bytes, at: segment.address)
        }
        let stack = InitialStack(arguments: program.arguments, top: LabLayout.stackTop)
        guard stack.bytes.count < Int(LabLayout.stackTop - LabLayout.stackBottom) / 2 else {
            throw LabError("program \(program.name): the arguments need \(stack.bytes.count) bytes, more than half the stack")
        }
        try memory.write(stack.bytes, at: stack.stackPointer)
        hart = Hart(pc: program.entry, memory: memory)
        hart[.sp] = stack.stackPointer
        system = LinuxSystemCalls(for: program)
    }

    // MARK: Interpreting (Lab 01)

    /// Executes one instruction. Returns nil if the program can go on.
    public func step(with executor: some InstructionExecutor) -> Stop? {
        if let finalStop { return finalStop }
        let pc = hart.pc
        do {
            let instruction = try memory.fetch(pc)
            try executor.execute(instruction, on: &hart)
            retired &+= 1
            return nil
        } catch let trap as Trap {
            return handle(trap, at: pc)
        } catch {
            return finish(.labCodeFailed("the executor threw \(error) at pc 0x\(hex8(pc))"))
        }
    }

    /// Runs until the program stops or `maxInstructions` more instructions have retired.
    public func run(with executor: some InstructionExecutor, maxInstructions: UInt64 = .max) -> Stop {
        if let finalStop { return finalStop }
        let limit = retired.addingReportingOverflow(maxInstructions).overflow ? .max : retired + maxInstructions
        while retired < limit {
            if let stop = step(with: executor) { return stop }
        }
        return .instructionLimit
    }

    // MARK: Translating (Lab 02)

    /// Runs one block with `engine`. Returns how many instructions retired, and a stop if the
    /// program cannot go on.
    public func runBlock(with engine: some BlockEngine) -> (retired: Int, stop: Stop?) {
        if let finalStop { return (0, finalStop) }
        let start = hart.pc
        blockRuns &+= 1
        do {
            let count = try engine.runBlock(on: &hart)
            guard count >= 1 else {
                return (0, finish(.labCodeFailed("runBlock at pc 0x\(hex8(start)) returned \(count); a block retires at least one instruction")))
            }
            retired &+= UInt64(count)
            return (count, nil)
        } catch let trap as Trap {
            // A block is straight-line code, so the instructions before the trapping one are
            // exactly those between the block's start and the trapping pc.
            let pc = hart.pc
            guard pc >= start, (pc - start) % 4 == 0 else {
                return (0, finish(.labCodeFailed("runBlock started at pc 0x\(hex8(start)) threw \(trap) with pc 0x\(hex8(pc)), which is not in a straight-line block from the start")))
            }
            let before = Int((pc - start) / 4)
            retired &+= UInt64(before)
            let stop = handle(trap, at: pc)
            return (before + (stop == nil ? 1 : 0), stop)
        } catch {
            return (0, finish(.labCodeFailed("the block engine threw \(error) at pc 0x\(hex8(start))")))
        }
    }

    /// Runs blocks until the program stops or at least `maxInstructions` more have retired
    /// (the last block may overshoot the budget).
    public func run(with engine: some BlockEngine, maxInstructions: UInt64 = .max) -> Stop {
        if let finalStop { return finalStop }
        let limit = retired.addingReportingOverflow(maxInstructions).overflow ? .max : retired + maxInstructions
        while retired < limit {
            if let stop = runBlock(with: engine).stop { return stop }
        }
        return .instructionLimit
    }

    // MARK: Traps

    /// ECALL is a system call; any other trap ends the process.
    private func handle(_ trap: Trap, at pc: UInt32) -> Stop? {
        guard hart.pc == pc else {
            return finish(.labCodeFailed("the instruction at pc 0x\(hex8(pc)) threw \(trap) but changed pc to 0x\(hex8(hart.pc)); a trapping instruction must leave the hart unchanged"))
        }
        guard trap.cause == .environmentCall else { return finish(.trapped(trap, pc: pc)) }
        let view = HartView(machine: self)
        switch system.handle(view) {
        case .resume:
            hart.pc = pc &+ 4
            retired &+= 1
            return nil
        case .exit(let code):
            retired &+= 1
            return finish(.exited(code: code))
        }
    }

    private func finish(_ stop: Stop) -> Stop {
        finalStop = stop
        return stop
    }
}

/// The lab machine's hart and memory as the system-call layer sees them.
private final class HartView: ProcessView {
    let machine: LabMachine
    init(machine: LabMachine) { self.machine = machine }
    func register(_ register: Register) -> UInt32 { machine.hart[register] }
    func setRegister(_ register: Register, _ value: UInt32) { machine.hart[register] = value }
    func readGuest(_ address: UInt32, count: Int) -> [UInt8]? { machine.memory.read(address, count: count) }
    func writeGuest(_ bytes: [UInt8], at address: UInt32) -> Bool {
        do {
            try machine.memory.write(bytes, at: address)
        } catch {
            return false
        }
        // A read() into a page of translated code rewrites code, just as a store would.
        if !bytes.isEmpty, machine.memory.isWatched(address) || machine.memory.isWatched(address &+ UInt32(bytes.count - 1)) {
            machine.memory.onWatchedWrite?(address, bytes.count)
        }
        return true
    }
}
