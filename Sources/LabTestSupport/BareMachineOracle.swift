// The Labs 03 and 04 tests' oracle; students may use it in tests of their own guests (import LabTestSupport).
import HypervisorCore
import Machine
import RISCV

/// The tests' oracle: the same guest image runs on the bare `Machine` (the real hardware, for our
/// purposes) and under the VMM with your handler, in lock-step, and after every step the guest's
/// architectural state must be the same: registers, pc, privilege, the CSRs, time and the number
/// of retired instructions. That is Popek and Goldberg's *equivalence* requirement, checked
/// instruction by instruction.
///
/// For long guests the state is compared every `stride` instructions; after a mismatch both runs
/// are replayed from the start and stepped one instruction at a time through the last stride, so
/// the report always names the first diverging instruction.
public enum BareMachineOracle {
    /// One guest to compare.
    public struct Run {
        public var name: String
        public var image: ELFFile
        /// Guest RAM at 0x80000000, the same bare and virtualized.
        public var memorySize: UInt32 = 1 << 20
        public var engine: ExecutionEngineKind = .interpreter
        public var instructionsPerTimerTick: UInt64 = 1
        /// Give up after this many guest instructions.
        public var maxInstructions: UInt64 = 1_000_000
        /// Compare the state every this many instructions (1: after every instruction).
        public var stride: UInt64 = 1
        /// Configuration both machines share (e.g. the teaching ISA variant).
        public var machineOptions: @Sendable (inout MachineConfiguration) -> Void = { _ in }

        public init(name: String, image: ELFFile) {
            self.name = name
            self.image = image
        }
    }

    /// What the comparison found.
    public struct Comparison {
        /// The first divergence, explained; nil when the runs agree to the end.
        public var divergence: String?
        public var bareStop: StopReason?
        public var guestResult: GuestRunResult?
        public var bareConsole: [UInt8] = []
        public var guestConsole: [UInt8] = []
        public var bareRetired: UInt64 = 0
        /// x0...x31 of the bare run at the end (what the guest observed).
        public var bareRegisters: [UInt32] = Array(repeating: 0, count: 32)
        public var guestRetired: UInt64 = 0
        /// The virtualized run's exit accounting.
        public var statistics = ExitStatistics()
        public var scannedInstructions: UInt64 = 0
        public var rewrittenInstructions: UInt64 = 0

        public var bareOutput: String { String(decoding: bareConsole, as: UTF8.self) }
        public var guestOutput: String { String(decoding: guestConsole, as: UTF8.self) }
    }

    /// Runs `run` bare and under a VMM whose exit handler is `handler`; `attach` may add a
    /// rewriter or hypercall handler to the virtual machine before it starts.
    public static func compare(_ run: Run, handler: any ExitHandler,
                               attach: (VirtualMachine) -> Void = { _ in }) -> Comparison {
        var comparison = Comparison()
        let pair: Pair
        do {
            pair = try Pair(run, handler: handler, attach: attach)
        } catch {
            comparison.divergence = "\(run.name): cannot set up the comparison: \(error)"
            return comparison
        }
        var checked: UInt64 = 0
        while true {
            let step = min(run.stride, run.maxInstructions - checked)
            let stepped = pair.step(step)
            checked += step
            let bare = pair.bareState(), guest = pair.guestState()
            if bare != guest {
                comparison.divergence = firstDivergence(run, handler: handler, attach: attach, before: checked - step, within: step)
                    ?? explain(run.name, at: checked, instruction: nil, bare, guest)
            } else if stepped.bare != nil || stepped.guest != nil {
                comparison.divergence = explainEnd(run.name, stepped.bare, stepped.guest, bare)
            } else if checked >= run.maxInstructions {
                comparison.divergence = "\(run.name): still running after \(checked) instructions, bare and virtualized (states agree so far)"
            } else {
                continue
            }
            pair.finish(into: &comparison, stepped)
            if comparison.divergence != nil && stepped.bare == nil {
                // Let the bare run finish alone, so the caller still sees what the guest should do.
                comparison.bareStop = pair.bare.run(maxInstructions: run.maxInstructions - min(checked, run.maxInstructions))
                comparison.bareConsole = pair.bareConsole
                comparison.bareRetired = pair.bare.retiredInstructions
                comparison.bareRegisters = (0..<32).map { pair.bare.register(Register(UInt8($0))) }
            }
            return comparison
        }
    }

    /// Replays both runs to `before` instructions, then steps one at a time.
    private static func firstDivergence(_ run: Run, handler: any ExitHandler, attach: (VirtualMachine) -> Void,
                                        before: UInt64, within: UInt64) -> String? {
        guard let pair = try? Pair(run, handler: handler, attach: attach) else { return nil }
        if before > 0 { _ = pair.step(before) }
        guard pair.bareState() == pair.guestState() else { return nil }
        for index in 0..<within {
            let previous = pair.vm.vcpu
            let stepped = pair.step(1)
            let bare = pair.bareState(), guest = pair.guestState()
            if bare != guest {
                return explain(run.name, at: before + index + 1, instruction: describe(previous, memory: pair.vm.memory), bare, guest)
            }
            if stepped.bare != nil || stepped.guest != nil { return nil }
        }
        return nil
    }

