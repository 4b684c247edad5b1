#if os(Linux)
import ContainerSupport
import CContainers
import Glibc
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The container's first process. The runtime clones a child into new namespaces and
/// the child immediately re-executes the runtime's binary with a hidden subcommand
/// (`vlab container __init`), which calls `ContainerInit.main`. So all the in-namespace
/// setup below runs as ordinary Swift in a fresh single-threaded process, never between
/// fork and exec. At the end it execve's the container's command, which becomes PID 1.
///
/// `run` and `start` with the reference steps skip this process: the clone's child carries
/// out the same work from a plan the runtime makes in advance (ChildPlan, plan_child.c),
/// which saves loading an executable. This init remains the path for a lab's own steps, the
/// escape probes, OCI `create` and the chroot teaching mode; ChildPlan follows it step by step.
public enum ContainerInit {
    /// Runs the init and never returns: it execs the command or exits.
    public static func main(steps: ContainerSteps = .reference) -> Never {
        let status = InitDescriptor.status
        do throws(ContainerError) {
            let bytes = try Kernel.readAll(InitDescriptor.spec)
            Kernel.close(InitDescriptor.spec)
            // The parent died (or gave up) before sending the spec: nothing to do.
            if bytes.isEmpty { exit(1) }
            let spec: InitSpec
            do {
                spec = try JSONDecoder().decode(InitSpec.self, from: Data(bytes))
            } catch {
                throw ContainerError("container init: malformed spec from the runtime: \(error)")
            }
            _ = fcntl(status, F_SETFD, FD_CLOEXEC)
            try run(spec, steps: steps, status: status)
        } catch {
            report(status, InitStatus.errorPrefix + error.description)
            exit(126)
        }
    }

    private static func report(_ fd: Int32, _ line: String) {
        let clean = line.replacingNewlines()
        try? Kernel.writeAll(fd, Array((clean + "\n").utf8), what: "status")
    }

    private static func run(_ spec: InitSpec, steps: ContainerSteps, status: Int32) throws(ContainerError) -> Never {
        let configuration = spec.configuration
        let teaching = configuration.teachingMode == .chroot
        if spec.execFifo != nil {
            // An OCI container outlives the `create` command that made it.
            try Kernel.setParentDeathSignal(0)
        }

        try steps.namespaces.configureInside(configuration)
        try assembleRoot(spec)
        // Opened before the root switch: afterwards its path is outside the container.
        let fifo = try spec.execFifo.map { path throws(ContainerError) in try Kernel.open(path, vlab_O_PATH) }
        try steps.rootSwitch(for: configuration).switchRoot(to: spec.newRoot)

        for limit in configuration.process.rlimits { try Kernel.setResourceLimit(limit) }
        if !teaching { try dropPrivileges(configuration.process) }
        if !teaching {
            var keep = [status]
            if let fifo { keep.append(fifo) }
            try Kernel.closeDescriptors(from: 3, keeping: keep)
        }

        if let probe = spec.escapeProbe {
            let attempts = EscapeProbes.runAll(probe, teaching: teaching)
            for attempt in attempts {
                guard let json = try? JSONEncoder().encode(attempt) else { continue }
                report(status, InitStatus.probePrefix + String(decoding: json, as: UTF8.self))
            }
            exit(0)
        }

        let process = configuration.process
        do {
            try Kernel.chdir(process.workingDirectory)
        } catch {
            throw ContainerError("working directory '\(process.workingDirectory)' does not exist in the container", errno: error.errno)
        }
        let executable = try resolve(process.arguments, environment: process.environment)

        if let fifo {
            report(status, InitStatus.ready)
            Kernel.close(status)
            // Blocks until `vlab container start` opens the FIFO for reading.
            let writer = try Kernel.open("/proc/self/fd/\(fifo)", O_WRONLY)
            try Kernel.writeAll(writer, [0], what: "exec FIFO")
            Kernel.close(writer)
            Kernel.close(fifo)
        }
        let argv = CStringArray(process.arguments)
        let envp = CStringArray(process.environment)
        execve(executable, argv.pointers, envp.pointers)
        throw ContainerError("cannot execute '\(executable)' in the container", errno: errno)
    }

    // MARK: The new root

