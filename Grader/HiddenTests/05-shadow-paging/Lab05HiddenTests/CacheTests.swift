import HypervisorCore
import Lab05
import Machine
import Testing

/// What makes a shadow pager worth its complexity: tables that survive context switches and
/// fences (kept coherent by write protection instead), and a bounded pool that evicts.
@Suite struct ShadowCacheTests {
    /// The many-address-spaces guest under the submission and under the simplest correct pager
    /// (HypervisorCore's FlushingShadowPager, which drops every table at every satp write and
    /// fence): switching back to a cached address space must not refill it. The exits are the
    /// VMM's count, not the pager's own statistics.
    @Test func tablesSurviveContextSwitches() throws {
        let submission = try AuditedRun("spaces.elf", image: try hiddenGuest("spaces"))
        try submission.run()
        submission.expectSameAsBare()
        let yours = submission.pageFaultExits, theirs = try submission.flushingPageFaultExits(maxInstructions: 20_000_000)
        #expect(yours * 3 < theirs, "your pager took \(yours) page-fault exits, a pager that drops everything at every switch \(theirs): shadow tables must survive satp switches and fences\(submission.todo)")
        #expect(submission.statistics.writeProtectExits > 0 && submission.vm.statistics[.pageTableWrite] > 0,
                "no store to a guest page table ever exited: how does the pager see PTE edits?")
        try submission.expectCachesAcrossSwitches()
    }

    /// The same guest with a pool of 40 frames (about ten shadow tables): it must still run as
    /// bare, with evictions, never more frames than the pool.
    @Test func smallPoolEvicts() throws {
        let run = try AuditedRun("spaces.elf", image: try hiddenGuest("spaces"), shadowFrames: 40)
        try run.run()
        run.expectSameAsBare()
        #expect(run.statistics.evictions > 0, "80 shadow tables in 40 frames, and nothing was evicted?\(run.todo)")
        #expect(run.statistics.peakFramesInUse <= 40)
    }

    /// The remapping guest with a pool of only 8 frames, the least the VMM allows.
    @Test func tinyPool() throws {
        let run = try AuditedRun("remap.elf", image: try hiddenGuest("remap"), shadowFrames: 8)
        try run.run()
        run.expectSameAsBare()
    }
}

/// The teaching kernel on the block translator (the public tests run it on the interpreter).
@Suite struct TeachingKernelTests {
    @Test func teachingKernelOnTheTranslator() throws {
        let run = try AuditedRun("kernel.elf", image: try teachingKernel(), memory: 64 << 20, engine: .translator)
        try run.run(maxInstructions: 5_000_000)
        run.expectSameAsBare()
        #expect(run.bareOutput.contains("shutting down"))
        try run.expectCachesAcrossSwitches(maxInstructions: 5_000_000)
    }
}
