import Machine

/// The machine frames the VMM set aside for one guest's shadow tables, and the way a pager reads
/// and writes page-table entries in them. No guest-physical address maps to these frames, so no
/// guest can name them; a pager that runs out frees some (evicts) and asks again.
public final class ShadowFramePool {
    public let machine: Machine
    /// Every frame of the pool (machine addresses, 4 KiB aligned).
    public let frames: [UInt32]
    private let members: Set<UInt32>
    private var free: [UInt32]
    public private(set) var peakInUse = 0

    public init(machine: Machine, frames: [UInt32]) {
        self.machine = machine
        self.frames = frames
        members = Set(frames)
        free = frames.reversed()  // allocate lowest address first
    }

    public var capacity: Int { frames.count }
    public var inUse: Int { frames.count - free.count }
    public var available: Int { free.count }

    /// A zero-filled frame (every entry invalid), or nil when the pool is empty.
    public func allocate() -> UInt32? {
        guard let frame = free.popLast() else { return nil }
        try? machine.writePhysical(frame, ShadowFramePool.zeroPage)
        peakInUse = max(peakInUse, inUse)
        return frame
    }

    /// Gives a frame back. Frames not from this pool, or already free, are ignored (returns false).
    @discardableResult
    public func release(_ frame: UInt32) -> Bool {
        guard members.contains(frame), !free.contains(frame) else { return false }
        free.append(frame)
        return true
    }

    /// Gives every frame back.
    public func releaseAll() {
        free = frames.reversed()
    }

    /// Whether `frame` (a machine address) is one of this pool's frames.
    public func owns(_ frame: UInt32) -> Bool { members.contains(frame & ~0xFFF) }

    /// The 32-bit entry at machine address `address` (inside a pool frame).
    public func read(_ address: UInt32) -> UInt32 {
        guard owns(address), let bytes = try? machine.readPhysical(address & ~3, count: 4) else { return 0 }
        return UInt32(bytes[0]) | UInt32(bytes[1]) << 8 | UInt32(bytes[2]) << 16 | UInt32(bytes[3]) << 24
    }

    /// Writes the 32-bit entry at machine address `address`; only pool frames are ever written.
    public func write(_ address: UInt32, _ value: UInt32) {
        guard owns(address) else { return }
        try? machine.writePhysical(address & ~3, [UInt8(truncatingIfNeeded: value), UInt8(truncatingIfNeeded: value >> 8),
                                                  UInt8(truncatingIfNeeded: value >> 16), UInt8(truncatingIfNeeded: value >> 24)])
    }

    private static let zeroPage = [UInt8](repeating: 0, count: 4096)
}

/// Sv32 entries of shadow tables (privileged spec 4.3.1), as the hart reads them.
public enum ShadowPTE {
    /// The hart's satp for a shadow table whose root is the machine frame `root` (ASID 0: the
    /// hart's TLB is flushed whenever satp changes).
    public static func satp(root: UInt32) -> UInt32 { 0x8000_0000 | root >> 12 }

    /// A non-leaf entry pointing at the second-level table in machine frame `table`.
    public static func pointer(to table: UInt32) -> UInt32 { (table >> 12) << 10 | 1 }

    /// A 4 KiB leaf mapping machine frame `frame`: valid, user, accessed, and dirty exactly when
    /// writable (so the hart never writes shadow entries itself). Writable needs readable.
    public static func leaf(frame: UInt32, _ permissions: ShadowPermissions) -> UInt32 {
        var pte: UInt32 = (frame >> 12) << 10 | 0x1 | 0x10 | 0x40
        if permissions.contains(.readable) { pte |= 0x2 }
        if permissions.contains(.writable) && permissions.contains(.readable) { pte |= 0x4 | 0x80 }
        if permissions.contains(.executable) { pte |= 0x8 }
        return pte
    }

    /// The machine frame a valid entry points to.
    public static func frame(of pte: UInt32) -> UInt32 { (pte >> 10) << 12 }

    /// The index into the root table (VPN[1]) and into a second-level table (VPN[0]).
    public static func rootIndex(_ virtualAddress: UInt32) -> UInt32 { virtualAddress >> 22 }
    public static func leafIndex(_ virtualAddress: UInt32) -> UInt32 { virtualAddress >> 12 & 0x3FF }
}
