#if canImport(Glibc)
import Glibc
#endif
#if os(Linux)
import Containers
#endif
import Foundation
import Synchronization

/// What isolation this machine can give a child, found once by trying it.
public struct SandboxCapabilities: Equatable, Sendable {
    public enum Namespaces: Equatable, Sendable {
        /// Containers from the Containers runtime: mount, PID, network, IPC, UTS and cgroup namespaces,
        /// pivot_root into a read-only view of the host, capabilities dropped (needs root).
        case privileged
        case unavailable
    }

    public var namespaces: Namespaces
    public var controlGroups: ControlGroupSupport?
    public var hasPrlimit: Bool

    public init(namespaces: Namespaces, controlGroups: ControlGroupSupport?, hasPrlimit: Bool) {
        self.namespaces = namespaces
        self.controlGroups = controlGroups
        self.hasPrlimit = hasPrlimit
    }

    /// No isolation at all: for machines where containers cannot run, and for tests of the fallback paths.
    public static let none = SandboxCapabilities(namespaces: .unavailable, controlGroups: nil, hasPrlimit: false)

    /// Runs one small container (`/bin/true` with memory and process limits) and says what worked.
    public static func probe() -> SandboxCapabilities {
        let hasPrlimit = Sandbox.findExecutable("prlimit") != nil
        #if os(Linux)
        guard getuid() == 0 else {
            return SandboxCapabilities(namespaces: .unavailable, controlGroups: nil, hasPrlimit: hasPrlimit)
        }
        let groups = ControlGroupSupport.current()
        let limits = ResourceLimits(memoryBytes: groups?.enforcesMemory == true ? 64 << 20 : nil,
                                    pids: groups?.enforcesProcesses == true ? 16 : nil)
        if Sandbox.probeContainer(limits: limits) {
            return SandboxCapabilities(namespaces: .privileged, controlGroups: groups, hasPrlimit: hasPrlimit)
        }
        if Sandbox.probeContainer(limits: ResourceLimits()) {
            return SandboxCapabilities(namespaces: .privileged, controlGroups: nil, hasPrlimit: hasPrlimit)
        }
        #endif
        return SandboxCapabilities(namespaces: .unavailable, controlGroups: nil, hasPrlimit: hasPrlimit)
    }
}

/// How much a sandboxed test may do besides running code: chosen per lab in its rubric (`sandbox:`).
public enum SandboxProfile: String, Equatable, Sendable, Codable, CaseIterable {
    /// The runtime's default capability set (no mount, no namespaces, no ptrace) and no_new_privs.
    case standard
    /// For labs whose tests start containers themselves (Lab 07): the test process keeps all of root's
    /// capabilities and sees the host's cgroup tree writable (its own control groups nest under it), and
    /// no cgroup namespace hides where it is. Files, network, memory, processes and time stay limited.
    case containers
}

/// The limits of one sandboxed run.
public struct SandboxLimits: Equatable, Sendable {
    public var wallTime: Double
    public var memoryBytes: UInt64?
    public var maxProcesses: Int?
    /// stdout plus stderr beyond this kills the run.
    public var outputBytes: Int = 32 << 20
    /// Largest file the child may write (RLIMIT_FSIZE).
    public var fileSizeBytes: UInt64 = 256 << 20

    public init(wallTime: Double, memoryBytes: UInt64? = nil, maxProcesses: Int? = nil) {
        self.wallTime = wallTime
        self.memoryBytes = memoryBytes
        self.maxProcesses = maxProcesses
    }
}

/// One command to run in the sandbox.
struct SandboxedCommand {
    /// argv, using `Sandbox.workspacePath(for:)` and `scratchPath(for:)` paths.
    var arguments: [String]
    var environment: [String: String]
    /// The host directory the command works in; seen at `Sandbox.fixedWorkspace` when namespaces exist.
    var workspace: String
    var workspaceReadOnly: Bool
    /// A writable host directory seen at `Sandbox.fixedScratch` (temporary files, the event stream).
    var scratch: String?
    /// Host directories replaced by an empty read-only tmpfs inside the sandbox: the course (with the
    /// reference solutions), the grader's cache, the output folder and the submissions.
    var hiddenDirectories: [String]
    var isolateNetwork: Bool
    var limits: SandboxLimits
    var profile: SandboxProfile = .standard
}

/// The outcome of a sandboxed run, with what the kernel reported about limits.
struct SandboxRun: Sendable {
    var result: ChildProcessResult
    /// How the command itself ended: the sandbox shell's `128 + N` status is turned back into signal N.
    var termination: ProcessTermination
    var oomKilled: Bool
    var processLimitHit: Bool
    var peakMemoryBytes: UInt64?
}

