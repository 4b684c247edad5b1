import Machine
import Testing
@testable import SplitIO

@Suite("GrantTables")
struct GrantTableTests {
    let dom1 = DomainID(1), dom2 = DomainID(2)

    func setup() throws -> (SplitIOFixture, [FrameNumber], [FrameNumber]) {
        let fixture = try SplitIOFixture()
        return (fixture, fixture.giveFrames(to: dom1, count: 4), fixture.giveFrames(to: dom2, count: 4))
    }

    @Test("a read-write grant maps into the grantee, which reads and writes the granter's frame")
    func mapReadWrite() throws {
        let (fixture, frames1, _) = try setup()
        try fixture.ram.write(frames1[0].address + 100, [1, 2, 3])
        let reference = try fixture.grants.grantAccess(from: dom1, to: .dom0, frame: frames1[0], access: .readWrite)
        let mapping = try fixture.grants.map(reference, grantedBy: dom1, into: .dom0, access: .readWrite)
        #expect(try mapping.read(at: 100, count: 3) == [1, 2, 3])
        try mapping.write(at: 200, [9, 8])
        #expect(try fixture.ram.read(frames1[0].address + 200, count: 2) == [9, 8])
        #expect(fixture.grants.mappingCount(reference, of: dom1) == 1)
        try fixture.grants.unmap(mapping)
        #expect(fixture.grants.mappingCount(reference, of: dom1) == 0)
        let afterUnmap = #expect(throws: SplitIOError.self) { _ = try mapping.read(at: 0, count: 1) }
        #expect(afterUnmap?.code == .badGrant)
        let twice = #expect(throws: SplitIOError.self) { try fixture.grants.unmap(mapping) }
        #expect(twice?.code == .badGrant)
    }

