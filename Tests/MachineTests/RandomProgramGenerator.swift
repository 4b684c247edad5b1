import RISCV
@testable import Machine

/// A small deterministic PRNG (SplitMix64), so a failing case is reproduced from its seed alone.
struct SeededGenerator: RandomNumberGenerator {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Random but valid bare-metal programs for the engine differential tests.
///
/// Memory layout (64 KiB of RAM at 0x8000_0000):
///
///     0x8000_0000  setup: trap vector, registers, timer, then into the body (M-mode, or S-mode
///                  with Sv32 on)
///     0x8000_0400  M-mode trap handler: skips the trapping instruction; re-arms the timer on a
///                  timer interrupt; ends the run (finisher write) on EBREAK or a fetch fault
///     0x8000_1000  the body: up to three pages of random chunks, ending with EBREAK, then subroutines
///     0x8000_6800  x31, the data pointer: loads, stores and atomics at x31 ± 2 KiB
///     0x8000_8000  page tables (built by the host): two roots that map the code both at its own
///                  address and at 0x4000_1000 (an alias), and differ in where the data page is
///
/// Register conventions: x31 data pointer, x30 loop counter, x27/x28 trap-handler scratch; random
/// instructions write only x1...x26 and x29. Every program terminates (EBREAK, a fetch fault, or
/// the finisher), and the test bounds the run anyway.
struct RandomProgram {
    /// Runs of words (instructions or data) and the physical address of each run's first word.
    var regions: [(address: UInt32, words: [UInt32])] = []
    var virtualMemory: Bool
    var instructionsPerTick: UInt64
    var codeCacheCapacity: Int
    var seed: UInt64

    static let ramSize = 64 << 10
    static let setup: UInt32 = 0x8000_0000
    static let handler: UInt32 = 0x8000_0400
    static let body: UInt32 = 0x8000_1000
    static let bodyLimit: UInt32 = 0x8000_4000
    static let dataPointer: UInt32 = 0x8000_6800
    static let rootA: UInt32 = 0x8000_8000
    static let aliasTable: UInt32 = 0x8000_9000
    static let rootB: UInt32 = 0x8000_A000
    static let swappedTable: UInt32 = 0x8000_B000
    static let aliasBase: UInt32 = 0x4000_0000

    /// Builds a machine for `engine` with this program in RAM, ready to run.
    func makeMachine(engine: ExecutionEngineKind) throws -> Machine {
        var configuration = MachineConfiguration()
        configuration.ramSize = RandomProgram.ramSize
        configuration.engine = engine
        configuration.instructionsPerTimerTick = instructionsPerTick
        configuration.codeCacheCapacity = codeCacheCapacity
        let machine = try Machine(configuration: configuration)
        machine.console = .silent
        for region in regions {
            let bytes = region.words.withUnsafeBytes { Array($0) }  // little-endian host, as the guest
            try machine.writePhysical(region.address, bytes)
        }
        machine.pc = RandomProgram.setup
        return machine
    }
}

/// Builds `RandomProgram`s from a seed.
struct RandomProgramGenerator {
    var random: SeededGenerator

    init(seed: UInt64) { random = SeededGenerator(seed: seed) }

    static let writable: [UInt8] = Array(1...26) + [29]
    static let x26: UInt8 = 26, x27: UInt8 = 27, x28: UInt8 = 28, x29: UInt8 = 29, x30: UInt8 = 30, x31: UInt8 = 31

    // MARK: Encoding helpers

