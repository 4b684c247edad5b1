#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Where the UART's bytes go and come from. The default is the host's stdout and stdin; tests
/// pass closures that capture output and feed input.
///
/// Not Sendable: it belongs to one `Machine`, which is confined to one thread.
public struct ConsoleIO {
    /// Receives every byte the guest transmits.
    public var write: (UInt8) -> Void
    /// Returns the next received byte, or nil when none is available right now (never blocks).
    public var read: () -> UInt8?
    /// Pushes buffered output out; `run()` calls it before it returns.
    public var flush: () -> Void

    public init(write: @escaping (UInt8) -> Void, read: @escaping () -> UInt8? = { nil }, flush: @escaping () -> Void = {}) {
        self.write = write
        self.read = read
        self.flush = flush
    }

    /// stdout (line-buffered: flushed at each newline, when 4 KiB are pending, and when `run()`
    /// returns) and stdin (polled without blocking, only when the guest looks at the UART).
    public static var standard: ConsoleIO {
        let output = HostOutputBuffer(fileDescriptor: 1)
        let input = HostInput(fileDescriptor: 0)
        return ConsoleIO(write: { output.append($0) }, read: { input.nextByte() }, flush: { output.flush() })
    }

    /// Discards output and never has input.
    public static var silent: ConsoleIO { ConsoleIO(write: { _ in }) }
}

/// Bytes on their way to a host file descriptor.
final class HostOutputBuffer {
    let fileDescriptor: Int32
    var pending: [UInt8] = []

    init(fileDescriptor: Int32) { self.fileDescriptor = fileDescriptor }
    deinit { flush() }

    func append(_ byte: UInt8) {
        pending.append(byte)
        if byte == 0x0A || pending.count >= 4096 { flush() }
    }

    func flush() {
        var offset = 0
        while offset < pending.count {
            let written = pending.withUnsafeBytes { buffer in
                Glibc.write(fileDescriptor, buffer.baseAddress! + offset, buffer.count - offset)
            }
            if written < 0 {
                if errno == EINTR || errno == EAGAIN { continue }
                break  // stdout closed: the guest's output has nowhere to go; drop it, like a disconnected serial line
            }
            offset += written
        }
        pending.removeAll(keepingCapacity: true)
    }
}

/// Non-blocking reads from a host file descriptor: `poll` with a zero timeout, then one byte.
final class HostInput {
    let fileDescriptor: Int32
    var reachedEnd = false

    init(fileDescriptor: Int32) { self.fileDescriptor = fileDescriptor }

    func nextByte() -> UInt8? {
        guard !reachedEnd else { return nil }
        var descriptor = pollfd(fd: fileDescriptor, events: Int16(POLLIN), revents: 0)
        guard poll(&descriptor, 1, 0) > 0 else { return nil }
        var byte: UInt8 = 0
        let count = Glibc.read(fileDescriptor, &byte, 1)
        if count == 1 { return byte }
        if count == 0 || (count < 0 && errno != EINTR && errno != EAGAIN) { reachedEnd = true }
        return nil
    }
}
