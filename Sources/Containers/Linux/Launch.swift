#if os(Linux)
import ContainerSupport
import CContainers
import Glibc
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

enum LaunchMode {
    case run
    case create(bundle: String)
    case escapeProbe(EscapeProbeSpec, leakedDirectory: Int32)
}

/// A container whose init is running (or waiting for `start`), with everything made for
/// it. Owned by one runtime call; not Sendable (it holds the child's pidfd).
final class LaunchedContainer {
    var record: ContainerRecord
    let store: StateStore
    let child: Kernel.ChildProcess
    let configuration: ContainerConfiguration
    var statusLines: [String] = []
    var appliedLimits: [String] = []
    private var destroyed = false

    init(record: ContainerRecord, store: StateStore, child: Kernel.ChildProcess, configuration: ContainerConfiguration) {
        self.record = record
        self.store = store
        self.child = child
        self.configuration = configuration
    }

    /// Kills the container if still running and removes all it had. Idempotent.
    func destroy() throws(ContainerError) {
        guard !destroyed else { return }
        destroyed = true
        if (try? Kernel.wait(child, block: false)) == nil {
            try? Kernel.signal(child, SIGKILL)
            _ = try? Kernel.wait(child)
        }
        Kernel.close(child.pidfd)
        try store.destroy(record)
    }
}

/// Confined to the runtime call that launched it.
@available(*, unavailable)
extension LaunchedContainer: Sendable {}

extension ContainerRuntime {
    /// Checks a configuration before anything is created, so bad input leaves nothing behind.
    public static func validate(_ configuration: ContainerConfiguration) throws(ContainerError) {
        if let id = configuration.id { try ContainerID.validate(id) }
        guard Kernel.exists(configuration.rootfs) else {
            throw ContainerError("rootfs '\(configuration.rootfs)' does not exist")
        }
        guard Kernel.isDirectory(configuration.rootfs) else {
            throw ContainerError("rootfs '\(configuration.rootfs)' is not a directory")
        }
        for layer in configuration.layers where !Kernel.isDirectory(layer) {
            throw ContainerError("layer '\(layer)' does not exist or is not a directory")
        }
        if let upper = configuration.upperDirectory, Kernel.exists(upper), !Kernel.isDirectory(upper) {
            throw ContainerError("upper directory '\(upper)' is not a directory")
        }
        if configuration.process.arguments.first?.isEmpty ?? true {
            throw ContainerError("no command given to run in the container")
        }
        if configuration.namespaces.contains(.user) {
            throw ContainerError("user namespaces are not supported by this runtime yet")
        }
        if let pids = configuration.limits.pids, pids < 1 {
            throw ContainerError("invalid process limit \(pids): must be at least 1")
        }
        if let cpus = configuration.limits.cpus, !(cpus > 0 && cpus <= 1024) {
            throw ContainerError("invalid CPU limit \(cpus): must be a number of CPUs greater than 0")
        }
        if let memory = configuration.limits.memoryBytes, memory < 1 << 20 {
            throw ContainerError("invalid memory limit \(memory) bytes: must be at least 1M")
        }
        if let hostname = configuration.hostname, hostname.isEmpty || hostname.utf8.count > 64 {
            throw ContainerError("invalid hostname '\(hostname)': must be 1 to 64 bytes")
        }
        if let timeout = configuration.timeoutSeconds, !(timeout > 0) {
            throw ContainerError("invalid timeout \(timeout): must be positive")
        }
        guard getuid() == 0 else {
            throw ContainerError("containers need root here (namespaces, mounts and cgroups): run vlab as root")
        }
    }

