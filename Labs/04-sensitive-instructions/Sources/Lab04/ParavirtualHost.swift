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
        throw NotImplemented(lab: "04", "ParavirtualHost.serve(vcpu:platform:): the hypercalls")
    }


    // MARK: Task 4: para-virtual trap delivery

    /// A trap for the guest. Before the kernel registered its entry, or in virtual M-mode: Lab
    /// 03's `base.deliverTrap`. The virtual timer's interrupt (cause 0x80000007) becomes a *timer
    /// event*: mask MTIE until the kernel sets a new timer, mark the event pending, and if a
    /// process is running enter the kernel at once with cause 0x80000005. Any other trap from a
    /// running process enters the kernel: x1..x31 and pc into its context, cause and value into
    /// trap_info, then S-mode at the entry with sp = the kernel stack top and a0 = the context. A
    /// trap of the kernel itself goes to `base`.
    func deliver(cause: UInt32, value: UInt32, vcpu: inout VirtualCPU) throws {
        throw NotImplemented(lab: "04", "ParavirtualHost.deliver(cause:value:vcpu:): para-virtual trap delivery")
    }
}
