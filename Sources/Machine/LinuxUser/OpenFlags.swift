#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// `openat` flags as the RV32 Linux ABI numbers them (asm-generic/fcntl.h, octal), their
/// translation to the host's numbering, and their names for the trace.
enum GuestOpenFlags {
    static let accessMode: UInt32 = 0o3
    static let writeOnly: UInt32 = 0o1
    static let readWrite: UInt32 = 0o2
    static let create: UInt32 = 0o100
    static let exclusive: UInt32 = 0o200
    static let noControllingTerminal: UInt32 = 0o400
    static let truncate: UInt32 = 0o1000
    static let append: UInt32 = 0o2000
    static let nonBlocking: UInt32 = 0o4000
    static let dataSync: UInt32 = 0o10000
    static let async: UInt32 = 0o20000
    static let direct: UInt32 = 0o40000
    static let largeFile: UInt32 = 0o100000
    static let directory: UInt32 = 0o200000
    static let noFollow: UInt32 = 0o400000
    static let noAccessTime: UInt32 = 0o1000000
    static let closeOnExec: UInt32 = 0o2000000
    static let sync: UInt32 = 0o4000000     // __O_SYNC; O_SYNC is this | O_DSYNC
    static let path: UInt32 = 0o10000000
    static let temporaryFile: UInt32 = 0o20000000

    /// The host's flags for the guest's, or EINVAL for an access mode of 3 or a flag this
    /// kernel does not pass on (O_ASYNC, O_DIRECT, O_NOATIME, O_PATH, O_TMPFILE, unknown bits):
    /// refused where the trace shows it, never dropped silently.
    static func hostFlags(_ guest: UInt32) -> Result<Int32, LinuxErrno> {
        var host: Int32
        switch guest & accessMode {
        case 0: host = O_RDONLY
        case writeOnly: host = O_WRONLY
        case readWrite: host = O_RDWR
        default: return .failure(.EINVAL)
        }
        let translated: [(guest: UInt32, host: Int32)] = [
            (create, O_CREAT), (exclusive, O_EXCL), (noControllingTerminal, O_NOCTTY), (truncate, O_TRUNC),
            (append, O_APPEND), (nonBlocking, O_NONBLOCK), (dataSync, O_DSYNC), (sync, O_SYNC),
            (directory, O_DIRECTORY), (noFollow, O_NOFOLLOW), (closeOnExec, O_CLOEXEC),
            (largeFile, 0),  // host offsets are 64-bit already
        ]
        var rest = guest & ~accessMode
        for (g, h) in translated where rest & g != 0 {
            host |= h
            rest &= ~g
        }
        guard rest == 0 else { return .failure(.EINVAL) }
        // The vlab process never execs the guest's files into a child, but it may run children
        // itself (a test harness, the grader): they must not inherit guest files.
        return .success(host | O_CLOEXEC)
    }

    /// "O_WRONLY|O_CREAT|O_TRUNC", in the order qemu-riscv32 -strace prints them.
    static func describe(_ guest: UInt32) -> String {
        var parts: [String]
        switch guest & accessMode {
        case 0: parts = ["O_RDONLY"]
        case writeOnly: parts = ["O_WRONLY"]
        case readWrite: parts = ["O_RDWR"]
        default: parts = ["O_ACCMODE"]
        }
        let names: [(UInt32, String)] = [
            (append, "O_APPEND"), (create, "O_CREAT"), (directory, "O_DIRECTORY"), (exclusive, "O_EXCL"),
            (largeFile, "O_LARGEFILE"), (noControllingTerminal, "O_NOCTTY"), (noFollow, "O_NOFOLLOW"),
            (nonBlocking, "O_NONBLOCK"), (dataSync, "O_DSYNC"), (sync, "__O_SYNC"), (truncate, "O_TRUNC"),
            (direct, "O_DIRECT"), (noAccessTime, "O_NOATIME"), (closeOnExec, "O_CLOEXEC"), (path, "O_PATH"),
            (temporaryFile, "__O_TMPFILE"), (async, "FASYNC"),
        ]
        var rest = guest & ~accessMode
        for (bit, name) in names where rest & bit != 0 {
            parts.append(name)
            rest &= ~bit
        }
        if rest != 0 { parts.append("0x" + String(rest, radix: 16)) }
        return parts.joined(separator: "|")
    }
}
