#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What native block code receives besides the register file: the data TLBs and the data context
/// of the current engine run (they are per run, while native code lives as long as its block).
struct NativeContext {
    var loadTLB: UnsafeMutablePointer<TLBEntry>
    var storeTLB: UnsafeMutablePointer<TLBEntry>
    var dataContext: UInt32
    /// Instructions native code may still retire in this call: a block is entered (and a self-loop
    /// goes round again) only if its whole instruction count fits, and subtracts it. This is how
    /// chained native blocks stop exactly where the engine would.
    var instructionBudget: UInt64 = 0
    /// The block whose code ran last (set on every entry), so the engine knows where a bail-out
    /// or exit came from after a chain of native jumps.
    var currentBlock: UnsafeMutableRawPointer? = nil
    /// Native block entries in this call, for the statistics.
    var blocksEntered: UInt64 = 0
}

/// A block's emitted code, before it is installed: where to put the block's own address, and
/// where its direct exits' jumps are (patched to chain to a successor's native code).
struct NativeCode {
    var bytes: [UInt8]
    static let blockPointerOffset = 2
    var takenSite: Int? = nil
    var fallThroughSite: Int? = nil
}

/// A block's native code: `(registers, context) -> exit`. The exit word is either the next pc
/// (bits 31:0) with bit 32 set when the block left by its taken/jump exit, or `bailOut` with the
/// index of the op (bits 47:40) at which the threaded code must take over: an op native code does
/// not implement, or one that needs a slow path (a TLB miss, a misaligned jump target). Registers
/// in memory are up to date at every op boundary, so handing over costs nothing but the call.
typealias NativeBlock = @convention(c) (UnsafeMutablePointer<UInt32>, UnsafeMutableRawPointer) -> UInt64

enum NativeExit {
    static let taken: UInt64 = 1 << 32
    static let bailOut: UInt64 = 1 << 33
    /// A chained jump reached a block that was invalidated or does not fit the budget: continue
    /// at the pc in bits 31:0 through the engine.
    static let notEntered: UInt64 = 1 << 34
    static func opIndex(_ exit: UInt64) -> Int { Int(truncatingIfNeeded: exit >> 40) }
}

/// The second stage of the translator: x86-64 machine code for a block's ops, in executable memory.
///
/// Deliberately small: each op loads its operands from the register file in memory (rdi), computes
/// in eax/ecx/edx, and stores the result back, so there is no register allocation to get wrong and
/// every op boundary is a valid place to hand over to the threaded code. Covered: the RV32I ALU
/// ops, MUL, DIV/DIVU/REM/REMU, LUI/AUIPC constants, loads and stores whose page is in the data TLB with a host
/// pointer, branches, JAL and JALR. Everything else (MULH*, the ops left to the
/// interpreter) ends the native prefix of the block with a bail-out, and the threaded code runs
/// the rest. Semantics therefore need no second implementation of traps or slow paths.
struct NativeCodeEmitter {
    private(set) var bytes: [UInt8] = []
    private var fixups: [(at: Int, label: Int)] = []
    private var labels: [Int: Int] = [:]
    private var nextLabel = 0
    /// The guest register whose value eax holds right now (it was just stored from eax). Reading
    /// it again from memory would wait on store-to-load forwarding, the bottleneck of a chain of
    /// dependent ops; this one-register cache removes most of those waits.
    private var eaxHolds: UInt8? = nil
    private var blockStart: UInt32 = 0
    private var instructionCount: UInt32 = 0
    private let startLabel = -1
    private var takenSite: Int? = nil
    private var fallThroughSite: Int? = nil

    // MARK: Block-local register allocation
    //
    // The guest registers a block uses most live in host registers for the whole block: loaded
    // once on entry, stored back at every exit (including bail-outs, so the threaded code always
    // finds the register file complete). A block that loops to itself jumps back past the loads,
    // so a one-block loop runs entirely in host registers.

