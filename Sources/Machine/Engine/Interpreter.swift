/// The plain fetch-decode-execute engine.
///
/// Speed comes from data layout, not tricks (shared/STYLE.md, "the hot loop"): the registers are
/// reached through a raw pointer, pc and the retired count live in locals, the current fetch page's
/// host address is cached so a fetch is one load, a RAM load or store whose page is in the TLB is a
/// tag compare and a host memory access, and exceptions are *returned* out of the loop (the slow path
/// has already entered the trap), never thrown.
///
/// Decoding is a switch on the raw instruction word rather than `Instruction.decode`, because the
/// interpreter needs only a few bit fields per instruction and building an `Instruction` value per
/// step costs more than executing most instructions. Measured on the 2-core AMD EPYC build machine,
/// release build (MachineTests/InterpreterSpeedTests.swift, `VLAB_SPEED=1`): `Instruction.decode`
/// alone runs at 59 million decodes/s (17 ns each), which caps an interpreter built on it below
/// 59 MIPS; this engine runs the test's 7-instruction ALU/load/store/branch loop at 150 MIPS
/// (6.7 ns per instruction, decode included). With the other core busy both figures drop alike
/// (45-50 million decodes/s against 112-116 MIPS). The block translator (Translator.swift, see
/// DESIGN.md) is where decoding once into `Instruction`s pays off.
///
/// The engine stops after `stopAt` retirements, and after every instruction that may change what
/// the run loop must look at (SYSTEM instructions, traps, stores that miss the fast path, atomics),
/// so `Machine.run` sees interrupts and device effects at exact instruction boundaries.
enum Interpreter {
    static func run(_ machine: Machine, until stopAt: UInt64) {
        let state = machine.state
        let x = state.pointee.registers
        var pc = state.pointee.pc
        var retired = state.pointee.retired
        let loadTLB = machine.tlb + TLB.entriesPerKind
        let storeTLB = machine.tlb + 2 * TLB.entriesPerKind
        let dataContext = machine.dataContext
        let tlbIndexMask = UInt32(TLB.entriesPerKind - 1)
        var fetchPageAddress: UInt32 = 1  // never a page address: forces the first lookup
        var fetchHost = machine.ram

        /// Publishes pc and the retired count before any slow path reads or changes the state.
        @inline(__always) func sync() {
            state.pointee.pc = pc
            state.pointee.retired = retired
        }
        @inline(__always) func raise(_ cause: UInt32, _ value: UInt32) {
            sync()
            machine.raiseException(cause, value: value, pc: pc)
        }

        // Jumps, branches, xRET and trap vectors only produce 4-aligned pcs; a misaligned one can
        // only come from the host (a pc it set, an ELF entry point), and is a misaligned fetch.
        if pc & 3 != 0 && retired < stopAt {
            return raise(ExceptionCause.instructionAddressMisaligned, pc)
        }

        while retired < stopAt {
            let page = pc & ~0xFFF
            if page != fetchPageAddress {
                sync()
                guard let host = machine.fetchPage(pc) else { return }
                fetchPageAddress = page
                fetchHost = host
            }
            let w = fetchHost.load(fromByteOffset: Int(pc & 0xFFF), as: UInt32.self)
            let rd = Int(w >> 7 & 31)
            let rs1 = Int(w >> 15 & 31)
            let funct3 = w >> 12 & 7

            switch w & 0x7F {
            case 0x13:  // OP-IMM
                let a = x[rs1]
                let imm = UInt32(bitPattern: Int32(bitPattern: w) >> 20)
                let result: UInt32
                switch funct3 {
                case 0: result = a &+ imm
                case 1:
                    guard w >> 25 == 0 else { return raise(ExceptionCause.illegalInstruction, w) }
                    result = a &<< (imm & 31)
                case 2: result = Int32(bitPattern: a) < Int32(bitPattern: imm) ? 1 : 0
                case 3: result = a < imm ? 1 : 0
                case 4: result = a ^ imm
                case 5:
                    switch w >> 25 {
                    case 0x00: result = a &>> (imm & 31)
                    case 0x20: result = UInt32(bitPattern: Int32(bitPattern: a) &>> Int32(imm & 31))
                    default: return raise(ExceptionCause.illegalInstruction, w)
                    }
                case 6: result = a | imm
                default: result = a & imm
                }
                x[rd] = result
                pc &+= 4

            case 0x33:  // OP: RV32I register-register and the M extension
                let a = x[rs1]
                let b = x[Int(w >> 20 & 31)]
                let result: UInt32
                switch w >> 25 {
                case 0x00:
                    switch funct3 {
                    case 0: result = a &+ b
                    case 1: result = a &<< b          // &<< masks the amount to 5 bits, as RISC-V does
                    case 2: result = Int32(bitPattern: a) < Int32(bitPattern: b) ? 1 : 0
                    case 3: result = a < b ? 1 : 0
                    case 4: result = a ^ b
                    case 5: result = a &>> b
                    case 6: result = a | b
                    default: result = a & b
                    }
                case 0x20:
                    switch funct3 {
                    case 0: result = a &- b
                    case 5: result = UInt32(bitPattern: Int32(bitPattern: a) &>> Int32(bitPattern: b))
                    default: return raise(ExceptionCause.illegalInstruction, w)
                    }
                case 0x01:
                    result = multiplyDivide(funct3, a, b)
                default:
                    return raise(ExceptionCause.illegalInstruction, w)
                }
                x[rd] = result
                pc &+= 4

            case 0x03:  // LOAD
                let address = x[rs1] &+ UInt32(bitPattern: Int32(bitPattern: w) >> 20)
                let size: Int
                switch funct3 {
                case 0, 4: size = 1
                case 1, 5: size = 2
                case 2: size = 4
                default: return raise(ExceptionCause.illegalInstruction, w)
                }
                let offset = Int(address & 0xFFF)
                let entry = loadTLB[Int(address >> 12 & tlbIndexMask)]
                var raw: UInt32
                if entry.tag == address >> 12 | dataContext, let host = entry.host, offset + size <= 4096 {
                    switch size {
                    case 1: raw = UInt32(host.load(fromByteOffset: offset, as: UInt8.self))
                    case 2: raw = UInt32(host.loadUnaligned(fromByteOffset: offset, as: UInt16.self))
                    default: raw = host.loadUnaligned(fromByteOffset: offset, as: UInt32.self)
                    }
                } else {
                    sync()
                    guard let value = machine.loadSlow(address, size: size, pc: pc) else { return }
                    raw = value
                }
                switch funct3 {
                case 0: raw = UInt32(bitPattern: Int32(Int8(truncatingIfNeeded: raw)))
                case 1: raw = UInt32(bitPattern: Int32(Int16(truncatingIfNeeded: raw)))
                default: break
                }
                x[rd] = raw
                pc &+= 4

            case 0x23:  // STORE
                let immediate = (Int32(bitPattern: w & 0xFE00_0000) >> 20) | Int32(w >> 7 & 0x1F)
                let address = x[rs1] &+ UInt32(bitPattern: immediate)
                let value = x[Int(w >> 20 & 31)]
                let size: Int
                switch funct3 {
                case 0: size = 1
                case 1: size = 2
                case 2: size = 4
                default: return raise(ExceptionCause.illegalInstruction, w)
                }
                let offset = Int(address & 0xFFF)
                let entry = storeTLB[Int(address >> 12 & tlbIndexMask)]
                if entry.tag == address >> 12 | dataContext, let host = entry.host, offset + size <= 4096 {
                    switch size {
                    case 1: host.storeBytes(of: UInt8(truncatingIfNeeded: value), toByteOffset: offset, as: UInt8.self)
                    case 2: host.storeBytes(of: UInt16(truncatingIfNeeded: value), toByteOffset: offset, as: UInt16.self)
                    default: host.storeBytes(of: value, toByteOffset: offset, as: UInt32.self)
                    }
                    pc &+= 4
                } else {
                    sync()
                    guard machine.storeSlow(address, size: size, value: value, pc: pc) else { return }
                    // The store may have hit a device (timer, finisher, tohost): let the run loop look.
                    pc &+= 4
                    retired &+= 1
                    return sync()
                }

            case 0x63:  // BRANCH
                let a = x[rs1]
                let b = x[Int(w >> 20 & 31)]
                let taken: Bool
                switch funct3 {
                case 0: taken = a == b
                case 1: taken = a != b
                case 4: taken = Int32(bitPattern: a) < Int32(bitPattern: b)
                case 5: taken = Int32(bitPattern: a) >= Int32(bitPattern: b)
                case 6: taken = a < b
                case 7: taken = a >= b
                default: return raise(ExceptionCause.illegalInstruction, w)
                }
                if taken {
                    let offset = (Int32(bitPattern: w & 0x8000_0000) >> 19) | Int32((w & 0x80) << 4)
                        | Int32((w >> 20) & 0x7E0) | Int32((w >> 7) & 0x1E)
                    let target = pc &+ UInt32(bitPattern: offset)
                    // No C extension: a target that is not 4-aligned traps here, at the branch,
                    // with tval = the target (cause 0), and the branch does not complete.
                    guard target & 3 == 0 else { return raise(ExceptionCause.instructionAddressMisaligned, target) }
                    pc = target
                } else {
                    pc &+= 4
                }

            case 0x6F:  // JAL
                let offset = (Int32(bitPattern: w & 0x8000_0000) >> 11) | Int32(w & 0xF_F000)
                    | Int32((w >> 9) & 0x800) | Int32((w >> 20) & 0x7FE)
                let target = pc &+ UInt32(bitPattern: offset)
                guard target & 3 == 0 else { return raise(ExceptionCause.instructionAddressMisaligned, target) }
                x[rd] = pc &+ 4
                pc = target

            case 0x67:  // JALR
                guard funct3 == 0 else { return raise(ExceptionCause.illegalInstruction, w) }
                let target = (x[rs1] &+ UInt32(bitPattern: Int32(bitPattern: w) >> 20)) & ~1
                guard target & 3 == 0 else { return raise(ExceptionCause.instructionAddressMisaligned, target) }
                x[rd] = pc &+ 4
                pc = target

            case 0x37:  // LUI
                x[rd] = w & 0xFFFF_F000
                pc &+= 4

            case 0x17:  // AUIPC
                x[rd] = pc &+ (w & 0xFFFF_F000)
                pc &+= 4

            case 0x0F:  // MISC-MEM: FENCE orders nothing on a single in-order hart. FENCE.I drops
                        // the translator's blocks (the interpreter itself fetches from RAM every time).
                guard funct3 <= 1 else { return raise(ExceptionCause.illegalInstruction, w) }
                if funct3 == 1 {
                    machine.invalidateAllTranslations()
                    pc &+= 4
                    retired &+= 1
                    return sync()  // the translator calls this loop for one instruction: let it look again
                }
                pc &+= 4

            case 0x73:  // SYSTEM
                sync()
                machine.executeSystem(w, pc: pc)
                return

            case 0x2F:  // AMO
                sync()
                guard machine.executeAtomic(w, pc: pc) else { return }
                pc &+= 4
                retired &+= 1
                x[0] = 0
                return sync()

            case 0x0B:  // custom-0: the teaching variant's vlab.popie (Machine+TeachingPopie.swift)
                sync()
                machine.executeCustomZero(w, pc: pc)
                return

            default:
                return raise(ExceptionCause.illegalInstruction, w)
            }
            x[0] = 0
            retired &+= 1
        }
        sync()
    }

    /// The M extension, with the spec's results for the corner cases: division by zero gives
    /// all ones (quotient) and the dividend (remainder); INT_MIN / -1 overflows to INT_MIN with remainder 0.
    @inline(__always)
    static func multiplyDivide(_ funct3: UInt32, _ a: UInt32, _ b: UInt32) -> UInt32 {
        let sa = Int32(bitPattern: a), sb = Int32(bitPattern: b)
        switch funct3 {
        case 0: return a &* b
        case 1: return UInt32(truncatingIfNeeded: (Int64(sa) * Int64(sb)) >> 32)
        case 2: return UInt32(truncatingIfNeeded: (Int64(sa) * Int64(b)) >> 32)
        case 3: return UInt32(truncatingIfNeeded: (UInt64(a) * UInt64(b)) >> 32)
        case 4:
            if b == 0 { return .max }
            if sa == .min && sb == -1 { return a }
            return UInt32(bitPattern: sa / sb)
        case 5: return b == 0 ? .max : a / b
        case 6:
            if b == 0 { return a }
            if sa == .min && sb == -1 { return 0 }
            return UInt32(bitPattern: sa % sb)
        default: return b == 0 ? a : a % b
        }
    }
}
