#if os(Linux)
import ContainerSupport
import CContainers
import Glibc
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// What the runtime must know about a container to report on it and to clean up after
/// it, even if the runtime process that made it was killed: written before anything it
/// names is created, updated as resources are added.
struct ContainerRecord: Codable, Sendable {
    var id: String
    /// OCI bundle directory, for containers made by `create`.
    var bundle: String?
    /// The `run` process that owns the container. When it is gone (crashed or
    /// SIGKILLed) the container is garbage: the next runtime invocation cleans it up.
    /// OCI containers have no owner; they live until `delete`.
    var ownerPID: Int32?
    var ownerStartTime: UInt64?
    /// The container's init (PID 1 inside), as seen from the host.
    var pid: Int32?
    var pidStartTime: UInt64?
    var controlGroups = ControlGroupSet()
    /// Host directories the runtime made and must remove (upper, work, copies).
    var temporaryPaths: [String] = []
    var annotations: [String: String] = [:]
    var createdSeconds: Int = 0
}

/// The runtime's state directory (`/run/vlab` by default, like runc's `/run/runc`):
/// one subdirectory per container holding `state.json` and the container's scratch.
struct StateStore {
    var root: String

    func directory(_ id: String) -> String { root + "/" + id }

    /// A state root under /run lives in memory, as /run does on a standard system (a tmpfs; runc
    /// keeps its state in /run/runc). Where /run is on disk (this VM), the runtime mounts a tmpfs
    /// on its state root once, which stays until reboot like /run. Reason, measured with
    /// `vlab bench container` under a loaded disk: a container's directories, state file and
    /// temporary upper layer are created and removed at every start, and on a busy ext4 journal
    /// that metadata work was the largest part of the start-to-exit time (about 80 ms against
    /// about 35 ms on tmpfs, same build, same load). Other state roots are left as they are.
    private func keepInMemory() throws(ContainerError) {
        guard root.hasPrefix("/run/"), !Self.isTmpfs(root) else { return }
        // Two runtimes starting at once must not stack two tmpfs mounts (the second would hide
        // the first one's containers): the check and the mount happen under a lock.
        let lock = try Kernel.open(root + ".lock", O_RDWR | O_CREAT | O_CLOEXEC, mode: 0o600)
        defer { Kernel.close(lock) }
        while flock(lock, LOCK_EX) != 0 && errno == EINTR {}
        guard !Self.isTmpfs(root) else { return }
        try Kernel.mount("tmpfs", on: root, type: "tmpfs", flags: vlab_MS_NOSUID | vlab_MS_NODEV, data: "mode=0711")
    }

    static func isTmpfs(_ path: String) -> Bool { vlab_is_tmpfs(path) == 1 }

    /// Creates the container's directory; fails if the id is taken.
    func reserve(_ id: String) throws(ContainerError) -> String {
        try Kernel.makeDirectories(root, mode: 0o711)
        try keepInMemory()
        let directory = directory(id)
        do {
            try Kernel.makeDirectory(directory, mode: 0o711)
        } catch where error.errno == EEXIST {
            throw ContainerError("container id '\(id)' is already in use (\(directory) exists)")
        }
        return directory
    }

    func save(_ record: ContainerRecord) throws(ContainerError) {
        let bytes: Data
        do { bytes = try JSONEncoder().encode(record) } catch {
            throw ContainerError("encode the state of container '\(record.id)': \(error)")
        }
        try Kernel.writeFileAtomically(directory(record.id) + "/state.json", Array(bytes))
    }

    func load(_ id: String) throws(ContainerError) -> ContainerRecord {
        let path = directory(id) + "/state.json"
        guard Kernel.exists(directory(id)) else { throw ContainerError("container '\(id)' does not exist") }
        let bytes: [UInt8]
        do { bytes = try Kernel.readBytes(path) } catch {
            throw ContainerError("container '\(id)' has no readable state (\(path))", errno: error.errno)
        }
        do { return try JSONDecoder().decode(ContainerRecord.self, from: Data(bytes)) } catch {
            throw ContainerError("container '\(id)' has a corrupt state file \(path)")
        }
    }

    func ids() -> [String] {
        ((try? Kernel.directoryEntries(root)) ?? []).filter { !$0.hasPrefix(".") }.sorted()
    }

    static func isAlive(_ pid: Int32?, startTime: UInt64?) -> Bool {
        guard let pid, pid > 0 else { return false }
        guard let now = Kernel.processStartTime(pid) else { return false }
        // A zombie still has a /proc entry; count it as gone.
        if let stat = Kernel.readFile("/proc/\(pid)/stat"), let close = stat.lastIndex(of: ")"),
            stat[stat.index(after: close)...].dropFirst().first == "Z"
        {
            return false
        }
        return startTime == nil || startTime == now
    }

    /// Kills what is left of the container and removes everything the record names.
    func destroy(_ record: ContainerRecord) throws(ContainerError) {
        if let pid = record.pid, Self.isAlive(pid, startTime: record.pidStartTime) {
            _ = kill(pid, SIGKILL)
            for _ in 0..<200 where Self.isAlive(pid, startTime: record.pidStartTime) { usleep(5_000) }
        }
        try record.controlGroups.destroy()
        for path in record.temporaryPaths { try Kernel.removeTree(path) }
        try Kernel.removeTree(directory(record.id))
    }

    /// Cleans up after runtimes that died without doing it themselves. Returns the ids
    /// it removed. A directory with no state file is only removed when old enough that
    /// its creator cannot still be about to write one.
    @discardableResult
    func collectGarbage() -> [String] {
        var removed: [String] = []
        for id in ids() {
            guard let record = try? load(id) else { continue }
            guard let owner = record.ownerPID else { continue }  // OCI: until `delete`
            if Self.isAlive(owner, startTime: record.ownerStartTime) { continue }
            if (try? destroy(record)) != nil { removed.append(id) }
        }
        return removed
    }
}
#endif
