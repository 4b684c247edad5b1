/// The translating engine: runs guest basic blocks as pre-decoded threaded code from the code
/// cache, following chain links from block to block.
///
/// It keeps the interpreter's contract with `Machine.run` exactly (see DESIGN.md beside this
/// file): it stops after `stopAt` retirements, and returns after every instruction after which the
/// interpreter returns (SYSTEM, atomics, FENCE.I, stores that miss the fast path, traps), so the run
/// loop sees interrupts and device effects at the same retired counts. A block that would run past
/// `stopAt` is not entered: the interpreter runs the remaining instructions one by one.
///
/// Fetch translation follows the interpreter too: pc goes through the fetch TLB on entry and
/// whenever execution moves to another virtual page, never otherwise, so both engines make the same
/// page walks (and the same accessed-bit updates) in the same order.
enum Translator {
    static func run(_ machine: Machine, until stopAt: UInt64) {
        let state = machine.state
        let x = state.pointee.registers
        var pc = state.pointee.pc
        var retired = state.pointee.retired
        let cache = machine.codeCache
        let loadTLB = machine.tlb + TLB.entriesPerKind
        let storeTLB = machine.tlb + 2 * TLB.entriesPerKind
        let dataContext = machine.dataContext
        let tlbIndexMask = UInt32(TLB.entriesPerKind - 1)

        var fetchVirtualPage: UInt32 = 1  // never a page address: forces the first translation
        var fetchPhysicalPage: UInt32 = 0
        var fetchHost = machine.ram
        var previous: UnsafeMutablePointer<TranslatedBlock>? = nil
        var leftByTakenExit = false
        let nativeContext = cache.nativeContext
        nativeContext.initialize(to: NativeContext(loadTLB: loadTLB, storeTLB: storeTLB, dataContext: dataContext))
        var executed: UInt64 = 0
        var chained: UInt64 = 0
        defer {
            cache.statistics.blocksExecuted &+= executed
            cache.statistics.chainedTransitions &+= chained
        }

        @inline(__always) func sync() {
            state.pointee.pc = pc
            state.pointee.retired = retired
        }

        // A misaligned pc set by the host: the interpreter raises the fetch exception.
        if pc & 3 != 0 {
            if retired < stopAt { Interpreter.run(machine, until: retired + 1) }
            return
        }

        blocks: while retired < stopAt {
            if pc & ~0xFFF != fetchVirtualPage {
                sync()
                guard let (physicalPage, host) = machine.fetchTranslation(pc) else { return }
                fetchVirtualPage = pc & ~0xFFF
                fetchPhysicalPage = physicalPage
                fetchHost = host
            }
            let physicalPC = fetchPhysicalPage | pc & 0xFFF

            // Find the block: the chain link first, then the cache, then translate.
            var block: UnsafeMutablePointer<TranslatedBlock>
            let link = leftByTakenExit ? previous?.pointee.takenLink : previous?.pointee.fallThroughLink
            if let link, link.pointee.virtualPC == pc, link.pointee.physicalPC == physicalPC {
                block = link
                chained &+= 1
            } else {
                if let cached = cache.lookup(virtualPC: pc, physicalPC: physicalPC) {
                    block = cached
                } else {
                    let flushesBefore = cache.flushCount
                    block = machine.translateBlock(virtualPC: pc, physicalPC: physicalPC, pageHost: fetchHost)
                    if cache.flushCount != flushesBefore { previous = nil }
                }
                if let previous {
                    if leftByTakenExit { previous.pointee.takenLink = block } else { previous.pointee.fallThroughLink = block }
                    // Chain the native code too, within one page (a jump to another page must go
                    // through the fetch TLB, as the interpreter's fetch would).
                    if let entry = block.pointee.nativeEntry, let site = leftByTakenExit ? previous.pointee.takenSite : previous.pointee.fallThroughSite,
                       previous.pointee.virtualPC & ~0xFFF == pc & ~0xFFF {
                        NativeCodeArena.patch(site: site, to: entry)
                    }
                }
            }

            var count = UInt64(block.pointee.instructionCount)
            if stopAt - retired < count {
                sync()
                Interpreter.run(machine, until: stopAt)
                return
            }
            previous = block
            var first = block.pointee.ops
            var op = first
            if let native = block.pointee.native {
                // Native code runs this block and whatever it chains to, within the budget; its
                // entry subtracts each block's count (so this block's entry cannot fail).
                let budget = stopAt - retired
                nativeContext.pointee.instructionBudget = budget
                nativeContext.pointee.blocksEntered = 0
                let exit = native(x, UnsafeMutableRawPointer(nativeContext))
                retired &+= budget - nativeContext.pointee.instructionBudget
                executed &+= nativeContext.pointee.blocksEntered
                let last = nativeContext.pointee.currentBlock!.assumingMemoryBound(to: TranslatedBlock.self)
                if exit & NativeExit.notEntered != 0 {
                    pc = UInt32(truncatingIfNeeded: exit)
                    previous = nil
                    continue blocks
                }
                previous = last
                if exit & NativeExit.bailOut == 0 {
                    pc = UInt32(truncatingIfNeeded: exit)
                    leftByTakenExit = exit & NativeExit.taken != 0
                    continue blocks
                }
                // Continue `last` in threaded code at the op native code could not do; its entry
                // counted all its instructions, so step back to the count at its start.
                block = last
                count = UInt64(last.pointee.instructionCount)
                retired &-= count
                pc = last.pointee.virtualPC
                first = last.pointee.ops
                op = first + NativeExit.opIndex(exit)
            } else {
                executed &+= 1
            }

            /// pc and retired count of the op being executed, published for a slow path or trap.
            @inline(__always) func syncAtOp() {
                let index = op - first
                state.pointee.pc = pc &+ UInt32(4 * index)
                state.pointee.retired = retired &+ UInt64(index)
            }

            while true {
                let o = op.pointee
                let rd = Int(o.rd)
                switch o.kind {
                case .addi: x[rd] = x[Int(o.rs1)] &+ o.immediate
                case .slti: x[rd] = Int32(bitPattern: x[Int(o.rs1)]) < Int32(bitPattern: o.immediate) ? 1 : 0
                case .sltiu: x[rd] = x[Int(o.rs1)] < o.immediate ? 1 : 0
                case .xori: x[rd] = x[Int(o.rs1)] ^ o.immediate
                case .ori: x[rd] = x[Int(o.rs1)] | o.immediate
                case .andi: x[rd] = x[Int(o.rs1)] & o.immediate
                case .slli: x[rd] = x[Int(o.rs1)] &<< o.immediate
                case .srli: x[rd] = x[Int(o.rs1)] &>> o.immediate
                case .srai: x[rd] = UInt32(bitPattern: Int32(bitPattern: x[Int(o.rs1)]) &>> Int32(bitPattern: o.immediate))
                case .add: x[rd] = x[Int(o.rs1)] &+ x[Int(o.rs2)]
                case .sub: x[rd] = x[Int(o.rs1)] &- x[Int(o.rs2)]
                case .sll: x[rd] = x[Int(o.rs1)] &<< x[Int(o.rs2)]
                case .slt: x[rd] = Int32(bitPattern: x[Int(o.rs1)]) < Int32(bitPattern: x[Int(o.rs2)]) ? 1 : 0
                case .sltu: x[rd] = x[Int(o.rs1)] < x[Int(o.rs2)] ? 1 : 0
                case .xor: x[rd] = x[Int(o.rs1)] ^ x[Int(o.rs2)]
                case .srl: x[rd] = x[Int(o.rs1)] &>> x[Int(o.rs2)]
                case .sra: x[rd] = UInt32(bitPattern: Int32(bitPattern: x[Int(o.rs1)]) &>> Int32(bitPattern: x[Int(o.rs2)]))
                case .or: x[rd] = x[Int(o.rs1)] | x[Int(o.rs2)]
                case .and: x[rd] = x[Int(o.rs1)] & x[Int(o.rs2)]
                case .mul: x[rd] = x[Int(o.rs1)] &* x[Int(o.rs2)]
                case .mulh: x[rd] = Interpreter.multiplyDivide(1, x[Int(o.rs1)], x[Int(o.rs2)])
                case .mulhsu: x[rd] = Interpreter.multiplyDivide(2, x[Int(o.rs1)], x[Int(o.rs2)])
                case .mulhu: x[rd] = Interpreter.multiplyDivide(3, x[Int(o.rs1)], x[Int(o.rs2)])
                case .div: x[rd] = Interpreter.multiplyDivide(4, x[Int(o.rs1)], x[Int(o.rs2)])
                case .divu: x[rd] = Interpreter.multiplyDivide(5, x[Int(o.rs1)], x[Int(o.rs2)])
                case .rem: x[rd] = Interpreter.multiplyDivide(6, x[Int(o.rs1)], x[Int(o.rs2)])
                case .remu: x[rd] = Interpreter.multiplyDivide(7, x[Int(o.rs1)], x[Int(o.rs2)])
                case .loadImmediate: x[rd] = o.immediate
                case .nop: break

                case .lb, .lh, .lw, .lbu, .lhu:
                    let address = x[Int(o.rs1)] &+ o.immediate
                    let size = o.kind == .lw ? 4 : (o.kind == .lh || o.kind == .lhu ? 2 : 1)
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
                        syncAtOp()
                        guard let value = machine.loadSlow(address, size: size, pc: state.pointee.pc) else { return }
                        raw = value
                    }
                    switch o.kind {
                    case .lb: raw = UInt32(bitPattern: Int32(Int8(truncatingIfNeeded: raw)))
                    case .lh: raw = UInt32(bitPattern: Int32(Int16(truncatingIfNeeded: raw)))
                    default: break
                    }
                    x[rd] = raw

                case .sb, .sh, .sw:
                    let address = x[Int(o.rs1)] &+ o.immediate
                    let value = x[Int(o.rs2)]
                    let size = o.kind == .sw ? 4 : (o.kind == .sh ? 2 : 1)
                    let offset = Int(address & 0xFFF)
                    let entry = storeTLB[Int(address >> 12 & tlbIndexMask)]
                    if entry.tag == address >> 12 | dataContext, let host = entry.host, offset + size <= 4096 {
                        switch size {
                        case 1: host.storeBytes(of: UInt8(truncatingIfNeeded: value), toByteOffset: offset, as: UInt8.self)
                        case 2: host.storeBytes(of: UInt16(truncatingIfNeeded: value), toByteOffset: offset, as: UInt16.self)
                        default: host.storeBytes(of: value, toByteOffset: offset, as: UInt32.self)
                        }
                    } else {
                        // A device, the tohost page, or translated code (maybe this very block):
                        // complete the store and let the run loop look, as the interpreter does.
                        syncAtOp()
                        guard machine.storeSlow(address, size: size, value: value, pc: state.pointee.pc) else { return }
                        state.pointee.pc &+= 4
                        state.pointee.retired &+= 1
                        return
                    }

                case .beq, .bne, .blt, .bge, .bltu, .bgeu:
                    let a = x[Int(o.rs1)], b = x[Int(o.rs2)]
                    let taken: Bool
                    switch o.kind {
                    case .beq: taken = a == b
                    case .bne: taken = a != b
                    case .blt: taken = Int32(bitPattern: a) < Int32(bitPattern: b)
                    case .bge: taken = Int32(bitPattern: a) >= Int32(bitPattern: b)
                    case .bltu: taken = a < b
                    default: taken = a >= b
                    }
                    pc = taken ? o.immediate : o.extra
                    leftByTakenExit = taken
                    retired &+= count
                    continue blocks

                case .jal:
                    x[rd] = o.extra
                    pc = o.immediate
                    leftByTakenExit = true
                    retired &+= count
                    continue blocks

                case .jalr:
                    let target = (x[Int(o.rs1)] &+ o.immediate) & ~1
                    guard target & 3 == 0 else {
                        syncAtOp()
                        machine.raiseException(ExceptionCause.instructionAddressMisaligned, value: target, pc: state.pointee.pc)
                        return
                    }
                    x[rd] = o.extra
                    pc = target
                    leftByTakenExit = true
                    retired &+= count
                    continue blocks

                case .fallThrough:
                    pc = o.immediate
                    leftByTakenExit = false
                    retired &+= count
                    continue blocks

                case .interpret:
                    // The interpreter runs this one instruction, then the run loop looks again
                    // (it may have changed privilege, translation, interrupt enables or the cache).
                    syncAtOp()
                    Interpreter.run(machine, until: state.pointee.retired &+ 1)
                    return
                }
                op += 1
            }
        }
        sync()
    }
}
