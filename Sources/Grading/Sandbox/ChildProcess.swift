#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import Synchronization

/// How a child process ended.
public enum ProcessTermination: Equatable, Sendable, Codable {
    case exited(Int32)
    case signaled(Int32)
}

/// The first bytes a stream produced, and how many it produced in all. Student code can print gigabytes;
/// the grader keeps a bounded head and counts the rest.
public struct CapturedOutput: Equatable, Sendable {
    public var head: [UInt8] = []
    public var totalBytes = 0

    public var text: String {
        var text = String(decoding: head, as: UTF8.self)
        if totalBytes > head.count {
            text += "\n[… \(totalBytes - head.count) more bytes not kept: output is capped at \(head.count) bytes]"
        }
        return text
    }
}

/// Why the grader stopped a child before it finished by itself.
public enum StopReason: Equatable, Sendable {
    case timeout
    case outputLimit(Int)
    case monitor(String)
}

/// Everything that comes back from running one child.
struct ChildProcessResult: Sendable {
    var termination: ProcessTermination
    var standardOutput: CapturedOutput
    var standardError: CapturedOutput
    var duration: Double
    var stopReason: StopReason?
}

/// A child started in its own process group with `posix_spawn`, its stdout and stderr drained through pipes
/// (so output can never block it or fill the disk) and killed as a group when it overruns its wall time or
/// output budget. Foundation's `Process` gives neither a process group nor bounded capture, hence this.
struct ChildProcess {
    var arguments: [String]
    var environment: [String: String]
    var timeout: Double?
    var retainedOutputBytes = 64 << 10
    /// Kill the child once stdout plus stderr exceed this many bytes.
    var outputKillBytes: Int?
    /// Polled about every 100 ms while the child runs; a non-nil answer stops it (e.g. a cgroup limit was hit).
    var monitor: (@Sendable () -> String?)?
    /// Extra cleanup when the group is killed, e.g. killing what escaped the process group through a cgroup.
    var onKill: (@Sendable () -> Void)?
    /// The signal a stop sends to the process group; SIGKILL unless a test wants to see a graceful interrupt.
    var signalOnStop: Int32 = SIGKILL
    /// Starts the child instead of `posix_spawn` (the sandbox starts a container): called with the child's
    /// stdin, stdout and stderr, it returns the pid of a child of this process, which `run` waits for.
    var launcher: ((_ input: Int32, _ output: Int32, _ error: Int32) throws(GradingError) -> pid_t)?

    init(_ arguments: [String], environment: [String: String] = ProcessInfo.processInfo.environment) {
        self.arguments = arguments
        self.environment = environment
    }

    /// Process groups (and their extra cleanup) of every child now running, for `stopAll()`.
    private static let running = Mutex<[pid_t: (@Sendable () -> Void)?]>([:])

    /// Kills every running child's process group: for an interrupted grader, which must not leave sandboxes behind.
    static func stopAll() {
        let groups = running.withLock { $0 }
        for (pid, cleanup) in groups {
            kill(-pid, SIGKILL)
            cleanup?()
        }
    }

