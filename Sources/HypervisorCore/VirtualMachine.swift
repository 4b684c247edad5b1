import Machine
import RISCV

/// How a guest is set up, apart from its image.
public struct GuestConfiguration: Sendable {
    /// The guest's name in fault reports and tagged console lines ("dom1").
    public var name: String = "guest"
    /// Bytes of guest RAM at guest-physical `0x8000_0000` (a multiple of 4 KiB).
    public var memorySize: UInt32 = 64 << 20
    /// Virtual time: the virtual `mtime` advances by one every this many guest instructions.
    public var instructionsPerTimerTick: UInt64 = 1
    /// Stop the guest with a fault report after this many guest instructions (a guest that loops
    /// forever); nil = no limit.
    public var instructionBudget: UInt64? = nil
    public init() {}
}

/// One guest (a domain's single vCPU and everything it owns): its virtual CPU, its memory
/// allotment, its shadow pager (and the frames for its shadow tables), its emulated devices and
/// its exit accounting. It owns no
/// global state, so several of them can share one `Machine`, taking turns on the hart.
///
/// `run` is the trap-and-emulate loop: put the guest's registers on the hart (the world switch),
/// point satp at the shadow table the pager gives for the guest's current view, let the hart run the guest in
/// U-mode until something traps (`MachineConfiguration.interceptUserTraps` returns every trap as
/// `.userTrap` with the hart untouched), then classify the exit and emulate, fill, or reflect.
public final class VirtualMachine {
    public let configuration: GuestConfiguration
    public let machine: Machine
    public let memory: GuestMemory
    /// Shadow paging, reached only through the protocol (`FlushingShadowPager` unless the
    /// builder of the guest chose another, e.g. `MemoryVirtualization.ReferenceShadowPager`).
    public let pager: any ShadowPager
    /// The VMM's frames for this guest's shadow tables.
    public let shadowFrames: ShadowFramePool
    public let devices: EmulatedDevices
    public var vcpu: VirtualCPU
    public var handler: any ExitHandler
    /// Binary translation (Lab 04): shown each kernel code page before it runs.
    public var rewriter: (any SensitiveInstructionRewriter)? = nil
    /// Para-virtualization (Lab 04): offered every ECALL first.
    public var hypercalls: (any HypercallHandler)? = nil
    public internal(set) var statistics = ExitStatistics()
    /// Instructions scanned and rewritten by `rewriter`.
    public internal(set) var scannedInstructions: UInt64 = 0
    public internal(set) var rewrittenInstructions: UInt64 = 0
    /// Set once the guest exited or faulted: it never runs again.
    public private(set) var finished: GuestRunResult? = nil
    /// The guest shares the hart with other domains (Dom0 sets it): a hypercall that blocks or
    /// yields then ends the run (`.blocked`, `.yielded`) so the scheduler can run someone else.
    /// Alone on its hart the guest waits in place instead, exactly as after WFI.
    public var sharesHart = false
    /// How the current run must end once the exit being handled is done (a block or yield).
    private var endOfRun: GuestRunResult? = nil

    var scannedPages: Set<UInt32> = []
    /// The guest-physical address of the image's HTIF `tohost` word, if it has one: the test suites'
    /// exit convention (an odd value stops the guest with code value >> 1), as on the bare machine.
    public internal(set) var tohost: UInt32? = nil
    /// For binary translation: the original word of every rewritten instruction, by page and address.
    var originalWords: [UInt32: [UInt32: UInt32]] = [:]
    var fillsWithoutProgress = 0
    var lastFill: (pc: UInt32, retired: UInt64) = (0, .max)

    /// Builds a guest on `machine`, which must intercept user traps (the world switch) and whose
    /// frames `memoryFrames` (the allotment) and `shadowFrames` (the VMM's own pool for this guest's
    /// shadow tables) must not overlap anything else. `pager` builds the guest's shadow pager
    /// (default: `FlushingShadowPager`).
    public init(configuration: GuestConfiguration, machine: Machine, memoryFrames: [UInt32], shadowFrames: [UInt32],
                console: ConsoleIO, handler: any ExitHandler, pager: ShadowPagerFactory? = nil) throws(GuestImageError) {
        guard machine.configuration.interceptUserTraps else {
            throw GuestImageError("the machine must be configured with interceptUserTraps to host guests")
        }
        guard shadowFrames.count >= 8 else {
            throw GuestImageError("\(configuration.name): \(shadowFrames.count) shadow frames is too few (at least 8)")
        }
        self.configuration = configuration
        self.machine = machine
        memory = GuestMemory(machine: machine, machineFrames: memoryFrames)
        let pool = ShadowFramePool(machine: machine, frames: shadowFrames)
        self.shadowFrames = pool
        self.pager = (pager ?? FlushingShadowPager.factory)(
            ShadowPagerResources(name: configuration.name, machine: machine, memory: memory, frames: pool))
        devices = EmulatedDevices(console: console)
        vcpu = VirtualCPU(instructionsPerTimerTick: configuration.instructionsPerTimerTick)
        self.handler = handler
        // A guest frame remapped, made read-only or given back must not stay reachable through a
        // shadow entry (or the hart's TLB).
        memory.observeRemapping { [unowned self] guestFrame in self.pager.invalidate(guestFrame: guestFrame) }
    }

