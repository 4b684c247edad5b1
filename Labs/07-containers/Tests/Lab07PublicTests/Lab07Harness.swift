import Containers
import Foundation
import Lab07
import Testing

/// Runs containers through the real runtime with the lab's steps (Lab07.steps): the runtime
/// re-executes `Lab07Init`, built beside this test bundle, as each container's init.
enum Lab07Harness {
    static let isRoot = getuid() == 0
    static let hasBusybox = FileManager.default.isExecutableFile(atPath: "/bin/busybox")
    static let canRun = isRoot && hasBusybox && FileManager.default.isExecutableFile(atPath: initExecutable)
    static let skipMessage = Comment(rawValue: """
        Lab 07 needs Linux, root (namespaces, mounts and cgroups) and /bin/busybox from busybox-static \
        (apt-get install busybox-static); run `sudo vlab test 07`. Under `vlab grade` the rubric's \
        `sandbox: containers` profile gives the tests these privileges.
        """)

    /// `Lab07Init`, beside the test bundle in .build/<configuration>/.
    static var initExecutable: String {
        let bundle = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? ""
        return URL(fileURLWithPath: bundle).deletingLastPathComponent().appendingPathComponent("Lab07Init").path
    }

    /// A busybox root filesystem, made once per test run by the project's script.
    static let rootfs: String = {
        let directory = NSTemporaryDirectory() + "lab07-rootfs-\(getpid())-\(UUID().uuidString)"
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../../../Tests/ContainersTests/make-busybox-rootfs.sh").standardized.path
        let result = shell("/bin/sh", [script, directory])
        precondition(result.status == 0, "make-busybox-rootfs.sh failed: \(result.output)")
        return directory
    }()

    /// A runtime with its own state directory (so tests can run in parallel) and the lab's steps.
    static func runtime(_ name: String, steps: ContainerSteps = Lab07.steps) -> ContainerRuntime {
        ContainerRuntime(stateRoot: NSTemporaryDirectory() + "lab07-state-\(getpid())-\(name)",
                         initExecutable: initExecutable, initArguments: ["Lab07Init"], steps: steps)
    }

    static func configuration(_ command: [String], limits: ResourceLimits = ResourceLimits()) -> ContainerConfiguration {
        ContainerConfiguration(rootfs: rootfs, hostname: "lab07", limits: limits,
                               process: ProcessConfiguration(arguments: command), timeoutSeconds: 60)
    }

    struct Outcome {
        var termination: Kernel.Termination?
        var output: String
        var usage: LimitsUsage
    }

    /// Runs `configuration` to the end and returns its stdout and stderr together; `whileRunning`
    /// is called with the container once its command has started.
    static func run(_ runtime: ContainerRuntime, _ configuration: ContainerConfiguration,
                    whileRunning: (RunningContainer) -> Void = { _ in }) throws -> Outcome {
        let pipe = Pipe()
        let null = open("/dev/null", O_RDONLY | O_CLOEXEC)
        defer { close(null) }
        let output = pipe.fileHandleForWriting.fileDescriptor
        // Only the container may hold the write end, or the read below never sees the end.
        for descriptor in [output, pipe.fileHandleForReading.fileDescriptor] { _ = fcntl(descriptor, F_SETFD, FD_CLOEXEC) }
        let container = try runtime.start(configuration, io: ContainerIO(input: null, output: output, error: output))
        try pipe.fileHandleForWriting.close()
        // A container that hangs is killed (its whole PID namespace with it) after its timeout.
        let watchdog = DispatchWorkItem { container.kill() }
        DispatchQueue.global().asyncAfter(deadline: .now() + (configuration.timeoutSeconds ?? 60), execute: watchdog)
        whileRunning(container)
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        let termination = try container.wait()
        watchdog.cancel()
        let usage = container.usage()
        try container.finish()
        return Outcome(termination: termination, output: String(decoding: data, as: UTF8.self), usage: usage)
    }

    static func shell(_ path: String, _ arguments: [String]) -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        do { try process.run() } catch { return (-1, "\(error)") }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    /// Every cgroup directory named for container `id` under this process's own groups.
    static func leftoverControlGroups(_ id: String) -> [String] {
        guard let layout = try? ControlGroupLayout.current() else { return [] }
        return ["memory", "pids", "cpu"].compactMap { layout.locate($0)?.parent }
            .map { $0 + "/vlab-" + id }.filter { FileManager.default.fileExists(atPath: $0) }
    }
}
