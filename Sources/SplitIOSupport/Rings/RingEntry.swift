/// A request or response that travels through a shared ring: a fixed-size byte layout both
/// sides agree on (for the block device, the layout a C compiler gives `struct blkif_request`
/// on RV32, so the guest kernel's C frontend shares the ring with the Swift backend).
///
/// Decoding never fails: any bytes a guest left in a slot decode to *some* value, and the
/// consumer validates the value it holds. That keeps "read the slot" and "decide whether the
/// request makes sense" apart, the way a backend must (copy once, then check the copy).
public protocol RingEntry {
    /// The bytes one entry occupies in the ring.
    static var encodedSize: Int { get }
    /// Exactly `encodedSize` bytes; padding is zero, so nothing of the producer's other
    /// memory travels with the entry.
    func encoded() -> [UInt8]
    /// Decodes `bytes` (missing bytes read as zero, extra bytes are ignored).
    init(decoding bytes: [UInt8])
}

/// The places where Xen's ring macros put memory barriers, named so the protocol reads the same
/// here as in `io/ring.h`.
///
/// Why they do nothing here: the two sides of a ring in VirtLab run on one host thread (the
/// backend between guest instruction slices, the guest's frontend inside the emulated hart), so
/// every store is visible to the next load in program order. A real SMP guest and a backend on
/// another CPU need them: without the write barrier the consumer could see the new producer index
/// before the entries it covers; without the full barrier a producer could read the consumer's
/// event index before its own index update is visible, and both sides would go to sleep (the
/// lost-wakeup race that `req_event`/`rsp_event` are designed around).
public enum RingOrdering {
    /// `wmb()`: entries written so far become visible before the producer index that publishes them.
    @inline(__always) public static func entriesBeforeProducerIndex() {}
    /// `mb()`: our index update is visible before we read the other side's event index.
    @inline(__always) public static func indexBeforeEventCheck() {}
    /// `rmb()`: the producer index is read before the entries it covers.
    @inline(__always) public static func producerIndexBeforeEntries() {}
}
