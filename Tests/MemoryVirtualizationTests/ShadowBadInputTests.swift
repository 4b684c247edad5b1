import Hypervisor
import HypervisorCore
import Machine
import MemoryVirtualization
import RISCV
import Testing

/// Hostile guest page tables (issue 7's bad-input list): a PTE pointing outside the domain's
/// memory, a loop back to the root, reserved bit patterns, a PTE naming the VMM's own frames. Each
/// is the guest fault the bare machine raises (or the translation it makes), never a host crash,
/// and no shadow entry ever reaches a frame outside the guest's own memory.
@Suite("Shadow paging bad input")
struct ShadowBadInputTests {
    @Test("hostile page tables: the bare machine's faults, and nothing outside the guest's frames", arguments: ShadowGuests.pagers.indices)
    func hostileTables(_ pagerIndex: Int) throws {
        let (name, pager) = ShadowGuests.pagers[pagerIndex]
        let image = try ShadowGuests.image("shadow-bad-tables.S")
        let bare = try ShadowGuests.runBare(image)
        let (guest, vm) = try ShadowGuests.runVirtualized(image, pager: pager)
        #expect(bare.stopped == "exited(code: 0)")
        #expect(guest.stopped == "exited(code: 0)", "\(name): \(guest.stopped)")
        #expect(guest.registers == bare.registers, "\(name)")
        #expect(guest.ram == bare.ram, "\(name)")
        // Seven of the loads fault (outside memory, W without R, above 4 GiB, non-leaf at level 0,
        // root entry outside memory, the root read as a leaf pointer, misaligned superpage).
        #expect(bare.register(.s9) == 7, "bare machine took \(bare.register(.s9)) faults")
        #expect(guest.register(.a2) == 0xDEAD_BEEF, "\(name): the store through a PTE naming 0x800f0000 reached the guest's own frame")
        #expect(guest.register(.s3) == 0x7777_7777, "\(name): a non-leaf with U/A/D set is followed, as the bare MMU does")
        Self.checkPoolReachesOnlyGuestFrames(vm, name)
    }

    @Test("domains sharing one hart, one of them with hostile tables: each ends as it does alone on a bare machine")
    func hostileDomainBesideOthers() throws {
        var configuration = Dom0.Configuration()
        configuration.machineMemory = 32 << 20
        configuration.sliceInstructions = 300  // interleave them finely
        let dom0 = try Dom0(configuration: configuration, output: .silent)
        let names = ["shadow-bad-tables.S", "shadow-address-spaces.S", "shadow-accessed-dirty.S"]
        var domains: [(String, DomainID, ShadowGuests.Outcome)] = []
        for name in names {
            let image = try ShadowGuests.image(name)
            domains.append((name, try dom0.create(image: image, name: name, memorySize: UInt32(ShadowGuests.ramSize),
                                                  instructionBudget: 10_000_000), try ShadowGuests.runBare(image)))
        }
        dom0.unpauseAll()
        dom0.run()
        for (name, id, bare) in domains {
            guard let vm = dom0.domain(id)?.vm else {
                Issue.record("\(name): domain gone")
                continue
            }
            #expect(dom0.domain(id)?.state == .exited(code: 0), "\(name): \(String(describing: dom0.domain(id)?.state))")
            #expect((0..<32).map { vm.vcpu.register($0) } == bare.registers, "\(name)")
            #expect(vm.memory.read(0x8000_0000, count: ShadowGuests.ramSize) == bare.ram, "\(name): RAM differs from the bare run")
            Self.checkPoolReachesOnlyGuestFrames(vm, name)
        }
    }

    /// Every valid entry in every frame of the pool: a leaf maps one of the guest's own machine
    /// frames; a pointer points at a pool frame. The VMM's frames never hold guest data.
    static func checkPoolReachesOnlyGuestFrames(_ vm: VirtualMachine, _ name: String) {
        let guestFrames = Set(vm.memory.machineFrames), pool = vm.shadowFrames
        var leaves = 0
        for frame in pool.frames {
            for index in 0..<1024 {
                let entry = pool.read(frame + UInt32(index * 4))
                #expect(entry != 0xDEAD_BEEF, "\(name): the guest's store reached shadow frame 0x\(hex8(frame))")
                guard entry & 1 != 0 else { continue }
                let target = ShadowPTE.frame(of: entry)
                if entry & 0xE != 0 {
                    leaves += 1
                    #expect(guestFrames.contains(target), "\(name): shadow leaf \(hex8(entry)) maps machine frame 0x\(hex8(target)), not the guest's")
                    #expect(entry & 0x10 != 0, "\(name): shadow leaves are U pages")
                } else {
                    #expect(pool.owns(target), "\(name): shadow pointer \(hex8(entry)) leaves the pool")
                }
            }
        }
        #expect(leaves > 0)
    }

    @Test("a guest whose tables make a fill impossible stops with a domain error naming it, the host runs on")
    func unservableFetch() throws {
        // Kernel code on a page the guest maps execute-only... is servable; what is not: a fetch the
        // VMM's rules forbid and the pager cannot emulate. Drive the pager directly with such rules.
        let image = try ShadowGuests.image("shadow-coherence.S")
        let (_, vm) = try ShadowGuests.runVirtualized(image, pager: ReferenceShadowPager.factory())
        struct NoFetch: ShadowMappingRules {
            func limit(forGuestPage guestPage: UInt32, access: GuestAccess, view: ShadowView) -> ShadowMappingLimit {
                .map([.readable, .writable])
            }
        }
        var vcpu = VirtualCPU(instructionsPerTimerTick: 1)
        vcpu.privilege = .machine
        let view = ShadowView(vcpu)
        _ = vm.pager.activate(view)
        let outcome = vm.pager.handlePageFault(at: 0x8000_0000, .fetch, in: view, rules: NoFetch())
        guard case .domainError(let message) = outcome else {
            Issue.record("expected a domain error, got \(outcome)")
            return
        }
        #expect(message.contains("0x80000000"))
        // Outside the guest's RAM: reported, not mapped.
        #expect(vm.pager.handlePageFault(at: 0x9000_0000, .load, in: view, rules: NoFetch()) == .notGuestRAM(guestPhysical: 0x9000_0000))
    }
}
