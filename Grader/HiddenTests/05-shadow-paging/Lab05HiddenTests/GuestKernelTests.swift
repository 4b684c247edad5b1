import HypervisorCore
import Lab05
import Machine
import Testing

// Guest kernels the students never saw (Grader/HiddenTests/05-shadow-paging/Guests), each run
// under the submission's pager with every translation the hart uses compared with the bare
// machine's (TranslationAudit), and the console, the exit and the instruction count compared too.

/// 40 address spaces (20 with ASIDs, 20 with a full fence at each switch), then 24 more built
/// from the recycled frames with reused ASIDs.
@Suite struct AddressSpaceTests {
    @Test func manyAddressSpaces() throws {
        let run = try expectSameAsBare("spaces")
        #expect(run.statistics.addressSpaces > 1, "the pager caches one shadow table at a time")
        // The point of a cache of shadow tables: a process switched back in finds its table
        // filled (`expectSameAsBare` also asks for at most 90% of a flushing pager's exits).
        let flushing = try run.flushingPageFaultExits(maxInstructions: 20_000_000)
        #expect(run.pageFaultExits * 3 < flushing,
                "\(run.pageFaultExits) page-fault exits, \(flushing) with a pager that drops every table at every switch\(run.todo)")
    }
}

/// Remaps with address, ASID and full fences; ASID fences for a space not running; demand paging;
/// copy-on-write; a second-level table swapped; batched edits; a page table mapped into user space.
@Suite struct RemapTests {
    @Test func remapping() throws {
        let run = try expectSameAsBare("remap")
        #expect(run.statistics.fills > 0)
    }
}

/// User megapages remapped and fenced by one page's address, split, merged, misaligned, aliased.
@Suite struct SuperpageTests {
    @Test func superpages() throws { try expectSameAsBare("superpages") }
}

/// A page ager and a write-back pass that read the accessed and dirty bits the walk sets.
@Suite struct AccessedDirtyTests {
    @Test func accessedAndDirtyBits() throws { try expectSameAsBare("accessed-dirty") }
}

/// Permission changes (R/W/X/U, W without R), SUM and MXR, one frame mapped with two permissions.
@Suite struct PermissionTests {
    @Test func permissionChanges() throws { try expectSameAsBare("permissions") }
}

/// Every guest kernel on the block translator too (the engine that caches translated code).
@Suite struct TranslatorEngineTests {
    @Test(arguments: ["remap", "superpages", "accessed-dirty", "permissions"])
    func onTheTranslator(_ name: String) throws { try expectSameAsBare(name, engine: .translator) }
}