    static func encode(_ instruction: Instruction) -> UInt32 {
        // The generator only builds in-range operands; a failure here is a bug in the generator.
        (try? instruction.encoded()) ?? 0
    }
    static func i(_ op: Operation, _ rd: UInt8, _ rs1: UInt8, _ imm: Int32) -> UInt32 {
        encode(Instruction(op, rd: Register(rd), rs1: Register(rs1), immediate: imm))
    }
    static func r(_ op: Operation, _ rd: UInt8, _ rs1: UInt8, _ rs2: UInt8) -> UInt32 {
        encode(Instruction(op, rd: Register(rd), rs1: Register(rs1), rs2: Register(rs2)))
    }
    static func s(_ op: Operation, _ rs2: UInt8, _ imm: Int32, _ rs1: UInt8) -> UInt32 {
        encode(Instruction(op, rs1: Register(rs1), rs2: Register(rs2), immediate: imm))
    }
    static func branch(_ op: Operation, _ rs1: UInt8, _ rs2: UInt8, _ offset: Int32) -> UInt32 {
        encode(Instruction(op, rs1: Register(rs1), rs2: Register(rs2), immediate: offset))
    }
    static func jal(_ rd: UInt8, _ offset: Int32) -> UInt32 { encode(Instruction(.jal, rd: Register(rd), immediate: offset)) }
    static func csr(_ op: Operation, _ rd: UInt8, _ number: UInt16, _ rs1: UInt8) -> UInt32 {
        encode(Instruction(op, rd: Register(rd), rs1: Register(rs1), csr: number))
    }
    /// `li rd, value` as LUI + ADDI.
    static func loadImmediate(_ rd: UInt8, _ value: UInt32) -> [UInt32] {
        let low = Int32(bitPattern: value << 20) >> 20
        let high = value &- UInt32(bitPattern: low)
        return [encode(Instruction(.lui, rd: Register(rd), immediate: Int32(bitPattern: high))), i(.addi, rd, rd, low)]
    }

    /// A number in `0..<n` (the modulo bias is irrelevant here, and this is much faster than
    /// the generic `random(in:)` in debug builds, where the tests run).
    mutating func below(_ n: Int) -> Int { Int(random.next() % UInt64(n)) }
    mutating func inRange(_ range: ClosedRange<Int32>) -> Int32 {
        range.lowerBound + Int32(below(Int(range.upperBound) - Int(range.lowerBound) + 1))
    }
    mutating func pick<T>(_ choices: [T]) -> T { choices[below(choices.count)] }
    mutating func chance(_ percent: Int) -> Bool { below(100) < percent }
    mutating func anyRegister() -> UInt8 { UInt8(below(32)) }
    mutating func anyWord() -> UInt32 { UInt32(truncatingIfNeeded: random.next()) }
    mutating func destination(excluding: Set<UInt8> = []) -> UInt8 {
        while true {
            let register = Self.writable[below(Self.writable.count)]
            if !excluding.contains(register) { return register }
        }
    }

    // MARK: Programs

