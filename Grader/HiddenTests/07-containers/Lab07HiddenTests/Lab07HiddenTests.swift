import CContainers
import Containers
import Foundation
import Lab07
import Testing

/// Step 1 in depth: every namespace isolates what it should, and nothing leaks to the host.
@Suite(.enabled(if: Lab07Harness.canRun, Lab07Harness.skipMessage))
struct NamespaceTests {
    @Test("only the container's own processes are visible in /proc")
    func pidNamespace() throws {
        let outcome = try Lab07Harness.run(
            Lab07Harness.runtime("ns-pid"), Lab07Harness.configuration(["/bin/sh", "-c", "echo pid=$$; ls /proc | grep -c '^[0-9]'"]))
        #expect(outcome.termination == .exited(0), "\(outcome.output)")
        #expect(outcome.output.contains("pid=1\n"), "the container's first process must be PID 1: \(outcome.output)")
        // sh, and the ls and grep of the pipeline: nothing of the host's.
        let count = Int(outcome.output.split(separator: "\n").last ?? "") ?? 999
        #expect(count <= 3, "the container sees \(count) processes in /proc: the host's are visible")
    }

    @Test("the hostname is the container's own")
    func utsNamespace() throws {
        let host = ProcessInfo.processInfo.hostName
        let outcome = try Lab07Harness.run(Lab07Harness.runtime("ns-uts"), Lab07Harness.configuration(["/bin/hostname"]))
        #expect(outcome.output == "lab07\n", "expected hostname lab07, got \(outcome.output)")
        #expect(ProcessInfo.processInfo.hostName == host, "the host's hostname changed")
    }

