/// Every failure of the container runtime: one line that names the input or the step
/// and what went wrong, plus the kernel's errno when a system call refused.
///
/// A struct, not an enum, so new failure sites never break a public API
/// (the house style of swift-nio's `FileSystemError`).
public struct ContainerError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The one-line explanation shown to the user.
    public var message: String
    /// The errno a system call returned, when the failure came from the kernel.
    public var errno: Int32?

    public init(_ message: String, errno: Int32? = nil) {
        self.message = message
        self.errno = errno
    }

    public var description: String {
        guard let errno else { return message }
        return "\(message): \(ContainerError.errnoName(errno)) (\(ContainerError.errnoText(errno)))"
    }

    /// The symbolic name of an errno value (`EPERM`), as the escape matrix reports it.
    public static func errnoName(_ code: Int32) -> String {
        errnoNames[code] ?? "errno \(code)"
    }

    static func errnoText(_ code: Int32) -> String {
        errnoDescriptions[code] ?? "error \(code)"
    }

    // Linux generic errno numbers (asm-generic/errno-base.h, errno.h); the same on
    // every Linux architecture this project builds for.
    private static let errnoNames: [Int32: String] = [
        1: "EPERM", 2: "ENOENT", 3: "ESRCH", 4: "EINTR", 5: "EIO", 7: "E2BIG", 8: "ENOEXEC",
        9: "EBADF", 10: "ECHILD", 11: "EAGAIN", 12: "ENOMEM", 13: "EACCES", 14: "EFAULT",
        16: "EBUSY", 17: "EEXIST", 18: "EXDEV", 19: "ENODEV", 20: "ENOTDIR", 21: "EISDIR",
        22: "EINVAL", 24: "EMFILE", 28: "ENOSPC", 30: "EROFS", 36: "ENAMETOOLONG", 38: "ENOSYS",
        39: "ENOTEMPTY", 40: "ELOOP", 95: "EOPNOTSUPP",
    ]
    private static let errnoDescriptions: [Int32: String] = [
        1: "operation not permitted", 2: "no such file or directory", 3: "no such process",
        4: "interrupted", 5: "input/output error", 7: "argument list too long",
        8: "exec format error", 9: "bad file descriptor", 10: "no child processes",
        11: "resource temporarily unavailable", 12: "cannot allocate memory",
        13: "permission denied", 14: "bad address", 16: "device or resource busy",
        17: "file exists", 18: "cross-device link", 19: "no such device", 20: "not a directory",
        21: "is a directory", 22: "invalid argument", 24: "too many open files",
        28: "no space left on device", 30: "read-only file system", 36: "file name too long",
        38: "function not implemented", 39: "directory not empty",
        40: "too many levels of symbolic links", 95: "operation not supported",
    ]
}
