import LabSupport
import RISCV

/// Lab 02, part 2: the code cache, with invalidation.
///
/// Translated blocks are kept by their start address. They go stale when the guest rewrites its
/// own code: after a store into bytes a block was translated from (the memory tells you, for the
/// pages you watch), and, as the ISA says, after FENCE.I.
public final class CodeCache {
    let memory: Memory
    public private(set) var statistics = CodeCacheStatistics()

    // BEGIN SOLUTION
    /// Start address -> block.
    private var blocks: [UInt32: TranslatedBlock] = [:]
    /// Guest page number -> the start addresses of the blocks with code in that page.
    private var blocksByPage: [UInt32: Set<UInt32>] = [:]
    // END SOLUTION

    public init(memory: Memory) {
        self.memory = memory
        // BEGIN SOLUTION
        // The memory calls back after every store into a watched page. `unowned`: the memory
        // outlives neither the cache nor the machine, and a strong reference would be a cycle.
        memory.onWatchedWrite = { [unowned self] address, size in
            self.invalidate(writtenAt: address, size: size)
        }
        // END SOLUTION
    }

    /// The valid block starting at `pc`, if the cache has one. Counts a lookup, and a hit.
    public func lookup(_ pc: UInt32) throws -> TranslatedBlock? {
        // BEGIN SOLUTION
        // STUB: throw NotImplemented(lab: "02", "CodeCache.lookup(_:)")
        statistics.lookups += 1
        guard let block = blocks[pc] else { return nil }
        statistics.hits += 1
        return block
        // END SOLUTION
    }

    /// Adds a freshly translated block, and asks the memory to watch the pages its code is in.
    public func insert(_ block: TranslatedBlock) throws {
        // BEGIN SOLUTION
        // STUB: throw NotImplemented(lab: "02", "CodeCache.insert(_:)")
        statistics.blocksTranslated += 1
        blocks[block.start] = block
        for page in CodeCache.pages(of: block) {
            if blocksByPage[page, default: []].insert(block.start).inserted {
                memory.watchWrites(toPageContaining: page << 12)
            }
        }
        // END SOLUTION
    }

    /// Drops every block whose code overlaps the `size` bytes written at `address`. Blocks that
    /// merely share the page (data next to code) stay.
    public func invalidate(writtenAt address: UInt32, size: Int) {
        // BEGIN SOLUTION
        let writeEnd = UInt64(address) + UInt64(size)
        for page in Set([address >> 12, UInt32(truncatingIfNeeded: (writeEnd - 1) >> 12)]) {
            for start in blocksByPage[page] ?? [] {
                guard let block = blocks[start], UInt64(block.start) < writeEnd, UInt64(block.end) > UInt64(address) else { continue }
                remove(block)
                statistics.blocksInvalidated += 1
            }
        }
        // END SOLUTION
    }

    /// Drops every block (FENCE.I).
    public func flush() {
        // BEGIN SOLUTION
        for block in blocks.values { remove(block) }
        statistics.flushes += 1
        // END SOLUTION
    }

    // BEGIN SOLUTION
    private func remove(_ block: TranslatedBlock) {
        blocks[block.start] = nil
        for page in CodeCache.pages(of: block) {
            blocksByPage[page]?.remove(block.start)
            memory.unwatchWrites(toPageContaining: page << 12)
            if blocksByPage[page]?.isEmpty == true { blocksByPage[page] = nil }
        }
    }

    /// The guest page numbers a block's code touches (a block may cross a page boundary).
    private static func pages(of block: TranslatedBlock) -> [UInt32] {
        let first = block.start >> 12, last = (block.end &- 1) >> 12
        return first == last ? [first] : [first, last]
    }
    // END SOLUTION
}

/// The engine the lab machine runs: look the block up, translate it on a miss, run it.
public final class BlockTranslator: BlockEngine {
    public let cache: CodeCache
    let translator = Translator()

    public init(memory: Memory) {
        cache = CodeCache(memory: memory)
    }

    public var statistics: CodeCacheStatistics { cache.statistics }

    /// Runs the block at `hart.pc` and returns how many instructions it retired. A trap from an
    /// operation propagates (the lab machine counts the instructions before it).
    public func runBlock(on hart: inout Hart) throws -> Int {
        // BEGIN SOLUTION
        // STUB: throw NotImplemented(lab: "02", "BlockTranslator.runBlock(on:), the lookup-translate-run loop")
        let block: TranslatedBlock
        if let cached = try cache.lookup(hart.pc) {
            block = cached
        } else {
            block = try translator.translate(at: hart.pc, memory: hart.memory)
            try cache.insert(block)
        }
        for operation in block.operations {
            try operation(&hart)
        }
        if block.endsWithFenceI { cache.flush() }
        return block.instructionCount
        // END SOLUTION
    }
}
