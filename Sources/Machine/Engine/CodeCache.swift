/// One translated guest basic block, as the code cache keeps it.
struct TranslatedBlock {
    /// The virtual address of the block's first instruction, or `TranslatedBlock.invalidPC` once
    /// the block is invalidated (an odd address no 4-aligned pc equals, so a stale chain link or
    /// lookup-table slot can never match it).
    var virtualPC: UInt32
    /// The physical address of the first instruction. With the virtual pc it is the block's key:
    /// the ops depend on the bytes (physical) and on pc-relative values folded in (virtual).
    var physicalPC: UInt32
    var ops: UnsafeMutablePointer<ThreadedOp>
    /// Guest instructions the block covers (its ops, less a final `.fallThrough`).
    var instructionCount: Int
    /// The successor last seen after each exit: taken branch / jump, and fall-through. A link is a
    /// guess the engine checks (same virtual and physical pc) before following it.
    var takenLink: UnsafeMutablePointer<TranslatedBlock>? = nil
    var fallThroughLink: UnsafeMutablePointer<TranslatedBlock>? = nil
    /// Native code for a prefix of the ops (see NativeCode.swift), if any, and the rel32 fields
    /// of its direct exits' jumps (nil where the exit has no native jump).
    var native: NativeBlock? = nil
    var nativeEntry: UnsafeMutableRawPointer? = nil
    var takenSite: UnsafeMutableRawPointer? = nil
    var fallThroughSite: UnsafeMutableRawPointer? = nil

    static let invalidPC: UInt32 = 1

    var physicalEnd: UInt32 { physicalPC &+ UInt32(4 * instructionCount) }
}

/// The translator's code cache: translated blocks keyed by (virtual pc, physical pc), which
/// physical pages hold translated code, and the counts behind `EngineStatistics`.
///
/// Memory is bounded: ops and block headers live in two fixed pools sized from
/// `MachineConfiguration.codeCacheCapacity`. When either is full the whole cache is flushed and
/// translation starts over (QEMU does the same); a flush drops every block and is counted as
/// evictions. Invalidated blocks are only marked (their pool space is reclaimed by the next
/// flush), so an engine executing a block whose code was just overwritten still reads valid ops.
///
/// The cache never changes the guest-visible state; the `Machine` glue
/// (`Machine+Translation.swift`) makes stores into code pages take the slow path and calls
/// `invalidate` from it.
final class CodeCache {
    let capacityBytes: Int
    private let blockCapacity: Int
    private let opCapacity: Int
    private var blocks: UnsafeMutablePointer<TranslatedBlock>? = nil
    private var opPool: UnsafeMutablePointer<ThreadedOp>? = nil
    private(set) var blockCount = 0
    private var opCount = 0

    /// Key = virtual pc << 32 | physical pc.
    private var index: [UInt64: UnsafeMutablePointer<TranslatedBlock>] = [:]
    /// A direct-mapped cache in front of `index`, by virtual pc: a hit costs two compares instead
    /// of hashing (indirect jumps, returns above all, miss their one-entry chain link often).
    /// Entries are checked against both keys, so stale ones are harmless; a flush clears them.
    private let recent: UnsafeMutablePointer<UnsafeMutablePointer<TranslatedBlock>?>
    private static let recentSize = 4096
    /// The blocks translated from each RAM page (by page number from the start of RAM).
    private var blocksInPage: [Int: [UnsafeMutablePointer<TranslatedBlock>]] = [:]
    /// One byte per RAM page, nonzero while the page holds translated code. Shared with `Machine`,
    /// whose store paths test it.
    let codePages: UnsafeMutablePointer<UInt8>
    private let ramPages: Int

    /// Bumped by every flush: an engine holding block pointers across a translation checks it.
    private(set) var flushCount: UInt64 = 0
    var statistics = EngineStatistics()

    /// The translate-a-block step. Any `BlockTranslating` works (a lab swaps in its own).
    var translator: any BlockTranslating = BlockTranslator()

    /// Executable memory for native block code, and whether to emit it (x86-64 Linux hosts).
    private let arena: NativeCodeArena
    var emitsNativeCode: Bool
    /// The data TLBs and context native code reads, refreshed by the engine on every run.
    let nativeContext: UnsafeMutablePointer<NativeContext>

    static let minimumCapacity = 16 << 10

    init(capacityBytes: Int, ramPages: Int) {
        self.capacityBytes = capacityBytes
        // Half of the budget for native code (about 40 bytes per op), an eighth for block
        // headers and the rest for threaded ops: blocks average well over the 3 ops at which
        // headers and ops would fill up together.
        blockCapacity = max(1, capacityBytes / 8 / MemoryLayout<TranslatedBlock>.stride)
        opCapacity = max(BlockTranslator.maximumInstructions + 1, capacityBytes * 3 / 8 / MemoryLayout<ThreadedOp>.stride)
        arena = NativeCodeArena(capacity: capacityBytes / 2)
        emitsNativeCode = NativeCodeEmitter.isSupported && arena.isAvailable
        nativeContext = .allocate(capacity: 1)
        recent = .allocate(capacity: CodeCache.recentSize)
        recent.initialize(repeating: nil, count: CodeCache.recentSize)
        self.ramPages = ramPages
        codePages = .allocate(capacity: ramPages)
        codePages.initialize(repeating: 0, count: ramPages)
        statistics.cacheCapacityBytes = capacityBytes
    }

    deinit {
        blocks?.deallocate()
        opPool?.deallocate()
        nativeContext.deallocate()
        recent.deallocate()
        codePages.deallocate()
    }

    /// Bytes of the pools in use: block headers and ops (live and invalidated, until a flush).
    var bytesInUse: Int {
        blockCount * MemoryLayout<TranslatedBlock>.stride + opCount * MemoryLayout<ThreadedOp>.stride + arena.used
    }

