import Testing
@testable import SplitIO

/// A frontend the test drives by hand: it grants exactly what the test says, writes exactly the
/// requests the test builds (well-formed or not), and can scribble on its own ring page the way
/// a hostile guest kernel can. Its disk is a fresh image of `sectors` sectors.
final class HandmadeFrontend {
    let fixture: SplitIOFixture
    let domain: DomainID
    var ring: FrontRing<BlockRequest, BlockResponse>
    let ringFrame: FrameNumber
    let buffers: [FrameNumber]
    let ringReference: GrantReference
    let port: EventPort
    let disk: RawDiskImage
    let connection: BlockBackend.ConnectionID

    init(_ fixture: SplitIOFixture, _ domain: DomainID, bufferPages: Int = 12, sectors: UInt64 = 64) throws {
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

    var state: BlockBackend.ConnectionState? { fixture.backend.state(of: connection) }
    var isConnected: Bool { state == .connected }

    func grant(_ buffer: Int, _ access: GrantAccess = .readWrite) throws -> GrantReference {
        try fixture.grants.grantAccess(from: domain, to: .dom0, frame: buffers[buffer], access: access)
    }

    /// A request over whole pages: buffer grants `references`, sectors 0...7 of each.
    func request(_ operation: BlockOpcode, id: UInt64, sector: UInt64, _ references: [GrantReference]) -> BlockRequest {
        BlockRequest(operation: operation, id: id, sector: sector,
                     segments: references.map { BlockSegment(grant: $0, firstSector: 0, lastSector: 7) })
    }

    /// Enqueues, publishes and notifies (unconditionally: a test frontend need not be polite).
    func send(_ requests: BlockRequest...) throws {
        for request in requests { try ring.enqueue(request) }
        try ring.pushRequests()
        try notify()
    }

    func notify() throws {
        try fixture.events.send(from: domain, port: port)
    }

    func responses() throws -> [BlockResponse] {
        var all: [BlockResponse] = []
        while let response = try ring.takeResponse() { all.append(response) }
        return all
    }

    /// Sends, runs the backend, and returns the responses.
    func roundTrip(_ requests: BlockRequest...) throws -> [BlockResponse] {
        for request in requests { try ring.enqueue(request) }
        try ring.pushRequests()
        try notify()
        fixture.runBackend()
        return try responses()
    }

    func buffer(_ index: Int) throws -> [UInt8] {
        try fixture.ram.read(buffers[index].address, count: pageSize)
    }

    func fill(_ index: Int, _ bytes: [UInt8]) throws {
        try fixture.ram.write(buffers[index].address, bytes)
    }

    /// Writes the shared req_prod directly, as a guest kernel can.
    func scribbleRequestProducer(_ value: UInt32) throws {
        try fixture.ram.write(ringFrame.address, value.littleEndianBytes)
    }

    /// Writes a request into slot `index` directly, bypassing the front ring's bookkeeping.
    func scribbleSlot(_ index: UInt32, _ request: BlockRequest) throws {
        try fixture.ram.write(ringFrame.address + UInt32(BlockProtocol.Ring.slotOffset(index)), request.encoded())
    }

    func sharedResponseProducer() throws -> UInt32 {
        UInt32(littleEndianBytes: try fixture.ram.read(ringFrame.address + 8, count: 4))
    }
}
