import LabSupport
import SplitIOSupport

/// Lab 06, part 2: the block backend of the split driver (Xen's blkback): it runs in the control domain, serves
/// one disk image per connected frontend, and trusts nothing a frontend writes.
///
/// For each connection it maps the frontend's ring page through its grant, binds an event
/// channel to the frontend's offered port, and then, whenever that port fires (or work was left
/// over from the last pass):
///
/// 1. *accepts* requests: reads `req_prod` once and checks it, copies each request out of its
///    slot exactly once, and keeps the copies as in-flight work (bounded: see `Limits`);
/// 2. *completes* them: checks every field of the copy, maps the granted pages with the access
///    the operation needs, moves the data between the pages and the image, unmaps, and writes a
///    response (status OKAY, ERROR or EOPNOTSUPP);
/// 3. publishes the responses, notifies the frontend only if it asked (`rsp_event`), and does the
///    final check for requests before going idle.
///
/// A request that makes no sense gets an ERROR response and changes nothing. A frontend that
/// breaks the ring itself (indices moved backwards or past the ring) is disconnected: its ring
/// is unmapped, its event port closed, its in-flight work dropped; the other frontends go on.
///
/// Not Sendable: the backend runs on the thread that runs the machine.
public final class BlockBackend {
    /// How much work and memory the backend allows itself, so that no frontend can make it
    /// allocate without bound or starve the others.
    public struct Limits: Sendable {
        /// Requests taken from one frontend's ring per pass: a busy frontend leaves the rest on its
        /// own ring (in its own memory) and the backend moves on to the next frontend.
        public var requestsPerPass: Int = 8
        /// Requests the backend holds copies of, over all frontends: its memory bound. One ring can
        /// never have more than its 32 requests outstanding anyway; this bounds the sum.
        public var maxRequestsHeld: Int = 64

        public init(requestsPerPass: Int = 8, maxRequestsHeld: Int = 64) {
            self.requestsPerPass = max(1, requestsPerPass)
            self.maxRequestsHeld = max(1, maxRequestsHeld)
        }
    }

    public struct ConnectionID: Hashable, Sendable, CustomStringConvertible {
        public let rawValue: Int
        public var description: String { "connection \(rawValue)" }
    }

    public enum ConnectionState: Equatable, Sendable {
        case connected
        case disconnected(reason: String)
    }

    /// Counts per connection, for tests and for `vlab bench io`.
    public struct ConnectionStatistics: Equatable, Sendable {
        public var requestsAccepted = 0
        public var responsesOkay = 0
        public var responsesFailed = 0
        /// Notifications the backend sent to this frontend.
        public var notificationsSent = 0
        /// Passes in which the backend looked at this ring.
        public var passes = 0
    }

    final class Connection {
        let id: ConnectionID
        let frontend: DomainID
        let disk: RawDiskImage
        var ringMapping: GrantMapping?
        var ring: BackRing<BlockRequest, BlockResponse>
        var port: EventPort?
        var state: ConnectionState = .connected
        /// Copies of accepted requests, oldest first, waiting to be performed.
        var inFlight: [BlockRequest] = []
        /// Requests remain on the ring that this pass's budget did not take.
        var moreToDo = false
        var statistics = ConnectionStatistics()

        init(id: ConnectionID, frontend: DomainID, disk: RawDiskImage, ringMapping: GrantMapping,
             ring: BackRing<BlockRequest, BlockResponse>, port: EventPort) {
            self.id = id
            self.frontend = frontend
            self.disk = disk
            self.ringMapping = ringMapping
            self.ring = ring
            self.port = port
        }
    }

    public let domain: DomainID
    public let grants: GrantTables
    public let events: EventChannels
    public let limits: Limits
    private var connections: [Connection] = []
    private var firstInNextPass = 0

    /// Requests currently held (copied, not yet answered) over all connections, and the most
    /// ever held at once: the evidence that the backend's memory is bounded.
    public private(set) var requestsHeld = 0
    public private(set) var peakRequestsHeld = 0

    public init(domain: DomainID = .dom0, grants: GrantTables, events: EventChannels, limits: Limits = Limits()) {
        self.domain = domain
        self.grants = grants
        self.events = events
        self.limits = limits
    }

    // MARK: Connections (what Xen's toolstack and xenstore negotiate)

    /// Connects a frontend: maps its ring page (granted read-write to this backend's domain) and
    /// binds to the event port it offered. `disk` is the image this frontend's virtual disk reads
    /// and writes; each frontend gets its own.
    public func connect(frontend: DomainID, ringReference: GrantReference, eventPort: EventPort,
                        disk: RawDiskImage) throws(SplitIOError) -> ConnectionID {
        let mapping = try grants.map(ringReference, grantedBy: frontend, into: domain, access: .readWrite)
        let page: SharedPage
        let port: EventPort
        do {
            page = try mapping.sharedPage()
            port = try events.bindInterdomain(in: domain, remoteDomain: frontend, remotePort: eventPort)
        } catch {
            try? grants.unmap(mapping)
            throw error
        }
        let id = ConnectionID(rawValue: connections.count)
        connections.append(Connection(id: id, frontend: frontend, disk: disk, ringMapping: mapping,
                                      ring: BackRing(page: page), port: port))
        return id
    }

