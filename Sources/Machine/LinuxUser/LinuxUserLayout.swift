/// Where things live in a process's virtual address space. The page tables this kernel builds
/// are the process's alone (the kernel is Swift code on the host, not mapped anywhere), so the
/// whole 4 GiB would be free; the layout copies 32-bit Linux's shape anyway, so addresses look
/// familiar and a program that works here works there:
///
///     0x0000_0000 ..< 0x0000_1000   page zero: never mapped, so a null pointer faults
///     ELF PT_LOAD segments          where the executable was linked (GNU ld: 0x0001_0000 up)
///     heap                          from the page after the last segment, grown by brk
///     ...                           unmapped
///     0xBF80_0000 ..< 0xC000_0000   the stack: 8 MiB (Linux's default RLIMIT_STACK), pages
///                                   mapped on first touch; argv/envp/auxv at the top
///     0xC000_0000 ..< 1_0000_0000   the kernel's part in Linux's 3G/1G split: never user memory
///
/// Physical frames for all of it come from the machine's RAM (0x8000_0000 up); virtual and
/// physical addresses have nothing to do with each other.
public enum LinuxUserLayout {
    public static let pageSize: UInt32 = 4096
    /// The lowest address a segment may occupy (page zero stays unmapped).
    public static let lowestUserAddress: UInt32 = 0x1000
    /// One past the highest stack byte; also the start of the reserved kernel area.
    public static let stackTop: UInt32 = 0xC000_0000
    public static let stackMaximumSize: UInt32 = 8 << 20
    /// The lowest address the stack may grow to.
    public static let stackLimit: UInt32 = stackTop - stackMaximumSize
    /// Addresses from here up are never user memory (Linux's TASK_SIZE on 32-bit).
    public static let kernelReservedStart: UInt32 = 0xC000_0000
    /// The heap may grow up to this address: one unmapped guard page below the stack.
    public static let heapLimit: UInt32 = stackLimit - pageSize
    /// The most argument and environment bytes (strings and pointers) execve accepts: a quarter
    /// of the stack, as Linux computes ARG_MAX.
    public static let argumentSpaceLimit = Int(stackMaximumSize / 4)

    static func pageDown(_ address: UInt32) -> UInt32 { address & ~(pageSize - 1) }
    /// Rounds up to a page boundary; an address in the last page rounds to 0 (wraps), which
    /// callers avoid by only passing addresses below `kernelReservedStart`.
    static func pageUp(_ address: UInt32) -> UInt32 { (address &+ pageSize - 1) & ~(pageSize - 1) }
}

/// Auxiliary-vector types (include/uapi/linux/auxvec.h): the key/value pairs after envp on the
/// initial stack, through which the kernel tells the C runtime about the process.
enum AuxiliaryVectorType {
    static let null: UInt32 = 0
    static let programHeaders: UInt32 = 3      // AT_PHDR
    static let programHeaderSize: UInt32 = 4   // AT_PHENT
    static let programHeaderCount: UInt32 = 5  // AT_PHNUM
    static let pageSize: UInt32 = 6            // AT_PAGESZ
    static let interpreterBase: UInt32 = 7     // AT_BASE
    static let flags: UInt32 = 8               // AT_FLAGS
    static let entry: UInt32 = 9               // AT_ENTRY
    static let userID: UInt32 = 11             // AT_UID
    static let effectiveUserID: UInt32 = 12    // AT_EUID
    static let groupID: UInt32 = 13            // AT_GID
    static let effectiveGroupID: UInt32 = 14   // AT_EGID
    static let hardwareCapabilities: UInt32 = 16  // AT_HWCAP
    static let clockTicks: UInt32 = 17         // AT_CLKTCK
    static let secure: UInt32 = 23             // AT_SECURE
    static let random: UInt32 = 25             // AT_RANDOM
    static let executableName: UInt32 = 31     // AT_EXECFN
}
