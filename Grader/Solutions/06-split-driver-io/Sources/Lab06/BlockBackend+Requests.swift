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
        // BEGIN SOLUTION
        // STUB: return .error  // TODO (Lab 06): READ/WRITE through `check` and `transferData`, FLUSH, EOPNOTSUPP for the rest
        switch request.operation {
        case .read, .write:
            guard let transfer = check(request, disk: connection.disk) else { return .error }
            return transferData(request.operation, transfer, for: connection)
        case .flush:
            // A flush carries no data here; a flush with segments is a request we do not understand.
            guard request.segmentCount == 0 else { return .error }
            do {
                try connection.disk.flush()
                return .okay
            } catch {
                return .error
            }
        default:
            // WRITE_BARRIER, DISCARD, INDIRECT and unknown operations: Xen's answer, EOPNOTSUPP.
            return .notSupported
        }
        // END SOLUTION
    }

    /// The checks of Xen's blkback, on the copy: 1...11 segments, each `first <= last < 8`, and the
    /// whole run of sectors inside the disk (with the sum computed so that it cannot wrap).
    func check(_ request: BlockRequest, disk: RawDiskImage) -> CheckedTransfer? {
        // BEGIN SOLUTION
        // STUB: return nil  // TODO (Lab 06): segment count, first <= last < 8, the sectors inside the disk
        let count = Int(request.segmentCount)
        guard count >= 1, count <= BlockProtocol.maxSegmentsPerRequest, request.segments.count == count else { return nil }
        var sectors = 0
        for segment in request.segments {
            guard segment.firstSector <= segment.lastSector,
                  Int(segment.lastSector) < BlockProtocol.sectorsPerPage else { return nil }
            sectors += Int(segment.lastSector - segment.firstSector) + 1
        }
        let (end, overflow) = request.sector.addingReportingOverflow(UInt64(sectors))
        guard !overflow, end <= disk.sectorCount else { return nil }
        return CheckedTransfer(firstDiskSector: request.sector, segments: request.segments, sectorCount: sectors)
        // END SOLUTION
    }

    /// Maps every segment's page (write access only for READ, where the backend fills the page),
    /// moves the data, and unmaps. A grant that fails to map fails the whole request before any
    /// byte moves.
    private func transferData(_ operation: BlockOpcode, _ transfer: CheckedTransfer,
                              for connection: Connection) -> BlockStatus {
        // BEGIN SOLUTION
        // STUB: return .error  // TODO (Lab 06): map the grants, move the data, unmap
        let access: GrantAccess = operation == .read ? .readWrite : .readOnly
        var mappings: [GrantMapping] = []
        defer {
            for mapping in mappings { try? grants.unmap(mapping) }
        }
        for segment in transfer.segments {
            guard let mapping = try? grants.map(segment.grant, grantedBy: connection.frontend, into: domain, access: access) else {
                return .error
            }
            mappings.append(mapping)
        }
        let sectorSize = BlockProtocol.sectorSize
        let diskOffset = transfer.firstDiskSector * UInt64(sectorSize)
        do {
            if operation == .write {
                // Gather the pages' sectors, then one write: the image changes only if every page read.
                var data: [UInt8] = []
                data.reserveCapacity(transfer.sectorCount * sectorSize)
                for (segment, mapping) in zip(transfer.segments, mappings) {
                    data += try mapping.read(at: Int(segment.firstSector) * sectorSize,
                                             count: Int(segment.lastSector - segment.firstSector + 1) * sectorSize)
                }
                try connection.disk.write(at: diskOffset, data)
            } else {
                // A fresh buffer per request, filled entirely from the image or not used at all:
                // nothing of another request (another frontend's data) can ride along.
                let data = try connection.disk.read(at: diskOffset, count: transfer.sectorCount * sectorSize)
                var at = 0
                for (segment, mapping) in zip(transfer.segments, mappings) {
                    let bytes = Int(segment.lastSector - segment.firstSector + 1) * sectorSize
                    try mapping.write(at: Int(segment.firstSector) * sectorSize, Array(data[at..<at + bytes]))
                    at += bytes
                }
            }
            return .okay
        } catch {
            return .error
        }
        // END SOLUTION
    }
}
