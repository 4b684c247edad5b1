import Testing
@testable import SplitIO

/// The "bad input" list for the network half, after Xen's netback advisories: each test
/// plays a netfront that breaks the protocol one way and checks that netback answers ERROR or
/// disconnects that vif, keeps switching the others' frames, and never touches memory outside
/// the frames it was granted.
@Suite("NetHostileFrontend")
struct NetHostileFrontendTests {
    let dom1 = DomainID(1), dom2 = DomainID(2), dom3 = DomainID(3)
    let mac1 = MACAddress.local(1), mac2 = MACAddress.local(2), mac3 = MACAddress.local(3)

    /// Writes `requests` straight into the TX ring slots after what the frontend published, and
    /// moves req_prod over them: what a guest kernel can do to its own ring page.
    func scribble(_ front: NetFrontend, _ requests: [NetTxRequest]) throws {
        let ring = front.transmitRing.shared
        var producer = try ring.requestProducer()
        for request in requests {
            try ring.writeRequest(request, producer)
            producer &+= 1
        }
        try ring.setRequestProducer(producer)
        try fixtureNotify(front)
    }

    func fixtureNotify(_ front: NetFrontend) throws {
        try front.events.send(from: front.domain, port: front.eventPort)
    }

    func transmitResponses(_ front: NetFrontend) throws -> [NetTxResponse] {
        let ring = front.transmitRing.shared
        let produced = try ring.responseProducer()
        return try (0..<produced).map { index throws(SplitIOError) in try ring.readResponse(index) }
    }

    /// Proof a vif still works: `from` sends one frame to `to`, which receives exactly it.
    func honestExchange(_ fixture: NetFixture, from: NetFrontend, _ source: MACAddress, to: NetFrontend,
                        _ destination: MACAddress, seed: UInt8) throws {
        let frame = ethernetFrame(to: destination, from: source, payload: pattern(seed, count: 600))
        try fixture.transmit(from, [frame])
        #expect(try to.poll().last == frame)
    }

    func isDisconnected(_ fixture: NetFixture, _ vif: NetBackend.VifID, mentioning words: String) -> Bool {
        guard case .disconnected(let reason) = fixture.backend.state(of: vif) else { return false }
        return reason.contains(words)
    }

    @Test("TX requests with bad grants get ERROR and move nothing; the vif stays connected")
    func badGrants() throws {
        let fixture = try NetFixture()
        let (bad, vif) = try fixture.connected(dom1)
        let (other, _) = try fixture.connected(dom2)
        // A frame of the other domain's memory: granted by dom2 to dom0, but named by dom1.
        let foreign = try fixture.grants.grantAccess(from: dom2, to: .dom0, frame: fixture.base.giveFrames(to: dom2, count: 1)[0],
                                                     access: .readOnly)
        // A grant dom1 made to dom3 instead of dom0, and a reference never granted.
        let toSomeoneElse = try fixture.grants.grantAccess(from: dom1, to: dom3, frame: fixture.base.giveFrames(to: dom1, count: 1)[0],
                                                           access: .readOnly)
        try scribble(bad, [
            NetTxRequest(grant: foreign, offset: 0, id: 7, size: 60),
            NetTxRequest(grant: toSomeoneElse, offset: 0, id: 8, size: 60),
            NetTxRequest(grant: GrantReference(200), offset: 0, id: 9, size: 60),
            NetTxRequest(grant: GrantReference(1_000_000), offset: 0, id: 10, size: 60),
        ])
        fixture.runBackend()
        #expect(try transmitResponses(bad) == [7, 8, 9, 10].map { NetTxResponse(id: $0, status: .error) })
        #expect(fixture.backend.statistics(of: vif)?.transmitErrors == 4)
        #expect(try other.poll().isEmpty, "nothing was switched")
        #expect(fixture.backend.state(of: vif) == .connected)
    }

