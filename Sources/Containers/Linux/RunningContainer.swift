#if os(Linux)
import ContainerSupport
import CContainers
import Glibc

/// The descriptors a container's command gets as its standard input, output and error.
public struct ContainerIO: Sendable {
    public var input: Int32
    public var output: Int32
    public var error: Int32

    public init(input: Int32, output: Int32, error: Int32) {
        self.input = input
        self.output = output
        self.error = error
    }
}

/// A container started by `ContainerRuntime.start`, for callers that run their own event loop
/// (the grader's sandbox drains the command's output while it runs). Unlike `run`, the runtime
/// does not touch signals here: the caller decides when to kill.
///
/// `pid`, `kill()` and `usage()` may be used from any thread (a system call on the pidfd, reads
/// of cgroup files); `finish()` is called once, by the owner, after the container's init has
/// been waited for, by `wait()` or by the caller's own `waitpid(pid)`.
public final class RunningContainer: @unchecked Sendable {
    private let launched: LaunchedContainer
    public let id: String
    /// The container's init (its PID 1) as the host sees it; a child of the calling process.
    public let pid: pid_t
    /// The limits in force and where ("memory 64 MiB (cgroup v1 /sys/fs/cgroup/memory/...)").
    public let appliedLimits: [String]
    private let pidfd: Int32

    init(_ launched: LaunchedContainer) {
        self.launched = launched
        id = launched.record.id
        pid = launched.child.pid
        pidfd = launched.child.pidfd
        appliedLimits = launched.appliedLimits
    }

    /// SIGKILL to the container's PID 1: the kernel then kills every process in its PID namespace.
    public func kill() {
        _ = vlab_pidfd_send_signal(pidfd, SIGKILL)
    }

    /// What the kernel has counted against the limits so far (OOM kills, refused forks...).
    public func usage() -> LimitsUsage {
        launched.record.controlGroups.usage()
    }

    /// Blocks until the container's init ends; nil if the caller already reaped it.
    public func wait() throws(ContainerError) -> Kernel.Termination? {
        do {
            return try Kernel.wait(launched.child)
        } catch where error.errno == ECHILD {
            return nil
        }
    }

    /// Kills what is left and removes every mount, cgroup and directory the container had.
    public func finish() throws(ContainerError) {
        try launched.destroy()
    }
}

extension ContainerRuntime {
    /// Starts `configuration` with `io` as the command's stdin, stdout and stderr and returns
    /// once its command is running (or throws the init's error). The caller must `finish()` it.
    public func start(_ configuration: ContainerConfiguration, io: ContainerIO) throws(ContainerError) -> RunningContainer {
        let launched = try launch(configuration, mode: .run, io: io)
        return RunningContainer(launched)
    }

    /// The init the runtime re-executes in the new namespaces unless told otherwise: the small
    /// `vlab-init` executable beside this program when there is one (it starts much faster than
    /// the whole `vlab`), else this program itself as `vlab container __init`.
    public static let defaultInit: (executable: String, arguments: [String]) = {
        var buffer = [CChar](repeating: 0, count: 4096)
        let count = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        if count > 0 {
            let path = String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
            if let slash = path.lastIndex(of: "/") {
                let beside = String(path[..<slash]) + "/vlab-init"
                if access(beside, X_OK) == 0 { return (beside, ["vlab-init"]) }
                let vlab = String(path[..<slash]) + "/vlab"
                if !path.hasSuffix("/vlab"), access(vlab, X_OK) == 0 { return (vlab, ["vlab", "container", "__init"]) }
            }
        }
        return ("/proc/self/exe", ["vlab", "container", "__init"])
    }()
}
#endif
