import RISCV

/// The 32 integer registers of an RV32 hart. `x0` reads as zero and ignores writes, here,
/// so an executor never needs to special-case it.
public struct RegisterFile: Equatable, Sendable {
    private var values = [UInt32](repeating: 0, count: 32)

    public init() {}

    public subscript(register: Register) -> UInt32 {
        @inline(__always) get { values[Int(register.number)] }
        @inline(__always) set {
            if register.number != 0 { values[Int(register.number)] = newValue }
        }
    }

    /// All 32 values, x0 first.
    public var all: [UInt32] { values }
}

/// What one instruction can see and change: the registers, the pc and memory.
///
/// This is the *context* an executor works on; the lab machine owns one and hands it to the
/// executor as `inout` for each instruction. `pc` is the address of the instruction being
/// executed; the executor sets it to the next instruction's address (pc + 4, or a jump or
/// branch target) when the instruction completes, and leaves it alone when it throws a `Trap`.
public struct Hart {
    public var pc: UInt32
    public var registers: RegisterFile
    public let memory: Memory

    public init(pc: UInt32, memory: Memory, registers: RegisterFile = RegisterFile()) {
        self.pc = pc
        self.memory = memory
        self.registers = registers
    }

    /// Shorthand for `registers[register]`: `hart[instruction.rs1]`.
    public subscript(register: Register) -> UInt32 {
        @inline(__always) get { registers[register] }
        @inline(__always) set { registers[register] = newValue }
    }
}

/// The execute step of an interpreter (Lab 01): perform one decoded instruction on a hart.
///
/// The lab machine fetches and decodes the instruction at `hart.pc`, then calls `execute`.
/// The instruction set is RV32IM as a user-mode program sees it, plus FENCE and FENCE.I:
/// - on success, update the destination register and/or memory and set `hart.pc` to the next
///   instruction (pc + 4, or the branch or jump target);
/// - throw `Trap` for an exception (illegal instruction, misaligned jump or branch target,
///   ECALL, EBREAK, or a fault passed up from `hart.memory`), leaving the hart unchanged;
/// - throw anything else (e.g. `NotImplemented`) to report a problem in the executor itself:
///   the machine stops and names it.
public protocol InstructionExecutor {
    func execute(_ instruction: Instruction, on hart: inout Hart) throws
}

/// A block-translating engine (Lab 02): runs guest code a basic block at a time.
///
/// The lab machine calls `runBlock` in a loop. Each call runs the guest from `hart.pc` until the
/// end of one translated block (or a trap), translating the block first if the code cache does
/// not hold it.
public protocol BlockEngine: AnyObject {
    /// Runs one block starting at `hart.pc` and returns how many guest instructions it retired
    /// (at least 1). When an instruction traps, throws its `Trap` with `hart.pc` at that
    /// instruction: the instructions before it in the block have retired, it has not.
    func runBlock(on hart: inout Hart) throws -> Int

    /// What the engine's code cache has done so far.
    var statistics: CodeCacheStatistics { get }
}

/// Counts a block engine keeps about its code cache. The lab machine checks them against what
/// it observes (every `runBlock` call is one lookup), and the Lab 02 tests grade them.
public struct CodeCacheStatistics: Equatable, Sendable, CustomStringConvertible {
    /// Lookups of a block by its start address (one per `runBlock`).
    public var lookups: UInt64 = 0
    /// Lookups that found a valid translated block.
    public var hits: UInt64 = 0
    /// Blocks translated (misses, and re-translations after invalidation).
    public var blocksTranslated: UInt64 = 0
    /// Blocks thrown away because the guest wrote into their code.
    public var blocksInvalidated: UInt64 = 0
    /// Whole-cache flushes (FENCE.I).
    public var flushes: UInt64 = 0

    public init() {}

    public var hitRatio: Double { lookups == 0 ? 0 : Double(hits) / Double(lookups) }

    public var description: String {
        "lookups \(lookups), hits \(hits), translated \(blocksTranslated), invalidated \(blocksInvalidated), flushes \(flushes)"
    }
}
