import HypervisorCore

/// Full device emulation of a disk: `vlab-disk`, a deliberately simple controller (documented in
/// Sources/VLabCLI/Guests/io/io-abi.h) whose registers exist only in the VMM. The shadow tables
/// never map them, so each load or store the guest's driver makes exits to the VMM, which decodes
/// the instruction and calls this object: five exits per 4 KiB request, and no batching.
///
/// Registers (32-bit, at `base`): +0 MAGIC "vdsk" (RO), +4 CAPACITY in sectors (RO), +8 SECTOR,
/// +0xC BUFFER (guest-physical), +0x10 COUNT (1...8 sectors; the buffer must not cross a page),
/// +0x14 COMMAND (WO: 0 read, 1 write, 3 flush; completes before the store returns),
/// +0x18 STATUS (RO: 0 done, 1 error). The data moves through the guest's own p2m
/// (`GuestMemory`), so the device can reach only the memory of the guest it belongs to.
public final class EmulatedDiskController: AttachedDevice {
    public static let defaultBase: UInt32 = 0x1000_1000
    public static let magic: UInt32 = 0x6B73_6476
    public let base: UInt32
    public let disk: RawDiskImage
    let memory: GuestMemory

    var sector: UInt32 = 0, buffer: UInt32 = 0, count: UInt32 = 0, status: UInt32 = 0
    /// Commands performed, and register accesses (each one an exit).
    public private(set) var commands = 0
    public private(set) var registerAccesses = 0
    /// Host CPU time spent emulating the registers and moving data.
    public private(set) var handlerNanoseconds: UInt64 = 0

    public init(disk: RawDiskImage, memory: GuestMemory, base: UInt32 = EmulatedDiskController.defaultBase) {
        self.disk = disk
        self.memory = memory
        self.base = base
    }

    public func claims(_ address: UInt32) -> Bool { address &- base < 0x20 }

    public func read(_ address: UInt32, size: Int, vcpu: inout VirtualCPU) -> UInt32? {
        guard size == 4 else { return nil }
        registerAccesses += 1
        switch address &- base {
        case 0x00: return EmulatedDiskController.magic
        case 0x04: return UInt32(clamping: disk.sectorCount)
        case 0x08: return sector
        case 0x0C: return buffer
        case 0x10: return count
        case 0x18: return status
        default: return nil
        }
    }

    public func write(_ address: UInt32, size: Int, value: UInt32, vcpu: inout VirtualCPU) -> Bool {
        guard size == 4 else { return false }
        registerAccesses += 1
        switch address &- base {
        case 0x08: sector = value
        case 0x0C: buffer = value
        case 0x10: count = value
        case 0x14:
            let start = CPUClock.now()
            status = perform(command: value) ? 0 : 1
            handlerNanoseconds += CPUClock.now() - start
        default: return false
        }
        return true
    }

    /// One command; false answers STATUS = error (bad sector range, buffer outside the guest's RAM).
    private func perform(command: UInt32) -> Bool {
        commands += 1
        if command == 3 { return (try? disk.flush()) != nil }
        let bytes = Int(count) * BlockProtocol.sectorSize
        guard command <= 1, (1...8).contains(count), UInt64(sector) + UInt64(count) <= disk.sectorCount,
              buffer % UInt32(BlockProtocol.sectorSize) == 0,
              Int(buffer % UInt32(pageSize)) + bytes <= pageSize,
              memory.contains(buffer, count: bytes) else { return false }
        let offset = UInt64(sector) * UInt64(BlockProtocol.sectorSize)
        if command == 0 {
            guard let data = try? disk.read(at: offset, count: bytes) else { return false }
            return memory.write(buffer, data)
        }
        guard let data = memory.read(buffer, count: bytes) else { return false }
        return (try? disk.write(at: offset, data)) != nil
    }
}
