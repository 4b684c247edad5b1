/// What the network guest (Sources/VLabCLI/Guests/net/net.c) does, passed in a0-a5 at entry.
/// Two DomUs run it with complementary roles; their vifs meet on Dom0's bridge.
///
/// - **ping**: the client resolves the responder's IPv4 address with ARP (a broadcast, which the
///   bridge floods), then sends `count` ICMP echo requests of `size` payload bytes, one at a time,
///   each answered by the responder with an echo reply; both check every IPv4 and ICMP checksum.
/// - **bulk**: the sender streams `count` bytes in frames of EtherType 0x88B5 carrying `size` data
///   bytes each (a sequence number and stream offset in front), never more than `window` frames
///   ahead of the receiver's acknowledgements (EtherType 0x88B6), so no frame meets a full RX ring.
///   The receiver checks order and offsets and both report FNV-1a of the stream.
public struct NetWorkload: Equatable, Sendable, CustomStringConvertible {
    public enum Kind: Sendable { case ping, bulk }

    /// The guest's role, a0 at entry.
    public enum Role: UInt32, Sendable {
        case pingClient = 0, pingResponder = 1, bulkSender = 2, bulkReceiver = 3
        /// Connects its vif but never posts an RX buffer and never transmits: the hostile "RX ring
        /// never refilled" peer. It waits (without spinning) until shut down.
        case deaf = 4
        /// Sends 1000 notifications with nothing on its ring, then a TX request whose frame runs
        /// past its page (netback disconnects it), and stops.
        case hostile = 5
    }

    public var kind: Kind
    /// Round trips (ping) or bytes (bulk).
    public var count: UInt32
    /// ICMP payload bytes (ping, 0...1472) or data bytes per frame (bulk, 1...1492).
    public var size: UInt32
    /// Frames the bulk sender may have unacknowledged (1...64; the receiver posts 64 RX buffers).
    public var window: UInt32

    public init(kind: Kind, count: UInt32, size: UInt32, window: UInt32 = 32) {
        self.kind = kind
        self.count = count
        self.size = size
        self.window = window
    }

    public static func ping(_ roundTrips: UInt32, payload: UInt32 = 56) -> NetWorkload {
        NetWorkload(kind: .ping, count: roundTrips, size: payload)
    }

    public static func bulk(_ bytes: UInt32, frameData: UInt32 = bulkMaxData, window: UInt32 = 32) -> NetWorkload {
        NetWorkload(kind: .bulk, count: bytes, size: frameData, window: window)
    }

    /// The most data one bulk frame carries: the MTU less the 8-byte bulk header.
    public static let bulkMaxData: UInt32 = UInt32(NetProtocol.mtu) - 8

    public var description: String {
        switch kind {
        case .ping: "ping x\(count) (\(size)-byte payload)"
        case .bulk: "bulk \(count) bytes (\(size)/frame, window \(window))"
        }
    }

    /// The two roles, in the order of the two domains.
    public var roles: (first: Role, second: Role) {
        kind == .ping ? (.pingClient, .pingResponder) : (.bulkSender, .bulkReceiver)
    }

    /// Data frames the workload puts on the wire (bulk), or echo requests (ping).
    public var dataFrames: UInt32 {
        kind == .ping ? count : (count + size - 1) / max(size, 1)
    }

    /// a0...a5 for a domain with `role`, numbered `own` (its MAC is 02:00:00:00:00:own and its
    /// IPv4 address 10.0.0.own), talking to `peer`.
    public func bootRegisters(role: Role, own: UInt8, peer: UInt8) -> [UInt32] {
        [role.rawValue, count, size, window, UInt32(own), UInt32(peer)]
    }

    /// Byte `index` of the bulk stream (net.c's `stream_byte`).
    public static func streamByte(_ index: UInt32) -> UInt8 {
        UInt8(truncatingIfNeeded: (index &* 31) ^ (index >> 9))
    }

    /// FNV-1a of the first `bytes` bytes of the stream: what both bulk guests must report.
    public static func streamChecksum(bytes: UInt32) -> UInt32 {
        var hash: UInt32 = 0x811C_9DC5
        for index in 0..<bytes { hash = (hash ^ UInt32(streamByte(index))) &* 0x0100_0193 }
        return hash
    }

    /// Byte `index` of the payload of echo request `sequence` (net.c's `ping_byte`).
    public static func pingByte(sequence: UInt32, index: UInt32) -> UInt8 {
        UInt8(truncatingIfNeeded: index &+ sequence &* 7)
    }

    /// FNV-1a over the payloads of every echo reply, in order: what the ping client must report.
    public func pingChecksum() -> UInt32 {
        var hash: UInt32 = 0x811C_9DC5
        for sequence in 1...max(count, 1) where count > 0 {
            for index in 0..<size { hash = (hash ^ UInt32(Self.pingByte(sequence: sequence, index: index))) &* 0x0100_0193 }
        }
        return hash
    }

    /// The checksum the measuring guest (the ping client, the bulk receiver) must report.
    public var expectedChecksum: UInt32 {
        kind == .ping ? pingChecksum() : Self.streamChecksum(bytes: count)
    }
}