    @Test("the network namespace has only the loopback interface, and it is up")
    func networkLoopback() throws {
        let script = "tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' '; cat /sys/class/net/lo/flags; ping -c 1 -W 2 127.0.0.1 >/dev/null && echo ping-ok"
        var configuration = Lab07Harness.configuration(["/bin/sh", "-c", script])
        configuration.process.capabilities = ProcessConfiguration.defaultCapabilities + ["CAP_NET_RAW"]  // for ping
        let outcome = try Lab07Harness.run(Lab07Harness.runtime("ns-net"), configuration)
        let lines = outcome.output.split(separator: "\n").map(String.init)
        #expect(lines.first == "lo" && !lines.dropFirst().contains { $0.hasPrefix("eth") || $0.hasPrefix("en") },
                "interfaces seen: \(outcome.output)")
        let flags = lines.first { $0.hasPrefix("0x") }.flatMap { UInt32($0.dropFirst(2), radix: 16) } ?? 0
        #expect(flags & 1 == 1, "lo must be up (IFF_UP) with --net loopback: flags \(outcome.output)")
        #expect(outcome.output.contains("ping-ok"), "127.0.0.1 must answer inside: \(outcome.output)")
    }

    @Test("with network none, loopback stays down")
    func networkNone() throws {
        var configuration = Lab07Harness.configuration(["/bin/cat", "/sys/class/net/lo/flags"])
        configuration.network = .none
        let outcome = try Lab07Harness.run(Lab07Harness.runtime("ns-net-none"), configuration)
        let flags = UInt32(outcome.output.trimmingCharacters(in: .whitespacesAndNewlines).dropFirst(2), radix: 16) ?? 1
        #expect(flags & 1 == 0, "lo must stay down with --net none: \(outcome.output)")
    }

    @Test("the container sees its own cgroup as the root (cgroup namespace)")
    func cgroupNamespace() throws {
        let outcome = try Lab07Harness.run(
            Lab07Harness.runtime("ns-cgroup"),
            Lab07Harness.configuration(["/bin/cat", "/proc/self/cgroup"], limits: ResourceLimits(memoryBytes: 64 << 20, pids: 32)))
        #expect(outcome.termination == .exited(0), "\(outcome.output)")
        let paths = outcome.output.split(separator: "\n").compactMap { $0.split(separator: ":", maxSplits: 2).last }
        #expect(!paths.isEmpty)
        #expect(paths.allSatisfy { $0 == "/" }, "inside a cgroup namespace every path is /: \(outcome.output)")
    }

    @Test("no mount of the container propagates to the host, even from a shared mount")
    func mountsStayPrivate() throws {
        // Make the state directory a shared mount (as / is on systemd hosts): without private
        // propagation in the container, its overlay and /proc mounts would appear here too.
        let runtime = Lab07Harness.runtime("ns-mounts")
        let state = runtime.stateRoot
        try FileManager.default.createDirectory(atPath: state, withIntermediateDirectories: true)
        try Kernel.mount(state, on: state, flags: vlab_MS_BIND)
        defer { try? Kernel.unmount(state, detach: true) }
        let msShared: UInt = 1 << 20  // MS_SHARED, linux/mount.h
        try Kernel.mount("none", on: state, flags: msShared)
        var seenInside: [String] = []
        var configuration = Lab07Harness.configuration(["/bin/sh", "-c", "sleep 0.3; echo ran"])
        configuration.id = "lab07-propagation-\(getpid())"
        let outcome = try Lab07Harness.run(runtime, configuration) { _ in
            // While the container runs: the host's mount table must not show its mounts.
            let mounts = (try? String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8)) ?? ""
            seenInside = mounts.split(separator: "\n").compactMap { line in
                let fields = line.split(separator: " ")
                return fields.count > 4 && fields[4].hasPrefix(state + "/") ? String(fields[4]) : nil
            }
        }
        #expect(outcome.output.contains("ran"), "\(outcome.output)")
        #expect(seenInside.isEmpty, "the container's mounts propagated to the host: \(seenInside)")
    }

    @Test("clone flags follow the configuration")
    func cloneFlags() {
        var configuration = Lab07Harness.configuration(["/bin/true"])
        let all = Lab07Namespaces().cloneFlags(for: configuration)
        for (flag, name) in [(vlab_CLONE_NEWNS, "NEWNS"), (vlab_CLONE_NEWPID, "NEWPID"), (vlab_CLONE_NEWUTS, "NEWUTS"),
                             (vlab_CLONE_NEWIPC, "NEWIPC"), (vlab_CLONE_NEWNET, "NEWNET")] {
            #expect(all & flag != 0, "CLONE_\(name) missing for the default namespaces")
        }
        configuration.namespaces = [.uts]
        let few = Lab07Namespaces().cloneFlags(for: configuration)
        #expect(few & vlab_CLONE_NEWNS != 0, "the mount namespace is always needed")
        #expect(few & (vlab_CLONE_NEWPID | vlab_CLONE_NEWNET | vlab_CLONE_NEWIPC) == 0, "only UTS (and mount) were asked for")
    }
}

