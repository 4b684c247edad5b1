import Machine

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

/// The RAM of an emulated machine. Only RAM: device registers are not memory two domains can
/// share, so an address outside RAM is refused instead of reaching a device with side effects.
public final class MachineMemory: PhysicalMemory {
    public let machine: Machine
    /// The physical range of the machine's RAM (QEMU `virt` layout: it starts at 0x8000_0000).
    public let ram: Range<UInt64>

    public init(_ machine: Machine) {
        self.machine = machine
        let base: UInt64 = 0x8000_0000
        ram = base..<(base + UInt64(machine.configuration.ramSize))
    }

    /// The frames of the machine's RAM.
    public var frames: [FrameNumber] {
        stride(from: ram.lowerBound, to: ram.upperBound, by: pageSize).map { FrameNumber(containing: UInt32($0)) }
    }

    public func read(_ address: UInt32, count: Int) throws(SplitIOError) -> [UInt8] {
        try check(address, count)
        do {
            return try machine.readPhysical(address, count: count)
        } catch {
            throw SplitIOError(.outOfBounds, "machine memory: \(error.message)")
        }
    }

    public func write(_ address: UInt32, _ bytes: [UInt8]) throws(SplitIOError) {
        try check(address, bytes.count)
        do {
            try machine.writePhysical(address, bytes)
        } catch {
            throw SplitIOError(.outOfBounds, "machine memory: \(error.message)")
        }
    }

    private func check(_ address: UInt32, _ count: Int) throws(SplitIOError) {
        let start = UInt64(address)
        guard count >= 0, start >= ram.lowerBound, start + UInt64(count) <= ram.upperBound else {
            throw SplitIOError(.outOfBounds, "\(count) bytes at physical 0x\(String(address, radix: 16)) are not all in RAM 0x\(String(ram.lowerBound, radix: 16))-0x\(String(ram.upperBound - 1, radix: 16))")
        }
    }
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
extension MachineMemory: Sendable {}
@available(*, unavailable, message: "memory is confined to the thread that runs the machine")
extension BufferMemory: Sendable {}
