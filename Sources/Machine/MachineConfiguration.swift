/// The execution engines a `Machine` can run with.
public enum ExecutionEngineKind: String, CaseIterable, Sendable {
    /// Fetch, decode and execute one instruction at a time.
    case interpreter
    /// Translate each guest basic block once into pre-decoded threaded code, keep it in a code
    /// cache keyed by physical address, and chain blocks to their successors.
    case translator
}

/// How to build a `Machine`: the board is QEMU's `virt` memory map; only these knobs vary.
public struct MachineConfiguration: Sendable, Equatable {
    /// Bytes of RAM at `0x8000_0000` (QEMU `virt`'s DRAM base). Must be a positive multiple of 4 KiB,
    /// at most 2 GiB (the RAM must end inside the 32-bit physical address space the bus decodes).
    public var ramSize: Int = 128 << 20

    /// Deterministic time: the CLINT's `mtime` (and so the `time` CSR) advances by one every
    /// `instructionsPerTimerTick` retired instructions. Guest time never depends on the host clock,
    /// so a run repeats exactly. Must be at least 1.
    public var instructionsPerTimerTick: UInt64 = 1

    /// Linux user mode: a trap taken *from U-mode* (ECALL, page fault, illegal instruction,
    /// breakpoint, misaligned access, or an interrupt) does not enter the guest's trap vector.
    /// `run()` returns `.userTrap` and the hart's architectural state is untouched: `pc` is the
    /// trapping instruction, no CSR changed. The host-side "kernel" handles it and calls `run()` again.
    public var interceptUserTraps: Bool = false

    /// The RISC-V hypervisor extension (privileged spec, "H" extension v1.0): misa.H, the
    /// virtualization mode V with VS/VU-modes, the VS and hypervisor CSRs, two-stage address
    /// translation (Sv32 over Sv32x4) and guest-page faults. Off by default: the machine is then
    /// exactly the RV32IMA + S + U hart. See Hart/HypervisorExtension.swift.
    public var hypervisorExtension: Bool = false

    /// With `hypervisorExtension`: a trap taken from V=1 (VS- or VU-mode) that would enter
    /// HS-mode does not. `run()` returns `.userTrap` with the trap as the hardware would have
    /// reported it (`Trap.fromGuest` set, `Trap.htval` the guest-physical address >> 2 of a
    /// guest-page fault) and the hart untouched: V is still 1, pc is the trapping instruction,
    /// no CSR changed. A VMM written in Swift handles it as a VM exit and calls `run()` again.
    /// Traps the guest delegated to itself (hedeleg/hideleg) and traps to M-mode are taken as usual.
    public var interceptGuestTraps: Bool = false

    /// Which engine moves the hart forward. Both produce bit-for-bit the same architectural effects
    /// (registers, memory, CSRs, traps, interrupt timing in retired instructions); they differ in speed.
    public var engine: ExecutionEngineKind = .translator

    /// The bound on the translator's code cache, in bytes of threaded code and block headers.
    /// When it is full the cache is flushed and translation starts over (counted in
    /// `EngineStatistics.evictions`). At least 16 KiB.
    public var codeCacheCapacity: Int = 32 << 20

    /// VirtLab's teaching variant of the ISA: implement `vlab.popie rs1` (custom-0; see
    /// `RISCV.TeachingExtension`), the one sensitive instruction that is not privileged: it sets
    /// the current mode's interrupt enable in M- and S-mode and silently does nothing in U-mode,
    /// like x86 POPF and the interrupt flag. Off (the default), its word is an illegal
    /// instruction, as on real RV32 hardware.
    public var implementsTeachingPopie: Bool = false

    /// Measurement: make every load and store look up the TLB in the MMU, so
    /// `Machine.translationStatistics` counts every data hit, not only the misses (the engines'
    /// fast paths otherwise hit the TLB inline, uncounted). Slower; same architectural behaviour.
    public var countsEveryTLBLookup: Bool = false

    /// With `hypervisorExtension`: a small cache of G-stage translations (guest-physical page ->
    /// G-stage leaf) used by two-stage walks, so the VS-stage's page-table reads need not walk the
    /// G-stage each time. Flushed with the TLB (hgatp writes, HFENCE.GVMA). The references it saves
    /// are counted in `TranslationStatistics.gStageReferencesSaved`.
    public var gStageWalkCache: Bool = false

    public init() {}
}
