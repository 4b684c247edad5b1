#if os(Linux)
import Glibc

/// Where one controller of a container's control group lives.
public struct ControlGroupPlacement: Sendable, Codable, Equatable {
    public enum Version: String, Sendable, Codable { case v1, v2 }
    public var controller: String
    public var version: Version
    /// The container's own cgroup directory for this controller.
    public var directory: String

    public init(controller: String, version: Version, directory: String) {
        self.controller = controller
        self.version = version
        self.directory = directory
    }
}

/// The control groups made for one container: one directory per controller on a
/// hybrid (v1 + v2) host, or one directory for all of them on a pure v2 host.
public struct ControlGroupSet: Sendable, Codable, Equatable {
    public var placements: [ControlGroupPlacement]

    public init(placements: [ControlGroupPlacement] = []) { self.placements = placements }

    /// Every directory, once, deepest first is not needed (they are siblings).
    public var directories: [String] {
        var seen: Set<String> = []
        return placements.map(\.directory).filter { seen.insert($0).inserted }
    }

    public func placement(of controller: String) -> ControlGroupPlacement? {
        placements.first { $0.controller == controller }
    }

    /// Moves `pid` into every directory (before it runs the container's command).
    public func attach(_ pid: pid_t) throws(ContainerError) {
        for directory in directories {
            try Kernel.writeFile(directory + "/cgroup.procs", "\(pid)")
        }
    }

    /// The pids still in the container's groups (all of them, for v1 hierarchies).
    public func remainingProcesses() -> [pid_t] {
        var pids: Set<pid_t> = []
        for directory in directories {
            for line in (Kernel.readFile(directory + "/cgroup.procs") ?? "").split(separator: "\n") {
                if let pid = pid_t(line) { pids.insert(pid) }
            }
        }
        return pids.sorted()
    }

    /// Kills whatever is left in the groups and removes the directories. Safe to call
    /// twice and on directories that are already gone (the garbage collector does).
    public func destroy() throws(ContainerError) {
        // Waits start at 0.5 ms and double up to 10 ms: a group usually empties within a
        // millisecond of its last task being reaped, and a flat 10 ms sleep was a large part
        // of a short container's start-to-exit time.
        var pause: UInt32 = 500
        for _ in 0..<300 {
            let left = remainingProcesses()
            if left.isEmpty { break }
            for pid in left { _ = kill(pid, SIGKILL) }
            usleep(pause)
            pause = min(pause * 2, 10_000)
        }
        for directory in directories where Kernel.exists(directory) {
            var waited: UInt32 = 0
            pause = 500
            while true {
                do {
                    try Kernel.removeDirectory(directory)
                    break
                } catch where error.errno == EBUSY && waited < 1_000_000 {
                    // The last task's exit is accounted asynchronously; the group empties shortly.
                    usleep(pause)
                    waited += pause
                    pause = min(pause * 2, 10_000)
                } catch where error.errno == ENOENT {
                    break
                }
            }
        }
    }

    /// What the kernel counted against the limits, read before the groups are removed.
    public func usage() -> LimitsUsage {
        var usage = LimitsUsage()
        if let memory = placement(of: "memory") {
            let file = memory.version == .v1 ? "memory.oom_control" : "memory.events"
            usage.oomKills = Self.counter("oom_kill", in: memory.directory + "/" + file)
            let peak = memory.version == .v1 ? "memory.max_usage_in_bytes" : "memory.peak"
            usage.memoryPeakBytes = Kernel.readFile(memory.directory + "/" + peak).flatMap { UInt64($0.trimmingSpaces()) }
        }
        if let pids = placement(of: "pids") {
            usage.pidsLimitHits = Self.counter("max", in: pids.directory + "/pids.events")
        }
        if let cpu = placement(of: "cpu") {
            usage.cpuThrottledPeriods = Self.counter("nr_throttled", in: cpu.directory + "/cpu.stat")
            if cpu.version == .v2 {
                usage.cpuUsageMicroseconds = Self.counter("usage_usec", in: cpu.directory + "/cpu.stat").map(UInt64.init)
            }
        }
        return usage
    }