    private static func assembleRoot(_ spec: InitSpec) throws(ContainerError) {
        let root = spec.newRoot
        if let copy = spec.copiedRoot {
            try Kernel.mount(copy, on: root, flags: vlab_MS_BIND | vlab_MS_REC)
        } else if let bound = spec.boundRoot {
            // Before anything is mounted on top: /proc, /dev, /tmp and the configured mounts
            // stay as writable as they are made.
            try Kernel.mount(bound, on: root, flags: vlab_MS_BIND | vlab_MS_REC)
            try Kernel.makeReadOnlyRecursively(root)
        } else {
            var options = "lowerdir=" + spec.lowerLayers.map(escapeOverlayPath).joined(separator: ":")
            if let upper = spec.upperDirectory, let work = spec.workDirectory {
                options += ",upperdir=\(escapeOverlayPath(upper)),workdir=\(escapeOverlayPath(work))"
            }
            var mounted = false
            if spec.temporaryUpper {
                // Unmounting an overlay syncs its upper file system (the host's disk, busy with
                // everyone's writes): the largest part of a short container's teardown, measured
                // with strace. A layer that is deleted right after needs no sync. (Linux 5.10+;
                // older kernels refuse the option, and get the plain mount.)
                do {
                    try Kernel.mount("overlay", on: root, type: "overlay", data: options + ",volatile")
                    mounted = true
                } catch where error.errno == EINVAL {}
            }
            if !mounted { try Kernel.mount("overlay", on: root, type: "overlay", data: options) }
        }
        try mountTheRest(spec)
    }

    /// Everything mounted inside the new root once the root itself is mounted.
    private static func mountTheRest(_ spec: InitSpec) throws(ContainerError) {
        let root = spec.newRoot
        let configuration = spec.configuration
        let mounts = configuration.mounts.isEmpty ? defaultMounts : configuration.mounts
        for mount in mounts { try perform(mount, root: root) }
        if mounts.contains(where: { $0.destination == "/dev" }) { try populateDevices(root + "/dev") }

        for path in configuration.maskedPaths { try mask(root + path) }
        for path in configuration.readonlyPaths { try makeReadonly(root + path) }
        if configuration.readonlyRoot {
            try Kernel.mount(root, on: root, flags: vlab_MS_BIND | vlab_MS_REMOUNT | vlab_MS_RDONLY)
        }
    }

