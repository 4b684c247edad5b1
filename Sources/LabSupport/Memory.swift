import RISCV

/// Guest memory for the lab machine: a few contiguous regions of bytes at fixed addresses
/// (a program's image with its heap, and its stack). There is no paging: an address is either
/// inside one region or it faults. Accesses are little-endian and may be misaligned (the
/// reference `Machine` allows misaligned loads and stores too, which RISC-V permits).
///
/// Two services exist for the labs beyond loads and stores:
/// - `fetch(_:)` reads *and decodes* the instruction at an address, and counts the decodes,
///   so Lab 02 can measure how often a translator decodes compared to an interpreter.
/// - write watching: a translator marks the pages it translated code from with
///   `watchWrites(toPageContaining:)`, and `onWatchedWrite` is called after any store into
///   such a page, so translated code can be invalidated when the guest rewrites itself.
///
/// Not Sendable: a memory belongs to the one machine (and thread) that runs it.
public final class Memory {
    /// One contiguous range of guest addresses backed by host memory.
    public struct Region: Sendable, Equatable {
        public var base: UInt32
        public var size: UInt32
        public var name: String
        public init(base: UInt32, size: UInt32, name: String) {
            self.base = base
            self.size = size
            self.name = name
        }
        public var end: UInt64 { UInt64(base) + UInt64(size) }
        public func contains(_ address: UInt32, count: Int) -> Bool {
            address >= base && UInt64(address) + UInt64(count) <= end
        }
    }

    public static let pageSize: UInt32 = 4096

    public let regions: [Region]
    /// Host bytes for each region, zero-filled at creation.
    private let storage: [UnsafeMutableRawPointer]
    /// One counter per page of each region: how many watchers asked for write notifications.
    private let watchCounts: [UnsafeMutablePointer<UInt16>]

    /// Instructions decoded by `fetch(_:)` since the memory was made.
    public private(set) var decodeCount: UInt64 = 0
    /// Called after a store that touched a watched page, with the store's address and size.
    public var onWatchedWrite: ((_ address: UInt32, _ size: Int) -> Void)?

    /// Makes zero-filled regions. Regions must be page-aligned, non-empty and must not overlap.
    public init(regions: [Region]) throws(LabError) {
        let sorted = regions.sorted { $0.base < $1.base }
        for (index, region) in sorted.enumerated() {
            guard region.size > 0, region.base % Memory.pageSize == 0, region.size % Memory.pageSize == 0 else {
                throw LabError("memory region \(region.name) at 0x\(hex8(region.base)) (\(region.size) bytes) is not a non-empty whole number of pages")
            }
            guard region.end <= 1 << 32 else {
                throw LabError("memory region \(region.name) at 0x\(hex8(region.base)) runs past the end of the 32-bit address space")
            }
            if index > 0, UInt64(region.base) < sorted[index - 1].end {
                throw LabError("memory regions \(sorted[index - 1].name) and \(region.name) overlap")
            }
        }
        self.regions = sorted
        storage = sorted.map { region in
            let bytes = UnsafeMutableRawPointer.allocate(byteCount: Int(region.size), alignment: 16)
            bytes.initializeMemory(as: UInt8.self, repeating: 0, count: Int(region.size))
            return bytes
        }
        watchCounts = sorted.map { region in
            let pages = Int(region.size / Memory.pageSize)
            let counts = UnsafeMutablePointer<UInt16>.allocate(capacity: pages)
            counts.initialize(repeating: 0, count: pages)
            return counts
        }
    }

    deinit {
        for bytes in storage { bytes.deallocate() }
        for counts in watchCounts { counts.deallocate() }
    }

    /// The region index and byte offset of `count` bytes at `address`, or nil if they are not
    /// all inside one region.
    @inline(__always)
    private func locate(_ address: UInt32, count: Int) -> (region: Int, offset: Int)? {
        for index in regions.indices where regions[index].contains(address, count: count) {
            return (index, Int(address - regions[index].base))
        }
        return nil
    }

    /// The address a failed access reports as mtval: the access's own address, or, when it
    /// starts inside a region and runs past its end, the first byte past the end (the privileged
    /// specification: "the portion of the access that caused the fault").
    private func faultAddress(_ address: UInt32, count: Int) -> UInt32 {
        for region in regions where address >= region.base && UInt64(address) < region.end
            && UInt64(address) + UInt64(count) > region.end {
            return UInt32(truncatingIfNeeded: region.end)
        }
        return address
    }

    // MARK: What an executor uses

