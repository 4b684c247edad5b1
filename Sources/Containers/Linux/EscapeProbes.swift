#if os(Linux)
import ContainerSupport
import CContainers
import Glibc

/// What the escape test tells the probes about the host (all chosen by the runtime).
struct EscapeProbeSpec: Codable, Sendable {
    /// A file on the host, outside the container, holding `markerContents`: reading it
    /// from inside is the proof of an escape.
    var markerPath: String
    var markerContents: String
    /// A harmless host process (a sleep) to try to reach through /proc and ptrace.
    var hostPID: Int32
    /// The escape test leaks the marker's directory at InitDescriptor.leakedDirectory.
    var leakedDirectory: Int32
}

/// One attempt of the escape matrix and what stopped it.
public struct EscapeAttempt: Sendable, Codable, Equatable {
    public var name: String
    /// True when the attempt read the host's marker file (or, for device and cgroup
    /// attempts, got the host resource open).
    public var escaped: Bool
    /// The mitigation that stopped it, or what made it work.
    public var explanation: String
    /// The errno of the call that failed, when one did.
    public var errno: String?

    /// Names of the classic attempts that a plain chroot jail cannot stop.
    public static let classic: Set<String> = [
        "double chroot", "leaked directory descriptor + fchdir", "/proc/<host pid>/root",
        "mknod a device", "ptrace a host process",
    ]
}

/// The escape attempts, run inside a fully set-up container (after the root switch,
/// capability drop, no_new_privs and descriptor closing) by the container's init in
/// place of a command. They only read a marker file and open resources; they never
/// write to a device or to release_agent, so even a successful attempt is harmless.
enum EscapeProbes {
    static func runAll(_ spec: EscapeProbeSpec, teaching: Bool) -> [EscapeAttempt] {
        let probes: [(String, (EscapeProbeSpec) -> EscapeAttempt)] = [
            ("double chroot", doubleChroot),
            ("leaked directory descriptor + fchdir", leakedDescriptor),
            ("/proc/<host pid>/root", procRoot),
            ("mknod a device", mknodDevice),
            ("ptrace a host process", ptraceHost),
            ("old root left mounted after pivot_root", oldRoot),
            ("cgroup v1 release_agent", releaseAgent),
        ]
        // An attempt that escapes changes this process's root or directory; put both
        // back so the next attempt starts from the container again.
        let containerRoot = open("/", O_DIRECTORY | vlab_O_PATH | O_CLOEXEC)
        var attempts: [EscapeAttempt] = []
        for (name, probe) in probes {
            var attempt = probe(spec)
            attempt.name = name
            attempts.append(attempt)
            if containerRoot >= 0 {
                _ = fchdir(containerRoot)
                _ = chroot(".")
                _ = chdir("/")
            }
        }
        return attempts
    }

    private static func readsMarker(_ path: String, _ spec: EscapeProbeSpec) -> Bool {
        guard let text = Kernel.readFile(path) else { return false }
        return text == spec.markerContents
    }

    private static func blocked(_ explanation: String, _ code: Int32? = errno) -> EscapeAttempt {
        EscapeAttempt(name: "", escaped: false, explanation: explanation, errno: code.map(ContainerError.errnoName))
    }

    private static func escaped(_ explanation: String) -> EscapeAttempt {
        EscapeAttempt(name: "", escaped: true, explanation: explanation, errno: nil)
    }

    /// chroot into a subdirectory while the working directory stays outside it, climb
    /// "..", then chroot(".") at the top: the classic way out of a chroot jail.
    static func doubleChroot(_ spec: EscapeProbeSpec) -> EscapeAttempt {
        let jail = "/tmp/.vlab-escape-jail"
        _ = mkdir(jail, 0o700)
        defer { _ = rmdir(jail) }
        if chroot(jail) != 0 {
            return blocked("capabilities: CAP_SYS_CHROOT was dropped, so chroot(2) is refused")
        }
        for _ in 0..<64 { _ = chdir("..") }
        if chroot(".") != 0 { return blocked("chroot(\".\") refused after climbing") }
        if readsMarker(spec.markerPath, spec) {
            return escaped("climbed out of the chroot with \"..\" and read the host file \(spec.markerPath)")
        }
        return blocked("pivot_root: the container root is the root of its own mount namespace, \"..\" stops there", ENOENT)
    }

