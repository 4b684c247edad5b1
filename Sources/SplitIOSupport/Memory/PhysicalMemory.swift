/// Machine memory as the split-driver layer sees it: bytes at physical addresses.
///
/// Every piece (rings, grants, the block backend) reaches guest memory only through this
/// protocol, so the same ring code runs over the RAM of an emulated `Machine` (`MachineMemory`),
/// over a plain host buffer (`BufferMemory`), or over a wrapper that watches each access (the
/// tests' double-fetch and confinement checks).
public protocol PhysicalMemory: AnyObject {
    /// Reads `count` bytes at `address`; throws `.outOfBounds` if any byte is not memory.
    func read(_ address: UInt32, count: Int) throws(SplitIOError) -> [UInt8]
    /// Writes bytes at `address`; nothing is written if any byte is not memory.
    func write(_ address: UInt32, _ bytes: [UInt8]) throws(SplitIOError)
}

/// A plain host buffer standing for `size` bytes of memory at physical `base`: the cheapest
/// memory for ring-only tests and examples.
public final class BufferMemory: PhysicalMemory {
    public let base: UInt32
    public private(set) var bytes: [UInt8]

    public init(base: UInt32, size: Int) {
        self.base = base
        bytes = [UInt8](repeating: 0, count: max(0, size))
    }

    public func read(_ address: UInt32, count: Int) throws(SplitIOError) -> [UInt8] {
        let offset = try offset(address, count)
        return Array(bytes[offset..<offset + count])
    }

    public func write(_ address: UInt32, _ newBytes: [UInt8]) throws(SplitIOError) {
        let offset = try offset(address, newBytes.count)
        bytes.replaceSubrange(offset..<offset + newBytes.count, with: newBytes)
    }

    private func offset(_ address: UInt32, _ count: Int) throws(SplitIOError) -> Int {
        guard count >= 0, address >= base, UInt64(address - base) + UInt64(count) <= UInt64(bytes.count) else {
            throw SplitIOError(.outOfBounds, "\(count) bytes at physical 0x\(String(address, radix: 16)) lie outside the buffer at 0x\(String(base, radix: 16)) of \(bytes.count) bytes")
        }
        return Int(address - base)
    }
}

@available(*, unavailable, message: "memory is confined to the thread that runs the machine")
extension BufferMemory: Sendable {}