    /// /proc of the new PID namespace, a private /dev, a tmpfs /tmp, a read-only /sys.
    static let defaultMounts = [
        MountConfiguration(destination: "/proc", type: "proc", source: "proc", options: ["nosuid", "noexec", "nodev"]),
        MountConfiguration(destination: "/dev", type: "tmpfs", source: "tmpfs", options: ["nosuid", "strictatime", "mode=755", "size=65536k"]),
        MountConfiguration(destination: "/dev/shm", type: "tmpfs", source: "shm", options: ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]),
        MountConfiguration(destination: "/tmp", type: "tmpfs", source: "tmpfs", options: ["nosuid", "nodev", "mode=1777", "size=65536k"]),
        MountConfiguration(destination: "/sys", type: "sysfs", source: "sysfs", options: ["nosuid", "noexec", "nodev", "ro"]),
    ]

    static let mountFlags: [String: UInt] = [
        "ro": vlab_MS_RDONLY, "nosuid": vlab_MS_NOSUID, "nodev": vlab_MS_NODEV, "noexec": vlab_MS_NOEXEC,
        "strictatime": vlab_MS_STRICTATIME, "relatime": vlab_MS_RELATIME, "noatime": vlab_MS_NOATIME,
        "bind": vlab_MS_BIND, "rbind": vlab_MS_BIND | vlab_MS_REC,
    ]
    static let ignoredMountOptions: Set<String> = ["rw", "suid", "dev", "exec", "private", "rprivate"]

    private static func perform(_ mount: MountConfiguration, root: String) throws(ContainerError) {
        let target = root + mount.destination
        var flags: UInt = 0
        var data: [String] = []
        for option in mount.options {
            if let flag = mountFlags[option] { flags |= flag } else if !ignoredMountOptions.contains(option) { data.append(option) }
        }
        if !Kernel.exists(target) {
            if mount.destination == "/sys" && mount.type == "sysfs" { return }  // an image without /sys
            let isFile = (flags & vlab_MS_BIND) != 0 && !Kernel.isDirectory(mount.source)
            if isFile {
                try Kernel.makeDirectories(String(target[..<(target.lastIndex(of: "/") ?? target.endIndex)]))
                try Kernel.writeFile(target, "", create: true)
            } else {
                try Kernel.makeDirectories(target)
            }
        }
        if (flags & vlab_MS_BIND) != 0 {
            try Kernel.mount(mount.source, on: target, flags: flags & (vlab_MS_BIND | vlab_MS_REC))
            // Bind mounts ignore most flags; a remount applies them.
            let rest = flags & ~(vlab_MS_BIND | vlab_MS_REC)
            if rest != 0 { try Kernel.mount(mount.source, on: target, flags: vlab_MS_BIND | vlab_MS_REMOUNT | rest) }
        } else {
            try Kernel.mount(mount.source, on: target, type: mount.type, flags: flags,
                             data: data.isEmpty ? nil : data.joined(separator: ","))
        }
    }

    /// The device nodes every program expects, bind-mounted from the host's own nodes
    /// (which works the same inside a user namespace, unlike mknod).
    private static func populateDevices(_ dev: String) throws(ContainerError) {
        for name in ["null", "zero", "full", "random", "urandom", "tty"] {
            let target = dev + "/" + name
            if !Kernel.exists(target) { try Kernel.writeFile(target, "", create: true) }
            try Kernel.mount("/dev/" + name, on: target, flags: vlab_MS_BIND)
        }
        for (link, destination) in [("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"),
                                    ("stdout", "/proc/self/fd/1"), ("stderr", "/proc/self/fd/2")]
        where !Kernel.exists(dev + "/" + link) {
            _ = symlink(destination, dev + "/" + link)
        }
    }

    private static func mask(_ path: String) throws(ContainerError) {
        guard Kernel.exists(path) else { return }
        if Kernel.isDirectory(path) {
            try Kernel.mount("tmpfs", on: path, type: "tmpfs", flags: vlab_MS_RDONLY, data: "size=0k")
        } else {
            try Kernel.mount("/dev/null", on: path, flags: vlab_MS_BIND)
        }
    }

    private static func makeReadonly(_ path: String) throws(ContainerError) {
        guard Kernel.exists(path) else { return }
        try Kernel.mount(path, on: path, flags: vlab_MS_BIND | vlab_MS_REC)
        try Kernel.mount(path, on: path, flags: vlab_MS_BIND | vlab_MS_REMOUNT | vlab_MS_RDONLY | vlab_MS_NOSUID | vlab_MS_NODEV | vlab_MS_NOEXEC)
    }

    /// overlayfs option syntax: ',' separates options and ':' separates layers.
    static func escapeOverlayPath(_ path: String) -> String {
        path.replacing("\\", with: "\\\\").replacing(",", with: "\\,").replacing(":", with: "\\:")
    }

    // MARK: Privileges

    private static func dropPrivileges(_ process: ProcessConfiguration) throws(ContainerError) {
        let keep = try Capability.mask(process.capabilities ?? ProcessConfiguration.defaultCapabilities)
        // The bounding set limits what any later execve can gain, even by a setuid file.
        for capability in 0...Capability.lastCapability() where keep & (1 << UInt64(capability)) == 0 {
            try Kernel.dropFromBoundingSet(capability)
        }
        try Kernel.clearAmbientCapabilities()
        if process.gid != 0 { try Kernel.setGroupID(process.gid) }
        if process.uid != 0 { try Kernel.setUserID(process.uid) }
        if process.uid == 0 { try Kernel.setCapabilities(keep) }
        if process.noNewPrivileges { try Kernel.setNoNewPrivileges() }
    }

    // MARK: The command

    private static func resolve(_ arguments: [String], environment: [String]) throws(ContainerError) -> String {
        guard let command = arguments.first, !command.isEmpty else {
            throw ContainerError("no command given to run in the container")
        }
        if command.contains("/") {
            guard access(command, X_OK) == 0 else {
                throw ContainerError("command '\(command)' not found or not executable in the container", errno: errno)
            }
            return command
        }
        let path = environment.first { $0.hasPrefix("PATH=") }.map { String($0.dropFirst(5)) }
            ?? "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
        for directory in path.split(separator: ":") {
            let candidate = directory + "/" + command
            if access(candidate, X_OK) == 0 { return candidate }
        }
        throw ContainerError("command '\(command)' not found in the container (PATH=\(path))")
    }
}

extension String {
    func replacingNewlines() -> String {
        String(map { $0 == "\n" ? " " : $0 })
    }
}
#endif
