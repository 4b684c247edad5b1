import HypervisorCore
import Machine

/// # Binary translation: the sensitive instruction that does not trap
///
/// RV32 meets Popek and Goldberg's condition: every sensitive instruction is privileged, so running
/// the guest kernel in U-mode makes each one trap to the VMM (`../TrapAndEmulate`). x86 did not: about
/// ten sensitive instructions were unprivileged, the classic one `POPF`, which restores the interrupt
/// flag in kernel mode and silently ignores it in user mode. VirtLab's *teaching variant* of the ISA
/// adds one such instruction to RISC-V so the failure can be watched and fixed:
///
/// `vlab.popie rs1` (custom-0 opcode `0001011`, I-type, rd = 0, funct3 = 0, imm = 0;
/// `Sources/RISCV/TeachingExtension.swift`): in M-mode, `mstatus.MIE` := bit 3 of `x[rs1]`; in S-mode,
/// `sstatus.SIE` := bit 1 of `x[rs1]` (the register is read as a status image, as POPF reads saved
/// flags); in U-mode it does nothing and raises nothing. The hart implements it only with
/// `MachineConfiguration.implementsTeachingPopie` (`vlab boot --teaching-popie`); otherwise the word is
/// an illegal instruction, as on real RV32.
///
/// ## The kernel that breaks
///
/// `kernel-bt.elf` (`Sources/VLabCLI/Guests/kernel`, README there) takes timer interrupts in S-mode
/// while it builds its processes and guards each build with `csrr sstatus` / `vlab.popie` (x86's
/// `pushf; cli ... popf`). On the bare variant machine its output equals `kernel.elf`'s. Under plain
/// trap-and-emulate on the same machine, `csrr` traps and is emulated, but `vlab.popie` runs in real
/// U-mode and does nothing, so virtual interrupts stay enabled and ticks arrive inside the critical
/// sections:
///
/// ```
/// vlab boot --vmm trap-and-emulate --teaching-popie Sources/VLabCLI/Guests/kernel/kernel-bt.elf
/// kernel: BUG: timer interrupt inside a critical section at 0x80000c4c (interrupts were not disabled)
/// ...                                   (7 such lines, then the normal output)
/// vlab boot --vmm binary-translation    # the shipped kernel-bt.elf: kernel.elf's output, no BUG line
/// ```
///
/// ## The fix (`BinaryTranslationMode`, `PopieRewriter`)
///
/// Privileged code is translated, user code runs directly (the VMware approach). The core shows the
/// rewriter each guest page the first time the guest's *kernel* (virtual S or M) fetches from it, and
/// again after the guest writes it. `PopieRewriter` replaces every `vlab.popie rs1` in the page with the
/// custom-0 word with funct3 = 7 and the same rs1, which is illegal on every hart, and records the
/// original in a side table keyed by guest-physical address. When a replacement traps, the VMM asks
/// `emulateRewritten`: if the word at that guest-physical address is the replacement it wrote, it
/// applies the original to the *virtual* CPU (SIE or MIE from the register; nothing in virtual U-mode)
/// and moves pc on; any other trapping word is the guest's own illegal instruction and is reflected.
///
/// Invisible to the guest: the core keeps the original words, maps pages that hold replacements
/// execute-only in the kernel's view (a load exits and reads the originals), never maps a scanned page
/// writable (a store exits, is performed on the original page, and the page is rescanned). Only
/// fetches scan, so the kernel's data pages are never touched.
///
/// Measured (`vlab boot --vmm binary-translation --stats`, translator engine): 2 kernel code pages
/// scanned (2048 instructions), 8 `vlab.popie` rewritten, 8 rewritten-instruction exits; 12299 exits in
/// all against 11470 for `kernel.elf` under trap-and-emulate (the difference: the critical sections'
/// CSR accesses, and loads of the kernel's read-only strings, which share the execute-only pages);
/// guest instructions retired exactly as bare (912803).
///
/// `vlab boot --vmm binary-translation` sets the teaching variant on the host (`prepareMachine`), and
/// its `--stats` baseline is a bare run with the variant.
public struct BinaryTranslationMode: VMMModeImplementation {
    public init() {}

    public func boot(_ request: VMMBootRequest) throws(HypervisorError) -> VMMBootResult {
        var request = request
        prepareMachine(&request.machineConfiguration)
        let vm = try GuestHost.makeGuest(request, handler: PrivilegedInstructionEmulator())
        vm.rewriter = PopieRewriter(memory: vm.memory)
        let result = vm.run()
        return VMMBootResult(result: result, statistics: vm.statistics,
                             notes: Self.notes(vm) + ["shadow pager: \(vm.pager.statistics.summary)"])
    }

    /// The host this mode exists for implements the teaching variant: there `vlab.popie` runs
    /// (silently doing nothing in U-mode) instead of trapping as an illegal instruction.
    public func prepareMachine(_ configuration: inout MachineConfiguration) {
        configuration.implementsTeachingPopie = true
    }

    /// A domain gets the rewriter too (on a host without the variant the rewrite still makes
    /// `vlab.popie` trap, so the kernel runs correctly there as well).
    public func prepareDomain(_ vm: VirtualMachine) -> Bool {
        vm.rewriter = PopieRewriter(memory: vm.memory)
        return true
    }

    /// The `--stats` line: what the translator looked at and changed.
    public static func notes(_ vm: VirtualMachine) -> [String] {
        let pages = vm.scannedInstructions / 1024
        return ["binary translation: scanned \(vm.scannedInstructions) instructions on \(pages) kernel code page\(pages == 1 ? "" : "s"), "
                + "rewrote \(vm.rewrittenInstructions) vlab.popie, emulated \(vm.statistics[.rewrittenInstruction]) rewritten instructions"]
    }
}

extension VMMModeCatalog {
    public static var binaryTranslation: (any VMMModeImplementation)? { BinaryTranslationMode() }
}
