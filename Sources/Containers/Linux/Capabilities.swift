#if os(Linux)
import ContainerSupport
/// Linux capability numbers (linux/capability.h), by their CAP_ names.
enum Capability {
    static let numbers: [String: Int32] = [
        "CAP_CHOWN": 0, "CAP_DAC_OVERRIDE": 1, "CAP_DAC_READ_SEARCH": 2, "CAP_FOWNER": 3,
        "CAP_FSETID": 4, "CAP_KILL": 5, "CAP_SETGID": 6, "CAP_SETUID": 7, "CAP_SETPCAP": 8,
        "CAP_LINUX_IMMUTABLE": 9, "CAP_NET_BIND_SERVICE": 10, "CAP_NET_BROADCAST": 11,
        "CAP_NET_ADMIN": 12, "CAP_NET_RAW": 13, "CAP_IPC_LOCK": 14, "CAP_IPC_OWNER": 15,
        "CAP_SYS_MODULE": 16, "CAP_SYS_RAWIO": 17, "CAP_SYS_CHROOT": 18, "CAP_SYS_PTRACE": 19,
        "CAP_SYS_PACCT": 20, "CAP_SYS_ADMIN": 21, "CAP_SYS_BOOT": 22, "CAP_SYS_NICE": 23,
        "CAP_SYS_RESOURCE": 24, "CAP_SYS_TIME": 25, "CAP_SYS_TTY_CONFIG": 26, "CAP_MKNOD": 27,
        "CAP_LEASE": 28, "CAP_AUDIT_WRITE": 29, "CAP_AUDIT_CONTROL": 30, "CAP_SETFCAP": 31,
        "CAP_MAC_OVERRIDE": 32, "CAP_MAC_ADMIN": 33, "CAP_SYSLOG": 34, "CAP_WAKE_ALARM": 35,
        "CAP_BLOCK_SUSPEND": 36, "CAP_AUDIT_READ": 37, "CAP_PERFMON": 38, "CAP_BPF": 39,
        "CAP_CHECKPOINT_RESTORE": 40,
    ]

    /// The bit mask of `names`, or an error naming the first unknown one.
    static func mask(_ names: [String]) throws(ContainerError) -> UInt64 {
        var mask: UInt64 = 0
        for name in names {
            guard let number = numbers[name.uppercased()] ?? numbers["CAP_" + name.uppercased()] else {
                throw ContainerError("unknown capability '\(name)'")
            }
            mask |= 1 << UInt64(number)
        }
        return mask
    }

    /// The highest capability this kernel knows.
    static func lastCapability() -> Int32 {
        Int32((Kernel.readFile("/proc/sys/kernel/cap_last_cap") ?? "40").trimmingSpaces()) ?? 40
    }
}
#endif

#if os(Linux)
extension ContainerRuntime {
    /// The names of the capabilities this process holds (its permitted set), for a container
    /// that must keep all of root's (the grader's `containers` sandbox profile, whose tests
    /// start containers themselves). A process cannot give a child more than it has: inside
    /// another container root may lack some.
    public static var heldCapabilities: [String] {
        guard let held = try? Kernel.capabilities().permitted else { return [] }
        return Capability.numbers.filter { $0.value < 64 && held & (1 << UInt64($0.value)) != 0 }.keys.sorted()
    }
}
#endif
