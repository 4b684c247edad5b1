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
}
#endif