    /// Loads an ELF image into the guest's RAM and points the vCPU at its entry, in virtual M-mode.
    public func load(_ elf: ELFFile) throws(GuestImageError) {
        do {
            vcpu.pc = try memory.load(elf)
        } catch {
            throw GuestImageError("\(configuration.name): \(error.message)")
        }
        vcpu.privilege = .machine
        tohost = elf.symbol(named: "tohost")?.value
        pager.dropAll()
    }

    // MARK: The run loop

    /// Runs the guest until it exits, faults, or `maxInstructions` more guest instructions retired.
    public func run(maxInstructions: UInt64? = nil) -> GuestRunResult {
        if let finished { return finished }
        let start = vcpu.retired
        let sliceEnd = maxInstructions.map { start.addingReportingOverflow($0).overflow ? .max : start + $0 } ?? .max
        defer {
            statistics.guestInstructions = vcpu.retired
            let shadow = pager.statistics
            statistics.shadowFills = shadow.fills
            statistics.shadowFlushes = shadow.rebuilds
            devices.uart.console.flush()
        }
        while true {
            if let code = devices.exitCode { return finish(.exited(code: code)) }
            if let budget = configuration.instructionBudget, vcpu.retired >= budget {
                return finish(fault("ran out of its instruction budget of \(budget) instructions (a guest that never stops?)"))
            }
            if vcpu.retired >= sliceEnd { return .sliceEnded }
            if let cause = handler.interruptToInject(vcpu) {
                vcpu.waitingForInterrupt = false
                statistics.count(cause & 0x7FFF_FFFF == 7 || cause & 0x7FFF_FFFF == 5 ? .timer : .interrupt)
                handler.deliverTrap(cause: cause, value: 0, vcpu: &vcpu)
                dropReservations()
                continue
            }
            if vcpu.waitingForInterrupt {
                if let stop = waitForInterrupt() { return finish(stop) }
                continue
            }
            var limit = sliceEnd - vcpu.retired
            if let budget = configuration.instructionBudget { limit = min(limit, budget - vcpu.retired) }
            // End the slice exactly when the virtual timer fires, so the interrupt lands on the same
            // instruction as on bare metal.
            if vcpu.csrs.mie & InterruptBits.machineTimer != 0 {
                let untilTimer = vcpu.timer.instructionsUntilDeadline(retired: vcpu.retired)
                if untilTimer > 0 { limit = min(limit, untilTimer) }
            }
            if let stop = runOnHart(maxInstructions: limit) { return finish(stop) }
            if let end = endOfRun {
                endOfRun = nil
                return end
            }
        }
    }

    /// The vCPU blocked (a block hypercall or WFI) and no interrupt it enabled in `mie` is pending:
    /// only an event (an interrupt made pending from outside, e.g. an event-channel upcall) or its
    /// own timer can wake it.
    public var isBlocked: Bool {
        vcpu.waitingForInterrupt && vcpu.pendingInterrupts & vcpu.csrs.mie == 0
    }

    /// For a blocked vCPU: guest instructions' worth of virtual time until its timer wakes it
    /// (0 if it is not blocked), or nil if the timer cannot wake it (only an event can).
    /// The same rule as `VirtualCPU.settleWait`.
    public var instructionsUntilTimerWake: UInt64? {
        guard isBlocked else { return 0 }
        let now = vcpu.mtime
        guard vcpu.csrs.mie & InterruptBits.machineTimer != 0, vcpu.timer.mtimecmp > now,
              vcpu.timer.mtimecmp - now < 1 << 62 else { return nil }
        return vcpu.timer.instructionsUntilDeadline(retired: vcpu.retired)
    }

    private func finish(_ result: GuestRunResult) -> GuestRunResult {
        finished = result
        return result
    }

