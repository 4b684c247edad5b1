/// A network frontend written in Swift (Xen's netfront, in the guest): the host-side driver of the
/// backend in tests, and the model the C frontend in `Sources/VLabCLI/Guests/net` follows.
///
/// It owns a TX ring page, an RX ring page and buffer pages in its domain's memory. Every buffer
/// page is granted to the backend once, at setup (persistent grants: no grant call per frame),
/// read-only for TX pages and read-write for RX pages, which the backend fills.
/// `postReceiveBuffers()` puts every free RX page on the RX ring in advance; `send(_:)` copies
/// a frame into a free TX page and queues a request; `push()` publishes the TX requests,
/// notifying only when the backend asked; `poll()` takes TX completions (freeing their pages)
/// and received frames (re-posting their pages).
///
/// Not Sendable: it stands for code running in one guest.
public final class NetFrontend {
    public let domain: DomainID
    public let backendDomain: DomainID
    public let memory: any PhysicalMemory
    public let grants: GrantTables
    public let events: EventChannels
    public private(set) var transmitRing: FrontRing<NetTxRequest, NetTxResponse>
    public private(set) var receiveRing: FrontRing<NetRxRequest, NetRxResponse>
    /// What the toolstack hands the backend (xenstore's tx-ring-ref, rx-ring-ref, event-channel).
    public let transmitRingReference: GrantReference
    public let receiveRingReference: GrantReference
    public let eventPort: EventPort

    private let transmitPages: [(frame: FrameNumber, grant: GrantReference)]
    private let receivePages: [(frame: FrameNumber, grant: GrantReference)]
    private var freeTransmit: [UInt16]
    private var unpostedReceive: [UInt16]
    /// TX completions that were not OKAY, and RX responses that carried no frame.
    public private(set) var transmitErrors = 0
    public private(set) var receiveErrors = 0
    public private(set) var notificationsSent = 0

    /// `frames`: the TX ring page, the RX ring page, then buffer pages (half for TX, half for RX).
    public init(domain: DomainID, backendDomain: DomainID = .dom0, memory: any PhysicalMemory, grants: GrantTables,
                events: EventChannels, frames: [FrameNumber]) throws(SplitIOError) {
        guard frames.count >= 4 else {
            throw SplitIOError(.badRequest, "a net frontend needs two ring pages and at least two buffer pages, got \(frames.count)")
        }
        self.domain = domain
        self.backendDomain = backendDomain
        self.memory = memory
        self.grants = grants
        self.events = events
        transmitRing = try FrontRing(initializing: SharedPage(memory: memory, frame: frames[0]))
        receiveRing = try FrontRing(initializing: SharedPage(memory: memory, frame: frames[1]))
        transmitRingReference = try grants.grantAccess(from: domain, to: backendDomain, frame: frames[0], access: .readWrite)
        receiveRingReference = try grants.grantAccess(from: domain, to: backendDomain, frame: frames[1], access: .readWrite)
        let buffers = Array(frames.dropFirst(2))
        let half = buffers.count / 2
        var tx: [(FrameNumber, GrantReference)] = []
        var rx: [(FrameNumber, GrantReference)] = []
        for frame in buffers.prefix(half) {
            tx.append((frame, try grants.grantAccess(from: domain, to: backendDomain, frame: frame, access: .readOnly)))
        }
        for frame in buffers.dropFirst(half) {
            rx.append((frame, try grants.grantAccess(from: domain, to: backendDomain, frame: frame, access: .readWrite)))
        }
        transmitPages = tx
        receivePages = rx
        freeTransmit = (0..<UInt16(tx.count)).reversed()
        unpostedReceive = (0..<UInt16(rx.count)).reversed()
        eventPort = try events.allocateUnbound(in: domain, remote: backendDomain)
    }

    /// TX pages free for a new frame.
    public var freeTransmitBuffers: Int { freeTransmit.count }

    /// Posts every RX page not already on the ring (they wait there for frames).
    public func postReceiveBuffers() throws(SplitIOError) {
        while let index = unpostedReceive.last, !receiveRing.isFull {
            try receiveRing.enqueue(NetRxRequest(id: index, grant: receivePages[Int(index)].grant))
            unpostedReceive.removeLast()
        }
        if try receiveRing.pushRequestsAndCheckNotify() { try notify() }
    }

    /// Queues one frame for transmission (published by `push`).
    public func send(_ frame: [UInt8]) throws(SplitIOError) {
        guard (NetProtocol.ethernetHeaderSize...NetProtocol.maxFrameSize).contains(frame.count) else {
            throw SplitIOError(.badRequest, "a frame of \(frame.count) bytes: must be \(NetProtocol.ethernetHeaderSize)...\(NetProtocol.maxFrameSize)")
        }
        guard let index = freeTransmit.last, !transmitRing.isFull else {
            throw SplitIOError(.tableFull, "no free TX buffer: collect completions with poll() first")
        }
        let page = transmitPages[Int(index)]
        try memory.write(page.frame.address, frame)
        try transmitRing.enqueue(NetTxRequest(grant: page.grant, offset: 0, id: index, size: UInt16(frame.count)))
        freeTransmit.removeLast()
    }

    /// Publishes queued frames; notifies the backend only if it asked. Returns whether it notified.
    @discardableResult
    public func push() throws(SplitIOError) -> Bool {
        guard try transmitRing.pushRequestsAndCheckNotify() else { return false }
        try notify()
        return true
    }

    /// Takes TX completions and received frames (with the final checks, so none is left behind),
    /// re-posts the RX pages, and returns the frames in arrival order.
    public func poll() throws(SplitIOError) -> [[UInt8]] {
        _ = try? events.clearPending(eventPort, in: domain)
        var frames: [[UInt8]] = []
        repeat {
            while let response = try transmitRing.takeResponse() {
                if response.status != .okay { transmitErrors += 1 }
                if Int(response.id) < transmitPages.count, !freeTransmit.contains(response.id) {
                    freeTransmit.append(response.id)
                }
            }
        } while try transmitRing.finalCheckForResponses()
        repeat {
            while let response = try receiveRing.takeResponse() {
                guard Int(response.id) < receivePages.count, !unpostedReceive.contains(response.id) else {
                    receiveErrors += 1
                    continue
                }
                let size = Int(response.status.rawValue)
                if size > 0, Int(response.offset) + size <= pageSize {
                    frames.append(try memory.read(receivePages[Int(response.id)].frame.address + UInt32(response.offset), count: size))
                } else {
                    receiveErrors += 1
                }
                unpostedReceive.append(response.id)
            }
        } while try receiveRing.finalCheckForResponses()
        try postReceiveBuffers()
        return frames
    }

    private func notify() throws(SplitIOError) {
        try events.send(from: domain, port: eventPort)
        notificationsSent += 1
    }
}

@available(*, unavailable, message: "a frontend stands for code in one guest, on the machine's thread")
extension NetFrontend: Sendable {}