    @Test("frames larger than the MTU, shorter than a header, or continued in another slot get ERROR")
    func badSizes() throws {
        let fixture = try NetFixture()
        let (bad, vif) = try fixture.connected(dom1)
        let (other, _) = try fixture.connected(dom2)
        try fixture.transmit(bad, [ethernetFrame(to: .broadcast, from: mac1, payload: [0])])
        _ = try other.poll()
        let pageFrame = fixture.base.giveFrames(to: dom1, count: 1)[0]
        let page = try fixture.grants.grantAccess(from: dom1, to: .dom0, frame: pageFrame, access: .readOnly)
        let largest = ethernetFrame(to: .broadcast, from: mac1, payload: pattern(8, count: NetProtocol.mtu))
        try fixture.base.ram.write(pageFrame.address + 100, largest)
        try scribble(bad, [
            NetTxRequest(grant: page, offset: 0, id: 1, size: UInt16(NetProtocol.maxFrameSize + 1)),
            NetTxRequest(grant: page, offset: 0, id: 2, size: 13),
            NetTxRequest(grant: page, offset: 0, flags: .moreData, id: 3, size: 100),
            NetTxRequest(grant: page, offset: 0, flags: .extraInfo, id: 4, size: 100),
            NetTxRequest(grant: page, offset: 100, id: 5, size: UInt16(NetProtocol.maxFrameSize)),
        ])
        fixture.runBackend()
        let statuses = try transmitResponses(bad).suffix(5).map(\.status)
        #expect(statuses == [.error, .error, .error, .error, .okay])
        #expect(fixture.backend.statistics(of: vif)?.transmitErrors == 4)
        #expect(try other.poll() == [largest], "only the MTU-sized frame went through")
        #expect(fixture.backend.state(of: vif) == .connected)
    }

    @Test("a frame running past its page disconnects the vif before any byte moves; the others go on")
    func offsetPastThePage() throws {
        let fixture = try NetFixture()
        let (bad, vif) = try fixture.connected(dom1)
        let (b, _) = try fixture.connected(dom2)
        let (c, _) = try fixture.connected(dom3)
        let pageFrame = fixture.base.giveFrames(to: dom1, count: 1)[0]
        let page = try fixture.grants.grantAccess(from: dom1, to: .dom0, frame: pageFrame, access: .readOnly)
        fixture.base.watched.clearLog()
        try scribble(bad, [NetTxRequest(grant: page, offset: 4000, id: 1, size: 200)])
        fixture.runBackend()
        #expect(isDisconnected(fixture, vif, mentioning: "200 bytes at offset 4000 run past the 4096-byte page"))
        // The backend read the ring, nothing of the granted page (let alone the next frame).
        // Of dom1's memory the backend touched its TX ring page alone: nothing of the granted page.
        let touched = Set(fixture.base.watched.accesses.map { FrameNumber(containing: $0.address) })
        #expect(!touched.contains(pageFrame))
        #expect(touched.filter { fixture.base.frames.owner(of: $0) == dom1 } == [bad.transmitRing.shared.page.frame])
        #expect(fixture.grants.mappingCount(bad.transmitRingReference, of: dom1) == 0, "the rings are unmapped")
        #expect(fixture.grants.mappingCount(bad.receiveRingReference, of: dom1) == 0)
        try honestExchange(fixture, from: b, mac2, to: c, mac3, seed: 1)
        try honestExchange(fixture, from: c, mac3, to: b, mac2, seed: 2)
    }

    @Test("req_prod moved backwards or more than a ring ahead disconnects the vif; the others go on")
    func requestProducerOutOfRange() throws {
        let fixture = try NetFixture()
        let (backwards, vif1) = try fixture.connected(dom1)
        let (ahead, vif2) = try fixture.connected(dom2)
        let (honest, _) = try fixture.connected(dom3)
        for _ in 0..<3 { try fixture.transmit(backwards, [ethernetFrame(to: mac3, from: mac1, payload: [1])]) }
        _ = try honest.poll()
        try backwards.transmitRing.shared.setRequestProducer(1)
        try fixtureNotify(backwards)
        try ahead.transmitRing.shared.setRequestProducer(NetProtocol.TransmitRing.size + 1)
        try fixtureNotify(ahead)
        fixture.runBackend()
        #expect(isDisconnected(fixture, vif1, mentioning: "req_prod 1"))
        #expect(isDisconnected(fixture, vif2, mentioning: "req_prod 257"))
        // The honest vif is alone on the bridge now: its broadcast reaches nobody, and it still
        // transmits fine.
        try fixture.transmit(honest, [ethernetFrame(to: .broadcast, from: mac3, payload: [2])])
        #expect(honest.transmitErrors == 0)
        _ = try honest.poll()
        #expect(honest.freeTransmitBuffers == 8)
        #expect(fixture.backend.connectedVifs.count == 1)
    }

    @Test("an RX ring scribbled past the ring disconnects that vif when a frame comes for it")
    func receiveRingOutOfRange() throws {
        let fixture = try NetFixture()
        let (sender, _) = try fixture.connected(dom1)
        let (bad, vif) = try fixture.connected(dom2)
        let (honest, _) = try fixture.connected(dom3)
        try bad.receiveRing.shared.setRequestProducer(0x8000_0000)
        try fixture.transmit(sender, [ethernetFrame(to: .broadcast, from: mac1, payload: [7])])
        #expect(isDisconnected(fixture, vif, mentioning: "RX ring"))
        #expect(try honest.poll().count == 1, "the flood still reached the honest vif")
        try honestExchange(fixture, from: honest, mac3, to: sender, mac1, seed: 3)
    }