/// Step 2 in depth: the root is the image and the old root is gone.
@Suite(.enabled(if: Lab07Harness.canRun, Lab07Harness.skipMessage))
struct RootSwitchTests {
    @Test("exactly one mount at / and none of the host's mounts are left")
    func oldRootDetached() throws {
        let outcome = try Lab07Harness.run(
            Lab07Harness.runtime("root-mounts"), Lab07Harness.configuration(["/bin/cat", "/proc/self/mountinfo"]))
        #expect(outcome.termination == .exited(0), "\(outcome.output)")
        let mountPoints = outcome.output.split(separator: "\n").compactMap { line -> String? in
            let fields = line.split(separator: " ")
            return fields.count > 4 ? String(fields[4]) : nil
        }
        #expect(mountPoints.filter { $0 == "/" }.count == 1, "the old root is still stacked at /: \(mountPoints)")
        #expect(!mountPoints.contains { $0.hasPrefix("/work") || $0.hasPrefix("/home") || $0.hasPrefix("/run") },
                "host mounts are still in the container's mount table: \(mountPoints)")
        #expect(mountPoints.contains("/proc"), "the runtime's /proc should be there: \(mountPoints)")
    }

    @Test("the working directory is inside the new root")
    func workingDirectory() throws {
        let outcome = try Lab07Harness.run(Lab07Harness.runtime("root-cwd"), Lab07Harness.configuration(["/bin/sh", "-c", "cd ..; cd ..; pwd; ls /"]))
        #expect(outcome.output.hasPrefix("/\n"), "\(outcome.output)")
        #expect(outcome.output.contains("bin"), "\(outcome.output)")
    }

    @Test("writes land in the container's upper layer, never in the image")
    func copyOnWrite() throws {
        let upper = NSTemporaryDirectory() + "lab07-upper-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: upper) }
        var configuration = Lab07Harness.configuration(["/bin/sh", "-c", "echo changed > /etc/hostname"])
        configuration.upperDirectory = upper
        let outcome = try Lab07Harness.run(Lab07Harness.runtime("root-cow"), configuration)
        #expect(outcome.termination == .exited(0), "\(outcome.output)")
        #expect(try String(contentsOfFile: Lab07Harness.rootfs + "/etc/hostname", encoding: .utf8) == "vlab-test\n")
        #expect(try String(contentsOfFile: upper + "/etc/hostname", encoding: .utf8) == "changed\n")
    }

    @Test("a read-only root cannot be written, and the switch still works")
    func readOnlyRoot() throws {
        var configuration = Lab07Harness.configuration(["/bin/sh", "-c", "touch /x && echo wrote || echo refused"])
        configuration.readonlyRoot = true
        let outcome = try Lab07Harness.run(Lab07Harness.runtime("root-ro"), configuration)
        #expect(outcome.termination == .exited(0), "\(outcome.output)")
        #expect(outcome.output.contains("refused"), "\(outcome.output)")
    }
}

/// Step 3 in depth: the limits are written where the kernel enforces them, and it does.
@Suite(.enabled(if: Lab07Harness.canRun, Lab07Harness.skipMessage))
struct LimitsTests {
    @Test("memory, pids and cpu limits are written in the right files for the host's layout")
    func limitFiles() throws {
        let id = "lab07-files-\(getpid())"
        let layout = try ControlGroupLayout.current()
        let groups = try Lab07Limits().createControlGroups(id: id, limits: ResourceLimits(memoryBytes: 48 << 20, pids: 21, cpus: 0.25))
        defer { try? groups.destroy() }
        func read(_ controller: String, _ file: String) throws -> String {
            let placement = try #require(groups.placement(of: controller), "no \(controller) group")
            return try String(contentsOfFile: placement.directory + "/" + file, encoding: .utf8)
                .trimmingCharacters(in: .whitespacesAndNewlines)
        }
        for controller in ["memory", "pids", "cpu"] {
            let expected = try #require(layout.locate(controller))
            let placement = try #require(groups.placement(of: controller))
            #expect(placement.version == expected.version, "\(controller) is in cgroup \(expected.version.rawValue) on this host")
            #expect(placement.directory == expected.parent + "/vlab-" + id)
        }
        #expect(try read("pids", "pids.max") == "21")
        if groups.placement(of: "memory")?.version == .v1 {
            #expect(try read("memory", "memory.limit_in_bytes") == "\(48 << 20)")
        } else {
            #expect(try read("memory", "memory.max") == "\(48 << 20)")
        }
        if groups.placement(of: "cpu")?.version == .v1 {
            #expect(try read("cpu", "cpu.cfs_quota_us") == "25000")
            #expect(try read("cpu", "cpu.cfs_period_us") == "100000")
        } else {
            #expect(try read("cpu", "cpu.max") == "25000 100000")
        }
    }

    @Test("a memory hog is killed by the OOM killer")
    func memoryHog() throws {
        let hog = ["/bin/sh", "-c", "x=0123456789abcdef; while true; do x=$x$x; done"]
        let outcome = try Lab07Harness.run(
            Lab07Harness.runtime("limits-memory"), Lab07Harness.configuration(hog, limits: ResourceLimits(memoryBytes: 32 << 20, pids: 16)))
        #expect(outcome.termination == .signaled(SIGKILL), "\(String(describing: outcome.termination)) \(outcome.output.prefix(200))")
        #expect((outcome.usage.oomKills ?? 0) > 0, "the memory controller counted no OOM kill")
    }

