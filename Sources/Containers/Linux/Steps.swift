#if os(Linux)
import CContainers
import Glibc

// The runtime is three replaceable steps plus plumbing. Each step is a protocol so a
// lab (Lab 07) can hand the runtime a student's implementation in place of the
// reference one: `ContainerSteps(namespaces: StudentNamespaces(), ...)`, passed both to
// `ContainerRuntime` (parent side) and to `ContainerInit.main(steps:)` (the re-executed
// child side, which a lab's own small executable calls).

/// Step 1: the namespaces. The parent asks which clone flags to use; the child, already
/// inside the new namespaces, finishes them (private mount propagation, hostname,
/// loopback, cgroup namespace).
public protocol NamespaceStep: Sendable {
    func cloneFlags(for configuration: ContainerConfiguration) -> UInt64
    func configureInside(_ configuration: ContainerConfiguration) throws(ContainerError)
}

/// Step 2: the root switch. Called in the child with the fully prepared new root (its
/// /proc, /dev and /tmp mounted); afterwards "/" must be `newRoot` and, unless in a
/// teaching mode, the old root must be unreachable.
public protocol RootSwitchStep: Sendable {
    func switchRoot(to newRoot: String) throws(ContainerError)
}

/// Step 3: the limits. Called in the parent before the container runs; returns the
/// control groups it made (the runtime moves the container into them and removes them).
public protocol LimitsStep: Sendable {
    func createControlGroups(id: String, limits: ResourceLimits) throws(ContainerError) -> ControlGroupSet
}

public struct ContainerSteps: Sendable {
    public var namespaces: any NamespaceStep
    public var rootSwitch: any RootSwitchStep
    public var limits: any LimitsStep

    public init(namespaces: any NamespaceStep, rootSwitch: any RootSwitchStep, limits: any LimitsStep) {
        self.namespaces = namespaces
        self.rootSwitch = rootSwitch
        self.limits = limits
    }

    public static let reference = ContainerSteps(
        namespaces: LinuxNamespaces(), rootSwitch: PivotRoot(), limits: ControlGroupLimits())

    /// The root switch actually used for `configuration`: teaching mode swaps in the jail.
    func rootSwitch(for configuration: ContainerConfiguration) -> any RootSwitchStep {
        configuration.teachingMode == .chroot ? ChrootJail() : rootSwitch
    }
}

/// The reference namespace step.
public struct LinuxNamespaces: NamespaceStep {
    public init() {}

    public func cloneFlags(for configuration: ContainerConfiguration) -> UInt64 {
        var flags: UInt64 = 0
        let namespaces = Self.effectiveNamespaces(configuration)
        if namespaces.contains(.mount) { flags |= vlab_CLONE_NEWNS }
        if namespaces.contains(.pid) { flags |= vlab_CLONE_NEWPID }
        if namespaces.contains(.uts) { flags |= vlab_CLONE_NEWUTS }
        if namespaces.contains(.ipc) { flags |= vlab_CLONE_NEWIPC }
        if namespaces.contains(.network) { flags |= vlab_CLONE_NEWNET }
        // The cgroup namespace is entered by the child itself (configureInside) once the
        // parent has moved it into its control groups, so that those become its root.
        return flags
    }

    public func configureInside(_ configuration: ContainerConfiguration) throws(ContainerError) {
        let namespaces = Self.effectiveNamespaces(configuration)
        // Nothing mounted from here on may propagate back to the host's mount table.
        try Kernel.mount("none", on: "/", flags: vlab_MS_REC | vlab_MS_PRIVATE)
        if namespaces.contains(.cgroup) { try Kernel.unshare(vlab_CLONE_NEWCGROUP) }
        if namespaces.contains(.uts), let hostname = configuration.hostname { try Kernel.setHostname(hostname) }
        if namespaces.contains(.network), configuration.network == .loopback {
            try Kernel.check(vlab_loopback_up(), "bring up the loopback interface")
        }
    }

    /// Teaching mode is the classic jail: no PID or cgroup namespace (the host's
    /// processes and cgroup roots stay visible). Mount, UTS, IPC and network stay
    /// private so the lesson never changes the host.
    static func effectiveNamespaces(_ configuration: ContainerConfiguration) -> Set<Namespace> {
        var namespaces = configuration.namespaces
        namespaces.insert(.mount)
        if configuration.teachingMode == .chroot {
            namespaces.remove(.pid)
            namespaces.remove(.cgroup)
        }
        return namespaces
    }
}

/// The reference root switch: pivot_root, then detach the old root so nothing in the
/// container's mount table leads back to the host's files.
public struct PivotRoot: RootSwitchStep {
    public init() {}

    public func switchRoot(to newRoot: String) throws(ContainerError) {
        try Kernel.chdir(newRoot)
        // pivot_root(".", ".") stacks the old root on top of the new one at "/"; the
        // detach below takes it away again, leaving the new root with no put_old
        // directory to clean up (the approach runc takes).
        try Kernel.pivotRoot(".", putOld: ".")
        try Kernel.unmount(".", detach: true)
        try Kernel.chdir("/")
    }
}

/// The teaching-mode root switch: chroot(2) alone. The old root stays in the mount
/// table and a process with CAP_SYS_CHROOT can climb out; the escape matrix shows how.
public struct ChrootJail: RootSwitchStep {
    public init() {}

    public func switchRoot(to newRoot: String) throws(ContainerError) {
        try Kernel.chdir(newRoot)
        try Kernel.chroot(".")
        try Kernel.chdir("/")
    }
}
#endif