    mutating func program(seed: UInt64) -> RandomProgram {
        var program = RandomProgram(virtualMemory: chance(30), instructionsPerTick: pick([1, 1, 3, 17]),
                                    codeCacheCapacity: chance(20) ? CodeCache.minimumCapacity : 1 << 20, seed: seed)
        let timer = chance(40)
        let timerDelta = inRange(40...400)

        // Setup.
        var setup: [UInt32] = []
        setup += Self.loadImmediate(Self.x31, RandomProgram.dataPointer)
        setup += Self.loadImmediate(Self.x28, RandomProgram.handler)
        setup.append(Self.csr(.csrrw, 0, CSR.mtvec, Self.x28))
        for register in Self.writable { setup += Self.loadImmediate(register, anyWord()) }
        if timer {
            setup += Self.loadImmediate(Self.x27, 0x0200_4000)
            setup += Self.loadImmediate(Self.x28, UInt32(timerDelta))
            setup.append(Self.s(.sw, Self.x28, 0, Self.x27))
            setup.append(Self.s(.sw, 0, 4, Self.x27))
            setup += Self.loadImmediate(Self.x28, 0x80)       // MTIE
            setup.append(Self.csr(.csrrs, 0, CSR.mie, Self.x28))
        }
        if program.virtualMemory {
            setup += Self.loadImmediate(Self.x28, 1 << 31 | RandomProgram.rootA >> 12)
            setup.append(Self.csr(.csrrw, 0, CSR.satp, Self.x28))
            setup += Self.loadImmediate(Self.x28, 1 << 11 | (timer ? 1 << 7 : 0))   // MPP = S, MPIE
            setup.append(Self.csr(.csrrw, 0, CSR.mstatus, Self.x28))
            setup += Self.loadImmediate(Self.x28, RandomProgram.body)
            setup.append(Self.csr(.csrrw, 0, CSR.mepc, Self.x28))
            setup.append(0x3020_0073)  // mret
        } else {
            if timer {
                setup += Self.loadImmediate(Self.x28, 0x8)  // MIE
                setup.append(Self.csr(.csrrs, 0, CSR.mstatus, Self.x28))
            }
            setup += Self.loadImmediate(Self.x28, RandomProgram.body)
            setup.append(Self.i(.jalr, 0, Self.x28, 0))
        }
        place(setup, at: RandomProgram.setup, in: &program)
        place(handler(timerDelta: timerDelta), at: RandomProgram.handler, in: &program)
        if program.virtualMemory { pageTables(into: &program) }
        program.regions.append((RandomProgram.dataPointer - 1024, (0..<512).map { _ in UInt32(truncatingIfNeeded: random.next()) }))

        // The body: chunks, then EBREAK, then the subroutines the chunks call.
        let chunkCount = Int(inRange(20...160))
        var chunks: [[UInt32]] = []
        var subroutineCalls: [(chunk: Int, index: Int)] = []
        var subroutines: [[UInt32]] = []
        var forwardBranches: [(chunk: Int, index: Int, skip: Int, op: Operation, rs1: UInt8, rs2: UInt8)] = []
        for chunkIndex in 0..<chunkCount {
            let kind = below(100)
            switch kind {
            case 0..<40: chunks.append((0..<Int(inRange(1...6))).map { _ in alu() })
            case 40..<52: chunks.append([memory()])
            case 52..<60:  // a forward branch over the next few chunks (patched after layout)
                let op = pick([Operation.beq, .bne, .blt, .bge, .bltu, .bgeu])
                forwardBranches.append((chunkIndex, 0, Int(inRange(1...4)), op, anyRegister(), anyRegister()))
                chunks.append([0])
            case 60..<66: chunks.append(loop())
            case 66..<70:  // call a subroutine at the end of the body
                subroutineCalls.append((chunkIndex, 0))
                subroutines.append((0..<Int(inRange(1...5))).map { _ in alu(excluding: [1]) } + [Self.i(.jalr, 0, 1, 0)])
                chunks.append([0])
            case 70..<74: chunks.append(jumps())
            case 74..<79: chunks.append(atomic())
            case 79..<85: chunks.append(csrAccess())
            case 85..<90: chunks.append(chance(50) ? selfModifying() : selfModifyingLoop())
            case 90..<93: chunks.append([pick([0x0000_0073, 0x0000_0000, 0xFFFF_FFFF, 0x3020_0073, 0x1020_0073,
                                               anyWord() | 3])])
            case 93..<96: chunks.append(program.virtualMemory ? translationChange() : [alu()])
            default: chunks.append([pick([0x0000_000F, 0x0000_100F, 0x0FF0_000F])])  // fence, fence.i
            }
        }
        // Lay out: chunk start addresses, then patch branches and calls.
        var addresses: [UInt32] = []
        var address = RandomProgram.body
        for chunk in chunks {
            addresses.append(address)
            address += UInt32(chunk.count * 4)
        }
        let end = address
        addresses.append(end)
        var subroutineAddress = end + 4  // after the EBREAK
        var subroutineAddresses: [UInt32] = []
        for subroutine in subroutines {
            subroutineAddresses.append(subroutineAddress)
            subroutineAddress += UInt32(subroutine.count * 4)
        }
        if subroutineAddress > RandomProgram.bodyLimit {
            // Too long for the body's pages: shorten by dropping the tail (rare with these sizes).
            return self.program(seed: seed &+ 1)
        }
        for branch in forwardBranches {
            let from = addresses[branch.chunk]
            let to = addresses[min(branch.chunk + 1 + branch.skip, chunks.count)]
            chunks[branch.chunk][0] = Self.branch(branch.op, branch.rs1, branch.rs2, Int32(to - from))
        }
        for (n, call) in subroutineCalls.enumerated() {
            chunks[call.chunk][0] = Self.jal(1, Int32(subroutineAddresses[n] - addresses[call.chunk]))
        }
        place(chunks.flatMap { $0 } + [0x0010_0073], at: RandomProgram.body, in: &program)
        place(subroutines.flatMap { $0 }, at: end + 4, in: &program)
        return program
    }

    func place(_ code: [UInt32], at address: UInt32, in program: inout RandomProgram) {
        program.regions.append((address, code))
    }

