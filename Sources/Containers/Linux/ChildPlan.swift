#if os(Linux)
import ContainerSupport
import CContainers
import Glibc

/// The container init's work (ContainerInit.run with the reference steps) written down in
/// advance as a list of system calls, which the C child of the clone (plan_child.c) carries
/// out before it execs the command: no init executable to load in between.
///
/// Why it exists: measured with strace and clock probes, loading `vlab-init` (the dynamic
/// loader mapping 14 libraries, the Swift runtime and FoundationEssentials starting up, the
/// JSON spec decoded) took about 7 ms of a 12 ms start-to-exit; everything the init then does
/// takes well under 1 ms. The decisions stay here, in Swift: which mounts, in which order,
/// which ones only when a path exists, and each step's error message. The C side only makes
/// the calls, because the child of a clone may not run Swift (the runtime is not fork-safe).
///
/// The runtime takes this path only for the reference steps outside teaching mode, in `run`
/// (and `start`). A lab's own steps, the escape probes and OCI `create` still go through the
/// re-executed init and `ContainerInit`, which this plan must keep matching step for step.
struct ChildPlan {
    private(set) var steps: [vlab_plan_step] = []
    /// The C strings the steps point to, owned by the plan until `deallocate`.
    private var strings: [UnsafeMutablePointer<CChar>?] = []
    var searchPath: String = ""
    var notFoundMessage: String = ""
    var notExecutableMessage: String = ""

    enum Kind {
        case mount, readonlyTree, makeDirectories, makeFile, symlink, unshare, setHostname, loopbackUp
        case pivotRoot, setResourceLimit, dropBoundingSet, clearAmbient, setGroupID, setUserID
        case setCapabilities, noNewPrivileges, changeDirectory, waitForGo

        var raw: vlab_plan_step_kind {
            switch self {
            case .mount: VLAB_STEP_MOUNT
            case .readonlyTree: VLAB_STEP_READONLY_TREE
            case .makeDirectories: VLAB_STEP_MAKE_DIRECTORIES
            case .makeFile: VLAB_STEP_MAKE_FILE
            case .symlink: VLAB_STEP_SYMLINK
            case .unshare: VLAB_STEP_UNSHARE
            case .setHostname: VLAB_STEP_SET_HOSTNAME
            case .loopbackUp: VLAB_STEP_LOOPBACK_UP
            case .pivotRoot: VLAB_STEP_PIVOT_ROOT
            case .setResourceLimit: VLAB_STEP_SET_RLIMIT
            case .dropBoundingSet: VLAB_STEP_DROP_BOUNDING
            case .clearAmbient: VLAB_STEP_CLEAR_AMBIENT
            case .setGroupID: VLAB_STEP_SET_GID
            case .setUserID: VLAB_STEP_SET_UID
            case .setCapabilities: VLAB_STEP_SET_CAPABILITIES
            case .noNewPrivileges: VLAB_STEP_NO_NEW_PRIVILEGES
            case .changeDirectory: VLAB_STEP_CHDIR
            case .waitForGo: VLAB_STEP_WAIT_FOR_GO
            }
        }
    }

    /// When a step runs, tested in the child on `path` just before the step.
    enum Condition {
        case always, exists(String), missing(String), directory(String), notDirectory(String)
    }

    private mutating func copy(_ text: String?) -> UnsafePointer<CChar>? {
        guard let text else { return nil }
        let pointer = strdup(text)
        strings.append(pointer)
        return UnsafePointer(pointer)
    }

    mutating func add(
        _ kind: Kind, _ condition: Condition = .always, a: String? = nil, b: String? = nil, c: String? = nil,
        d: String? = nil, e: String? = nil, flags: UInt = 0, number: UInt64 = 0, number2: UInt64 = 0,
        number3: UInt64 = 0, what: String
    ) {
        var step = vlab_plan_step()
        step.kind = Int32(kind.raw.rawValue)
        switch condition {
        case .always: step.condition = Int32(VLAB_IF_ALWAYS.rawValue)
        case .exists(let path): step.condition = Int32(VLAB_IF_EXISTS.rawValue); step.path = copy(path)
        case .missing(let path): step.condition = Int32(VLAB_IF_MISSING.rawValue); step.path = copy(path)
        case .directory(let path): step.condition = Int32(VLAB_IF_DIRECTORY.rawValue); step.path = copy(path)
        case .notDirectory(let path): step.condition = Int32(VLAB_IF_NOT_DIRECTORY.rawValue); step.path = copy(path)
        }
        step.a = copy(a)
        step.b = copy(b)
        step.c = copy(c)
        step.d = copy(d)
        step.e = copy(e)
        step.flags = flags
        step.number = number
        step.number2 = number2
        step.number3 = number3
        step.what = copy(what)
        steps.append(step)
    }

    func deallocate() {
        for pointer in strings { free(pointer) }
    }

    /// A mount step with the same error text as `Kernel.mount`.
    mutating func mount(
        _ source: String, on target: String, type: String? = nil, flags: UInt = 0, data: String? = nil,
        fallbackData: String? = nil, _ condition: Condition = .always
    ) {
        add(.mount, condition, a: source, b: target, c: type, d: data, e: fallbackData, flags: flags,
            what: "mount \(type ?? "bind") \(source) on \(target)")
    }