    static func key(_ virtualPC: UInt32, _ physicalPC: UInt32) -> UInt64 {
        UInt64(virtualPC) << 32 | UInt64(physicalPC)
    }

    @inline(__always)
    func lookup(virtualPC: UInt32, physicalPC: UInt32) -> UnsafeMutablePointer<TranslatedBlock>? {
        let slot = recent + Int(virtualPC >> 2) & (CodeCache.recentSize - 1)
        if let block = slot.pointee, block.pointee.virtualPC == virtualPC, block.pointee.physicalPC == physicalPC {
            return block
        }
        let block = index[CodeCache.key(virtualPC, physicalPC)]
        if block != nil { slot.pointee = block }
        return block
    }

    /// Translates the block at `virtualPC` (physical `physicalPC`, code from `code`) and keeps it.
    /// Returns the block and whether its page newly holds code (the machine must then make stores
    /// to that page take the slow path). May flush the cache first to make room.
    func insert(virtualPC: UInt32, physicalPC: UInt32, code: GuestCode) -> (block: UnsafeMutablePointer<TranslatedBlock>, newCodePage: Bool) {
        let ops = translator.translateBlock(at: virtualPC, code: code)
        precondition(!ops.isEmpty && ops.count <= opCapacity && ops.dropLast().allSatisfy { !$0.isTerminator },
                     "a block translator must produce one terminator, last")
        if blocks == nil {
            blocks = .allocate(capacity: blockCapacity)
            opPool = .allocate(capacity: opCapacity)
        }
        let instructionCount = ops.last!.kind == .fallThrough ? ops.count - 1 : ops.count
        var native = emitsNativeCode ? NativeCodeEmitter.emit(ops, virtualPC: virtualPC, instructionCount: instructionCount) : nil
        // Code bigger than the whole arena (a long block in a tiny cache) would only cause flushes.
        if let code = native, code.bytes.count > arena.capacity { native = nil }
        if blockCount == blockCapacity || opCount + ops.count > opCapacity || arena.used + (native?.bytes.count ?? 0) > arena.capacity {
            statistics.evictions += UInt64(index.count)
            statistics.capacityFlushes += 1
            flush()
        }
        let opStart = opPool! + opCount
        opStart.initialize(from: ops, count: ops.count)
        opCount += ops.count
        let block = blocks! + blockCount
        if native != nil {
            let address = UInt64(UInt(bitPattern: UnsafeMutableRawPointer(block)))
            for i in 0..<8 { native!.bytes[NativeCode.blockPointerOffset + i] = UInt8(truncatingIfNeeded: address >> UInt64(8 * i)) }
        }
        let entry = native.flatMap { arena.install($0.bytes) }
        block.initialize(to: TranslatedBlock(virtualPC: virtualPC, physicalPC: physicalPC, ops: opStart, instructionCount: instructionCount,
                                             native: entry.map { unsafeBitCast($0, to: NativeBlock.self) },
                                             nativeEntry: entry,
                                             takenSite: entry.flatMap { e in native?.takenSite.map { e + $0 } },
                                             fallThroughSite: entry.flatMap { e in native?.fallThroughSite.map { e + $0 } }))
        if block.pointee.native != nil { statistics.nativeBlocks += 1 }
        blockCount += 1
        index[CodeCache.key(virtualPC, physicalPC)] = block
        let page = Int((physicalPC &- Machine.ramBase) >> 12)
        blocksInPage[page, default: []].append(block)
        let newCodePage = codePages[page] == 0
        codePages[page] = 1
        statistics.blocksTranslated += 1
        statistics.instructionsTranslated += UInt64(instructionCount)
        return (block, newCodePage)
    }

    /// Invalidates every block holding a byte of RAM offsets `start..<end` (a store just wrote
    /// them). Returns true if some page stopped holding code.
    func invalidate(ramOffsets start: Int, _ end: Int) -> Bool {
        var pageFreed = false
        var page = start >> 12
        while page < ramPages && page << 12 < end {
            defer { page += 1 }
            guard codePages[page] != 0, let inPage = blocksInPage[page] else { continue }
            let low = Machine.ramBase &+ UInt32(max(start, page << 12))
            let high = Machine.ramBase &+ UInt32(min(end, (page + 1) << 12))
            var kept: [UnsafeMutablePointer<TranslatedBlock>] = []
            for block in inPage {
                if block.pointee.physicalPC < high && low < block.pointee.physicalEnd {
                    index[CodeCache.key(block.pointee.virtualPC, block.pointee.physicalPC)] = nil
                    block.pointee.virtualPC = TranslatedBlock.invalidPC
                    statistics.invalidatedBlocks += 1
                } else {
                    kept.append(block)
                }
            }
            if kept.isEmpty {
                blocksInPage[page] = nil
                codePages[page] = 0
                pageFreed = true
            } else {
                blocksInPage[page] = kept
            }
        }
        return pageFreed
    }

    /// Drops every block (FENCE.I, a new program loaded, or a full cache). Returns true if any
    /// page held code.
    @discardableResult
    func flush() -> Bool {
        let hadCode = !blocksInPage.isEmpty
        for page in blocksInPage.keys { codePages[page] = 0 }
        blocksInPage.removeAll(keepingCapacity: true)
        index.removeAll(keepingCapacity: true)
        recent.update(repeating: nil, count: CodeCache.recentSize)
        if let blocks { blocks.deinitialize(count: blockCount) }
        if let opPool { opPool.deinitialize(count: opCount) }
        blockCount = 0
        opCount = 0
        arena.reset()
        flushCount += 1
        return hadCode
    }

    /// Blocks currently valid (translated and not invalidated since).
    var liveBlocks: Int { index.count }
}
