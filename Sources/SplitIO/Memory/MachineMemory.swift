import Machine

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

@available(*, unavailable, message: "memory is confined to the thread that runs the machine")
extension MachineMemory: Sendable {}
