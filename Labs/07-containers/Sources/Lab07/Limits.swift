import ContainerSupport
import Glibc

/// Step 3: the limits.
///
/// `createControlGroups(id:limits:)` runs in the parent before the container's init is let go.
/// For every limit that is set (`limits.memoryBytes`, `limits.pids`, `limits.cpus`) it makes one
/// control group for the container, writes the limit into it, and returns where each controller's
/// group is (`ControlGroupSet`). The runtime moves the init into every returned directory, reads
/// the kernel's counters from them when the container ends (OOM kills, refused forks, throttled
/// periods) and removes them.
///
/// Linux has two cgroup layouts, and this machine has both at once (a "hybrid" host): cgroup v2,
/// one tree where a controller must be enabled for children in the parent's
/// `cgroup.subtree_control`, and cgroup v1, one tree per controller. `ControlGroupLayout.current()`
/// reads the host's layout; `layout.locate(controller)` says where a controller really is (v2 when
/// the v2 tree offers it, else the v1 hierarchy that has it) and the parent directory to create the
/// container's group in. When a controller is nowhere, throw an error that says so: never write a
/// limit somewhere the kernel does not enforce it.
///
/// Name each group `vlab-<id>` in its parent, and create each directory once (several v2
/// controllers share one). The files, per controller and version:
///
/// | limit    | cgroup v2                                  | cgroup v1                                   |
/// |----------|--------------------------------------------|---------------------------------------------|
/// | memory   | `memory.max` (bytes), `memory.swap.max` 0  | `memory.limit_in_bytes`, and `memory.memsw.limit_in_bytes` where it exists |
/// | pids     | `pids.max`                                 | `pids.max`                                  |
/// | cpu      | `cpu.max`: "QUOTA PERIOD" (microseconds)   | `cpu.cfs_period_us`, then `cpu.cfs_quota_us` |
///
/// with a period of 100 000 µs and a quota of `cpus × period` (at least 1000). If anything fails
/// halfway, remove what you made (`ControlGroupSet.destroy()`) before throwing.
public struct Lab07Limits: LimitsStep {
    public init() {}

    public func createControlGroups(id: String, limits: ResourceLimits) throws(ContainerError) -> ControlGroupSet {
        throw ContainerError("Lab 07: Lab07Limits.createControlGroups is not written yet (cgroup v2 or v1 groups for memory, pids and cpu)")
    }
}