    /// Use a directory descriptor the runtime forgot to close.
    static func leakedDescriptor(_ spec: EscapeProbeSpec) -> EscapeAttempt {
        if fchdir(spec.leakedDirectory) != 0 {
            return blocked("descriptors: the init closed every inherited descriptor (fd \(spec.leakedDirectory) is gone)")
        }
        let name = String(spec.markerPath.split(separator: "/").last ?? "")
        if readsMarker(name, spec) {
            return escaped("fchdir to leaked fd \(spec.leakedDirectory) reached the host directory and read \(name)")
        }
        return blocked("fchdir worked but the host file was not readable")
    }

    /// /proc/PID/root of a host process is a magic link to that process's root.
    static func procRoot(_ spec: EscapeProbeSpec) -> EscapeAttempt {
        let path = "/proc/\(spec.hostPID)/root\(spec.markerPath)"
        if readsMarker(path, spec) { return escaped("read \(path): the host's root through procfs") }
        let code = errno
        if code == ENOENT || code == ESRCH {
            return blocked("PID namespace: host process \(spec.hostPID) does not exist in the container's /proc", code)
        }
        return blocked("capabilities: following another process's root needs CAP_SYS_PTRACE, which was dropped", code)
    }

    /// A device node for the kernel log (1:11), which only the host should read.
    static func mknodDevice(_ spec: EscapeProbeSpec) -> EscapeAttempt {
        let node = "/dev/.vlab-escape-kmsg"
        if vlab_mknod(node, S_IFCHR | 0o600, 1, 11) < 0 {
            return blocked("capabilities: CAP_MKNOD was dropped, so mknod(2) of a device is refused")
        }
        defer { _ = unlink(node) }
        let fd = open(node, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        if fd < 0 {
            let code = errno
            return blocked(code == EACCES ? "nodev mount: device nodes cannot be opened here" : "devices cgroup: access to 1:11 denied", code)
        }
        close(fd)
        return escaped("created and opened a device node for the host's kernel log (1:11)")
    }

    /// PTRACE_SEIZE a host process (it does not stop it).
    static func ptraceHost(_ spec: EscapeProbeSpec) -> EscapeAttempt {
        let result = vlab_ptrace_seize(spec.hostPID)
        if result == 0 { return escaped("attached to host process \(spec.hostPID) with ptrace") }
        let code = -result
        if code == ESRCH { return blocked("PID namespace: host process \(spec.hostPID) is not visible", code) }
        return blocked("capabilities: CAP_SYS_PTRACE was dropped", code)
    }

    /// After pivot_root the old root sits in the mount table until it is detached; any
    /// mount point that still leads to the host's files is a way out.
    static func oldRoot(_ spec: EscapeProbeSpec) -> EscapeAttempt {
        let mountinfo = Kernel.readFile("/proc/self/mountinfo") ?? ""
        for line in mountinfo.split(separator: "\n") {
            let fields = line.split(separator: " ")
            guard fields.count > 4 else { continue }
            let mountPoint = ControlGroupLayout.unescapeMountinfo(String(fields[4]))
            if mountPoint == "/" { continue }
            if readsMarker(mountPoint + spec.markerPath, spec) {
                return escaped("the host root is still mounted at \(mountPoint)")
            }
        }
        // A container can also try to pivot again itself.
        if vlab_pivot_root(".", ".") < 0 {
            return blocked("old root detached after pivot_root, and pivot_root needs CAP_SYS_ADMIN (dropped)", EPERM)
        }
        return blocked("no mount in the container's table leads to the host root", ENOENT)
    }

    /// Mount a cgroup v1 hierarchy and open its release_agent (CVE-2022-0492): whatever
    /// is written there runs as root on the host. The probe only opens it.
    static func releaseAgent(_ spec: EscapeProbeSpec) -> EscapeAttempt {
        let directory = "/tmp/.vlab-escape-cgroup"
        _ = mkdir(directory, 0o700)
        defer { _ = rmdir(directory) }
        var lastError: Int32 = 0
        for controller in ["memory", "pids", "rdma", "cpu"] {
            if vlab_mount("cgroup", directory, "cgroup", 0, controller) < 0 {
                lastError = errno
                continue
            }
            defer { _ = vlab_umount2(directory, vlab_MNT_DETACH) }
            let fd = open(directory + "/release_agent", O_WRONLY | O_CLOEXEC)
            if fd >= 0 {
                close(fd)
                return escaped("mounted the \(controller) cgroup hierarchy and opened release_agent for writing")
            }
            lastError = errno
            if lastError == ENOENT {
                return blocked("cgroup namespace: the mounted hierarchy's root has no release_agent", lastError)
            }
        }
        if lastError == EPERM {
            return blocked("capabilities: mounting needs CAP_SYS_ADMIN, which was dropped", lastError)
        }
        return blocked("no cgroup v1 hierarchy could be mounted", lastError)
    }
}
#endif
