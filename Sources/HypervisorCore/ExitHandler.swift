import Machine

/// What emulating one trapped instruction did.
public enum EmulationOutcome: Equatable, Sendable {
    /// It completed: the handler moved pc on and changed registers and CSRs; one instruction retired.
    case completed
    /// SFENCE.VMA completed: the VMM must refresh its shadow tables.
    case fenced
    /// WFI completed: the virtual CPU waits for an interrupt.
    case waitForInterrupt
    /// A hypercall completed and the vCPU blocks until an event is pending (Xen's SCHEDOP_block):
    /// it waits as after WFI, but on a hart shared by several domains
    /// (`VirtualMachine.sharesHart`) it also gives the hart up at once, so its scheduler runs
    /// another domain instead of letting this one idle out its slice. If an enabled interrupt is
    /// already pending, the vCPU does not block at all.
    case block
    /// A hypercall completed and the vCPU gives up the rest of its slice, staying runnable
    /// (SCHEDOP_yield). On a hart of its own there is nobody to yield to: the guest just goes on.
    case yield
    /// It raises this exception in the guest instead (nothing else changed).
    case exception(cause: UInt32, value: UInt32)
}

/// The heart of trap-and-emulate (Lab 03): what the VMM does with the instructions that trap
/// because the guest kernel runs deprivileged, and how it makes the guest see traps and interrupts
/// exactly as the real hardware would deliver them.
///
/// The VMM core (`VirtualMachine`) runs the guest, catches every exit, classifies it, fills shadow
/// tables and emulates device accesses itself; it calls the handler for the CPU's own semantics.
public protocol ExitHandler {
    /// Emulates a SYSTEM-opcode instruction the guest executed at `vcpu.pc` in virtual privilege
    /// `vcpu.privilege`: a CSR instruction, MRET, SRET, WFI or SFENCE.VMA (never ECALL/EBREAK).
    /// It trapped only because the hart runs the guest in U-mode; the result must be what the
    /// guest's privilege level would get from real hardware (including illegal-instruction
    /// exceptions where the hardware raises them).
    mutating func emulatePrivileged(_ word: UInt32, vcpu: inout VirtualCPU) -> EmulationOutcome

    /// Takes a trap in the guest (privileged spec 3.1.6.1, 3.1.7-9): chooses virtual M or S by the
    /// guest's medeleg/mideleg, saves epc/cause/tval, stacks the interrupt enable and previous
    /// privilege, and jumps to the guest's mtvec/stvec. For an exception `vcpu.pc` is the trapping
    /// instruction; for an interrupt, the instruction that has not run yet.
    mutating func deliverTrap(cause: UInt32, value: UInt32, vcpu: inout VirtualCPU)

    /// The virtual interrupt the guest takes now, as an mcause value, if any (pending in the
    /// virtual mip, enabled in the virtual mie, and globally enabled for the virtual privilege).
    func interruptToInject(_ vcpu: VirtualCPU) -> UInt32?
}

/// Lab 04, binary translation: the VMM shows the rewriter each guest code page before the guest's
/// kernel (virtual S or M mode) first executes it, so sensitive-but-unprivileged instructions
/// (which would misbehave silently in U-mode) are replaced by ones that trap; when such a
/// replacement traps, the rewriter emulates the original.
public protocol SensitiveInstructionRewriter {
    /// Scans one 4 KiB code page (`words[i]` at guest-physical `page + 4 * i`) and rewrites it in
    /// place. Returns how many instructions it rewrote.
    mutating func rewrite(page: UInt32, words: inout [UInt32]) -> Int

    /// Emulates the original instruction behind a rewritten one that trapped at `vcpu.pc` (`word` is
    /// the rewritten word the hart saw). Returns nil when `word` is not one of its rewrites.
    mutating func emulateRewritten(_ word: UInt32, vcpu: inout VirtualCPU) -> EmulationOutcome?
}

/// Lab 04, para-virtualization: ECALLs from the guest kernel that the VMM serves itself (the
/// hypercall ABI is documented in the teaching kernel's README).
public protocol HypercallHandler {
    /// Serves the ECALL at `vcpu.pc` from virtual privilege `vcpu.privilege` if it is a hypercall:
    /// returns `.completed` after moving pc past it, or an exception to raise in the guest; nil
    /// when this ECALL is not a hypercall (it is then delivered to the guest as usual).
    mutating func hypercall(vcpu: inout VirtualCPU, platform: GuestPlatform) -> EmulationOutcome?
}

/// What a hypercall may reach: the guest's memory and emulated devices.
public struct GuestPlatform {
    public let memory: GuestMemory
    public let devices: EmulatedDevices
    public init(memory: GuestMemory, devices: EmulatedDevices) {
        self.memory = memory
        self.devices = devices
    }
}
