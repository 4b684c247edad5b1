// Lab 04 support (not one of your files: the grader uses this copy).

/// The para-virtual hypercall interface of the teaching kernel's `kernel-pv.elf` (its README,
/// Sources/VLabCLI/Guests/kernel/README.md, "kernel-pv.elf: the hypercall interface", is the
/// specification; `hypercall.h` is the C side).
///
/// ECALL from virtual S-mode: call number in a7, arguments in a0-a2, result in a0, every other
/// register preserved. Pointers are guest-physical. Errors are negative, with the RISC-V SBI's codes.
public enum HypercallABI {
    // The firmware's SBI-style calls, served the same way.
    public static let setTimer: UInt32 = 0
    public static let putchar: UInt32 = 1
    public static let shutdown: UInt32 = 8
    // The para-virtual calls.
    public static let consoleWrite: UInt32 = 0x10
    public static let setTrapEntry: UInt32 = 0x11
    public static let setPageTable: UInt32 = 0x12
    public static let runUser: UInt32 = 0x13
    public static let setTimerIn: UInt32 = 0x14
    public static let block: UInt32 = 0x15

    public static let errorNotSupported: Int32 = -2
    public static let errorInvalidParameter: Int32 = -3
    public static let errorDenied: Int32 = -4
    public static let errorInvalidAddress: Int32 = -5

    /// `struct user_context`: x0..x31 then pc, 33 words.
    public static let userContextSize = 33 * 4
    /// `struct trap_info`: cause, value.
    public static let trapInfoSize = 8
    /// What the kernel sees as the cause of a timer event (scause's supervisor timer interrupt).
    public static let timerEventCause: UInt32 = 0x8000_0005
    /// The longest console write served in one call: a guest asking for more gets an error, not a
    /// VMM that copies gigabytes for it.
    public static let consoleWriteLimit: UInt32 = 1 << 16
}
