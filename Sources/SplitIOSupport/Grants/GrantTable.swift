/// A grant reference: an index into the granting domain's grant table. The granter passes it
/// to the grantee (in a ring request, or through the toolstack for a ring page); only the pair
/// (granter, reference) names a grant, as in Xen's `grant_ref_t` + `domid_t`.
public struct GrantReference: Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt32
    public init(_ rawValue: UInt32) { self.rawValue = rawValue }
    public var description: String { "grant \(rawValue)" }
}

/// What a grant allows: Xen's `GTF_readonly` flag clear or set.
public enum GrantAccess: Sendable, Equatable {
    case readOnly
    case readWrite

    func permits(_ wanted: GrantAccess) -> Bool { self == .readWrite || wanted == .readOnly }
}

/// One entry of a domain's grant table (the facts of Xen's `grant_entry_v1`: flags, the domain
/// allowed in, the frame) plus the hypervisor's bookkeeping of who has it mapped (Xen's "active"
/// grant entry with its pin count).
struct GrantEntry {
    var grantee: DomainID
    var frame: FrameNumber
    var access: GrantAccess
    /// Live mappings through this grant. Revocation is refused while it is not zero: the grantee
    /// may be in the middle of a DMA-like copy into the frame.
    var mappings: Int = 0
}

/// The grant tables of every domain, kept by the hypervisor.
///
/// Xen keeps version-1 grant entries in pages the guest writes directly and the hypervisor reads
/// (setting `GTF_reading`/`GTF_writing` while an entry is in use). Here the hypervisor keeps the
/// entries itself and a guest changes them only through the calls below (its grant hypercalls):
/// the same facts and checks, without a second writer racing the hypervisor. Every use is checked
/// where Xen checks it: the reference is in range and in use, it was granted to the domain using
/// it, the access asked for is allowed, and the granter still owns the frame.
public final class GrantTables {
    public let memory: any PhysicalMemory
    public let frames: FrameTable
    /// Entries per domain (Xen's default v1 table is 32 frames of 512 entries; a small fixed
    /// table keeps a hostile guest from growing hypervisor memory).
    public let entriesPerDomain: Int

    private var tables: [DomainID: [GrantEntry?]] = [:]
    private var nextMappingHandle: UInt64 = 1
    private var liveMappings: [UInt64: GrantMapping] = [:]

    public init(memory: any PhysicalMemory, frames: FrameTable, entriesPerDomain: Int = 256) {
        self.memory = memory
        self.frames = frames
        self.entriesPerDomain = max(1, entriesPerDomain)
    }

    // MARK: The granter's side

    /// Grants `grantee` access to `frame`, which `granter` must own. Returns the new reference.
    public func grantAccess(from granter: DomainID, to grantee: DomainID, frame: FrameNumber,
                            access: GrantAccess) throws(SplitIOError) -> GrantReference {
        guard frames.owner(of: frame) == granter else {
            throw SplitIOError(.notOwner, "\(granter) cannot grant \(frame): it is owned by \(frames.owner(of: frame).map { "\($0)" } ?? "no domain")")
        }
        var table = tables[granter] ?? Array(repeating: nil, count: entriesPerDomain)
        guard let free = table.firstIndex(where: { $0 == nil }) else {
            throw SplitIOError(.tableFull, "\(granter)'s grant table is full (\(entriesPerDomain) entries)")
        }
        table[free] = GrantEntry(grantee: grantee, frame: frame, access: access)
        tables[granter] = table
        return GrantReference(UInt32(free))
    }

    /// Ends a grant (`gnttab_end_foreign_access`). Refused while the grantee has it mapped: the
    /// granter must wait for the grantee to unmap before reusing the frame.
    public func endAccess(_ reference: GrantReference, by granter: DomainID) throws(SplitIOError) {
        let entry = try entry(reference, of: granter)
        guard entry.mappings == 0 else {
            throw SplitIOError(.grantInUse, "\(granter) cannot revoke \(reference): \(entry.grantee) has it mapped \(entry.mappings) time(s)")
        }
        tables[granter]?[Int(reference.rawValue)] = nil
    }

    /// How many live mappings a grant has (0 if the reference is unused).
    public func mappingCount(_ reference: GrantReference, of granter: DomainID) -> Int {
        guard let table = tables[granter], Int(reference.rawValue) < table.count else { return 0 }
        return table[Int(reference.rawValue)]?.mappings ?? 0
    }

    /// Grants currently in use by `granter`.
    public func activeGrants(of granter: DomainID) -> Int {
        tables[granter]?.count(where: { $0 != nil }) ?? 0
    }

    // MARK: The grantee's side

    /// Maps a grant (`GNTTABOP_map_grant_ref`): after the checks, the returned mapping reads and
    /// writes the granted frame, and the grant cannot be revoked until `unmap`.
    public func map(_ reference: GrantReference, grantedBy granter: DomainID, into grantee: DomainID,
                    access: GrantAccess) throws(SplitIOError) -> GrantMapping {
        let entry = try validEntry(reference, granter: granter, grantee: grantee, access: access)
        tables[granter]?[Int(reference.rawValue)]?.mappings += 1
        let mapping = GrantMapping(handle: nextMappingHandle, granter: granter, grantee: grantee, reference: reference,
                                   access: access, page: SharedPage(memory: memory, frame: entry.frame))
        liveMappings[nextMappingHandle] = mapping
        nextMappingHandle += 1
        return mapping
    }

