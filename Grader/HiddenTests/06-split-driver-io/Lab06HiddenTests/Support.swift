import Foundation
import Lab06
import SplitIO
import SplitIOSupport

/// What the tests need of a block backend, so one fixture drives either the student's
/// (`Lab06.BlockBackend`) or the reference (`SplitIO.BlockBackend`) and a differential test can
/// run the same frontends against both. Connections are numbered 0, 1, ... in connect order.
protocol BackendUnderTest: AnyObject {
    func connect(frontend: DomainID, ringReference: GrantReference, eventPort: EventPort, disk: RawDiskImage) throws -> Int
    func service()
    func acceptRequests()
    func completeRequests()
    var hasPendingWork: Bool { get }
    /// Nil while connected; the reason once disconnected.
    func disconnectReason(_ connection: Int) -> String?
    func requestsInFlight(of connection: Int) -> Int
    var requestsHeld: Int { get }
    var peakRequestsHeld: Int { get }
}

final class StudentBackend: BackendUnderTest {
    let backend: Lab06.BlockBackend
    private var ids: [Lab06.BlockBackend.ConnectionID] = []

    init(grants: GrantTables, events: EventChannels, requestsPerPass: Int, maxRequestsHeld: Int) {
        backend = Lab06.BlockBackend(grants: grants, events: events,
                                     limits: .init(requestsPerPass: requestsPerPass, maxRequestsHeld: maxRequestsHeld))
    }

    func connect(frontend: DomainID, ringReference: GrantReference, eventPort: EventPort, disk: RawDiskImage) throws -> Int {
        ids.append(try backend.connect(frontend: frontend, ringReference: ringReference, eventPort: eventPort, disk: disk))
        return ids.count - 1
    }
    func service() { backend.service() }
    func acceptRequests() { backend.acceptRequests() }
    func completeRequests() { backend.completeRequests() }
    var hasPendingWork: Bool { backend.hasPendingWork }
    func disconnectReason(_ connection: Int) -> String? {
        if case .disconnected(let reason) = backend.state(of: ids[connection]) { return reason }
        return nil
    }
    func requestsInFlight(of connection: Int) -> Int { backend.requestsInFlight(of: ids[connection]) }
    var requestsHeld: Int { backend.requestsHeld }
    var peakRequestsHeld: Int { backend.peakRequestsHeld }
}

final class ReferenceBackend: BackendUnderTest {
    let backend: SplitIO.BlockBackend
    private var ids: [SplitIO.BlockBackend.ConnectionID] = []

    init(grants: GrantTables, events: EventChannels, requestsPerPass: Int, maxRequestsHeld: Int) {
        backend = SplitIO.BlockBackend(grants: grants, events: events,
                                       limits: .init(requestsPerPass: requestsPerPass, maxRequestsHeld: maxRequestsHeld))
    }

    func connect(frontend: DomainID, ringReference: GrantReference, eventPort: EventPort, disk: RawDiskImage) throws -> Int {
        ids.append(try backend.connect(frontend: frontend, ringReference: ringReference, eventPort: eventPort, disk: disk))
        return ids.count - 1
    }
    func service() { backend.service() }
    func acceptRequests() { backend.acceptRequests() }
    func completeRequests() { backend.completeRequests() }
    var hasPendingWork: Bool { backend.hasPendingWork }
    func disconnectReason(_ connection: Int) -> String? {
        if case .disconnected(let reason) = backend.state(of: ids[connection]) { return reason }
        return nil
    }
    func requestsInFlight(of connection: Int) -> Int { backend.requestsInFlight(of: ids[connection]) }
    var requestsHeld: Int { backend.requestsHeld }
    var peakRequestsHeld: Int { backend.peakRequestsHeld }
}

/// Memory that forwards to another and records every access: the backend's view of memory, so a
/// test can check where the backend read and wrote, and hook a read (to play a frontend that
/// rewrites a request while the backend reads it).
final class WatchedMemory: PhysicalMemory {
    struct Access: Equatable {
        var address: UInt32
        var count: Int
    }