    /// Skip the trapping instruction; on a timer interrupt push mtimecmp forward; on EBREAK or a
    /// fetch fault (cause 0, 1, 12: nothing sensible to skip to) write the finisher's pass value.
    func handler(timerDelta: Int32) -> [UInt32] {
        let x27 = Self.x27, x28 = Self.x28
        var code: [UInt32] = []
        code.append(Self.csr(.csrrs, x28, CSR.mcause, 0))                  // 0
        code.append(Self.branch(.blt, x28, 0, 4 * 11))                     // 1 -> 12: interrupt
        code.append(Self.i(.addi, x27, 0, 3))                              // 2
        code.append(Self.branch(.beq, x28, x27, 4 * 15))                   // 3 -> 18: finish
        code.append(Self.i(.addi, x27, 0, 1))                              // 4
        code.append(Self.branch(.bgeu, x27, x28, 4 * 13))                  // 5 -> 18
        code.append(Self.i(.addi, x27, 0, 12))                             // 6
        code.append(Self.branch(.beq, x28, x27, 4 * 11))                   // 7 -> 18
        code.append(Self.csr(.csrrs, x27, CSR.mepc, 0))                    // 8
        code.append(Self.i(.addi, x27, x27, 4))                            // 9
        code.append(Self.csr(.csrrw, 0, CSR.mepc, x27))                    // 10
        code.append(0x3020_0073)                                           // 11 mret
        code.append(Self.encode(Instruction(.lui, rd: Register(x27), immediate: 0x0200_C000)))  // 12 interrupt
        code.append(Self.i(.lw, x28, x27, -8))                             // 13 mtime (low)
        code.append(Self.i(.addi, x28, x28, timerDelta))                   // 14
        code.append(Self.encode(Instruction(.lui, rd: Register(x27), immediate: 0x0200_4000)))  // 15
        code.append(Self.s(.sw, x28, 0, x27))                              // 16 mtimecmp
        code.append(0x3020_0073)                                           // 17 mret
        code.append(Self.encode(Instruction(.lui, rd: Register(x27), immediate: 0x0010_0000)))  // 18 finish
        code.append(Self.encode(Instruction(.lui, rd: Register(x28), immediate: 0x5000)))       // 19
        code.append(Self.i(.addi, x28, x28, 0x555))                        // 20
        code.append(Self.s(.sw, x28, 0, x27))                              // 21
        code.append(Self.jal(0, 0))                                        // 22
        return code
    }

    /// Two Sv32 roots. Both map the first 4 MiB of RAM's superpage at its own address (root A as
    /// a superpage, root B through a table that swaps data pages 6 and 7) and 16 pages of RAM at
    /// 0x4000_0000 (so the code also runs at an alias address).
    func pageTables(into program: inout RandomProgram) {
        let leaf: UInt32 = 0x1 | 0x2 | 0x4 | 0x8  // V R W X
        func pte(_ physical: UInt32, _ flags: UInt32) -> UInt32 { (physical >> 12) << 10 | flags }
        var rootA = [UInt32](repeating: 0, count: 1024), rootB = rootA, alias = rootA, swapped = rootA
        rootA[0x200] = pte(0x8000_0000, leaf)
        rootA[0x100] = pte(RandomProgram.aliasTable, 0x1)
        rootB[0x100] = pte(RandomProgram.aliasTable, 0x1)
        rootB[0x200] = pte(RandomProgram.swappedTable, 0x1)
        for page: UInt32 in 0..<16 {
            alias[Int(page)] = pte(0x8000_0000 + page << 12, leaf)
            let target = page == 6 ? 7 : page == 7 ? 6 : page
            swapped[Int(page)] = pte(0x8000_0000 + target << 12, leaf)
        }
        program.regions += [(RandomProgram.rootA, rootA), (RandomProgram.rootB, rootB),
                            (RandomProgram.aliasTable, alias), (RandomProgram.swappedTable, swapped)]
    }

    // MARK: Chunks

