/// One 4 KiB frame of machine memory, addressed by offset: the unit two domains share.
///
/// Every access is checked to stay inside the page, so code built on `SharedPage` (the rings,
/// the backend's view of a granted buffer) cannot stray into a neighbouring frame whatever
/// offsets a guest writes into shared data. Multi-byte values are little-endian, as on RISC-V.
public struct SharedPage {
    public let memory: any PhysicalMemory
    public let frame: FrameNumber

    public init(memory: any PhysicalMemory, frame: FrameNumber) {
        self.memory = memory
        self.frame = frame
    }

    public func read(at offset: Int, count: Int) throws(SplitIOError) -> [UInt8] {
        try check(offset, count)
        return try memory.read(frame.address + UInt32(offset), count: count)
    }

    public func write(at offset: Int, _ bytes: [UInt8]) throws(SplitIOError) {
        try check(offset, bytes.count)
        try memory.write(frame.address + UInt32(offset), bytes)
    }

    public func load32(at offset: Int) throws(SplitIOError) -> UInt32 {
        let bytes = try read(at: offset, count: 4)
        return UInt32(littleEndianBytes: bytes)
    }

    public func store32(_ value: UInt32, at offset: Int) throws(SplitIOError) {
        try write(at: offset, value.littleEndianBytes)
    }

    private func check(_ offset: Int, _ count: Int) throws(SplitIOError) {
        guard offset >= 0, count >= 0, offset + count <= pageSize else {
            throw SplitIOError(.outOfBounds, "\(count) bytes at offset \(offset) do not fit in the 4096-byte page of \(frame)")
        }
    }
}

extension FixedWidthInteger {
    /// The value's bytes, least significant first.
    public var littleEndianBytes: [UInt8] {
        (0..<Self.bitWidth / 8).map { UInt8(truncatingIfNeeded: self >> ($0 * 8)) }
    }

    /// Assembles a value from `bytes` (least significant first); missing bytes read as zero.
    public init(littleEndianBytes bytes: some Collection<UInt8>) {
        var value: Self = 0
        for (index, byte) in bytes.prefix(Self.bitWidth / 8).enumerated() {
            value |= Self(truncatingIfNeeded: byte) << (index * 8)
        }
        self = value
    }
}
