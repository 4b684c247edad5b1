import HypervisorCore

/// The bounded shadow cache: frames come from the pool; when it is empty (or there are too many
/// tables) the least recently used table goes.
extension ReferenceShadowPager {
    /// A zeroed pool frame, evicting least recently used tables other than `keeping` until one is
    /// free; nil when only `keeping` is left holding frames.
    func allocateFrame(keeping: ShadowAddressSpace?) -> UInt32? {
        while true {
            if let frame = pool.allocate() { return frame }
            guard evictLeastRecentlyUsed(keeping: keeping) else { return nil }
        }
    }

    /// Evicts the table the guest used longest ago (never `keeping`); false if there is none.
    @discardableResult
    func evictLeastRecentlyUsed(keeping: ShadowAddressSpace?) -> Bool {
        guard let victim = spaces.values.filter({ $0 !== keeping }).min(by: { $0.lastUse < $1.lastUse }) else { return false }
        evict(victim)
        return true
    }

    /// Drops a whole table and gives its frames back. The hart's TLB is flushed: its root frame may
    /// be handed out again as another table's root, under the same satp value.
    func evict(_ space: ShadowAddressSpace) {
        for rootIndex in Array(space.regions.keys) { dropRegion(rootIndex, in: space) }
        pool.release(space.root)
        spaces[space.view] = nil
        spacesByID[space.id] = nil
        counters.evictions += 1
        machine.flushTLB()
    }
}
