import LabSupport
import SplitIOSupport

/// Performing one request: every check happens on the backend's private copy, and all of them
/// happen before any data moves, so a rejected request leaves both the image and the guest's
/// pages exactly as they were.
extension BlockBackend {
    /// A request that passed the checks: where on disk, and which sectors of which pages.
    struct CheckedTransfer {
        var firstDiskSector: UInt64
        var segments: [BlockSegment]
        var sectorCount: Int
    }

    func perform(_ request: BlockRequest, for connection: Connection) -> BlockStatus {
        return .error  // TODO (Lab 06): READ/WRITE through `check` and `transferData`, FLUSH, EOPNOTSUPP for the rest
    }

    /// The checks of Xen's blkback, on the copy: 1...11 segments, each `first <= last < 8`, and the
    /// whole run of sectors inside the disk (with the sum computed so that it cannot wrap).
    func check(_ request: BlockRequest, disk: RawDiskImage) -> CheckedTransfer? {
        return nil  // TODO (Lab 06): segment count, first <= last < 8, the sectors inside the disk
    }

    /// Maps every segment's page (write access only for READ, where the backend fills the page),
    /// moves the data, and unmaps. A grant that fails to map fails the whole request before any
    /// byte moves.
    private func transferData(_ operation: BlockOpcode, _ transfer: CheckedTransfer,
                              for connection: Connection) -> BlockStatus {
        return .error  // TODO (Lab 06): map the grants, move the data, unmap
    }
}
