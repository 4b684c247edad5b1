import HypervisorCore
import Machine
import RISCV

/// Lab 04, part 2: the VMM side of para-virtualization (Xen's hypercalls, RISC-V's SBI).
///
/// `kernel-pv.elf` is a build of the teaching kernel that executes no privileged instruction in
/// S-mode: it asks the VMM for whole operations with ECALL (`HypercallABI`; the table in
/// Sources/VLabCLI/Guests/kernel/README.md, "kernel-pv.elf: the hypercall interface", is your
/// specification). You serve those calls, and you deliver its processes' traps the para-virtual
/// way: registers into the process's `user_context`, cause into the kernel's `trap_info`, and
/// straight into the kernel's registered entry, with none of the CSR accesses and SRET that
/// `kernel.elf` needs around every trap.
///
/// This class is both of the VMM core's hooks. As the `HypercallHandler` it is offered every
/// ECALL first. As the `ExitHandler` it wraps Lab 03's handler (`base`, shipped with this lab),
/// which still runs the guest's M-mode firmware at boot, and takes over trap delivery once the
/// kernel has registered its trap entry. (A class, because the core holds it twice and both views
/// must share one state.)
///
/// Every argument comes from the guest, which may be hostile: check it and answer with the ABI's
/// error code; never crash, never touch memory outside the guest's RAM, never change anything
/// when you refuse.
public final class ParavirtualHost: ExitHandler, HypercallHandler {
    /// The TODOs this host reached (the tests print them).
    public let unfinished = UnfinishedWork()
    /// Lab 03's reference handler: the firmware and everything that is not para-virtual.
    var base = TrapAndEmulateHandler()
    /// The guest's memory, for contexts and trap_info (the VMM sets it once the guest exists).
    public var memory: GuestMemory?

    /// From `set_trap_entry`: nil until the kernel registered.
    struct TrapEntry { var entry: UInt32; var stack: UInt32; var info: UInt32 }
    var trapEntry: TrapEntry?
    /// The `user_context` of the process in U-mode, nil while the kernel runs.
    var running: UInt32?
    /// The timer deadline passed and the kernel has not set a new one.
    var timerEventPending = false

    /// Hypercalls served, and those that returned an error.
    public internal(set) var served = 0
    public internal(set) var refused = 0

    public init() {}

    // MARK: The protocols (already written: they call your functions)

    public func hypercall(vcpu: inout VirtualCPU, platform: GuestPlatform) -> EmulationOutcome? {
        guard vcpu.privilege == .supervisor else { return nil }   // U: a system call; M: not ours
        do {
            return try serve(vcpu: &vcpu, platform: platform)
        } catch {
            unfinished.record(error)
            return nil
        }
    }

    public func deliverTrap(cause: UInt32, value: UInt32, vcpu: inout VirtualCPU) {
        do {
            try deliver(cause: cause, value: value, vcpu: &vcpu)
        } catch {
            unfinished.record(error)
            base.deliverTrap(cause: cause, value: value, vcpu: &vcpu)
        }
    }

    public func emulatePrivileged(_ word: UInt32, vcpu: inout VirtualCPU) -> EmulationOutcome {
        base.emulatePrivileged(word, vcpu: &vcpu)
    }

    public func interruptToInject(_ vcpu: VirtualCPU) -> UInt32? {
        base.interruptToInject(vcpu)
    }

    // MARK: Task 3: the hypercalls