    // MARK: The two machines

    private final class Pair {
        let bare: Machine
        let vm: VirtualMachine
        var bareConsole: [UInt8] = []
        var guestConsole: [UInt8] = []
        var bareStop: StopReason? = nil

        init(_ run: Run, handler: any ExitHandler, attach: (VirtualMachine) -> Void) throws {
            var bareConfiguration = MachineConfiguration()
            bareConfiguration.ramSize = Int(run.memorySize)
            bareConfiguration.engine = run.engine
            bareConfiguration.instructionsPerTimerTick = run.instructionsPerTimerTick
            run.machineOptions(&bareConfiguration)
            bare = try Machine(configuration: bareConfiguration)
            try bare.load(run.image)

            var host = MachineConfiguration()
            host.engine = run.engine
            run.machineOptions(&host)
            var guest = GuestConfiguration()
            guest.name = run.name
            guest.memorySize = run.memorySize
            guest.instructionsPerTimerTick = run.instructionsPerTimerTick
            vm = try VirtualMachine.hostingOne(guest, image: run.image, machine: host, console: .silent, handler: handler)
            bare.console = ConsoleIO(write: { [unowned self] in bareConsole.append($0) })
            vm.devices.uart.console = ConsoleIO(write: { [unowned self] in guestConsole.append($0) })
            attach(vm)
        }

        /// Runs both for `count` more instructions; returns how each stopped early, if it did.
        func step(_ count: UInt64) -> (bare: StopReason?, guest: GuestRunResult?) {
            var bareResult: StopReason? = bareStop
            if bareStop == nil {
                let stop = bare.run(maxInstructions: count)
                if stop != .instructionLimit {
                    bareStop = stop
                    bareResult = stop
                }
            }
            let result = vm.run(maxInstructions: count)
            return (bareResult, result == .sliceEnded ? nil : result)
        }

        func finish(into comparison: inout Comparison, _ stepped: (bare: StopReason?, guest: GuestRunResult?)) {
            comparison.bareStop = stepped.bare
            comparison.guestResult = stepped.guest
            comparison.bareConsole = bareConsole
            comparison.guestConsole = guestConsole
            comparison.bareRetired = bare.retiredInstructions
            comparison.bareRegisters = (0..<32).map { bare.register(Register(UInt8($0))) }
            comparison.guestRetired = vm.vcpu.retired
            comparison.statistics = vm.statistics
            comparison.scannedInstructions = vm.scannedInstructions
            comparison.rewrittenInstructions = vm.rewrittenInstructions
        }

        func bareState() -> ArchitecturalState {
            ArchitecturalState(
                registers: (0..<32).map { bare.register(Register(UInt8($0))) }, pc: bare.pc, privilege: bare.privilege,
                retired: bare.retiredInstructions,
                csrs: ArchitecturalState.compared.map { bare.readCSR($0.number) })
        }

        func guestState() -> ArchitecturalState {
            let v = vm.vcpu, c = v.csrs
            let instret = v.retired &+ c.instretOffset, cycles = v.retired &+ c.cycleOffset
            let values: [UInt16: UInt32] = [
                CSR.mstatus: c.mstatus, CSR.mtvec: c.mtvec, CSR.stvec: c.stvec, CSR.mepc: c.mepc, CSR.sepc: c.sepc,
                CSR.mcause: c.mcause, CSR.scause: c.scause, CSR.mtval: c.mtval, CSR.stval: c.stval,
                CSR.mscratch: c.mscratch, CSR.sscratch: c.sscratch, CSR.mie: c.mie, CSR.mip: v.pendingInterrupts,
                CSR.medeleg: c.medeleg, CSR.mideleg: c.mideleg, CSR.satp: c.satp, CSR.mcounteren: c.mcounteren,
                CSR.scounteren: c.scounteren,
                CSR.minstret: UInt32(truncatingIfNeeded: instret), CSR.minstreth: UInt32(truncatingIfNeeded: instret >> 32),
                CSR.mcycle: UInt32(truncatingIfNeeded: cycles), CSR.mcycleh: UInt32(truncatingIfNeeded: cycles >> 32),
                CSR.time: UInt32(truncatingIfNeeded: v.mtime), CSR.timeh: UInt32(truncatingIfNeeded: v.mtime >> 32),
            ]
            return ArchitecturalState(registers: (0..<32).map { v.register($0) }, pc: v.pc, privilege: v.privilege,
                                      retired: v.retired, csrs: ArchitecturalState.compared.map { values[$0.number] ?? 0 })
        }
    }

