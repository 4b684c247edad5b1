import Testing
@testable import SplitIO

/// Netback and Dom0's bridge driven by Swift netfronts on one emulated machine: frames travel
/// from one domain's TX page to another's posted RX page by two grant copies, the bridge learns
/// and floods like an Ethernet switch, and notifications follow `req_event`/`rsp_event`.
@Suite("NetBackend")
struct NetBackendTests {
    let dom1 = DomainID(1), dom2 = DomainID(2), dom3 = DomainID(3)
    let mac1 = MACAddress.local(1), mac2 = MACAddress.local(2), mac3 = MACAddress.local(3)

    @Test("a frame from one vif arrives byte for byte in the other's posted RX buffer")
    func frameCrossesTheBridge() throws {
        let fixture = try NetFixture()
        let (a, vifA) = try fixture.connected(dom1)
        let (b, vifB) = try fixture.connected(dom2)
        let frame = ethernetFrame(to: mac2, from: mac1, payload: pattern(9, count: 1500))
        try fixture.transmit(a, [frame])
        #expect(try b.poll() == [frame])
        #expect(try a.poll().isEmpty)
        #expect(a.transmitErrors == 0 && a.freeTransmitBuffers == 8, "the TX page came back with OKAY")
        #expect(fixture.backend.statistics(of: vifA)?.framesSent == 1)
        #expect(fixture.backend.statistics(of: vifB)?.framesReceived == 1)
        // The backend mapped nothing permanently: only the two ring pages of each vif.
        #expect(fixture.grants.mappingCount(a.transmitRingReference, of: dom1) == 1)
    }

    @Test("the bridge floods unknown and broadcast destinations, then forwards to the learned port only")
    func learningSwitch() throws {
        let fixture = try NetFixture()
        let (a, vifA) = try fixture.connected(dom1)
        let (b, vifB) = try fixture.connected(dom2)
        let (c, _) = try fixture.connected(dom3)
        // mac2 is unknown: flooded to B and C.
        let first = ethernetFrame(to: mac2, from: mac1, payload: [1])
        try fixture.transmit(a, [first])
        #expect(try b.poll() == [first])
        #expect(try c.poll() == [first])
        // B answers: the bridge knows mac1 (learned from A's frame) and sends to A alone.
        let answer = ethernetFrame(to: mac1, from: mac2, payload: [2])
        try fixture.transmit(b, [answer])
        #expect(try a.poll() == [answer])
        #expect(try c.poll().isEmpty)
        // Now mac2 is learned too: A to B goes to B alone; a broadcast still reaches everyone else.
        let direct = ethernetFrame(to: mac2, from: mac1, payload: [3])
        let broadcast = ethernetFrame(to: .broadcast, from: mac1, type: 0x0806, payload: [4])
        try fixture.transmit(a, [direct, broadcast])
        #expect(try b.poll() == [direct, broadcast])
        #expect(try c.poll() == [broadcast])
        #expect(fixture.backend.bridge.port(of: mac1) == vifA)
        #expect(fixture.backend.bridge.port(of: mac2) == vifB)
        #expect(fixture.backend.bridge.statistics.flooded == 2)
        #expect(fixture.backend.bridge.statistics.forwarded == 2)
    }

    @Test("a frame addressed to a station on its own port is filtered, not sent back")
    func filteredOnOwnPort() throws {
        let fixture = try NetFixture()
        let (a, _) = try fixture.connected(dom1)
        let (b, _) = try fixture.connected(dom2)
        try fixture.transmit(a, [ethernetFrame(to: .broadcast, from: mac1, payload: [0])])
        _ = try b.poll()
        try fixture.transmit(a, [ethernetFrame(to: mac1, from: mac1, payload: [1])])
        #expect(try a.poll().isEmpty)
        #expect(try b.poll().isEmpty)
        #expect(fixture.backend.bridge.statistics.filtered == 1)
    }

    @Test("a burst of frames costs one notification each way, not one per frame")
    func notificationsCoalesce() throws {
        let fixture = try NetFixture()
        let (a, vifA) = try fixture.connected(dom1, buffers: 64)
        let (b, vifB) = try fixture.connected(dom2, buffers: 64)
        try fixture.transmit(b, [ethernetFrame(to: mac1, from: mac2, payload: [0])])
        _ = try a.poll()
        let sentBefore = a.notificationsSent
        let toA = fixture.backend.statistics(of: vifA)?.notificationsSent ?? 0
        let toB = fixture.backend.statistics(of: vifB)?.notificationsSent ?? 0
        let frames = (0..<20).map { ethernetFrame(to: mac2, from: mac1, payload: pattern(UInt8($0), count: 100)) }
        try fixture.transmit(a, frames)
        #expect(a.notificationsSent - sentBefore == 1, "one doorbell for 20 TX requests")
        #expect((fixture.backend.statistics(of: vifA)?.notificationsSent ?? 0) - toA == 1, "one wake-up for 20 TX responses")
        #expect((fixture.backend.statistics(of: vifB)?.notificationsSent ?? 0) - toB == 1, "one wake-up for 20 received frames")
        #expect(try b.poll() == frames)
    }

    @Test("the bridge's table is bounded: a flood of made-up source addresses pushes out the oldest")
    func bridgeTableBounded() {
        let bridge = NetBridge(capacity: 8)
        let ports = [NetBackend.VifID(rawValue: 0), NetBackend.VifID(rawValue: 1)]
        for number in 0..<100 {
            let source = MACAddress([0x02, 0, 0, 1, UInt8(number >> 8), UInt8(number & 0xFF)])
            _ = bridge.destinations(of: ethernetFrame(to: .broadcast, from: source, payload: []), from: ports[0], ports: ports)
        }
        #expect(bridge.learnedAddresses == 8)
        #expect(bridge.statistics.evictions == 92)
        #expect(bridge.port(of: MACAddress([0x02, 0, 0, 1, 0, 99])) == ports[0])
        #expect(bridge.port(of: MACAddress([0x02, 0, 0, 1, 0, 0])) == nil)
        // A group address is never learned as a source.
        _ = bridge.destinations(of: ethernetFrame(to: .broadcast, from: .broadcast, payload: []), from: ports[1], ports: ports)
        #expect(bridge.port(of: .broadcast) == nil)
    }
}
