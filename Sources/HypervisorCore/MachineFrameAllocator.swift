/// Hands out the machine's RAM frames: to the VMM's own use (shadow tables) and to guests'
/// allotments. A frame belongs to one owner at a time, so what one guest or the VMM owns no other
/// can map. Released frames are scrubbed by the releaser before they go back (see `Domains`), so a
/// new owner never sees an old owner's data.
public struct MachineFrameAllocator: Sendable {
    public static let pageSize: UInt32 = 4096
    public let base: UInt32
    public let frameCount: Int
    /// Free frames, lowest address first.
    private var free: [UInt32]

    /// `ramSize` bytes of machine RAM from `base` (both 4 KiB-aligned).
    public init(base: UInt32 = 0x8000_0000, ramSize: Int) {
        self.base = base
        frameCount = ramSize / Int(MachineFrameAllocator.pageSize)
        free = (0..<frameCount).map { base &+ UInt32($0) * MachineFrameAllocator.pageSize }
    }

    public var freeFrames: Int { free.count }

    /// Whether `frame` is in the free list (owned by nobody).
    public func isFree(_ frame: UInt32) -> Bool {
        var low = 0, high = free.count
        while low < high {
            let middle = (low + high) / 2
            if free[middle] < frame { low = middle + 1 } else { high = middle }
        }
        return low < free.count && free[low] == frame
    }

    /// `count` frames' machine addresses, or an error naming who asked and how much is left.
    public mutating func allocate(_ count: Int, for purpose: String) throws(AllotmentError) -> [UInt32] {
        guard count >= 0, count <= freeFrames else {
            throw AllotmentError("\(purpose): asks for \(count) frames (\(count * 4) KiB) but only \(freeFrames) (\(freeFrames * 4) KiB) of the machine's RAM are free")
        }
        let frames = Array(free.prefix(count))
        free.removeFirst(count)
        return frames
    }

    /// Gives frames back (the caller has scrubbed them).
    public mutating func release(_ frames: [UInt32]) {
        free = (free + frames).sorted()
    }
}

/// A memory request the machine cannot satisfy.
public struct AllotmentError: Error, Equatable, Sendable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
