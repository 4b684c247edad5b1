#if os(Linux)
import ContainerSupport
import CContainers
import Glibc
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// How a container ended, as `vlab container run` reports it.
public struct ContainerExit: Sendable {
    public var id: String
    /// The command's exit status, or 128 + the signal that killed it.
    public var status: Int32
    /// The signal that killed the command, if one did.
    public var signal: Int32?
    /// One line on why the container ended abnormally: a limit, a timeout, a signal.
    public var reason: String?
    public var usage: LimitsUsage
    public var timedOut: Bool
    /// The limits that were in force and where ("memory 64 MiB: cgroup v1 /sys/fs/...").
    public var appliedLimits: [String]
    /// From the clone of the container to the end of cleanup.
    public var elapsedNanoseconds: UInt64
}

/// The container runtime: the parent side. It prepares the root's layers and the
/// control groups, clones the init into new namespaces, hands it its spec, forwards
/// signals, waits, and removes everything it made. Any resource is recorded in the state
/// directory before it is created, so a runtime killed with SIGKILL is cleaned up by the
/// next invocation (`StateStore.collectGarbage`).
public struct ContainerRuntime: Sendable {
    /// The state directory, like runc's `--root`.
    public var stateRoot: String
    /// The program the cloned child re-executes as the container's init, and its
    /// arguments; it must end up in `ContainerInit.main` (`vlab-init`, `vlab container __init`,
    /// or a lab's own init that passes the student's steps).
    public var initExecutable: String
    public var initArguments: [String]
    public var steps: ContainerSteps
    /// Whether `run` and `start` with the reference steps may skip the init executable and
    /// have the clone's child carry out a plan instead (ChildPlan): the fast path, on by
    /// default. Off, every container goes through the init (the benchmark compares the two).
    public var plansChild = true

    public static let defaultStateRoot = "/run/vlab"

    public init(
        stateRoot: String = ContainerRuntime.defaultStateRoot, initExecutable: String = ContainerRuntime.defaultInit.executable,
        initArguments: [String] = ContainerRuntime.defaultInit.arguments, steps: ContainerSteps = .reference
    ) {
        self.stateRoot = stateRoot
        self.initExecutable = initExecutable
        self.initArguments = initArguments
        self.steps = steps
    }

    var store: StateStore { StateStore(root: stateRoot) }

    // MARK: run

    /// Runs the container to completion with the runtime's own stdio.
    public func run(_ configuration: ContainerConfiguration) throws(ContainerError) -> ContainerExit {
        let signals: [Int32] = [SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, 0]
        // Blocked before the clone, so a Ctrl-C during setup is also handled (and cleaned up).
        let signalFD = try Kernel.check(vlab_signalfd(signals), "signalfd")
        defer {
            Kernel.close(signalFD)
            _ = vlab_unblock_signals(signals)
        }
        let started = Kernel.monotonicNanoseconds()
        let launched = try launch(configuration, mode: .run)
        defer { try? launched.destroy() }
        var timedOut = false
        var forwarded: String?
        let deadline = configuration.timeoutSeconds.map { started + UInt64($0 * 1e9) }
        var termination: Kernel.Termination?
        while termination == nil {
            var timeout: Int32 = -1
            if let deadline {
                let now = Kernel.monotonicNanoseconds()
                timeout = now >= deadline ? 0 : Int32(min(UInt64(Int32.max), (deadline - now) / 1_000_000 + 1))
            }
            let ready = try Kernel.check(vlab_poll_readable([launched.child.pidfd, signalFD], 2, timeout), "poll")
            if ready & 1 != 0 {
                termination = try Kernel.wait(launched.child)
            } else if ready & 2 != 0 {
                let signal = try Kernel.check(vlab_read_signal(signalFD), "read signal")
                forwarded = forward(signal, to: launched)
            } else if ready == 0 {
                timedOut = true
                try? Kernel.signal(launched.child, SIGKILL)
                termination = try Kernel.wait(launched.child)
            }
        }
        let usage = launched.record.controlGroups.usage()
        try launched.destroy()
        let elapsed = Kernel.monotonicNanoseconds() - started
        guard let termination else { throw ContainerError("container '\(launched.record.id)' vanished") }
        var signal: Int32?
        if case .signaled(let number) = termination { signal = number }
        return ContainerExit(
            id: launched.record.id, status: termination.shellStatus, signal: signal,
            reason: Self.reason(termination, usage: usage, configuration: configuration, timedOut: timedOut, forwarded: forwarded),
            usage: usage, timedOut: timedOut, appliedLimits: launched.appliedLimits, elapsedNanoseconds: elapsed)
    }

