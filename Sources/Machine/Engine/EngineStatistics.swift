/// What the execution engine did, for `vlab --stats` and `vlab bench`. The interpreter leaves the
/// translation counts at zero.
public struct EngineStatistics: Sendable, Equatable {
    /// Blocks translated into threaded code (re-translations after an invalidation or flush count again).
    public var blocksTranslated: UInt64 = 0
    /// Guest instructions covered by those translations.
    public var instructionsTranslated: UInt64 = 0
    /// Blocks that also got native x86-64 code for (a prefix of) their ops.
    public var nativeBlocks: UInt64 = 0
    /// Block executions, whichever way the block was found.
    public var blocksExecuted: UInt64 = 0
    /// Block executions reached by following the previous block's chain link, without a lookup.
    public var chainedTransitions: UInt64 = 0
    /// Blocks dropped because guest code changed under them: a store (by the guest or the host)
    /// into their bytes, FENCE.I, or a new program loaded.
    public var invalidatedBlocks: UInt64 = 0
    /// Blocks dropped because the cache was full (each full cache is flushed whole).
    public var evictions: UInt64 = 0
    /// How many times the full cache was flushed to make room.
    public var capacityFlushes: UInt64 = 0
    /// Bytes of threaded code and block headers in the cache now, and the bound.
    public var cacheBytes: Int = 0
    public var cacheCapacityBytes: Int = 0

    public init() {}
}