    /// Disconnects: unmaps the ring, closes the port, forgets the in-flight requests.
    public func disconnect(_ id: ConnectionID, reason: String) {
        guard let connection = connection(id), connection.state == .connected else { return }
        drop(connection, reason: reason)
    }

    public func state(of id: ConnectionID) -> ConnectionState? { connection(id)?.state }
    public func statistics(of id: ConnectionID) -> ConnectionStatistics? { connection(id)?.statistics }
    public func requestsInFlight(of id: ConnectionID) -> Int { connection(id)?.inFlight.count ?? 0 }

    /// Whether a pass would do anything without a new notification (requests held, or left on a
    /// ring by the per-pass budget).
    public var hasPendingWork: Bool {
        connections.contains { $0.state == .connected && ($0.moreToDo || !$0.inFlight.isEmpty) }
    }

    // MARK: Work

    /// One pass over every connection: acknowledge the upcall, accept requests, complete them.
    /// The hypervisor calls this when the backend domain's upcall fires.
    public func service() {
        acceptRequests()
        completeRequests()
    }

    /// Step 1 of a pass: for each connection whose port fired or that has work left over, copy
    /// up to `requestsPerPass` requests off its ring, within the backend's memory bound.
    /// (A backend with an asynchronous disk runs this on notification and step 2 on disk
    /// completion; tests call the steps apart to hold requests in flight.)
    public func acceptRequests() {
        events.acknowledgeUpcall(domain)
        // Start each pass one connection further on, so that when the memory bound is reached it
        // is not always the same frontend that waits.
        let order = connections.indices.map { connections[($0 + firstInNextPass) % connections.count] }
        firstInNextPass = connections.isEmpty ? 0 : (firstInNextPass + 1) % connections.count
        for connection in order where connection.state == .connected {
            guard let port = connection.port else { continue }
            let notified = (try? events.clearPending(port, in: domain)) ?? false
            guard notified || connection.moreToDo else { continue }
            connection.statistics.passes += 1
            do {
                try accept(from: connection)
            } catch {
                drop(connection, reason: error.message)
            }
        }
    }

    /// Step 2 of a pass: perform every accepted request, answer it, notify as the frontend asked,
    /// and do the final check for requests on rings that went idle.
    public func completeRequests() {
        for connection in connections where connection.state == .connected && !connection.inFlight.isEmpty {
            do {
                try complete(connection)
            } catch {
                drop(connection, reason: error.message)
            }
        }
    }

    private func accept(from connection: Connection) throws(SplitIOError) {
        // BEGIN SOLUTION
        // STUB: throw SplitIOError(.badRequest, NotImplemented(lab: "06", "BlockBackend.accept(from:): copy requests off the ring").message)
        _ = try connection.ring.refreshRequests()
        var taken = 0
        while taken < limits.requestsPerPass, requestsHeld < limits.maxRequestsHeld,
              let request = try connection.ring.takeRequest() {
            connection.inFlight.append(request)
            connection.statistics.requestsAccepted += 1
            taken += 1
            requestsHeld += 1
            peakRequestsHeld = max(peakRequestsHeld, requestsHeld)
        }
        connection.moreToDo = connection.ring.unconsumedRequests > 0
        // END SOLUTION
    }

    private func complete(_ connection: Connection) throws(SplitIOError) {
        // BEGIN SOLUTION
        // STUB: throw SplitIOError(.badRequest, NotImplemented(lab: "06", "BlockBackend.complete(_:): perform, respond, notify, final check").message)
        let work = connection.inFlight
        connection.inFlight = []
        requestsHeld -= work.count
        for request in work {
            let status = perform(request, for: connection)
            if status == .okay {
                connection.statistics.responsesOkay += 1
            } else {
                connection.statistics.responsesFailed += 1
            }
            try connection.ring.enqueueResponse(BlockResponse(id: request.id, operation: request.operation, status: status))
        }
        if try connection.ring.pushResponsesAndCheckNotify(), let port = connection.port {
            try events.send(from: domain, port: port)
            connection.statistics.notificationsSent += 1
        }
        if !connection.moreToDo {
            connection.moreToDo = try connection.ring.finalCheckForRequests()
        }
        // END SOLUTION
    }

    private func drop(_ connection: Connection, reason: String) {
        if let mapping = connection.ringMapping { try? grants.unmap(mapping) }
        if let port = connection.port { try? events.close(port, in: domain) }
        connection.ringMapping = nil
        connection.port = nil
        requestsHeld -= connection.inFlight.count
        connection.inFlight = []
        connection.moreToDo = false
        connection.state = .disconnected(reason: "\(connection.frontend): \(reason)")
    }

    private func connection(_ id: ConnectionID) -> Connection? {
        connections.indices.contains(id.rawValue) ? connections[id.rawValue] : nil
    }
}

@available(*, unavailable, message: "the backend runs on the thread that runs the machine")
extension BlockBackend: Sendable {}
