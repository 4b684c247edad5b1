import Foundation
import SplitIOSupport
import Testing

/// The same random workloads against your backend and against the reference: every frontend must
/// see the same completions (status and data), the disks must end byte for byte the same, and the
/// notifications must match both ways (so `rsp_event` and the final check work as in Xen).
@Suite struct DifferentialTests {
    /// Everything a frontend could observe after a workload.
    struct Outcome: Equatable {
        var completions: [[BlockFrontend.Completion]]
        var images: [[UInt8]]
        var notificationsFromFrontends: [Int]
        var pendingAtFrontends: [Bool]
        var sharedIndices: [[UInt32]]
    }

    static func run(_ which: Fixture.Which, seed: UInt64, frontends: Int, rounds: Int,
                    requestsPerPass: Int, maxRequestsHeld: Int) throws -> Outcome {
        let fixture = try Fixture(which, requestsPerPass: requestsPerPass, maxRequestsHeld: maxRequestsHeld)
        var generator = SeededGenerator(seed: seed)
        let connected = try (1...frontends).map { try fixture.connectedFrontend(DomainID(UInt16($0)), sectors: 96) }
        var completions = [[BlockFrontend.Completion]](repeating: [], count: frontends)
        for _ in 0..<rounds {
            for (index, front) in connected.map(\.frontend).enumerated() {
                for _ in 0..<Int(generator.next() % 5) where front.outstandingCount < 8 {  // at most 2 pages each: 22 buffer pages
                    // Mostly inside the 96-sector disk, sometimes running past its end.
                    let count = Int(1 + generator.next() % 12)
                    let sector = generator.next() % 100
                    switch generator.next() % 7 {
                    case 0...2:
                        let bytes = (0..<count * 512).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
                        _ = try front.submitWrite(sector: sector, data: bytes)
                    case 3...5:
                        _ = try front.submitRead(sector: sector, sectorCount: count)
                    default:
                        _ = try front.submitFlush()
                    }
                }
                _ = try front.push()
                if generator.next() % 3 == 0 { completions[index] += try front.collect() }
            }
            // Sometimes only half a pass (requests accepted and held), sometimes a full run.
            switch generator.next() % 3 {
            case 0: fixture.backend.acceptRequests()
            case 1: fixture.backend.service()
            default: fixture.runBackend()
            }
        }
        fixture.runBackend()
        for (index, front) in connected.map(\.frontend).enumerated() { completions[index] += try front.collect() }
        return Outcome(
            completions: completions,
            images: try connected.map { try fixture.imageBytes($0.disk) },
            notificationsFromFrontends: connected.map(\.frontend.notificationsSent),
            pendingAtFrontends: connected.map { fixture.events.isPending($0.frontend.eventPort, in: $0.frontend.domain) },
            sharedIndices: try connected.map { entry in
                let ring = entry.frontend.ring.shared
                return [try ring.requestProducer(), try ring.requestEvent(), try ring.responseProducer(), try ring.responseEvent()]
            })
    }

    @Test(arguments: [(1, 1, 8, 64), (2, 2, 8, 64), (3, 3, 2, 64), (4, 3, 1, 5), (5, 4, 8, 12), (6, 2, 32, 64)])
    func randomWorkloadsMatchTheReference(_ seed: Int, _ frontends: Int, _ requestsPerPass: Int, _ maxRequestsHeld: Int) throws {
        let yours = try Self.run(.student, seed: UInt64(seed), frontends: frontends, rounds: 40,
                                 requestsPerPass: requestsPerPass, maxRequestsHeld: maxRequestsHeld)
        let reference = try Self.run(.reference, seed: UInt64(seed), frontends: frontends, rounds: 40,
                                     requestsPerPass: requestsPerPass, maxRequestsHeld: maxRequestsHeld)
        #expect(yours.completions.map(\.count) == reference.completions.map(\.count), "completions per frontend")
        for (mine, theirs) in zip(yours.completions, reference.completions) {
            #expect(mine.map(\.id) == theirs.map(\.id), "response order")
            #expect(mine.map(\.status) == theirs.map(\.status), "statuses")
            for (a, b) in zip(mine, theirs) where a.data != b.data {
                Issue.record("request \(a.id): read data differs at byte \(firstDifference(a.data, b.data) ?? -1)")
            }
        }
        for (index, (mine, theirs)) in zip(yours.images, reference.images).enumerated() {
            #expect(firstDifference(mine, theirs) == nil, "disk of frontend \(index + 1)")
        }
        #expect(yours.notificationsFromFrontends == reference.notificationsFromFrontends, "frontend notifications (req_event)")
        #expect(yours.pendingAtFrontends == reference.pendingAtFrontends, "backend notifications (rsp_event)")
        #expect(yours.sharedIndices == reference.sharedIndices, "req_prod, req_event, rsp_prod, rsp_event")
    }

    /// Hand-built requests, well-formed and not, through a frontend that does no checking of its
    /// own: every status and the disk must match the reference's.
    @Test(arguments: [11, 12, 13])
    func malformedRequestsMatchTheReference(_ seed: Int) throws {
        func run(_ which: Fixture.Which) throws -> (statuses: [BlockStatus], image: [UInt8], pages: [[UInt8]]) {
            let fixture = try Fixture(which)
            let front = try HandmadeFrontend(fixture, DomainID(1), bufferPages: 6, sectors: 40)
            for index in 0..<6 { try front.fill(index, pattern(UInt8(index), count: pageSize)) }
            let references = try (0..<4).map { try front.grant($0, $0 == 3 ? .readOnly : .readWrite) }
            var generator = SeededGenerator(seed: UInt64(seed))
            var statuses: [BlockStatus] = []
            for batch in 0..<8 {
                for id in 0..<Int(1 + generator.next() % 10) {
                    let segmentCount = Int(generator.next() % 13)
                    let segments = (0..<min(segmentCount, 11)).map { _ in
                        let first = UInt8(generator.next() % 9)
                        return BlockSegment(grant: generator.next() % 8 == 0 ? GrantReference(77) : references[Int(generator.next() % 4)],
                                            firstSector: first, lastSector: first &+ UInt8(generator.next() % 3))
                    }
                    var request = BlockRequest(operation: BlockOpcode(rawValue: UInt8(generator.next() % 6)),
                                               id: UInt64(batch * 100 + id), sector: generator.next() % 48, segments: segments)
                    if generator.next() % 6 == 0 { request.segmentCount = UInt8(generator.next() % 14) }
                    try front.ring.enqueue(request)
                }
                try front.ring.pushRequests()
                try front.notify()
                fixture.runBackend()
                statuses += try front.responses().map(\.status)
            }
            return (statuses, try fixture.imageBytes(front.disk), try (0..<6).map { try front.buffer($0) })
        }
        let yours = try run(.student), reference = try run(.reference)
        #expect(yours.statuses == reference.statuses)
        #expect(firstDifference(yours.image, reference.image) == nil, "disk")
        for (index, (mine, theirs)) in zip(yours.pages, reference.pages).enumerated() {
            #expect(firstDifference(mine, theirs) == nil, "the frontend's page \(index)")
        }
    }
}