    /// Host registers free for guest values: r10, r11 (caller-saved, free because native code calls
    /// nothing), then rbx, rbp, r12-r15 (callee-saved: pushed and popped).
    private static let hostRegisters: [UInt8] = [10, 11, 3, 5, 12, 13, 14, 15]
    private var hostRegister: [UInt8: UInt8] = [:]
    private var allocation: [(guest: UInt8, host: UInt8)] = []
    private var writtenGuests: Set<UInt8> = []
    private var savedHosts: [UInt8] = []
    private var selfLoop = false

    private mutating func allocateRegisters(_ ops: [ThreadedOp]) {
        var uses: [UInt8: Int] = [:]
        var written: Set<UInt8> = []
        var count = 0
        for op in ops {
            count += 1
            if op.kind == .mulh || op.kind == .mulhsu || op.kind == .mulhu || op.kind == .interpret { break }  // native code stops here
            let reads: [UInt8]
            switch op.kind {
            case .loadImmediate, .jal, .fallThrough, .nop: reads = []
            case .addi, .slti, .sltiu, .xori, .ori, .andi, .slli, .srli, .srai, .lb, .lh, .lw, .lbu, .lhu, .jalr: reads = [op.rs1]
            default: reads = [op.rs1, op.rs2]
            }
            for r in reads where r != 0 { uses[r, default: 0] += 1 }
            let writes: Bool
            switch op.kind {
            case .sb, .sh, .sw, .beq, .bne, .blt, .bge, .bltu, .bgeu, .fallThrough, .nop: writes = false
            default: writes = true
            }
            if writes && Int(op.rd) != HartState.discardRegister {
                uses[op.rd, default: 0] += 1
                written.insert(op.rd)
            }
        }
        let loops = ops.last.map { $0.immediate == blockStart && ($0.kind == .jal || $0.isConditionalBranch) } ?? false
        selfLoop = loops
        let worthIt = uses.filter { $0.value >= (loops ? 1 : 3) }.sorted { $0.value > $1.value || ($0.value == $1.value && $0.key < $1.key) }
        // A self-loop keeps its budget in r11 and counts its iterations in r10.
        for ((guest, _), host) in zip(worthIt, loops ? Array(Self.hostRegisters.dropFirst(2)) : Self.hostRegisters) {
            hostRegister[guest] = host
            allocation.append((guest, host))
            if written.contains(guest) { writtenGuests.insert(guest) }
            if host != 10 && host != 11 { savedHosts.append(host) }
        }
    }

    private mutating func prologue() {
        for host in savedHosts { if host >= 8 { byte(0x41) }; byte(0x50 + host & 7) }   // push
        for (guest, host) in allocation {                                               // mov host, [rdi+4g]
            if host >= 8 { byte(0x44) }
            byte(0x8B, 0x80 | (host & 7) << 3 | 7); int32(Self.displacement(guest))
        }
        if selfLoop {
            byte(0x4C, 0x8B, 0x5E, 0x18)                               // mov r11, [rsi+24] (budget)
            byte(0x45, 0x31, 0xD2)                                     // xor r10d, r10d (iterations)
        }
    }

    /// Stores the allocated registers the block writes and restores the saved ones; rax is kept.
    private mutating func epilogue() {
        for (guest, host) in allocation where writtenGuests.contains(guest) {           // mov [rdi+4g], host
            if host >= 8 { byte(0x44) }
            byte(0x89, 0x80 | (host & 7) << 3 | 7); int32(Self.displacement(guest))
        }
        if selfLoop {
            byte(0x4C, 0x89, 0x5E, 0x18)                               // mov [rsi+24], r11
            byte(0x4C, 0x01, 0x56, 0x28)                               // add [rsi+40], r10
        }
        for host in savedHosts.reversed() { if host >= 8 { byte(0x41) }; byte(0x58 + host & 7) }  // pop
    }

