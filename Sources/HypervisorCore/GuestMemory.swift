import Machine
import RISCV

/// A guest's RAM: guest-physical `0x8000_0000 ..< 0x8000_0000 + size`, backed by machine frames
/// the VMM allotted to it. `machineFrames[i]` is the machine address of guest frame i: the p2m
/// ("physical to machine") table of Xen's vocabulary.
///
/// Every guest-physical address the guest produces goes through `machineAddress(of:)`, so a
/// guest can name only its own frames: the VMM's frames and other domains' frames have no
/// guest-physical address at all.
public final class GuestMemory {
    public static let base: UInt32 = 0x8000_0000
    public static let pageSize: UInt32 = 4096

    public let machine: Machine
    /// The machine address of each guest frame, in guest-physical order.
    public let machineFrames: [UInt32]
    public var size: UInt32 { UInt32(machineFrames.count) * GuestMemory.pageSize }

    /// `machineFrames` must be 4 KiB-aligned machine RAM addresses; the VMM's allocator
    /// (`MachineFrameAllocator`) hands out only such frames.
    public init(machine: Machine, machineFrames: [UInt32]) {
        self.machine = machine
        self.machineFrames = machineFrames
    }

    /// The machine address behind a guest-physical address, or nil if the guest owns no RAM there.
    public func machineAddress(of guestPhysical: UInt32) -> UInt32? {
        let offset = guestPhysical &- GuestMemory.base
        guard offset < size else { return nil }
        return machineFrames[Int(offset / GuestMemory.pageSize)] | offset % GuestMemory.pageSize
    }

    /// Whether `count` bytes at `guestPhysical` are all guest RAM.
    public func contains(_ guestPhysical: UInt32, count: Int = 1) -> Bool {
        let offset = UInt64(guestPhysical &- GuestMemory.base)
        return offset + UInt64(count) <= UInt64(size) && guestPhysical >= GuestMemory.base
    }

    public func read32(_ guestPhysical: UInt32) -> UInt32? {
        guard guestPhysical & 3 == 0, let address = machineAddress(of: guestPhysical),
              let bytes = try? machine.readPhysical(address, count: 4) else { return nil }
        return UInt32(bytes[0]) | UInt32(bytes[1]) << 8 | UInt32(bytes[2]) << 16 | UInt32(bytes[3]) << 24
    }

    @discardableResult
    public func write32(_ guestPhysical: UInt32, _ value: UInt32) -> Bool {
        guard guestPhysical & 3 == 0, let address = machineAddress(of: guestPhysical) else { return false }
        let bytes = [UInt8(truncatingIfNeeded: value), UInt8(truncatingIfNeeded: value >> 8),
                     UInt8(truncatingIfNeeded: value >> 16), UInt8(truncatingIfNeeded: value >> 24)]
        return (try? machine.writePhysical(address, bytes)) != nil
    }

    /// Reads guest RAM bytes (frame by frame, since neighbouring guest frames need not be
    /// neighbours in the machine).
    public func read(_ guestPhysical: UInt32, count: Int) -> [UInt8]? {
        guard contains(guestPhysical, count: count) else { return nil }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(count)
        var address = guestPhysical
        while bytes.count < count {
            let inPage = min(count - bytes.count, Int(GuestMemory.pageSize - address % GuestMemory.pageSize))
            guard let machineAddress = machineAddress(of: address),
                  let chunk = try? machine.readPhysical(machineAddress, count: inPage) else { return nil }
            bytes += chunk
            address &+= UInt32(inPage)
        }
        return bytes
    }

    /// Writes guest RAM bytes; nothing is written unless all of them are guest RAM.
    @discardableResult
    public func write(_ guestPhysical: UInt32, _ bytes: [UInt8]) -> Bool {
        guard contains(guestPhysical, count: bytes.count) else { return false }
        var done = 0
        while done < bytes.count {
            let address = guestPhysical &+ UInt32(done)
            let inPage = min(bytes.count - done, Int(GuestMemory.pageSize - address % GuestMemory.pageSize))
            guard let machineAddress = machineAddress(of: address),
                  (try? machine.writePhysical(machineAddress, Array(bytes[done..<done + inPage]))) != nil else { return false }
            done += inPage
        }
        return true
    }

