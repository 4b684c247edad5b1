#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The one door from the Linux layer to the host kernel: thin wrappers over the host's file
/// system calls that retry when a signal interrupts them (EINTR) and report failure as the
/// guest's errno, already translated. Nothing else in LinuxUser calls the host C library for I/O.
enum HostFiles {
    typealias Result<T> = Swift.Result<T, LinuxErrno>

    private static func retrying<T: BinaryInteger>(_ call: () -> T) -> Result<T> {
        while true {
            let r = call()
            if r >= 0 { return .success(r) }
            let e = errno
            if e == EINTR { continue }
            return .failure(LinuxErrno(hostErrno: e))
        }
    }

    static func read(_ fd: Int32, count: Int) -> Result<[UInt8]> {
        var buffer = [UInt8](repeating: 0, count: count)
        let n = buffer.withUnsafeMutableBytes { raw in
            retrying { host_read(fd, raw.baseAddress, count) }
        }
        return n.map { Array(buffer[0..<Int($0)]) }
    }

    static func write(_ fd: Int32, _ bytes: [UInt8]) -> Result<Int> {
        bytes.withUnsafeBytes { raw in
            retrying { host_write(fd, raw.baseAddress, raw.count) }.map { Int($0) }
        }
    }

    static func openat(_ directory: Int32, _ path: [UInt8], flags: Int32, mode: UInt32) -> Result<Int32> {
        let terminated = path.map { CChar(bitPattern: $0) } + [0]
        return terminated.withUnsafeBufferPointer { p in
            retrying { host_openat(directory, p.baseAddress!, flags, mode_t(mode)) }
        }
    }

    static func close(_ fd: Int32) -> Result<Int32> {
        // Not retried: after EINTR the descriptor is gone on Linux, and retrying could close
        // a descriptor another thread just opened.
        let r = host_close(fd)
        return r == 0 ? .success(0) : .failure(LinuxErrno(hostErrno: errno))
    }

    static func seek(_ fd: Int32, offset: Int64, whence: Int32) -> Result<Int64> {
        retrying { Int64(host_lseek(fd, off_t(offset), whence)) }
    }

    static func status(_ fd: Int32) -> Result<stat> {
        var s = stat()
        return retrying { host_fstat(fd, &s) }.map { _ in s }
    }

    static let currentDirectory: Int32 = AT_FDCWD

    struct Timestamp { var seconds: Int64; var nanoseconds: Int64 }

    /// Access, modification and status-change times: the field names differ between Linux and macOS.
    static func times(_ s: stat) -> (access: Timestamp, modification: Timestamp, change: Timestamp) {
        #if canImport(Darwin)
        return (Timestamp(seconds: Int64(s.st_atimespec.tv_sec), nanoseconds: Int64(s.st_atimespec.tv_nsec)),
                Timestamp(seconds: Int64(s.st_mtimespec.tv_sec), nanoseconds: Int64(s.st_mtimespec.tv_nsec)),
                Timestamp(seconds: Int64(s.st_ctimespec.tv_sec), nanoseconds: Int64(s.st_ctimespec.tv_nsec)))
        #else
        return (Timestamp(seconds: Int64(s.st_atim.tv_sec), nanoseconds: Int64(s.st_atim.tv_nsec)),
                Timestamp(seconds: Int64(s.st_mtim.tv_sec), nanoseconds: Int64(s.st_mtim.tv_nsec)),
                Timestamp(seconds: Int64(s.st_ctim.tv_sec), nanoseconds: Int64(s.st_ctim.tv_nsec)))
        #endif
    }
}

// The host functions under names that cannot collide with HostFiles' own methods.
private func host_read(_ fd: Int32, _ buffer: UnsafeMutableRawPointer?, _ count: Int) -> Int { read(fd, buffer, count) }
private func host_write(_ fd: Int32, _ buffer: UnsafeRawPointer?, _ count: Int) -> Int { write(fd, buffer, count) }
private func host_openat(_ dir: Int32, _ path: UnsafePointer<CChar>, _ flags: Int32, _ mode: mode_t) -> Int32 { openat(dir, path, flags, mode) }
private func host_close(_ fd: Int32) -> Int32 { close(fd) }
private func host_lseek(_ fd: Int32, _ offset: off_t, _ whence: Int32) -> off_t { lseek(fd, offset, whence) }
private func host_fstat(_ fd: Int32, _ s: inout stat) -> Int32 { fstat(fd, &s) }
