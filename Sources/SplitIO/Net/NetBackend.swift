/// The network backend of the split driver (Xen's netback) with Dom0's bridge: it runs in the
/// control domain, gives each connected frontend a virtual interface (a *vif*: a TX ring, an RX
/// ring and one event channel), and switches Ethernet frames between the vifs.
///
/// When a vif's port fires (or work was left over), the backend:
///
/// 1. reads the TX ring's `req_prod` once and checks it, copies each TX request out of its slot
///    once, checks the copy, and *grant-copies* the frame out of the guest's page into a buffer
///    of its own (Linux netback copies into an skb the same way); it answers every request
///    (OKAY, or ERROR for a frame it refuses) so the guest can reuse the page at once;
/// 2. hands each frame to the bridge, which picks the destination vif(s);
/// 3. for each destination, takes the next RX buffer that vif's frontend posted in advance,
///    grant-copies the frame into it and answers the RX request with the frame's size. With no
///    buffer posted the frame is dropped and counted (`rxDropped`): a guest that stops taking
///    frames loses its own traffic and nobody else's.
///
/// Responses on either ring notify the frontend only if it asked (`rsp_event`), and the TX ring
/// gets the final check before the vif goes idle. The backend never asks to be woken for RX
/// buffers (netif.h: there is never a need to notify when posting them): it looks when it has a
/// frame to deliver.
///
/// Refusals: a TX request whose frame is shorter than an Ethernet header, longer than the MTU
/// allows, marked as continued (`more_data`, `extra_info`: every frame fits one page here), or
/// whose grant cannot be copied from gets an ERROR response and goes nowhere. A request whose
/// `offset + size` runs past its page, or a ring whose `req_prod` moved backwards or more than a
/// ring ahead, shows a broken or hostile frontend: that vif is **disconnected** (rings unmapped,
/// port closed, addresses forgotten by the bridge), as Linux netback's fatal TX errors do; the
/// other vifs go on.
///
/// Not Sendable: the backend runs on the thread that runs the machine.
public final class NetBackend {
    public struct Limits: Sendable {
        /// TX requests taken from one vif per pass; the rest waits on its ring for the next pass,
        /// so one busy guest cannot keep the backend from the others.
        public var transmitsPerPass: Int

        public init(transmitsPerPass: Int = 64) {
            self.transmitsPerPass = max(1, transmitsPerPass)
        }
    }

    public struct VifID: Hashable, Sendable, Comparable, CustomStringConvertible {
        public let rawValue: Int
        public static func < (a: VifID, b: VifID) -> Bool { a.rawValue < b.rawValue }
        public var description: String { "vif \(rawValue)" }
    }

    public enum VifState: Equatable, Sendable {
        case connected
        case disconnected(reason: String)
    }

    /// Counts per vif, for tests and `vlab bench io`.
    public struct VifStatistics: Equatable, Sendable {
        /// TX requests answered OKAY: frames taken from the guest and handed to the bridge.
        public var framesSent = 0
        /// TX requests answered ERROR.
        public var transmitErrors = 0
        /// Frames copied into one of the guest's posted RX buffers.
        public var framesReceived = 0
        /// Frames for this vif dropped because its frontend had no RX buffer posted.
        public var receiveDropped = 0
        /// Frames for this vif lost because its posted RX buffer's grant could not be written
        /// (answered ERROR in the RX response).
        public var receiveErrors = 0
        /// Notifications the backend sent to this frontend.
        public var notificationsSent = 0
        /// Passes in which the backend looked at this vif's TX ring.
        public var passes = 0
    }

    final class Vif {
        let id: VifID
        let frontend: DomainID
        var mappings: [GrantMapping]
        var transmit: BackRing<NetTxRequest, NetTxResponse>
        var receive: BackRing<NetRxRequest, NetRxResponse>
        var port: EventPort?
        var state: VifState = .connected
        var moreToDo = false
        var statistics = VifStatistics()

        init(id: VifID, frontend: DomainID, mappings: [GrantMapping], transmit: BackRing<NetTxRequest, NetTxResponse>,
             receive: BackRing<NetRxRequest, NetRxResponse>, port: EventPort) {
            self.id = id
            self.frontend = frontend
            self.mappings = mappings
            self.transmit = transmit
            self.receive = receive
            self.port = port
        }
    }

