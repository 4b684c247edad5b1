import HypervisorCore

/// Keeping the shadow tables equal to the guest's: write-protected page-table pages, fences,
/// remapped frames.
extension ReferenceShadowPager {
    /// A store the VMM emulated. If it hit a watched page-table page, the shadow entries derived
    /// from the words it changed (a root-table entry's whole region, or one second-level entry)
    /// are stale: dropped now, or at the next fence that names them.
    public func guestRAMWritten(at guestPhysical: UInt32, count: Int) {
        guard count > 0, configuration.coherence.writeProtects else { return }
        var dropped = 0
        var word = guestPhysical & ~3
        let end = UInt64(guestPhysical) + UInt64(count)
        while UInt64(word) < end {
            if tableUsers[word & ~0xFFF] != nil {
                if configuration.coherence == .writeProtectEager {
                    dropped += dropDerived(fromWord: word, virtualAddress: nil, asid: nil)
                } else {
                    editedEntries.insert(word)
                }
            }
            if word > UInt32.max - 4 { break }
            word += 4
        }
        if dropped > 0 { machine.flushTLB() }
    }

    /// Drops the shadow entries derived from the guest PTE at `word` that a fence of
    /// (`virtualAddress`, `asid`) names (nil: all); returns how many went.
    private func dropDerived(fromWord word: UInt32, virtualAddress: UInt32?, asid: UInt32?) -> Int {
        guard let users = tableUsers[word & ~0xFFF] else { return 0 }
        var dropped = 0
        for user in users {
            guard let space = spacesByID[user.space], let region = space.regions[user.rootIndex] else { continue }
            if let asid, space.view.asid != asid { continue }
            if let virtualAddress, ShadowPTE.rootIndex(virtualAddress) != user.rootIndex { continue }
            if region.rootEntryAddress == word {
                dropped += max(1, region.entries.count)
                dropRegion(user.rootIndex, in: space)
            } else if region.guestTable == word & ~0xFFF {
                let leafIndex = word >> 2 & 0x3FF
                if let virtualAddress, ShadowPTE.leafIndex(virtualAddress) != leafIndex { continue }
                dropped += dropEntry(leafIndex: leafIndex, rootIndex: user.rootIndex, in: space)
            }
        }
        counters.entriesInvalidated += UInt64(dropped)
        return dropped
    }

    /// SFENCE.VMA: drop the stale entries among those it names. Under write protection those are
    /// derived from the PTEs the guest stored to since; otherwise (and for a fence of everything,
    /// which also catches edits behind the VMM's back) each named entry is re-checked against
    /// the guest's PTE.
    public func fence(virtualAddress: UInt32?, asid: UInt32?) {
        var dropped = 0
        if configuration.coherence == .writeProtect {
            for word in editedEntries { dropped += dropDerived(fromWord: word, virtualAddress: virtualAddress, asid: asid) }
            // An edit is done with once every entry it could have left stale is gone.
            if virtualAddress == nil && asid == nil { editedEntries.removeAll() }
        }
        if configuration.coherence == .fences || (virtualAddress == nil && asid == nil) {
            for space in spaces.values where asid == nil || space.view.asid == asid {
                if let virtualAddress {
                    dropped += dropStale(in: space, rootIndex: ShadowPTE.rootIndex(virtualAddress),
                                         leafIndex: ShadowPTE.leafIndex(virtualAddress))
                } else {
                    for rootIndex in Array(space.regions.keys) { dropped += dropStale(in: space, rootIndex: rootIndex, leafIndex: nil) }
                }
            }
        }
        counters.entriesInvalidated += UInt64(dropped)
        if dropped > 0 { machine.flushTLB() }
    }

    /// Drops the region if its root PTE changed, else the named entry (all when nil) whose leaf
    /// PTE changed.
    private func dropStale(in space: ShadowAddressSpace, rootIndex: UInt32, leafIndex: UInt32?) -> Int {
        guard let region = space.regions[rootIndex], let rootEntryAddress = region.rootEntryAddress else { return 0 }
        guard let current = memory.read32(rootEntryAddress), ShadowPTEValue.unchanged(current, since: region.rootEntry) else {
            let count = max(1, region.entries.count)
            dropRegion(rootIndex, in: space)
            return count
        }
        var dropped = 0
        let named = leafIndex.map { [$0] } ?? Array(region.entries.keys)
        for index in named {
            guard let entry = region.entries[index], let leafAddress = entry.leafAddress else { continue }
            if let current = memory.read32(leafAddress), ShadowPTEValue.unchanged(current, since: entry.leaf) { continue }
            dropped += dropEntry(leafIndex: index, rootIndex: rootIndex, in: space)
        }
        return dropped
    }

