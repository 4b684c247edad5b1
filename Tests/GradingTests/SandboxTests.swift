import Foundation
import Testing
@testable import Grading

@Suite struct SandboxTests {
    @Test func aTimeoutKillsTheWholeProcessGroup() throws {
        var child = ChildProcess(["/bin/sh", "-c", "sleep 30 & sleep 30; echo never"])
        child.timeout = 0.5
        let result = try child.run()
        #expect(result.stopReason == .timeout)
        #expect(result.termination == .signaled(SIGKILL))
        #expect(result.duration < 5, "the background sleep must not hold the pipes open")
        #expect(!result.standardOutput.text.contains("never"))
    }

    @Test func outputIsCappedAndAFloodIsStopped() throws {
        var child = ChildProcess(["/usr/bin/yes", "flood"])
        child.retainedOutputBytes = 1000
        child.outputKillBytes = 4 << 20
        child.timeout = 30
        let result = try child.run()
        #expect(result.stopReason == .outputLimit(4 << 20))
        #expect(result.standardOutput.head.count == 1000)
        #expect(result.standardOutput.totalBytes > 4 << 20)
        #expect(result.standardOutput.text.contains("more bytes not kept"))
    }

    @Test func signalsAndExitStatusesAreTellApart() throws {
        #expect(try ChildProcess(["/bin/sh", "-c", "kill -SEGV $$"]).run().termination == .signaled(SIGSEGV))
        #expect(try ChildProcess(["/bin/sh", "-c", "exit 3"]).run().termination == .exited(3))
        #expect(throws: GradingError.self) { try ChildProcess(["/nonexistent/program"]).run() }
    }

    static let capabilities = SandboxCapabilities.probe()

    @Test(.enabled(if: capabilities.namespaces != .unavailable, "needs mount/PID/network namespaces (root or user namespaces)"))
    func theSandboxHidesTheGradersFilesAndTheNetwork() throws {
        let root = Fixtures.temporaryFolder("sandbox")
        defer { Fixtures.remove(root) }
        let workspace = root + "/workspace", secret = root + "/secret", scratch = root + "/scratch"
        for folder in [workspace, secret, scratch] {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        }
        _ = FileManager.default.createFile(atPath: workspace + "/tests.swift", contents: Data("hidden tests".utf8))
        _ = FileManager.default.createFile(atPath: secret + "/solution.swift", contents: Data("answer".utf8))
        let sandbox = try Sandbox(capabilities: Self.capabilities)
        let script = """
            echo "cwd=$(pwd)"
            echo "net=$(tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' ' | tr '\\n' ' ')"
            echo "init=$(tr '\\0' ' ' < /proc/1/cmdline)"
            ls \(secret) | sed 's/^/found-/'
            rm -f tests.swift 2>/dev/null; echo x > new-file 2>/dev/null || echo "workspace read-only"
            echo ok > \(Sandbox.fixedScratch)/written && echo "scratch writable"
            echo "procs=$(ls /proc | grep -c '^[0-9]')"
            echo x > /var/tmp/vlab-sandbox-escape-\(getpid()) 2>/dev/null && echo "host writable" || echo "host read-only"
            grep CapEff /proc/self/status
            """
        let run = try sandbox.run(SandboxedCommand(
            arguments: ["/bin/sh", "-c", script], environment: ["PATH": "/usr/bin:/bin"], workspace: workspace,
            workspaceReadOnly: true, scratch: scratch, hiddenDirectories: [secret], isolateNetwork: true,
            limits: SandboxLimits(wallTime: 30, memoryBytes: 64 << 20, maxProcesses: 32)), name: "vlab-sandbox-test-\(getpid())")
        let output = run.result.standardOutput.text
        #expect(run.termination == .exited(0), "\(output) \(run.result.standardError.text)")
        #expect(output.contains("cwd=\(Sandbox.fixedWorkspace)"))
        #expect(output.contains("net=lo \n"), "only the loopback interface: \(output)")
        #expect(output.contains("init=/bin/sh -c"), "PID 1 is the sandbox's own shell: \(output)")
        #expect(!output.contains("found-solution.swift"), "the hidden folder is covered")
        #expect(output.contains("workspace read-only"))
        #expect(output.contains("scratch writable"))
        #expect(FileManager.default.fileExists(atPath: workspace + "/tests.swift"))
        #expect(FileManager.default.fileExists(atPath: scratch + "/written"))
        #expect(FileManager.default.fileExists(atPath: secret + "/solution.swift"))
        #expect(output.contains("host read-only"), "everything but the scratch directory is read-only: \(output)")
        #expect(!FileManager.default.fileExists(atPath: "/var/tmp/vlab-sandbox-escape-\(getpid())"))
        let capabilities = output.split(separator: "\n").first { $0.hasPrefix("CapEff:") }
            .flatMap { UInt64($0.dropFirst(7).trimmingCharacters(in: .whitespaces), radix: 16) } ?? .max
        #expect(capabilities & (1 << 21) == 0, "CAP_SYS_ADMIN must be dropped in the standard profile: \(output)")
    }

    @Test(.enabled(if: capabilities.namespaces != .unavailable && capabilities.controlGroups?.enforcesProcesses == true,
                   "needs containers (root on Linux) and a cgroup pids controller"))
    func theContainersProfileLetsTestsMakeContainers() throws {
        let root = Fixtures.temporaryFolder("sandbox-profile")
        defer { Fixtures.remove(root) }
        let workspace = root + "/workspace", scratch = root + "/scratch"
        for folder in [workspace, scratch] {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        }
        let sandbox = try Sandbox(capabilities: Self.capabilities)
        // What Lab 07's tests do: a nested group under the sandbox's own, and new namespaces.
        let script = """
            grep CapEff /proc/self/status
            group=/sys/fs/cgroup/pids$(grep ':pids:' /proc/self/cgroup | cut -d: -f3)
            mkdir "$group/nested" && echo 5 > "$group/nested/pids.max" && rmdir "$group/nested" && echo "nested group ok"
            unshare --mount --pid --fork --uts hostname inner >/dev/null 2>&1 && echo "namespaces ok"
            echo x > /var/tmp/vlab-profile-\(getpid()) 2>/dev/null && echo "host writable" || echo "host read-only"
            """
        let command = SandboxedCommand(
            arguments: ["/bin/sh", "-c", script], environment: ["PATH": "/usr/bin:/bin:/usr/sbin:/sbin"], workspace: workspace,
            workspaceReadOnly: true, scratch: scratch, hiddenDirectories: [], isolateNetwork: true,
            limits: SandboxLimits(wallTime: 30, memoryBytes: 64 << 20, maxProcesses: 32), profile: .containers)
        let run = try sandbox.run(command, name: "vlab-profile-test-\(getpid())")
        let output = run.result.standardOutput.text
        #expect(run.termination == .exited(0), "\(output) \(run.result.standardError.text)")
        let capabilities = output.split(separator: "\n").first { $0.hasPrefix("CapEff:") }
            .flatMap { UInt64($0.dropFirst(7).trimmingCharacters(in: .whitespaces), radix: 16) } ?? 0
        #expect(capabilities & (1 << 21) != 0, "the containers profile keeps CAP_SYS_ADMIN: \(output)")
        #expect(output.contains("nested group ok"), "\(output) \(run.result.standardError.text)")
        #expect(output.contains("namespaces ok"), "\(output)")
        #expect(output.contains("host read-only"), "\(output)")
        #expect(sandbox.enforcedLimits(for: command).contains { $0.contains("sandbox profile `containers`") })
    }
}
