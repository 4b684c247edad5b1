#if os(Linux)
import ContainerSupport
import Glibc

/// The reference limits step: cgroup v2 where the controller is there, v1 otherwise,
/// and a clear error (never a silent plain-file write) when it is nowhere.
public struct ControlGroupLimits: LimitsStep {
    public init() {}

    /// The CFS period the CPU limit is expressed in (the kernel's default, 100 ms).
    static let cpuPeriodMicroseconds = 100_000

    public func createControlGroups(id: String, limits: ResourceLimits) throws(ContainerError) -> ControlGroupSet {
        var wanted: [String] = []
        if limits.memoryBytes != nil { wanted.append("memory") }
        if limits.pids != nil { wanted.append("pids") }
        if limits.cpus != nil { wanted.append("cpu") }
        if limits.devices != nil { wanted.append("devices") }
        if wanted.isEmpty { return ControlGroupSet() }

        let layout = try ControlGroupLayout.current()
        var set = ControlGroupSet()
        do throws(ContainerError) {
            for controller in wanted {
                guard let (version, parent) = layout.locate(controller) else {
                    throw ContainerError(
                        "a \(controller) limit was requested but this host has no \(controller) cgroup controller (neither in cgroup v2 nor in a v1 hierarchy)")
                }
                if version == .v2 && controller == "devices" {
                    throw ContainerError("device rules need the cgroup v1 devices controller; cgroup v2 device control (BPF) is not supported")
                }
                let directory = parent + "/vlab-" + id
                if version == .v2 {
                    // A v2 controller must be enabled in the parent's subtree_control first.
                    try Kernel.writeFile(parent + "/cgroup.subtree_control", "+" + controller)
                }
                if !set.directories.contains(directory) {
                    do {
                        try Kernel.makeDirectory(directory)
                    } catch where error.errno == EEXIST {
                        throw ContainerError("cgroup \(directory) already exists: is container '\(id)' still running?")
                    }
                }
                set.placements.append(ControlGroupPlacement(controller: controller, version: version, directory: directory))
                try write(controller, of: limits, into: set.placements[set.placements.count - 1])
            }
        } catch {
            try? set.destroy()
            throw error
        }
        return set
    }

    private func write(_ controller: String, of limits: ResourceLimits, into placement: ControlGroupPlacement)
        throws(ContainerError)
    {
        let directory = placement.directory
        switch (controller, placement.version) {
        case ("memory", .v1):
            let bytes = limits.memoryBytes ?? 0
            try Kernel.writeFile(directory + "/memory.limit_in_bytes", "\(bytes)")
            // With swap accounting, also cap memory+swap so the limit cannot be dodged by swapping.
            if Kernel.exists(directory + "/memory.memsw.limit_in_bytes") {
                try Kernel.writeFile(directory + "/memory.memsw.limit_in_bytes", "\(bytes)")
            }
        case ("memory", .v2):
            try Kernel.writeFile(directory + "/memory.max", "\(limits.memoryBytes ?? 0)")
            if Kernel.exists(directory + "/memory.swap.max") { try Kernel.writeFile(directory + "/memory.swap.max", "0") }
        case ("pids", _):
            try Kernel.writeFile(directory + "/pids.max", "\(limits.pids ?? 0)")
        case ("cpu", .v1):
            let quota = max(1000, Int((limits.cpus ?? 1) * Double(Self.cpuPeriodMicroseconds)))
            try Kernel.writeFile(directory + "/cpu.cfs_period_us", "\(Self.cpuPeriodMicroseconds)")
            try Kernel.writeFile(directory + "/cpu.cfs_quota_us", "\(quota)")
        case ("cpu", .v2):
            let quota = max(1000, Int((limits.cpus ?? 1) * Double(Self.cpuPeriodMicroseconds)))
            try Kernel.writeFile(directory + "/cpu.max", "\(quota) \(Self.cpuPeriodMicroseconds)")
        case ("devices", _):
            try Kernel.writeFile(directory + "/devices.deny", "a")
            for rule in limits.devices ?? [] {
                let major = rule.major.map(String.init) ?? "*"
                let minor = rule.minor.map(String.init) ?? "*"
                let entry = rule.type == "a" ? "a" : "\(rule.type) \(major):\(minor) \(rule.access)"
                try Kernel.writeFile(directory + (rule.allow ? "/devices.allow" : "/devices.deny"), entry)
            }
        default:
            throw ContainerError("no way to apply a \(controller) limit in cgroup \(placement.version.rawValue)")
        }
    }
}
#endif
