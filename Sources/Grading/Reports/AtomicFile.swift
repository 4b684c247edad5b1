#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Synchronization

/// Writes a whole file or nothing: the bytes go to a temporary file in the same folder, are flushed, and are
/// renamed over the destination, so an interrupted grader never leaves half a report.
public enum AtomicFile {
    /// Temporary files being written now, removed by `removeTemporaries()` when the grader is interrupted.
    private static let temporaries = Mutex<Set<String>>([])

    public static func removeTemporaries() {
        for path in temporaries.withLock({ $0 }) { unlink(path) }
    }

    public static func write(_ data: Data, to path: String) throws(GradingError) {
        try Shutdown.check()
        let url = URL(fileURLWithPath: path)
        let folder = url.deletingLastPathComponent().path
        do {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        } catch {
            throw GradingError("\(path): cannot create folder \(folder): \(error.localizedDescription)")
        }
        let temporary = folder + "/.\(url.lastPathComponent).partial-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        temporaries.withLock { _ = $0.insert(temporary) }
        defer { temporaries.withLock { _ = $0.remove(temporary) } }
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            throw GradingError("\(path): cannot write: \(String(cString: strerror(errno)))")
        }
        var failure: Int32 = 0
        data.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let written = Glibc.write(descriptor, buffer.baseAddress! + offset, buffer.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    failure = errno
                    return
                }
                offset += written
            }
        }
        if failure == 0 && fsync(descriptor) != 0 { failure = errno }
        close(descriptor)
        if failure == 0 && rename(temporary, path) != 0 { failure = errno }
        if failure != 0 {
            unlink(temporary)
            throw GradingError("\(path): cannot write: \(String(cString: strerror(failure)))")
        }
    }

    public static func write(_ text: String, to path: String) throws(GradingError) {
        try write(Data(text.utf8), to: path)
    }
}