    /// Reports the guest as stopped at its current pc.
    public func fault(_ cause: String) -> GuestRunResult {
        .faulted(GuestFault(domain: configuration.name, pc: vcpu.pc, privilege: vcpu.privilege, cause: cause))
    }

    /// The world switch: the guest's registers onto the hart, run, registers back, handle the exit.
    private func runOnHart(maxInstructions: UInt64) -> GuestRunResult? {
        for number in 1..<32 { machine.setRegister(Register(UInt8(number)), vcpu.registers[number]) }
        machine.pc = vcpu.pc
        machine.privilege = .user
        let satp = pager.activate(ShadowView(vcpu))
        if machine.readCSR(CSR.satp) != satp { machine.writeCSR(CSR.satp, satp) }
        let before = machine.retiredInstructions
        let stop = machine.run(maxInstructions: maxInstructions)
        vcpu.retired &+= machine.retiredInstructions &- before
        for number in 1..<32 { vcpu.registers[number] = machine.register(Register(UInt8(number))) }
        vcpu.pc = machine.pc
        switch stop {
        case .instructionLimit:
            return nil
        case .userTrap(let trap):
            return handleExit(trap)
        case .exited(let code):
            // Unreachable by construction (no device is mapped for the guest), but never trusted.
            return fault("the hart reported a device exit (\(code)) the VMM did not emulate")
        case .guestFault(let message):
            return fault(message)
        }
    }

    // MARK: Exits

    private func handleExit(_ trap: Trap) -> GuestRunResult? {
        if trap.isInterrupt { return nil }  // the hart's own interrupts are disabled; nothing to do
        switch trap.cause {
        case ExceptionCode.illegalInstruction:
            return handleIllegalInstruction(trap.value)
        case ExceptionCode.environmentCallFromU:
            if var hypercalls {
                let platform = GuestPlatform(memory: memory, devices: devices)
                let satpBefore = vcpu.csrs.satp
                let outcome = hypercalls.hypercall(vcpu: &vcpu, platform: platform)
                self.hypercalls = hypercalls
                if vcpu.csrs.satp != satpBefore { pager.satpWritten(from: satpBefore, to: vcpu.csrs.satp) }
                if let outcome {
                    statistics.count(.hypercall)
                    return apply(outcome, fence: (nil, nil))
                }
            }
            statistics.count(.ecall)
            return reflect(cause: ExceptionCode.environmentCallFromU + UInt32(vcpu.privilege.rawValue), value: 0)
        case ExceptionCode.instructionPageFault:
            return handlePageFault(at: trap.value, .fetch)
        case ExceptionCode.loadPageFault:
            return handlePageFault(at: trap.value, .load)
        case ExceptionCode.storePageFault:
            return handlePageFault(at: trap.value, .store)
        default:
            // Breakpoints, misaligned and access faults: the guest's hardware raises the same.
            statistics.count(.exception)
            return reflect(cause: trap.cause, value: trap.value)
        }
    }

    private func handleIllegalInstruction(_ word: UInt32) -> GuestRunResult? {
        let satpBeforeRewritten = vcpu.csrs.satp
        if var rewriter, let outcome = rewriter.emulateRewritten(word, vcpu: &vcpu) {
            self.rewriter = rewriter
            statistics.count(.rewrittenInstruction)
            if vcpu.csrs.satp != satpBeforeRewritten { pager.satpWritten(from: satpBeforeRewritten, to: vcpu.csrs.satp) }
            return apply(outcome, fence: (nil, nil))
        }
        let isSystem = word & 0x7F == 0x73 && word != 0x0000_0073 && word != 0x0010_0073
        guard isSystem else {
            statistics.count(.exception)
            return reflect(cause: ExceptionCode.illegalInstruction, value: word)
        }
        statistics.count(ExitReason.classifying(systemInstruction: word))
        let satpBefore = vcpu.csrs.satp
        // SFENCE.VMA rs1, rs2: x0 means "every address" / "every address space". (It writes no
        // register, so the operands can be read after emulating it.)
        let rs1 = Int(word >> 15 & 31), rs2 = Int(word >> 20 & 31)
        let outcome = handler.emulatePrivileged(word, vcpu: &vcpu)
        if vcpu.csrs.satp != satpBefore { pager.satpWritten(from: satpBefore, to: vcpu.csrs.satp) }
        return apply(outcome, fence: (rs1 == 0 ? nil : vcpu.register(rs1), rs2 == 0 ? nil : vcpu.register(rs2) & 0x1FF))
    }

