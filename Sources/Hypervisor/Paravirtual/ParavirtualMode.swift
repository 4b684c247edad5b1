import HypervisorCore
import Machine

/// # Para-virtualization: a kernel that asks instead of trapping
///
/// Trap-and-emulate pays a world switch for every privileged instruction of an unmodified kernel:
/// `kernel.elf` under `--vmm trap-and-emulate` makes 11470 exits, most of them CSR accesses, the
/// firmware's xRETs and one firmware ECALL per console character. A para-virtual kernel is *built*
/// for the VMM, like a Xen PV guest: `kernel-pv.elf` (`Sources/VLabCLI/Guests/kernel`, built with
/// `-DKERNEL_PARAVIRTUAL`) executes no privileged instruction at all and calls the VMM for whole
/// operations, over ECALL (`hypercall.h`; the table is in the kernel's README, the Swift mirror in
/// `HypercallABI.swift`):
///
/// | a7 | call | replaces |
/// |----|------|----------|
/// | 0x10 | `console_write(address, length)` | one firmware call per character |
/// | 0x11 | `set_trap_entry(entry, stack, trap_info)` | `stvec`, `sscratch` |
/// | 0x12 | `set_page_table(satp)` | `csrw satp` + `sfence.vma` |
/// | 0x13 | `run_user(context, satp)` | satp + sfence.vma + sepc + sscratch + sret, and the trap vector's CSR reads on the way back |
/// | 0x14 | `set_timer_in(delta)` | `csrr time` + the firmware's `set_timer` |
/// | 0x15 | `block()` | the idle loop's `csrr sip` + `wfi` |
/// | 0, 1, 8 | the firmware's `set_timer`, `putchar`, `shutdown` | — |
///
/// `ParavirtualHost` serves them. It is the core's `HypercallHandler` (offered every ECALL first; it
/// serves those from virtual S-mode) and its `ExitHandler`, wrapping the trap-and-emulate reference,
/// which still runs the image's M-mode firmware at boot. Once the kernel has registered its trap
/// entry, a trap from a process (system call, fault, timer) is delivered the PV way: the process's
/// registers go into its `user_context`, the cause into `trap_info`, and the kernel's entry runs on its
/// stack, in one exit. Bad arguments (pointers outside guest RAM or misaligned, a satp without Sv32 or
/// with a root outside RAM, `run_user` before `set_trap_entry`, unknown numbers) return the SBI's
/// error codes; the guest keeps running.
///
/// The same image runs bare: its firmware (`hypervisor.c`) serves the same calls in M-mode, so
/// `vlab boot kernel-pv.elf` and QEMU print `kernel.elf`'s output too.
///
/// Measured (`vlab boot --vmm paravirtual --stats`, translator engine; `vlab bench vmm`):
///
/// | | exits | top reasons | guest instructions |
/// |-|------:|-------------|-------------------:|
/// | `kernel.elf`, trap-and-emulate | 11470 | csr-write 3808, csr-read 2433, mmio 2178 | 911879 |
/// | `kernel-pv.elf`, paravirtual | 725 | page-fault 507, hypercall 136, ecall 35, timer 34 | 844762 |
///
/// 15.8 times fewer exits. What remained was mostly shadow-table fills: `run_user` flushes the TLB, as
/// the native kernel's `sfence.vma` does, and that (then only) shadow pager rebuilt its tables after
/// each switch. With `ReferenceShadowPager` (tables kept per address space, coherent through
/// write-protected page tables) the refills go: 285 exits (page-fault 65, hypercall 138) for the
/// kernel-pv.elf that now also has a balloon driver and a blkfront probe (845008 guest instructions).
public struct ParavirtualMode: VMMModeImplementation {
    public init() {}

    public func boot(_ request: VMMBootRequest) throws(HypervisorError) -> VMMBootResult {
        let host = ParavirtualHost()
        let vm = try GuestHost.makeGuest(request, handler: host)
        host.memory = vm.memory
        vm.hypercalls = host
        let result = vm.run()
        return VMMBootResult(result: result, statistics: vm.statistics,
                             notes: ["paravirtual: \(host.served) hypercalls served, \(host.refused) refused with an error",
                                     "shadow pager: \(vm.pager.statistics.summary)"])
    }

    public func prepareDomain(_ vm: VirtualMachine) -> Bool {
        let host = ParavirtualHost()
        host.memory = vm.memory
        vm.handler = host
        vm.hypercalls = host
        return true
    }
}

extension VMMModeCatalog {
    public static var paravirtual: (any VMMModeImplementation)? { ParavirtualMode() }
}
