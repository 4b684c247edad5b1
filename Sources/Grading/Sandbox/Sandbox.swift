#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// What isolation this machine can give a child, found once by trying it.
public struct SandboxCapabilities: Equatable, Sendable {
    public enum Namespaces: Equatable, Sendable {
        /// Mount, network, PID, IPC and UTS namespaces, as root.
        case privileged
        /// The same inside a user namespace that maps the grader's user to root.
        case userNamespace
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

    /// No isolation at all: for machines without `unshare`, and for tests of the fallback paths.
    public static let none = SandboxCapabilities(namespaces: .unavailable, controlGroups: nil, hasPrlimit: false)

    public static func probe() -> SandboxCapabilities {
        let unshare = Sandbox.findExecutable("unshare")
        var namespaces = Namespaces.unavailable
        if let unshare {
            let flags = ["--mount", "--net", "--pid", "--ipc", "--uts", "--fork", "--kill-child"]
            if (try? ChildProcess([unshare] + flags + ["true"]).run().termination) == .exited(0) {
                namespaces = .privileged
            } else if (try? ChildProcess([unshare, "--user", "--map-root-user"] + flags + ["true"]).run().termination)
                        == .exited(0) {
                namespaces = .userNamespace
            }
        }
        return SandboxCapabilities(
            namespaces: namespaces, controlGroups: ControlGroupSupport.probe(),
            hasPrlimit: Sandbox.findExecutable("prlimit") != nil)
    }
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

/// Runs commands in their own process group with wall-time, memory and process-count limits, no network and a
/// private view of the file system, using what `SandboxCapabilities` found:
///
/// - mount/PID/network/IPC/UTS namespaces (`unshare`): the workspace is bind-mounted at a fixed path
///   (read-only for tests), the grader's folders are covered by empty tmpfs mounts, `/proc` shows only the
///   sandbox, and when the sandbox's first process exits the kernel kills everything left in it;
/// - cgroup memory and pids controllers: the memory limit covers every process the test starts, the OOM
///   killer's kills and refused forks are counted, and leftovers are killed through the group;
/// - `prlimit`: no core dumps, a file-size cap, and rough memory/process limits where cgroups are missing.
///
/// The fixed workspace path has a second purpose: SwiftPM's build state is full of absolute paths, so a copy of a
/// warm build tree is only warm when it is seen at the path it was built at.
struct Sandbox: Sendable {
    static let fixedRoot = "/tmp/vlab-grade"
    static let fixedWorkspace = "/tmp/vlab-grade/workspace"
    static let fixedScratch = "/tmp/vlab-grade/scratch"

    let capabilities: SandboxCapabilities

    var usesNamespaces: Bool { capabilities.namespaces != .unavailable }

    init(capabilities: SandboxCapabilities) throws(GradingError) {
        self.capabilities = capabilities
        if capabilities.namespaces != .unavailable {
            for directory in [Sandbox.fixedWorkspace, Sandbox.fixedScratch] {
                do {
                    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
                } catch {
                    throw GradingError("\(directory): cannot create the sandbox mount point: \(error.localizedDescription)")
                }
            }
        }
    }

    func workspacePath(for hostPath: String) -> String { usesNamespaces ? Sandbox.fixedWorkspace : hostPath }
    func scratchPath(for hostPath: String) -> String { usesNamespaces ? Sandbox.fixedScratch : hostPath }

    /// Human-readable list of the limits this run enforces and how; goes into every report.
    func enforcedLimits(for command: SandboxedCommand) -> [String] {
        var lines = ["wall time \(formatSeconds(command.limits.wallTime)): SIGKILL to the process group"
                     + (usesNamespaces ? " and the PID namespace" : "")]
        let groups = capabilities.controlGroups
        if let memory = command.limits.memoryBytes {
            if let groups, groups.enforcesMemory {
                lines.append("memory \(MemorySize.describe(memory)): \(groups.description) memory controller, OOM kills counted")
            } else if capabilities.hasPrlimit {
                lines.append("memory \(MemorySize.describe(memory)): approximate, address-space rlimit (prlimit --as) with 1 GiB headroom")
            } else {
                lines.append("memory: NOT limited (no cgroup memory controller, no prlimit)")
            }
        }
        if let processes = command.limits.maxProcesses {
            if let groups, groups.enforcesProcesses {
                lines.append("processes and threads \(processes): \(groups.description) pids controller")
            } else if capabilities.hasPrlimit {
                lines.append("processes \(processes): RLIMIT_NPROC per user (not enforced for root)")
            } else {
                lines.append("processes: NOT limited (no cgroup pids controller, no prlimit)")
            }
        }
        if command.isolateNetwork {
            lines.append(usesNamespaces ? "network: none (empty network namespace)" : "network: NOT isolated (no namespaces)")
        }
        if usesNamespaces {
            lines.append("files: workspace \(command.workspaceReadOnly ? "read-only" : "writable") at \(Sandbox.fixedWorkspace), "
                         + "grader folders hidden (mount namespace)")
        } else {
            lines.append("files: NOT isolated (no mount namespace)")
        }
        lines.append("output: \(command.limits.outputBytes >> 20) MiB, then killed"
                     + (capabilities.hasPrlimit ? "; files \(command.limits.fileSizeBytes >> 20) MiB; no core dumps (prlimit)" : ""))
        return lines
    }