    /// An instruction whose r/m operand is guest register `guest` (a host register, or its slot
    /// in the register file) and whose reg field is host register `reg`: [REX] opcode modrm [disp32].
    private mutating func guestOperand(_ opcode: [UInt8], reg: UInt8, guest: UInt8) {
        if let host = hostRegister[guest] {
            let rex: UInt8 = 0x40 | (reg >= 8 ? 4 : 0) | (host >= 8 ? 1 : 0)
            if rex != 0x40 { byte(rex) }
            bytes += opcode
            byte(0xC0 | (reg & 7) << 3 | host & 7)
        } else {
            if reg >= 8 { byte(0x44) }
            bytes += opcode
            byte(0x80 | (reg & 7) << 3 | 7); int32(Self.displacement(guest))
        }
    }

    /// Whether this host can run the emitted code, and TLBEntry has the layout the code assumes.
    static let isSupported: Bool = {
        #if arch(x86_64) && os(Linux)
        return MemoryLayout<TLBEntry>.stride == 16 && MemoryLayout<TLBEntry>.offset(of: \TLBEntry.tag) == 0
            && MemoryLayout<TLBEntry>.offset(of: \TLBEntry.host) == 8
            && MemoryLayout<NativeContext>.offset(of: \NativeContext.storeTLB) == 8
            && MemoryLayout<NativeContext>.offset(of: \NativeContext.dataContext) == 16
            && MemoryLayout<NativeContext>.offset(of: \NativeContext.instructionBudget) == 24
            && MemoryLayout<NativeContext>.offset(of: \NativeContext.currentBlock) == 32
            && MemoryLayout<NativeContext>.offset(of: \NativeContext.blocksEntered) == 40
            && MemoryLayout<TranslatedBlock>.offset(of: \TranslatedBlock.virtualPC) == 0
        #else
        return false
        #endif
    }()

    /// Native code for `ops` (a translated block starting at `virtualPC`, `instructionCount`
    /// instructions), or nil if its first op has none. A jump or taken branch back to `virtualPC`
    /// loops inside the native code while the budget lasts.
    ///
    /// Entry: check the block is still valid (its header's virtual pc, which invalidation
    /// overwrites) and fits the budget, else return `notEntered`; subtract its count; record it as
    /// the current block; load the allocated registers.
    static func emit(_ ops: [ThreadedOp], virtualPC: UInt32, instructionCount: Int) -> NativeCode? {
        var emitter = NativeCodeEmitter()
        emitter.blockStart = virtualPC
        emitter.instructionCount = UInt32(instructionCount)
        let notEntered = emitter.newLabel()
        emitter.byte(0x48, 0xB9); emitter.int32(0); emitter.int32(0)  // movabs rcx, <block>
        emitter.byte(0x81, 0x39); emitter.int32(virtualPC)            // cmp dword [rcx], virtualPC
        emitter.jump(if: Self.notEqual, to: notEntered)
        emitter.byte(0x48, 0x81, 0x7E, 0x18); emitter.int32(emitter.instructionCount)  // cmp qword [rsi+24], count
        emitter.jump(if: Self.below, to: notEntered)
        emitter.byte(0x48, 0x81, 0x6E, 0x18); emitter.int32(emitter.instructionCount)  // sub qword [rsi+24], count
        emitter.byte(0x48, 0x89, 0x4E, 0x20)                          // mov [rsi+32], rcx
        emitter.byte(0x48, 0xFF, 0x46, 0x28)                          // inc qword [rsi+40]
        emitter.allocateRegisters(ops)
        emitter.prologue()
        emitter.bind(emitter.startLabel)
        for (index, op) in ops.enumerated() {
            if !emitter.emit(op, index: index) {
                if index == 0 { return nil }
                emitter.returnConstant(NativeExit.bailOut | UInt64(index) << 40)
                break
            }
        }
        emitter.bind(notEntered)
        emitter.returnRaw(NativeExit.notEntered | UInt64(virtualPC))
        emitter.resolve()
        return NativeCode(bytes: emitter.bytes, takenSite: emitter.takenSite, fallThroughSite: emitter.fallThroughSite)
    }

    // MARK: Encoding

