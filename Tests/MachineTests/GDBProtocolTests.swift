import Testing
@testable import Machine

/// The RSP framing layer on its own: what bytes on the wire become.
@Suite("GDB remote protocol framing")
struct GDBProtocolTests {
    func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

    @Test("a framed packet carries the modulo-256 sum of its payload")
    func framing() {
        // 'g' is 0x67: the whole packet is $g#67.
        #expect(RSP.frame("g") == bytes("$g#67"))
        #expect(RSP.frame("OK") == bytes("$OK#9a"))
        #expect(RSP.frame("") == bytes("$#00"))
    }

    @Test("$, #, } and * are escaped as } and the byte xor 0x20, and the checksum covers the escaped bytes")
    func escaping() {
        let payload: [UInt8] = [0x24, 0x23, 0x7D, 0x2A, 0x41]
        let framed = RSP.frame(payload)
        #expect(framed == [0x24, 0x7D, 0x04, 0x7D, 0x03, 0x7D, 0x5D, 0x7D, 0x0A, 0x41, 0x23] + bytes("a3"))
        var decoder = RSPDecoder()
        #expect(decoder.feed(framed) == [.packet(payload)])
        #expect(RSP.unescape(bytes("ab}")) == nil)
    }

    @Test("a decoder reassembles packets cut anywhere, and reports acks, naks and Ctrl-C between them")
    func reassembly() {
        var decoder = RSPDecoder()
        let stream = bytes("+$m80000000,4#") + bytes("5") + bytes("5-") + [0x03] + bytes("$?#3f")
        var events: [RSPEvent] = []
        for byte in stream { events += decoder.feed([byte]) }
        // "m80000000,4" sums to 0x55.
        #expect(events == [.acknowledged, .packet(bytes("m80000000,4")), .retransmitRequested, .interrupt, .packet(bytes("?"))])
        #expect(!decoder.isInsidePacket)
        _ = decoder.feed(bytes("$qSupp"))
        #expect(decoder.isInsidePacket)
    }

    @Test("a wrong, non-hex or truncated-escape checksum is a bad packet, answered with a NAK by the server")
    func badChecksums() {
        var decoder = RSPDecoder()
        #expect(decoder.feed(bytes("$g#68")) == [.badChecksum])
        #expect(decoder.feed(bytes("$g#zz")) == [.badChecksum])
        // A payload ending in a lone escape byte: the checksum matches but the escape is broken.
        let broken = bytes("X}")
        #expect(decoder.feed(bytes("$X}#") + RSP.hexDigits(RSP.checksum(broken))) == [.badChecksum])
        // The decoder recovers: the next good packet comes through.
        #expect(decoder.feed(bytes("$g#67")) == [.packet(bytes("g"))])
    }

    @Test("a packet beyond the size limit is discarded without being kept, and the next one is read")
    func oversized() {
        var decoder = RSPDecoder()
        let huge = [UInt8](repeating: UInt8(ascii: "a"), count: RSP.maximumPayload + 10)
        #expect(decoder.feed([UInt8(ascii: "$")] + huge + bytes("#00")) == [.oversized])
        let exact = [UInt8](repeating: UInt8(ascii: "a"), count: RSP.maximumPayload)
        #expect(decoder.feed(RSP.frame(exact)) == [.packet(exact)])
    }

    @Test("a $ inside a packet restarts it, as gdb does after giving up on a packet")
    func restart() {
        var decoder = RSPDecoder()
        #expect(decoder.feed(bytes("$m800$g#67")) == [.packet(bytes("g"))])
    }

    @Test("run-length encoded replies expand: x*\" is x plus 5 more")
    func runLength() {
        #expect(RSP.expandRunLengths(bytes("0* ")) == bytes("0000"))
        #expect(RSP.expandRunLengths(bytes("ab*\"c")) == bytes("abbbbbbc"))
        #expect(RSP.expandRunLengths(bytes("*a")) == nil)
        #expect(RSP.expandRunLengths(bytes("a*")) == nil)
    }
}
