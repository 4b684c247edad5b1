import HypervisorCore
import Lab05
import Machine
import Testing

/// Page tables that point outside the guest's memory, into a device, at the top of the address
/// space, below and above the RAM, W without R, a pointer at the last level, a loop through the
/// root table (used to read and edit the root itself), and at the end a satp whose root is
/// outside RAM while the kernel runs. Each case must be the fault the bare machine raises; the
/// last one a trap loop the VMM stops as a guest fault, never a host crash.
@Suite struct HostileGuestTests {
    @Test func hostilePageTables() throws {
        let run = try AuditedRun("hostile.elf", image: try hiddenGuest("hostile"))
        try run.run(maxInstructions: 3_000_000)
        run.expectSameAsBare(ending: { result in
            if case .faulted = result { return true }
            return false
        })
        #expect(run.output.contains("and now the root outside RAM"), "the guest did not reach its last case:\n\(run.output)\(run.todo)")
        #expect(!run.output.contains("not reached"))
        try run.expectCachesAcrossSwitches(maxInstructions: 3_000_000)
    }

    /// The same with the least pool the VMM allows (8 frames): evictions in the middle of a loop.
    @Test func hostilePageTablesTinyPool() throws {
        let run = try AuditedRun("hostile.elf", image: try hiddenGuest("hostile"), shadowFrames: 8)
        try run.run(maxInstructions: 3_000_000)
        run.expectSameAsBare(ending: { result in
            if case .faulted = result { return true }
            return false
        })
        #expect(run.output.contains("and now the root outside RAM"), "the guest did not reach its last case:\n\(run.output)\(run.todo)")
        try run.expectCachesAcrossSwitches(maxInstructions: 3_000_000)
    }
}