    static func counter(_ key: String, in path: String) -> Int? {
        for line in (Kernel.readFile(path) ?? "").split(separator: "\n") {
            let parts = line.split(separator: " ")
            if parts.count == 2, parts[0] == key { return Int(parts[1]) }
        }
        return nil
    }
}

/// The host's cgroup layout, found from /proc/self/mountinfo and /proc/self/cgroup.
/// On a hybrid host a controller may be in a v1 hierarchy although a v2 mount exists,
/// so the layout is looked up per controller.
public struct ControlGroupLayout: Sendable {
    public struct V1Mount: Sendable {
        public var mountPoint: String
        public var controllers: Set<String>
    }

    public var v1Mounts: [V1Mount] = []
    public var v2MountPoint: String?
    /// This process's cgroup path per v1 controller, and in the v2 hierarchy ("").
    public var ownPaths: [String: String] = [:]

    public static func current() throws(ContainerError) -> ControlGroupLayout {
        guard let mountinfo = Kernel.readFile("/proc/self/mountinfo") else {
            throw ContainerError("cannot read /proc/self/mountinfo to find the cgroup hierarchies")
        }
        var layout = ControlGroupLayout()
        for line in mountinfo.split(separator: "\n") {
            let halves = line.split(separator: " - ", maxSplits: 1)
            guard halves.count == 2 else { continue }
            let left = halves[0].split(separator: " ")
            let right = halves[1].split(separator: " ")
            guard left.count >= 5, right.count >= 3 else { continue }
            let mountPoint = unescapeMountinfo(String(left[4]))
            if right[0] == "cgroup2", layout.v2MountPoint == nil {
                layout.v2MountPoint = mountPoint
            } else if right[0] == "cgroup" {
                let options = Set(right[2].split(separator: ",").map(String.init))
                layout.v1Mounts.append(V1Mount(mountPoint: mountPoint, controllers: options))
            }
        }
        for line in (Kernel.readFile("/proc/self/cgroup") ?? "").split(separator: "\n", omittingEmptySubsequences: true) {
            let parts = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
            guard parts.count == 3 else { continue }
            let path = String(parts[2])
            if parts[1].isEmpty {
                layout.ownPaths[""] = path
            } else {
                for controller in parts[1].split(separator: ",") { layout.ownPaths[String(controller)] = path }
            }
        }
        return layout
    }

    /// Controllers the v2 hierarchy offers to children of this process's cgroup.
    public var v2Controllers: Set<String> {
        guard let mount = v2MountPoint else { return [] }
        let own = ownPaths[""] ?? "/"
        let text = Kernel.readFile(join(mount, own) + "/cgroup.controllers") ?? ""
        return Set(text.split(whereSeparator: { $0 == " " || $0 == "\n" }).map(String.init))
    }

    /// Where `controller` really is, or nil when the host has it nowhere.
    public func locate(_ controller: String) -> (version: ControlGroupPlacement.Version, parent: String)? {
        if let mount = v2MountPoint, v2Controllers.contains(controller) {
            return (.v2, join(mount, ownPaths[""] ?? "/"))
        }
        for v1 in v1Mounts where v1.controllers.contains(controller) {
            return (.v1, join(v1.mountPoint, ownPaths[controller] ?? "/"))
        }
        return nil
    }

    func join(_ mount: String, _ path: String) -> String {
        path == "/" || path.isEmpty ? mount : mount + path
    }

    public static func unescapeMountinfo(_ text: String) -> String {
        // mountinfo escapes space, tab, newline and backslash as \ooo octal.
        guard text.contains("\\") else { return text }
        var bytes: [UInt8] = []
        var utf8 = Array(text.utf8)[...]
        while let byte = utf8.first {
            if byte == UInt8(ascii: "\\"), utf8.count >= 4,
                let value = UInt8(String(decoding: utf8.dropFirst().prefix(3), as: UTF8.self), radix: 8)
            {
                bytes.append(value)
                utf8 = utf8.dropFirst(4)
            } else {
                bytes.append(byte)
                utf8 = utf8.dropFirst()
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
#endif
