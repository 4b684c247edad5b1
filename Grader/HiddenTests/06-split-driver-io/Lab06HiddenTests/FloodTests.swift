import SplitIOSupport
import Testing

/// Event storms and frontends that submit without ever waiting: the backend's work per
/// notification and its memory stay bounded, and an honest frontend is still served.
@Suite struct FloodTests {
    @Test func eventStormCostsOnePass() throws {
        let fixture = try Fixture()
        let storm = try HandmadeFrontend(fixture, DomainID(1))
        let (honest, _, _) = try fixture.connectedFrontend(DomainID(2))
        _ = try honest.submitWrite(sector: 1, data: pattern(5, count: 512))
        _ = try honest.push()
        for _ in 0..<100_000 { try storm.notify() }
        #expect(fixture.runBackend() == 1, "100000 notifications are one pending bit, one pass")
        #expect(try honest.collect().map(\.status) == [.okay])
        #expect(storm.isConnected)
    }

    @Test func floodWithoutWaitingKeepsMemoryBounded() throws {
        let fixture = try Fixture(requestsPerPass: 8, maxRequestsHeld: 40)
        let floods = try (1...3).map { try HandmadeFrontend(fixture, DomainID(UInt16($0))) }
        let (honest, _, _) = try fixture.connectedFrontend(DomainID(4))
        let pages = try floods.map { try $0.grant(0) }
        var published = [UInt32](repeating: 0, count: floods.count)
        var honestDone = 0
        for round in 0..<60 {
            for (index, flood) in floods.enumerated() {
                // Fill every slot the backend has answered; never read a response.
                let limit = try flood.sharedResponseProducer() &+ 32
                while published[index] != limit {
                    try flood.scribbleSlot(published[index], flood.request(.read, id: UInt64(published[index]), sector: 0, [pages[index]]))
                    published[index] &+= 1
                }
                try flood.scribbleRequestProducer(published[index])
                try flood.notify()
            }
            _ = try honest.submitWrite(sector: UInt64(round % 64), data: pattern(UInt8(round), count: 512))
            _ = try honest.push()
            fixture.backend.acceptRequests()
            if round % 3 == 2 { fixture.backend.completeRequests() }  // a slow disk
            #expect(fixture.backend.requestsHeld <= 40)
            for flood in floods { #expect(fixture.backend.requestsInFlight(of: flood.connection) <= 32) }
            honestDone += try honest.collect().count
        }
        fixture.runBackend()
        honestDone += try honest.collect().count
        #expect(honestDone == 60, "the honest frontend was starved")
        #expect(fixture.backend.peakRequestsHeld <= 40)
        #expect(fixture.backend.peakRequestsHeld >= 32, "the bound was never reached: the flood did not arrive")
        #expect(floods.allSatisfy { $0.isConnected })
        // One more request than the ring holds is a protocol violation.
        try floods[0].scribbleRequestProducer(try floods[0].sharedResponseProducer() &+ 33)
        try floods[0].notify()
        fixture.runBackend()
        #expect(!floods[0].isConnected)
        #expect(try honestRoundTrip(fixture, honest, sector: 9, seed: 9))
    }
}
