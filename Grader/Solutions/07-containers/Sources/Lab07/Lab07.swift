import ContainerSupport

/// Lab 07: the three steps of a container runtime, as the runtime takes them.
///
/// The runtime (the `Containers` library, which your code cannot import) does the plumbing:
/// it validates the configuration, prepares the copy-on-write layers, clones the container's
/// init, hands it its spec over a pipe, mounts /proc, /dev and /tmp in the new root, drops
/// capabilities, closes descriptors, execs the command, waits and cleans up. Where a runtime
/// really isolates, it calls your steps instead of its own:
///
/// - `Lab07Namespaces` (Namespaces.swift): which namespaces the clone creates, and finishing
///   them from inside;
/// - `Lab07RootSwitch` (RootSwitch.swift): making the prepared directory the root, with the
///   host's root gone;
/// - `Lab07Limits` (Limits.swift): the control groups that cap memory, processes and CPU.
public enum Lab07 {
    public static let steps = ContainerSteps(
        namespaces: Lab07Namespaces(), rootSwitch: Lab07RootSwitch(), limits: Lab07Limits())
}
