/// The guest workloads `vlab bench memory` runs (Sources/VLabCLI/Guests/memory: sources, build.sh
/// and the committed ELFs). Each is a small S-mode kernel running U-mode processes under Sv32; it
/// prints a checksum and stops through the test finisher, the same bytes on VirtLab bare, under
/// either VMM mode, and on qemu-system-riscv32.
public enum MemoryWorkload: String, CaseIterable, Sendable {
    /// 32 address spaces, a satp switch per quantum (768 in all), a remap and a permission change
    /// with selective SFENCE.VMAs in every quantum: the work shadow paging pays for.
    case pageTableHeavy = "pt-heavy"
    /// One address space, a hot loop over 4 pages: almost every access hits the TLB.
    case tlbFriendly = "tlb-friendly"
    /// One address space, one word per page over 8192 pages (twice the emulated TLB's 4096
    /// entries per kind): every access misses and walks, which nested paging pays for.
    case tlbHostile = "tlb-hostile"

    /// The ELF's file name in Guests/memory.
    public var imageName: String { rawValue + ".elf" }

    /// Guest RAM the workload needs (its kernel maps 16 MiB of itself).
    public var memorySize: UInt32 { 16 << 20 }

    public var summary: String {
        switch self {
        case .pageTableHeavy: return "32 address spaces, 768 context switches, remaps + permission changes"
        case .tlbFriendly: return "hot loop over 4 pages"
        case .tlbHostile: return "one word per page over 8192 pages"
        }
    }
}
