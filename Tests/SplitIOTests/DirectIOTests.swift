import Foundation
import Hypervisor
import HypervisorCore
import Machine
import RISCV
import Testing
@testable import SplitIO

/// The seed's warning about direct I/O: "when a physical device is reclaimed, it may have been set
/// to an arbitrary state (e.g., DMA to some arbitrary memory locations)". A DomU's driver starts a
/// read on its pass-through disk; before the device performs the DMA the domain is destroyed and
/// its frames go (scrubbed) to the next domain. When the device finally does its DMA, the IOMMU
/// decides whether the new owner's memory is overwritten.
@Suite("DirectIO")
struct DirectIOTests {
    static let queue: UInt32 = 0x8001_0000, buffer: UInt32 = 0x8001_1000

    @Test("a reclaimed device's pending DMA corrupts the frames' next owner without an IOMMU, and faults cleanly with one",
          arguments: [false, true])
    func reclaimedDevicePendingDMA(withIOMMU: Bool) throws {
        let scratch = try DomainIOTests.Disks()
        let (disk, diskBytes) = try #require(scratch.make(1, pages: 4).first)
        var configuration = Dom0.Configuration()
        configuration.machineMemory = 16 << 20
        configuration.shadowFramesPerDomain = 16
        let dom0 = try Dom0(configuration: configuration, output: ConsoleIO(write: { _ in }))
        let image = try DomainIOTests.guestImage()
        let first = try dom0.create(image: image, memorySize: 1 << 20)
        let firstMemory = try #require(dom0.domain(first)).vm.memory

        let iommu = IOMMU()
        let device = DMADisk(device: 7, disk: disk, memory: MachineMemory(dom0.machine),
                             translation: withIOMMU ? iommu as any DMATranslation : DirectDMA())
        // Without an IOMMU the driver must hand the device machine addresses; with one, the
        // hypervisor installs the domain's p2m as the device's context and the driver uses its own
        // guest-physical addresses.
        func bus(_ guestPhysical: UInt32) throws -> UInt32 {
            withIOMMU ? guestPhysical : try #require(firstMemory.machineAddress(of: guestPhysical))
        }
        if withIOMMU { iommu.attach(device: 7, busBase: GuestMemory.base, machineFrames: firstMemory.machineFrames) }

        // The first domain's driver: one READ of 8 sectors into its buffer page, doorbell rung.
        let descriptor = [UInt32(0), 0, 8, try bus(Self.buffer), 1].flatMap(\.littleEndianBytes)
        #expect(firstMemory.write(Self.queue + 8, descriptor))
        #expect(firstMemory.write32(Self.queue, 1))
        device.queueAddress = try bus(Self.queue)
        device.fetch()
        #expect(device.pendingDescriptors == 1, "the device has taken the command; its DMA is pending")

        // The domain dies; the hypervisor reclaims the device (tearing down its IOMMU context, if
        // there is an IOMMU) but cannot reset the device's internal state.
        let bufferFrame = try #require(firstMemory.machineAddress(of: Self.buffer))
        try dom0.destroy(first)
        if withIOMMU { iommu.detach(device: 7) }

        // The next domain gets the same machine frames (scrubbed).
        let second = try dom0.create(image: image, memorySize: 1 << 20)
        let secondMemory = try #require(dom0.domain(second)).vm.memory
        try #require(secondMemory.machineAddress(of: Self.buffer) == bufferFrame,
                     "the demonstration needs the next domain to receive the reclaimed frame")
        let before = try #require(secondMemory.read(Self.buffer, count: pageSize))

        device.complete()
        let after = try #require(secondMemory.read(Self.buffer, count: pageSize))
        if withIOMMU {
            #expect(after == before, "the IOMMU must stop the stale DMA")
            #expect(!iommu.faults.isEmpty)
            #expect(iommu.faults.allSatisfy { $0.device == 7 })
            #expect(!device.failedDMA.isEmpty)
        } else {
            #expect(after == Array(diskBytes[0..<pageSize]), "without an IOMMU the stale DMA lands in the new owner's memory")
            #expect(after != before)
        }
    }

    @Test("an IOMMU context admits only its own frames, and read-only mappings refuse device writes")
    func iommuConfinement() throws {
        let iommu = IOMMU()
        iommu.attach(device: 1, busBase: 0x8000_0000, machineFrames: [0x8040_0000, 0x8090_0000], writable: false)
        #expect(try iommu.translate(0x8000_1010, count: 16, write: false, device: 1) == 0x8090_0010)
        #expect(throws: SplitIOError.self) { try iommu.translate(0x8000_2000, count: 4, write: false, device: 1) }
        #expect(throws: SplitIOError.self) { try iommu.translate(0x8000_0000, count: 4, write: true, device: 1) }
        #expect(throws: SplitIOError.self) { try iommu.translate(0x8000_0000, count: 4, write: false, device: 2) }
        #expect(throws: SplitIOError.self) { try iommu.translate(0x8000_0FFC, count: 8, write: false, device: 1) }
        #expect(iommu.faults.count == 3)
    }
}
