/// What to run and how to isolate it: the runtime's input, built from `vlab container run`
/// flags or from an OCI bundle's `config.json` (`OCIBundle`).
public struct ContainerConfiguration: Sendable, Codable, Equatable {
    /// A name for the container; the runtime makes one up when nil. Letters, digits, `.`, `_`, `-`.
    public var id: String?
    /// The bottom (read-only) layer: a directory holding the container's root filesystem.
    public var rootfs: String
    /// More read-only layers stacked on `rootfs`, bottom to top (later ones win).
    public var layers: [String]
    /// How the container gets its private root: share the layers (copy-on-write) or copy them.
    public var storage: RootStorage
    /// Where the container's writes go. Nil: a temporary directory removed on exit; set it
    /// to keep the writes and turn them into a layer with `Layers.commit`.
    public var upperDirectory: String?
    /// Mount the container's root read-only.
    public var readonlyRoot: Bool
    public var hostname: String?
    public var network: NetworkMode
    public var limits: ResourceLimits
    public var process: ProcessConfiguration
    /// Extra mounts (from an OCI bundle), done inside the new root before the switch.
    public var mounts: [MountConfiguration]
    /// Paths hidden from the container (a /dev/null or an empty read-only tmpfs over them).
    public var maskedPaths: [String]
    /// Paths the container sees read-only.
    public var readonlyPaths: [String]
    /// The namespaces to create. Mount and PID are required by the root switch and cleanup.
    public var namespaces: Set<Namespace>
    /// A documented, deliberately weaker mode for the escape lab.
    public var teachingMode: TeachingMode?
    /// Kill the container after this many seconds (the runtime reports it as a timeout).
    public var timeoutSeconds: Double?

    public init(
        id: String? = nil, rootfs: String, layers: [String] = [], storage: RootStorage = .sharedLayers,
        upperDirectory: String? = nil, readonlyRoot: Bool = false, hostname: String? = nil,
        network: NetworkMode = .loopback, limits: ResourceLimits = ResourceLimits(),
        process: ProcessConfiguration, mounts: [MountConfiguration] = [],
        maskedPaths: [String] = ContainerConfiguration.defaultMaskedPaths,
        readonlyPaths: [String] = ContainerConfiguration.defaultReadonlyPaths,
        namespaces: Set<Namespace> = Namespace.defaultSet, teachingMode: TeachingMode? = nil,
        timeoutSeconds: Double? = nil
    ) {
        self.id = id
        self.rootfs = rootfs
        self.layers = layers
        self.storage = storage
        self.upperDirectory = upperDirectory
        self.readonlyRoot = readonlyRoot
        self.hostname = hostname
        self.network = network
        self.limits = limits
        self.process = process
        self.mounts = mounts
        self.maskedPaths = maskedPaths
        self.readonlyPaths = readonlyPaths
        self.namespaces = namespaces
        self.teachingMode = teachingMode
        self.timeoutSeconds = timeoutSeconds
    }

    /// Kernel interfaces that leak host information or allow host changes (the list
    /// runc and Docker mask by default).
    public static let defaultMaskedPaths = [
        "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list",
        "/proc/sched_debug", "/proc/scsi", "/proc/acpi", "/sys/firmware",
    ]
    public static let defaultReadonlyPaths = [
        "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
    ]
}

public enum RootStorage: String, Sendable, Codable, CaseIterable {
    /// The seed's "sharing most resources with the host and creating private copies on
    /// demand": overlayfs over the shared read-only layers.
    case sharedLayers = "share"
    /// The seed's "duplicating common resources to each partition": a full private copy.
    case copy
    /// Neither: the rootfs itself, bind-mounted with every mount below it, all read-only.
    /// For sandboxes that show the host's own files (the grader runs tests with rootfs "/").
    case readOnlyBind = "bind-ro"
}

public enum NetworkMode: String, Sendable, Codable, CaseIterable {
    /// A new network namespace with no interface up at all.
    case none
    /// A new network namespace with only the loopback interface, brought up.
    case loopback
}

public enum TeachingMode: String, Sendable, Codable, CaseIterable {
    /// The classic Unix chroot jail: `chroot(2)` instead of `pivot_root`, no PID namespace,
    /// capabilities kept, inherited descriptors left open, no `no_new_privs`, no device
    /// restrictions. It exists so the escape matrix can show what each mitigation stops.
    case chroot
}

public enum Namespace: String, Sendable, Codable, CaseIterable, Comparable {
    case mount, pid, uts, ipc, network, cgroup, user

    public static let defaultSet: Set<Namespace> = [.mount, .pid, .uts, .ipc, .network, .cgroup]

    public static func < (a: Namespace, b: Namespace) -> Bool { a.rawValue < b.rawValue }
}

/// Limits enforced through control groups. Nil means "no limit requested".
public struct ResourceLimits: Sendable, Codable, Equatable {
    public var memoryBytes: UInt64?
    public var pids: Int?
    /// CPUs' worth of time per period: 0.5 is half of one CPU.
    public var cpus: Double?
    /// Device access rules (OCI linux.resources.devices), applied in order after "deny all".
    public var devices: [DeviceRule]?

