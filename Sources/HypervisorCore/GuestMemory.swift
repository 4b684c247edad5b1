import Machine
import RISCV

/// A guest's RAM: guest-physical `0x8000_0000 ..< 0x8000_0000 + size`, backed by machine frames
/// the VMM allotted to it. `machineFrames[i]` is the machine address of guest frame i: the p2m
/// ("physical to machine") table of Xen's vocabulary. Frame *index* i is guest-physical
/// `0x8000_0000 + i * 4096`; APIs shared with the shadow pager name a frame by that guest-physical
/// address (`guestFrame: UInt32`), the p2m's own by its index (`frame: Int`).
///
/// Every guest-physical address the guest produces goes through `machineAddress(of:)`, so a
/// guest can name only its own frames: the VMM's frames and other domains' frames have no
/// guest-physical address at all.
///
/// The p2m can change while the guest runs (memory over-commitment, ESX/Xen style):
/// - a frame can be *shared*: mapped read-only to a machine frame other domains map too (content-based
///   page sharing). `isWritable(guestFrame:)` is then false; the shadow pager never maps it writable,
///   and a store to it asks `breakShare(guestFrame:)` for a private copy first (copy-on-write);
/// - a frame can be *given back* (a balloon driver returned it): it has no machine frame, so the guest
///   can no longer reach any memory through that guest-physical page (an access faults);
/// - a frame can be *remapped* to another machine frame (a share broken, a ballooned frame returned).
/// Every change that takes a mapping or a write permission away is announced to the observers
/// (`observeRemapping`): whoever caches translations of this memory (shadow tables, the hart's TLB)
/// must drop them, or the guest would keep reaching a frame that is no longer its own.
public final class GuestMemory {
    public static let base: UInt32 = 0x8000_0000
    public static let pageSize: UInt32 = 4096

    /// What the guest may do with one of its frames.
    public enum FrameAccess: UInt8, Sendable {
        /// Private to this guest: read and write.
        case writable
        /// Mapped read-only at the p2m level (a shared copy-on-write frame).
        case readOnly
        /// No machine frame behind it (given back through the balloon).
        case absent
    }

    public let machine: Machine
    /// The machine address of each guest frame, in guest-physical order. Meaningless (0) for a
    /// frame whose access is `.absent`.
    public private(set) var machineFrames: [UInt32]
    private var access: [FrameAccess]
    /// Bytes of guest-physical address space: what the domain was promised, present or not.
    public var size: UInt32 { UInt32(machineFrames.count) * GuestMemory.pageSize }
    /// Guest frames promised (the size in frames).
    public var frameCount: Int { machineFrames.count }
    /// Guest frames that have a machine frame behind them.
    public private(set) var presentFrames: Int
    /// Who makes private copies of shared frames (the page-sharing service). Without one, a shared
    /// frame cannot be written.
    public weak var sharing: (any GuestFrameSharing)?
    private var remapObservers: [(UInt32) -> Void] = []

    /// `machineFrames` must be 4 KiB-aligned machine RAM addresses; the VMM's allocator
    /// (`MachineFrameAllocator`) hands out only such frames. All start private and writable.
    public init(machine: Machine, machineFrames: [UInt32]) {
        self.machine = machine
        self.machineFrames = machineFrames
        access = Array(repeating: .writable, count: machineFrames.count)
        presentFrames = machineFrames.count
    }

    // MARK: The p2m, frame by frame

    /// The index (p2m slot) of the frame holding `guestPhysical`, or nil outside the guest's memory.
    public func frameIndex(containing guestPhysical: UInt32) -> Int? {
        let offset = guestPhysical &- GuestMemory.base
        guard offset < size else { return nil }
        return Int(offset / GuestMemory.pageSize)
    }

    /// The guest-physical address of the frame with index `frame`.
    public static func guestPhysical(ofFrame frame: Int) -> UInt32 {
        GuestMemory.base &+ UInt32(truncatingIfNeeded: frame) &* GuestMemory.pageSize
    }

    /// What the guest may do with frame index `frame` (`.absent` also outside its memory).
    public func access(frame: Int) -> FrameAccess {
        access.indices.contains(frame) ? access[frame] : .absent
    }

    /// Whether the guest may store to the frame holding guest-physical `guestFrame` directly: it is
    /// present and private. The shadow pager never maps a frame writable for which this is false.
    public func isWritable(guestFrame: UInt32) -> Bool {
        frameIndex(containing: guestFrame).map { access[$0] == .writable } ?? false
    }

    /// `isWritable` by frame index.
    public func isWritable(frame: Int) -> Bool { access(frame: frame) == .writable }

    /// The machine frame behind frame index `frame`, nil if it has none.
    public func machineFrame(ofFrame frame: Int) -> UInt32? {
        access(frame: frame) == .absent ? nil : machineFrames[frame]
    }

    /// Calls `observer` with the guest-physical address of the frame after every change that removes
    /// a mapping or a write permission (a remap, a frame given back, a frame made read-only): what a
    /// shadow pager's `invalidate(guestFrame:)` takes.
    public func observeRemapping(_ observer: @escaping (UInt32) -> Void) {
        remapObservers.append(observer)
    }