    /// Serves the hypercall in a7 (arguments a0-a2) from virtual S-mode: puts the result in a0,
    /// moves pc past the ECALL and returns `.completed`; or `.fenced` when the guest's address
    /// space changed (`set_page_table`, `run_user`: the core then drops its shadow tables); or
    /// `.waitForInterrupt` for a `block` with no timer event pending (the core moves virtual time
    /// to the deadline, and the timer interrupt reaches `deliver`). Devices: write the console
    /// through `platform.devices.write(EmulatedDevices.uartBase, size: 1, value:, vcpu:)`, and shut
    /// down through the finisher (`EmulatedDevices.finisherBase`, 0x5555 for success, code << 16 |
    /// 0x3333 for failure). The timer: `vcpu.timer.mtimecmp`, enabled by MTIE in `vcpu.csrs.mie`.
    /// Count `served` and `refused`.
    func serve(vcpu: inout VirtualCPU, platform: GuestPlatform) throws -> EmulationOutcome {
        // BEGIN SOLUTION
        // STUB: throw NotImplemented(lab: "04", "ParavirtualHost.serve(vcpu:platform:): the hypercalls")
        served += 1
        let number = vcpu.register(17)
        let a0 = vcpu.register(10), a1 = vcpu.register(11), a2 = vcpu.register(12)
        var outcome = EmulationOutcome.completed
        let result: Int32
        switch number {
        case HypercallABI.setTimer:
            result = setTimer(deadline: UInt64(a1) << 32 | UInt64(a0), vcpu: &vcpu)
        case HypercallABI.setTimerIn:
            result = setTimer(deadline: vcpu.mtime &+ UInt64(a0), vcpu: &vcpu)
        case HypercallABI.putchar:
            _ = platform.devices.write(EmulatedDevices.uartBase, size: 1, value: a0 & 0xFF, vcpu: &vcpu)
            result = 0
        case HypercallABI.shutdown:
            let value = a0 == 0 ? 0x5555 : a0 << 16 | 0x3333
            _ = platform.devices.write(EmulatedDevices.finisherBase, size: 4, value: value, vcpu: &vcpu)
            result = 0
        case HypercallABI.consoleWrite:
            // An address outside RAM is an error even for zero bytes, as in the bare firmware.
            guard a1 <= HypercallABI.consoleWriteLimit, platform.memory.contains(a0, count: max(1, Int(a1))),
                  let bytes = platform.memory.read(a0, count: Int(a1)) else {
                result = HypercallABI.errorInvalidAddress
                break
            }
            for byte in bytes { _ = platform.devices.write(EmulatedDevices.uartBase, size: 1, value: UInt32(byte), vcpu: &vcpu) }
            result = Int32(bitPattern: a1)
        case HypercallABI.setTrapEntry:
            guard a0 & 3 == 0, platform.memory.contains(a0, count: 4),
                  a1 & 15 == 0, a1 >= 16, platform.memory.contains(a1 &- 16, count: 16) else {
                result = HypercallABI.errorInvalidParameter
                break
            }
            guard a2 & 3 == 0, platform.memory.contains(a2, count: HypercallABI.trapInfoSize) else {
                result = HypercallABI.errorInvalidAddress
                break
            }
            trapEntry = TrapEntry(entry: a0, stack: a1, info: a2)
            result = 0
        case HypercallABI.setPageTable:
            guard a0 == 0 || Self.validSatp(a0, memory: platform.memory) else {
                result = HypercallABI.errorInvalidParameter
                break
            }
            vcpu.csrs.satp = a0
            outcome = .fenced
            result = 0
        case HypercallABI.runUser:
            if let error = runUser(context: a0, satp: a1, vcpu: &vcpu, memory: platform.memory) {
                result = error
                break
            }
            return .fenced   // the process's registers are in place; the address space changed
        case HypercallABI.block:
            vcpu.setRegister(10, 0)
            vcpu.pc &+= 4
            return timerEventPending ? .completed : .waitForInterrupt
        default:
            result = HypercallABI.errorNotSupported
        }
        if result < 0 { refused += 1 }
        vcpu.setRegister(10, UInt32(bitPattern: result))
        vcpu.pc &+= 4
        return outcome
        // END SOLUTION
    }

    // BEGIN SOLUTION
    /// Sv32 mode with a root table inside the guest's RAM.
    static func validSatp(_ satp: UInt32, memory: GuestMemory) -> Bool {
        let root = UInt64(satp & 0x3F_FFFF) << 12
        return satp >> 31 == 1 && root < 1 << 32 && memory.contains(UInt32(root), count: 4096)
    }

    private func setTimer(deadline: UInt64, vcpu: inout VirtualCPU) -> Int32 {
        vcpu.timer.mtimecmp = deadline
        vcpu.csrs.mie |= InterruptBits.machineTimer
        timerEventPending = false
        return 0
    }