    private mutating func byte(_ b: UInt8...) { bytes += b }
    private mutating func int32(_ value: UInt32) {
        bytes += [UInt8(value & 0xFF), UInt8(value >> 8 & 0xFF), UInt8(value >> 16 & 0xFF), UInt8(value >> 24)]
    }
    private static func displacement(_ register: UInt8) -> UInt32 { UInt32(register) * 4 }

    /// mov eax, [rdi + 4*r] (nothing if eax already holds r)
    private mutating func loadEAX(_ r: UInt8) {
        guard eaxHolds != r else { return }
        guestOperand([0x8B], reg: 0, guest: r)
        eaxHolds = r
    }
    /// mov ecx, [rdi + 4*r]
    private mutating func loadECX(_ r: UInt8) { guestOperand([0x8B], reg: 1, guest: r) }
    /// mov [rdi + 4*r], eax
    private mutating func storeEAX(_ r: UInt8) {
        guestOperand([0x89], reg: 0, guest: r)
        eaxHolds = r
    }
    /// eax = x[rs1] op x[rs2] for a commutative op, using eax as it stands when it holds either.
    private mutating func commutative(_ opcode: UInt8, _ rs1: UInt8, _ rs2: UInt8) {
        if eaxHolds == rs2 && eaxHolds != rs1 { aluEAX(opcode, rs1) } else { loadEAX(rs1); aluEAX(opcode, rs2) }
    }
    /// <op> eax, [rdi + 4*r] for the two-operand ALU opcodes (add 03, or 0B, and 23, sub 2B, xor 33, cmp 3B)
    private mutating func aluEAX(_ opcode: UInt8, _ r: UInt8) { guestOperand([opcode], reg: 0, guest: r) }
    /// x[r] = value (mov r/m32, imm32)
    private mutating func storeConstant(_ r: UInt8, _ value: UInt32) { guestOperand([0xC7], reg: 0, guest: r); int32(value) }
    /// The epilogue, then movabs rax, value; ret
    private mutating func returnConstant(_ value: UInt64) {
        epilogue()
        returnRaw(value)
    }
    /// A direct exit to a known pc: the epilogue, then a jump that starts out pointing at the
    /// return just after it and is patched to the successor's native entry once the engine links them.
    private mutating func directExit(_ value: UInt64, taken: Bool) {
        epilogue()
        byte(0xE9)
        if taken { takenSite = bytes.count } else { fallThroughSite = bytes.count }
        int32(0)
        returnRaw(value)
    }
    /// movabs rax, value; ret
    private mutating func returnRaw(_ value: UInt64) {
        if value >> 32 == 0 {
            byte(0xB8); int32(UInt32(value))           // mov eax, imm32 (zero-extends)
        } else {
            byte(0x48, 0xB8)
            for shift in stride(from: 0, to: 64, by: 8) { byte(UInt8(truncatingIfNeeded: value >> UInt64(shift))) }
        }
        byte(0xC3)
    }
    private mutating func newLabel() -> Int { defer { nextLabel += 1 }; return nextLabel }
    private mutating func bind(_ label: Int) { labels[label] = bytes.count }
    /// jcc rel32 (condition code 0x0-0xF) to a label.
    private mutating func jump(if condition: UInt8, to label: Int) {
        byte(0x0F, 0x80 | condition)
        fixups.append((bytes.count, label))
        int32(0)
    }
    /// jmp rel32 to a label.
    private mutating func jump(to label: Int) {
        byte(0xE9)
        fixups.append((bytes.count, label))
        int32(0)
    }
    /// The taken exit to `target`: loop back to the block's start while the budget lasts.
    private mutating func takenExit(to target: UInt32) {
        if target == blockStart {
            let exit = newLabel()
            byte(0x49, 0x81, 0xFB); int32(instructionCount)           // cmp r11, count
            jump(if: Self.below, to: exit)
            byte(0x49, 0x81, 0xEB); int32(instructionCount)           // sub r11, count
            byte(0x49, 0xFF, 0xC2)                                     // inc r10
            byte(0xE9); fixups.append((bytes.count, startLabel)); int32(0)  // jmp start
            bind(exit)
        }
        directExit(NativeExit.taken | UInt64(target), taken: true)
    }
    private mutating func resolve() {
        for fixup in fixups {
            let target = labels[fixup.label] ?? fixup.at + 4
            let relative = UInt32(bitPattern: Int32(target - (fixup.at + 4)))
            for i in 0..<4 { bytes[fixup.at + i] = UInt8(truncatingIfNeeded: relative >> (8 * UInt32(i))) }
        }
    }
    private static let equal: UInt8 = 0x4, notEqual: UInt8 = 0x5, less: UInt8 = 0xC, greaterOrEqual: UInt8 = 0xD
    private static let below: UInt8 = 0x2, aboveOrEqual: UInt8 = 0x3, above: UInt8 = 0x7