/// Runs commands with wall-time, memory and process-count limits, no network and a private, read-only view
/// of the file system, using what `SandboxCapabilities` found.
///
/// Where containers work (root on Linux), every command is a container of the Containers runtime, the same
/// one `vlab container run` uses: new mount, PID, network, IPC, UTS and cgroup namespaces; the host's root
/// bind-mounted read-only (every mount below it too) and pivoted into; a private /tmp with the workspace
/// bind-mounted at a fixed path (read-only for tests) and the scratch directory writable beside it; the
/// grader's folders covered by empty read-only tmpfs mounts; a fresh /proc; the runtime's cgroup limits
/// (memory with OOM kills counted, processes with refused forks counted); capabilities dropped and
/// no_new_privs; no core dumps and a file-size cap. When the wall time runs out the container's PID 1 is
/// killed, and the kernel kills everything else in its PID namespace.
///
/// Elsewhere the command runs in its own process group, with `prlimit` rlimits where that exists.
///
/// The fixed workspace path has a second purpose: SwiftPM's build state is full of absolute paths, so a copy of a
/// warm build tree is only warm when it is seen at the path it was built at.
struct Sandbox: Sendable {
    static let fixedRoot = "/tmp/vlab-grade"
    static let fixedWorkspace = "/tmp/vlab-grade/workspace"
    static let fixedScratch = "/tmp/vlab-grade/scratch"
    /// The Containers runtime's state directory for the grader's containers.
    static let stateRoot = "/run/vlab-grade"

    let capabilities: SandboxCapabilities

    var usesNamespaces: Bool { capabilities.namespaces != .unavailable }

    init(capabilities: SandboxCapabilities) throws(GradingError) {
        self.capabilities = capabilities
    }

    func workspacePath(for hostPath: String) -> String { usesNamespaces ? Sandbox.fixedWorkspace : hostPath }
    func scratchPath(for hostPath: String) -> String { usesNamespaces ? Sandbox.fixedScratch : hostPath }

    /// Human-readable list of the limits this run enforces and how; goes into every report.
    func enforcedLimits(for command: SandboxedCommand) -> [String] {
        var lines = ["wall time \(formatSeconds(command.limits.wallTime)): SIGKILL to "
                     + (usesNamespaces ? "the container's PID 1, which ends its PID namespace" : "the process group")]
        let groups = usesNamespaces ? capabilities.controlGroups : nil
        if let memory = command.limits.memoryBytes {
            if let where_ = groups?.memory {
                lines.append("memory \(MemorySize.describe(memory)): \(where_) memory controller (Containers runtime), OOM kills counted")
            } else if capabilities.hasPrlimit {
                lines.append("memory \(MemorySize.describe(memory)): approximate, address-space rlimit (prlimit --as) with 1 GiB headroom")
            } else {
                lines.append("memory: NOT limited (no cgroup memory controller, no prlimit)")
            }
        }
        if let processes = command.limits.maxProcesses {
            if let where_ = groups?.processes {
                lines.append("processes and threads \(processes): \(where_) pids controller (Containers runtime)")
            } else if capabilities.hasPrlimit {
                lines.append("processes \(processes): RLIMIT_NPROC per user (not enforced for root)")
            } else {
                lines.append("processes: NOT limited (no cgroup pids controller, no prlimit)")
            }
        }
        if command.isolateNetwork {
            lines.append(usesNamespaces ? "network: none (new network namespace, loopback only)" : "network: NOT isolated (no namespaces)")
        }
        if usesNamespaces {
            lines.append("files: read-only view of the host (pivot_root, recursive read-only bind), private /tmp; workspace "
                         + "\(command.workspaceReadOnly ? "read-only" : "writable") at \(Sandbox.fixedWorkspace)"
                         + (command.scratch != nil ? ", scratch writable at \(Sandbox.fixedScratch)" : "")
                         + ", grader folders hidden")
            switch command.profile {
            case .standard:
                lines.append("privileges: the container runtime's default capabilities (no mount, ptrace, mknod, raw network), no_new_privs")
            case .containers:
                lines.append("privileges (sandbox profile `containers`): all of root's capabilities and the host's cgroup tree "
                             + "writable, so the tests can start containers; no cgroup namespace")
            }
        } else {
            lines.append("files: NOT isolated (no mount namespace)")
        }
        lines.append("output: \(command.limits.outputBytes >> 20) MiB, then killed; files \(command.limits.fileSizeBytes >> 20) MiB; "
                     + "no core dumps" + (usesNamespaces ? "" : capabilities.hasPrlimit ? " (prlimit)" : " (NOT enforced: no prlimit)"))
        return lines
    }