    /// `run_user`: switch address space, load the process, enter virtual U-mode. Returns an error
    /// code and changes nothing when an argument is bad.
    private func runUser(context: UInt32, satp: UInt32, vcpu: inout VirtualCPU, memory: GuestMemory) -> Int32? {
        guard trapEntry != nil else { return HypercallABI.errorDenied }
        guard context & 3 == 0, let bytes = memory.read(context, count: HypercallABI.userContextSize) else {
            return HypercallABI.errorInvalidAddress
        }
        guard Self.validSatp(satp, memory: memory) else { return HypercallABI.errorInvalidParameter }
        let words = (0..<33).map { i in
            UInt32(bytes[4 * i]) | UInt32(bytes[4 * i + 1]) << 8 | UInt32(bytes[4 * i + 2]) << 16 | UInt32(bytes[4 * i + 3]) << 24
        }
        vcpu.csrs.satp = satp
        for number in 1..<32 { vcpu.registers[number] = words[number] }
        vcpu.pc = words[32]
        vcpu.privilege = .user
        running = context
        // A pending event is delivered before the process runs an instruction.
        if timerEventPending { enterKernel(cause: HypercallABI.timerEventCause, value: 0, vcpu: &vcpu) }
        return nil
    }

    /// A process's registers into its context, the cause into trap_info, and the kernel's entry.
    private func enterKernel(cause: UInt32, value: UInt32, vcpu: inout VirtualCPU) {
        guard let trapEntry, let context = running, let memory else { return }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(HypercallABI.userContextSize)
        for word in [0] + vcpu.registers[1..<32] + [vcpu.pc] {
            bytes += [UInt8(truncatingIfNeeded: word), UInt8(truncatingIfNeeded: word >> 8),
                      UInt8(truncatingIfNeeded: word >> 16), UInt8(truncatingIfNeeded: word >> 24)]
        }
        // Both were checked when registered / when the process was started.
        _ = memory.write(context, bytes)
        _ = memory.write32(trapEntry.info, cause)
        _ = memory.write32(trapEntry.info &+ 4, value)
        running = nil
        vcpu.setRegister(2, trapEntry.stack)
        vcpu.setRegister(10, context)
        vcpu.pc = trapEntry.entry
        vcpu.privilege = .supervisor
    }
    // END SOLUTION

    // MARK: Task 4: para-virtual trap delivery

    /// A trap for the guest. Before the kernel registered its entry, or in virtual M-mode: Lab
    /// 03's `base.deliverTrap`. The virtual timer's interrupt (cause 0x80000007) becomes a *timer
    /// event*: mask MTIE until the kernel sets a new timer, mark the event pending, and if a
    /// process is running enter the kernel at once with cause 0x80000005. Any other trap from a
    /// running process enters the kernel: x1..x31 and pc into its context, cause and value into
    /// trap_info, then S-mode at the entry with sp = the kernel stack top and a0 = the context. A
    /// trap of the kernel itself goes to `base`.
    func deliver(cause: UInt32, value: UInt32, vcpu: inout VirtualCPU) throws {
        // BEGIN SOLUTION
        // STUB: throw NotImplemented(lab: "04", "ParavirtualHost.deliver(cause:value:vcpu:): para-virtual trap delivery")
        guard trapEntry != nil, vcpu.privilege != .machine else {
            return base.deliverTrap(cause: cause, value: value, vcpu: &vcpu)
        }
        if cause == 0x8000_0007 {
            vcpu.csrs.mie &= ~InterruptBits.machineTimer
            timerEventPending = true
            if vcpu.privilege == .user && running != nil { enterKernel(cause: HypercallABI.timerEventCause, value: 0, vcpu: &vcpu) }
            return
        }
        if vcpu.privilege == .user && running != nil {
            enterKernel(cause: cause, value: value, vcpu: &vcpu)
            return
        }
        base.deliverTrap(cause: cause, value: value, vcpu: &vcpu)
        // END SOLUTION
    }
}