    /// Emits one op; false if native code does not cover it.
    private mutating func emit(_ op: ThreadedOp, index: Int) -> Bool {
        let rd = op.rd, rs1 = op.rs1, rs2 = op.rs2, imm = op.immediate
        // Every op below either leaves eax holding what it last stored (storeEAX) or says otherwise.
        func eaxChanged() { eaxHolds = nil }
        switch op.kind {
        case .addi: loadEAX(rs1); byte(0x05); int32(imm); storeEAX(rd)
        case .xori: loadEAX(rs1); byte(0x35); int32(imm); storeEAX(rd)
        case .ori: loadEAX(rs1); byte(0x0D); int32(imm); storeEAX(rd)
        case .andi: loadEAX(rs1); byte(0x25); int32(imm); storeEAX(rd)
        case .slti, .sltiu:
            loadEAX(rs1); byte(0x3D); int32(imm)                       // cmp eax, imm32
            byte(0x0F, op.kind == .slti ? 0x9C : 0x92, 0xC0)           // setl/setb al
            byte(0x0F, 0xB6, 0xC0); storeEAX(rd)                       // movzx eax, al
        case .slli: loadEAX(rs1); byte(0xC1, 0xE0, UInt8(imm & 31)); storeEAX(rd)
        case .srli: loadEAX(rs1); byte(0xC1, 0xE8, UInt8(imm & 31)); storeEAX(rd)
        case .srai: loadEAX(rs1); byte(0xC1, 0xF8, UInt8(imm & 31)); storeEAX(rd)
        case .add: commutative(0x03, rs1, rs2); storeEAX(rd)
        case .sub: loadEAX(rs1); aluEAX(0x2B, rs2); storeEAX(rd)
        case .xor: commutative(0x33, rs1, rs2); storeEAX(rd)
        case .or: commutative(0x0B, rs1, rs2); storeEAX(rd)
        case .and: commutative(0x23, rs1, rs2); storeEAX(rd)
        case .slt, .sltu:
            loadEAX(rs1); aluEAX(0x3B, rs2)
            byte(0x0F, op.kind == .slt ? 0x9C : 0x92, 0xC0)
            byte(0x0F, 0xB6, 0xC0); storeEAX(rd)
        case .sll, .srl, .sra:
            // x86 masks a 32-bit shift count to 5 bits, as RISC-V does.
            loadEAX(rs1); loadECX(rs2)
            byte(0xD3, op.kind == .sll ? 0xE0 : op.kind == .srl ? 0xE8 : 0xF8)
            storeEAX(rd)
        case .mul:
            if eaxHolds == rs2 && eaxHolds != rs1 {
                guestOperand([0x0F, 0xAF], reg: 0, guest: rs1)
            } else {
                loadEAX(rs1); guestOperand([0x0F, 0xAF], reg: 0, guest: rs2)
            }
            storeEAX(rd)
        case .loadImmediate:
            storeConstant(rd, imm)
            if eaxHolds == rd { eaxChanged() }
        case .nop: break

        case .lb, .lh, .lw, .lbu, .lhu, .sb, .sh, .sw:
            let isStore = op.kind == .sb || op.kind == .sh || op.kind == .sw
            let size: UInt32 = op.kind == .lw || op.kind == .sw ? 4 : (op.kind == .lh || op.kind == .lhu || op.kind == .sh ? 2 : 1)
            let slow = newLabel(), done = newLabel()
            loadEAX(rs1); byte(0x05); int32(imm)                       // eax = address
            eaxChanged()
            byte(0x89, 0xC1); byte(0xC1, 0xE9, 0x0C)                   // ecx = address >> 12
            byte(0x89, 0xCA); byte(0x81, 0xE2); int32(UInt32(TLB.entriesPerKind - 1))
            byte(0xC1, 0xE2, 0x04)                                     // edx = index * 16
            byte(0x48, 0x03, 0x56, isStore ? 0x08 : 0x00)              // rdx += context.xTLB
            byte(0x0B, 0x4E, 0x10)                                     // ecx |= context.dataContext
            byte(0x3B, 0x0A); jump(if: Self.notEqual, to: slow)        // tag
            byte(0x4C, 0x8B, 0x42, 0x08)                               // r8 = entry.host
            byte(0x4D, 0x85, 0xC0); jump(if: Self.equal, to: slow)
            byte(0x89, 0xC1); byte(0x81, 0xE1); int32(0xFFF)           // ecx = offset in page
            if size > 1 { byte(0x81, 0xF9); int32(4096 - size); jump(if: Self.above, to: slow) }
            if isStore {
                guestOperand([0x8B], reg: 9, guest: rs2)                  // r9d = value
                switch size {
                case 1: byte(0x45, 0x88, 0x0C, 0x08)
                case 2: byte(0x66, 0x45, 0x89, 0x0C, 0x08)
                default: byte(0x45, 0x89, 0x0C, 0x08)
                }
            } else {
                switch op.kind {
                case .lb: byte(0x41, 0x0F, 0xBE, 0x04, 0x08)
                case .lbu: byte(0x41, 0x0F, 0xB6, 0x04, 0x08)
                case .lh: byte(0x41, 0x0F, 0xBF, 0x04, 0x08)
                case .lhu: byte(0x41, 0x0F, 0xB7, 0x04, 0x08)
                default: byte(0x41, 0x8B, 0x04, 0x08)
                }
                storeEAX(rd)
            }
            byte(0xE9); let skip = bytes.count; int32(0)               // jmp done
            bind(slow)
            returnConstant(NativeExit.bailOut | UInt64(index) << 40)
            bind(done)
            if isStore { eaxChanged() }  // a load has stored its value from eax into rd
            let relative = UInt32(bytes.count - (skip + 4))
            for i in 0..<4 { bytes[skip + i] = UInt8(truncatingIfNeeded: relative >> (8 * UInt32(i))) }

        case .beq, .bne, .blt, .bge, .bltu, .bgeu:
            let taken = newLabel()
            loadEAX(rs1); aluEAX(0x3B, rs2)
            let condition: UInt8
            switch op.kind {
            case .beq: condition = Self.equal
            case .bne: condition = Self.notEqual
            case .blt: condition = Self.less
            case .bge: condition = Self.greaterOrEqual
            case .bltu: condition = Self.below
            default: condition = Self.aboveOrEqual
            }
            jump(if: condition, to: taken)
            directExit(UInt64(op.extra), taken: false)
            bind(taken)
            takenExit(to: imm)
        case .jal:
            storeConstant(rd, op.extra)
            takenExit(to: imm)
        case .jalr:
            let misaligned = newLabel()
            loadEAX(rs1); byte(0x05); int32(imm)
            eaxChanged()
            byte(0x25); int32(0xFFFF_FFFE)                             // and eax, ~1
            byte(0xA8, 0x03); jump(if: Self.notEqual, to: misaligned)  // test al, 3
            storeConstant(rd, op.extra)
            byte(0x48, 0x0F, 0xBA, 0xE8, 0x20)                         // bts rax, 32
            epilogue()
            byte(0xC3)
            bind(misaligned)
            returnConstant(NativeExit.bailOut | UInt64(index) << 40)
        case .fallThrough:
            directExit(UInt64(imm), taken: false)
        case .div, .rem:
            // x86 idiv traps on a zero divisor and on INT_MIN / -1; RISC-V defines both (DIV: -1 and
            // INT_MIN, REM: the dividend and 0), so those divisors branch around the idiv.
            let byZero = newLabel(), byMinusOne = newLabel(), done = newLabel()
            loadEAX(rs1); loadECX(rs2)                                 // eax = dividend, ecx = divisor
            byte(0x85, 0xC9); jump(if: Self.equal, to: byZero)         // test ecx, ecx
            byte(0x83, 0xF9, 0xFF); jump(if: Self.equal, to: byMinusOne)  // cmp ecx, -1
            byte(0x99)                                                 // cdq (edx:eax = dividend)
            byte(0xF7, 0xF9)                                           // idiv ecx
            if op.kind == .rem { byte(0x89, 0xD0) }                    // mov eax, edx (remainder)
            jump(to: done)
            bind(byMinusOne)                                           // x / -1 = -x (INT_MIN stays), x % -1 = 0
            if op.kind == .div { byte(0xF7, 0xD8) } else { byte(0x31, 0xC0) }  // neg eax / xor eax, eax
            jump(to: done)
            bind(byZero)                                               // x / 0 = -1, x % 0 = x (eax)
            if op.kind == .div { byte(0xB8); int32(0xFFFF_FFFF) }      // mov eax, -1
            bind(done)
            storeEAX(rd)
        case .divu, .remu:
            // x86 div traps on a zero divisor; RISC-V gives DIVU all ones and REMU the dividend.
            let byZero = newLabel(), done = newLabel()
            loadEAX(rs1); loadECX(rs2)                                 // eax = dividend, ecx = divisor
            byte(0x85, 0xC9); jump(if: Self.equal, to: byZero)         // test ecx, ecx
            byte(0x31, 0xD2)                                           // xor edx, edx (edx:eax = dividend)
            byte(0xF7, 0xF1)                                           // div ecx
            if op.kind == .remu { byte(0x89, 0xD0) }                   // mov eax, edx (remainder)
            jump(to: done)
            bind(byZero)                                               // x / 0 = 0xFFFFFFFF, x % 0 = x (eax)
            if op.kind == .divu { byte(0xB8); int32(0xFFFF_FFFF) }     // mov eax, 0xFFFFFFFF
            bind(done)
            storeEAX(rd)
        case .mulh, .mulhsu, .mulhu, .interpret:
            return false
        }
        return true
    }
}