    // MARK: The plan, step for step as ContainerInit.run does it

    init() {}

    init(_ spec: InitSpec) throws(ContainerError) {
        let configuration = spec.configuration
        // Step 1: finish the namespaces (LinuxNamespaces.configureInside).
        let namespaces = LinuxNamespaces.effectiveNamespaces(configuration)
        mount("none", on: "/", flags: vlab_MS_REC | vlab_MS_PRIVATE)
        if namespaces.contains(.uts), let hostname = configuration.hostname {
            add(.setHostname, a: hostname, what: "sethostname \(hostname)")
        }
        if namespaces.contains(.network), configuration.network == .loopback {
            add(.loopbackUp, what: "bring up the loopback interface")
        }

        // The new root and what is mounted in it (ContainerInit.assembleRoot, mountTheRest).
        let root = spec.newRoot
        if let copied = spec.copiedRoot {
            mount(copied, on: root, flags: vlab_MS_BIND | vlab_MS_REC)
        } else if let bound = spec.boundRoot {
            mount(bound, on: root, flags: vlab_MS_BIND | vlab_MS_REC)
            add(.readonlyTree, a: root, what: "make \(root) and every mount below it read-only")
        } else {
            var options = "lowerdir=" + spec.lowerLayers.map(ContainerInit.escapeOverlayPath).joined(separator: ":")
            if let upper = spec.upperDirectory, let work = spec.workDirectory {
                options += ",upperdir=\(ContainerInit.escapeOverlayPath(upper)),workdir=\(ContainerInit.escapeOverlayPath(work))"
            }
            if spec.temporaryUpper {
                mount("overlay", on: root, type: "overlay", data: options + ",volatile", fallbackData: options)
            } else {
                mount("overlay", on: root, type: "overlay", data: options)
            }
        }
        let mounts = configuration.mounts.isEmpty ? ContainerInit.defaultMounts : configuration.mounts
        for mount in mounts { plan(mount, root: root) }
        if mounts.contains(where: { $0.destination == "/dev" }) { planDevices(root + "/dev") }
        for path in configuration.maskedPaths {
            mount("tmpfs", on: root + path, type: "tmpfs", flags: vlab_MS_RDONLY, data: "size=0k", .directory(root + path))
            mount("/dev/null", on: root + path, flags: vlab_MS_BIND, .notDirectory(root + path))
        }
        for path in configuration.readonlyPaths {
            let target = root + path
            mount(target, on: target, flags: vlab_MS_BIND | vlab_MS_REC, .exists(target))
            mount(target, on: target, flags: vlab_MS_BIND | vlab_MS_REMOUNT | vlab_MS_RDONLY | vlab_MS_NOSUID | vlab_MS_NODEV | vlab_MS_NOEXEC,
                  .exists(target))
        }
        if configuration.readonlyRoot {
            mount(root, on: root, flags: vlab_MS_BIND | vlab_MS_REMOUNT | vlab_MS_RDONLY)
        }

        // Step 2: the root switch (PivotRoot).
        add(.pivotRoot, a: root, what: "pivot_root to \(root)")

        // The go: the parent has moved the child into its control groups. The root was built
        // while it did so, because both the cgroup attach (the kernel's cgroup_threadgroup_rwsem)
        // and the detach of the old root end in an RCU grace period, a few milliseconds each
        // on this machine: waiting for them at the same time costs one. What ran before is
        // the runtime's own fixed work (mounts in a private namespace: no fork, nothing from
        // the image); the command and everything it starts run only after the go, inside
        // the limits. The cgroup namespace is entered after it, so that the container's own
        // groups are its root.
        add(.waitForGo, what: "wait for the runtime")
        if namespaces.contains(.cgroup) { add(.unshare, number: vlab_CLONE_NEWCGROUP, what: "unshare") }

        // Limits of the process, then privileges (ContainerInit.dropPrivileges).
        let process = configuration.process
        for limit in process.rlimits {
            let number = vlab_rlimit_number(limit.type)
            guard number >= 0 else { throw ContainerError("unknown resource limit '\(limit.type)'") }
            add(.setResourceLimit, number: UInt64(number), number2: limit.soft, number3: limit.hard, what: "setrlimit \(limit.type)")
        }
        let keep = try Capability.mask(process.capabilities ?? ProcessConfiguration.defaultCapabilities)
        add(.dropBoundingSet, number: keep, number2: UInt64(max(0, Capability.lastCapability())),
            what: "drop a capability from the bounding set")
        add(.clearAmbient, what: "clear ambient capabilities")
        if process.gid != 0 { add(.setGroupID, number: UInt64(process.gid), what: "setgroups/setgid \(process.gid)") }
        if process.uid != 0 { add(.setUserID, number: UInt64(process.uid), what: "setuid \(process.uid)") }
        if process.uid == 0 { add(.setCapabilities, number: keep, what: "capset") }
        if process.noNewPrivileges { add(.noNewPrivileges, what: "prctl(PR_SET_NO_NEW_PRIVS)") }

        // The command (ContainerInit.resolve).
        add(.changeDirectory, a: process.workingDirectory,
            what: "working directory '\(process.workingDirectory)' does not exist in the container")
        let command = process.arguments.first ?? ""
        searchPath = process.environment.first { $0.hasPrefix("PATH=") }.map { String($0.dropFirst(5)) }
            ?? "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
        notFoundMessage = "command '\(command)' not found in the container (PATH=\(searchPath))"
        notExecutableMessage = "command '\(command)' not found or not executable in the container"
    }

