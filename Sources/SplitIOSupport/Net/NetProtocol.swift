/// The network-device protocol of the split driver, with the facts of Xen's `io/netif.h`.
///
/// A virtual interface (a *vif*) has two rings in two shared pages, both with ring.h's layout:
///
/// - the **TX ring** carries frames from the guest: a request names a granted page, the offset
///   and size of one Ethernet frame in it, flags and an id; the response echoes the id with a
///   status once the backend has copied the frame out (the page may then be reused);
/// - the **RX ring** carries frames to the guest: the frontend posts requests *in advance*, each
///   an empty granted page with an id; when a frame arrives the backend copies it into the next
///   posted page and answers with the id, the offset and flags, and in `status` the frame's size
///   (or a negative error). A frame that arrives when no page is posted is dropped and counted.
///
/// Byte layout (RV32 C, checked against riscv64-unknown-elf-gcc in `NetLayoutTests`):
///
///     tx request, 12 bytes      tx response, 4 bytes    rx request, 8 bytes    rx response, 8 bytes
///      0 gref    u32             0 id      u16           0 id    u16            0 id      u16
///      4 offset  u16             2 status  i16           2 (padding)            2 offset  u16
///      6 flags   u16                                     4 gref  u32            4 flags   u16
///      8 id      u16                                                            6 status  i16
///     10 size    u16
///
/// The TX ring's 12-byte slots and the RX ring's 8-byte slots both give 256 slots per page
/// (Xen's `NET_TX_RING_SIZE` and `NET_RX_RING_SIZE`).
public enum NetProtocol {
    /// The largest Ethernet payload (the MTU of the virtual link), as on a real Ethernet.
    public static let mtu = 1500
    /// Destination MAC, source MAC, EtherType.
    public static let ethernetHeaderSize = 14
    /// The largest frame a request may carry: header plus MTU. Every frame fits one page, so this
    /// protocol never needs netif's multi-slot frames (`more_data`).
    public static let maxFrameSize = ethernetHeaderSize + mtu

    public typealias TransmitRing = SharedRing<NetTxRequest, NetTxResponse>
    public typealias ReceiveRing = SharedRing<NetRxRequest, NetRxResponse>
}

/// `XEN_NETIF_RSP_*`. For an RX response a positive status is the frame's size.
public struct NetStatus: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: Int16
    public init(rawValue: Int16) { self.rawValue = rawValue }

    public static let okay = NetStatus(rawValue: 0)
    public static let error = NetStatus(rawValue: -1)
    public static let dropped = NetStatus(rawValue: -2)
    /// `XEN_NETIF_RSP_NULL`: a slot that carries no frame (netif uses it for extra-info slots).
    public static let null = NetStatus(rawValue: 1)

    public var description: String {
        switch self {
        case .okay: "OKAY"
        case .error: "ERROR"
        case .dropped: "DROPPED"
        case .null: "NULL"
        default: rawValue > 0 ? "\(rawValue) bytes" : "status \(rawValue)"
        }
    }
}

/// `NETTXF_*` and `NETRXF_*` flag bits (the same positions for the first three). This backend
/// honours none of the offloads: a checksum-blank frame is forwarded as it is, and `more_data`
/// (a frame continued in the next slot) or `extra_info` is refused, since every frame fits a page.
public struct NetFlags: OptionSet, Hashable, Sendable {
    public var rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    public static let checksumBlank = NetFlags(rawValue: 1 << 0)
    public static let dataValidated = NetFlags(rawValue: 1 << 1)
    public static let moreData = NetFlags(rawValue: 1 << 2)
    public static let extraInfo = NetFlags(rawValue: 1 << 3)
}

public struct NetTxRequest: RingEntry, Hashable, Sendable {
    public var grant: GrantReference
    public var offset: UInt16
    public var flags: NetFlags
    public var id: UInt16
    public var size: UInt16

    public init(grant: GrantReference, offset: UInt16, flags: NetFlags = [], id: UInt16, size: UInt16) {
        self.grant = grant
        self.offset = offset
        self.flags = flags
        self.id = id
        self.size = size
    }

    public static var encodedSize: Int { 12 }

    public func encoded() -> [UInt8] {
        grant.rawValue.littleEndianBytes + offset.littleEndianBytes + flags.rawValue.littleEndianBytes
            + id.littleEndianBytes + size.littleEndianBytes
    }

