import Hypervisor
import HypervisorCore
import Machine
import MemoryVirtualization
import RISCV
import Testing

/// Content-based page sharing (ESX style): identical frames across domains become one read-only
/// machine frame; nothing a domain sees changes; a write gets a private copy.
@Suite("Page sharing")
struct SharingTests {
    @Test("identical domains share their image and zero frames after loading; each sees exactly what it had")
    func identicalDomainsShare() throws {
        let image = try OvercommitSupport.image("kernel.elf")
        let dom0 = try OvercommitSupport.dom0(domains: 3, memorySize: 1 << 20)
        let ids = try (0..<3).map { _ in try dom0.create(image: image, memorySize: 1 << 20) }
        let memories = try ids.map { try #require(dom0.domain($0)?.vm.memory) }
        let before = memories.map(OvercommitSupport.view)
        let machineFramesBefore = Set(memories.flatMap(\.machineFrames))
        let freeBefore = dom0.frames.freeFrames

        let scan = dom0.sharePages()
        let report = dom0.memoryReport()
        #expect(scan.framesHashed == 3 * 256)
        // Three identical 256-frame domains: every frame of domains 2 and 3 matches one of domain 1,
        // and domain 1's own zero frames match each other.
        #expect(report.framesSaved > 2 * 256, "saved \(report.framesSaved): \(report)")
        #expect(report.framesPromised == 3 * 256)
        #expect(report.framesUsed == report.framesPromised - report.framesSaved)
        #expect(dom0.frames.freeFrames == freeBefore + report.framesSaved, "every duplicate went back to the pool")
        #expect(memories.map(OvercommitSupport.view) == before, "sharing is invisible to the guests")
        // The duplicates are free and scrubbed; what stays mapped is read-only wherever shared.
        let stillMapped = Set(memories.flatMap(\.machineFrames))
        for frame in machineFramesBefore.subtracting(stillMapped) {
            #expect(dom0.frames.isFree(frame) && OvercommitSupport.isZero(dom0.machine, frame))
        }
        for memory in memories {
            for frame in 0..<memory.frameCount where dom0.sharing.sharers(of: memory.machineFrames[frame]) > 0 {
                #expect(!memory.isWritable(guestFrame: GuestMemory.guestPhysical(ofFrame: frame)))
            }
        }
        // A second scan finds nothing new.
        #expect(dom0.sharePages().merges == 0)
    }

    @Test("a hash match is only a hint: frames whose hashes collide but whose bytes differ are never merged")
    func collisionsAreCompared() throws {
        let machine = try Machine(configuration: { var c = MachineConfiguration(); c.ramSize = 64 * 4096; return c }())
        let pool = MachineFramePool(machine: machine, ramSize: 64 * 4096)
        let sharing = PageSharing(pool: pool, hash: { _ in 42 })   // every frame collides
        let a = GuestMemory(machine: machine, machineFrames: try pool.take(8, for: "a"))
        let b = GuestMemory(machine: machine, machineFrames: try pool.take(8, for: "b"))
        for (index, memory) in [a, b].enumerated() {
            for frame in 0..<8 {
                // Frames 0-3 of both hold the same bytes; frames 4-7 differ between a and b.
                let value = UInt32(frame < 4 ? frame : 100 * (index + 1) + frame)
                memory.write32(GuestMemory.guestPhysical(ofFrame: frame) + 64, value)
            }
        }
        sharing.register(a, name: "a")
        sharing.register(b, name: "b")
        let before = [a, b].map(OvercommitSupport.view)
        let result = sharing.scan()
        #expect(result.merges == 4)
        #expect(result.hashCollisions > 0)
        #expect([a, b].map(OvercommitSupport.view) == before)
        #expect((4..<8).allSatisfy { a.isWritable(frame: $0) && b.isWritable(frame: $0) })
        #expect((0..<4).allSatisfy { a.machineFrames[$0] == b.machineFrames[$0] })
    }

    @Test("a write to a shared frame breaks the share: the writer gets a copy, the others keep the old bytes")
    func writeBreaksShare() throws {
        let image = try OvercommitSupport.image("kernel.elf")
        let dom0 = try OvercommitSupport.dom0(domains: 3, memorySize: 1 << 20)
        let ids = try (0..<3).map { _ in try dom0.create(image: image, memorySize: 1 << 20) }
        let memories = try ids.map { try #require(dom0.domain($0)?.vm.memory) }
        dom0.sharePages()
        let address: UInt32 = 0x8000_0000   // the first code page: shared by all three
        let shared = memories[0].machineFrames[0]
        #expect(dom0.sharing.sharers(of: shared) == 3)
        var invalidated: [UInt32] = []
        memories[1].observeRemapping { invalidated.append($0) }
        let old = try #require(memories[1].read32(address))
        let oldEighth = try #require(memories[0].read32(address + 8))

        #expect(memories[1].write32(address + 4, 0xDEAD_BEEF))
        #expect(invalidated == [address], "the writer's cached translations of that frame are dropped")
        #expect(memories[1].read32(address + 4) == 0xDEAD_BEEF)
        #expect(memories[1].read32(address) == old)
        #expect(memories[1].isWritable(guestFrame: address) && memories[1].machineFrames[0] != shared)
        for other in [memories[0], memories[2]] {
            #expect(other.read32(address + 4) != 0xDEAD_BEEF)
            #expect(other.machineFrames[0] == shared && !other.isWritable(guestFrame: address))
        }
        #expect(dom0.sharing.sharers(of: shared) == 2)
        #expect(dom0.memoryReport().shareBreaks == 1)

        // The second writer leaves the third as the only user: its frame is private (writable) again.
        #expect(memories[2].write32(address + 8, 7))
        #expect(dom0.sharing.sharers(of: shared) == 0)
        #expect(memories[0].isWritable(guestFrame: address) && memories[0].machineFrames[0] == shared)
        #expect(memories[0].read32(address + 8) == oldEighth && memories[2].read32(address + 8) == 7)
    }

    @Test("isolation: a domain's private data is never shared, and destroying a sharer leaves the others' bytes intact")
    func isolation() throws {
        let image = try OvercommitSupport.image("kernel.elf")
        let dom0 = try OvercommitSupport.dom0(domains: 2, memorySize: 1 << 20)
        let one = try dom0.create(image: image, memorySize: 1 << 20)
        let two = try dom0.create(image: image, memorySize: 1 << 20)
        let first = try #require(dom0.domain(one)?.vm.memory), second = try #require(dom0.domain(two)?.vm.memory)
        let secretPage: UInt32 = 0x800F_0000
        let secret = Array("dom1's secret".utf8)
        #expect(first.write(secretPage, secret))
        dom0.sharePages()
        let secretFrame = try #require(first.frameIndex(containing: secretPage))
        #expect(first.isWritable(frame: secretFrame), "a frame nobody else has stays private")
        #expect(dom0.sharing.sharers(of: first.machineFrames[secretFrame]) == 0)
        #expect(second.read(secretPage, count: secret.count) == [UInt8](repeating: 0, count: secret.count))
        #expect(!Set(second.machineFrames).contains(first.machineFrames[secretFrame]))

        let secondView = OvercommitSupport.view(second)
        let firstPrivate = (0..<first.frameCount).filter { first.isWritable(frame: $0) }.map { first.machineFrames[$0] }
        try dom0.destroy(one)
        #expect(OvercommitSupport.view(second) == secondView, "frames dom1 shared with dom2 stay dom2's")
        // What is still shared is shared only among dom2's own frames (its zero pages).
        var mappings: [UInt32: Int] = [:]
        for frame in second.machineFrames { mappings[frame, default: 0] += 1 }
        for (frame, count) in mappings { #expect(dom0.sharing.sharers(of: frame) == (count > 1 ? count : 0)) }
        for frame in firstPrivate { #expect(dom0.frames.isFree(frame) && OvercommitSupport.isZero(dom0.machine, frame)) }
    }

    @Test("guest stores break shares: one kernel runs to the end on shared frames, the paused others' memory does not change")
    func guestStoresBreakShares() throws {
        let image = try OvercommitSupport.image("kernel.elf")
        let alone = try BareMetal.run(image, maxInstructions: 50_000_000)
        let dom0 = try OvercommitSupport.dom0(domains: 3, memorySize: 1 << 20)
        let ids = try (0..<3).map { _ in try dom0.create(image: image, memorySize: 1 << 20, instructionBudget: 50_000_000) }
        let memories = try ids.map { try #require(dom0.domain($0)?.vm.memory) }
        dom0.sharePages()
        let before = memories.map(OvercommitSupport.view)
        try dom0.unpause(ids[0])
        dom0.run()
        #expect(dom0.domain(ids[0])?.state == .exited(code: 0))
        #expect(dom0.consoleTranscript(ids[0]) == alone.console)
        let breaks = dom0.memoryReport().shareBreaks
        #expect(breaks > 0, "the kernel writes its data, stacks and page tables: frames that were shared")
        #expect(OvercommitSupport.view(memories[0]) != before[0])
        #expect(OvercommitSupport.view(memories[1]) == before[1] && OvercommitSupport.view(memories[2]) == before[2],
                "the other sharers still see the old contents")
        // Now the others run on what is still shared, and print the same.
        dom0.unpauseAll()
        dom0.run()
        for id in ids.dropFirst() {
            #expect(dom0.domain(id)?.state == .exited(code: 0) && dom0.consoleTranscript(id) == alone.console)
        }
    }

    @Test("N identical domains run while sharing, rescanned as they go: each prints what it prints alone", arguments: [1, 3])
    func experiment(_ domains: Int) throws {
        let image = try OvercommitSupport.image("kernel.elf")
        let report = try PageSharingExperiment.run(image: image, domains: domains, memorySize: 1 << 20, scanEverySlices: 5)
        #expect(report.outputsMatchAlone, "\(report)")
        #expect(report.framesPromised == domains * 256)
        #expect(report.framesUsedAtBoot + report.framesSavedAtBoot == report.framesPromised)
        // Even one domain shares its own zero frames; each further one shares nearly all of its frames.
        #expect(report.framesSavedAtBoot > domains * 200, "\(report)")
        #expect(report.zeroFramesSavedAtBoot > 0 && report.zeroFramesSavedAtBoot <= report.framesSavedAtBoot)
        #expect(report.shareBreaks > 0 && report.peakFramesUsed >= report.framesUsedAtBoot)
        #expect(report.framesSavedAtEnd > 0)
        #expect(report.tableRow.hasSuffix("same as alone"))
    }
}