    func run(_ command: SandboxedCommand, name: String) throws(GradingError) -> SandboxRun {
        #if os(Linux)
        if usesNamespaces { return try runInContainer(command) }
        #endif
        return try runInProcessGroup(command)
    }

    // MARK: Without containers

    private func runInProcessGroup(_ command: SandboxedCommand) throws(GradingError) -> SandboxRun {
        var limited: [String] = []
        if capabilities.hasPrlimit, let prlimit = Sandbox.findExecutable("prlimit") {
            limited = [prlimit, "--core=0", "--fsize=\(command.limits.fileSizeBytes)"]
            if let memory = command.limits.memoryBytes { limited.append("--as=\(memory + (1 << 30))") }
            if let processes = command.limits.maxProcesses { limited.append("--nproc=\(processes)") }
            limited.append("--")
        }
        let script = "cd \(shellQuoted(command.workspace)) || exit 125\nexec \"$@\"\n"
        var child = ChildProcess(["/bin/sh", "-c", script, "vlab-sandbox"] + limited + command.arguments,
                                 environment: command.environment)
        child.timeout = command.limits.wallTime
        child.outputKillBytes = command.limits.outputBytes
        let result = try child.run()
        return SandboxRun(result: result, termination: result.termination, oomKilled: false, processLimitHit: false,
                          peakMemoryBytes: nil)
    }

    // MARK: In a container

    #if os(Linux)
    /// The container a command runs in.
    func configuration(for command: SandboxedCommand) -> ContainerConfiguration {
        // PID 1 of a PID namespace ignores signals it has no handler for, which would hide crashes: the
        // command runs as a child of a shell that reports a death by signal N as status 128 + N.
        var process = ProcessConfiguration(
            arguments: ["/bin/sh", "-c", "\"$@\"\nexit $?", "vlab-sandbox"] + command.arguments,
            environment: command.environment.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" },
            workingDirectory: Sandbox.fixedWorkspace,
            rlimits: [ResourceLimit(type: "RLIMIT_CORE", soft: 0, hard: 0),
                      ResourceLimit(type: "RLIMIT_FSIZE", soft: command.limits.fileSizeBytes, hard: command.limits.fileSizeBytes)])
        var namespaces = Namespace.defaultSet
        if !command.isolateNetwork { namespaces.remove(.network) }
        var mounts = [
            MountConfiguration(destination: "/proc", type: "proc", source: "proc", options: ["nosuid", "noexec", "nodev"]),
            MountConfiguration(destination: "/dev", type: "tmpfs", source: "tmpfs", options: ["nosuid", "mode=755", "size=64k"]),
            MountConfiguration(destination: "/dev/shm", type: "tmpfs", source: "shm", options: ["nosuid", "noexec", "nodev", "mode=1777", "size=256m"]),
            // Memory written here is charged to the container's memory limit.
            MountConfiguration(destination: "/tmp", type: "tmpfs", source: "tmpfs", options: ["nosuid", "nodev", "mode=1777", "size=4g"]),
        ]
        // A sysfs instance belongs to a network namespace; without a new one the host's /sys (read-only in
        // the bound view) is what there is, and a second read-only mount of its superblock is refused.
        if command.isolateNetwork {
            mounts.append(MountConfiguration(destination: "/sys", type: "sysfs", source: "sysfs", options: ["nosuid", "noexec", "nodev", "ro"]))
        }
        if command.profile == .containers {
            process.capabilities = ContainerRuntime.heldCapabilities
            namespaces.remove(.cgroup)
            mounts.append(MountConfiguration(destination: "/sys/fs/cgroup", type: "bind", source: "/sys/fs/cgroup", options: ["rbind"]))
        }
        mounts.append(MountConfiguration(destination: Sandbox.fixedWorkspace, type: "bind", source: command.workspace,
                                         options: command.workspaceReadOnly ? ["bind", "ro"] : ["bind"]))
        if let scratch = command.scratch {
            mounts.append(MountConfiguration(destination: Sandbox.fixedScratch, type: "bind", source: scratch, options: ["bind"]))
        }
        for directory in outermost(command.hiddenDirectories) {
            mounts.append(MountConfiguration(destination: directory, type: "tmpfs", source: "vlab-hidden",
                                             options: ["ro", "nosuid", "nodev", "noexec", "size=16k", "mode=0555"]))
        }
        var limits = ResourceLimits(memoryBytes: command.limits.memoryBytes, pids: command.limits.maxProcesses)
        if capabilities.controlGroups?.enforcesMemory != true { limits.memoryBytes = nil }
        if capabilities.controlGroups?.enforcesProcesses != true { limits.pids = nil }
        return ContainerConfiguration(
            rootfs: "/", storage: .readOnlyBind, hostname: "vlab-sandbox", network: .loopback, limits: limits,
            process: process, mounts: mounts, namespaces: namespaces)
    }