    /// Carries out an emulation outcome; `fence` is what a `.fenced` outcome fences (nil: all).
    private func apply(_ outcome: EmulationOutcome, fence: (address: UInt32?, asid: UInt32?)) -> GuestRunResult? {
        switch outcome {
        case .completed:
            retireEmulated()
        case .fenced:
            retireEmulated()
            pager.fence(virtualAddress: fence.address, asid: fence.asid)
        case .waitForInterrupt:
            retireEmulated()
            vcpu.waitingForInterrupt = true
        case .block:
            retireEmulated()
            vcpu.waitingForInterrupt = true
            // An event already pending wakes it at once (Xen checks before it deschedules too).
            if sharesHart && isBlocked { endOfRun = .blocked }
        case .yield:
            retireEmulated()
            if sharesHart { endOfRun = .yielded }
        case .exception(let cause, let value):
            return reflect(cause: cause, value: value)
        }
        return nil
    }

    func retireEmulatedAccess() { retireEmulated() }

    /// A reservation does not survive a trap.
    private func dropReservations() { machine.clearReservation() }

    private func retireEmulated() {
        vcpu.retired &+= 1
        statistics.emulatedInstructions &+= 1
    }

    /// Delivers an exception to the guest, and stops a guest whose trap handler traps at its own
    /// first instruction forever.
    func reflect(cause: UInt32, value: UInt32) -> GuestRunResult? {
        let pc = vcpu.pc, privilege = vcpu.privilege
        handler.deliverTrap(cause: cause, value: value, vcpu: &vcpu)
        dropReservations()
        if vcpu.pc == pc && vcpu.privilege == privilege {
            return fault("trap loop: \(Trap.name(ofCause: cause)) (tval 0x\(hex8(value))) enters the guest's \(privilege)-mode trap handler at 0x\(hex8(pc)), which raises it again")
        }
        return nil
    }

    /// WFI as the bare machine does it (`VirtualCPU.settleWait`); a vCPU that would sleep forever is a guest fault.
    private func waitForInterrupt() -> GuestRunResult? {
        vcpu.settleWait().map(fault)
    }
}

extension VirtualMachine {
    /// Frames the VMM reserves for one guest's shadow page tables by default (1 MiB).
    public static let defaultShadowFrames = 256

    /// Builds a machine that hosts one guest and loads `image` into it: the VMM's shadow-table
    /// pool first in machine RAM, the guest's allotment after it, so guest-physical `0x8000_0000`
    /// is machine `0x8000_0000 + 1 MiB` (the p2m is not the identity, and the tests can tell).
    /// Labs use this to run their own `ExitHandler` on a real guest.
    ///
    /// `machine` is the starting point for the hart's configuration (its engine, and flags such as an
    /// ISA variant); the VMM sets `interceptUserTraps` and the RAM size itself.
    public static func hostingOne(_ configuration: GuestConfiguration, image: ELFFile, machine base: MachineConfiguration = .init(),
                                  console: ConsoleIO, handler: any ExitHandler,
                                  pager: ShadowPagerFactory? = nil) throws(GuestImageError) -> VirtualMachine {
        let name = configuration.name
        guard configuration.memorySize > 0, configuration.memorySize % 4096 == 0, configuration.memorySize <= 1 << 30 else {
            throw GuestImageError("\(name): guest memory of \(configuration.memorySize) bytes must be a positive multiple of 4 KiB, at most 1 GiB")
        }
        var machineConfiguration = base
        machineConfiguration.interceptUserTraps = true
        machineConfiguration.ramSize = defaultShadowFrames * 4096 + Int(configuration.memorySize)
        let machine: Machine
        do {
            machine = try Machine(configuration: machineConfiguration)
        } catch {
            throw GuestImageError("\(name): \(error)")
        }
        machine.console = .silent  // the real UART is the VMM's; the guest gets an emulated one
        var allocator = MachineFrameAllocator(ramSize: machineConfiguration.ramSize)
        let shadow: [UInt32], frames: [UInt32]
        do {
            shadow = try allocator.allocate(defaultShadowFrames, for: "\(name) shadow tables")
            frames = try allocator.allocate(Int(configuration.memorySize / 4096), for: "\(name) memory")
        } catch {
            throw GuestImageError(error.message)
        }
        let vm = try VirtualMachine(configuration: configuration, machine: machine, memoryFrames: frames, shadowFrames: shadow,
                                    console: console, handler: handler, pager: pager)
        try vm.load(image)
        return vm
    }
}
