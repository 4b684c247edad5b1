/// A disk controller that does its own DMA (`vlab-dma`): the device of direct I/O. The guest that
/// owns it drives it with no hypervisor in the data path: it writes descriptors into a queue page
/// in its own memory and rings the doorbell; the device fetches the descriptors, moves the data
/// between the disk and the buffers by DMA, writes each status and the completion count back by
/// DMA, and raises its interrupt. Every memory access it makes goes through `translation`: an
/// `IOMMU` context (bus address = guest-physical) or, without an IOMMU, `DirectDMA` (bus address
/// = machine address).
///
/// Queue page layout (io-abi.h `struct pt_queue`): +0 doorbell (descriptors submitted,
/// free-running), +4 completed (free-running, written by the device), +8 32 descriptors of 20
/// bytes: operation (0 read, 1 write), sector, count (1...8), buffer (bus address), status.
///
/// The device is a separate agent that runs concurrently with the CPU on real hardware; on the
/// one emulated hart it runs when the hypervisor gives it time: `fetch` when its doorbell is
/// noticed, `complete` later (the disk's latency), so DMA can be pending across other events,
/// such as the device being reclaimed from its domain.
public final class DMADisk {
    public static let slots: UInt32 = 32
    public static let descriptorSize: UInt32 = 20

    public let device: Int
    public let disk: RawDiskImage
    public let memory: any PhysicalMemory
    public var translation: any DMATranslation
    /// The bus address of the queue page: the device register the driver programs at setup.
    public var queueAddress: UInt32?
    /// Called when the device raises its interrupt (a completion).
    public var interrupt: (() -> Void)?

    struct Descriptor {
        var index: UInt32
        var operation: UInt32, sector: UInt32, count: UInt32, buffer: UInt32
    }
    /// Descriptors fetched and not yet performed: the device's internal state.
    private var inFlight: [Descriptor] = []
    private var fetchedUpTo: UInt32 = 0
    private var completedCount: UInt32 = 0
    /// DMA accesses that failed (the IOMMU refused them), for the report.
    public private(set) var failedDMA: [SplitIOError] = []
    public private(set) var requestsDone = 0
    public private(set) var interruptsRaised = 0
    public private(set) var handlerNanoseconds: UInt64 = 0

    public init(device: Int, disk: RawDiskImage, memory: any PhysicalMemory, translation: any DMATranslation) {
        self.device = device
        self.disk = disk
        self.memory = memory
        self.translation = translation
    }

    public var pendingDescriptors: Int { inFlight.count }

    /// Reads the doorbell and fetches every new descriptor (at most one queue's worth).
    public func fetch() {
        guard let queue = queueAddress, let doorbell = dmaRead32(queue) else { return }
        let waiting = min(doorbell &- fetchedUpTo, DMADisk.slots)
        for step in 0..<waiting {
            let index = fetchedUpTo &+ step
            let slot = queue &+ 8 &+ (index % DMADisk.slots) * DMADisk.descriptorSize
            guard let bytes = dma(read: slot, count: 16) else { return }
            let word = { (i: Int) in UInt32(littleEndianBytes: bytes[(4 * i)..<(4 * i + 4)]) }
            inFlight.append(Descriptor(index: index, operation: word(0), sector: word(1), count: word(2), buffer: word(3)))
        }
        fetchedUpTo &+= waiting
    }

    /// Performs every fetched descriptor: data by DMA, then its status, then the completion count,
    /// then the interrupt. A DMA the translation refuses fails that descriptor and nothing else.
    public func complete() {
        guard !inFlight.isEmpty else { return }
        let start = CPUClock.now()
        defer { handlerNanoseconds += CPUClock.now() - start }
        let work = inFlight
        inFlight = []
        for descriptor in work {
            let okay = perform(descriptor)
            requestsDone += 1
            completedCount &+= 1
            if let queue = queueAddress {
                let slot = queue &+ 8 &+ (descriptor.index % DMADisk.slots) * DMADisk.descriptorSize
                dmaWrite32(slot &+ 16, okay ? 0 : UInt32(bitPattern: -1))
                dmaWrite32(queue &+ 4, completedCount)
            }
        }
        interruptsRaised += 1
        interrupt?()
    }

    private func perform(_ descriptor: Descriptor) -> Bool {
        let bytes = Int(descriptor.count) * BlockProtocol.sectorSize
        guard descriptor.operation <= 1, (1...8).contains(descriptor.count),
              UInt64(descriptor.sector) + UInt64(descriptor.count) <= disk.sectorCount else { return false }
        let offset = UInt64(descriptor.sector) * UInt64(BlockProtocol.sectorSize)
        if descriptor.operation == 0 {
            guard let data = try? disk.read(at: offset, count: bytes) else { return false }
            return dma(write: descriptor.buffer, data)
        }
        guard let data = dma(read: descriptor.buffer, count: bytes) else { return false }
        return (try? disk.write(at: offset, data)) != nil
    }

    // MARK: DMA, every access through the translation

    private func dma(read address: UInt32, count: Int) -> [UInt8]? {
        do {
            let machine = try translation.translate(address, count: count, write: false, device: device)
            return try memory.read(machine, count: count)
        } catch {
            failedDMA.append(error)
            return nil
        }
    }

    private func dma(write address: UInt32, _ bytes: [UInt8]) -> Bool {
        do {
            let machine = try translation.translate(address, count: bytes.count, write: true, device: device)
            try memory.write(machine, bytes)
            return true
        } catch {
            failedDMA.append(error)
            return false
        }
    }

    private func dmaRead32(_ address: UInt32) -> UInt32? {
        dma(read: address, count: 4).map { UInt32(littleEndianBytes: $0) }
    }

    private func dmaWrite32(_ address: UInt32, _ value: UInt32) {
        _ = dma(write: address, value.littleEndianBytes)
    }
}

@available(*, unavailable, message: "a device is confined to the thread that runs the machine")
extension DMADisk: Sendable {}
