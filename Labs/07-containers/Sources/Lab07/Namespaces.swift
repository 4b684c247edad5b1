import CContainers
import ContainerSupport

/// Step 1: the namespaces.
///
/// The runtime calls `cloneFlags(for:)` in the parent, just before it clones the container's
/// init: every `CLONE_NEW*` flag you return makes the child start in a fresh namespace of that
/// kind. It then calls `configureInside(_:)` in the child, already inside those namespaces and
/// before anything is mounted, to finish what a flag alone cannot do.
public struct Lab07Namespaces: NamespaceStep {
    public init() {}

    /// The clone flags for `configuration.namespaces` (a set of `Namespace`: .mount, .pid, .uts,
    /// .ipc, .network, .cgroup). The mount namespace is always needed, whether asked for or not:
    /// every mount the runtime makes, and the root switch itself, must happen in the container's
    /// own mount table, never the host's. The cgroup namespace is *not* a clone flag here: the
    /// child must first be moved into its control groups (the runtime does that after the clone),
    /// so `configureInside` enters it.
    public func cloneFlags(for configuration: ContainerConfiguration) -> UInt64 {
        // TODO(Lab 07): return the CLONE_NEW* flags (vlab_CLONE_NEWNS, vlab_CLONE_NEWPID, ...) for configuration.namespaces.
        // The runtime refuses to start a container without a mount namespace, so this stub fails every test.
        return 0
    }

    /// Runs in the container's init, inside the new namespaces, before the root is assembled:
    ///
    /// 1. make every mount private (recursively, starting at "/"), so nothing mounted from here on
    ///    propagates back to the host, and nothing the host mounts later appears in the container;
    /// 2. enter a new cgroup namespace when `.cgroup` is asked for (`Kernel.unshare`), so the
    ///    container sees its own control group as the root of the hierarchy;
    /// 3. set the hostname when there is a UTS namespace and `configuration.hostname` is set;
    /// 4. bring the loopback interface up when there is a network namespace and
    ///    `configuration.network == .loopback` (`vlab_loopback_up()`; a new network namespace has
    ///    only `lo`, and it starts down).
    public func configureInside(_ configuration: ContainerConfiguration) throws(ContainerError) {
        throw ContainerError("Lab 07: Lab07Namespaces.configureInside is not written yet (private mounts, cgroup namespace, hostname, loopback)")
    }
}
