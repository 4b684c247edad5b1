import Foundation
import Testing
@testable import SplitIO

@Suite("BlockDevice")
struct BlockDeviceTests {
    @Test("writes through the ring land in each frontend's image exactly as a host-side copy says")
    func imagesMatchHostCopies() throws {
        let fixture = try SplitIOFixture()
        let domains = [DomainID(1), DomainID(2), DomainID(3)]
        let sectors: UInt64 = 200
        var drives = try domains.map { try fixture.connectedFrontend($0, sectors: sectors) }
        var copies = Array(repeating: [UInt8](repeating: 0, count: Int(sectors) * 512), count: domains.count)
        var generator = SeededGenerator(seed: 7)
        var reads = 0
        for round in 0..<60 {
            // Each frontend queues a small batch of writes and reads, then they all push together.
            var expectedReads: [[UInt64: [UInt8]]] = Array(repeating: [:], count: domains.count)
            for index in drives.indices {
                for _ in 0..<Int(generator.next() % 4 + 1) {
                    let count = Int(generator.next() % 24) + 1
                    let sector = generator.next() % (sectors - UInt64(count) + 1)
                    let range = Int(sector) * 512 ..< (Int(sector) + count) * 512
                    if generator.next() % 2 == 0 {
                        let data = (0..<count * 512).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
                        _ = try drives[index].frontend.submitWrite(sector: sector, data: data)
                        copies[index].replaceSubrange(range, with: data)
                    } else {
                        // Requests complete in ring order, so a read sees every earlier write.
                        let id = try drives[index].frontend.submitRead(sector: sector, sectorCount: count)
                        expectedReads[index][id] = Array(copies[index][range])
                    }
                }
                if round % 10 == 9 { _ = try drives[index].frontend.submitFlush() }
                try drives[index].frontend.push()
            }
            fixture.runBackend()
            for index in drives.indices {
                for completion in try drives[index].frontend.collect() {
                    #expect(completion.status == .okay, "\(completion)")
                    if let expected = expectedReads[index][completion.id] {
                        #expect(firstDifference(completion.data, expected) == nil)
                        reads += 1
                    }
                }
                #expect(drives[index].frontend.outstandingCount == 0)
            }
        }
        #expect(reads > 50)
        for index in drives.indices {
            #expect(firstDifference(try fixture.imageBytes(drives[index].disk), copies[index]) == nil)
            #expect(fixture.backend.state(of: drives[index].connection) == .connected)
            // Every buffer grant was ended; only the ring grant remains.
            #expect(fixture.grants.activeGrants(of: domains[index]) == 1)
        }
        drives.removeAll()
    }

    @Test("segments move only their first...last sectors, contiguous on disk")
    func partialSegments() throws {
        let fixture = try SplitIOFixture()
        let front = try HandmadeFrontend(fixture, DomainID(1))
        try front.fill(0, pattern(1, count: pageSize))
        try front.fill(1, pattern(2, count: pageSize))
        let a = try front.grant(0, .readOnly), b = try front.grant(1, .readOnly)
        let write = BlockRequest(operation: .write, id: 77, sector: 10, segments: [
            BlockSegment(grant: a, firstSector: 6, lastSector: 7),   // 2 sectors from page 0's end
            BlockSegment(grant: b, firstSector: 0, lastSector: 2),   // then 3 from page 1's start
        ])
        #expect(try front.roundTrip(write) == [BlockResponse(id: 77, operation: .write, status: .okay)])
        let image = try fixture.imageBytes(front.disk)
        #expect(firstDifference(image[10 * 512 ..< 12 * 512], Array(pattern(1, count: pageSize)[6 * 512 ..< 8 * 512])) == nil)
        #expect(firstDifference(image[12 * 512 ..< 15 * 512], Array(pattern(2, count: pageSize)[0 ..< 3 * 512])) == nil)
        #expect(image[9 * 512 ..< 10 * 512].allSatisfy { $0 == 0 })
        #expect(image[15 * 512 ..< 16 * 512].allSatisfy { $0 == 0 })

        // Read 3 sectors back into sectors 4...6 of a page: the page's other sectors stay as they were.
        try front.fill(2, [UInt8](repeating: 0xCC, count: pageSize))
        let c = try front.grant(2)
        let read = BlockRequest(operation: .read, id: 78, sector: 11, segments: [BlockSegment(grant: c, firstSector: 4, lastSector: 6)])
        #expect(try front.roundTrip(read).map(\.status) == [.okay])
        let page = try front.buffer(2)
        #expect(firstDifference(page[4 * 512 ..< 7 * 512], Array(image[11 * 512 ..< 14 * 512])) == nil)
        #expect(page[0 ..< 4 * 512].allSatisfy { $0 == 0xCC })
        #expect(page[7 * 512 ..< 8 * 512].allSatisfy { $0 == 0xCC })
    }

