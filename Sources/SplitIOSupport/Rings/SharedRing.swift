/// The shared page of a request/response ring, laid out as Xen's `io/ring.h` lays out
/// `struct NAME_sring`:
///
///     offset  0  req_prod    index of the next request slot the frontend will publish
///     offset  4  req_event   the backend wants a notification when req_prod passes this
///     offset  8  rsp_prod    index of the next response slot the backend will publish
///     offset 12  rsp_event   the frontend wants a notification when rsp_prod passes this
///     offset 16  48 bytes of padding (zero)
///     offset 64  the ring: `size` slots, each big enough for a request or a response
///
/// Indices are free-running 32-bit counters (they wrap at 2^32, never at `size`); a slot is
/// `index & (size - 1)`, which is why `size` is a power of two: the largest that fits.
/// Requests and responses share the slots: the backend writes response `i` into the slot that
/// held request `i`, after it has copied that request out.
public struct SharedRing<Request: RingEntry, Response: RingEntry> {
    public let page: SharedPage

    public static var requestProducerOffset: Int { 0 }
    public static var requestEventOffset: Int { 4 }
    public static var responseProducerOffset: Int { 8 }
    public static var responseEventOffset: Int { 12 }
    /// Where the first slot starts: four indices and 48 bytes of padding.
    public static var headerSize: Int { 64 }

    /// The bytes of one slot: a request or a response, whichever is larger.
    public static var slotSize: Int { max(Request.encodedSize, Response.encodedSize, 1) }

    /// The number of slots: the largest power of two that fits in the page after the header
    /// (Xen's `__RING_SIZE`). For the block ring (112-byte slots) this is 32.
    public static var size: UInt32 {
        let fits = (pageSize - headerSize) / slotSize
        guard fits > 0 else { return 0 }
        return UInt32(1) << (Int.bitWidth - 1 - fits.leadingZeroBitCount)
    }

    public init(page: SharedPage) {
        self.page = page
    }

    // The shared indices. Each access reads or writes guest memory once: callers that must not
    // see a value change under them (the backend) read an index once into a local.
    public func requestProducer() throws(SplitIOError) -> UInt32 { try page.load32(at: Self.requestProducerOffset) }
    public func requestEvent() throws(SplitIOError) -> UInt32 { try page.load32(at: Self.requestEventOffset) }
    public func responseProducer() throws(SplitIOError) -> UInt32 { try page.load32(at: Self.responseProducerOffset) }
    public func responseEvent() throws(SplitIOError) -> UInt32 { try page.load32(at: Self.responseEventOffset) }

    public func setRequestProducer(_ value: UInt32) throws(SplitIOError) { try page.store32(value, at: Self.requestProducerOffset) }
    public func setRequestEvent(_ value: UInt32) throws(SplitIOError) { try page.store32(value, at: Self.requestEventOffset) }
    public func setResponseProducer(_ value: UInt32) throws(SplitIOError) { try page.store32(value, at: Self.responseProducerOffset) }
    public func setResponseEvent(_ value: UInt32) throws(SplitIOError) { try page.store32(value, at: Self.responseEventOffset) }

    /// `SHARED_RING_INIT`: both producers 0, both event thresholds 1 (notify on the first entry),
    /// padding zeroed. Only the frontend initializes the shared page.
    public func initialize() throws(SplitIOError) {
        try page.write(at: 0, [UInt8](repeating: 0, count: Self.headerSize))
        try setRequestEvent(1)
        try setResponseEvent(1)
    }

    /// The page offset of the slot for free-running index `index`: always inside the page,
    /// whatever index a guest wrote.
    public static func slotOffset(_ index: UInt32) -> Int {
        headerSize + Int(index & (size &- 1)) * slotSize
    }

    public func readRequest(_ index: UInt32) throws(SplitIOError) -> Request {
        Request(decoding: try page.read(at: Self.slotOffset(index), count: Request.encodedSize))
    }

    public func writeRequest(_ request: Request, _ index: UInt32) throws(SplitIOError) {
        try page.write(at: Self.slotOffset(index), request.encoded())
    }

    public func readResponse(_ index: UInt32) throws(SplitIOError) -> Response {
        Response(decoding: try page.read(at: Self.slotOffset(index), count: Response.encodedSize))
    }

    public func writeResponse(_ response: Response, _ index: UInt32) throws(SplitIOError) {
        try page.write(at: Self.slotOffset(index), response.encoded())
    }

    /// Xen's notify test: after moving a producer index from `old` to `new`, the other side wants
    /// a notification iff its event index lies in `(old, new]` (computed with wrapping arithmetic,
    /// so it holds across the 2^32 wrap).
    public static func needsNotification(old: UInt32, new: UInt32, event: UInt32) -> Bool {
        (new &- event) < (new &- old)
    }
}
