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


    public init(memory: Memory) {
        self.memory = memory
    }

    /// The valid block starting at `pc`, if the cache has one. Counts a lookup, and a hit.
    public func lookup(_ pc: UInt32) throws -> TranslatedBlock? {
        throw NotImplemented(lab: "02", "CodeCache.lookup(_:)")
    }

    /// Adds a freshly translated block, and asks the memory to watch the pages its code is in.
    public func insert(_ block: TranslatedBlock) throws {
        throw NotImplemented(lab: "02", "CodeCache.insert(_:)")
    }

    /// Drops every block whose code overlaps the `size` bytes written at `address`. Blocks that
    /// merely share the page (data next to code) stay.
    public func invalidate(writtenAt address: UInt32, size: Int) {
    }

    /// Drops every block (FENCE.I).
    public func flush() {
    }

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
        throw NotImplemented(lab: "02", "BlockTranslator.runBlock(on:), the lookup-translate-run loop")
    }
}