    static func absolute(_ path: String) throws(ContainerError) -> String {
        guard let resolved = realpath(path, nil) else { throw ContainerError("cannot resolve '\(path)'", errno: errno) }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    func launch(_ configuration: ContainerConfiguration, mode: LaunchMode, io: ContainerIO? = nil)
        throws(ContainerError) -> LaunchedContainer
    {
        try Self.validate(configuration)
        // The namespace step may be a student's (Lab 07). Without a mount namespace every mount
        // and the root switch itself would happen in the host's mount table: refuse, before
        // anything is made.
        let cloneFlags = steps.namespaces.cloneFlags(for: configuration)
        guard cloneFlags & vlab_CLONE_NEWNS != 0 else {
            throw ContainerError(
                "the namespace step's clone flags (0x\(String(cloneFlags, radix: 16))) have no CLONE_NEWNS: the container's mounts and root switch would change the host's mount table, so the runtime refuses to start it")
        }
        store.collectGarbage()
        let id = configuration.id ?? "run-\(getpid())-\(Kernel.monotonicNanoseconds() % 1_000_000_000)"
        let directory = try store.reserve(id)
        var record = ContainerRecord(id: id)
        record.createdSeconds = Int(time(nil))
        switch mode {
        case .create(let bundle):
            record.bundle = bundle
        case .run, .escapeProbe:
            record.ownerPID = getpid()
            record.ownerStartTime = Kernel.processStartTime(getpid())
        }
        do {
            try store.save(record)
        } catch {
            try? Kernel.removeTree(directory)
            throw error
        }

        var child: Kernel.ChildProcess?
        do throws(ContainerError) {
            var spec = InitSpec(id: id, configuration: configuration, newRoot: directory + "/rootfs", lowerLayers: [])
            try Kernel.makeDirectory(spec.newRoot)
            let rootfs = try Self.absolute(configuration.rootfs)
            let layers = try configuration.layers.map { path throws(ContainerError) in try Self.absolute(path) }
            switch configuration.storage {
            case .readOnlyBind:
                spec.boundRoot = rootfs
            case .copy:
                spec.copiedRoot = directory + "/copy"
                try Layers.flatten([rootfs] + layers, into: directory + "/copy")
            case .sharedLayers:
                spec.lowerLayers = layers.reversed() + [rootfs]
                if let upper = configuration.upperDirectory {
                    if !Kernel.exists(upper) { try Kernel.makeDirectories(upper) }
                    let upperPath = try Self.absolute(upper)
                    // overlayfs wants the work directory on the upper's filesystem.
                    let work = upperPath + ".work-" + id
                    record.temporaryPaths.append(work)
                    try store.save(record)
                    try Kernel.makeDirectory(work, mode: 0o700)
                    spec.upperDirectory = upperPath
                    spec.workDirectory = work
                } else {
                    spec.upperDirectory = directory + "/upper"
                    spec.workDirectory = directory + "/work"
                    spec.temporaryUpper = true
                    try Kernel.makeDirectory(directory + "/upper")
                    try Kernel.makeDirectory(directory + "/work", mode: 0o700)
                }
            }
            if case .create = mode {
                spec.execFifo = directory + "/exec.fifo"
                try Kernel.retrying("mkfifo \(directory)/exec.fifo") { mkfifo(directory + "/exec.fifo", 0o600) }
            }
            var leaked: Int32?
            if case .escapeProbe(let probe, let leakedDirectory) = mode {
                spec.escapeProbe = probe
                leaked = leakedDirectory
            }

            // The reference steps need no init executable: the clone's child carries out a plan
            // made here (ChildPlan). Made before anything else, so a bad capability or rlimit
            // name fails before the control groups exist.
            let plan = try runsWithoutInit(configuration, mode: mode) ? ChildPlan(spec) : nil
            defer { plan?.deallocate() }

            record.controlGroups = try steps.limits.createControlGroups(id: id, limits: configuration.limits)
            try store.save(record)
            let applied = Self.describe(configuration.limits, record.controlGroups)

            let specPipe = try Kernel.pipe()
            let statusPipe: (read: Int32, write: Int32)
            do { statusPipe = try Kernel.pipe() } catch {
                Kernel.close(specPipe.read)
                Kernel.close(specPipe.write)
                throw error
            }
            var descriptors: [(from: Int32, to: Int32)] = [(specPipe.read, InitDescriptor.spec), (statusPipe.write, InitDescriptor.status)]
            if let leaked { descriptors.append((leaked, InitDescriptor.leakedDirectory)) }
            if let io { descriptors += [(io.input, 0), (io.output, 1), (io.error, 2)] }
            do {
                if let plan {
                    child = try plan.clone(
                        flags: cloneFlags, arguments: configuration.process.arguments,
                        environment: configuration.process.environment, descriptors: descriptors)
                } else {
                    child = try Kernel.cloneAndExec(
                        flags: cloneFlags, path: initExecutable,
                        arguments: initArguments, environment: [], descriptors: descriptors)
                }
            } catch {
                for fd in [specPipe.read, specPipe.write, statusPipe.read, statusPipe.write] { Kernel.close(fd) }
                throw error
            }
            // A planned child may end before the go (a failed mount): the runtime keeps a reader
            // on the go pipe until it has written, so the write cannot raise SIGPIPE.
            var goReader: Int32? = specPipe.read
            if plan == nil {
                Kernel.close(specPipe.read)
                goReader = nil
            }
            defer { if let goReader { Kernel.close(goReader) } }
            Kernel.close(statusPipe.write)
            defer { Kernel.close(statusPipe.read) }
            guard let started = child else { throw ContainerError("clone failed") }
            record.pid = started.pid
            record.pidStartTime = Kernel.processStartTime(started.pid)
            do throws(ContainerError) {
                try store.save(record)
                // Limits first, then the spec: the init cannot run a single instruction of
                // the container's setup outside its control groups. (A planned child builds
                // its root meanwhile and waits for the go before anything else: ChildPlan.)
                try record.controlGroups.attach(started.pid)
                if plan != nil {
                    // The planned child needs only the go.
                    try Kernel.writeAll(specPipe.write, [1], what: "the go to the container's first process")
                } else {
                    let bytes: Data
                    do { bytes = try JSONEncoder().encode(spec) } catch { throw ContainerError("encode the init spec: \(error)") }
                    try Kernel.writeAll(specPipe.write, Array(bytes), what: "the init spec")
                }
                Kernel.close(specPipe.write)
            } catch {
                Kernel.close(specPipe.write)
                // A planned child that failed while building its root has exited, so the
                // attach found no process: its own message says what went wrong.
                if plan != nil, let lines = try? Self.readStatus(statusPipe.read, stopAtReady: false),
                    let failure = lines.lazy.compactMap(ChildPlan.error(fromStatusLine:)).first
                {
                    throw failure
                }
                throw error
            }

            let launched = LaunchedContainer(record: record, store: store, child: started, configuration: configuration)
            launched.appliedLimits = applied
            let stopAtReady: Bool
            if case .create = mode { stopAtReady = true } else { stopAtReady = false }
            let lines = try Self.readStatus(statusPipe.read, stopAtReady: stopAtReady)
            launched.statusLines = lines
            if let error = lines.first(where: { $0.hasPrefix(InitStatus.errorPrefix) }) {
                try? launched.destroy()
                throw ContainerError(String(error.dropFirst(InitStatus.errorPrefix.count)))
            }
            if let error = lines.lazy.compactMap(ChildPlan.error(fromStatusLine:)).first {
                try? launched.destroy()
                throw error
            }
            if stopAtReady, !lines.contains(InitStatus.ready) {
                try? launched.destroy()
                throw ContainerError("the container init exited before it was ready")
            }
            return launched
        } catch {
            if let child {
                try? Kernel.signal(child, SIGKILL)
                _ = try? Kernel.wait(child)
                Kernel.close(child.pidfd)
            }
            try? store.destroy(record)
            throw error
        }
    }

    /// Whether the clone's child can run the setup itself (ChildPlan) instead of exec'ing an
    /// init: only the reference steps can be planned (a lab's steps are Swift code that must
    /// run in the child), and the escape probes, OCI `create` and the chroot teaching mode
    /// stay with the init, which has the code for them.
    func runsWithoutInit(_ configuration: ContainerConfiguration, mode: LaunchMode) -> Bool {
        guard plansChild, case .run = mode, configuration.teachingMode != .chroot else { return false }
        return steps.namespaces is LinuxNamespaces && steps.rootSwitch is PivotRoot
    }

    /// Reads the init's status lines until end of file (it exec'd or exited) or, for
    /// OCI create, until it says it is ready.
    static func readStatus(_ fd: Int32, stopAtReady: Bool) throws(ContainerError) -> [String] {
        var lines: [String] = []
        var pending: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw ContainerError("read the init's status", errno: errno)
            }
            if count == 0 { break }
            pending.append(contentsOf: buffer[0..<count])
            while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                lines.append(String(decoding: pending[..<newline], as: UTF8.self))
                pending.removeSubrange(...newline)
                if stopAtReady && lines.last == InitStatus.ready { return lines }
            }
        }
        if !pending.isEmpty { lines.append(String(decoding: pending, as: UTF8.self)) }
        return lines
    }

    static func describe(_ limits: ResourceLimits, _ groups: ControlGroupSet) -> [String] {
        var lines: [String] = []
        func place(_ controller: String) -> String {
            guard let placement = groups.placement(of: controller) else { return "" }
            return " (cgroup \(placement.version.rawValue) \(placement.directory))"
        }
        if let memory = limits.memoryBytes { lines.append("memory \(formatBytes(memory))" + place("memory")) }
        if let pids = limits.pids { lines.append("pids \(pids)" + place("pids")) }
        if let cpus = limits.cpus { lines.append("cpus \(cpus)" + place("cpu")) }
        if let devices = limits.devices { lines.append("devices: deny all + \(devices.count) rules" + place("devices")) }
        return lines
    }
}
#endif
