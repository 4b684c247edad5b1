import Hypervisor
import HypervisorCore
import Machine
import MemoryVirtualization
import RISCV
import Testing

/// Running out of machine frames under over-commitment: the reclaim path asks the balloons first,
/// then shares pages, then refuses the request with an error that says what was tried. Nothing is
/// ever written where it should not be.
@Suite("Over-commitment")
struct OvercommitTests {
    static let limit: UInt64 = 50_000_000

    @Test("a domain that does not fit is made room for by the balloon of a running domain first")
    func balloonFirst() throws {
        let pvImage = try OvercommitSupport.image("kernel-pv.elf"), image = try OvercommitSupport.image("kernel.elf")
        let pvAlone = try BareMetal.run(pvImage, maxInstructions: Self.limit), alone = try BareMetal.run(image, maxInstructions: Self.limit)
        let dom0 = try OvercommitSupport.dom0(domains: 1, memorySize: 4 << 20, overcommit: true)
        let big = try dom0.create(image: pvImage, memorySize: 4 << 20, instructionBudget: Self.limit, mode: ParavirtualMode())
        try dom0.unpause(big)
        let balloon = try #require(dom0.domain(big)?.balloon)
        var slices = 0
        while !balloon.hasDriver, slices < 50, dom0.runSlice() { slices += 1 }
        #expect(balloon.hasDriver && dom0.frames.freeFrames == 0)

        let small = try dom0.create(image: image, memorySize: 1 << 20, instructionBudget: Self.limit)
        let attempt = try #require(dom0.frames.reclaimLog.last)
        #expect(attempt.granted && attempt.steps.map(\.name) == ["balloon"], "\(attempt)")
        #expect(attempt.steps[0].freed >= 256 + 256 && balloon.size >= 512)
        dom0.unpauseAll()
        dom0.run()
        #expect(dom0.consoleTranscript(big) == pvAlone.console && dom0.domain(big)?.state == .exited(code: 0))
        #expect(dom0.consoleTranscript(small) == alone.console && dom0.domain(small)?.state == .exited(code: 0))
    }

    @Test("with no balloon to inflate, sharing makes room; beyond that the request is refused, saying what was tried")
    func sharingThenRefuse() throws {
        let image = try OvercommitSupport.image("kernel.elf")
        var configuration = Dom0.Configuration()
        configuration.overcommit = true
        configuration.shadowFramesPerDomain = 64
        configuration.machineMemory = 2 * ((1 << 20) + 64 * 4096)
        let dom0 = try Dom0(configuration: configuration, output: .silent)
        let ids = try (0..<2).map { _ in try dom0.create(image: image, memorySize: 1 << 20) }
        let views = try ids.map { OvercommitSupport.view(try #require(dom0.domain($0)?.vm.memory)) }
        #expect(dom0.frames.freeFrames == 0)

        let third = try dom0.create(image: image, memorySize: 1 << 20)
        let attempt = try #require(dom0.frames.reclaimLog.last)
        #expect(attempt.granted && attempt.steps.map(\.name) == ["balloon", "sharing"], "\(attempt)")
        #expect(attempt.steps[0].freed == 0 && attempt.steps[1].freed >= 256 + 64)
        #expect(try ids.map { OvercommitSupport.view(try #require(dom0.domain($0)?.vm.memory)) } == views)

        let free = dom0.frames.freeFrames
        let error = #expect(throws: HypervisorError.self) { try dom0.create(image: image, memorySize: 16 << 20) }
        let message = error?.message ?? ""
        #expect(message.contains("balloon freed 0") && message.contains("sharing freed") && message.contains("refused"), "\(message)")
        #expect(dom0.list().map(\.id) == ids + [third], "no half-made domain")
        #expect(dom0.frames.freeFrames >= free)
        #expect(dom0.frames.reclaimLog.last?.granted == false)
    }

    @Test("a share that cannot be broken for want of a frame refuses the write; no sharer's bytes change")
    func shareBreakRefused() throws {
        let image = try OvercommitSupport.image("kernel.elf")
        let dom0 = try OvercommitSupport.dom0(domains: 2, memorySize: 1 << 20)
        let memories = try (0..<2).map { _ in try #require(dom0.domain(try dom0.create(image: image, memorySize: 1 << 20))?.vm.memory) }
        dom0.sharePages()
        let views = memories.map(OvercommitSupport.view)
        let hoard = try dom0.frames.take(dom0.frames.freeFrames, for: "test hoard")
        #expect(!memories[0].write32(0x8000_0000, 0xFFFF_FFFF))
        #expect(!memories[0].write(0x8000_0FFC, [1, 2, 3, 4, 5, 6, 7, 8]))
        #expect(throws: AllotmentError.self) { try memories[0].breakShare(guestFrame: 0x8000_0000) }
        #expect(memories.map(OvercommitSupport.view) == views)
        #expect(dom0.sharing.statistics.failedBreaks >= 2)
        dom0.frames.give(hoard)
        #expect(memories[0].write32(0x8000_0000, 0xFFFF_FFFF))
        #expect(memories[0].read32(0x8000_0000) == 0xFFFF_FFFF && memories[1].read32(0x8000_0000) != 0xFFFF_FFFF)
    }

    @Test("a running guest whose store needs a private copy when no frame is left is stopped with a report; its sharer is untouched")
    func guestStoreRefused() throws {
        let image = try OvercommitSupport.image("kernel.elf")
        let alone = try BareMetal.run(image, maxInstructions: Self.limit)
        let dom0 = try OvercommitSupport.dom0(domains: 2, memorySize: 1 << 20)
        let ids = try (0..<2).map { _ in try dom0.create(image: image, memorySize: 1 << 20, instructionBudget: Self.limit) }
        let other = try #require(dom0.domain(ids[1])?.vm.memory)
        dom0.sharePages()
        let view = OvercommitSupport.view(other)
        let hoard = try dom0.frames.take(dom0.frames.freeFrames, for: "test hoard")
        try dom0.unpause(ids[0])
        dom0.run()
        guard case .faulted(let fault)? = dom0.domain(ids[0])?.state else {
            Issue.record("the domain should have been stopped, is \(String(describing: dom0.domain(ids[0])?.state))")
            return
        }
        #expect(fault.cause.contains("store to") && fault.cause.contains("frames"), "\(fault)")
        #expect(OvercommitSupport.view(other) == view, "nothing reached the sharer")
        dom0.frames.give(hoard)
        try dom0.unpause(ids[1])
        dom0.run()
        #expect(dom0.domain(ids[1])?.state == .exited(code: 0) && dom0.consoleTranscript(ids[1]) == alone.console)
    }
}