    /// What the guest can observe of its CPU.
    struct ArchitecturalState: Equatable {
        static let compared: [(name: String, number: UInt16)] = [
            ("mstatus", CSR.mstatus), ("mtvec", CSR.mtvec), ("stvec", CSR.stvec), ("mepc", CSR.mepc), ("sepc", CSR.sepc),
            ("mcause", CSR.mcause), ("scause", CSR.scause), ("mtval", CSR.mtval), ("stval", CSR.stval),
            ("mscratch", CSR.mscratch), ("sscratch", CSR.sscratch), ("mie", CSR.mie), ("mip", CSR.mip),
            ("medeleg", CSR.medeleg), ("mideleg", CSR.mideleg), ("satp", CSR.satp), ("mcounteren", CSR.mcounteren),
            ("scounteren", CSR.scounteren), ("minstret", CSR.minstret), ("minstreth", CSR.minstreth),
            ("mcycle", CSR.mcycle), ("mcycleh", CSR.mcycleh), ("time", CSR.time), ("timeh", CSR.timeh),
        ]
        static let registerNames = ["zero", "ra", "sp", "gp", "tp", "t0", "t1", "t2", "s0", "s1", "a0", "a1", "a2", "a3",
                                    "a4", "a5", "a6", "a7", "s2", "s3", "s4", "s5", "s6", "s7", "s8", "s9", "s10", "s11",
                                    "t3", "t4", "t5", "t6"]
        var registers: [UInt32]
        var pc: UInt32
        var privilege: PrivilegeLevel
        var retired: UInt64
        var csrs: [UInt32]

        /// The fields that differ, as (name, this value, other value).
        func differences(from other: ArchitecturalState) -> [(String, String, String)] {
            var result: [(String, String, String)] = []
            if privilege != other.privilege { result.append(("privilege", "\(privilege)", "\(other.privilege)")) }
            if pc != other.pc { result.append(("pc", hex(pc), hex(other.pc))) }
            for r in 1..<32 where registers[r] != other.registers[r] {
                result.append((Self.registerNames[r], hex(registers[r]), hex(other.registers[r])))
            }
            for (index, csr) in Self.compared.enumerated() where csrs[index] != other.csrs[index] {
                result.append((csr.name, hex(csrs[index]), hex(other.csrs[index])))
            }
            if retired != other.retired { result.append(("instructions retired", "\(retired)", "\(other.retired)")) }
            return result
        }
    }

    // MARK: Reports

    static func hex(_ value: UInt32) -> String {
        let digits = String(value, radix: 16)
        return "0x" + String(repeating: "0", count: max(0, 8 - digits.count)) + digits
    }

    /// The instruction the guest was about to run, read through its own page tables.
    static func describe(_ vcpu: VirtualCPU, memory: GuestMemory) -> String {
        let where_ = "pc \(hex(vcpu.pc)), virtual \(vcpu.privilege)-mode"
        guard case .guestPhysical(let physical, _) = GuestPageTableWalk.translate(vcpu.pc, .fetch, regime: TranslationRegime(vcpu, for: .fetch), memory: memory),
              let word = memory.read32(physical) else {
            return "(\(where_): the instruction cannot be fetched)"
        }
        return "\(Disassembler().format(Instruction(decoding: word), at: vcpu.pc))   (\(where_), word \(hex(word)))"
    }

    static func explain(_ name: String, at count: UInt64, instruction: String?, _ bare: ArchitecturalState,
                        _ guest: ArchitecturalState) -> String {
        let differences = bare.differences(from: guest)
        var lines = ["\(name): first divergence from the bare machine at guest instruction \(count)"
            + (instruction.map { ", after\n  \($0)" } ?? "")]
        if bare.pc != guest.pc || bare.privilege != guest.privilege {
            lines.append("  (a trap or interrupt taken in this step shows as a different pc, privilege, xcause or xepc)")
        }
        lines.append("  expected (bare machine): " + differences.map { "\($0.0) = \($0.1)" }.joined(separator: ", "))
        lines.append("  actual (under the VMM):  " + differences.map { "\($0.0) = \($0.2)" }.joined(separator: ", "))
        return lines.joined(separator: "\n")
    }

    static func explainEnd(_ name: String, _ bare: StopReason?, _ guest: GuestRunResult?, _ state: ArchitecturalState) -> String? {
        switch (bare, guest) {
        case (.exited(let a)?, .exited(let b)?) where a == b:
            return nil
        case (.guestFault?, .faulted?):
            return nil  // both stuck the same way at the same state (e.g. WFI forever)
        default:
            return "\(name): after \(state.retired) instructions in the same state, the bare machine "
                + (bare.map { "stopped (\($0))" } ?? "keeps running") + " but under your handler the guest "
                + (guest.map { "stopped (\($0))" } ?? "keeps running")
        }
    }
}
