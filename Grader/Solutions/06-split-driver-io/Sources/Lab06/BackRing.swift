import LabSupport
import SplitIOSupport

/// Lab 06, part 1: the backend's half of a shared ring (Xen's `NAME_back_ring`). It consumes
/// requests and produces responses. `requestConsumer` (`req_cons`) and `responseProducerPrivate`
/// (`rsp_prod_pvt`) live in the backend's own memory, where the frontend cannot move them.
///
/// Trust nothing in the shared page (`shared`, a `SharedRing`, gives you its indices and slots):
/// read `req_prod` once per batch, check it before using it (a frontend that moved it backwards
/// or more than a ring's worth ahead is broken or hostile: throw `.ringProtocol`), and copy each
/// request out of its slot exactly once, so that a frontend rewriting the slot while you work
/// changes nothing you act on (the double fetches of XSA-155).
public struct BackRing<Request: RingEntry, Response: RingEntry> {
    public typealias Shared = SharedRing<Request, Response>
    public let shared: Shared
    public internal(set) var requestConsumer: UInt32 = 0
    public internal(set) var responseProducerPrivate: UInt32 = 0
    /// The request producer as last read and checked; the backend consumes up to here.
    public internal(set) var publishedRequests: UInt32 = 0
    /// The response producer as the backend last published it (never re-read from the page).
    var lastPublishedResponses: UInt32 = 0

    /// `BACK_RING_INIT`: the backend never initializes the shared page, the frontend did.
    public init(page: SharedPage) {
        shared = Shared(page: page)
    }

    public var size: UInt32 { Shared.size }

    /// Requests copied out but not yet answered: the backend's in-flight work on this ring.
    public var requestsInFlight: UInt32 { requestConsumer &- responseProducerPrivate }

    /// Requests published (as of the last `refreshRequests`) and not yet taken.
    public var unconsumedRequests: UInt32 { publishedRequests &- requestConsumer }

    /// Reads `req_prod` once, checks it, and returns how many requests may be taken now.
    ///
    /// All index arithmetic wraps (`&-`): indices are free-running 32-bit counters. The frontend
    /// can have at most `size` requests without responses (`RING_REQUEST_PROD_OVERFLOW`), and
    /// `req_prod` cannot fall behind requests already consumed. Either way: `.ringProtocol`.
    public mutating func refreshRequests() throws(SplitIOError) -> UInt32 {
        // BEGIN SOLUTION
        // STUB: throw SplitIOError(.badRequest, NotImplemented(lab: "06", "BackRing.refreshRequests(): read req_prod once and check it").message)
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
        // END SOLUTION
    }

    /// Copies the next request out of its slot, once, and advances `req_cons`.
    /// Nil when every published request has been taken.
    public mutating func takeRequest() throws(SplitIOError) -> Request? {
        // BEGIN SOLUTION
        // STUB: throw SplitIOError(.badRequest, NotImplemented(lab: "06", "BackRing.takeRequest(): copy the next request out once").message)
        guard unconsumedRequests > 0 else { return nil }
        let request = try shared.readRequest(requestConsumer)
        requestConsumer &+= 1
        return request
        // END SOLUTION
    }

    /// Writes the response for the oldest unanswered request into its slot (not yet visible to
    /// the frontend: see `pushResponsesAndCheckNotify`).
    public mutating func enqueueResponse(_ response: Response) throws(SplitIOError) {
        // BEGIN SOLUTION
        // STUB: throw SplitIOError(.badRequest, NotImplemented(lab: "06", "BackRing.enqueueResponse(_:)").message)
        guard requestsInFlight > 0 else {
            throw SplitIOError(.badRequest, "no request is waiting for a response (req_cons \(requestConsumer) = rsp_prod_pvt \(responseProducerPrivate))")
        }
        try shared.writeResponse(response, responseProducerPrivate)
        responseProducerPrivate &+= 1
        // END SOLUTION
    }

    /// `RING_PUSH_RESPONSES_AND_CHECK_NOTIFY`: publish `rsp_prod`, then report whether the frontend
    /// asked to be woken for any of the new responses (its `rsp_event` lies in (old, new]:
    /// `Shared.needsNotification`). `old` is your own last published value, not a re-read.
    public mutating func pushResponsesAndCheckNotify() throws(SplitIOError) -> Bool {
        // BEGIN SOLUTION
        // STUB: throw SplitIOError(.badRequest, NotImplemented(lab: "06", "BackRing.pushResponsesAndCheckNotify()").message)
        let old = lastPublishedResponses
        let new = responseProducerPrivate
        RingOrdering.entriesBeforeProducerIndex()
        try shared.setResponseProducer(new)
        lastPublishedResponses = new
        RingOrdering.indexBeforeEventCheck()
        return Shared.needsNotification(old: old, new: new, event: try shared.responseEvent())
        // END SOLUTION
    }

    /// `RING_FINAL_CHECK_FOR_REQUESTS`: with nothing left to do, ask for a notification on the next
    /// request (`req_event = req_cons + 1`) and look once more. True: more requests arrived.
    public mutating func finalCheckForRequests() throws(SplitIOError) -> Bool {
        // BEGIN SOLUTION
        // STUB: throw SplitIOError(.badRequest, NotImplemented(lab: "06", "BackRing.finalCheckForRequests()").message)
        if try refreshRequests() > 0 { return true }
        try shared.setRequestEvent(requestConsumer &+ 1)
        RingOrdering.indexBeforeEventCheck()
        return try refreshRequests() > 0
        // END SOLUTION
    }
}