    mutating func alu(excluding: Set<UInt8> = []) -> UInt32 {
        let rd = destination(excluding: excluding), rs1 = anyRegister(), rs2 = anyRegister()
        switch below(4) {
        case 0:
            let op = pick([Operation.addi, .slti, .sltiu, .xori, .ori, .andi])
            return Self.i(op, rd, rs1, inRange(-2048...2047))
        case 1:
            return Self.i(pick([.slli, .srli, .srai]), rd, rs1, inRange(0...31))
        case 2:
            let op = pick([Operation.add, .sub, .sll, .slt, .sltu, .xor, .srl, .sra, .or, .and,
                           .mul, .mulh, .mulhsu, .mulhu, .div, .divu, .rem, .remu])
            return Self.r(op, rd, rs1, rs2)
        default:
            let op = pick([Operation.lui, .auipc])
            return Self.encode(Instruction(op, rd: Register(rd), immediate: Int32(bitPattern: (anyWord() & 0xFFFFF) << 12)))
        }
    }

    /// A load or store at x31 ± 2 KiB: any size, any alignment (misaligned ones are performed,
    /// and some cross into the next page).
    mutating func memory() -> UInt32 {
        let offset = inRange(-2048...2047)
        if chance(50) {
            return Self.i(pick([.lb, .lh, .lw, .lbu, .lhu]), destination(), Self.x31, offset)
        }
        return Self.s(pick([.sb, .sh, .sw]), anyRegister(), offset, Self.x31)
    }

    /// A counted loop: `li x30, n; body; addi x30, x30, -1; bnez x30, body`.
    mutating func loop() -> [UInt32] {
        var code = [Self.i(.addi, Self.x30, 0, inRange(1...20))]
        let body = (0..<Int(inRange(1...8))).map { _ in chance(75) ? alu() : memory() }
        code += body
        code.append(Self.i(.addi, Self.x30, Self.x30, -1))
        code.append(Self.branch(.bne, Self.x30, 0, -Int32(4 * (body.count + 1))))
        return code
    }

    /// JAL and JALR that skip one instruction; sometimes a JALR through a random register (a wild
    /// jump, which usually ends the program with a fetch fault).
    mutating func jumps() -> [UInt32] {
        switch below(10) {
        case 0..<4: return [Self.jal(destination(), 8), alu()]
        case 4..<9:
            let link = destination(excluding: [Self.x29])
            return [Self.encode(Instruction(.auipc, rd: Register(Self.x29))), Self.i(.jalr, link, Self.x29, pick([12, 13, 14])), alu()]
        default: return [Self.i(.jalr, destination(), anyRegister(), inRange(-2048...2047))]
        }
    }

    mutating func atomic() -> [UInt32] {
        let offset = inRange(-512...511) * 4 + (chance(10) ? 2 : 0)
        var code = [Self.i(.addi, Self.x26, Self.x31, offset)]
        let rd = destination(excluding: [Self.x26])
        if chance(35) {
            code.append(Self.encode(Instruction(.lrW, rd: Register(rd), rs1: Register(Self.x26))))
            if chance(70) { code.append(alu(excluding: [Self.x26])) }
            code.append(Self.encode(Instruction(.scW, rd: Register(destination(excluding: [Self.x26])), rs1: Register(chance(85) ? Self.x26 : Self.x31), rs2: Register(anyRegister()))))
        } else {
            let op = pick([Operation.amoswapW, .amoaddW, .amoxorW, .amoandW, .amoorW, .amominW, .amomaxW, .amominuW, .amomaxuW])
            code.append(Self.encode(Instruction(op, rd: Register(rd), rs1: Register(Self.x26), rs2: Register(anyRegister()))))
        }
        return code
    }

    /// Reads of CSRs whose values are deterministic, and writes of scratch and counter CSRs.
    mutating func csrAccess() -> [UInt32] {
        let readable: [UInt16] = [CSR.mscratch, CSR.minstret, CSR.mcycle, CSR.time, CSR.instret, CSR.cycle, CSR.mstatus,
                                  CSR.misa, CSR.mie, CSR.mip, CSR.mtvec, CSR.satp, CSR.mepc, CSR.mcause, CSR.sscratch, CSR.timeh]
        if chance(70) { return [Self.csr(.csrrs, destination(), pick(readable), 0)] }
        return [Self.csr(pick([.csrrw, .csrrs, .csrrc]), destination(), pick([CSR.mscratch, CSR.sscratch, CSR.minstret, CSR.mcycle]), anyRegister())]
    }