    /// One configured mount (ContainerInit.perform): the mount point is made when the image
    /// lacks it, except /sys, which is then left out.
    private mutating func plan(_ mount: MountConfiguration, root: String) {
        let target = root + mount.destination
        var flags: UInt = 0
        var data: [String] = []
        for option in mount.options {
            if let flag = ContainerInit.mountFlags[option] {
                flags |= flag
            } else if !ContainerInit.ignoredMountOptions.contains(option) {
                data.append(option)
            }
        }
        var condition = Condition.always
        if mount.destination == "/sys" && mount.type == "sysfs" {
            condition = .exists(target)
        } else if (flags & vlab_MS_BIND) != 0 && !Kernel.isDirectory(mount.source) {
            let parent = String(target[..<(target.lastIndex(of: "/") ?? target.endIndex)])
            add(.makeDirectories, .missing(target), a: parent, what: "mkdir \(parent)")
            add(.makeFile, .missing(target), a: target, what: "open \(target)")
        } else {
            add(.makeDirectories, .missing(target), a: target, what: "mkdir \(target)")
        }
        if (flags & vlab_MS_BIND) != 0 {
            self.mount(mount.source, on: target, flags: flags & (vlab_MS_BIND | vlab_MS_REC), condition)
            let rest = flags & ~(vlab_MS_BIND | vlab_MS_REC)
            if rest != 0 { self.mount(mount.source, on: target, flags: vlab_MS_BIND | vlab_MS_REMOUNT | rest, condition) }
        } else {
            self.mount(mount.source, on: target, type: mount.type, flags: flags,
                       data: data.isEmpty ? nil : data.joined(separator: ","), condition)
        }
    }

    /// The host's device nodes bind-mounted into the private /dev (ContainerInit.populateDevices).
    private mutating func planDevices(_ dev: String) {
        for name in ["null", "zero", "full", "random", "urandom", "tty"] {
            let target = dev + "/" + name
            add(.makeFile, .missing(target), a: target, what: "open \(target)")
            mount("/dev/" + name, on: target, flags: vlab_MS_BIND)
        }
        for (link, destination) in [("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"),
                                    ("stdout", "/proc/self/fd/1"), ("stderr", "/proc/self/fd/2")] {
            add(.symlink, .missing(dev + "/" + link), a: destination, b: dev + "/" + link, what: "symlink \(dev)/\(link)")
        }
    }

    // MARK: Running it

    /// Clones the child into `flags` namespaces; it waits for the go on InitDescriptor.spec
    /// (after building its root) and reports on InitDescriptor.status.
    func clone(flags: UInt64, arguments: [String], environment: [String], descriptors: [(from: Int32, to: Int32)])
        throws(ContainerError) -> Kernel.ChildProcess
    {
        let argv = CStringArray(arguments)
        let envp = CStringArray(environment)
        let path = strdup(searchPath)
        let notFound = strdup(notFoundMessage)
        let notExecutable = strdup(notExecutableMessage)
        defer {
            argv.deallocate()
            envp.deallocate()
            free(path)
            free(notFound)
            free(notExecutable)
        }
        let from = descriptors.map(\.from)
        let to = descriptors.map(\.to)
        var pidfd: Int32 = -1
        let pid = steps.withUnsafeBufferPointer { steps in
            argv.pointers.withUnsafeBufferPointer { argv in
                envp.pointers.withUnsafeBufferPointer { envp in
                    var plan = vlab_plan(
                        steps: steps.baseAddress, step_count: Int32(steps.count),
                        go_fd: InitDescriptor.spec, status_fd: InitDescriptor.status, close_descriptors: 1,
                        argv: argv.baseAddress, envp: envp.baseAddress, search_path: path,
                        not_found_message: notFound, not_executable_message: notExecutable)
                    return vlab_clone_plan(flags, &plan, from, to, Int32(from.count), &pidfd)
                }
            }
        }
        try Kernel.check(pid, "clone the container's first process")
        return Kernel.ChildProcess(pid: pid, pidfd: pidfd)
    }

    /// The child's "failed <errno> <message>" line as an error.
    static func error(fromStatusLine line: String) -> ContainerError? {
        guard line.hasPrefix(InitStatus.failedPrefix) else { return nil }
        let rest = line.dropFirst(InitStatus.failedPrefix.count)
        guard let space = rest.firstIndex(of: " "), let code = Int32(rest[..<space]) else {
            return ContainerError("container setup failed: \(rest)")
        }
        return ContainerError(String(rest[rest.index(after: space)...]), errno: code == 0 ? nil : code)
    }
}
#endif
