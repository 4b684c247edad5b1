import SplitIOSupport
import Testing

/// Grants of frames the frontend does not own, not granted to the backend, of too little access,
/// or that do not exist: the request fails with ERROR and nothing is touched. And whatever a
/// frontend writes into its requests, the backend reads and writes only the granted frames.
@Suite struct ForeignGrantTests {
    @Test func grantsNotUsableByTheBackendFail() throws {
        let fixture = try Fixture()
        let front = try HandmadeFrontend(fixture, DomainID(1))
        let victim = try HandmadeFrontend(fixture, DomainID(2))
        // The victim legitimately grants its page to dom0; the bad frontend cites that number as its own.
        try victim.fill(0, [UInt8](repeating: 0x77, count: pageSize))
        let victimsGrant = try victim.grant(0)
        for _ in 0...victimsGrant.rawValue { _ = try front.grant(1, .readOnly) }
        let notForBackend = try fixture.grants.grantAccess(from: front.domain, to: DomainID(3), frame: front.buffers[2], access: .readWrite)
        let movedAway = try front.grant(3)
        fixture.frames.assign([front.buffers[3]], to: DomainID(2))  // the hypervisor gave the frame away
        let readOnly = try front.grant(4, .readOnly)
        try front.fill(5, [UInt8](repeating: 0x55, count: pageSize))
        let good = try front.grant(5)
        let answers = try front.roundTrip(
            front.request(.read, id: 1, sector: 0, [GrantReference(victimsGrant.rawValue + 200)]),
            front.request(.read, id: 2, sector: 0, [notForBackend]),
            front.request(.read, id: 3, sector: 0, [movedAway]),
            front.request(.read, id: 4, sector: 0, [readOnly]),       // READ writes the page
            front.request(.read, id: 5, sector: 0, [GrantReference(UInt32.max)]),
            front.request(.read, id: 6, sector: 0, [good, GrantReference(999)]))  // one bad segment fails it all
        #expect(answers.map(\.status) == Array(repeating: .error, count: 6))
        #expect(try victim.buffer(0).allSatisfy { $0 == 0x77 })
        #expect(try front.buffer(5).allSatisfy { $0 == 0x55 }, "a failed READ wrote into a page")
        #expect(front.isConnected)
        // No mapping is left behind by the failed requests.
        #expect(fixture.grants.mappingCount(good, of: front.domain) == 0)
    }

    @Test func backendStaysInsideTheGrantedFrames() throws {
        let fixture = try Fixture()
        let front = try HandmadeFrontend(fixture, DomainID(1), sectors: 128)
        let neighbour = try HandmadeFrontend(fixture, DomainID(2))
        try neighbour.fill(0, [UInt8](repeating: 0x3C, count: pageSize))
        try front.fill(0, pattern(6, count: pageSize))
        let page = try front.grant(0), readOnlyPage = try front.grant(1, .readOnly)
        let valid = BlockSegment(grant: page, firstSector: 0, lastSector: 7)
        func raw(_ op: BlockOpcode, _ id: UInt64, count: UInt8, _ segments: [BlockSegment]) -> BlockRequest {
            var request = BlockRequest(operation: op, id: id, sector: 0, segments: segments)
            request.segmentCount = count
            return request
        }
        fixture.watched.clearLog()
        var generator = SeededGenerator(seed: 99)
        var requests: [BlockRequest] = [
            raw(.read, 1, count: 12, Array(repeating: valid, count: 11)),
            raw(.write, 2, count: 255, [valid]),
            raw(.read, 3, count: 0, []),
            raw(.read, 4, count: 1, [BlockSegment(grant: page, firstSector: 0, lastSector: 8)]),
            raw(.read, 5, count: 1, [BlockSegment(grant: page, firstSector: 7, lastSector: 255)]),
            raw(.read, 6, count: 1, [BlockSegment(grant: page, firstSector: 5, lastSector: 4)]),
            raw(.read, 7, count: 2, [valid, BlockSegment(grant: GrantReference(4095), firstSector: 0, lastSector: 7)]),
            raw(.read, 8, count: 2, [valid, BlockSegment(grant: readOnlyPage, firstSector: 0, lastSector: 7)]),
            raw(.flush, 9, count: 3, [valid, valid, valid]),
            raw(.write, 10, count: 1, [valid]),
        ]
        for id in 11...40 {
            let segments = (0..<11).map { _ in
                BlockSegment(grant: GrantReference(UInt32(truncatingIfNeeded: generator.next() % 8)),
                             firstSector: UInt8(truncatingIfNeeded: generator.next() % 10),
                             lastSector: UInt8(truncatingIfNeeded: generator.next() % 10))
            }
            var request = BlockRequest(operation: BlockOpcode(rawValue: UInt8(generator.next() % 5)), id: UInt64(id),
                                       sector: generator.next() % 256, segments: segments)
            request.segmentCount = UInt8(truncatingIfNeeded: generator.next() % 14)
            requests.append(request)
        }
        var statuses: [BlockStatus] = []
        for batch in stride(from: 0, to: requests.count, by: 16) {
            for request in requests[batch ..< min(batch + 16, requests.count)] { try front.ring.enqueue(request) }
            try front.ring.pushRequests()
            try front.notify()
            fixture.runBackend()
            statuses += try front.responses().map(\.status)
        }
        #expect(statuses.count == requests.count)
        #expect(Array(statuses.prefix(10)) == Array(repeating: .error, count: 9) + [.okay])
        let allowed = Set([front.ringFrame] + front.buffers)
        #expect(!fixture.watched.accesses.isEmpty)
        for access in fixture.watched.accesses {
            let firstFrame = FrameNumber(containing: access.address)
            let lastFrame = FrameNumber(containing: access.address + UInt32(max(access.count, 1) - 1))
            #expect(allowed.contains(firstFrame) && firstFrame == lastFrame, "backend touched \(access)")
        }
        #expect(try neighbour.buffer(0).allSatisfy { $0 == 0x3C })
        #expect(front.isConnected)
    }
}
