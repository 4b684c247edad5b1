/// Why a program cannot become a Linux process: what is wrong with the executable or with the
/// machine it was to run on. The message names the problem ("not a static executable: has
/// PT_INTERP /lib/ld-linux-riscv32-ilp32.so.1", "segment at 0xbf900000 overlaps the stack").
public struct LinuxError: Error, Equatable, Sendable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// How a Linux process ended (or stopped) under `LinuxProcess.run(maxInstructions:)`.
public enum LinuxExit: Equatable, Sendable {
    /// `exit` or `exit_group` with this status (already reduced to 0...255, as the kernel
    /// does: `exit(300)` is 44 to the parent).
    case exited(status: Int32)
    /// The kernel killed the process with this signal (`LinuxSignal.segmentationFault` = 11,
    /// `illegalInstruction` = 4, ...). A shell shows 128 + signal as the status; qemu-riscv32 dies
    /// of the same signal itself, so a command line that wants to look the same re-raises it.
    case killed(signal: Int32)
    /// `maxInstructions` retired; `run` may be called again to continue.
    case instructionLimit
    /// Something no Linux process could cause: the emulated machine itself stopped
    /// (for example physical memory ran out while growing the stack). The message says what.
    case fault(String)

    /// The status a shell shows for the process (`$?`): the exit status, or 128 + signal for a
    /// killed process (139 for SIGSEGV, as after qemu-riscv32 dies of it). Nil while the process
    /// has not ended, or when the machine faulted (no Linux process ends that way).
    public var shellStatus: Int32? {
        switch self {
        case .exited(let status): return status
        case .killed(let signal): return 128 + signal
        case .instructionLimit, .fault: return nil
        }
    }
}

/// The signals this kernel sends, with Linux's numbers (the same on every architecture for these).
public enum LinuxSignal {
    public static let illegalInstruction: Int32 = 4   // SIGILL
    public static let trap: Int32 = 5                 // SIGTRAP
    public static let busError: Int32 = 7             // SIGBUS
    public static let segmentationFault: Int32 = 11   // SIGSEGV

    /// "SIGSEGV" for 11, as strace and qemu print it.
    public static func name(_ signal: Int32) -> String {
        switch signal {
        case illegalInstruction: return "SIGILL"
        case trap: return "SIGTRAP"
        case busError: return "SIGBUS"
        case segmentationFault: return "SIGSEGV"
        default: return "SIG\(signal)"
        }
    }
}
