#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A disk image file on the host in the *raw* format: byte `i` of the file is byte `i` of the
/// disk, sector `n` is bytes `512n ..< 512(n+1)`, there is no header, and the file's size (a
/// positive multiple of 512) is the disk's size. Any tool reads it (`dd`, `cmp`, `xxd`, QEMU's
/// `format=raw`), which is why the tests can compare it byte for byte with a host-side copy.
///
/// All host file system calls of SplitIO are in this file, each retried on EINTR and turned into
/// a `SplitIOError` naming the image and the call.
///
/// Not Sendable: one backend owns the open file.
public final class RawDiskImage {
    public let path: String
    /// The disk's size in 512-byte sectors, fixed when the image is opened.
    public let sectorCount: UInt64
    private let descriptor: Int32

    /// Opens an existing image for reading and writing.
    public init(path: String) throws(SplitIOError) {
        self.path = path
        let fd = Self.retrying { open(path, O_RDWR | O_CLOEXEC) }
        guard fd >= 0 else { throw Self.failure("open", path) }
        var status = stat()
        guard fstat(fd, &status) == 0 else {
            let error = Self.failure("fstat", path)
            close(fd)
            throw error
        }
        let size = Int64(status.st_size)
        guard size > 0, size % Int64(BlockProtocol.sectorSize) == 0 else {
            close(fd)
            throw SplitIOError(.badRequest, "disk image \(path) is \(size) bytes: a raw image must be a positive multiple of 512 bytes")
        }
        descriptor = fd
        sectorCount = UInt64(size) / UInt64(BlockProtocol.sectorSize)
    }

    /// Creates (or truncates) an image of `sectors` zero sectors and opens it.
    public static func create(path: String, sectors: UInt64) throws(SplitIOError) -> RawDiskImage {
        guard sectors > 0, sectors < UInt64(Int64.max) / UInt64(BlockProtocol.sectorSize) else {
            throw SplitIOError(.badRequest, "disk image \(path): \(sectors) sectors is not a usable size")
        }
        let fd = retrying { open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644) }
        guard fd >= 0 else { throw failure("create", path) }
        defer { close(fd) }
        guard retrying({ ftruncate(fd, off_t(sectors) * off_t(BlockProtocol.sectorSize)) }) == 0 else {
            throw failure("ftruncate", path)
        }
        return try RawDiskImage(path: path)
    }

    deinit {
        close(descriptor)
    }

    /// Reads `count` bytes at byte `offset`. A short file (truncated behind our back) is an error.
    public func read(at offset: UInt64, count: Int) throws(SplitIOError) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        var done = 0
        while done < count {
            let got = bytes.withUnsafeMutableBytes { buffer in
                Self.retrying { pread(descriptor, buffer.baseAddress! + done, count - done, off_t(offset) + off_t(done)) }
            }
            guard got > 0 else {
                if got == 0 {
                    throw SplitIOError(.hostIO, "disk image \(path): end of file at byte \(offset + UInt64(done)) reading \(count) bytes at \(offset)")
                }
                throw Self.failure("pread", path)
            }
            done += got
        }
        return bytes
    }

    public func write(at offset: UInt64, _ bytes: [UInt8]) throws(SplitIOError) {
        var done = 0
        while done < bytes.count {
            let put = bytes.withUnsafeBytes { buffer in
                Self.retrying { pwrite(descriptor, buffer.baseAddress! + done, bytes.count - done, off_t(offset) + off_t(done)) }
            }
            guard put > 0 else { throw Self.failure("pwrite", path) }
            done += put
        }
    }

    /// Makes completed writes durable: what `BLKIF_OP_FLUSH_DISKCACHE` asks for.
    public func flush() throws(SplitIOError) {
        guard Self.retrying({ fsync(descriptor) }) == 0 else { throw Self.failure("fsync", path) }
    }

    private static func retrying<T: BinaryInteger>(_ call: () -> T) -> T {
        while true {
            let result = call()
            if result == -1 && errno == EINTR { continue }
            return result
        }
    }

    private static func failure(_ call: String, _ path: String) -> SplitIOError {
        let code = errno
        return SplitIOError(.hostIO, "disk image \(path): \(call) failed: \(String(cString: strerror(code))) (errno \(code))")
    }
}

@available(*, unavailable, message: "a disk image is owned by one backend on one thread")
extension RawDiskImage: Sendable {}