    @Test("a vif that never refills its RX ring loses its frames, counted; the others keep working")
    func receiveRingNeverRefilled() throws {
        let fixture = try NetFixture()
        let (a, _) = try fixture.connected(dom1, buffers: 64)
        let (deaf, deafVif) = try fixture.connected(dom2, post: false)
        let (c, cVif) = try fixture.connected(dom3, buffers: 64)
        // c introduces itself (flooded to a and to the deaf vif), then a sends 20 frames to c and
        // 10 broadcasts, in bursts that fit a's TX pages.
        try fixture.transmit(c, [ethernetFrame(to: .broadcast, from: mac3, payload: [0])])
        var toC: [[UInt8]] = []
        for burst in 0..<3 {
            let frames = (0..<10).map { ethernetFrame(to: burst < 2 ? mac3 : .broadcast, from: mac1, payload: pattern(UInt8(burst * 10 + $0), count: 64)) }
            try fixture.transmit(a, frames)
            _ = try a.poll()
            toC += try c.poll()
            #expect(frames == toC.suffix(10))
        }
        #expect(fixture.backend.statistics(of: deafVif)?.receiveDropped == 11)
        #expect(fixture.backend.statistics(of: deafVif)?.framesReceived == 0)
        #expect(fixture.backend.statistics(of: cVif)?.framesReceived == 30)
        #expect(try deaf.poll().isEmpty)
        // Once it posts buffers it receives again.
        try deaf.postReceiveBuffers()
        try honestExchange(fixture, from: a, mac1, to: deaf, mac2, seed: 4)
    }

    @Test("an event storm costs the backend one pass, and nobody else anything")
    func eventStorm() throws {
        let fixture = try NetFixture()
        let (storm, vif) = try fixture.connected(dom1)
        let (b, _) = try fixture.connected(dom2)
        let (c, _) = try fixture.connected(dom3)
        fixture.runBackend()
        let passesBefore = fixture.backend.statistics(of: vif)?.passes ?? 0
        let upcallsBefore = fixture.events.upcallCount[.dom0] ?? 0
        for _ in 0..<10_000 { try fixtureNotify(storm) }
        #expect(fixture.runBackend() == 1)
        #expect((fixture.backend.statistics(of: vif)?.passes ?? 0) - passesBefore == 1)
        #expect((fixture.events.upcallCount[.dom0] ?? 0) - upcallsBefore == 1)
        #expect(fixture.backend.state(of: vif) == .connected, "notifying without work is harmless")
        try honestExchange(fixture, from: b, mac2, to: c, mac3, seed: 5)
    }

    @Test("a TX request rewritten while the backend reads it: the backend acts on its one copy")
    func doubleFetch() throws {
        let fixture = try NetFixture()
        let (front, _) = try fixture.connected(dom1)
        let (other, _) = try fixture.connected(dom2)
        let frame = ethernetFrame(to: .broadcast, from: mac1, payload: pattern(6, count: 200))
        try front.send(frame)
        let slot = front.transmitRing.shared.page.frame.address + UInt32(NetProtocol.TransmitRing.slotOffset(0))
        fixture.base.watched.afterRead = { address, _ in
            // As soon as the backend has read the slot, the guest makes the size huge.
            guard address == slot else { return }
            try? fixture.base.ram.write(slot + 10, UInt16(4000).littleEndianBytes)
        }
        try front.push()
        fixture.runBackend()
        fixture.base.watched.afterRead = nil
        #expect(try other.poll() == [frame])
        #expect(fixture.base.watched.accesses.filter { $0.address == slot && !$0.isWrite }.count == 1, "the slot was read once")
    }

