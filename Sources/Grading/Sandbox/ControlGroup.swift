#if os(Linux)
import Containers
#endif

/// Where the sandbox's memory and process-count limits go on this machine. The groups themselves are
/// made, joined, read and removed by the Containers runtime (its limits step); this only says where.
public struct ControlGroupSupport: Equatable, Sendable {
    /// "cgroup v1" or "cgroup v2" for each controller the host has, nil where it has none.
    public var memory: String?
    public var processes: String?

    public init(memory: String?, processes: String?) {
        self.memory = memory
        self.processes = processes
    }

    public var enforcesMemory: Bool { memory != nil }
    public var enforcesProcesses: Bool { processes != nil }

    /// From the host's layout as the runtime sees it (per controller: hybrid hosts have both versions).
    static func current() -> ControlGroupSupport? {
        #if os(Linux)
        guard let layout = try? ControlGroupLayout.current() else { return nil }
        let memory = layout.locate("memory").map { "cgroup \($0.version.rawValue)" }
        let pids = layout.locate("pids").map { "cgroup \($0.version.rawValue)" }
        return memory == nil && pids == nil ? nil : ControlGroupSupport(memory: memory, processes: pids)
        #else
        return nil
        #endif
    }
}
