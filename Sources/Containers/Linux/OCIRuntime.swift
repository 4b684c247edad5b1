#if os(Linux)
import ContainerSupport
import CContainers
import Glibc

/// The OCI runtime operations, the way runc and crun are driven:
/// create → (container waits) → start → (runs) → kill → delete.
extension ContainerRuntime {
    public static let ociVersion = "1.0.2"

    /// Sets up the container from `bundle` and leaves its init waiting for `start`.
    public func create(id: String, bundle: String) throws(ContainerError) {
        try ContainerID.validate(id)
        let bundlePath = try Self.absolute(bundle)
        let configuration = try OCIBundle.load(bundlePath, id: id)
        let launched = try launch(configuration, mode: .create(bundle: bundlePath))
        // The init lives on without us; only its pidfd is ours to close.
        Kernel.close(launched.child.pidfd)
    }

    /// Releases a created container's init to exec the configured process.
    public func start(id: String) throws(ContainerError) {
        let record = try store.load(id)
        let fifo = store.directory(id) + "/exec.fifo"
        guard Kernel.exists(fifo) else { throw ContainerError("container '\(id)' was already started") }
        guard StateStore.isAlive(record.pid, startTime: record.pidStartTime) else {
            throw ContainerError("container '\(id)' is stopped; it cannot be started")
        }
        let reader = try Kernel.open(fifo, O_RDONLY | O_NONBLOCK)
        defer { Kernel.close(reader) }
        let ready = try Kernel.check(vlab_poll_readable([reader], 1, 5_000), "poll \(fifo)")
        var byte: UInt8 = 0
        guard ready != 0, read(reader, &byte, 1) == 1 else {
            throw ContainerError("container '\(id)' did not start: its init did not answer on \(fifo)")
        }
        _ = unlink(fifo)
    }

    public func state(id: String) throws(ContainerError) -> OCIState {
        let record = try store.load(id)
        let alive = StateStore.isAlive(record.pid, startTime: record.pidStartTime)
        let status: String
        if !alive { status = "stopped" } else if Kernel.exists(store.directory(id) + "/exec.fifo") { status = "created" } else { status = "running" }
        return OCIState(ociVersion: Self.ociVersion, id: id, status: status, pid: alive ? record.pid : nil,
                        bundle: record.bundle ?? "", annotations: record.annotations.isEmpty ? nil : record.annotations)
    }

    /// Sends `signal` to the container's init. The kernel delivers signals other than
    /// SIGKILL and SIGSTOP to a PID namespace's init only if it handles them.
    public func kill(id: String, signal: Int32) throws(ContainerError) {
        let record = try store.load(id)
        guard let pid = record.pid, StateStore.isAlive(pid, startTime: record.pidStartTime) else {
            throw ContainerError("container '\(id)' is not running")
        }
        let pidfd = try Kernel.check(vlab_pidfd_open(pid), "open container '\(id)' process \(pid)")
        defer { Kernel.close(pidfd) }
        // The pidfd names the process we checked, even if it exits and its pid is reused now.
        guard StateStore.isAlive(pid, startTime: record.pidStartTime) else {
            throw ContainerError("container '\(id)' is not running")
        }
        try Kernel.check(vlab_pidfd_send_signal(pidfd, signal), "signal container '\(id)'")
    }

    /// Removes a stopped container (or, with `force`, kills a running one first).
    public func delete(id: String, force: Bool = false) throws(ContainerError) {
        let record = try store.load(id)
        if StateStore.isAlive(record.pid, startTime: record.pidStartTime), !force {
            throw ContainerError("container '\(id)' is still running; kill it first or use --force")
        }
        if let owner = record.ownerPID, StateStore.isAlive(owner, startTime: record.ownerStartTime), owner != getpid() {
            throw ContainerError("container '\(id)' belongs to the running `vlab container run` process \(owner)")
        }
        try store.destroy(record)
    }

    /// The ids in the state directory.
    public func list() -> [String] { store.ids() }
}
#endif