    /// Unmaps (`GNTTABOP_unmap_grant_ref`). Unmapping twice is an error, not a double decrement.
    public func unmap(_ mapping: GrantMapping) throws(SplitIOError) {
        guard liveMappings.removeValue(forKey: mapping.handle) != nil else {
            throw SplitIOError(.badGrant, "\(mapping.reference) of \(mapping.granter) is not mapped (handle \(mapping.handle))")
        }
        mapping.isMapped = false
        tables[mapping.granter]?[Int(mapping.reference.rawValue)]?.mappings -= 1
    }

    /// Copies bytes out of a granted frame without mapping it (`GNTTABOP_copy`, source side).
    public func copy(from reference: GrantReference, grantedBy granter: DomainID, to grantee: DomainID,
                     offset: Int, count: Int) throws(SplitIOError) -> [UInt8] {
        let entry = try validEntry(reference, granter: granter, grantee: grantee, access: .readOnly)
        return try SharedPage(memory: memory, frame: entry.frame).read(at: offset, count: count)
    }

    /// Copies bytes into a granted frame without mapping it (`GNTTABOP_copy`, destination side).
    public func copy(_ bytes: [UInt8], into reference: GrantReference, grantedBy granter: DomainID,
                     from grantee: DomainID, offset: Int) throws(SplitIOError) {
        let entry = try validEntry(reference, granter: granter, grantee: grantee, access: .readWrite)
        try SharedPage(memory: memory, frame: entry.frame).write(at: offset, bytes)
    }

    // MARK: Checks

    private func entry(_ reference: GrantReference, of granter: DomainID) throws(SplitIOError) -> GrantEntry {
        let index = Int(reference.rawValue)
        guard index < entriesPerDomain else {
            throw SplitIOError(.badGrant, "\(reference) of \(granter) is out of range (the table has \(entriesPerDomain) entries)")
        }
        guard let table = tables[granter], let entry = table[index] else {
            throw SplitIOError(.badGrant, "\(reference) of \(granter) is not in use")
        }
        return entry
    }

    private func validEntry(_ reference: GrantReference, granter: DomainID, grantee: DomainID,
                            access: GrantAccess) throws(SplitIOError) -> GrantEntry {
        let entry = try entry(reference, of: granter)
        guard entry.grantee == grantee else {
            throw SplitIOError(.badGrant, "\(reference) of \(granter) is granted to \(entry.grantee), not \(grantee)")
        }
        guard entry.access.permits(access) else {
            throw SplitIOError(.readOnlyGrant, "\(reference) of \(granter) is read-only; \(grantee) asked to write")
        }
        // The granter may have given the frame back to the hypervisor (or had it taken) since
        // granting; a grant is only as good as the granter's ownership at the time of use.
        guard frames.owner(of: entry.frame) == granter else {
            throw SplitIOError(.notOwner, "\(reference) of \(granter) names \(entry.frame), which \(granter) no longer owns")
        }
        return entry
    }
}

/// A live mapping of a granted frame into the grantee. Reads and writes stay inside the one
/// frame; writes need a read-write mapping; after `unmap` every access fails.
public final class GrantMapping {
    public let handle: UInt64
    public let granter: DomainID
    public let grantee: DomainID
    public let reference: GrantReference
    public let access: GrantAccess
    let page: SharedPage
    public internal(set) var isMapped = true

    init(handle: UInt64, granter: DomainID, grantee: DomainID, reference: GrantReference, access: GrantAccess,
         page: SharedPage) {
        self.handle = handle
        self.granter = granter
        self.grantee = grantee
        self.reference = reference
        self.access = access
        self.page = page
    }

    public var frame: FrameNumber { page.frame }

    /// The mapped frame as a page, for code (a ring) that reads and writes it directly. Only a
    /// read-write mapping gives one (a page has no read-only mode); fails once unmapped.
    public func sharedPage() throws(SplitIOError) -> SharedPage {
        try checkMapped()
        guard access == .readWrite else {
            throw SplitIOError(.readOnlyGrant, "\(reference) of \(granter) is mapped read-only into \(grantee); a shared page needs read-write")
        }
        return page
    }

    public func read(at offset: Int, count: Int) throws(SplitIOError) -> [UInt8] {
        try checkMapped()
        return try page.read(at: offset, count: count)
    }

    public func write(at offset: Int, _ bytes: [UInt8]) throws(SplitIOError) {
        try checkMapped()
        guard access == .readWrite else {
            throw SplitIOError(.readOnlyGrant, "\(reference) of \(granter) is mapped read-only into \(grantee)")
        }
        try page.write(at: offset, bytes)
    }

    private func checkMapped() throws(SplitIOError) {
        guard isMapped else {
            throw SplitIOError(.badGrant, "\(reference) of \(granter) was unmapped from \(grantee)")
        }
    }
}

@available(*, unavailable, message: "grant tables are confined to the thread that runs the machine")
extension GrantTables: Sendable {}
@available(*, unavailable, message: "grant mappings are confined to the thread that runs the machine")
extension GrantMapping: Sendable {}