    /// Loads `size` bytes at `address`, zero-extended to 32 bits (sign-extending `lb`/`lh` is the
    /// executor's job). Throws a load access fault (mtval = address) outside every region (for an access that runs past the end of one, mtval is the first
    /// address past it).
    @inline(__always)
    public func load(_ address: UInt32, size: AccessSize) throws(Trap) -> UInt32 {
        guard let (region, offset) = locate(address, count: size.rawValue) else {
            throw Trap(.loadAccessFault, value: faultAddress(address, count: size.rawValue))
        }
        let bytes = storage[region]
        switch size {
        case .byte: return UInt32(bytes.load(fromByteOffset: offset, as: UInt8.self))
        case .halfword: return UInt32(UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt16.self)))
        case .word: return UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
        }
    }

    /// Stores the low `size` bytes of `value` at `address`. Throws a store access fault
    /// (mtval = address) outside every region; then nothing is written.
    @inline(__always)
    public func store(_ value: UInt32, at address: UInt32, size: AccessSize) throws(Trap) {
        guard let (region, offset) = locate(address, count: size.rawValue) else {
            throw Trap(.storeAccessFault, value: faultAddress(address, count: size.rawValue))
        }
        let bytes = storage[region]
        switch size {
        case .byte: bytes.storeBytes(of: UInt8(truncatingIfNeeded: value), toByteOffset: offset, as: UInt8.self)
        case .halfword: bytes.storeBytes(of: UInt16(truncatingIfNeeded: value).littleEndian, toByteOffset: offset, as: UInt16.self)
        case .word: bytes.storeBytes(of: value.littleEndian, toByteOffset: offset, as: UInt32.self)
        }
        // A store can straddle two pages; either may hold translated code.
        let counts = watchCounts[region]
        let first = offset >> 12, last = (offset + size.rawValue - 1) >> 12
        if counts[first] != 0 || counts[last] != 0 {
            onWatchedWrite?(address, size.rawValue)
        }
    }

    /// Reads and decodes the instruction at `address` (counted in `decodeCount`). Throws an
    /// instruction access fault (mtval = address) outside every region.
    public func fetch(_ address: UInt32) throws(Trap) -> Instruction {
        guard let (region, offset) = locate(address, count: 4) else {
            throw Trap(.instructionAccessFault, value: address)
        }
        decodeCount &+= 1
        return Instruction(decoding: UInt32(littleEndian: storage[region].loadUnaligned(fromByteOffset: offset, as: UInt32.self)))
    }

    // MARK: Write watching (Lab 02)

    /// Asks for `onWatchedWrite` after stores into the page holding `address`. Calls nest: each
    /// `watchWrites` needs one `unwatchWrites`. Addresses outside memory are ignored.
    public func watchWrites(toPageContaining address: UInt32) {
        guard let (region, offset) = locate(address, count: 1) else { return }
        watchCounts[region][offset >> 12] &+= 1
    }

    public func unwatchWrites(toPageContaining address: UInt32) {
        guard let (region, offset) = locate(address, count: 1), watchCounts[region][offset >> 12] > 0 else { return }
        watchCounts[region][offset >> 12] -= 1
    }

    /// Whether stores into the page holding `address` are being watched.
    public func isWatched(_ address: UInt32) -> Bool {
        guard let (region, offset) = locate(address, count: 1) else { return false }
        return watchCounts[region][offset >> 12] > 0
    }

    // MARK: For the host (loaders, the system-call layer, tests)

    /// Copies bytes in, bypassing watching (the host is not the guest). Throws if any byte is outside memory.
    public func write(_ bytes: [UInt8], at address: UInt32) throws(LabError) {
        guard !bytes.isEmpty else { return }
        guard let (region, offset) = locate(address, count: bytes.count) else {
            throw LabError("\(bytes.count) bytes at 0x\(hex8(address)) are not inside one memory region")
        }
        bytes.withUnsafeBytes { source in
            (storage[region] + offset).copyMemory(from: source.baseAddress!, byteCount: bytes.count)
        }
    }

    /// Copies bytes out, or nil if any is outside memory.
    public func read(_ address: UInt32, count: Int) -> [UInt8]? {
        guard count > 0 else { return [] }
        guard let (region, offset) = locate(address, count: count) else { return nil }
        return Array(UnsafeRawBufferPointer(start: storage[region] + offset, count: count))
    }

    /// The whole contents of one region (for comparing memories at the end of a run).
    public func contents(of region: Region) -> [UInt8] {
        read(region.base, count: Int(region.size)) ?? []
    }
}

/// The width of a load or store.
public enum AccessSize: Int, Sendable {
    case byte = 1
    case halfword = 2
    case word = 4
}

/// A problem with something the host asked of the lab framework (a bad program, a bad layout):
/// a message naming the input and what is wrong.
public struct LabError: Error, Equatable, Sendable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