    public let domain: DomainID
    public let grants: GrantTables
    public let events: EventChannels
    public let bridge: NetBridge
    public let limits: Limits
    private var vifs: [Vif] = []
    /// Bridge ports that are not guests (see `attachUplink`), by port number.
    private var uplinks: [Int: ([UInt8]) -> Void] = [:]
    private var nextPort = 0

    public init(domain: DomainID = .dom0, grants: GrantTables, events: EventChannels, bridge: NetBridge = NetBridge(),
                limits: Limits = Limits()) {
        self.domain = domain
        self.grants = grants
        self.events = events
        self.bridge = bridge
        self.limits = limits
    }

    // MARK: Vifs (what Xen's toolstack and xenstore negotiate: tx-ring-ref, rx-ring-ref, event-channel)

    /// Connects a frontend: maps its two ring pages (granted read-write to this backend's domain)
    /// and binds to the event port it offered. The new vif joins the bridge.
    public func connect(frontend: DomainID, transmitRing: GrantReference, receiveRing: GrantReference,
                        eventPort: EventPort) throws(SplitIOError) -> VifID {
        var mappings: [GrantMapping] = []
        do throws(SplitIOError) {
            let tx = try grants.map(transmitRing, grantedBy: frontend, into: domain, access: .readWrite)
            mappings.append(tx)
            let rx = try grants.map(receiveRing, grantedBy: frontend, into: domain, access: .readWrite)
            mappings.append(rx)
            guard tx.frame != rx.frame else {
                throw SplitIOError(.badRequest, "\(frontend): the TX and RX rings are the same page (\(tx.frame))")
            }
            let txPage = try tx.sharedPage(), rxPage = try rx.sharedPage()
            let port = try events.bindInterdomain(in: domain, remoteDomain: frontend, remotePort: eventPort)
            let id = VifID(rawValue: nextPort)
            nextPort += 1
            vifs.append(Vif(id: id, frontend: frontend, mappings: mappings, transmit: BackRing(page: txPage),
                            receive: BackRing(page: rxPage), port: port))
            return id
        } catch {
            for mapping in mappings { try? grants.unmap(mapping) }
            throw error
        }
    }

    public func disconnect(_ id: VifID, reason: String) {
        guard let vif = vif(id), vif.state == .connected else { return }
        drop(vif, reason: reason)
    }

    public func state(of id: VifID) -> VifState? { vif(id)?.state }
    public func statistics(of id: VifID) -> VifStatistics? { vif(id)?.statistics }
    public var connectedVifs: [VifID] { vifs.filter { $0.state == .connected }.map(\.id) }

    /// Every port of the bridge: the connected vifs and the uplinks.
    public var bridgePorts: [VifID] { (connectedVifs + uplinks.keys.map { VifID(rawValue: $0) }).sorted() }

    // MARK: Uplinks

    /// Plugs a port into the bridge that is not a guest: Dom0's way to the outside (in Xen, the
    /// physical NIC or a TAP device enslaved to the same bridge). Frames the bridge sends to it
    /// go to `transmit`; frames from outside come in through `receive(fromUplink:_:)`.
    public func attachUplink(_ transmit: @escaping ([UInt8]) -> Void) -> VifID {
        let id = VifID(rawValue: nextPort)
        nextPort += 1
        uplinks[id.rawValue] = transmit
        return id
    }

    /// Switches a frame that arrived on an uplink, as if a guest had sent it. Frames that are not
    /// Ethernet-sized are dropped (false).
    @discardableResult
    public func receive(fromUplink uplink: VifID, _ frame: [UInt8]) -> Bool {
        guard uplinks[uplink.rawValue] != nil,
              (NetProtocol.ethernetHeaderSize...NetProtocol.maxFrameSize).contains(frame.count) else { return false }
        forward(frame, from: uplink)
        return true
    }

    /// Whether a pass would do anything without a new notification (TX requests left on a ring
    /// by the per-pass budget).
    public var hasPendingWork: Bool { vifs.contains { $0.state == .connected && $0.moreToDo } }

    // MARK: Work

    /// One pass: acknowledge Dom0's upcall, then take and switch the frames of every vif whose
    /// port fired or that has requests left over. Vifs are visited in order; each gets at most
    /// `transmitsPerPass` requests.
    public func service() {
        events.acknowledgeUpcall(domain)
        for vif in vifs where vif.state == .connected {
            guard let port = vif.port else { continue }
            let notified = (try? events.clearPending(port, in: domain)) ?? false
            guard notified || vif.moreToDo else { continue }
            vif.statistics.passes += 1
            let frames: [[UInt8]]
            do {
                frames = try transmit(from: vif)
            } catch {
                drop(vif, reason: error.message)
                continue
            }
            for frame in frames { forward(frame, from: vif.id) }
        }
    }

