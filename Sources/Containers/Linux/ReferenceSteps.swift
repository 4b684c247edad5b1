#if os(Linux)
import ContainerSupport
import CContainers
import Glibc

// The reference answers to the three steps (ContainerSupport/Linux/Steps.swift defines
// the protocols). Lab 07 asks students to write these; its target cannot import this module.

extension ContainerSteps {
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
