import RISCV

/// What to trace, and where.
public struct TraceOptions: Sendable, Equatable {
    /// One line per retired instruction: pc, raw word, disassembly, the register written.
    public var instructions: Bool
    /// One line per trap or interrupt: cause, pc, tval, privilege change.
    public var traps: Bool
    /// Only lines about pcs in `lower..<upper` (traps by the pc they interrupted); nil for all.
    public var range: Range<UInt64>?

    public init(instructions: Bool = false, traps: Bool = false, range: Range<UInt64>? = nil) {
        self.instructions = instructions
        self.traps = traps
        self.range = range
    }
}

/// A target that traces another. It costs nothing inside the engines: traps are seen through the
/// machine's trap observer (called on the trap path only), and instructions are traced by driving
/// the target one step at a time from here, so with `instructions` off the engines run at full
/// speed, and with it on they run exactly the instructions they would have run anyway.
///
/// An instruction that traps does not retire, so it gets no instruction line, only its trap line;
/// the next instruction line is then the handler's first instruction. A system call the Linux
/// user-mode kernel completes does get a line (the kernel wrote its result to a0).
public final class TracedTarget: DebugTarget {
    public let inner: DebugTarget
    public let options: TraceOptions
    private let write: (String) -> Void
    private let disassembler = Disassembler()
    /// Traps taken during the current step.
    private var trapsThisStep: [TrapEvent] = []

    public init(_ inner: DebugTarget, options: TraceOptions, write: @escaping (String) -> Void) {
        self.inner = inner
        self.options = options
        self.write = write
        if options.traps || options.instructions {
            inner.machine.trapObserver = { [unowned self] event in self.observe(event) }
        }
    }

    deinit {
        inner.machine.trapObserver = nil
    }

    public var machine: Machine { inner.machine }

    public func resume(maxInstructions: UInt64) -> DebugTargetEnd? {
        guard options.instructions else { return inner.resume(maxInstructions: maxInstructions) }
        let stopAt = machine.retiredInstructions &+ maxInstructions
        while machine.retiredInstructions < stopAt {
            if let end = step() { return end }
            // A breakpoint ends a resume early, as the untraced target would.
            if machine.debugHooks?.breakpointHit != nil { return nil }
        }
        return nil
    }

    public func step() -> DebugTargetEnd? {
        guard options.instructions else { return inner.step() }
        let pc = machine.pc
        let word = machine.debugReadWord(pc)
        let retired = machine.retiredInstructions
        trapsThisStep.removeAll(keepingCapacity: true)
        let end = inner.step()
        if machine.retiredInstructions != retired {
            // After a trap taken during the step, what retired was the handler's first instruction.
            if let trap = trapsThisStep.last(where: { $0.to != nil }) {
                traceInstruction(at: trap.handler, word: machine.debugReadWord(trap.handler))
            } else {
                traceInstruction(at: pc, word: word)
            }
        } else if let trap = trapsThisStep.last, trap.to == nil, trap.trap.cause == ExceptionCause.environmentCallFromU,
                  trap.trap.pc == pc, machine.pc == pc &+ 4 {
            traceInstruction(at: pc, word: word, written: .a0)
        }
        return end
    }

    private func observe(_ event: TrapEvent) {
        trapsThisStep.append(event)
        guard options.traps, inRange(event.trap.pc) else { return }
        let kind = event.trap.isInterrupt ? "interrupt" : "trap"
        let to = event.to.map { "\($0)" } ?? "host"
        write("\(kind): \(Trap.name(ofCause: event.trap.cause)) at pc 0x\(hex(event.trap.pc)), tval 0x\(hex(event.trap.value)), "
            + "\(event.from) -> \(to)" + (event.to == nil ? "" : ", handler 0x\(hex(event.handler))"))
    }

    private func inRange(_ pc: UInt32) -> Bool {
        options.range.map { $0.contains(UInt64(pc)) } ?? true
    }

    private func traceInstruction(at pc: UInt32, word: UInt32?, written: Register? = nil) {
        guard inRange(pc) else { return }
        guard let word else {
            write("\(hex(pc))  ????????  (not readable)")
            return
        }
        let instruction = Instruction.decode(word)
        var text = disassembler.format(instruction, at: pc)
        if let tab = text.firstIndex(of: "\t") {
            let mnemonic = String(text[..<tab])
            text = mnemonic.padding(to: 8) + String(text[text.index(after: tab)...])
        }
        var line = "\(hex(pc))  \(hex(word))  \(text)"
        if let register = written ?? TracedTarget.destination(of: instruction) {
            line = line.padding(to: 48) + "\(register.abiName)=0x\(hex(machine.register(register)))"
        }
        write(line)
    }

    /// The register an instruction writes, if any (x0 never counts: it stays zero).
    static func destination(of instruction: Instruction) -> Register? {
        guard instruction.rd.number != 0 else { return nil }
        switch instruction.operation.format {
        case .r, .i, .load, .shift, .u, .j, .csr, .csrImmediate, .atomic, .loadReserved:
            return instruction.rd
        case .s, .b, .fence, .fixed, .sfence, .sourceOnly:
            return nil
        }
    }
}

extension Machine {
    /// The 32-bit word at a virtual address as the debugger sees it (breakpoints hidden), or nil.
    public func debugReadWord(_ virtualAddress: UInt32) -> UInt32? {
        let bytes = debugRead(virtualAddress, count: 4)
        guard bytes.count == 4 else { return nil }
        return bytes.enumerated().reduce(0) { $0 | UInt32($1.element) << (8 * UInt32($1.offset)) }
    }
}

extension String {
    fileprivate func padding(to width: Int) -> String {
        count >= width ? self + " " : self + String(repeating: " ", count: width - count)
    }
}
