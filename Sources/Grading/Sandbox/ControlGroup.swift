#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// Where this machine lets the grader create control groups for memory and process-count limits.
///
/// Linux has two layouts: cgroup v1 (one hierarchy per controller, e.g. `/sys/fs/cgroup/memory`) and v2
/// (one unified tree). Hybrid machines mount both, with the controllers on one side only. The grader creates
/// child groups under its *own* group (from `/proc/self/cgroup`), so a limit set on the grader still applies.
public struct ControlGroupSupport: Equatable, Sendable {
    public enum Layout: Equatable, Sendable {
        /// Directories of the grader's own group in the v1 `memory` and `pids` hierarchies.
        case v1(memory: String?, pids: String?)
        /// The grader's own group in the unified hierarchy, with `memory` and `pids` enabled for children.
        case v2(String)
    }

    public var layout: Layout

    /// Finds a place where a probe group can really be created and removed; nil when there is none
    /// (not root, no controllers, read-only sysfs).
    public static func probe() -> ControlGroupSupport? {
        let membership = (try? String(contentsOfFile: "/proc/self/cgroup", encoding: .utf8)) ?? ""
        var v1Paths: [String: String] = [:]
        var v2Path: String?
        for line in membership.split(separator: "\n") {
            let fields = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
            guard fields.count == 3 else { continue }
            if fields[0] == "0" && fields[1].isEmpty { v2Path = String(fields[2]) }
            for controller in fields[1].split(separator: ",") { v1Paths[String(controller)] = String(fields[2]) }
        }
        func usable(_ directory: String) -> Bool {
            let probe = "\(directory)/vlab-probe-\(getpid())"
            guard mkdir(probe, 0o755) == 0 else { return false }
            rmdir(probe)
            return true
        }
        let memory = v1Paths["memory"].map { "/sys/fs/cgroup/memory\($0 == "/" ? "" : $0)" }.flatMap { usable($0) ? $0 : nil }
        let pids = v1Paths["pids"].map { "/sys/fs/cgroup/pids\($0 == "/" ? "" : $0)" }.flatMap { usable($0) ? $0 : nil }
        if memory != nil || pids != nil { return ControlGroupSupport(layout: .v1(memory: memory, pids: pids)) }
        if let v2Path {
            let directory = "/sys/fs/cgroup\(v2Path == "/" ? "" : v2Path)"
            let enabled = (try? String(contentsOfFile: "\(directory)/cgroup.subtree_control", encoding: .utf8)) ?? ""
            if enabled.contains("memory"), enabled.contains("pids"), usable(directory) {
                return ControlGroupSupport(layout: .v2(directory))
            }
        }
        return nil
    }

    public var enforcesMemory: Bool {
        switch layout {
        case .v1(let memory, _): memory != nil
        case .v2: true
        }
    }

    public var enforcesProcesses: Bool {
        switch layout {
        case .v1(_, let pids): pids != nil
        case .v2: true
        }
    }

    public var description: String {
        switch layout {
        case .v1: "cgroup v1"
        case .v2: "cgroup v2"
        }
    }
}

/// The control groups of one sandboxed run: created with limits before the run, joined by the sandbox's
/// first shell, read for OOM kills and refused forks during and after, emptied and removed at the end.
final class RunControlGroup: Sendable {
    let directories: [String]
    let support: ControlGroupSupport

    init(support: ControlGroupSupport, name: String, memoryBytes: UInt64, maxProcesses: Int) throws(GradingError) {
        self.support = support
        var directories: [String] = []
        func make(_ directory: String, _ settings: [(String, String)]) throws(GradingError) {
            guard mkdir(directory, 0o755) == 0 || errno == EEXIST else {
                throw GradingError("\(directory): cannot create a control group: \(String(cString: strerror(errno)))")
            }
            directories.append(directory)
            for (file, value) in settings {
                let path = "\(directory)/\(file)"
                guard FileManager.default.fileExists(atPath: path) else { continue }
                guard (try? value.write(toFile: path, atomically: false, encoding: .utf8)) != nil else {
                    throw GradingError("\(path): cannot set \(value)")
                }
            }
        }
        switch support.layout {
        case .v1(let memory, let pids):
            // The swap-inclusive limit may only be set after the plain one, and only where swap is accounted.
            if let memory {
                try make("\(memory)/\(name)", [("memory.limit_in_bytes", "\(memoryBytes)"),
                                               ("memory.memsw.limit_in_bytes", "\(memoryBytes)")])
            }
            if let pids { try make("\(pids)/\(name)", [("pids.max", "\(maxProcesses)")]) }
        case .v2(let root):
            try make("\(root)/\(name)", [("memory.max", "\(memoryBytes)"), ("memory.swap.max", "0"),
                                         ("pids.max", "\(maxProcesses)")])
        }
        self.directories = directories
    }

    /// The files a shell writes its pid into to join every group.
    var membershipFiles: [String] { directories.map { "\($0)/cgroup.procs" } }

    /// How many times the kernel's OOM killer fired inside the group.
    var oomKills: Int {
        for directory in directories {
            for file in ["memory.oom_control", "memory.events"] {
                if let count = counter(named: "oom_kill", in: "\(directory)/\(file)") { return count }
            }
        }
        return 0
    }

    /// How many forks or thread creations the process limit refused.
    var refusedForks: Int {
        for directory in directories {
            if let count = counter(named: "max", in: "\(directory)/pids.events") { return count }
        }
        return 0
    }

    var peakMemoryBytes: UInt64? {
        for directory in directories {
            for file in ["memory.max_usage_in_bytes", "memory.peak"] {
                if let text = try? String(contentsOfFile: "\(directory)/\(file)", encoding: .utf8),
                   let value = UInt64(text.trimmingCharacters(in: .whitespacesAndNewlines)) { return value }
            }
        }
        return nil
    }

    /// Kills every process in the groups, including any that left the process group with `setsid`.
    func killAll() {
        for _ in 0..<50 {
            var found = false
            for directory in directories {
                let text = (try? String(contentsOfFile: "\(directory)/cgroup.procs", encoding: .utf8)) ?? ""
                for line in text.split(separator: "\n") {
                    if let pid = pid_t(line) { found = true; kill(pid, SIGKILL) }
                }
            }
            if !found { return }
            usleep(20_000)
        }
    }

    func remove() {
        killAll()
        for directory in directories {
            for _ in 0..<100 where rmdir(directory) != 0 && errno == EBUSY { usleep(20_000) }
        }
    }

    private func counter(named name: String, in path: String) -> Int? {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: " ")
            if parts.count == 2, parts[0] == name { return Int(parts[1]) }
        }
        return nil
    }
}