    /// Forwards a signal the runtime received. The kernel drops signals sent to a PID
    /// namespace's init unless it installed a handler, so for the terminating signals
    /// the runtime kills it outright when it has none: Ctrl-C always stops a container.
    private func forward(_ signal: Int32, to launched: LaunchedContainer) -> String? {
        let terminating: Set<Int32> = [SIGINT, SIGTERM, SIGHUP, SIGQUIT]
        let ownNamespace = LinuxNamespaces.effectiveNamespaces(launched.configuration).contains(.pid)
        if ownNamespace, terminating.contains(signal), !Self.catches(launched.child.pid, signal) {
            try? Kernel.signal(launched.child, SIGKILL)
            return "the runtime got \(Self.signalName(signal)); the container's PID 1 has no handler for it, so it was killed"
        }
        try? Kernel.signal(launched.child, signal)
        return nil
    }

    static func catches(_ pid: pid_t, _ signal: Int32) -> Bool {
        let status = Kernel.readFile("/proc/\(pid)/status") ?? ""
        guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix("SigCgt:") }),
            let mask = UInt64(line.dropFirst(7).trimmingCharacters(), radix: 16)
        else { return false }
        return mask & (1 << UInt64(signal - 1)) != 0
    }

    static func reason(
        _ termination: Kernel.Termination, usage: LimitsUsage, configuration: ContainerConfiguration,
        timedOut: Bool, forwarded: String?
    ) -> String? {
        if timedOut {
            var text = "timed out after \(configuration.timeoutSeconds ?? 0) s and was killed"
            if let hits = usage.pidsLimitHits, hits > 0 {
                text += "; the process limit (\(configuration.limits.pids ?? 0)) refused \(hits) forks"
            }
            return text
        }
        if let kills = usage.oomKills, kills > 0, case .signaled = termination {
            return "out of memory: the \(Self.formatBytes(configuration.limits.memoryBytes ?? 0)) memory limit was reached and the kernel's OOM killer ended it"
        }
        if let forwarded { return forwarded }
        if case .signaled(let signal) = termination { return "killed by \(Self.signalName(signal))" }
        if let hits = usage.pidsLimitHits, hits > 0 {
            return "the process limit (\(configuration.limits.pids ?? 0)) refused \(hits) forks"
        }
        return nil
    }

    static func signalName(_ signal: Int32) -> String {
        let names: [Int32: String] = [
            SIGHUP: "SIGHUP", SIGINT: "SIGINT", SIGQUIT: "SIGQUIT", SIGILL: "SIGILL", SIGTRAP: "SIGTRAP",
            SIGABRT: "SIGABRT", SIGBUS: "SIGBUS", SIGFPE: "SIGFPE", SIGKILL: "SIGKILL", SIGUSR1: "SIGUSR1",
            SIGSEGV: "SIGSEGV", SIGUSR2: "SIGUSR2", SIGPIPE: "SIGPIPE", SIGALRM: "SIGALRM", SIGTERM: "SIGTERM",
        ]
        return names[signal] ?? "signal \(signal)"
    }

    public static func signalNumber(_ text: String) -> Int32? {
        if let number = Int32(text), number > 0, number < 65 { return number }
        let name = text.uppercased().hasPrefix("SIG") ? text.uppercased() : "SIG" + text.uppercased()
        let numbers: [String: Int32] = [
            "SIGHUP": SIGHUP, "SIGINT": SIGINT, "SIGQUIT": SIGQUIT, "SIGKILL": SIGKILL, "SIGUSR1": SIGUSR1,
            "SIGUSR2": SIGUSR2, "SIGTERM": SIGTERM, "SIGSTOP": SIGSTOP, "SIGCONT": SIGCONT, "SIGALRM": SIGALRM,
        ]
        return numbers[name]
    }

    static func formatBytes(_ bytes: UInt64) -> String {
        if bytes >= 1 << 30, bytes % (1 << 30) == 0 { return "\(bytes >> 30) GiB" }
        if bytes >= 1 << 20, bytes % (1 << 20) == 0 { return "\(bytes >> 20) MiB" }
        if bytes >= 1 << 10, bytes % (1 << 10) == 0 { return "\(bytes >> 10) KiB" }
        return "\(bytes) bytes"
    }

    // MARK: escape test

    /// Runs the escape matrix inside a container made from `configuration` (its command
    /// is ignored) and returns every attempt with what stopped it.
    public func escapeTest(_ configuration: ContainerConfiguration) throws(ContainerError) -> [EscapeAttempt] {
        let scratch = try Kernel.makeTemporaryDirectory(in: "/tmp", prefix: "vlab-escape-")
        defer { try? Kernel.removeTree(scratch) }
        let marker = scratch + "/host-marker"
        let contents = "vlab escape marker \(getpid())-\(Kernel.monotonicNanoseconds())"
        try Kernel.writeFile(marker, contents, create: true)
        let directory = try Kernel.open(scratch, O_RDONLY | O_DIRECTORY)
        defer { Kernel.close(directory) }
        // A harmless host process for the /proc and ptrace attempts.
        let sleeper = try Self.spawnHostSleeper()
        defer {
            try? Kernel.signal(sleeper, SIGKILL)
            _ = try? Kernel.wait(sleeper)
            Kernel.close(sleeper.pidfd)
        }
        let probe = EscapeProbeSpec(markerPath: marker, markerContents: contents, hostPID: sleeper.pid,
                                    leakedDirectory: InitDescriptor.leakedDirectory)
        let launched = try launch(configuration, mode: .escapeProbe(probe, leakedDirectory: directory))
        defer { try? launched.destroy() }
        _ = try Kernel.wait(launched.child)
        try launched.destroy()
        var attempts: [EscapeAttempt] = []
        for line in launched.statusLines where line.hasPrefix(InitStatus.probePrefix) {
            let json = Array(line.dropFirst(InitStatus.probePrefix.count).utf8)
            if let attempt = try? JSONDecoder().decode(EscapeAttempt.self, from: Data(json)) { attempts.append(attempt) }
        }
        guard attempts.count == 7 else {
            throw ContainerError("the escape probes reported \(attempts.count) of 7 attempts")
        }
        return attempts
    }

    static func spawnHostSleeper() throws(ContainerError) -> Kernel.ChildProcess {
        let candidates: [String] = ["/bin/sleep", "/usr/bin/sleep"]
        let sleep = candidates.first { access($0, X_OK) == 0 } ?? "/bin/sleep"
        let argv = CStringArray([sleep, "600"])
        let envp = CStringArray([])
        var pidfd: Int32 = -1
        let pid = vlab_spawn(sleep, argv.pointers, envp.pointers, nil, nil, 0, &pidfd)
        argv.deallocate()
        envp.deallocate()
        try Kernel.check(pid, "start \(sleep) on the host")
        return Kernel.ChildProcess(pid: pid, pidfd: pidfd)
    }

    // MARK: garbage

    /// Removes what runtimes that died without cleaning up left behind; returns the ids.
    @discardableResult
    public func collectGarbage() -> [String] {
        store.collectGarbage()
    }
}

extension Substring {
    func trimmingCharacters() -> String { String(self).trimmingSpaces() }
}
#endif