    @Test("a fork bomb hits the process limit and the host stays usable")
    func forkBomb() throws {
        let bomb = ["/bin/sh", "-c", "i=0; while [ $i -lt 200 ]; do sleep 5 & i=$((i+1)); done 2>/dev/null; echo done"]
        var configuration = Lab07Harness.configuration(bomb, limits: ResourceLimits(memoryBytes: 64 << 20, pids: 16))
        configuration.timeoutSeconds = 30
        let outcome = try Lab07Harness.run(Lab07Harness.runtime("limits-pids"), configuration)
        #expect((outcome.usage.pidsLimitHits ?? 0) > 0, "the pids controller refused no fork: \(outcome.output.prefix(300))")
    }

    @Test("a CPU limit throttles a busy loop")
    func cpuThrottle() throws {
        let busy = ["/bin/sh", "-c", "timeout 1 sh -c 'while true; do :; done'; true"]
        let outcome = try Lab07Harness.run(
            Lab07Harness.runtime("limits-cpu"), Lab07Harness.configuration(busy, limits: ResourceLimits(pids: 16, cpus: 0.1)))
        #expect(outcome.termination == .exited(0), "\(outcome.output)")
        #expect((outcome.usage.cpuThrottledPeriods ?? 0) > 0, "the CPU controller throttled nothing")
    }

    @Test("nothing is left behind: the groups go when the container ends")
    func cleanup() throws {
        var configuration = Lab07Harness.configuration(["/bin/true"], limits: ResourceLimits(memoryBytes: 32 << 20, pids: 8, cpus: 0.5))
        configuration.id = "lab07-cleanup-\(getpid())"
        let outcome = try Lab07Harness.run(Lab07Harness.runtime("limits-cleanup"), configuration)
        #expect(outcome.termination == .exited(0), "\(outcome.output)")
        #expect(Lab07Harness.leftoverControlGroups(configuration.id ?? "").isEmpty)
    }
}

/// The escape matrix of `vlab container escape-test`, against the runtime with the lab's steps.
@Suite(.enabled(if: Lab07Harness.canRun, Lab07Harness.skipMessage))
struct EscapeMatrixTests {
    @Test("every escape attempt is blocked")
    func everyAttemptBlocked() throws {
        var configuration = Lab07Harness.configuration(["escape-probes"])
        configuration.hostname = "escape-test"
        configuration.timeoutSeconds = 30
        let attempts = try Lab07Harness.runtime("escape").escapeTest(configuration)
        #expect(attempts.count == 7)
        for attempt in attempts {
            #expect(!attempt.escaped, "\(attempt.name) escaped: \(attempt.explanation)")
        }
    }

    /// The default capability drop alone blocks most attempts, whatever the root switch does.
    /// Here the container keeps CAP_SYS_CHROOT, CAP_SYS_PTRACE and CAP_SYS_ADMIN, so the attempts
    /// meet only your steps: a chroot-only root switch is climbed out of, a missing PID namespace
    /// shows the host's processes, a missing cgroup namespace exposes release_agent.
    @Test("every attempt is still blocked when the container keeps chroot, ptrace and admin capabilities")
    func blockedByTheStepsAlone() throws {
        var configuration = Lab07Harness.configuration(["escape-probes"], limits: ResourceLimits(memoryBytes: 64 << 20, pids: 32, cpus: 1))
        configuration.hostname = "escape-test"
        configuration.timeoutSeconds = 30
        configuration.process.capabilities = ProcessConfiguration.defaultCapabilities
            + ["CAP_SYS_CHROOT", "CAP_SYS_PTRACE", "CAP_SYS_ADMIN"]
        let attempts = try Lab07Harness.runtime("escape-relaxed").escapeTest(configuration)
        #expect(attempts.count == 7)
        for attempt in attempts {
            #expect(!attempt.escaped, "\(attempt.name) escaped: \(attempt.explanation)")
        }
    }
}
