import HypervisorCore
import Machine
import RISCV

/// One guest run with hardware assistance: the hart implements the RISC-V hypervisor extension
/// (`MachineConfiguration.hypervisorExtension`), the guest kernel runs *unmodified* in VS-mode
/// and its processes in VU-mode, and the VMM hears only about what the hart cannot do for it.
///
/// What the hardware does, with no exit (compare trap-and-emulate's VirtualMachine, where each of
/// these is an exit): the guest's supervisor CSRs are the hart's VS CSRs; its page tables are
/// walked by the hart (VS-stage, vsatp) on top of the VMM's G-stage table (GStageTable.swift), so
/// there are no shadow tables; its own traps (page faults, system calls from its processes) go
/// straight to its trap vector (hedeleg); its timer interrupt arrives through hvip (hideleg).
///
/// What still exits (`MachineConfiguration.interceptGuestTraps` stops the run at every trap bound
/// for HS-mode):
/// - firmware calls: the kernel's ECALLs to its M-mode firmware. The VMM serves the firmware
///   interface of the project's kernel (sbi.h: set timer, put character, shut down) itself, as
///   KVM serves SBI for its guests; other calls go to the guest's own firmware.
/// - the guest's M-mode code: a guest starts in (virtual) M-mode, where the hart runs it in VS-mode
///   with translation off; each M-mode CSR access, MRET and the like traps (illegal instruction)
///   and the VMM emulates it on the virtual CPU (`PrivilegedInstructionEmulator`, the
///   trap-and-emulate reference). For the shipped kernel that is the firmware's start-up code.
/// - MMIO: guest-page faults on device addresses, emulated by `EmulatedDevices`.
/// - WFI (hstatus.VTW) and the counters (hcounteren = 0): virtual time is the guest's retired
///   instructions, which only the VMM knows, so reading `time` or waiting for the timer exits.
/// - the virtual machine timer: the run stops at the deadline and the VMM raises the supervisor
///   timer interrupt in hvip, as the firmware would.
///
/// Known gaps, both in the guest's M-mode only (which the hart runs in VS-mode): `sip` reads show
/// no pending S-level interrupts there, and MPRV is not honoured (M-mode loads and stores stay
/// untranslated). The shipped kernel's firmware uses neither; the Machine's csr.S (check 21) and
/// vm.S (check 24) do (HardwareAssistedTests lists them as known issues).
///
/// State: between runs the virtual CPU (`vcpu`) is the truth; `enterHart` puts it on the hart and
/// `leaveHart` reads it back (registers, pc, privilege, the VS CSRs), so the reference emulator
/// sees one consistent CPU.
public final class HardwareAssistedGuest {
    public let name: String
    public let machine: Machine
    public let memory: GuestMemory
    public let devices: EmulatedDevices
    public var vcpu: VirtualCPU
    public internal(set) var statistics = ExitStatistics()
    /// Firmware calls the VMM served itself (the others went to the guest's firmware).
    public internal(set) var firmwareCallsServed: UInt64 = 0
    public private(set) var finished: GuestRunResult? = nil
    /// Whether the VMM acts as the guest's firmware at run time (sbi.h calls and the machine timer,
    /// see HardwareAssistedGuest+FirmwareCalls.swift). On by default for images built like the
    /// shipped kernel (an M-mode `firmware_main` handing over to an S-mode `kernel_entry`), whose
    /// firmware interface this is; off for any other image, whose own M-mode code then handles every
    /// ECALL and machine interrupt (each of its CSR accesses an exit).
    public var servesFirmwareCalls: Bool
    /// The guest-physical address of the image's HTIF `tohost` word, if it has one (the RISC-V
    /// test suites' exit). The VMM looks at it after every exit: a guest's tohost write is noticed
    /// at its next exit (the test programs write the finisher right after it). Trapping the page
    /// instead would make every store, LR/SC and AMO on it an exit to emulate.
    public let tohost: UInt32?

    var emulator = PrivilegedInstructionEmulator()
    let instructionBudget: UInt64?
    /// Whether the hart is currently set up for the guest's virtual M-mode (see `enterHart`).
    var hartRunsVirtualMachineMode = false