    func run(_ command: SandboxedCommand, name: String) throws(GradingError) -> SandboxRun {
        var groups: RunControlGroup?
        if let support = capabilities.controlGroups,
           command.limits.memoryBytes != nil || command.limits.maxProcesses != nil {
            groups = try RunControlGroup(
                support: support, name: name,
                memoryBytes: command.limits.memoryBytes ?? (1 << 40),
                maxProcesses: command.limits.maxProcesses ?? 1_000_000)
        }
        defer { groups?.remove() }

        var limited: [String] = []
        if capabilities.hasPrlimit, let prlimit = Sandbox.findExecutable("prlimit") {
            limited = [prlimit, "--core=0", "--fsize=\(command.limits.fileSizeBytes)"]
            if let memory = command.limits.memoryBytes, capabilities.controlGroups?.enforcesMemory != true {
                limited.append("--as=\(memory + (1 << 30))")
            }
            if let processes = command.limits.maxProcesses, capabilities.controlGroups?.enforcesProcesses != true {
                limited.append("--nproc=\(processes)")
            }
            limited.append("--")
        }
        let inner = limited + command.arguments

        var outer = "set -e\n"
        for file in groups?.membershipFiles ?? [] { outer += "echo $$ > \(shellQuoted(file))\n" }
        var arguments: [String]
        switch capabilities.namespaces {
        case .unavailable:
            outer += "cd \(shellQuoted(command.workspace))\nexec \"$@\"\n"
            arguments = ["/bin/sh", "-c", outer, "vlab-sandbox"] + inner
        case .privileged, .userNamespace:
            guard let unshare = Sandbox.findExecutable("unshare") else { throw GradingError("unshare disappeared") }
            outer += "exec \"$@\"\n"
            var flags = ["--mount", "--pid", "--ipc", "--uts", "--fork", "--kill-child", "--mount-proc"]
            if command.isolateNetwork { flags.append("--net") }
            if capabilities.namespaces == .userNamespace { flags += ["--user", "--map-root-user"] }
            arguments = ["/bin/sh", "-c", outer, "vlab-sandbox", unshare] + flags
                + ["--", "/bin/sh", "-c", namespaceScript(for: command), "vlab-sandbox"] + inner
        }

        var child = ChildProcess(arguments, environment: command.environment)
        child.timeout = command.limits.wallTime
        child.outputKillBytes = command.limits.outputBytes
        if let groups {
            child.onKill = { groups.killAll() }
            child.monitor = {
                if groups.refusedForks > 0 { return "process limit reached" }
                return nil
            }
        }
        let result = try child.run()
        if case .exited(125) = result.termination,
           let line = result.standardError.text.split(separator: "\n").first(where: { $0.hasPrefix("vlab-sandbox:") }) {
            throw GradingError(String(line))
        }
        var termination = result.termination
        // The namespace's first shell reports a command killed by signal N as exit status 128 + N.
        if usesNamespaces, case .exited(let status) = termination, status > 128, status < 128 + 65 {
            termination = .signaled(status - 128)
        }
        return SandboxRun(
            result: result, termination: termination,
            oomKilled: (groups?.oomKills ?? 0) > 0, processLimitHit: (groups?.refusedForks ?? 0) > 0,
            peakMemoryBytes: groups?.peakMemoryBytes)
    }

    /// The script run as PID 1 of the new namespaces. It does not `exec` the command: PID 1 ignores signals it
    /// has no handler for, which would hide crashes, and when this shell exits everything left is killed.
    private func namespaceScript(for command: SandboxedCommand) -> String {
        func mount(_ arguments: String, _ what: String) -> String {
            "mount \(arguments) || { echo \(shellQuoted("vlab-sandbox: cannot mount \(what)")) >&2; exit 125; }\n"
        }
        var script = mount("--bind \(shellQuoted(command.workspace)) \(Sandbox.fixedWorkspace)", command.workspace)
        if command.workspaceReadOnly {
            script += mount("-o remount,bind,ro \(Sandbox.fixedWorkspace)", "the workspace read-only")
        }
        if let scratch = command.scratch {
            script += mount("--bind \(shellQuoted(scratch)) \(Sandbox.fixedScratch)", scratch)
        }
        for directory in outermost(command.hiddenDirectories) {
            script += mount("-t tmpfs -o size=16k,mode=0555,ro vlab-hidden \(shellQuoted(directory))", "a cover over \(directory)")
        }
        script += "cd \(Sandbox.fixedWorkspace) || exit 125\n\"$@\"\nexit $?\n"
        return script
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
