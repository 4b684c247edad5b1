/// The frontend's half of a ring (Xen's `NAME_front_ring`): it produces requests and consumes
/// responses. `requestProducerPrivate` (`req_prod_pvt`) counts requests written but perhaps not
/// yet published; `responseConsumer` (`rsp_cons`) counts responses taken. Both live in the
/// frontend's private memory, never in the shared page, so the backend cannot move them.
public struct FrontRing<Request: RingEntry, Response: RingEntry> {
    public typealias Shared = SharedRing<Request, Response>
    public let shared: Shared
    public private(set) var requestProducerPrivate: UInt32 = 0
    public private(set) var responseConsumer: UInt32 = 0

    /// `SHARED_RING_INIT` + `FRONT_RING_INIT`: the frontend owns the page and starts it empty.
    public init(initializing page: SharedPage) throws(SplitIOError) {
        shared = Shared(page: page)
        guard Shared.size > 0 else {
            throw SplitIOError(.badRequest, "ring entries of \(Shared.slotSize) bytes do not fit in a page")
        }
        try shared.initialize()
    }

    /// `FRONT_RING_ATTACH`: resume on a page that already holds a ring (after save/restore).
    public init(attachingTo page: SharedPage) throws(SplitIOError) {
        shared = Shared(page: page)
        requestProducerPrivate = try shared.requestProducer()
        responseConsumer = try shared.responseProducer()
    }

    public var size: UInt32 { Shared.size }

    /// `RING_FREE_REQUESTS`: slots not holding a request whose response is still unread.
    public var freeRequests: UInt32 { size &- (requestProducerPrivate &- responseConsumer) }
    public var isFull: Bool { freeRequests == 0 }

    /// Writes a request into the next slot (not yet visible to the backend: see `pushRequests`).
    public mutating func enqueue(_ request: Request) throws(SplitIOError) {
        guard !isFull else {
            throw SplitIOError(.tableFull, "the ring is full: \(size) requests await responses")
        }
        try shared.writeRequest(request, requestProducerPrivate)
        requestProducerPrivate &+= 1
    }

    /// `RING_PUSH_REQUESTS`: publish every enqueued request, without a notification check.
    public mutating func pushRequests() throws(SplitIOError) {
        RingOrdering.entriesBeforeProducerIndex()
        try shared.setRequestProducer(requestProducerPrivate)
    }

    /// `RING_PUSH_REQUESTS_AND_CHECK_NOTIFY`: publish, then report whether the backend asked to be
    /// woken for any of the newly published requests (its `req_event` lies in (old, new]).
    public mutating func pushRequestsAndCheckNotify() throws(SplitIOError) -> Bool {
        let old = try shared.requestProducer()
        let new = requestProducerPrivate
        RingOrdering.entriesBeforeProducerIndex()
        try shared.setRequestProducer(new)
        RingOrdering.indexBeforeEventCheck()
        return Shared.needsNotification(old: old, new: new, event: try shared.requestEvent())
    }

    /// `RING_HAS_UNCONSUMED_RESPONSES`, checked: the backend may not publish responses to requests
    /// that were never made, so a response producer beyond `requestProducerPrivate` is a protocol
    /// error (the frontend distrusts its backend too).
    public func unconsumedResponses() throws(SplitIOError) -> UInt32 {
        let producer = try shared.responseProducer()
        let waiting = producer &- responseConsumer
        guard waiting <= requestProducerPrivate &- responseConsumer else {
            throw SplitIOError(.ringProtocol, "the backend's rsp_prod \(producer) runs past the \(requestProducerPrivate &- responseConsumer) outstanding requests (rsp_cons \(responseConsumer))")
        }
        return waiting
    }

    /// Takes the next published response, or nil if there is none.
    public mutating func takeResponse() throws(SplitIOError) -> Response? {
        guard try unconsumedResponses() > 0 else { return nil }
        RingOrdering.producerIndexBeforeEntries()
        let response = try shared.readResponse(responseConsumer)
        responseConsumer &+= 1
        return response
    }

    /// `RING_FINAL_CHECK_FOR_RESPONSES`: before sleeping, ask for a notification on the next
    /// response (`rsp_event = rsp_cons + 1`), then look once more, closing the race where the
    /// backend published between our last look and the event update. True: more work, don't sleep.
    public mutating func finalCheckForResponses() throws(SplitIOError) -> Bool {
        if try unconsumedResponses() > 0 { return true }
        try shared.setResponseEvent(responseConsumer &+ 1)
        RingOrdering.indexBeforeEventCheck()
        return try unconsumedResponses() > 0
    }

    /// A customised final check (ring.h invites one for batching): ask to be woken only after
    /// `batch` more responses, e.g. when `batch` requests are in flight.
    public mutating func requestNotification(afterResponses batch: UInt32) throws(SplitIOError) {
        try shared.setResponseEvent(responseConsumer &+ max(batch, 1))
        RingOrdering.indexBeforeEventCheck()
    }
}