    /// Points frame index `frame` at `machineFrame` and returns the machine frame it had (nil if
    /// absent). The caller owns both frames' bookkeeping (who else maps them, when they go back).
    @discardableResult
    public func remap(frame: Int, to machineFrame: UInt32, writable: Bool) -> UInt32? {
        guard access.indices.contains(frame) else { return nil }
        let old = self.machineFrame(ofFrame: frame)
        if old == nil { presentFrames += 1 }
        machineFrames[frame] = machineFrame
        access[frame] = writable ? .writable : .readOnly
        if old != nil { announce(frame) }
        return old
    }

    /// Makes a present frame read-only (it became shared) or writable again (its last sharer).
    public func setWritable(frame: Int, _ writable: Bool) {
        guard access.indices.contains(frame), access[frame] != .absent else { return }
        let wasWritable = access[frame] == .writable
        access[frame] = writable ? .writable : .readOnly
        if wasWritable && !writable { announce(frame) }
    }

    /// Takes the machine frame away from frame index `frame` and returns it (the balloon gave it back).
    @discardableResult
    public func removeFrame(_ frame: Int) -> UInt32? {
        guard let old = machineFrame(ofFrame: frame) else { return nil }
        access[frame] = .absent
        machineFrames[frame] = 0
        presentFrames -= 1
        announce(frame)
        return old
    }

    /// Makes the frame holding guest-physical `guestFrame` privately writable: a shared frame gets
    /// its own copy (copy-on-write). The VMM calls this when a guest store hits a read-only frame,
    /// then drops the shadow entries of that frame. Throws when the frame is absent or no copy can
    /// be made (no machine frame left): the store must then not happen.
    public func breakShare(guestFrame: UInt32) throws(AllotmentError) {
        guard let frame = frameIndex(containing: guestFrame) else {
            throw AllotmentError("guest-physical 0x\(hex8(guestFrame)) is outside the guest's memory")
        }
        try breakShare(frame: frame)
    }

    /// `breakShare` by frame index.
    public func breakShare(frame: Int) throws(AllotmentError) {
        let address = "guest-physical 0x\(hex8(GuestMemory.guestPhysical(ofFrame: frame)))"
        switch access(frame: frame) {
        case .writable:
            return
        case .absent:
            throw AllotmentError("\(address) has no machine frame (given back, or outside the guest's memory)")
        case .readOnly:
            guard let sharing else { throw AllotmentError("\(address) is read-only and nobody can copy it") }
            try sharing.breakShare(frame: frame, of: self)
            guard isWritable(frame: frame) else { throw AllotmentError("\(address) stayed read-only after breaking its share") }
        }
    }

    private func announce(_ frame: Int) {
        let address = GuestMemory.guestPhysical(ofFrame: frame)
        for observer in remapObservers { observer(address) }
    }

    // MARK: Bytes

    /// The machine address behind a guest-physical address, or nil if the guest owns no RAM there.
    public func machineAddress(of guestPhysical: UInt32) -> UInt32? {
        let offset = guestPhysical &- GuestMemory.base
        guard offset < size else { return nil }
        let frame = Int(offset / GuestMemory.pageSize)
        guard access[frame] != .absent else { return nil }
        return machineFrames[frame] | offset % GuestMemory.pageSize
    }

    /// The machine address to store to at `guestPhysical`: a shared frame is copied first, so a
    /// write through the VMM (a hypercall's result, an emulated store) never reaches other sharers.
    private func writableMachineAddress(of guestPhysical: UInt32) -> UInt32? {
        guard let frame = frameIndex(containing: guestPhysical) else { return nil }
        if access[frame] == .readOnly { guard (try? breakShare(frame: frame)) != nil else { return nil } }
        return machineAddress(of: guestPhysical)
    }

    /// Whether `count` bytes at `guestPhysical` are all guest RAM (frames given back included:
    /// they are still the guest's address space; reading them fails).
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
        guard guestPhysical & 3 == 0, let address = writableMachineAddress(of: guestPhysical) else { return false }
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

    /// Writes guest RAM bytes; nothing is written unless all of them are guest RAM with a machine
    /// frame behind it (shared frames are copied first).
    @discardableResult
    public func write(_ guestPhysical: UInt32, _ bytes: [UInt8]) -> Bool {
        guard contains(guestPhysical, count: bytes.count) else { return false }
        if !bytes.isEmpty, let first = frameIndex(containing: guestPhysical),
           let last = frameIndex(containing: guestPhysical &+ UInt32(bytes.count - 1)) {
            for frame in first...last where access[frame] != .writable {
                guard (try? breakShare(frame: frame)) != nil else { return false }
            }
        }
        var done = 0
        while done < bytes.count {
            let address = guestPhysical &+ UInt32(done)
            let inPage = min(bytes.count - done, Int(GuestMemory.pageSize - address % GuestMemory.pageSize))
            guard let machineAddress = writableMachineAddress(of: address),
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

/// Makes private copies of shared guest frames: the page-sharing service, which knows who else
/// maps a frame and where a fresh frame comes from. It copies the contents into a new machine frame
/// and calls `memory.remap(frame:to:writable: true)`.
public protocol GuestFrameSharing: AnyObject {
    func breakShare(frame: Int, of memory: GuestMemory) throws(AllotmentError)
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