    let base: any PhysicalMemory
    private(set) var accesses: [Access] = []
    var afterRead: ((UInt32, Int) -> Void)?
    /// Called after each write, with the address and count written.
    var afterWrite: ((UInt32, Int) -> Void)?

    init(_ base: any PhysicalMemory) { self.base = base }

    func read(_ address: UInt32, count: Int) throws(SplitIOError) -> [UInt8] {
        accesses.append(Access(address: address, count: count))
        let bytes = try base.read(address, count: count)
        afterRead?(address, count)
        return bytes
    }

    func write(_ address: UInt32, _ bytes: [UInt8]) throws(SplitIOError) {
        accesses.append(Access(address: address, count: bytes.count))
        try base.write(address, bytes)
        afterWrite?(address, bytes.count)
    }

    func clearLog() { accesses = [] }
}

/// 1 MiB of "machine memory" carved into domains, the hypervisor's grant tables and event
/// channels, and one backend in Dom0. Guests write memory directly; the backend's accesses go
/// through `watched`. Disk images live in a fresh directory under TMPDIR.
final class Fixture {
    enum Which { case student, reference }

    let ram = BufferMemory(base: 0x8000_0000, size: 1 << 20)
    let watched: WatchedMemory
    let frames = FrameTable()
    let grants: GrantTables
    let events = EventChannels()
    let backend: any BackendUnderTest
    let directory: URL
    private var nextFrame = 0