    /// The shadow tables are keyed by the guest's satp, so a switch needs nothing: the next
    /// `activate` finds the cached table, or builds one. But the bare hart flushes its TLB on a
    /// satp write, so edits waiting for a fence take effect here too, as they would bare.
    public func satpWritten(from old: UInt32, to new: UInt32) {
        guard !editedEntries.isEmpty else { return }
        var dropped = 0
        for word in editedEntries { dropped += dropDerived(fromWord: word, virtualAddress: nil, asid: nil) }
        editedEntries.removeAll()
        if dropped > 0 { machine.flushTLB() }
    }

    /// Removes every shadow entry mapping the guest frame, and everything derived from it if it is
    /// a page-table page (its contents or its machine frame are about to change).
    public func invalidate(guestFrame: UInt32) {
        let page = guestFrame & ~0xFFF
        var dropped = 0
        for reference in mappings[page] ?? [] {
            guard let space = spacesByID[reference.space] else { continue }
            dropped += dropEntry(leafIndex: ShadowPTE.leafIndex(reference.virtualPage),
                                 rootIndex: ShadowPTE.rootIndex(reference.virtualPage), in: space)
        }
        for user in tableUsers[page] ?? [] {
            guard let space = spacesByID[user.space] else { continue }
            dropped += max(1, space.regions[user.rootIndex]?.entries.count ?? 0)
            dropRegion(user.rootIndex, in: space)
        }
        counters.entriesInvalidated += UInt64(dropped)
        if dropped > 0 { machine.flushTLB() }
    }

    public func dropAll() {
        guard !spaces.isEmpty else { return }
        spaces.removeAll()
        spacesByID.removeAll()
        editedEntries.removeAll()
        mappings.removeAll()
        tableUsers.removeAll()
        pool.releaseAll()
        counters.rebuilds += 1
        machine.flushTLB()
    }

    // MARK: Watching page-table pages

    /// Records that `region` was derived from the guest page-table page `page`. The first user
    /// makes the page read-only in every shadow table (the caller flushes the hart's TLB if
    /// needed; `watch` does it itself when it downgrades an entry).
    func watch(_ page: UInt32, by region: ShadowRegionReference) {
        let firstUser = tableUsers[page] == nil
        tableUsers[page, default: []].insert(region)
        guard firstUser, configuration.coherence.writeProtects else { return }
        var downgraded = false
        for reference in mappings[page] ?? [] {
            guard let space = spacesByID[reference.space] else { continue }
            let rootIndex = ShadowPTE.rootIndex(reference.virtualPage), leafIndex = ShadowPTE.leafIndex(reference.virtualPage)
            guard var region = space.regions[rootIndex], var entry = region.entries[leafIndex],
                  entry.permissions.contains(.writable), let frame = memory.machineAddress(of: page) else { continue }
            entry.permissions.remove(.writable)
            region.entries[leafIndex] = entry
            space.regions[rootIndex] = region
            pool.write(region.table + leafIndex * 4, ShadowPTE.leaf(frame: frame, entry.permissions))
            downgraded = true
        }
        if downgraded { machine.flushTLB() }
    }

    // MARK: Dropping (callers flush the hart's TLB)

    /// Removes one shadow leaf; returns 1 if there was one.
    @discardableResult
    func dropEntry(leafIndex: UInt32, rootIndex: UInt32, in space: ShadowAddressSpace) -> Int {
        guard var region = space.regions[rootIndex], let entry = region.entries.removeValue(forKey: leafIndex) else { return 0 }
        space.regions[rootIndex] = region
        pool.write(region.table + leafIndex * 4, 0)
        unmap(entry.guestPage, ShadowEntryReference(space: space.id, virtualPage: rootIndex << 22 | leafIndex << 12))
        return 1
    }

    /// Removes a region: its root slot, its second-level table (back to the pool), its entries,
    /// and its claims on guest page-table pages.
    func dropRegion(_ rootIndex: UInt32, in space: ShadowAddressSpace) {
        guard let region = space.regions.removeValue(forKey: rootIndex) else { return }
        pool.write(space.root + rootIndex * 4, 0)
        pool.release(region.table)
        for (leafIndex, entry) in region.entries {
            unmap(entry.guestPage, ShadowEntryReference(space: space.id, virtualPage: rootIndex << 22 | leafIndex << 12))
        }
        let reference = ShadowRegionReference(space: space.id, rootIndex: rootIndex)
        for page in region.watchedPages {
            tableUsers[page]?.remove(reference)
            if tableUsers[page]?.isEmpty == true { tableUsers[page] = nil }
        }
    }

    private func unmap(_ guestPage: UInt32, _ reference: ShadowEntryReference) {
        mappings[guestPage]?.remove(reference)
        if mappings[guestPage]?.isEmpty == true { mappings[guestPage] = nil }
    }
}
