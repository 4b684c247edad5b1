/// The block-device protocol of the split driver, with the facts of Xen's `io/blkif.h`:
/// a request names an operation, the first disk sector, and up to 11 segments, each a granted
/// page plus the first and last 512-byte sector *within that page* to transfer. Segments are
/// contiguous on disk: segment k starts where segment k-1 ended. The response echoes the id
/// and operation with a status.
///
/// Byte layout (what a C compiler gives `struct blkif_request` for RV32, ILP32, where a 64-bit
/// field is 8-byte aligned; `BlockLayoutTests` checks it against riscv64-unknown-elf-gcc):
///
///     request, 112 bytes                         response, 16 bytes
///       0  operation      u8                       0  id         u64
///       1  nr_segments    u8                       8  operation  u8
///       2  handle         u16                     10  status     i16
///       4  (padding)      4 bytes                 12  (padding)  4 bytes
///       8  id             u64
///      16  sector_number  u64
///      24  seg[11]        8 bytes each: gref u32, first_sect u8, last_sect u8, 2 bytes padding
///
/// With 112-byte slots the ring page holds (4096 - 64) / 112 = 36 entries, rounded down to 32.
public enum BlockProtocol {
    /// Disk sectors are 512 bytes (blkif's unit for sector_number, first_sect and last_sect).
    public static let sectorSize = 512
    public static let sectorsPerPage = pageSize / sectorSize
    /// `BLKIF_MAX_SEGMENTS_PER_REQUEST`: what fits in one 112-byte slot.
    public static let maxSegmentsPerRequest = 11

    public typealias Ring = SharedRing<BlockRequest, BlockResponse>
}

/// `BLKIF_OP_*`. A struct, not an enum: a guest may write any byte, and the backend must hold
/// (and answer) the operation it cannot perform rather than fail to decode it.
public struct BlockOpcode: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    public static let read = BlockOpcode(rawValue: 0)
    public static let write = BlockOpcode(rawValue: 1)
    /// `BLKIF_OP_WRITE_BARRIER`: not offered by this backend (answered "not supported").
    public static let writeBarrier = BlockOpcode(rawValue: 2)
    /// `BLKIF_OP_FLUSH_DISKCACHE`: make every completed write durable (fsync of the image).
    public static let flush = BlockOpcode(rawValue: 3)

    public var description: String {
        switch self {
        case .read: "READ"
        case .write: "WRITE"
        case .writeBarrier: "WRITE_BARRIER"
        case .flush: "FLUSH"
        default: "operation \(rawValue)"
        }
    }
}

/// `BLKIF_RSP_*`.
public struct BlockStatus: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: Int16
    public init(rawValue: Int16) { self.rawValue = rawValue }

    public static let okay = BlockStatus(rawValue: 0)
    public static let error = BlockStatus(rawValue: -1)
    public static let notSupported = BlockStatus(rawValue: -2)

    public var description: String {
        switch self {
        case .okay: "OKAY"
        case .error: "ERROR"
        case .notSupported: "EOPNOTSUPP"
        default: "status \(rawValue)"
        }
    }
}

/// One segment: sectors `firstSector...lastSector` (0...7) of the page behind `grant`.
public struct BlockSegment: Hashable, Sendable {
    public var grant: GrantReference
    public var firstSector: UInt8
    public var lastSector: UInt8

    public init(grant: GrantReference, firstSector: UInt8, lastSector: UInt8) {
        self.grant = grant
        self.firstSector = firstSector
        self.lastSector = lastSector
    }
}

public struct BlockRequest: RingEntry, Hashable, Sendable {
    public var operation: BlockOpcode
    /// `nr_segments` as the frontend wrote it, which may exceed `segments.count` (and 11) in a
    /// hostile request; the backend checks it.
    public var segmentCount: UInt8
    public var handle: UInt16
    /// The frontend's own tag, echoed in the response.
    public var id: UInt64
    public var sector: UInt64
    public var segments: [BlockSegment]

    public init(operation: BlockOpcode, id: UInt64, sector: UInt64, segments: [BlockSegment], handle: UInt16 = 0) {
        self.operation = operation
        self.segmentCount = UInt8(truncatingIfNeeded: segments.count)
        self.handle = handle
        self.id = id
        self.sector = sector
        self.segments = Array(segments.prefix(BlockProtocol.maxSegmentsPerRequest))
    }

    static let segmentsOffset = 24
    static let segmentSize = 8
    public static var encodedSize: Int { segmentsOffset + BlockProtocol.maxSegmentsPerRequest * segmentSize }

    public func encoded() -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: Self.encodedSize)
        bytes[0] = operation.rawValue
        bytes[1] = segmentCount
        bytes.replaceSubrange(2..<4, with: handle.littleEndianBytes)
        bytes.replaceSubrange(8..<16, with: id.littleEndianBytes)
        bytes.replaceSubrange(16..<24, with: sector.littleEndianBytes)
        for (index, segment) in segments.prefix(BlockProtocol.maxSegmentsPerRequest).enumerated() {
            let at = Self.segmentsOffset + index * Self.segmentSize
            bytes.replaceSubrange(at..<at + 4, with: segment.grant.rawValue.littleEndianBytes)
            bytes[at + 4] = segment.firstSector
            bytes[at + 5] = segment.lastSector
        }
        return bytes
    }

    public init(decoding raw: [UInt8]) {
        let bytes = raw.count >= Self.encodedSize ? raw : raw + [UInt8](repeating: 0, count: Self.encodedSize - raw.count)
        operation = BlockOpcode(rawValue: bytes[0])
        segmentCount = bytes[1]
        handle = UInt16(littleEndianBytes: bytes[2..<4])
        id = UInt64(littleEndianBytes: bytes[8..<16])
        sector = UInt64(littleEndianBytes: bytes[16..<24])
        segments = (0..<min(Int(segmentCount), BlockProtocol.maxSegmentsPerRequest)).map { index in
            let at = Self.segmentsOffset + index * Self.segmentSize
            return BlockSegment(grant: GrantReference(UInt32(littleEndianBytes: bytes[at..<at + 4])),
                                firstSector: bytes[at + 4], lastSector: bytes[at + 5])
        }
    }
}

public struct BlockResponse: RingEntry, Hashable, Sendable {
    public var id: UInt64
    public var operation: BlockOpcode
    public var status: BlockStatus

    public init(id: UInt64, operation: BlockOpcode, status: BlockStatus) {
        self.id = id
        self.operation = operation
        self.status = status
    }

    public static var encodedSize: Int { 16 }

    public func encoded() -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: Self.encodedSize)
        bytes.replaceSubrange(0..<8, with: id.littleEndianBytes)
        bytes[8] = operation.rawValue
        bytes.replaceSubrange(10..<12, with: UInt16(bitPattern: status.rawValue).littleEndianBytes)
        return bytes
    }

    public init(decoding raw: [UInt8]) {
        let bytes = raw.count >= Self.encodedSize ? raw : raw + [UInt8](repeating: 0, count: Self.encodedSize - raw.count)
        id = UInt64(littleEndianBytes: bytes[0..<8])
        operation = BlockOpcode(rawValue: bytes[8])
        status = BlockStatus(rawValue: Int16(bitPattern: UInt16(littleEndianBytes: bytes[10..<12])))
    }
}