    /// Frames the VMM keeps for itself at the bottom of machine RAM: the G-stage table.
    static func vmmFrames(memorySize: UInt32) -> Int { GStageTable.frameCount(memorySize: memorySize) }

    /// Builds the machine (hypervisor extension on, guest traps intercepted), the guest's memory
    /// allotment and its G-stage table, and loads the image in virtual M-mode at its entry point.
    public init(_ request: VMMBootRequest) throws(HypervisorError) {
        name = request.name
        let size = request.memorySize
        guard size > 0, size % (4 << 10) == 0, size <= 1 << 30 else {
            throw HypervisorError("\(name): guest memory of \(size) bytes must be a positive multiple of 4 KiB, at most 1 GiB")
        }
        var configuration = request.machineConfiguration
        configuration.hypervisorExtension = true
        configuration.interceptGuestTraps = true
        configuration.interceptUserTraps = false
        let reserved = Self.vmmFrames(memorySize: size)
        configuration.ramSize = reserved * 4096 + Int(size)
        do {
            machine = try Machine(configuration: configuration)
        } catch {
            throw HypervisorError("\(name): \(error)")
        }
        machine.console = .silent  // the real UART is the VMM's; the guest gets an emulated one
        var allocator = MachineFrameAllocator(ramSize: configuration.ramSize)
        let tableFrames: [UInt32], guestFrames: [UInt32]
        do {
            tableFrames = try allocator.allocate(reserved, for: "\(name) G-stage table")
            guestFrames = try allocator.allocate(Int(size / 4096), for: "\(name) memory")
        } catch {
            throw HypervisorError(error.message)
        }
        memory = GuestMemory(machine: machine, machineFrames: guestFrames)
        devices = EmulatedDevices(console: request.console)
        vcpu = VirtualCPU(instructionsPerTimerTick: request.instructionsPerTimerTick)
        instructionBudget = request.instructionBudget
        let symbol = request.image.symbol(named: "tohost")?.value
        let guestMemory = memory
        tohost = symbol.flatMap { guestMemory.contains($0, count: 4) ? $0 : nil }
        let hgatp = try GStageTable.build(for: memory, in: tableFrames, machine: machine)

        // The host's side of the hart, set once: every exception and interrupt the guest does not
        // take itself goes to HS-mode (and so, intercepted, to this VMM), never to M-mode.
        machine.writeCSR(CSR.hgatp, hgatp)
        machine.writeCSR(CSR.medeleg, 0xB3FF | 1 << 10 | 0xF0_0000)
        machine.writeCSR(CSR.mideleg, 0x222)
        machine.writeCSR(CSR.mcounteren, 0xFFFF_FFFF)  // counters reach VS/VU; hcounteren = 0 makes them exit
        machine.writeCSR(CSR.hcounteren, 0)
        do {
            vcpu.pc = try memory.load(request.image)
        } catch {
            throw HypervisorError("\(name): \(error.message)")
        }
        vcpu.privilege = .machine
        servesFirmwareCalls = request.image.symbol(named: "firmware_main") != nil && request.image.symbol(named: "kernel_entry") != nil
    }

    // MARK: The run loop

    /// Runs the guest until it exits, faults, or `maxInstructions` more guest instructions retired.
    public func run(maxInstructions: UInt64? = nil) -> GuestRunResult {
        if let finished { return finished }
        let start = vcpu.retired
        let sliceEnd = maxInstructions.map { start.addingReportingOverflow($0).overflow ? .max : start + $0 } ?? .max
        defer {
            statistics.guestInstructions = vcpu.retired
            devices.uart.console.flush()
        }
        while true {
            if let tohost, let request = memory.read32(tohost), request & 1 != 0, devices.exitCode == nil {
                devices.requestExit(code: Int32(bitPattern: request >> 1))
            }
            if let code = devices.exitCode { return finish(.exited(code: code)) }
            if let budget = instructionBudget, vcpu.retired >= budget {
                return finish(fault("ran out of its instruction budget of \(budget) instructions (a guest that never stops?)"))
            }
            if vcpu.retired >= sliceEnd { return .sliceEnded }
            if injectInterrupt() { continue }
            if vcpu.waitingForInterrupt {
                if let stop = waitForInterrupt() { return finish(stop) }
                continue
            }
            var limit = sliceEnd - vcpu.retired
            if let budget = instructionBudget { limit = min(limit, budget - vcpu.retired) }
            // End the run exactly when the virtual timer fires.
            if vcpu.csrs.mie & InterruptBits.machineTimer != 0 {
                let untilTimer = vcpu.timer.instructionsUntilDeadline(retired: vcpu.retired)
                if untilTimer > 0 { limit = min(limit, untilTimer) }
            }
            if let stop = runOnHart(maxInstructions: limit) { return finish(stop) }
        }
    }

