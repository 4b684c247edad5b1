import HypervisorCore
import Lab05
import Machine
import Testing

// Checks of the grading itself, in no rubric (the grader never runs them): run them with
// `VLAB_LAB=05 VLAB_HIDDEN_TESTS=1 swift test --filter Lab05HiddenTests.GradingSelfTests`.

/// A submission that writes nothing and hands every call to HypervisorCore's FlushingShadowPager
/// (Grader/Adversarial/05-shadow-paging/delegating is the same as a whole submission). It is
/// correct, so only the cache checks can tell it from the lab's pager.
final class ForwardingPager: ShadowPager {
    private let inner: FlushingShadowPager
    init(_ resources: ShadowPagerResources) { inner = FlushingShadowPager(resources) }
    static var factory: ShadowPagerFactory { { ForwardingPager($0) } }

    var statistics: ShadowStatistics {
        var claimed = inner.statistics
        claimed.fills /= 10  // and it may claim what it likes here
        claimed.writeProtectExits = 1
        return claimed
    }
    func activate(_ view: ShadowView) -> UInt32 { inner.activate(view) }
    func handlePageFault(at address: UInt32, _ access: GuestAccess, in view: ShadowView,
                         rules: any ShadowMappingRules) -> ShadowFaultOutcome {
        inner.handlePageFault(at: address, access, in: view, rules: rules)
    }
    func fence(virtualAddress: UInt32?, asid: UInt32?) { inner.fence(virtualAddress: virtualAddress, asid: asid) }
    func satpWritten(from old: UInt32, to new: UInt32) { inner.satpWritten(from: old, to: new) }
    func guestRAMWritten(at guestPhysical: UInt32, count: Int) { inner.guestRAMWritten(at: guestPhysical, count: count) }
    func invalidate(guestFrame: UInt32) { inner.invalidate(guestFrame: guestFrame) }
    func dropAll() { inner.dropAll() }
}

/// The forwarding pager trying to hide its refills: it lets the VMM emulate every load and store
/// (under an exit reason of its own) instead of filling a shadow entry, so the VMM counts only
/// the fetch misses as page-fault exits. Correct, and slower than either.
final class EmulatingPager: ShadowPager {
    private let inner: FlushingShadowPager
    private let memory: GuestMemory
    init(_ resources: ShadowPagerResources) {
        inner = FlushingShadowPager(resources)
        memory = resources.memory
    }
    static var factory: ShadowPagerFactory { { EmulatingPager($0) } }

    var statistics: ShadowStatistics { inner.statistics }
    func activate(_ view: ShadowView) -> UInt32 { inner.activate(view) }
    func handlePageFault(at address: UInt32, _ access: GuestAccess, in view: ShadowView,
                         rules: any ShadowMappingRules) -> ShadowFaultOutcome {
        if access != .fetch,
           case .guestPhysical(let physical, _) = GuestPageTableWalk.translate(address, access, regime: view.regime(for: access), memory: memory),
           memory.machineAddress(of: physical & ~0xFFF) != nil {
            return .emulate(reason: ExitReason("not-a-page-fault"))
        }
        return inner.handlePageFault(at: address, access, in: view, rules: rules)
    }
    func fence(virtualAddress: UInt32?, asid: UInt32?) { inner.fence(virtualAddress: virtualAddress, asid: asid) }
    func satpWritten(from old: UInt32, to new: UInt32) { inner.satpWritten(from: old, to: new) }
    func guestRAMWritten(at guestPhysical: UInt32, count: Int) { inner.guestRAMWritten(at: guestPhysical, count: count) }
    func invalidate(guestFrame: UInt32) { inner.invalidate(guestFrame: guestFrame) }
    func dropAll() { inner.dropAll() }
}

@Suite struct GradingSelfTests {
    /// Every guest the rubric runs, with the pool and instruction cap its test uses: the
    /// forwarding pager is caught twice, by the VMM's count of exits and by the object guard.
    @Test(arguments: [("spaces", 256), ("spaces", 40), ("remap", 256), ("remap", 8), ("superpages", 256),
                      ("accessed-dirty", 256), ("permissions", 256), ("hostile", 256), ("hostile", 8)])
    func forwardingToTheFlushingPagerFailsTheCacheCheck(_ name: String, _ frames: Int) throws {
        let run = try AuditedRun("\(name).elf", image: try hiddenGuest(name), shadowFrames: frames, pager: ForwardingPager.factory)
        _ = run.vm.run(maxInstructions: name == "hostile" ? 3_000_000 : 20_000_000)
        let findings = try run.cacheFindings(maxInstructions: name == "hostile" ? 3_000_000 : 20_000_000)
        #expect(findings.count == 2, "\(name), \(frames) frames: \(findings)")
        #expect(findings.first?.contains("page-fault exits under your pager") == true)
    }

    /// Emulating data accesses instead of filling them takes fewer page-fault exits but many
    /// more exits in all.
    @Test(arguments: ["spaces", "remap", "accessed-dirty"])
    func emulatingInsteadOfFillingFailsTheCacheCheck(_ name: String) throws {
        let run = try AuditedRun("\(name).elf", image: try hiddenGuest(name), pager: EmulatingPager.factory)
        let result = run.vm.run(maxInstructions: 20_000_000)
        #expect(result == .exited(code: 0))
        let findings = try run.cacheFindings(maxInstructions: 20_000_000)
        #expect(findings.contains { $0.contains("exits in all under your pager") }, "\(name): \(findings)")
    }

    /// The object guard sees nothing in the submission's own pager when it holds no other pager.
    @Test func theGuardFindsNoPagerInAFlushingPager() throws {
        let run = try AuditedRun("remap.elf", image: try hiddenGuest("remap"), pager: FlushingShadowPager.factory)
        _ = run.vm.run(maxInstructions: 20_000_000)
        #expect(otherPagers(inside: run.pager).isEmpty)
    }
}