    private func runInContainer(_ command: SandboxedCommand) throws(GradingError) -> SandboxRun {
        let configuration = configuration(for: command)
        let runtime = ContainerRuntime(stateRoot: Sandbox.stateRoot)
        let started = ContainerSlot()
        var child = ChildProcess(command.arguments, environment: command.environment)
        child.timeout = command.limits.wallTime
        child.outputKillBytes = command.limits.outputBytes
        child.launcher = { (input, output, error) throws(GradingError) in
            do {
                let container = try runtime.start(configuration, io: ContainerIO(input: input, output: output, error: error))
                started.value.withLock { $0 = container }
                return container.pid
            } catch {
                throw GradingError("sandbox: cannot start the container: \(error)")
            }
        }
        child.onKill = { started.value.withLock { $0?.kill() } }
        child.monitor = {
            let hits: Int? = started.value.withLock { $0?.usage().pidsLimitHits ?? nil }
            return (hits ?? 0) > 0 ? "process limit reached" : nil
        }
        let result: ChildProcessResult
        do {
            result = try child.run()
        } catch {
            try? started.value.withLock { $0 }?.finish()
            throw error
        }
        guard let container = started.value.withLock({ $0 }) else { throw GradingError("sandbox: the container vanished") }
        let usage = container.usage()
        do {
            try container.finish()
        } catch {
            throw GradingError("sandbox: cannot remove container \(container.id): \(error)")
        }
        var termination = result.termination
        // The container's first shell reports a command killed by signal N as exit status 128 + N.
        if case .exited(let status) = termination, status > 128, status < 128 + 65 {
            termination = .signaled(status - 128)
        }
        // The memory controller counts OOM kills in the whole subtree: a test that starts containers of its
        // own (Lab 07) sees its containers' kills here. The run was ended by the OOM killer only when the
        // command died of SIGKILL.
        let oomKilled = (usage.oomKills ?? 0) > 0 && termination == .signaled(SIGKILL)
        return SandboxRun(
            result: result, termination: termination,
            oomKilled: oomKilled, processLimitHit: (usage.pidsLimitHits ?? 0) > 0,
            peakMemoryBytes: usage.memoryPeakBytes)
    }

    /// The container of one run, shared with the kill and monitor callbacks of its child process.
    private final class ContainerSlot: Sendable {
        let value = Mutex<RunningContainer?>(nil)
    }

    /// Starts `/bin/true` the way `run` starts a command: true when it ran and exited 0.
    static func probeContainer(limits: ResourceLimits) -> Bool {
        let sandbox = Sandbox(unchecked: SandboxCapabilities(namespaces: .privileged, controlGroups: nil, hasPrlimit: false))
        var configuration = sandbox.configuration(for: SandboxedCommand(
            arguments: ["/bin/true"], environment: [:], workspace: "/", workspaceReadOnly: true, scratch: nil,
            hiddenDirectories: [], isolateNetwork: true, limits: SandboxLimits(wallTime: 10)))
        configuration.limits = limits
        let null = open("/dev/null", O_RDWR | O_CLOEXEC)
        guard null >= 0 else { return false }
        defer { close(null) }
        guard let container = try? ContainerRuntime(stateRoot: Sandbox.stateRoot)
            .start(configuration, io: ContainerIO(input: null, output: null, error: null)) else { return false }
        let termination = try? container.wait()
        try? container.finish()
        return termination == .exited(0)
    }
    #endif

    private init(unchecked capabilities: SandboxCapabilities) {
        self.capabilities = capabilities
    }

    /// Hidden directories that exist, minus those inside another, and never one containing the mount points.
    private func outermost(_ directories: [String]) -> [String] {
        let existing = Set(directories.map { URL(fileURLWithPath: $0).standardizedFileURL.path }
            .filter { FileManager.default.fileExists(atPath: $0) })
        return existing.filter { directory in
            !Sandbox.fixedRoot.hasPrefix(directory + "/") && Sandbox.fixedRoot != directory
                && !existing.contains { $0 != directory && directory.hasPrefix($0 + "/") }
        }.sorted()
    }

    static func findExecutable(_ name: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for directory in path.split(separator: ":").map(String.init) + ["/usr/bin", "/bin", "/usr/sbin", "/sbin"] {
            let candidate = "\(directory)/\(name)"
            if access(candidate, X_OK) == 0 { return candidate }
        }
        return nil
    }
}

func shellQuoted(_ text: String) -> String {
    "'" + text.replacingOccurrences(of: "'", with: "'\\''") + "'"
}

func formatSeconds(_ seconds: Double) -> String {
    seconds == seconds.rounded() ? "\(Int(seconds)) s" : String(format: "%.1f s", seconds)
}