    /// Step 2: the bridge picks the ports; each gets the frame.
    private func forward(_ frame: [UInt8], from source: VifID) {
        for destination in bridge.destinations(of: frame, from: source, ports: bridgePorts) {
            if let uplink = uplinks[destination.rawValue] {
                uplink(frame)
            } else if let target = vif(destination) {
                deliver(frame, to: target)
            }
        }
    }

    /// Step 1: the TX ring. Returns the frames copied out, in ring order. Throws (and the caller
    /// disconnects) only for the fatal errors: a broken ring or a frame past its page.
    private func transmit(from vif: Vif) throws(SplitIOError) -> [[UInt8]] {
        _ = try vif.transmit.refreshRequests()
        var frames: [[UInt8]] = []
        var taken = 0
        while taken < limits.transmitsPerPass, let request = try vif.transmit.takeRequest() {
            taken += 1
            // Checked on the copy, before any byte moves.
            guard Int(request.offset) + Int(request.size) <= pageSize else {
                throw SplitIOError(.outOfBounds, "TX request \(request.id): \(request.size) bytes at offset \(request.offset) run past the 4096-byte page")
            }
            var status = NetStatus.error
            if request.flags.isDisjoint(with: [.moreData, .extraInfo]),
               (NetProtocol.ethernetHeaderSize...NetProtocol.maxFrameSize).contains(Int(request.size)),
               let frame = try? grants.copy(from: request.grant, grantedBy: vif.frontend, to: domain,
                                            offset: Int(request.offset), count: Int(request.size)) {
                frames.append(frame)
                status = .okay
                vif.statistics.framesSent += 1
            } else {
                vif.statistics.transmitErrors += 1
            }
            try vif.transmit.enqueueResponse(NetTxResponse(id: request.id, status: status))
        }
        vif.moreToDo = vif.transmit.unconsumedRequests > 0
        try publishTransmitResponses(vif)
        if !vif.moreToDo {
            vif.moreToDo = try vif.transmit.finalCheckForRequests()
        }
        return frames
    }

    private func publishTransmitResponses(_ vif: Vif) throws(SplitIOError) {
        if try vif.transmit.pushResponsesAndCheckNotify() { try notify(vif) }
    }

    /// Step 3: one frame into the next posted RX buffer of `vif`, or a counted drop.
    private func deliver(_ frame: [UInt8], to vif: Vif) {
        guard vif.state == .connected else { return }
        do {
            _ = try vif.receive.refreshRequests()
            guard let buffer = try vif.receive.takeRequest() else {
                vif.statistics.receiveDropped += 1
                return
            }
            let status: NetStatus
            do {
                try grants.copy(frame, into: buffer.grant, grantedBy: vif.frontend, from: domain, offset: 0)
                status = NetStatus(rawValue: Int16(frame.count))
                vif.statistics.framesReceived += 1
            } catch {
                status = .error
                vif.statistics.receiveErrors += 1
            }
            try vif.receive.enqueueResponse(NetRxResponse(id: buffer.id, offset: 0, flags: .dataValidated, status: status))
            if try vif.receive.pushResponsesAndCheckNotify() { try notify(vif) }
        } catch {
            drop(vif, reason: "RX ring: \(error.message)")
        }
    }

    private func notify(_ vif: Vif) throws(SplitIOError) {
        guard let port = vif.port else { return }
        try events.send(from: domain, port: port)
        vif.statistics.notificationsSent += 1
    }

    private func drop(_ vif: Vif, reason: String) {
        for mapping in vif.mappings { try? grants.unmap(mapping) }
        vif.mappings = []
        if let port = vif.port { try? events.close(port, in: domain) }
        vif.port = nil
        vif.moreToDo = false
        vif.state = .disconnected(reason: "\(vif.frontend): \(reason)")
        bridge.forget(port: vif.id)
    }

    private func vif(_ id: VifID) -> Vif? {
        vifs.first { $0.id == id }
    }
}

@available(*, unavailable, message: "the backend runs on the thread that runs the machine")
extension NetBackend: Sendable {}