    /// Self-modifying code: store a new instruction over a slot a few instructions ahead (in the
    /// same straight-line run, so usually the same translated block), with or without FENCE.I.
    mutating func selfModifying() -> [UInt32] {
        let fillerCount = Int(inRange(0...4))
        let withFence = chance(50)
        let newWord = alu()
        var code = [Self.encode(Instruction(.auipc, rd: Register(Self.x29)))]
        code += Self.loadImmediate(Self.x26, newWord)
        // The store is at index 3; the slot follows the optional fence and the filler.
        let slotIndex = 4 + (withFence ? 1 : 0) + fillerCount
        code.append(Self.s(.sw, Self.x26, Int32(slotIndex * 4), Self.x29))
        if withFence { code.append(0x0000_100F) }
        for _ in 0..<fillerCount { code.append(alu(excluding: [Self.x26, Self.x29])) }
        code.append(alu())  // the slot: replaced before it runs
        return code
    }

    /// Self-modifying code in a loop: each iteration writes a new `addi rd, rd, counter` over a
    /// slot before or after the store, so an engine that ran a stale translation of the slot
    /// (translated in an earlier iteration) would compute a different sum.
    mutating func selfModifyingLoop() -> [UInt32] {
        let scratch = destination(excluding: [Self.x26, Self.x29])
        let target = destination(excluding: [Self.x26, Self.x29, scratch])
        let base = UInt32(target) << 15 | UInt32(target) << 7 | 0x13  // addi target, target, 0
        let withFence = chance(50)
        let slotFirst = chance(50)
        var body: [UInt32] = []
        // Index 0 of the body is the auipc; the slot is at 1 (slot first) or at the end.
        body.append(Self.encode(Instruction(.auipc, rd: Register(Self.x29))))
        if slotFirst { body.append(Self.i(.addi, target, target, 0)) }
        body.append(Self.i(.slli, Self.x26, Self.x30, 20))
        body += Self.loadImmediate(scratch, base)
        body.append(Self.r(.or, Self.x26, Self.x26, scratch))
        let storeIndex = body.count
        let fillerCount = below(3)
        let slotIndex = slotFirst ? 1 : storeIndex + 1 + (withFence ? 1 : 0) + fillerCount
        body.append(Self.s(.sw, Self.x26, Int32(slotIndex * 4), Self.x29))
        if withFence { body.append(0x0000_100F) }
        for _ in 0..<fillerCount { body.append(alu(excluding: [Self.x26, Self.x29, scratch])) }
        if !slotFirst { body.append(Self.i(.addi, target, target, 0)) }
        var code = [Self.i(.addi, Self.x30, 0, inRange(2...6))]
        code += body
        code.append(Self.i(.addi, Self.x30, Self.x30, -1))
        code.append(Self.branch(.bne, Self.x30, 0, -Int32(4 * (body.count + 1))))
        return code
    }

    /// Switch between the two roots (with or without SFENCE.VMA), flush one page, or jump to the
    /// alias of the next instruction (and run on at alias addresses).
    mutating func translationChange() -> [UInt32] {
        switch below(4) {
        case 0, 1:
            let root = chance(50) ? RandomProgram.rootA : RandomProgram.rootB
            var code = Self.loadImmediate(Self.x29, 1 << 31 | root >> 12)
            code.append(Self.csr(.csrrw, 0, CSR.satp, Self.x29))
            if chance(70) { code.append(Self.encode(Instruction(.sfenceVma))) }
            return code
        case 2:
            return [Self.encode(Instruction(.sfenceVma, rs1: Register(Self.x31)))]
        default:
            // auipc gives this pc; the alias of pc + 12 is pc + 12 - 0x8000_0000 + 0x4000_0000
            // from the identity mapping (and the reverse from the alias).
            return [Self.encode(Instruction(.auipc, rd: Register(Self.x29))),
                    Self.i(.xori, Self.x29, Self.x29, 0),
                    Self.encode(Instruction(.lui, rd: Register(Self.x26), immediate: Int32(bitPattern: 0xC000_0000))),
                    Self.r(.xor, Self.x29, Self.x29, Self.x26),
                    Self.i(.jalr, 0, Self.x29, 20)]
        }
    }
}
