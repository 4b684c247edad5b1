/// Hands out the machine's RAM frames: to the VMM's own use (shadow tables) and to guests'
/// allotments. Frames are never shared, so what one guest or the VMM owns no other can map.
public struct MachineFrameAllocator: Sendable {
    public static let pageSize: UInt32 = 4096
    public let base: UInt32
    public let frameCount: Int
    private var next = 0

    /// `ramSize` bytes of machine RAM from `base` (both 4 KiB-aligned).
    public init(base: UInt32 = 0x8000_0000, ramSize: Int) {
        self.base = base
        frameCount = ramSize / Int(MachineFrameAllocator.pageSize)
    }

    public var freeFrames: Int { frameCount - next }

    /// `count` frames' machine addresses, or an error naming who asked and how much is left.
    public mutating func allocate(_ count: Int, for purpose: String) throws(AllotmentError) -> [UInt32] {
        guard count >= 0, count <= freeFrames else {
            throw AllotmentError("\(purpose): asks for \(count) frames (\(count * 4) KiB) but only \(freeFrames) (\(freeFrames * 4) KiB) of the machine's RAM are free")
        }
        let frames = (next..<next + count).map { base &+ UInt32($0) * MachineFrameAllocator.pageSize }
        next += count
        return frames
    }
}

/// A memory request the machine cannot satisfy.
public struct AllotmentError: Error, Equatable, Sendable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
