/// The three ways a guest reaches its disk, in the order of the seed's list.
public enum IOPath: Int, CaseIterable, Sendable, CustomStringConvertible {
    /// Para-virtual split driver: blkfront in the guest, `BlockBackend` in Dom0, a shared ring.
    case split = 0
    /// Full device emulation: the `vlab-disk` controller, every register access an exit.
    case emulated = 1
    /// Direct I/O: the `vlab-dma` device assigned to the guest, its DMA confined by the IOMMU.
    case passthrough = 2

    public var description: String {
        switch self {
        case .split: return "split-driver"
        case .emulated: return "emulated"
        case .passthrough: return "pass-through"
        }
    }
}

/// What the I/O guest (Sources/VLabCLI/Guests/io/io.c) is told to do, passed in a0-a5 at entry.
/// Every request moves one 4 KiB page (8 sectors).
public struct IOWorkload: Equatable, Sendable, CustomStringConvertible {
    public enum Pattern: UInt32, Sendable { case sequential = 0, random = 1 }
    public enum Operation: UInt32, Sendable {
        case read = 0, write = 1
        /// Write `requests` pages, then read the whole disk back (the cross-path correctness run).
        case verify = 2
    }

    public var pattern: Pattern
    public var operation: Operation
    /// Requests submitted before the guest waits for their completions (1...32).
    public var batch: UInt32
    public var requests: UInt32
    /// The disk's size in 4 KiB pages.
    public var diskPages: UInt32

    public init(pattern: Pattern, operation: Operation, batch: UInt32, requests: UInt32, diskPages: UInt32) {
        self.pattern = pattern
        self.operation = operation
        self.batch = batch
        self.requests = requests
        self.diskPages = diskPages
    }

    public var description: String {
        "\(pattern == .sequential ? "seq" : "rand") \(operation) x\(requests) batch \(batch)"
    }

    /// Requests the guest makes in all (a verify run also reads every page back).
    public var totalRequests: UInt32 { operation == .verify ? requests + diskPages : requests }

    /// a0...a5 at the guest's entry.
    public func bootRegisters(path: IOPath) -> [UInt32] {
        [UInt32(path.rawValue), pattern.rawValue, operation.rawValue, batch, requests, diskPages]
    }

    /// The data write request number `request` puts in `page` (io.c's `fill`).
    public static func pageData(page: UInt32, request: UInt32) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(pageSize)
        for word in UInt32(0)..<UInt32(pageSize / 4) {
            let x = (page &* 0x0100_0193) ^ (request &* 0x9E37_79B9) ^ (word &* 0x85EB_CA6B)
            bytes += (x ^ (x >> 13)).littleEndianBytes
        }
        return bytes
    }

    /// The disk image the run must leave behind, starting from `initial`, and the checksum
    /// (FNV-1a over every byte read, in request order) the guest must report: the host-side copy
    /// the guest's result is checked against.
    public func expectedResult(initial: [UInt8]) -> (image: [UInt8], checksum: UInt32) {
        var image = initial
        var checksum: UInt32 = 0x811C_9DC5
        // A disk of no pages does nothing (the guest refuses it); a short initial image reads as zeros.
        guard diskPages > 0 else { return (image, checksum) }
        if image.count < Int(diskPages) * pageSize {
            image += [UInt8](repeating: 0, count: Int(diskPages) * pageSize - image.count)
        }
        var random: UInt32 = 1
        var writeNumber: UInt32 = 0
        func page(_ pattern: Pattern, _ index: UInt32) -> UInt32 {
            if pattern == .sequential { return index % diskPages }
            random ^= random << 13
            random ^= random >> 17
            random ^= random << 5
            return random % diskPages
        }
        func run(_ pattern: Pattern, write: Bool, count: UInt32) {
            for index in 0..<count {
                let p = Int(page(pattern, index)) * pageSize
                if write {
                    image.replaceSubrange(p..<p + pageSize, with: IOWorkload.pageData(page: UInt32(p / pageSize), request: writeNumber))
                    writeNumber &+= 1
                } else {
                    for byte in image[p..<p + pageSize] { checksum = (checksum ^ UInt32(byte)) &* 0x0100_0193 }
                }
            }
        }
        switch operation {
        case .read: run(pattern, write: false, count: requests)
        case .write: run(pattern, write: true, count: requests)
        case .verify:
            run(pattern, write: true, count: requests)
            run(.sequential, write: false, count: diskPages)
        }
        return (image, checksum)
    }
}
