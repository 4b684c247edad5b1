import Foundation
import Testing

@testable import Containers

/// `run` and `start` with the reference steps do the init's work in the clone's child from a
/// plan (ChildPlan) instead of re-executing an init; the escape matrix, OCI `create` and Lab 07
/// go through the init. The two must confine a command identically: same mounts with the
/// same options, capabilities, no_new_privs, descriptors, limits, hostname, cgroup view.
@Suite("Planned child versus re-executed init", .enabled(if: Harness.canRunContainers, Comment(rawValue: Harness.skipMessage)))
struct PlannedChildTests {
    /// The reference namespace step under another name: the runtime plans only steps it
    /// knows to be the reference ones, so with this it re-executes the init instead.
    struct ReferenceThroughInit: NamespaceStep {
        let reference = LinuxNamespaces()
        func cloneFlags(for configuration: ContainerConfiguration) -> UInt64 { reference.cloneFlags(for: configuration) }
        func configureInside(_ configuration: ContainerConfiguration) throws(ContainerError) {
            try reference.configureInside(configuration)
        }
    }

    static var initExecutable: (String, [String]) {
        let directory = URL(fileURLWithPath: Harness.vlab).deletingLastPathComponent().path
        let small = directory + "/vlab-init"
        return FileManager.default.isExecutableFile(atPath: small)
            ? (small, ["vlab-init"]) : (Harness.vlab, ["vlab", "container", "__init"])
    }

    static func runtime(_ name: String, throughInit: Bool) -> ContainerRuntime {
        var steps = ContainerSteps.reference
        if throughInit { steps.namespaces = ReferenceThroughInit() }
        let (executable, arguments) = initExecutable
        return ContainerRuntime(stateRoot: Harness.stateRoot(name), initExecutable: executable,
                                initArguments: arguments, steps: steps)
    }

    /// Runs `configuration` with stdout and stderr into one pipe; returns what it printed.
    static func output(_ runtime: ContainerRuntime, _ configuration: ContainerConfiguration) throws -> (Kernel.Termination?, String) {
        let pipe = try Kernel.pipe()
        let fds = [pipe.read, pipe.write]
        let null = open("/dev/null", O_RDONLY | O_CLOEXEC)
        defer { close(null) }
        let container: RunningContainer
        do {
            container = try runtime.start(configuration, io: ContainerIO(input: null, output: fds[1], error: fds[1]))
        } catch {
            close(fds[0])
            close(fds[1])
            throw error
        }
        close(fds[1])
        let data = FileHandle(fileDescriptor: fds[0], closeOnDealloc: true).readDataToEndOfFile()
        let termination = try container.wait()
        try container.finish()
        return (termination, String(decoding: data, as: UTF8.self))
    }

    static let probe = """
        echo pid=$$ cwd=$(pwd) host=$(hostname) nofile=$(ulimit -n)
        grep -E '^(Uid|Gid|Groups|CapInh|CapPrm|CapEff|CapBnd|CapAmb|NoNewPrivs)' /proc/self/status
        echo fds: $(ls /proc/self/fd)
        cut -d' ' -f4-6,9- /proc/self/mountinfo | sed 's/upperdir=[^,]*,workdir=[^,]*//'
        cat /proc/self/cgroup
        [ $(ls /proc | grep -c '^[0-9]') -le 5 ] && echo 'no host processes'
        echo nets=$(ls /sys/class/net) lo=$(cat /sys/class/net/lo/operstate)
        """

    @Test("both paths give the command the same confinement", arguments: [0, 1000] as [UInt32])
    func sameConfinement(uid: UInt32) throws {
        var configuration = ContainerConfiguration(
            rootfs: Harness.rootfs, hostname: "parity", limits: ResourceLimits(memoryBytes: 64 << 20, pids: 32),
            process: ProcessConfiguration(
                arguments: ["/bin/sh", "-c", Self.probe], workingDirectory: "/tmp", uid: uid, gid: uid,
                rlimits: [ResourceLimit(type: "RLIMIT_NOFILE", soft: 321, hard: 321)]),
            timeoutSeconds: 60)
        configuration.id = "planned-\(uid)"
        let (plannedEnd, planned) = try Self.output(Self.runtime("planned-\(uid)", throughInit: false), configuration)
        configuration.id = "init-\(uid)"
        let (initEnd, throughInit) = try Self.output(Self.runtime("init-\(uid)", throughInit: true), configuration)

        #expect(plannedEnd == .exited(0) && initEnd == .exited(0), "\(planned)\n---\n\(throughInit)")
        #expect(planned == throughInit)
        #expect(planned.hasPrefix("pid=1 cwd=/tmp host=parity nofile=321\n"), "\(planned)")
        #expect(planned.contains("NoNewPrivs:\t1") && planned.contains("no host processes\nnets=lo lo=unknown\n"), "\(planned)")
        // Nothing of the host's mount table: the old root is gone.
        #expect(!planned.contains("/run/vlab") && !planned.contains(Harness.rootfs + " "), "\(planned)")
        for name in ["planned-\(uid)", "init-\(uid)"] {
            Harness.assertNothingLeft(Harness.stateRoot(name), id: name)
            try? FileManager.default.removeItem(atPath: Harness.stateRoot(name))
        }
    }

    @Test("a setup failure in the planned child is one error naming it, and leaves nothing")
    func setupFailure() {
        var configuration = ContainerConfiguration(
            id: "planned-bad", rootfs: Harness.rootfs, limits: ResourceLimits(pids: 8),
            process: ProcessConfiguration(arguments: ["/bin/true"]),
            mounts: [MountConfiguration(destination: "/proc", type: "no-such-filesystem", source: "none")])
        let runtime = Self.runtime("planned-bad", throughInit: false)
        #expect {
            _ = try Self.output(runtime, configuration)
        } throws: { error in
            guard let error = error as? ContainerError else { return false }
            return error.message.contains("mount no-such-filesystem none on ") && error.errno == ENODEV
        }
        Harness.assertNothingLeft(Harness.stateRoot("planned-bad"), id: "planned-bad")

        configuration.mounts = []
        configuration.process.arguments = ["/no/such/program"]
        #expect {
            _ = try Self.output(runtime, configuration)
        } throws: { error in
            (error as? ContainerError)?.message == "command '/no/such/program' not found or not executable in the container"
        }
        Harness.assertNothingLeft(Harness.stateRoot("planned-bad"), id: "planned-bad")
        try? FileManager.default.removeItem(atPath: Harness.stateRoot("planned-bad"))
    }
}
