import HypervisorCore
import Machine
import MemoryVirtualization
import RISCV
import Testing

/// Shadow tables follow the guest's page-table edits as the ISA requires, and leave the guest's
/// accessed/dirty bits exactly as the bare machine does. The bare machine (Machine, the same
/// Sv32 MMU and TLB the VMM runs the guest on) is the oracle.
@Suite("Shadow paging coherence")
struct ShadowCoherenceTests {
    static let pageA: UInt32 = 0x1111_1111, pageB: UInt32 = 0x2222_2222, pageC: UInt32 = 0x3333_3333

    @Test("PTE edits: fenced ones are seen, unfenced ones give the old or the new translation, never another",
          arguments: ShadowGuests.pagers.indices)
    func editsAndFences(_ pagerIndex: Int) throws {
        let (name, pager) = ShadowGuests.pagers[pagerIndex]
        let image = try ShadowGuests.image("shadow-coherence.S")
        let bare = try ShadowGuests.runBare(image)
        let (guest, vm) = try ShadowGuests.runVirtualized(image, pager: pager)
        #expect(bare.stopped == "exited(code: 0)")
        #expect(guest.stopped == "exited(code: 0)", "\(name)")
        for outcome in [bare, guest] {
            // What the ISA fixes.
            #expect(outcome.register(.s3) == Self.pageA, "\(name): first load")
            #expect(outcome.register(.s5) == Self.pageB, "\(name): after SFENCE.VMA of the address")
            #expect(outcome.register(.s6) == Self.pageC, "\(name): after SFENCE.VMA of the ASID")
            #expect(outcome.register(.s8) == Self.pageA, "\(name): after SFENCE.VMA of everything")
            #expect(outcome.register(.a6) == Self.pageC, "\(name): after the root entry was repointed and fenced")
            #expect(outcome.register(.a7) == 0xFFFF_FFFF && outcome.register(.s10) == ExceptionCode.loadPageFault
                    && outcome.register(.s11) == 0x4000_0000, "\(name): an entry made invalid and fenced faults")
            // Where it allows either translation: only those two.
            #expect([Self.pageA, Self.pageB].contains(outcome.register(.s4)), "\(name): edited, not fenced")
            #expect([Self.pageC, Self.pageA].contains(outcome.register(.s7)), "\(name): fence of another ASID")
            #expect([Self.pageA, Self.pageB].contains(outcome.register(.s9)), "\(name): a never-used page edited, not fenced")
        }
        #expect(guest.retired == bare.retired)
        let statistics = vm.pager.statistics
        #expect(statistics.fills > 0)
        if name == "reference" {
            // Stale until a fence names the entry, like the bare machine's TLB: the run is the bare
            // run, except that a fence of another ASID drops nothing (the bare TLB, untagged,
            // drops everything: the ISA allows both).
            var expected = bare.registers
            expected[GuestRegister.s7.rawValue] = Self.pageC
            #expect(guest.registers == expected)
            #expect(guest.register(.s4) == Self.pageA)
            #expect(statistics.writeProtectExits > 0 && statistics.entriesInvalidated > 0)
            #expect(vm.statistics[.pageTableWrite] == statistics.writeProtectExits)
        }
        if name == "reference, eager" {
            // Seen at once: the other answer the ISA allows.
            #expect(guest.register(.s4) == Self.pageB)
            #expect(guest.register(.s7) == Self.pageA)
        }
        if name == "reference, fences only" { #expect(statistics.writeProtectExits == 0) }
        if name.hasPrefix("reference") && name != "reference, fences only" {
            // The guest's page-table pages are read-only in every shadow table that maps them.
            for table in ["root", "second", "second2"] {
                guard let page = image.symbol(named: table)?.value, let frame = vm.memory.machineAddress(of: page) else { continue }
                var mapped = 0
                for poolFrame in vm.shadowFrames.frames {
                    for index in 0..<1024 {
                        let entry = vm.shadowFrames.read(poolFrame + UInt32(4 * index))
                        guard entry & 1 != 0, entry & 0xE != 0, ShadowPTE.frame(of: entry) == frame else { continue }
                        mapped += 1
                        #expect(entry & 0x4 == 0, "\(name): the guest's \(table) page is writable through shadow entry \(hex8(entry))")
                    }
                }
                if table == "second" { #expect(mapped > 0, "\(name): the guest's stores to \(table) went through a shadow entry") }
            }
        }
    }

    @Test("accessed and dirty bits end exactly as on the bare machine", arguments: ShadowGuests.pagers.indices)
    func accessedAndDirty(_ pagerIndex: Int) throws {
        let (name, pager) = ShadowGuests.pagers[pagerIndex]
        let image = try ShadowGuests.image("shadow-accessed-dirty.S")
        let bare = try ShadowGuests.runBare(image)
        let (guest, _) = try ShadowGuests.runVirtualized(image, pager: pager)
        #expect(bare.stopped == "exited(code: 0)" && guest.stopped == "exited(code: 0)", "\(name): \(guest.stopped)")
        #expect(guest.registers == bare.registers, "\(name)")
        #expect(guest.register(.a3) == 42 && guest.register(.a4) == 0x14)
        guard let second = image.symbol(named: "second")?.value else {
            Issue.record("no `second` symbol")
            return
        }
        let accessed: UInt32 = 0x40, dirty: UInt32 = 0x80
        let expected: [(String, UInt32)] = [
            ("page0 (loaded; A cleared, fenced, loaded again)", accessed),
            ("page1 (stored; D cleared, fenced, loaded)", accessed),
            ("page2 (never touched)", 0),
            ("code (fetched)", accessed),
            ("page4 (loaded, then stored)", accessed | dirty),
        ]
        for (index, (page, bits)) in expected.enumerated() {
            let address = second + UInt32(4 * index)
            let bareEntry = ShadowGuests.word(bare.ram, at: address), guestEntry = ShadowGuests.word(guest.ram, at: address)
            #expect(bareEntry & (accessed | dirty) == bits, "bare machine, \(page): PTE \(hex8(bareEntry))")
            #expect(guestEntry == bareEntry, "\(name), \(page): PTE \(hex8(guestEntry)) under the VMM, \(hex8(bareEntry)) bare")
        }
        // Everything else in RAM too (the root's superpage entry, the data the guest wrote).
        #expect(guest.ram == bare.ram, "\(name): guest RAM differs from the bare machine's")
    }
}
