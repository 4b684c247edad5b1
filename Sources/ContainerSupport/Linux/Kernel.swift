#if os(Linux)
import CContainers
import Glibc

/// The one door to the kernel: every system call the runtime makes goes through here.
/// Each wrapper retries on EINTR (in the C shim or below) and turns a failure into a
/// `ContainerError` that names the call's subject and carries the errno.
public enum Kernel {
    /// Converts a shim result (-errno on failure) into a value or an error.
    @discardableResult
    public static func check(_ result: Int32, _ what: @autoclosure () -> String) throws(ContainerError) -> Int32 {
        if result < 0 { throw ContainerError(what(), errno: -result) }
        return result
    }

    /// Converts a libc result (-1 and errno on failure) into a value or an error, retrying on EINTR.
    @discardableResult
    public static func retrying(_ what: @autoclosure () -> String, _ call: () -> Int32) throws(ContainerError) -> Int32 {
        while true {
            let result = call()
            if result >= 0 { return result }
            let code = Glibc.errno
            if code == EINTR { continue }
            throw ContainerError(what(), errno: code)
        }
    }

    // MARK: Mounts and roots

    public static func mount(_ source: String, on target: String, type: String? = nil, flags: UInt = 0, data: String? = nil)
        throws(ContainerError)
    {
        let result: Int32
        if let type, let data {
            result = vlab_mount(source, target, type, flags, data)
        } else if let type {
            result = vlab_mount(source, target, type, flags, nil)
        } else {
            result = vlab_mount(source, target, nil, flags, nil)
        }
        try check(result, "mount \(type ?? "bind") \(source) on \(target)")
    }

    public static func unmount(_ target: String, detach: Bool = false) throws(ContainerError) {
        try check(vlab_umount2(target, detach ? vlab_MNT_DETACH : 0), "unmount \(target)")
    }

    public static func makeReadOnlyRecursively(_ path: String) throws(ContainerError) {
        try check(vlab_make_readonly_recursive(path), "make \(path) and every mount below it read-only")
    }

    public static func pivotRoot(_ newRoot: String, putOld: String) throws(ContainerError) {
        try check(vlab_pivot_root(newRoot, putOld), "pivot_root to \(newRoot)")
    }

    public static func chroot(_ path: String) throws(ContainerError) {
        try check(vlab_chroot(path), "chroot \(path)")
    }

    public static func chdir(_ path: String) throws(ContainerError) {
        try retrying("chdir \(path)") { Glibc.chdir(path) }
    }

    public static func unshare(_ flags: UInt64) throws(ContainerError) {
        try check(vlab_unshare(flags), "unshare")
    }

    public static func setHostname(_ name: String) throws(ContainerError) {
        let bytes = Array(name.utf8)
        try check(vlab_sethostname(name, bytes.count), "sethostname \(name)")
    }

    public static func makeNode(_ path: String, mode: mode_t, major: UInt32, minor: UInt32) throws(ContainerError) {
        try check(vlab_mknod(path, mode, major, minor), "mknod \(path)")
    }

    // MARK: Credentials

    public static func dropFromBoundingSet(_ capability: Int32) throws(ContainerError) {
        try check(vlab_capbset_drop(capability), "drop capability \(capability) from the bounding set")
    }

    public static func setCapabilities(_ mask: UInt64) throws(ContainerError) {
        try check(vlab_capset(mask, mask, mask), "capset")
    }

    public static func capabilities() throws(ContainerError) -> (effective: UInt64, permitted: UInt64, inheritable: UInt64) {
        var e: UInt64 = 0, p: UInt64 = 0, i: UInt64 = 0
        try check(vlab_capget(&e, &p, &i), "capget")
        return (e, p, i)
    }

    public static func clearAmbientCapabilities() throws(ContainerError) {
        try check(vlab_clear_ambient_caps(), "clear ambient capabilities")
    }

    public static func setNoNewPrivileges() throws(ContainerError) {
        try check(vlab_set_no_new_privs(), "prctl(PR_SET_NO_NEW_PRIVS)")
    }

    public static func setParentDeathSignal(_ signal: Int32) throws(ContainerError) {
        try check(vlab_set_parent_death_signal(signal), "prctl(PR_SET_PDEATHSIG)")
    }

    public static func setResourceLimit(_ limit: ResourceLimit) throws(ContainerError) {
        let number = vlab_rlimit_number(limit.type)
        guard number >= 0 else { throw ContainerError("unknown resource limit '\(limit.type)'") }
        try check(vlab_setrlimit(number, limit.soft, limit.hard), "setrlimit \(limit.type)")
    }

    public static func setGroupID(_ gid: UInt32) throws(ContainerError) {
        try retrying("setgroups/setgid \(gid)") { Glibc.setgroups(0, nil) }
        try retrying("setgid \(gid)") { Glibc.setgid(gid) }
    }