    /// Copies an ELF image's loadable segments into guest RAM (zero-filling bss) and returns the
    /// entry point, with the bare machine's rules: every segment must lie in the guest's RAM,
    /// except parts that hold no section (GNU ld's headers just below `0x8000_0000`).
    public func load(_ elf: ELFFile) throws(GuestImageError) -> UInt32 {
        let ramStart = UInt64(GuestMemory.base), ramEnd = ramStart + UInt64(size)
        let allocated = elf.sections.filter { $0.occupiesMemory && $0.size > 0 }
        func holdsSection(_ start: UInt64, _ end: UInt64) -> Bool {
            elf.sections.isEmpty || allocated.contains { UInt64($0.address) < end && start < UInt64($0.address) + UInt64($0.size) }
        }
        guard elf.segments.contains(where: { $0.executable && elf.entry >= $0.virtualAddress
            && UInt64(elf.entry) < UInt64($0.virtualAddress) + UInt64($0.memorySize) }) else {
            throw GuestImageError("entry point 0x\(hex8(elf.entry)) is in no executable loaded segment")
        }
        var pieces: [(ELFFile.Segment, UInt64, UInt64)] = []
        for (index, segment) in elf.segments.enumerated() where segment.memorySize > 0 {
            let start = UInt64(segment.physicalAddress), end = start + UInt64(segment.memorySize)
            var outside: [(UInt64, UInt64)] = []
            if start < ramStart { outside.append((start, min(end, ramStart))) }
            if end > ramEnd { outside.append((max(start, ramEnd), end)) }
            for (partStart, partEnd) in outside {
                let virtualStart = UInt64(segment.virtualAddress) + (partStart - start)
                if holdsSection(virtualStart, virtualStart + (partEnd - partStart)) {
                    throw GuestImageError("segment \(index) at guest-physical 0x\(hex8(segment.physicalAddress)) (0x\(String(segment.memorySize, radix: 16)) bytes) lies outside the guest's RAM 0x\(hex8(GuestMemory.base))-0x\(hex8(UInt32(ramEnd - 1)))")
                }
            }
            let loadStart = max(start, ramStart), loadEnd = min(end, ramEnd)
            if loadStart < loadEnd { pieces.append((segment, loadStart, loadEnd)) }
        }
        for (segment, start, end) in pieces {
            let skipped = Int(start - UInt64(segment.physicalAddress))
            let count = Int(end - start)
            var bytes = [UInt8](repeating: 0, count: count)
            let fileBytes = max(0, min(segment.data.count - skipped, count))
            if fileBytes > 0 {
                let data = Array(segment.data)
                bytes.replaceSubrange(0..<fileBytes, with: data[skipped..<skipped + fileBytes])
            }
            guard write(UInt32(start), bytes) else {
                throw GuestImageError("cannot write segment at guest-physical 0x\(hex8(UInt32(start)))")
            }
        }
        return elf.entry
    }
}

/// An image that cannot become a guest: the message names the segment or entry point.
public struct GuestImageError: Error, Equatable, Sendable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// Eight lowercase hex digits, as traces and fault reports print 32-bit values.
public func hex8(_ value: UInt32) -> String {
    let digits = String(value, radix: 16)
    return String(repeating: "0", count: 8 - digits.count) + digits
}

extension GuestMemory {
    /// Whether the guest may write the frame holding `guestFrame` through a mapping (false for a
    /// frame shared copy-on-write: a store must break the share first). Shadow pagers never map
    /// such a frame writable. Every frame is writable until page sharing (issue 7, `overcommit`)
    /// replaces this with its own answer, under the same signature.
    public func isWritable(guestFrame: UInt32) -> Bool { true }
}
