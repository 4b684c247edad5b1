import HypervisorCore
import Machine
import RISCV

/// The para-virtual reference (Lab 04's solution): serves `kernel-pv.elf`'s hypercalls
/// (`HypercallABI`) and delivers its processes' traps to the kernel the para-virtual way.
///
/// It is both of the VMM core's hooks. As the `HypercallHandler` it is offered every ECALL first
/// and serves those from virtual S-mode. As the `ExitHandler` it wraps the trap-and-emulate
/// reference, which still runs the guest's M-mode firmware at boot (and anything a non-PV guest
/// does), and takes over trap delivery once the kernel has registered its trap entry: a trap from
/// a process (system call, fault, timer) saves the process's registers into its `user_context` and
/// enters the kernel's entry, without the CSR reads, CSR writes and SRET that `kernel.elf` needs
/// around every trap. The M-mode firmware of `kernel-pv.elf` (hypervisor.c) implements the same
/// interface for bare runs; this is its Swift twin.
///
/// A class, because the core holds it twice (as `handler` and as `hypercalls`) and both views
/// must share one state. Not Sendable: it belongs to its guest's run loop.
public final class ParavirtualHost: ExitHandler, HypercallHandler {
    var base = PrivilegedInstructionEmulator()
    /// The guest's memory, for contexts and trap_info (set by the mode once the guest exists).
    var memory: GuestMemory?

    /// From `set_trap_entry`: nil until the kernel registered.
    struct TrapEntry { var entry: UInt32; var stack: UInt32; var info: UInt32 }
    var trapEntry: TrapEntry?
    /// The `user_context` of the process in U-mode, nil while the kernel runs.
    var running: UInt32?
    /// The timer deadline passed and the kernel has not set a new one.
    var timerEventPending = false

    /// Hypercalls served, and those that returned an error.
    public private(set) var served = 0
    public private(set) var refused = 0

    public init() {}

    // MARK: Hypercalls

    public func hypercall(vcpu: inout VirtualCPU, platform: GuestPlatform) -> EmulationOutcome? {
        guard vcpu.privilege == .supervisor else { return nil }   // U: a system call; M: not ours
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
            // As the board's test finisher: 0x5555 passes, status << 16 | 0x3333 fails with status.
            let value = a0 == 0 ? 0x5555 : a0 << 16 | 0x3333
            _ = platform.devices.write(EmulatedDevices.finisherBase, size: 4, value: value, vcpu: &vcpu)
            result = 0
        case HypercallABI.consoleWrite:
            // (An address outside RAM is an error even for zero bytes, as in the bare firmware.)
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
            outcome = .fenced   // the core drops its shadow tables, as SFENCE.VMA makes it
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
            // Not yet pending: block (SCHEDOP_block). Alone on the hart that is WFI: the core moves
            // virtual time to the deadline, the timer interrupt comes to deliverTrap, which marks
            // the event pending. Under Dom0 the hart goes to another domain meanwhile.
            return timerEventPending ? .completed : .block
        default:
            result = HypercallABI.errorNotSupported
        }
        if result < 0 { refused += 1 }
        vcpu.setRegister(10, UInt32(bitPattern: result))
        vcpu.pc &+= 4
        return outcome
    }

    /// Sv32 mode with a root table inside the guest's RAM.
    static func validSatp(_ satp: UInt32, memory: GuestMemory) -> Bool {
        let root = UInt64(satp & 0x3F_FFFF) << 12
        return satp >> 31 == 1 && root < 1 << 32 && memory.contains(UInt32(root), count: 4096)
    }

    /// As the firmware's set_timer: a new deadline, the machine timer unmasked, and no timer
    /// interrupt pending any more (the PV event, or STIP for a native kernel using the SBI call).
    private func setTimer(deadline: UInt64, vcpu: inout VirtualCPU) -> Int32 {
        vcpu.timer.mtimecmp = deadline
        vcpu.csrs.mie |= InterruptBits.machineTimer
        vcpu.csrs.mip &= ~InterruptBits.supervisorTimer
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
        // A pending event is delivered before the process runs an instruction (as an interrupt
        // pending at SRET would be).
        if timerEventPending { enterKernel(cause: HypercallABI.timerEventCause, value: 0, vcpu: &vcpu) }
        return nil
    }

    // MARK: Trap delivery

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

    public func deliverTrap(cause: UInt32, value: UInt32, vcpu: inout VirtualCPU) {
        guard trapEntry != nil, vcpu.privilege != .machine else {
            return base.deliverTrap(cause: cause, value: value, vcpu: &vcpu)
        }
        if cause == 0x8000_0007 {
            // The virtual timer's deadline passed: mask it until the kernel sets a new one. A
            // process is interrupted at once; the kernel learns of it in block or run_user.
            vcpu.csrs.mie &= ~InterruptBits.machineTimer
            timerEventPending = true
            if vcpu.privilege == .user && running != nil { enterKernel(cause: HypercallABI.timerEventCause, value: 0, vcpu: &vcpu) }
            return
        }
        if vcpu.privilege == .user && running != nil {
            enterKernel(cause: cause, value: value, vcpu: &vcpu)
            return
        }
        base.deliverTrap(cause: cause, value: value, vcpu: &vcpu)   // a fault of the kernel itself
    }

    public func emulatePrivileged(_ word: UInt32, vcpu: inout VirtualCPU) -> EmulationOutcome {
        base.emulatePrivileged(word, vcpu: &vcpu)
    }

    public func interruptToInject(_ vcpu: VirtualCPU) -> UInt32? {
        base.interruptToInject(vcpu)
    }
}
