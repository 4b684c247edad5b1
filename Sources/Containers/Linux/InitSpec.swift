#if os(Linux)
import ContainerSupport
/// Everything the re-executed init process needs, sent by the parent over an inherited
/// pipe as JSON. The parent writes it only after moving the child into its control
/// groups, so reading it is also the "go" signal.
struct InitSpec: Codable, Sendable {
    var id: String
    var configuration: ContainerConfiguration
    /// The (host) directory where the root is assembled; it is mounted on only inside
    /// the container's own mount namespace, so the host never sees the mount.
    var newRoot: String
    /// Share mode: overlayfs layers, top-most first, and the writable upper/work pair.
    var lowerLayers: [String]
    var upperDirectory: String?
    var workDirectory: String?
    /// The upper layer is the runtime's own temporary one, removed with the container: mount
    /// the overlay `volatile` (no sync of the host's disk when it is unmounted).
    var temporaryUpper = false
    /// Copy mode: the private copy to bind-mount as the root.
    var copiedRoot: String?
    /// Read-only bind mode: the directory to bind (recursively, read-only) as the root.
    var boundRoot: String?
    /// OCI create: the FIFO the init blocks on until `start`.
    var execFifo: String?
    /// Escape test: run the probes instead of a command.
    var escapeProbe: EscapeProbeSpec?
}

/// The lines the init writes on its status pipe. End of file without an error line
/// means execve succeeded (the pipe is close-on-exec).
enum InitStatus {
    static let errorPrefix = "error "
    static let ready = "ready"
    static let probePrefix = "probe "
    /// From the C child of a planned launch (ChildPlan): "failed <errno> <message>".
    static let failedPrefix = "failed "
}

/// Descriptor numbers the init inherits.
enum InitDescriptor {
    static let spec: Int32 = 3
    static let status: Int32 = 4
    /// The escape test deliberately leaks a host directory at this number; a high one
    /// so nothing the init opens can land on it by accident.
    static let leakedDirectory: Int32 = 100
}
#endif