    public init(decoding raw: [UInt8]) {
        let bytes = raw + [UInt8](repeating: 0, count: max(0, Self.encodedSize - raw.count))
        grant = GrantReference(UInt32(littleEndianBytes: bytes[0..<4]))
        offset = UInt16(littleEndianBytes: bytes[4..<6])
        flags = NetFlags(rawValue: UInt16(littleEndianBytes: bytes[6..<8]))
        id = UInt16(littleEndianBytes: bytes[8..<10])
        size = UInt16(littleEndianBytes: bytes[10..<12])
    }
}

public struct NetTxResponse: RingEntry, Hashable, Sendable {
    public var id: UInt16
    public var status: NetStatus

    public init(id: UInt16, status: NetStatus) {
        self.id = id
        self.status = status
    }

    public static var encodedSize: Int { 4 }

    public func encoded() -> [UInt8] {
        id.littleEndianBytes + UInt16(bitPattern: status.rawValue).littleEndianBytes
    }

    public init(decoding raw: [UInt8]) {
        let bytes = raw + [UInt8](repeating: 0, count: max(0, Self.encodedSize - raw.count))
        id = UInt16(littleEndianBytes: bytes[0..<2])
        status = NetStatus(rawValue: Int16(bitPattern: UInt16(littleEndianBytes: bytes[2..<4])))
    }
}

public struct NetRxRequest: RingEntry, Hashable, Sendable {
    public var id: UInt16
    public var grant: GrantReference

    public init(id: UInt16, grant: GrantReference) {
        self.id = id
        self.grant = grant
    }

    public static var encodedSize: Int { 8 }

    public func encoded() -> [UInt8] {
        id.littleEndianBytes + [0, 0] + grant.rawValue.littleEndianBytes
    }

    public init(decoding raw: [UInt8]) {
        let bytes = raw + [UInt8](repeating: 0, count: max(0, Self.encodedSize - raw.count))
        id = UInt16(littleEndianBytes: bytes[0..<2])
        grant = GrantReference(UInt32(littleEndianBytes: bytes[4..<8]))
    }
}

public struct NetRxResponse: RingEntry, Hashable, Sendable {
    public var id: UInt16
    public var offset: UInt16
    public var flags: NetFlags
    /// The frame's size in bytes when positive; `NetStatus.error` or `.dropped` otherwise.
    public var status: NetStatus

    public init(id: UInt16, offset: UInt16, flags: NetFlags = [], status: NetStatus) {
        self.id = id
        self.offset = offset
        self.flags = flags
        self.status = status
    }

    public static var encodedSize: Int { 8 }

    public func encoded() -> [UInt8] {
        id.littleEndianBytes + offset.littleEndianBytes + flags.rawValue.littleEndianBytes
            + UInt16(bitPattern: status.rawValue).littleEndianBytes
    }

    public init(decoding raw: [UInt8]) {
        let bytes = raw + [UInt8](repeating: 0, count: max(0, Self.encodedSize - raw.count))
        id = UInt16(littleEndianBytes: bytes[0..<2])
        offset = UInt16(littleEndianBytes: bytes[2..<4])
        flags = NetFlags(rawValue: UInt16(littleEndianBytes: bytes[4..<6]))
        status = NetStatus(rawValue: Int16(bitPattern: UInt16(littleEndianBytes: bytes[6..<8])))
    }
}

/// A 48-bit Ethernet (MAC) address.
public struct MACAddress: Hashable, Sendable, CustomStringConvertible {
    public var bytes: [UInt8]

    /// The first six bytes of `bytes` (missing bytes read as zero).
    public init(_ bytes: some Collection<UInt8>) {
        let six = Array(bytes.prefix(6))
        self.bytes = six + [UInt8](repeating: 0, count: 6 - six.count)
    }

    public static let broadcast = MACAddress([0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF])

    /// The address VirtLab gives a guest's vif: locally administered (bit 1 of the first byte),
    /// unicast, ending in `number`.
    public static func local(_ number: UInt8) -> MACAddress { MACAddress([0x02, 0, 0, 0, 0, number]) }

    /// Group addresses (broadcast and multicast) have bit 0 of the first byte set: a switch floods them.
    public var isGroup: Bool { bytes[0] & 1 == 1 }

    public var description: String {
        bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined(separator: ":")
    }
}
