import SplitIOSupport
import Testing

/// Sectors past the disk's end, or a sector number that wraps 2^64 when the request's length is
/// added: ERROR, and neither the image nor the frontend's pages change.
@Suite struct SectorsPastEndTests {
    @Test func requestsPastTheEndAreRefused() throws {
        let fixture = try Fixture()
        let front = try HandmadeFrontend(fixture, DomainID(1), sectors: 64)
        try front.fill(0, pattern(8, count: pageSize))
        try front.fill(1, [UInt8](repeating: 0xB1, count: pageSize))
        let source = try front.grant(0, .readOnly), target = try front.grant(1)
        func one(_ op: BlockOpcode, _ id: UInt64, _ sector: UInt64, _ grant: GrantReference, _ last: UInt8) -> BlockRequest {
            BlockRequest(operation: op, id: id, sector: sector, segments: [BlockSegment(grant: grant, firstSector: 0, lastSector: last)])
        }
        let answers = try front.roundTrip(
            one(.write, 1, 63, source, 1),              // 63 + 2 > 64
            one(.write, 2, 64, source, 0),              // starts at the end
            one(.read, 3, UInt64.max, target, 0),       // wraps
            one(.read, 4, UInt64.max - 3, target, 7),   // wraps
            one(.write, 5, 56, source, 7),              // the last 8 sectors: legal
            one(.read, 6, 60, target, 7),               // 60 + 8 > 64
            one(.read, 7, 63, target, 0))               // the very last sector: legal
        #expect(answers.map(\.status) == [.error, .error, .error, .error, .okay, .error, .okay])
        let image = try fixture.imageBytes(front.disk)
        #expect(image.count == 64 * 512, "the image grew or shrank")
        #expect(image[0 ..< 56 * 512].allSatisfy { $0 == 0 })
        #expect(firstDifference(image[56 * 512 ..< 64 * 512], pattern(8, count: pageSize)) == nil)
        let target1 = try front.buffer(1)
        #expect(firstDifference(target1[0 ..< 512], pattern(8, count: pageSize)[7 * 512 ..< 8 * 512]) == nil)
        #expect(target1[512...].allSatisfy { $0 == 0xB1 }, "a refused READ wrote into the page")
        #expect(front.isConnected)
    }
}