/// Executable memory for native block code: one RWX mapping, filled front to back and emptied
/// whole when the code cache is flushed.
final class NativeCodeArena {
    private let base: UnsafeMutableRawPointer?
    let capacity: Int
    private(set) var used = 0

    init(capacity: Int) {
        self.capacity = capacity
        #if canImport(Glibc)
        let mapping = mmap(nil, capacity, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
        base = mapping == MAP_FAILED ? nil : mapping
        #else
        base = nil
        #endif
    }

    deinit {
        #if canImport(Glibc)
        if let base { munmap(base, capacity) }
        #endif
    }

    var isAvailable: Bool { base != nil }

    /// Copies `code` in and returns where it starts, or nil when the arena is full.
    func install(_ code: [UInt8]) -> UnsafeMutableRawPointer? {
        guard let base, used + code.count <= capacity else { return nil }
        let start = base + used
        code.withUnsafeBytes { start.copyMemory(from: $0.baseAddress!, byteCount: code.count) }
        used += (code.count + 15) & ~15
        return start
    }

    /// Points the jump whose rel32 field is at `site` to `target`.
    static func patch(site: UnsafeMutableRawPointer, to target: UnsafeMutableRawPointer) {
        let relative = Int32(truncatingIfNeeded: target - (site + 4))
        site.storeBytes(of: relative.littleEndian, as: Int32.self)
    }

    func reset() { used = 0 }
}
