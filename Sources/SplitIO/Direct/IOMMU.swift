/// What a DMA-capable device's bus addresses mean: how a device reaches machine memory.
public protocol DMATranslation: AnyObject {
    /// The machine address behind `count` bytes at bus address `address` of `device` (never
    /// crossing a page), or an error: the DMA does not happen.
    func translate(_ address: UInt32, count: Int, write: Bool, device: Int) throws(SplitIOError) -> UInt32
}

extension SplitIOError.Code {
    /// A device's DMA was refused by the IOMMU (no mapping, or a write to a read-only mapping).
    public static let dmaFault = SplitIOError.Code("dma-fault")
}

/// No IOMMU: bus addresses are machine addresses, so a device reaches all of RAM, whoever it is
/// assigned to. This is the machine the seed warns about.
public final class DirectDMA: DMATranslation {
    public init() {}
    public func translate(_ address: UInt32, count: Int, write: Bool, device: Int) throws(SplitIOError) -> UInt32 {
        guard count >= 0, Int(address % UInt32(pageSize)) + count <= pageSize else {
            throw SplitIOError(.dmaFault, "device \(device): \(count) bytes at bus 0x\(String(address, radix: 16)) cross a page")
        }
        return address
    }
}

/// An IOMMU (the part of the chipset Intel calls VT-d and RISC-V's IOMMU specification describes):
/// each device has a context, a table from bus frames to machine frames, installed by the
/// hypervisor when it assigns the device to a domain. A DMA to a bus address without a mapping,
/// or a write through a read-only one, is not performed: it is recorded as a fault (the IOMMU's
/// fault queue) and the device sees an error. So a device can touch only the frames of the domain
/// it is assigned to, and once the hypervisor tears the context down, nothing at all.
public final class IOMMU: DMATranslation {
    public struct Fault: Equatable, Sendable, CustomStringConvertible {
        public var device: Int
        public var busAddress: UInt32
        public var write: Bool
        public var description: String {
            "device \(device): DMA \(write ? "write" : "read") at bus 0x\(String(busAddress, radix: 16)) has no IOMMU mapping"
        }
    }

    struct Mapping {
        var machineFrame: UInt32
        var writable: Bool
    }
    private var contexts: [Int: [UInt32: Mapping]] = [:]
    /// Every refused DMA, oldest first.
    public private(set) var faults: [Fault] = []

    public init() {}

    /// Gives `device` a context in which bus frame `busBase / 4096 + i` is machine frame
    /// `machineFrames[i]` (a domain's p2m, so the device uses the guest's own physical addresses).
    public func attach(device: Int, busBase: UInt32, machineFrames: [UInt32], writable: Bool = true) {
        var table: [UInt32: Mapping] = [:]
        for (index, frame) in machineFrames.enumerated() {
            table[(busBase >> pageShift) &+ UInt32(index)] = Mapping(machineFrame: frame >> pageShift, writable: writable)
        }
        contexts[device] = table
    }

    /// Tears the device's context down (the device was reclaimed): all its DMA faults from now on.
    public func detach(device: Int) {
        contexts[device] = nil
    }

    public func isAttached(device: Int) -> Bool { contexts[device] != nil }

    public func translate(_ address: UInt32, count: Int, write: Bool, device: Int) throws(SplitIOError) -> UInt32 {
        guard count >= 0, Int(address % UInt32(pageSize)) + count <= pageSize else {
            throw SplitIOError(.dmaFault, "device \(device): \(count) bytes at bus 0x\(String(address, radix: 16)) cross a page")
        }
        guard let mapping = contexts[device]?[address >> pageShift], !write || mapping.writable else {
            let fault = Fault(device: device, busAddress: address, write: write)
            faults.append(fault)
            throw SplitIOError(.dmaFault, fault.description)
        }
        return mapping.machineFrame << pageShift | address % UInt32(pageSize)
    }
}

@available(*, unavailable, message: "the IOMMU is confined to the thread that runs the machine")
extension IOMMU: Sendable {}