    public static func setUserID(_ uid: UInt32) throws(ContainerError) {
        try retrying("setuid \(uid)") { Glibc.setuid(uid) }
    }

    // MARK: Descriptors and files

    /// Closes every descriptor from `first` up, except those in `keeping`.
    public static func closeDescriptors(from first: Int32, keeping: [Int32]) throws(ContainerError) {
        var start = UInt32(first)
        for keep in keeping.filter({ $0 >= first }).sorted() {
            if UInt32(keep) > start { try check(vlab_close_range(start, UInt32(keep) - 1, 0), "close_range") }
            start = UInt32(keep) + 1
        }
        try check(vlab_close_range(start, UInt32.max, 0), "close_range")
    }

    public static func pipe() throws(ContainerError) -> (read: Int32, write: Int32) {
        var fds: [Int32] = [-1, -1]
        try check(vlab_pipe(&fds), "pipe2")
        return (fds[0], fds[1])
    }

    public static func close(_ fd: Int32) {
        _ = Glibc.close(fd)
    }

    public static func open(_ path: String, _ flags: Int32, mode: mode_t = 0o644) throws(ContainerError) -> Int32 {
        try retrying("open \(path)") { Glibc.open(path, flags | O_CLOEXEC, mode) }
    }

    public static func writeAll(_ fd: Int32, _ bytes: [UInt8], what: @autoclosure () -> String) throws(ContainerError) {
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            if written < 0 {
                if Glibc.errno == EINTR { continue }
                throw ContainerError("write \(what())", errno: Glibc.errno)
            }
            offset += written
        }
    }

    /// Reads until end of file.
    public static func readAll(_ fd: Int32, limit: Int = 16 << 20) throws(ContainerError) -> [UInt8] {
        var result: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while result.count < limit {
            let count = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if count < 0 {
                if Glibc.errno == EINTR { continue }
                throw ContainerError("read", errno: Glibc.errno)
            }
            if count == 0 { break }
            result.append(contentsOf: buffer[0..<count])
        }
        return result
    }

    public static func readFile(_ path: String) -> String? {
        guard let fd = try? open(path, O_RDONLY) else { return nil }
        defer { close(fd) }
        guard let bytes = try? readAll(fd) else { return nil }
        return String(decoding: bytes, as: UTF8.self)
    }

    public static func readBytes(_ path: String) throws(ContainerError) -> [UInt8] {
        let fd = try open(path, O_RDONLY)
        defer { close(fd) }
        do { return try readAll(fd) } catch { throw ContainerError("read \(path)", errno: error.errno) }
    }

    /// Writes a whole file in one write(2): cgroup control files need exactly that.
    public static func writeFile(_ path: String, _ text: String, create: Bool = false) throws(ContainerError) {
        let fd = try open(path, O_WRONLY | (create ? (O_CREAT | O_TRUNC) : 0))
        defer { close(fd) }
        try writeAll(fd, Array(text.utf8), what: "'\(text)' to \(path)")
    }

    /// Writes a file atomically: a temporary file beside it, then rename.
    public static func writeFileAtomically(_ path: String, _ bytes: [UInt8]) throws(ContainerError) {
        let temporary = path + ".tmp-\(getpid())"
        let fd = try open(temporary, O_WRONLY | O_CREAT | O_TRUNC, mode: 0o644)
        do {
            try writeAll(fd, bytes, what: temporary)
        } catch {
            close(fd)
            _ = unlink(temporary)
            throw error
        }
        close(fd)
        try retrying("rename \(temporary) to \(path)") { Glibc.rename(temporary, path) }
    }

    public static func makeDirectory(_ path: String, mode: mode_t = 0o755) throws(ContainerError) {
        try retrying("mkdir \(path)") { Glibc.mkdir(path, mode) }
    }

    /// mkdir -p.
    public static func makeDirectories(_ path: String, mode: mode_t = 0o755) throws(ContainerError) {
        var prefix = path.hasPrefix("/") ? "" : "."
        for component in path.split(separator: "/") {
            prefix += "/" + component
            if Glibc.mkdir(prefix, mode) != 0 && Glibc.errno != EEXIST {
                throw ContainerError("mkdir \(prefix)", errno: Glibc.errno)
            }
        }
    }

    public static func removeDirectory(_ path: String) throws(ContainerError) {
        try retrying("rmdir \(path)") { Glibc.rmdir(path) }
    }

    public static func fileStatus(_ path: String) -> stat? {
        var info = stat()
        return lstat(path, &info) == 0 ? info : nil
    }

    public static func isDirectory(_ path: String) -> Bool {
        vlab_is_directory(path) == 1
    }

    public static func exists(_ path: String) -> Bool {
        var info = stat()
        return lstat(path, &info) == 0
    }

    /// The names in a directory, without "." and "..".
    public static func directoryEntries(_ path: String) throws(ContainerError) -> [String] {
        guard let directory = opendir(path) else { throw ContainerError("open directory \(path)", errno: Glibc.errno) }
        defer { closedir(directory) }
        var names: [String] = []
        while let entry = readdir(directory) {
            let name = withUnsafePointer(to: &entry.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    /// rm -rf that never crosses into another filesystem (so a stray mount below `path`
    /// can never make it delete host files) and never follows symbolic links.
    public static func removeTree(_ path: String) throws(ContainerError) {
        guard let top = fileStatus(path) else { return }
        try removeTree(path, device: top.st_dev)
    }

    private static func removeTree(_ path: String, device: dev_t) throws(ContainerError) {
        guard let info = fileStatus(path) else { return }
        if (info.st_mode & S_IFMT) == S_IFDIR {
            guard info.st_dev == device else {
                throw ContainerError("refusing to remove \(path): another filesystem is mounted there")
            }
            for name in try directoryEntries(path) { try removeTree(path + "/" + name, device: device) }
            try removeDirectory(path)
        } else {
            try retrying("unlink \(path)") { Glibc.unlink(path) }
        }
    }

    /// A fresh directory under `parent` with a unique name.
    public static func makeTemporaryDirectory(in parent: String, prefix: String) throws(ContainerError) -> String {
        var template = Array("\(parent)/\(prefix)XXXXXX".utf8CString)
        let made: String? = template.withUnsafeMutableBufferPointer { buffer in
            guard let base = buffer.baseAddress, let result = mkdtemp(base) else { return nil }
            return String(cString: result)
        }
        guard let made else { throw ContainerError("create a temporary directory in \(parent)", errno: Glibc.errno) }
        return made
    }

    // MARK: Processes

    public struct ChildProcess {
        public var pid: pid_t
        public var pidfd: Int32

        public init(pid: pid_t, pidfd: Int32) {
            self.pid = pid
            self.pidfd = pidfd
        }
    }

    /// Runs `arguments` through the C shim's clone-and-exec, in new namespaces `flags`.
    public static func cloneAndExec(
        flags: UInt64, path: String, arguments: [String], environment: [String], descriptors: [(from: Int32, to: Int32)]
    ) throws(ContainerError) -> ChildProcess {
        let argv = CStringArray(arguments)
        let envp = CStringArray(environment)
        let from = descriptors.map(\.from)
        let to = descriptors.map(\.to)
        var pidfd: Int32 = -1
        let pid = vlab_clone_exec(flags, path, argv.pointers, envp.pointers, from, to, Int32(from.count), &pidfd)
        argv.deallocate()
        envp.deallocate()
        try check(pid, "clone \(path)")
        return ChildProcess(pid: pid, pidfd: pidfd)
    }

    public enum Termination: Equatable, Sendable {
        case exited(Int32)
        case signaled(Int32)

        /// The shell convention the runtime exits with: the status, or 128 + the signal.
        public var shellStatus: Int32 {
            switch self {
            case .exited(let status): status
            case .signaled(let signal): 128 + signal
            }
        }
    }

    public static func wait(_ child: ChildProcess, block: Bool = true) throws(ContainerError) -> Termination? {
        var code: Int32 = 0, status: Int32 = 0
        let result = vlab_wait_pidfd(child.pidfd, block ? 0 : 1, &code, &status)
        try check(result, "wait for process \(child.pid)")
        if result == 1 { return nil }
        return code == CLD_EXITED ? .exited(status) : .signaled(status)
    }

    public static func signal(_ child: ChildProcess, _ signal: Int32) throws(ContainerError) {
        try check(vlab_pidfd_send_signal(child.pidfd, signal), "signal process \(child.pid)")
    }

    /// A process's start time in clock ticks since boot (field 22 of /proc/PID/stat):
    /// a pid plus its start time names a process even after pids are recycled.
    public static func processStartTime(_ pid: pid_t) -> UInt64? {
        guard let stat = readFile("/proc/\(pid)/stat"), let close = stat.lastIndex(of: ")") else { return nil }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        // After the command name: state is field 3, starttime is field 22.
        guard fields.count > 19 else { return nil }
        return UInt64(fields[19])
    }

    public static func monotonicNanoseconds() -> UInt64 {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
    }
}

/// A NULL-terminated array of C strings that outlives the call it is passed to.
public struct CStringArray {
    public let pointers: [UnsafeMutablePointer<CChar>?]

    public init(_ strings: [String]) {
        pointers = strings.map { strdup($0) } + [nil]
    }

    public func deallocate() {
        for pointer in pointers { free(pointer) }
    }
}
#endif