    public init(memoryBytes: UInt64? = nil, pids: Int? = nil, cpus: Double? = nil, devices: [DeviceRule]? = nil) {
        self.memoryBytes = memoryBytes
        self.pids = pids
        self.cpus = cpus
        self.devices = devices
    }

    public var isEmpty: Bool { memoryBytes == nil && pids == nil && cpus == nil && devices == nil }
}

public struct DeviceRule: Sendable, Codable, Equatable {
    public var allow: Bool
    /// "a" (all), "c" (character) or "b" (block).
    public var type: String
    public var major: Int64?
    public var minor: Int64?
    /// Some of "r", "w", "m".
    public var access: String

    public init(allow: Bool, type: String = "a", major: Int64? = nil, minor: Int64? = nil, access: String = "rwm") {
        self.allow = allow
        self.type = type
        self.major = major
        self.minor = minor
        self.access = access
    }
}

public struct ProcessConfiguration: Sendable, Codable, Equatable {
    /// argv; the first element is looked up in the container's PATH when it has no slash.
    public var arguments: [String]
    /// "KEY=value" strings.
    public var environment: [String]
    public var workingDirectory: String
    public var uid: UInt32
    public var gid: UInt32
    /// Capability names ("CAP_CHOWN") the process keeps; nil means the default set.
    public var capabilities: [String]?
    public var noNewPrivileges: Bool
    public var rlimits: [ResourceLimit]

    public init(
        arguments: [String], environment: [String] = ProcessConfiguration.defaultEnvironment,
        workingDirectory: String = "/", uid: UInt32 = 0, gid: UInt32 = 0, capabilities: [String]? = nil,
        noNewPrivileges: Bool = true, rlimits: [ResourceLimit] = []
    ) {
        self.arguments = arguments
        self.environment = environment
        self.workingDirectory = workingDirectory
        self.uid = uid
        self.gid = gid
        self.capabilities = capabilities
        self.noNewPrivileges = noNewPrivileges
        self.rlimits = rlimits
    }

    public static let defaultEnvironment = [
        "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/root", "TERM=xterm",
    ]
    /// The default capability set: enough for a root shell to manage its own files and
    /// processes; no CAP_SYS_ADMIN (mount, pivot_root), CAP_SYS_CHROOT, CAP_MKNOD,
    /// CAP_SYS_PTRACE, CAP_NET_RAW, CAP_SYS_MODULE, CAP_SETPCAP ...
    public static let defaultCapabilities = [
        "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL",
        "CAP_SETGID", "CAP_SETUID", "CAP_NET_BIND_SERVICE", "CAP_AUDIT_WRITE",
    ]
}

public struct ResourceLimit: Sendable, Codable, Equatable {
    /// "RLIMIT_NOFILE" and so on.
    public var type: String
    public var soft: UInt64
    public var hard: UInt64

    public init(type: String, soft: UInt64, hard: UInt64) {
        self.type = type
        self.soft = soft
        self.hard = hard
    }
}

public struct MountConfiguration: Sendable, Codable, Equatable {
    public var destination: String
    public var type: String
    public var source: String
    public var options: [String]

    public init(destination: String, type: String, source: String, options: [String] = []) {
        self.destination = destination
        self.type = type
        self.source = source
        self.options = options
    }
}

/// Sizes as users write them: `64M`, `1G`, `512k`, `4096`.
public enum ByteSize {
    public static func parse(_ text: String) throws(ContainerError) -> UInt64 {
        let trimmed = text.trimmingSpaces()
        var digits = trimmed
        var multiplier: UInt64 = 1
        if let last = trimmed.last, !last.isNumber {
            digits = String(trimmed.dropLast())
            switch last {
            case "k", "K": multiplier = 1 << 10
            case "m", "M": multiplier = 1 << 20
            case "g", "G": multiplier = 1 << 30
            case "b", "B": multiplier = 1
            default:
                throw ContainerError("invalid size '\(text)': expected a number with an optional K, M or G suffix")
            }
        }
        guard !digits.isEmpty, digits.allSatisfy(\.isASCII), let value = UInt64(digits) else {
            throw ContainerError("invalid size '\(text)': expected a number with an optional K, M or G suffix")
        }
        let (bytes, overflow) = value.multipliedReportingOverflow(by: multiplier)
        guard !overflow, bytes > 0 else {
            throw ContainerError("invalid size '\(text)': must be between 1 byte and 16 EiB")
        }
        return bytes
    }
}

extension String {
    public func trimmingSpaces() -> String {
        var s = Substring(self)
        while let c = s.first, c.isWhitespace { s = s.dropFirst() }
        while let c = s.last, c.isWhitespace { s = s.dropLast() }
        return String(s)
    }
}

/// Container ids name directories and cgroups, so they are restricted to a safe alphabet.
public enum ContainerID {
    public static func validate(_ id: String) throws(ContainerError) {
        guard !id.isEmpty, id.count <= 64,
            id.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == ".") }),
            id.first != "."
        else {
            throw ContainerError("invalid container id '\(id)': use 1-64 letters, digits, '.', '_' or '-', not starting with '.'")
        }
    }
}
