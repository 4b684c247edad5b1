import Foundation
import Lab06
import SplitIOSupport
import Testing

/// 1 MiB of "machine memory" carved into domains, the hypervisor's grant tables and event
/// channels, and your backend in Dom0, serving well-behaved frontends (the frontend the guest
/// kernels use, `BlockFrontend`). The hidden tests add a reference comparison and hostile frontends.
final class Fixture {
    let ram = BufferMemory(base: 0x8000_0000, size: 1 << 20)
    let frames = FrameTable()
    let grants: GrantTables
    let events = EventChannels()
    let backend: BlockBackend
    let directory: URL
    private var nextFrame = 0

    init(limits: BlockBackend.Limits = .init()) throws {
        grants = GrantTables(memory: ram, frames: frames)
        backend = BlockBackend(grants: grants, events: events, limits: limits)
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("lab06-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        _ = giveFrames(to: .dom0, count: 4)
    }

    deinit { try? FileManager.default.removeItem(at: directory) }

    func giveFrames(to domain: DomainID, count: Int) -> [FrameNumber] {
        let given = (nextFrame..<nextFrame + count).map { FrameNumber(containing: ram.base + UInt32($0 * pageSize)) }
        nextFrame += count
        frames.assign(given, to: domain)
        return given
    }

    /// A frontend in `domain` connected to the backend, with its own fresh disk of `sectors` sectors.
    func connectedFrontend(_ domain: DomainID, sectors: UInt64 = 256) throws -> (frontend: BlockFrontend, connection: BlockBackend.ConnectionID, disk: RawDiskImage) {
        let owned = giveFrames(to: domain, count: 23)
        let frontend = try BlockFrontend(domain: domain, memory: ram, grants: grants, events: events,
                                         ringFrame: owned[0], bufferFrames: Array(owned.dropFirst()))
        let disk = try RawDiskImage.create(path: directory.appendingPathComponent("dom\(domain.rawValue).img").path, sectors: sectors)
        let connection = try backend.connect(frontend: domain, ringReference: frontend.ringReference,
                                             eventPort: frontend.eventPort, disk: disk)
        return (frontend, connection, disk)
    }

    /// Runs the backend as the hypervisor would: a pass whenever Dom0's upcall is pending or work
    /// is left over. Bounded, so a backend that never settles cannot hang a test.
    @discardableResult
    func runBackend(maxPasses: Int = 1000) -> Int {
        var passes = 0
        while passes < maxPasses && (events.isUpcallPending(.dom0) || backend.hasPendingWork) {
            backend.service()
            passes += 1
        }
        return passes
    }

    func imageBytes(_ disk: RawDiskImage) throws -> [UInt8] {
        Array(try Data(contentsOf: URL(fileURLWithPath: disk.path)))
    }
}

func pattern(_ seed: UInt8, count: Int) -> [UInt8] {
    (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ Int(seed) &* 7 &+ 1) }
}

/// The first offset where two byte sequences differ (or the shorter ends), nil if equal: a failing
/// expectation then prints one number instead of thousands of bytes.
func firstDifference(_ a: some Collection<UInt8>, _ b: some Collection<UInt8>) -> Int? {
    var offset = 0
    for (x, y) in zip(a, b) {
        if x != y { return offset }
        offset += 1
    }
    return a.count == b.count ? nil : offset
}

@Suite struct WellBehavedFrontend {
    @Test func writeThenReadBack() throws {
        let fixture = try Fixture()
        let (front, connection, disk) = try fixture.connectedFrontend(DomainID(1))
        let data = pattern(3, count: 3 * 512)
        let write = try front.submitWrite(sector: 10, data: data)
        let read = try front.submitRead(sector: 10, sectorCount: 3)
        #expect(try front.push(), "the first request on a fresh ring needs a notification")
        fixture.runBackend()
        let done = try front.collect()
        #expect(done.map(\.id) == [write, read])
        #expect(done.map(\.status) == [.okay, .okay])
        #expect(firstDifference(done.last?.data ?? [], data) == nil, "read back")
        // The bytes are in the image file, where the host sees them.
        let image = try fixture.imageBytes(disk)
        #expect(firstDifference(image[10 * 512 ..< 13 * 512], data) == nil, "image")
        #expect(fixture.backend.state(of: connection) == .connected)
    }

    @Test func multiPageRequestsAndFlush() throws {
        let fixture = try Fixture()
        let (front, _, disk) = try fixture.connectedFrontend(DomainID(1))
        // 40 sectors: five pages, one request with five segments.
        let data = pattern(9, count: 40 * 512)
        _ = try front.submitWrite(sector: 100, data: data)
        _ = try front.submitFlush()
        let read = try front.submitRead(sector: 100, sectorCount: 40)
        _ = try front.push()
        fixture.runBackend()
        let done = try front.collect()
        #expect(done.map(\.status) == [.okay, .okay, .okay])
        #expect(firstDifference(done.first { $0.id == read }?.data ?? [], data) == nil, "read back")
        #expect(firstDifference(try fixture.imageBytes(disk)[100 * 512 ..< 140 * 512], data) == nil, "image")
    }

    @Test func twoFrontendsEachWithTheirOwnDisk() throws {
        let fixture = try Fixture()
        let (first, _, firstDisk) = try fixture.connectedFrontend(DomainID(1))
        let (second, _, secondDisk) = try fixture.connectedFrontend(DomainID(2))
        _ = try first.submitWrite(sector: 0, data: pattern(1, count: 512))
        _ = try second.submitWrite(sector: 0, data: pattern(2, count: 512))
        _ = try first.push()
        _ = try second.push()
        fixture.runBackend()
        #expect(try first.collect().map(\.status) == [.okay])
        #expect(try second.collect().map(\.status) == [.okay])
        #expect(firstDifference(try fixture.imageBytes(firstDisk)[0 ..< 512], pattern(1, count: 512)) == nil, "first image")
        #expect(firstDifference(try fixture.imageBytes(secondDisk)[0 ..< 512], pattern(2, count: 512)) == nil, "second image")
    }

    @Test func readingPastTheEndIsAnError() throws {
        let fixture = try Fixture()
        let (front, connection, _) = try fixture.connectedFrontend(DomainID(1), sectors: 16)
        _ = try front.submitRead(sector: 12, sectorCount: 8)
        _ = try front.push()
        fixture.runBackend()
        #expect(try front.collect().map(\.status) == [.error])
        #expect(fixture.backend.state(of: connection) == .connected, "a bad request is an ERROR response, not a disconnect")
    }

    /// After going idle the backend asked to be notified of the next request (req_event), so the
    /// frontend's next push notifies; while the backend still had work, pushes need not.
    @Test func notificationsFollowTheEventIndices() throws {
        let fixture = try Fixture()
        let (front, _, _) = try fixture.connectedFrontend(DomainID(1))
        for round in 0..<5 {
            _ = try front.submitRead(sector: UInt64(round), sectorCount: 1)
            #expect(try front.push(), "round \(round): the idle backend asked for a notification")
            fixture.runBackend()
            #expect(try front.collect().count == 1)
        }
        #expect(try front.ring.shared.requestEvent() == 6)
        #expect(front.notificationsSent == 5)
    }
}