    @Test("connecting with rings that are not granted to Dom0 fails and leaves nothing mapped")
    func badRingGrants() throws {
        let fixture = try NetFixture()
        let front = try fixture.frontend(dom1)
        #expect(throws: SplitIOError.self) {
            try fixture.backend.connect(frontend: dom1, transmitRing: front.transmitRingReference, receiveRing: GrantReference(99),
                                        eventPort: front.eventPort)
        }
        #expect(throws: SplitIOError.self) {
            try fixture.backend.connect(frontend: dom1, transmitRing: front.transmitRingReference, receiveRing: front.transmitRingReference,
                                        eventPort: front.eventPort)
        }
        #expect(fixture.grants.mappingCount(front.transmitRingReference, of: dom1) == 0)
        #expect(fixture.backend.connectedVifs.isEmpty)
    }

    @Test("a ring page cannot be revoked while netback has it mapped; after a disconnect it can")
    func revokeRingInUse() throws {
        let fixture = try NetFixture()
        let (front, vif) = try fixture.connected(dom1)
        #expect(throws: SplitIOError.self) { try fixture.grants.endAccess(front.transmitRingReference, by: dom1) }
        #expect(throws: SplitIOError.self) { try fixture.grants.endAccess(front.receiveRingReference, by: dom1) }
        fixture.backend.disconnect(vif, reason: "the toolstack took the vif down")
        try fixture.grants.endAccess(front.transmitRingReference, by: dom1)
        try fixture.grants.endAccess(front.receiveRingReference, by: dom1)
    }

    @Test("a full TX ring published at once is taken 64 requests a pass; another vif is served in between")
    func fullRingIsBudgeted() throws {
        let fixture = try NetFixture()
        let (greedy, greedyVif) = try fixture.connected(dom1)
        let (polite, _) = try fixture.connected(dom2)
        let (receiver, _) = try fixture.connected(dom3, buffers: 16)
        // The bridge learns where mac2 and mac3 are.
        try fixture.transmit(polite, [ethernetFrame(to: .broadcast, from: mac2, payload: [0])])
        try fixture.transmit(receiver, [ethernetFrame(to: .broadcast, from: mac3, payload: [0])])
        for front in [greedy, polite, receiver] { _ = try front.poll() }
        // 256 requests, all naming one TX page (a guest may do that): frames for the polite vif.
        let pageFrame = fixture.base.giveFrames(to: dom1, count: 1)[0]
        let page = try fixture.grants.grantAccess(from: dom1, to: .dom0, frame: pageFrame, access: .readOnly)
        try fixture.base.ram.write(pageFrame.address, ethernetFrame(to: mac2, from: mac1, payload: [0]))
        try scribble(greedy, (0..<256).map { NetTxRequest(grant: page, offset: 0, id: UInt16($0), size: 15) })
        try polite.send(ethernetFrame(to: mac3, from: mac2, payload: [42]))
        try polite.push()
        fixture.backend.service()
        #expect(fixture.backend.statistics(of: greedyVif)?.framesSent == 64)
        #expect(try receiver.poll().contains(ethernetFrame(to: mac3, from: mac2, payload: [42])), "served in the same pass")
        fixture.runBackend()
        #expect(fixture.backend.statistics(of: greedyVif)?.framesSent == 256)
        #expect(try transmitResponses(greedy).count == 256)
        #expect(!fixture.backend.hasPendingWork)
    }

    @Test("netback writes the frame and nothing else into an RX page: nothing of Dom0 or another frame leaks")
    func receivePageUntouchedBeyondFrame() throws {
        let fixture = try NetFixture()
        let (sender, _) = try fixture.connected(dom1)
        let receiver = try fixture.frontend(dom2, buffers: 4)
        _ = try fixture.backend.connect(frontend: dom2, transmitRing: receiver.transmitRingReference,
                                        receiveRing: receiver.receiveRingReference, eventPort: receiver.eventPort)
        // The receiver's RX pages (the last two of its frames) hold its own marker before posting.
        let rxFrames = fixture.base.frames.frames(ownedBy: dom2).suffix(2)
        for frame in rxFrames { try fixture.base.ram.write(frame.address, [UInt8](repeating: 0xEE, count: pageSize)) }
        try receiver.postReceiveBuffers()
        let long = ethernetFrame(to: .broadcast, from: mac1, payload: pattern(1, count: 1400))
        let short = ethernetFrame(to: .broadcast, from: mac1, payload: [7, 7])
        try fixture.transmit(sender, [long])
        _ = try receiver.poll()
        try fixture.transmit(sender, [short])
        #expect(try receiver.poll() == [short])
        var pages: [[UInt8]] = []
        for frame in rxFrames { pages.append(try fixture.base.ram.read(frame.address, count: pageSize)) }
        // Each page holds exactly its frame at offset 0, then the receiver's own marker.
        let holdsLong = pages.first { Array($0.prefix(long.count)) == long }
        let holdsShort = pages.first { Array($0.prefix(short.count)) == short }
        #expect(holdsLong?.dropFirst(long.count).allSatisfy { $0 == 0xEE } == true)
        #expect(holdsShort?.dropFirst(short.count).allSatisfy { $0 == 0xEE } == true)
    }
}