    private func finish(_ result: GuestRunResult) -> GuestRunResult {
        finished = result
        return result
    }

    func fault(_ cause: String) -> GuestRunResult {
        .faulted(GuestFault(domain: name, pc: vcpu.pc, privilege: vcpu.privilege, cause: cause))
    }

    /// Interrupts the hart cannot deliver by itself. The virtual machine timer, while the guest runs
    /// below M-mode with the VMM acting as its firmware: raise the supervisor timer interrupt and
    /// mask the machine one, exactly what the firmware's handler does (firmware.c), with no guest
    /// M-mode code run; the hart then delivers it through hvip. Anything else the virtual CPU must
    /// take in M-mode (or an S-level interrupt the guest did not delegate): the emulator delivers it.
    /// Returns true if something was injected.
    private func injectInterrupt() -> Bool {
        let pending = vcpu.pendingInterrupts & vcpu.csrs.mie
        if servesFirmwareCalls && pending & InterruptBits.machineTimer != 0 && vcpu.privilege != .machine
            && vcpu.csrs.mideleg & InterruptBits.machineTimer == 0 {
            vcpu.csrs.mip |= InterruptBits.supervisorTimer
            vcpu.csrs.mie &= ~InterruptBits.machineTimer
            vcpu.waitingForInterrupt = false
            statistics.count(.timer)
            return true
        }
        guard let cause = emulator.interruptToInject(vcpu) else { return false }
        let code = cause & 0x1F
        // Delegated S-level interrupts below M-mode: the hart takes them itself (hideleg/hvip).
        if vcpu.privilege != .machine && (vcpu.csrs.mideleg >> code) & 1 != 0 { return false }
        vcpu.waitingForInterrupt = false
        statistics.count(code == 7 || code == 5 ? .timer : .interrupt)
        machine.clearReservation()
        emulator.deliverTrap(cause: cause, value: 0, vcpu: &vcpu)
        return true
    }

    /// WFI as the bare machine does it (`VirtualCPU.settleWait`); a vCPU that would sleep forever is a guest fault.
    private func waitForInterrupt() -> GuestRunResult? {
        vcpu.settleWait().map(fault)
    }

    /// One world switch: the virtual CPU onto the hart, run the guest natively, read it back, handle the exit.
    private func runOnHart(maxInstructions: UInt64) -> GuestRunResult? {
        enterHart()
        let before = machine.retiredInstructions
        let stop = machine.run(maxInstructions: maxInstructions)
        vcpu.retired &+= machine.retiredInstructions &- before
        leaveHart()
        switch stop {
        case .instructionLimit:
            return nil
        case .userTrap(let trap):
            return handleExit(trap)
        case .exited(let code):
            return fault("the hart reported a device exit (\(code)) the VMM did not emulate")
        case .guestFault(let message):
            return fault(message)
        }
    }

    // MARK: World switch

    static let supervisorStatus: UInt32 = StatusBits.sie | StatusBits.spie | StatusBits.spp | StatusBits.sum | StatusBits.mxr
    static let supervisorInterrupts = InterruptBits.supervisorLevel
    /// hstatus: WFI in VS-mode exits (VTW); satp and SFENCE.VMA do in the guest's M-mode or with its TVM
    /// (VTVM), SRET with its TSR (VTSR).
    static let waitExits: UInt32 = 1 << 21, translationExits: UInt32 = 1 << 20, returnExits: UInt32 = 1 << 22