    init(_ which: Which = .student, requestsPerPass: Int = 8, maxRequestsHeld: Int = 64) throws {
        watched = WatchedMemory(ram)
        grants = GrantTables(memory: watched, frames: frames)
        switch which {
        case .student:
            backend = StudentBackend(grants: grants, events: events, requestsPerPass: requestsPerPass, maxRequestsHeld: maxRequestsHeld)
        case .reference:
            backend = ReferenceBackend(grants: grants, events: events, requestsPerPass: requestsPerPass, maxRequestsHeld: maxRequestsHeld)
        }
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

    func makeDisk(_ name: String, sectors: UInt64) throws -> RawDiskImage {
        try RawDiskImage.create(path: directory.appendingPathComponent(name).path, sectors: sectors)
    }

    /// A well-behaved frontend (the one the guest kernels use) connected with its own fresh disk.
    func connectedFrontend(_ domain: DomainID, sectors: UInt64 = 256) throws -> (frontend: BlockFrontend, connection: Int, disk: RawDiskImage) {
        let owned = giveFrames(to: domain, count: 23)
        let frontend = try BlockFrontend(domain: domain, memory: ram, grants: grants, events: events,
                                         ringFrame: owned[0], bufferFrames: Array(owned.dropFirst()))
        let disk = try makeDisk("dom\(domain.rawValue).img", sectors: sectors)
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

/// A frontend the test drives by hand: it grants exactly what the test says, writes exactly the
/// requests the test builds (well-formed or not), and scribbles on its own ring page the way a
/// hostile guest kernel can.
final class HandmadeFrontend {
    let fixture: Fixture
    let domain: DomainID
    var ring: FrontRing<BlockRequest, BlockResponse>
    let ringFrame: FrameNumber
    let buffers: [FrameNumber]
    let ringReference: GrantReference
    let port: EventPort
    let disk: RawDiskImage
    let connection: Int

    init(_ fixture: Fixture, _ domain: DomainID, bufferPages: Int = 12, sectors: UInt64 = 64) throws {
        self.fixture = fixture
        self.domain = domain
        let frames = fixture.giveFrames(to: domain, count: bufferPages + 1)
        ringFrame = frames[0]
        buffers = Array(frames.dropFirst())
        ring = try FrontRing(initializing: SharedPage(memory: fixture.ram, frame: ringFrame))
        ringReference = try fixture.grants.grantAccess(from: domain, to: .dom0, frame: ringFrame, access: .readWrite)
        port = try fixture.events.allocateUnbound(in: domain, remote: .dom0)
        disk = try fixture.makeDisk("hand-dom\(domain.rawValue).img", sectors: sectors)
        connection = try fixture.backend.connect(frontend: domain, ringReference: ringReference, eventPort: port, disk: disk)
    }

    var disconnectReason: String? { fixture.backend.disconnectReason(connection) }
    var isConnected: Bool { disconnectReason == nil }

    func grant(_ buffer: Int, _ access: GrantAccess = .readWrite) throws -> GrantReference {
        try fixture.grants.grantAccess(from: domain, to: .dom0, frame: buffers[buffer], access: access)
    }

    /// A request over whole pages: sectors 0...7 of each granted page.
    func request(_ operation: BlockOpcode, id: UInt64, sector: UInt64, _ references: [GrantReference]) -> BlockRequest {
        BlockRequest(operation: operation, id: id, sector: sector,
                     segments: references.map { BlockSegment(grant: $0, firstSector: 0, lastSector: 7) })
    }

    func notify() throws { try fixture.events.send(from: domain, port: port) }

    func responses() throws -> [BlockResponse] {
        var all: [BlockResponse] = []
        while let response = try ring.takeResponse() { all.append(response) }
        return all
    }

    /// Enqueues, publishes, notifies (unconditionally), runs the backend, returns the responses.
    func roundTrip(_ requests: BlockRequest...) throws -> [BlockResponse] {
        for request in requests { try ring.enqueue(request) }
        try ring.pushRequests()
        try notify()
        fixture.runBackend()
        return try responses()
    }

    func buffer(_ index: Int) throws -> [UInt8] { try fixture.ram.read(buffers[index].address, count: pageSize) }
    func fill(_ index: Int, _ bytes: [UInt8]) throws { try fixture.ram.write(buffers[index].address, bytes) }

    func scribbleRequestProducer(_ value: UInt32) throws {
        try fixture.ram.write(ringFrame.address, value.littleEndianBytes)
    }

    func scribbleSlot(_ index: UInt32, _ request: BlockRequest) throws {
        try fixture.ram.write(ringFrame.address + UInt32(BlockProtocol.Ring.slotOffset(index)), request.encoded())
    }

    func sharedResponseProducer() throws -> UInt32 {
        UInt32(littleEndianBytes: try fixture.ram.read(ringFrame.address + 8, count: 4))
    }
}

/// Writes and reads back one sector through a well-behaved frontend: true if the backend still
/// serves it correctly.
func honestRoundTrip(_ fixture: Fixture, _ front: BlockFrontend, sector: UInt64, seed: UInt8) throws -> Bool {
    let data = pattern(seed, count: 512)
    _ = try front.submitWrite(sector: sector, data: data)
    let read = try front.submitRead(sector: sector, sectorCount: 1)
    _ = try front.push()
    fixture.runBackend()
    let done = try front.collect()
    return done.map(\.status) == [.okay, .okay] && done.first { $0.id == read }?.data == data
}

/// A deterministic pseudo-random generator (xorshift64*), so failures replay.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed == 0 ? 0x9E37_79B9_7F4A_7C15 : seed }
    mutating func next() -> UInt64 {
        state ^= state >> 12
        state ^= state << 25
        state ^= state >> 27
        return state &* 2_685_821_657_736_338_717
    }
}

func pattern(_ seed: UInt8, count: Int) -> [UInt8] {
    (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ Int(seed) &* 7 &+ 1) }
}

/// The first offset where two byte sequences differ (or the shorter ends), nil if equal.
func firstDifference(_ a: some Collection<UInt8>, _ b: some Collection<UInt8>) -> Int? {
    var offset = 0
    for (x, y) in zip(a, b) {
        if x != y { return offset }
        offset += 1
    }
    return a.count == b.count ? nil : offset
}
