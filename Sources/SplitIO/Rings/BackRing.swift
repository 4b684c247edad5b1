/// The backend's half of a ring (Xen's `NAME_back_ring`): it consumes requests and produces
/// responses. `requestConsumer` (`req_cons`) and `responseProducerPrivate` (`rsp_prod_pvt`) live
/// in the backend's own memory.
///
/// The backend trusts nothing in the shared page. It reads `req_prod` once per batch into
/// `publishedRequests` and checks it (a frontend that moved it backwards or more than a ring
/// ahead is broken or hostile: `.ringProtocol`), and it copies each request out of its slot
/// exactly once (`RING_COPY_REQUEST`), so a frontend that rewrites a slot while the backend works
/// changes nothing the backend acts on (the double-fetch bugs of XSA-155).
public struct BackRing<Request: RingEntry, Response: RingEntry> {
    public typealias Shared = SharedRing<Request, Response>
    public let shared: Shared
    public private(set) var requestConsumer: UInt32 = 0
    public private(set) var responseProducerPrivate: UInt32 = 0
    /// The request producer as last read and checked; the backend consumes up to here.
    public private(set) var publishedRequests: UInt32 = 0

    /// `BACK_RING_INIT`: the backend never initializes the shared page, the frontend did.
    public init(page: SharedPage) {
        shared = Shared(page: page)
    }

    /// `BACK_RING_ATTACH`: resume on a live ring (after save/restore, or a backend restart):
    /// every published request counts as consumed, and those without a published response are
    /// in flight (the resuming backend owes them responses).
    public init(attachingTo page: SharedPage) throws(SplitIOError) {
        shared = Shared(page: page)
        responseProducerPrivate = try shared.responseProducer()
        lastPublishedResponses = responseProducerPrivate
        requestConsumer = try shared.requestProducer()
        publishedRequests = requestConsumer
        guard requestConsumer &- responseProducerPrivate <= size else {
            throw SplitIOError(.ringProtocol, "cannot attach: req_prod \(requestConsumer) is more than \(size) past rsp_prod \(responseProducerPrivate)")
        }
    }

    public var size: UInt32 { Shared.size }

    /// Requests copied out but not yet answered: the backend's in-flight work on this ring.
    public var requestsInFlight: UInt32 { requestConsumer &- responseProducerPrivate }

    /// Reads `req_prod` once, checks it, and returns how many requests may be taken now.
    ///
    /// Checks: the frontend can have at most `size` requests without responses
    /// (`RING_REQUEST_PROD_OVERFLOW`), and `req_prod` cannot fall behind requests already consumed
    /// (moved backwards). Either way the ring is unusable and the caller disconnects.
    public mutating func refreshRequests() throws(SplitIOError) -> UInt32 {
        let producer = try shared.requestProducer()
        RingOrdering.producerIndexBeforeEntries()
        let ahead = producer &- responseProducerPrivate
        guard ahead <= size else {
            throw SplitIOError(.ringProtocol, "req_prod \(producer) is \(ahead) requests past rsp_prod \(responseProducerPrivate): more than the ring's \(size) slots (moved backwards or too far ahead)")
        }
        guard ahead >= requestsInFlight else {
            throw SplitIOError(.ringProtocol, "req_prod \(producer) moved backwards behind req_cons \(requestConsumer)")
        }
        publishedRequests = producer
        return producer &- requestConsumer
    }

    /// Requests published (as of the last `refreshRequests`) and not yet taken.
    public var unconsumedRequests: UInt32 { publishedRequests &- requestConsumer }

    /// Copies the next request out of its slot, once, and advances `req_cons`.
    /// Nil when every published request has been taken.
    public mutating func takeRequest() throws(SplitIOError) -> Request? {
        guard unconsumedRequests > 0 else { return nil }
        let request = try shared.readRequest(requestConsumer)
        requestConsumer &+= 1
        return request
    }

    /// Writes the response for the oldest unanswered request (not yet visible: see `pushResponses…`).
    public mutating func enqueueResponse(_ response: Response) throws(SplitIOError) {
        guard requestsInFlight > 0 else {
            throw SplitIOError(.badRequest, "no request is waiting for a response (req_cons \(requestConsumer) = rsp_prod_pvt \(responseProducerPrivate))")
        }
        try shared.writeResponse(response, responseProducerPrivate)
        responseProducerPrivate &+= 1
    }

    /// `RING_PUSH_RESPONSES_AND_CHECK_NOTIFY`: publish, then report whether the frontend asked to be
    /// woken for any of the new responses (its `rsp_event` lies in (old, new]).
    ///
    /// `old` is the backend's own last published value, not a re-read of `rsp_prod`: the frontend
    /// could scribble on the shared copy, and the backend's notification decision must not depend
    /// on that (it would only cost the frontend its own wake-ups, but there is no reason to trust it).
    public mutating func pushResponsesAndCheckNotify() throws(SplitIOError) -> Bool {
        let old = lastPublishedResponses
        let new = responseProducerPrivate
        RingOrdering.entriesBeforeProducerIndex()
        try shared.setResponseProducer(new)
        lastPublishedResponses = new
        RingOrdering.indexBeforeEventCheck()
        return Shared.needsNotification(old: old, new: new, event: try shared.responseEvent())
    }
    private var lastPublishedResponses: UInt32 = 0

    /// `RING_FINAL_CHECK_FOR_REQUESTS`: with nothing left to do, ask for a notification on the next
    /// request (`req_event = req_cons + 1`) and look once more. True: more requests arrived, keep going.
    public mutating func finalCheckForRequests() throws(SplitIOError) -> Bool {
        if try refreshRequests() > 0 { return true }
        try shared.setRequestEvent(requestConsumer &+ 1)
        RingOrdering.indexBeforeEventCheck()
        return try refreshRequests() > 0
    }
}