    /// Puts the virtual CPU on the hart. The guest's S-mode state goes into the VS CSRs and the
    /// delegations into hedeleg/hideleg, so its own traps and interrupts need no VMM. Its M-mode
    /// runs on the hart in VS-mode with the VS-stage off (satp does not apply to M-mode), no
    /// delegation (every trap is the VMM's), and no VS interrupts (M-mode never takes S-level ones).
    func enterHart() {
        for number in 1..<32 { machine.setRegister(Register(UInt8(number)), vcpu.registers[number]) }
        machine.pc = vcpu.pc
        let csrs = vcpu.csrs
        let inMachineMode = vcpu.privilege == .machine
        hartRunsVirtualMachineMode = inMachineMode
        set(CSR.vsstatus, csrs.mstatus & Self.supervisorStatus)
        set(CSR.vstvec, csrs.stvec)
        set(CSR.vsscratch, csrs.sscratch)
        set(CSR.vsepc, csrs.sepc)
        set(CSR.vscause, csrs.scause)
        set(CSR.vstval, csrs.stval)
        set(CSR.scounteren, csrs.scounteren)  // no VS copy: the guest uses the hart's own
        set(CSR.vsatp, inMachineMode ? 0 : csrs.satp)
        // The guest's own mstatus.TVM and TSR become the hart's VTVM and VTSR: the instructions
        // they forbid exit, and the emulator raises the guest's illegal-instruction exception.
        let trapsTranslation = inMachineMode || csrs.mstatus & StatusBits.tvm != 0
        let trapsReturn = csrs.mstatus & StatusBits.tsr != 0
        set(CSR.hstatus, Self.waitExits | (trapsTranslation ? Self.translationExits : 0) | (trapsReturn ? Self.returnExits : 0))
        set(CSR.hedeleg, inMachineMode ? 0 : csrs.medeleg & 0xB1FF)
        // hideleg and hie hold the guest's delegation and S-level enables in every mode (they are
        // what its sie shows); in M-mode no S-level interrupt may reach the hart, so hvip is clear.
        set(CSR.hideleg, (csrs.mideleg & Self.supervisorInterrupts) << 1)
        set(CSR.hie, (csrs.mie & Self.supervisorInterrupts) << 1)
        set(CSR.hvip, inMachineMode ? 0 : (csrs.mip & Self.supervisorInterrupts) << 1)
        machine.privilege = inMachineMode ? .supervisor : vcpu.privilege
        machine.virtualizationMode = true
    }

    /// Reads the virtual CPU back from the hart after a run.
    func leaveHart() {
        for number in 1..<32 { vcpu.registers[number] = machine.register(Register(UInt8(number))) }
        vcpu.pc = machine.pc
        if !hartRunsVirtualMachineMode { vcpu.privilege = machine.privilege }
        var csrs = vcpu.csrs
        csrs.mstatus = csrs.mstatus & ~Self.supervisorStatus | machine.readCSR(CSR.vsstatus) & Self.supervisorStatus
        csrs.stvec = machine.readCSR(CSR.vstvec)
        csrs.sscratch = machine.readCSR(CSR.vsscratch)
        csrs.sepc = machine.readCSR(CSR.vsepc)
        csrs.scause = machine.readCSR(CSR.vscause)
        csrs.stval = machine.readCSR(CSR.vstval)
        csrs.scounteren = machine.readCSR(CSR.scounteren)
        csrs.mie = csrs.mie & ~Self.supervisorInterrupts | machine.readCSR(CSR.hie) >> 1 & Self.supervisorInterrupts
        if !hartRunsVirtualMachineMode {
            csrs.satp = machine.readCSR(CSR.vsatp)
            csrs.mip = csrs.mip & ~Self.supervisorInterrupts | machine.readCSR(CSR.hvip) >> 1 & Self.supervisorInterrupts
        }
        vcpu.csrs = csrs
    }

    /// Writes a hart CSR only when it changes (a vsatp or hgatp write flushes the hart's TLB).
    private func set(_ number: UInt16, _ value: UInt32) {
        if machine.readCSR(number) != value { machine.writeCSR(number, value) }
    }
}
