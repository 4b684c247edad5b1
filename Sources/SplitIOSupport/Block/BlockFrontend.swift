/// A block frontend written in Swift (Xen's blkfront, in the guest): the test driver of the
/// backend today, and the model the teaching kernel's C frontend follows later.
///
/// It owns a ring page and a pool of buffer pages in its domain's memory. To issue a request it
/// takes buffer pages, grants each to the backend (read-write for a READ, where the backend
/// fills it; read-only for a WRITE), writes the request into the ring, and publishes requests in
/// batches with `push()`, notifying only when the backend asked for it. `collect()` takes the
/// responses, copies READ data out of the buffers, ends the grants and frees the pages.
///
/// Not Sendable: it stands for code running in one guest.
public final class BlockFrontend {
    /// A finished request as the frontend's user sees it.
    public struct Completion: Equatable, Sendable {
        public var id: UInt64
        public var operation: BlockOpcode
        public var status: BlockStatus
        /// The sectors read, for a successful READ; empty otherwise.
        public var data: [UInt8]
    }

    struct Outstanding {
        var operation: BlockOpcode
        var frames: [FrameNumber]
        var grants: [GrantReference]
        var sectorCount: Int
    }

    public let domain: DomainID
    public let backendDomain: DomainID
    public let memory: any PhysicalMemory
    public let grants: GrantTables
    public let events: EventChannels
    public private(set) var ring: FrontRing<BlockRequest, BlockResponse>
    public let ringFrame: FrameNumber
    /// The grant of the ring page and the unbound event port, which the toolstack hands the
    /// backend (in Xen, through xenstore: `ring-ref` and `event-channel`).
    public let ringReference: GrantReference
    public let eventPort: EventPort

    private var freeFrames: [FrameNumber]
    private var outstanding: [UInt64: Outstanding] = [:]
    private var nextID: UInt64 = 1
    /// Notifications this frontend sent, and responses whose id it never issued.
    public private(set) var notificationsSent = 0
    public private(set) var unexpectedResponses = 0

    public init(domain: DomainID, backendDomain: DomainID = .dom0, memory: any PhysicalMemory, grants: GrantTables,
                events: EventChannels, ringFrame: FrameNumber, bufferFrames: [FrameNumber]) throws(SplitIOError) {
        self.domain = domain
        self.backendDomain = backendDomain
        self.memory = memory
        self.grants = grants
        self.events = events
        self.ringFrame = ringFrame
        freeFrames = bufferFrames
        ring = try FrontRing(initializing: SharedPage(memory: memory, frame: ringFrame))
        ringReference = try grants.grantAccess(from: domain, to: backendDomain, frame: ringFrame, access: .readWrite)
        eventPort = try events.allocateUnbound(in: domain, remote: backendDomain)
    }

    /// Requests issued and not yet answered.
    public var outstandingCount: Int { outstanding.count }

    /// Queues a READ of `sectorCount` sectors from `sector` (at most 88: 11 pages of 8 sectors).
    public func submitRead(sector: UInt64, sectorCount: Int) throws(SplitIOError) -> UInt64 {
        try submit(.read, sector: sector, sectorCount: sectorCount, data: nil)
    }

    /// Queues a WRITE of `data` (a whole number of sectors, at most 88) at `sector`.
    public func submitWrite(sector: UInt64, data: [UInt8]) throws(SplitIOError) -> UInt64 {
        guard data.count % BlockProtocol.sectorSize == 0 else {
            throw SplitIOError(.badRequest, "a write of \(data.count) bytes is not a whole number of 512-byte sectors")
        }
        return try submit(.write, sector: sector, sectorCount: data.count / BlockProtocol.sectorSize, data: data)
    }

    /// Queues a FLUSH (no data).
    public func submitFlush() throws(SplitIOError) -> UInt64 {
        try submit(.flush, sector: 0, sectorCount: 0, data: nil)
    }

    /// Publishes the queued requests, notifying the backend only if it asked to be woken.
    @discardableResult
    public func push() throws(SplitIOError) -> Bool {
        guard try ring.pushRequestsAndCheckNotify() else { return false }
        try events.send(from: domain, port: eventPort)
        notificationsSent += 1
        return true
    }

    /// Takes every published response (with the final check, so none is left behind), releases
    /// the requests' grants and pages, and returns them in ring order.
    public func collect() throws(SplitIOError) -> [Completion] {
        _ = try? events.clearPending(eventPort, in: domain)
        var completions: [Completion] = []
        repeat {
            while let response = try ring.takeResponse() {
                guard let request = outstanding.removeValue(forKey: response.id) else {
                    unexpectedResponses += 1
                    continue
                }
                var data: [UInt8] = []
                if request.operation == .read && response.status == .okay {
                    for frame in request.frames {
                        data += try memory.read(frame.address, count: pageSize)
                    }
                    data = Array(data.prefix(request.sectorCount * BlockProtocol.sectorSize))
                }
                for grant in request.grants {
                    try grants.endAccess(grant, by: domain)
                }
                freeFrames += request.frames
                completions.append(Completion(id: response.id, operation: response.operation, status: response.status, data: data))
            }
        } while try ring.finalCheckForResponses()
        return completions
    }

    private func submit(_ operation: BlockOpcode, sector: UInt64, sectorCount: Int,
                        data: [UInt8]?) throws(SplitIOError) -> UInt64 {
        let perPage = BlockProtocol.sectorsPerPage
        let pages = (sectorCount + perPage - 1) / perPage
        guard pages <= BlockProtocol.maxSegmentsPerRequest else {
            throw SplitIOError(.badRequest, "\(sectorCount) sectors need \(pages) pages; one request carries at most \(BlockProtocol.maxSegmentsPerRequest)")
        }
        guard operation == .flush || sectorCount > 0 else {
            throw SplitIOError(.badRequest, "a \(operation) of zero sectors")
        }
        guard !ring.isFull else {
            throw SplitIOError(.tableFull, "the ring is full: collect responses before submitting more")
        }
        guard pages <= freeFrames.count else {
            throw SplitIOError(.tableFull, "\(pages) buffer pages needed, \(freeFrames.count) free")
        }
        let frames = Array(freeFrames.prefix(pages))
        var references: [GrantReference] = []
        var segments: [BlockSegment] = []
        do {
            for (index, frame) in frames.enumerated() {
                let first = index * perPage
                let count = min(perPage, sectorCount - first)
                if let data {
                    let bytes = Array(data[first * BlockProtocol.sectorSize ..< (first + count) * BlockProtocol.sectorSize])
                    try memory.write(frame.address, bytes)
                }
                let access: GrantAccess = operation == .read ? .readWrite : .readOnly
                let reference = try grants.grantAccess(from: domain, to: backendDomain, frame: frame, access: access)
                references.append(reference)
                segments.append(BlockSegment(grant: reference, firstSector: 0, lastSector: UInt8(count - 1)))
            }
            let id = nextID
            try ring.enqueue(BlockRequest(operation: operation, id: id, sector: sector, segments: segments))
            nextID &+= 1
            freeFrames.removeFirst(pages)
            outstanding[id] = Outstanding(operation: operation, frames: frames, grants: references, sectorCount: sectorCount)
            return id
        } catch {
            for reference in references { try? grants.endAccess(reference, by: domain) }
            throw error
        }
    }
}

@available(*, unavailable, message: "a frontend stands for code in one guest, on the machine's thread")
extension BlockFrontend: Sendable {}
