/// System call numbers of RV32 Linux (asm-generic/unistd.h, 32-bit, 64-bit time only).
///
/// RV32 Linux has no 32-bit-time calls and no old `lseek`/`fstat`: number 62 is `_llseek`
/// (the 64-bit offset comes in two registers, the result goes to memory), 80 is `fstat64`, and
/// `clock_gettime` is 403 (`clock_gettime64`); 113 is not a system call on RV32 and returns
/// -ENOSYS, on a real kernel and under qemu-riscv32 alike.
enum LinuxSyscall {
    static let openat: UInt32 = 56
    static let close: UInt32 = 57
    static let llseek: UInt32 = 62
    static let read: UInt32 = 63
    static let write: UInt32 = 64
    static let writev: UInt32 = 66
    static let fstat64: UInt32 = 80
    static let exit: UInt32 = 93
    static let exitGroup: UInt32 = 94
    static let setTidAddress: UInt32 = 96
    static let uname: UInt32 = 160
    static let getpid: UInt32 = 172
    static let brk: UInt32 = 214
    static let clockGettime64: UInt32 = 403

    /// Names of the RV32 system calls a small program is likely to try, for the trace: an
    /// unimplemented call still shows up by name (`mmap2(...) = -1 errno=38 ...`), so a user sees
    /// what the program wanted. Numbers not listed print as `syscall_N`.
    static let names: [UInt32: String] = [
        17: "getcwd", 23: "dup", 24: "dup3", 25: "fcntl64", 29: "ioctl", 34: "mkdirat", 35: "unlinkat",
        37: "linkat", 38: "renameat", 46: "ftruncate64", 48: "faccessat", 49: "chdir", 56: "openat",
        57: "close", 59: "pipe2", 61: "getdents64", 62: "llseek", 63: "read", 64: "write", 65: "readv",
        66: "writev", 67: "pread64", 68: "pwrite64", 78: "readlinkat", 79: "fstatat64", 80: "fstat64",
        93: "exit", 94: "exit_group", 96: "set_tid_address", 98: "futex", 99: "set_robust_list",
        113: "clock_gettime", 124: "sched_yield", 129: "kill", 130: "tkill", 131: "tgkill",
        134: "rt_sigaction", 135: "rt_sigprocmask", 160: "uname", 163: "getrlimit", 165: "getrusage",
        167: "prctl", 172: "getpid", 173: "getppid", 174: "getuid", 175: "geteuid", 176: "getgid",
        177: "getegid", 178: "gettid", 179: "sysinfo", 214: "brk", 215: "munmap", 216: "mremap",
        220: "clone", 221: "execve", 222: "mmap2", 226: "mprotect", 233: "madvise", 260: "wait4",
        261: "prlimit64", 278: "getrandom", 291: "statx", 403: "clock_gettime64", 407: "clock_nanosleep_time64",
        422: "futex_time64",
    ]

    static func name(_ number: UInt32) -> String {
        names[number] ?? "syscall_\(number)"
    }
}