    func run() throws(GradingError) -> ChildProcessResult {
        guard let executable = arguments.first else { throw GradingError("internal: empty command") }
        try Shutdown.check()
        var outputPipe: [Int32] = [-1, -1]
        var errorPipe: [Int32] = [-1, -1]
        guard pipe(&outputPipe) == 0, pipe(&errorPipe) == 0 else {
            throw GradingError("cannot create a pipe: \(String(cString: strerror(errno)))")
        }
        // No end may leak into other children started concurrently by other threads (a leaked write end
        // keeps a reader waiting); the child gets its ends as 1 and 2, which clears the flag there.
        for descriptor in outputPipe + errorPipe { _ = fcntl(descriptor, F_SETFD, FD_CLOEXEC) }

        var pid: pid_t = 0
        let started = Date()
        if let launcher {
            let null = open("/dev/null", O_RDONLY | O_CLOEXEC)
            do {
                pid = try launcher(null, outputPipe[1], errorPipe[1])
            } catch {
                for descriptor in outputPipe + errorPipe + [null] { close(descriptor) }
                throw error
            }
            close(null)
            ChildProcess.running.withLock { $0[pid] = onKill }
        } else {
            try spawn(&pid, outputPipe: outputPipe, errorPipe: errorPipe, executable: executable)
        }
        defer { _ = ChildProcess.running.withLock { $0.removeValue(forKey: pid) } }
        close(outputPipe[1])
        close(errorPipe[1])

        var captured = [CapturedOutput(), CapturedOutput()]
        var descriptors = [pollfd(fd: outputPipe[0], events: Int16(POLLIN), revents: 0),
                           pollfd(fd: errorPipe[0], events: Int16(POLLIN), revents: 0)]
        var stopReason: StopReason?
        var status: Int32 = 0
        var reaped = false
        var reapedAt: Date?
        var lastMonitor = Date.distantPast
        var buffer = [UInt8](repeating: 0, count: 64 << 10)

        func killGroup() {
            kill(-pid, signalOnStop)
            if signalOnStop == SIGKILL { onKill?() }
        }

        while descriptors.contains(where: { $0.fd >= 0 }) {
            _ = poll(&descriptors, nfds_t(descriptors.count), 100)
            for index in descriptors.indices where descriptors[index].fd >= 0 && descriptors[index].revents != 0 {
                let count = buffer.withUnsafeMutableBytes { read(descriptors[index].fd, $0.baseAddress, $0.count) }
                if count > 0 {
                    let room = max(0, retainedOutputBytes - captured[index].head.count)
                    if room > 0 { captured[index].head += buffer[0..<min(room, count)] }
                    captured[index].totalBytes += count
                } else if count == 0 || (errno != EINTR && errno != EAGAIN) {
                    close(descriptors[index].fd)
                    descriptors[index].fd = -1
                }
            }
            let now = Date()
            if stopReason == nil, let timeout, now.timeIntervalSince(started) > timeout {
                stopReason = .timeout
                killGroup()
            }
            if stopReason == nil, let outputKillBytes, captured[0].totalBytes + captured[1].totalBytes > outputKillBytes {
                stopReason = .outputLimit(outputKillBytes)
                killGroup()
            }
            if stopReason == nil, let monitor, now.timeIntervalSince(lastMonitor) >= 0.1 {
                lastMonitor = now
                if let reason = monitor() {
                    stopReason = .monitor(reason)
                    killGroup()
                }
            }
            if !reaped, waitpid(pid, &status, WNOHANG) == pid {
                reaped = true
                reapedAt = now
                // Whatever the child left behind in its group (daemons holding the pipes open) goes too.
                kill(-pid, SIGKILL)
            }
            // A grandchild that left the group may hold a pipe open forever: stop listening shortly after exit.
            if let reapedAt, now.timeIntervalSince(reapedAt) > 1 {
                for index in descriptors.indices where descriptors[index].fd >= 0 {
                    close(descriptors[index].fd)
                    descriptors[index].fd = -1
                }
            }
        }
        if !reaped {
            while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
        }
        let termination: ProcessTermination = (status & 0x7F) == 0
            ? .exited((status >> 8) & 0xFF) : .signaled(status & 0x7F)
        return ChildProcessResult(
            termination: termination, standardOutput: captured[0], standardError: captured[1],
            duration: Date().timeIntervalSince(started), stopReason: stopReason)
    }
    /// posix_spawn in a new process group with default signal dispositions and an empty mask.
    private func spawn(_ pid: inout pid_t, outputPipe: [Int32], errorPipe: [Int32], executable: String) throws(GradingError) {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, outputPipe[1], 1)
        posix_spawn_file_actions_adddup2(&actions, errorPipe[1], 2)

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        // A new process group (pgid = the child's pid), default signal dispositions and an empty mask,
        // whatever the grader itself has blocked or ignored.
        var defaultSignals = sigset_t()
        sigfillset(&defaultSignals)
        var emptyMask = sigset_t()
        sigemptyset(&emptyMask)
        posix_spawnattr_setsigdefault(&attributes, &defaultSignals)
        posix_spawnattr_setsigmask(&attributes, &emptyMask)
        posix_spawnattr_setpgroup(&attributes, 0)
        posix_spawnattr_setflags(
            &attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))

        let argv = arguments.map { strdup($0) } + [nil]
        let envp = environment.sorted { $0.key < $1.key }.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            for pointer in argv { free(pointer) }
            for pointer in envp { free(pointer) }
        }
        var child: pid_t = 0
        let spawnStatus = ChildProcess.running.withLock { groups in
            let status = posix_spawn(&child, executable, &actions, &attributes, argv, envp)
            if status == 0 { groups[child] = onKill }
            return status
        }
        guard spawnStatus == 0 else {
            for descriptor in outputPipe + errorPipe { close(descriptor) }
            throw GradingError("\(executable): cannot start: \(String(cString: strerror(spawnStatus)))")
        }
        pid = child
    }
}