    @Test("a read-only grant maps read-only and refuses writes, mappings and copies that write")
    func readOnly() throws {
        let (fixture, frames1, _) = try setup()
        let reference = try fixture.grants.grantAccess(from: dom1, to: .dom0, frame: frames1[1], access: .readOnly)
        let writable = #expect(throws: SplitIOError.self) {
            _ = try fixture.grants.map(reference, grantedBy: dom1, into: .dom0, access: .readWrite)
        }
        #expect(writable?.code == .readOnlyGrant)
        let mapping = try fixture.grants.map(reference, grantedBy: dom1, into: .dom0, access: .readOnly)
        #expect(throws: SplitIOError.self) { try mapping.write(at: 0, [1]) }
        #expect(throws: SplitIOError.self) { _ = try mapping.sharedPage() }
        #expect(throws: SplitIOError.self) {
            try fixture.grants.copy([1], into: reference, grantedBy: dom1, from: .dom0, offset: 0)
        }
        #expect(try fixture.ram.read(frames1[1].address, count: 1) == [0])
    }

    @Test("only the named grantee may use a grant; references out of range or unused are refused")
    func wrongGranteeAndBadReferences() throws {
        let (fixture, frames1, _) = try setup()
        let reference = try fixture.grants.grantAccess(from: dom1, to: .dom0, frame: frames1[0], access: .readWrite)
        let stranger = #expect(throws: SplitIOError.self) {
            _ = try fixture.grants.map(reference, grantedBy: dom1, into: dom2, access: .readOnly)
        }
        #expect(stranger?.code == .badGrant)
        #expect(throws: SplitIOError.self) {
            _ = try fixture.grants.map(GrantReference(UInt32.max), grantedBy: dom1, into: .dom0, access: .readOnly)
        }
        #expect(throws: SplitIOError.self) {
            _ = try fixture.grants.map(GrantReference(reference.rawValue + 1), grantedBy: dom1, into: .dom0, access: .readOnly)
        }
        // The same number in another domain's table is a different (here: unused) grant.
        #expect(throws: SplitIOError.self) {
            _ = try fixture.grants.map(reference, grantedBy: dom2, into: .dom0, access: .readOnly)
        }
    }

    @Test("a domain cannot grant a frame it does not own, nor use a grant after losing the frame")
    func ownership() throws {
        let (fixture, frames1, frames2) = try setup()
        let foreign = #expect(throws: SplitIOError.self) {
            _ = try fixture.grants.grantAccess(from: dom1, to: .dom0, frame: frames2[0], access: .readWrite)
        }
        #expect(foreign?.code == .notOwner)
        let unowned = FrameNumber(containing: 0x8008_0000)
        #expect(throws: SplitIOError.self) {
            _ = try fixture.grants.grantAccess(from: dom1, to: .dom0, frame: unowned, access: .readOnly)
        }
        let reference = try fixture.grants.grantAccess(from: dom1, to: .dom0, frame: frames1[2], access: .readWrite)
        fixture.frames.assign([frames1[2]], to: dom2)  // the hypervisor moves the frame to dom2
        let stale = #expect(throws: SplitIOError.self) {
            _ = try fixture.grants.map(reference, grantedBy: dom1, into: .dom0, access: .readOnly)
        }
        #expect(stale?.code == .notOwner)
    }

    @Test("revoking a mapped grant is refused until the grantee unmaps it")
    func revocation() throws {
        let (fixture, frames1, _) = try setup()
        let reference = try fixture.grants.grantAccess(from: dom1, to: .dom0, frame: frames1[0], access: .readWrite)
        let first = try fixture.grants.map(reference, grantedBy: dom1, into: .dom0, access: .readWrite)
        let second = try fixture.grants.map(reference, grantedBy: dom1, into: .dom0, access: .readOnly)
        let busy = #expect(throws: SplitIOError.self) { try fixture.grants.endAccess(reference, by: dom1) }
        #expect(busy?.code == .grantInUse)
        try fixture.grants.unmap(first)
        #expect(throws: SplitIOError.self) { try fixture.grants.endAccess(reference, by: dom1) }
        try fixture.grants.unmap(second)
        try fixture.grants.endAccess(reference, by: dom1)
        #expect(fixture.grants.activeGrants(of: dom1) == 0)
        #expect(throws: SplitIOError.self) {
            _ = try fixture.grants.map(reference, grantedBy: dom1, into: .dom0, access: .readOnly)
        }
        // Another domain cannot end dom1's grant.
        let other = try fixture.grants.grantAccess(from: dom1, to: .dom0, frame: frames1[0], access: .readOnly)
        #expect(throws: SplitIOError.self) { try fixture.grants.endAccess(other, by: dom2) }
    }

    @Test("grant copy moves bytes within the page only")
    func copy() throws {
        let (fixture, frames1, _) = try setup()
        let reference = try fixture.grants.grantAccess(from: dom1, to: .dom0, frame: frames1[3], access: .readWrite)
        try fixture.grants.copy([5, 6, 7], into: reference, grantedBy: dom1, from: .dom0, offset: 4093)
        #expect(try fixture.grants.copy(from: reference, grantedBy: dom1, to: .dom0, offset: 4093, count: 3) == [5, 6, 7])
        let over = #expect(throws: SplitIOError.self) {
            _ = try fixture.grants.copy(from: reference, grantedBy: dom1, to: .dom0, offset: 4094, count: 3)
        }
        #expect(over?.code == .outOfBounds)
        #expect(try fixture.ram.read(frames1[3].address + 4096, count: 1) == [0])
    }

    @Test("the table is bounded: a full table refuses new grants, freed entries are reused")
    func bounded() throws {
        let fixture = try SplitIOFixture()
        let frame = fixture.giveFrames(to: dom1, count: 1)[0]
        let grants = GrantTables(memory: fixture.ram, frames: fixture.frames, entriesPerDomain: 4)
        let references = try (0..<4).map { _ in try grants.grantAccess(from: dom1, to: .dom0, frame: frame, access: .readOnly) }
        let full = #expect(throws: SplitIOError.self) {
            _ = try grants.grantAccess(from: dom1, to: .dom0, frame: frame, access: .readOnly)
        }
        #expect(full?.code == .tableFull)
        try grants.endAccess(references[2], by: dom1)
        #expect(try grants.grantAccess(from: dom1, to: .dom0, frame: frame, access: .readOnly) == references[2])
    }
}
