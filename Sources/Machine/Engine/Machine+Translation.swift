/// The glue between the code cache and the rest of the machine: keeping translated code coherent
/// with RAM on every store path, and the statistics.
///
/// Coherence rule: once a RAM page holds translated code, no store reaches it without passing
/// `noteRAMWrite`. Every store path in the machine either goes through `busWrite` (the engines'
/// slow paths, atomics, devices' DMA-free world), through `writePhysical` (the host, the Linux
/// layer), or through a store-TLB entry's host pointer (both engines' fast paths). The last is
/// closed by giving store-TLB entries for code pages no host pointer, so those stores take the
/// slow path. Translation keys are (virtual pc, physical pc), so `satp` writes and SFENCE.VMA
/// need not touch the cache: the engine re-translates pc through the fetch TLB whenever the
/// interpreter would (on entry and on every page change), and a block is used only if both keys match.
extension Machine {
    /// Records that RAM bytes `offset..<offset+count` were just written; drops the translations
    /// made from them. One byte test per touched page when the page holds no code.
    @inline(__always)
    func noteRAMWrite(_ offset: Int, count: Int) {
        let pages = codeCache.codePages
        let first = offset >> 12, last = (offset + count - 1) >> 12
        if pages[first] == 0 && pages[last] == 0 && last - first <= 1 { return }
        if codeCache.invalidate(ramOffsets: offset, offset + count) {
            refreshStoreHostPointers()
        }
    }

    /// Drops every translation (FENCE.I, a new program).
    func invalidateAllTranslations() {
        let live = UInt64(codeCache.liveBlocks)
        if codeCache.flush() { refreshStoreHostPointers() }
        codeCache.statistics.invalidatedBlocks += live
    }

    /// Whether a store TLB entry for this RAM page must leave the engine without a direct pointer.
    func storesMustBeSeen(ramPage: Int) -> Bool {
        if configuration.countsEveryTLBLookup { return true }  // measurement: every store is counted (Memory/TranslationMonitor.swift)
        if codeCache.codePages[ramPage] != 0 { return true }
        guard let tohost = tohostAddress, let offset = ramOffset(tohost & ~0xFFF, count: 1) else { return false }
        return offset >> 12 == ramPage
    }

    /// Re-derives the host pointer of every store TLB entry after pages started or stopped holding
    /// code. Tags are kept: the translation itself is still valid, only the fast path changes,
    /// so the TLB's contents (and hence every later page walk) stay the same for both engines.
    func refreshStoreHostPointers() {
        let storeTLB = tlb + 2 * TLB.entriesPerKind
        for i in 0..<TLB.entriesPerKind where storeTLB[i].tag != TLB.invalidTag {
            let page = storeTLB[i].physicalPage & ~0xFFF
            if let offset = ramOffset(page, count: 4096), !storesMustBeSeen(ramPage: offset >> 12) {
                storeTLB[i].host = ram + offset
            } else {
                storeTLB[i].host = nil
            }
        }
    }

    /// The physical page and host bytes of the instruction at `pc`, through the fetch TLB, or nil
    /// after raising the fetch exception (exactly as the interpreter's `fetchPage`).
    @inline(__always)
    func fetchTranslation(_ pc: UInt32) -> (physicalPage: UInt32, host: UnsafeMutableRawPointer)? {
        let (entry, cause) = tlbEntry(pc, .fetch)
        guard let entry else {
            raiseException(cause, value: pc, pc: pc)
            return nil
        }
        guard let host = entry.pointee.host else {
            raiseException(ExceptionCause.instructionAccessFault, value: pc, pc: pc)
            return nil
        }
        return (entry.pointee.physicalPage & ~0xFFF, host)
    }

    /// Translates and caches the block at `virtualPC`, whose page's bytes are at `pageHost`.
    func translateBlock(virtualPC: UInt32, physicalPC: UInt32, pageHost: UnsafeMutableRawPointer) -> UnsafeMutablePointer<TranslatedBlock> {
        let offset = Int(virtualPC & 0xFFF)
        let code = GuestCode(words: UnsafeRawPointer(pageHost + offset), count: (4096 - offset) / 4)
        let flushesBefore = codeCache.flushCount
        let (block, newCodePage) = codeCache.insert(virtualPC: virtualPC, physicalPC: physicalPC, code: code)
        if newCodePage || codeCache.flushCount != flushesBefore { refreshStoreHostPointers() }
        return block
    }

    /// What the engine has done since the machine was built.
    public var engineStatistics: EngineStatistics {
        var statistics = codeCache.statistics
        statistics.cacheBytes = codeCache.bytesInUse
        return statistics
    }
}

/// One entry of `Machine.trapLog`: a trap or interrupt and the retired count when it was taken.
struct TrapRecord: Equatable, CustomStringConvertible {
    var retired: UInt64
    var trap: Trap
    var description: String { "@\(retired) \(trap)" }
}