    @Test("FLUSH succeeds; WRITE_BARRIER and unknown operations are answered EOPNOTSUPP")
    func operations() throws {
        let fixture = try SplitIOFixture()
        let front = try HandmadeFrontend(fixture, DomainID(1))
        let answers = try front.roundTrip(
            BlockRequest(operation: .flush, id: 1, sector: 0, segments: []),
            BlockRequest(operation: .writeBarrier, id: 2, sector: 0, segments: []),
            BlockRequest(operation: BlockOpcode(rawValue: 200), id: 3, sector: 0, segments: []))
        #expect(answers == [
            BlockResponse(id: 1, operation: .flush, status: .okay),
            BlockResponse(id: 2, operation: .writeBarrier, status: .notSupported),
            BlockResponse(id: 3, operation: BlockOpcode(rawValue: 200), status: .notSupported),
        ])
        #expect(front.isConnected)
    }

    /// The point of req_event/rsp_event: a frontend that pushes each request as it is made still
    /// sends one notification per batch the backend picks up, and the backend one per batch of
    /// responses. A frontend that ignores the rule (notifies always) pays one per request.
    @Test("notification suppression: one notification per batch instead of one per request")
    func notificationsPerBatch() throws {
        let fixture = try SplitIOFixture()
        let (polite, _, _) = try fixture.connectedFrontend(DomainID(1))
        let batches = 5, perBatch = 16
        for batch in 0..<batches {
            for index in 0..<perBatch {
                _ = try polite.submitWrite(sector: UInt64(index), data: pattern(UInt8(batch), count: 512))
                try polite.push()  // pushes every request: suppression decides whether to notify
            }
            fixture.runBackend()
            #expect(try polite.collect().count == perBatch)
        }
        #expect(polite.notificationsSent == batches)
        // One response notification per batch: the backend took each batch in two passes (8 requests
        // per pass) and answered 8 at a time, but the frontend asked to be woken once per batch.
        #expect(fixture.events.sendCount[.dom0] == batches)
        let backendSends = fixture.events.sendCount[.dom0] ?? 0

        // The same work, request by request, each answered before the next: no batching possible.
        let (oneByOne, _, _) = try fixture.connectedFrontend(DomainID(2))
        for index in 0..<batches * perBatch {
            _ = try oneByOne.submitWrite(sector: UInt64(index % 64), data: pattern(3, count: 512))
            try oneByOne.push()
            fixture.runBackend()
            #expect(try oneByOne.collect().count == 1)
        }
        #expect(oneByOne.notificationsSent == batches * perBatch)
        #expect((fixture.events.sendCount[.dom0] ?? 0) - backendSends == batches * perBatch)
    }
}

@Suite("BlockFrontendLimits")
struct BlockFrontendLimitTests {
    @Test("the Swift frontend refuses what one request or its ring cannot carry, with a message")
    func refusals() throws {
        let fixture = try SplitIOFixture()
        let front = try fixture.makeFrontend(DomainID(1), bufferPages: 11)
        let tooLong = #expect(throws: SplitIOError.self) { _ = try front.submitRead(sector: 0, sectorCount: 89) }
        #expect(tooLong?.message.contains("at most 11") == true)
        #expect(throws: SplitIOError.self) { _ = try front.submitWrite(sector: 0, data: [1, 2, 3]) }
        #expect(throws: SplitIOError.self) { _ = try front.submitRead(sector: 0, sectorCount: 0) }
        _ = try front.submitRead(sector: 0, sectorCount: 88)  // takes all 11 pages
        let noPages = #expect(throws: SplitIOError.self) { _ = try front.submitRead(sector: 0, sectorCount: 1) }
        #expect(noPages?.code == .tableFull)
        // Flushes need no pages; the ring's 32 slots are the limit.
        for _ in 0..<31 { _ = try front.submitFlush() }
        let full = #expect(throws: SplitIOError.self) { _ = try front.submitFlush() }
        #expect(full?.code == .tableFull)
        #expect(front.outstandingCount == 32)
        // A failed submission leaves no grant behind: only the ring and the 11 buffer pages are granted.
        #expect(fixture.grants.activeGrants(of: DomainID(1)) == 12)
    }
}
