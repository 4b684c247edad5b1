#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A failure of the GDB server's socket or session, with a message naming the port or the peer.
public struct GDBError: Error, Equatable, Sendable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// All of the server's socket system calls live in this file (one door to the kernel): a TCP
/// listener on 127.0.0.1 only (a debugger can read and write all of guest memory, so it is never
/// offered beyond the local machine), and the one connection it accepts.
public final class GDBListener {
    private var descriptor: Int32
    /// The port actually bound (the one asked for, or the kernel's choice when asked for 0).
    public let port: UInt16

    /// Binds and listens. A port another process holds is an error saying so.
    public init(port: UInt16) throws(GDBError) {
        #if canImport(Darwin)
        let fd = socket(AF_INET, SOCK_STREAM, 0)
        #else
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #endif
        guard fd >= 0 else { throw GDBError("cannot create a TCP socket: \(errorText())") }
        // Reusing the address only skips TIME_WAIT left by an earlier run; a live listener on the
        // port still makes bind fail with EADDRINUSE.
        var one: Int32 = 1
        _ = setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard bound == 0 else {
            let reason = errno == EADDRINUSE ? "is already in use" : "cannot be bound: \(errorText())"
            _ = closeDescriptor(fd)
            throw GDBError("port \(port) on 127.0.0.1 \(reason)")
        }
        guard listen(fd, 1) == 0 else {
            let reason = errorText()
            _ = closeDescriptor(fd)
            throw GDBError("cannot listen on 127.0.0.1:\(port): \(reason)")
        }
        var actual = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &actual) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        descriptor = fd
        self.port = UInt16(bigEndian: actual.sin_port)
    }

    deinit { close() }

    /// Waits for the debugger to connect. The listener closes afterwards: one session per run.
    public func accept() throws(GDBError) -> GDBConnection {
        while true {
            let fd = Kernel.accept(descriptor)
            if fd >= 0 {
                close()
                var one: Int32 = 1
                // Packets are small and answered one by one: do not let Nagle's algorithm hold them.
                _ = setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
                return GDBConnection(descriptor: fd)
            }
            if errno != EINTR { throw GDBError("accepting the gdb connection on port \(port) failed: \(errorText())") }
        }
    }

    public func close() {
        if descriptor >= 0 {
            _ = closeDescriptor(descriptor)
            descriptor = -1
        }
    }
}

/// One TCP connection to the debugger.
public final class GDBConnection {
    private var descriptor: Int32

    init(descriptor: Int32) { self.descriptor = descriptor }

    /// Connects to a server on 127.0.0.1 (the tests' in-process client uses this).
    public static func connect(port: UInt16) throws(GDBError) -> GDBConnection {
        #if canImport(Darwin)
        let fd = socket(AF_INET, SOCK_STREAM, 0)
        #else
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #endif
        guard fd >= 0 else { throw GDBError("cannot create a TCP socket: \(errorText())") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Kernel.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard result == 0 else {
            let reason = errorText()
            _ = closeDescriptor(fd)
            throw GDBError("cannot connect to 127.0.0.1:\(port): \(reason)")
        }
        return GDBConnection(descriptor: fd)
    }

    deinit { close() }

    public var isOpen: Bool { descriptor >= 0 }

    public func close() {
        if descriptor >= 0 {
            _ = closeDescriptor(descriptor)
            descriptor = -1
        }
    }

    /// Sends all the bytes. Throws if the peer has gone (no SIGPIPE: the send says so instead).
    public func send(_ bytes: [UInt8]) throws(GDBError) {
        var sent = 0
        while sent < bytes.count {
            let n = bytes.withUnsafeBytes { buffer in
                Kernel.send(descriptor, buffer.baseAddress! + sent, buffer.count - sent, Kernel.noSignal)
            }
            if n > 0 {
                sent += n
            } else if n < 0 && errno == EINTR {
                continue
            } else {
                throw GDBError("the gdb connection closed while sending: \(errorText())")
            }
        }
    }

    /// Waits up to `timeoutMilliseconds` (-1: forever, 0: just look) for bytes. Returns the bytes,
    /// an empty array if none came in time, or nil when the peer closed the connection.
    public func receive(timeoutMilliseconds: Int32) throws(GDBError) -> [UInt8]? {
        guard descriptor >= 0 else { return nil }
        var poller = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
        while true {
            let ready = poll(&poller, 1, timeoutMilliseconds)
            if ready < 0 && errno == EINTR { continue }
            if ready < 0 { throw GDBError("waiting for gdb failed: \(errorText())") }
            if ready == 0 { return [] }
            break
        }
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress!, $0.count, 0) }
            if n > 0 { return Array(buffer[0..<n]) }
            if n == 0 { return nil }
            if errno == EINTR { continue }
            if errno == ECONNRESET { return nil }
            throw GDBError("reading from gdb failed: \(errorText())")
        }
    }
}

/// The C library's socket calls under names that do not collide with the methods above.
private enum Kernel {
    static func accept(_ fd: Int32) -> Int32 {
        #if canImport(Glibc)
        return Glibc.accept(fd, nil, nil)
        #elseif canImport(Musl)
        return Musl.accept(fd, nil, nil)
        #else
        return Darwin.accept(fd, nil, nil)
        #endif
    }

    static func connect(_ fd: Int32, _ address: UnsafePointer<sockaddr>, _ length: socklen_t) -> Int32 {
        #if canImport(Glibc)
        return Glibc.connect(fd, address, length)
        #elseif canImport(Musl)
        return Musl.connect(fd, address, length)
        #else
        return Darwin.connect(fd, address, length)
        #endif
    }

    static func send(_ fd: Int32, _ bytes: UnsafeRawPointer, _ count: Int, _ flags: Int32) -> Int {
        #if canImport(Glibc)
        return Glibc.send(fd, bytes, count, flags)
        #elseif canImport(Musl)
        return Musl.send(fd, bytes, count, flags)
        #else
        return Darwin.send(fd, bytes, count, flags)
        #endif
    }

    #if canImport(Darwin)
    static let noSignal: Int32 = 0  // Darwin has SO_NOSIGPIPE instead; macOS is not a server target here
    #else
    static let noSignal = Int32(MSG_NOSIGNAL)
    #endif
}

private func closeDescriptor(_ fd: Int32) -> Int32 {
    #if canImport(Glibc)
    return Glibc.close(fd)
    #elseif canImport(Musl)
    return Musl.close(fd)
    #else
    return Darwin.close(fd)
    #endif
}

private func errorText() -> String {
    String(cString: strerror(errno))
}
