/// The framing layer of GDB's remote serial protocol (RSP): how packets travel over a byte stream.
///
/// A packet is `$payload#cc`, where `cc` is the payload's byte sum modulo 256 in two hex digits.
/// Each side answers a packet with `+` (received intact) or `-` (checksum wrong: send it again),
/// until both agree on "no-ack mode" (`QStartNoAckMode`), after which nobody acknowledges.
/// Outside a packet, a lone 0x03 byte is an interrupt request (the user pressed Ctrl-C).
///
/// Inside a payload, `$`, `#`, `}` and `*` are escaped as `}` followed by the byte XOR 0x20. Only
/// binary data (the `X` command, `qXfer` replies) ever needs that. A reply may also be run-length
/// encoded: `c*n` means `c` followed by `n - 29` more copies of it (GDB decodes it; GDB never sends
/// it, so the server only needs the decoder for its own tests' client).
public enum RSP {
    /// The largest payload the server accepts, as advertised in `qSupported` (`PacketSize`, hex).
    /// Bigger packets are discarded without being buffered, so a misbehaving client cannot make
    /// the server grow without bound.
    public static let maximumPayload = 0x4000

    /// The modulo-256 sum of the bytes, which the `#cc` trailer carries.
    public static func checksum<Bytes: Sequence<UInt8>>(_ bytes: Bytes) -> UInt8 {
        bytes.reduce(0) { $0 &+ $1 }
    }

    /// `$payload#cc` with the payload escaped as needed.
    public static func frame(_ payload: [UInt8]) -> [UInt8] {
        let body = escape(payload)
        return [UInt8(ascii: "$")] + body + [UInt8(ascii: "#")] + hexDigits(checksum(body))
    }

    public static func frame(_ payload: String) -> [UInt8] { frame(Array(payload.utf8)) }

    /// Escapes the four bytes that would end or confuse a packet.
    public static func escape(_ bytes: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        for byte in bytes {
            switch byte {
            case UInt8(ascii: "$"), UInt8(ascii: "#"), UInt8(ascii: "}"), UInt8(ascii: "*"):
                out.append(UInt8(ascii: "}"))
                out.append(byte ^ 0x20)
            default:
                out.append(byte)
            }
        }
        return out
    }

    /// Undoes `escape`. A trailing lone `}` is malformed: nil.
    public static func unescape(_ bytes: [UInt8]) -> [UInt8]? {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var escaped = false
        for byte in bytes {
            if escaped {
                out.append(byte ^ 0x20)
                escaped = false
            } else if byte == UInt8(ascii: "}") {
                escaped = true
            } else {
                out.append(byte)
            }
        }
        return escaped ? nil : out
    }

    /// Expands run-length encoding in a received reply: `X*n` repeats `X` another `n - 29` times
    /// (the count byte is printable, from `space` = 3 more copies). Nil if a `*` has no byte
    /// before it or no count after it.
    public static func expandRunLengths(_ bytes: [UInt8]) -> [UInt8]? {
        var out: [UInt8] = []
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "*") {
                guard let previous = out.last, index + 1 < bytes.count, bytes[index + 1] >= 29 else { return nil }
                out.append(contentsOf: repeatElement(previous, count: Int(bytes[index + 1]) - 29))
                index += 2
            } else {
                out.append(byte)
                index += 1
            }
        }
        return out
    }

    static func hexDigits(_ byte: UInt8) -> [UInt8] {
        let digits = Array("0123456789abcdef".utf8)
        return [digits[Int(byte >> 4)], digits[Int(byte & 0xF)]]
    }

    static func hexValue(_ digit: UInt8) -> UInt8? {
        switch digit {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return digit - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return digit - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return digit - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}

/// What arrives on the wire, one event at a time.
public enum RSPEvent: Equatable, Sendable {
    /// A packet whose checksum matched; the payload is unescaped.
    case packet([UInt8])
    /// A packet whose checksum did not match (or was not hex, or whose escapes were broken):
    /// the receiver answers `-` so the sender retransmits.
    case badChecksum
    /// A packet longer than `RSP.maximumPayload`, discarded whole.
    case oversized
    /// `+`: the peer received our last packet.
    case acknowledged
    /// `-`: the peer wants our last packet again.
    case retransmitRequested
    /// 0x03 outside a packet: stop the running guest.
    case interrupt
}

/// Turns a byte stream into `RSPEvent`s. Feed it whatever `recv` returned; it keeps the state of a
/// packet cut anywhere (mid-payload, between `#` and the checksum) until the rest arrives.
public struct RSPDecoder: Sendable {
    private enum State: Sendable {
        case idle
        case payload
        case checksum(first: UInt8?)
    }
    private var state = State.idle
    private var payload: [UInt8] = []
    private var overflowed = false
    private var events: [RSPEvent] = []

    public init() {}

    /// True while a packet has started but not ended: a connection closing now closed mid-packet.
    public var isInsidePacket: Bool {
        if case .idle = state { return false }
        return true
    }

    /// Consumes bytes and returns the events they complete, in order.
    public mutating func feed<Bytes: Sequence<UInt8>>(_ bytes: Bytes) -> [RSPEvent] {
        for byte in bytes { consume(byte) }
        defer { events.removeAll() }
        return events
    }

    private mutating func consume(_ byte: UInt8) {
        switch state {
        case .idle:
            switch byte {
            case UInt8(ascii: "$"): startPacket()
            case UInt8(ascii: "+"): events.append(.acknowledged)
            case UInt8(ascii: "-"): events.append(.retransmitRequested)
            case 0x03: events.append(.interrupt)
            default: break  // line noise between packets carries no meaning
            }
        case .payload:
            if byte == UInt8(ascii: "#") {
                state = .checksum(first: nil)
            } else if byte == UInt8(ascii: "$") {
                // A new start inside a packet: the sender gave up on the old one (GDB does this
                // after a timeout). The broken packet is dropped; the new one is read.
                startPacket()
            } else if payload.count < RSP.maximumPayload {
                payload.append(byte)
            } else {
                overflowed = true
            }
        case .checksum(nil):
            state = .checksum(first: byte)
        case .checksum(let first?):
            state = .idle
            defer { payload.removeAll(keepingCapacity: payload.count <= 4096) }
            if overflowed {
                events.append(.oversized)
                return
            }
            guard let high = RSP.hexValue(first), let low = RSP.hexValue(byte),
                  high << 4 | low == RSP.checksum(payload),
                  let unescaped = RSP.unescape(payload) else {
                events.append(.badChecksum)
                return
            }
            events.append(.packet(unescaped))
        }
    }

    private mutating func startPacket() {
        state = .payload
        payload.removeAll(keepingCapacity: true)
        overflowed = false
    }
}
