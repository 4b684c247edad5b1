import SplitIOSupport
import Testing

/// A frontend that moves `req_prod` backwards, or more than a ring's worth ahead of the responses,
/// has broken the ring: the backend disconnects it (and only it) and keeps serving the others.
@Suite struct RingIndexTests {
    @Test func requestProducerMovedBackwards() throws {
        let fixture = try Fixture()
        let bad = try HandmadeFrontend(fixture, DomainID(1))
        let sneaky = try HandmadeFrontend(fixture, DomainID(2))
        let (honest, _, _) = try fixture.connectedFrontend(DomainID(3))
        let page = try bad.grant(0)
        let answers = try bad.roundTrip(bad.request(.read, id: 1, sector: 0, [page]), bad.request(.read, id: 2, sector: 8, [page]),
                                        bad.request(.read, id: 3, sector: 16, [page]))
        #expect(answers.map(\.status) == [.okay, .okay, .okay])
        try bad.scribbleRequestProducer(1)  // behind the 3 requests already answered
        try bad.notify()

        // Backwards while requests are held (accepted, not yet answered).
        let page2 = try sneaky.grant(0)
        for id in 1...4 { try sneaky.ring.enqueue(sneaky.request(.read, id: UInt64(id), sector: 0, [page2])) }
        try sneaky.ring.pushRequests()
        try sneaky.notify()
        fixture.backend.acceptRequests()
        #expect(fixture.backend.requestsInFlight(of: sneaky.connection) == 4)
        try sneaky.scribbleRequestProducer(2)
        try sneaky.notify()
        fixture.backend.acceptRequests()

        #expect(!bad.isConnected, "req_prod moved behind the answered requests")
        #expect(!sneaky.isConnected, "req_prod moved behind the requests in flight")
        #expect(fixture.backend.requestsHeld == 0, "a disconnected frontend's requests are dropped")
        #expect(try honestRoundTrip(fixture, honest, sector: 5, seed: 1))
        // Disconnected: the ring page is unmapped, so the frontend can take it back.
        #expect(fixture.grants.mappingCount(bad.ringReference, of: bad.domain) == 0)
    }

    @Test func requestProducerTooFarAhead() throws {
        let fixture = try Fixture()
        let full = try HandmadeFrontend(fixture, DomainID(1))
        let over = try HandmadeFrontend(fixture, DomainID(2))
        let far = try HandmadeFrontend(fixture, DomainID(3))
        let (honest, _, _) = try fixture.connectedFrontend(DomainID(4))
        // Exactly a ring's worth (32 requests of an unknown operation) is legal.
        for index in 0..<32 as Range<UInt32> {
            try full.scribbleSlot(index, BlockRequest(operation: BlockOpcode(rawValue: 99), id: UInt64(index), sector: 0, segments: []))
        }
        try full.scribbleRequestProducer(32)
        try full.notify()
        try over.scribbleRequestProducer(33)
        try over.notify()
        try far.scribbleRequestProducer(0x8000_0000)
        try far.notify()
        fixture.runBackend()
        #expect(full.isConnected)
        #expect(try full.sharedResponseProducer() == 32)
        #expect(!over.isConnected, "req_prod 33 requests ahead of a 32-slot ring")
        #expect(!far.isConnected, "req_prod 2^31 ahead")
        #expect(try honestRoundTrip(fixture, honest, sector: 0, seed: 2))
    }
}
