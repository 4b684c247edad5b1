import CContainers
import Containers
import Foundation
import Lab07
import Testing

/// The public tests: one per step, each a smaller version of what the hidden tests check.
/// Run them with `sudo vlab test 07` (or `sudo VLAB_LAB=07 swift test --filter Lab07PublicTests`).
@Suite(.enabled(if: Lab07Harness.canRun, Lab07Harness.skipMessage))
struct NamespaceBasics {
    @Test("the command is PID 1 of its own PID namespace and sees the configured hostname")
    func pidAndHostname() throws {
        let outcome = try Lab07Harness.run(
            Lab07Harness.runtime("public-ns"), Lab07Harness.configuration(["/bin/sh", "-c", "echo pid=$$; hostname"]))
        #expect(outcome.termination == .exited(0), "the container failed: \(outcome.output)")
        #expect(outcome.output.contains("pid=1\n"),
                "with CLONE_NEWPID the container's first process is PID 1 in its namespace; it printed: \(outcome.output)")
        #expect(outcome.output.contains("lab07\n"),
                "with CLONE_NEWUTS and sethostname the container is called 'lab07'; it printed: \(outcome.output)")
    }

    @Test("clone flags: a mount namespace always, the others as asked")
    func cloneFlags() {
        let steps = Lab07Namespaces()
        var configuration = Lab07Harness.configuration(["/bin/true"])
        configuration.namespaces = [.pid]
        let flags = steps.cloneFlags(for: configuration)
        #expect(flags & vlab_CLONE_NEWNS != 0, "the mount namespace is needed even when not asked for")
        #expect(flags & vlab_CLONE_NEWPID != 0)
        #expect(flags & vlab_CLONE_NEWNET == 0, "no network namespace was asked for")
    }
}

@Suite(.enabled(if: Lab07Harness.canRun, Lab07Harness.skipMessage))
struct RootSwitchBasics {
    @Test("the container's / is the image, and the host's files are out of reach")
    func rootIsTheImage() throws {
        let hostOnly = NSTemporaryDirectory() + "lab07-host-only-\(getpid())"
        _ = FileManager.default.createFile(atPath: hostOnly, contents: Data("host".utf8))
        defer { try? FileManager.default.removeItem(atPath: hostOnly) }
        let outcome = try Lab07Harness.run(
            Lab07Harness.runtime("public-root"),
            Lab07Harness.configuration(["/bin/sh", "-c", "cat /etc/hostname; cat \(hostOnly) || echo no-host-file"]))
        #expect(outcome.termination == .exited(0), "the container failed: \(outcome.output)")
        #expect(outcome.output.contains("vlab-test\n"), "/etc/hostname comes from the busybox image: \(outcome.output)")
        #expect(outcome.output.contains("no-host-file"), "a file of the host was readable inside: \(outcome.output)")
    }
}

@Suite(.enabled(if: Lab07Harness.canRun, Lab07Harness.skipMessage))
struct LimitsBasics {
    @Test("a pids limit is written where the kernel enforces it")
    func pidsLimitFile() throws {
        let id = "lab07-public-\(getpid())"
        let groups = try Lab07Limits().createControlGroups(id: id, limits: ResourceLimits(pids: 17))
        defer { try? groups.destroy() }
        let placement = try #require(groups.placement(of: "pids"), "no group was returned for the pids controller")
        let written = try String(contentsOfFile: placement.directory + "/pids.max", encoding: .utf8)
        #expect(written.trimmingCharacters(in: .whitespacesAndNewlines) == "17")
        #expect(placement.directory.hasSuffix("/vlab-" + id))
    }

    @Test("no limits, no control groups")
    func noLimits() throws {
        let groups = try Lab07Limits().createControlGroups(id: "lab07-none-\(getpid())", limits: ResourceLimits())
        #expect(groups.placements.isEmpty)
    }
}
