import SplitIOSupport
import Testing

/// The frontend rewrites a request while the backend reads it (XSA-155): the backend acts on one
/// copy, read once, and a rewrite after that read changes nothing.
@Suite struct DoubleFetchTests {
    @Test func requestIsCopiedOnceAndActedOnAsFirstRead() throws {
        let fixture = try Fixture()
        let front = try HandmadeFrontend(fixture, DomainID(1))
        try front.fill(0, pattern(10, count: pageSize))
        try front.fill(1, pattern(20, count: pageSize))
        let first = try front.grant(0, .readOnly), second = try front.grant(1, .readOnly)
        let original = front.request(.write, id: 5, sector: 3, [first])
        let rewritten = BlockRequest(operation: .write, id: 6, sector: 40, segments: [
            BlockSegment(grant: second, firstSector: 0, lastSector: 7), BlockSegment(grant: second, firstSector: 0, lastSector: 7),
        ])
        let slot = front.ringFrame.address + UInt32(BlockProtocol.Ring.slotOffset(0))
        var slotReads = 0
        fixture.watched.afterRead = { address, count in
            guard address < slot + UInt32(BlockRequest.encodedSize), address + UInt32(count) > slot else { return }
            slotReads += 1
            try? front.scribbleSlot(0, rewritten)  // the frontend's other vCPU, right after the read
        }
        let answers = try front.roundTrip(original)
        fixture.watched.afterRead = nil
        #expect(slotReads == 1, "the request slot was read \(slotReads) times")
        #expect(answers == [BlockResponse(id: 5, operation: .write, status: .okay)])
        let image = try fixture.imageBytes(front.disk)
        #expect(firstDifference(image[3 * 512 ..< 11 * 512], pattern(10, count: pageSize)) == nil)
        #expect(image[40 * 512 ..< 56 * 512].allSatisfy { $0 == 0 })
    }

    /// req_prod too is read once per batch: a frontend that moves it while the backend takes
    /// requests cannot make the backend take more than it checked.
    @Test func requestProducerIsReadOncePerBatch() throws {
        let fixture = try Fixture()
        let front = try HandmadeFrontend(fixture, DomainID(1))
        let page = try front.grant(0)
        for id in 1...2 { try front.ring.enqueue(front.request(.read, id: UInt64(id), sector: 0, [page])) }
        try front.ring.pushRequests()
        try front.notify()
        let producer = front.ringFrame.address
        var producerReadsInFirstPass = 0
        fixture.watched.afterRead = { address, _ in
            if address == producer { producerReadsInFirstPass += 1 }
        }
        fixture.backend.acceptRequests()
        fixture.watched.afterRead = nil
        #expect(producerReadsInFirstPass == 1, "req_prod read \(producerReadsInFirstPass) times while accepting one batch")
        #expect(fixture.backend.requestsInFlight(of: front.connection) == 2)
        fixture.runBackend()
        #expect(try front.responses().map(\.status) == [.okay, .okay])
    }
}
