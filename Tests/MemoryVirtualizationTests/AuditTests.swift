import Hypervisor
import HypervisorCore
import Machine
import RISCV
import Testing

/// TranslationAudit (HypervisorCore): every translation the hart uses for a guest equals the bare
/// machine's at the same retired count, under shadow and nested paging; and a wrong one is caught.
@Suite("Translation audit")
struct AuditTests {
    @Test("the shipped kernel under trap-and-emulate: every shadow translation equals the bare machine's",
          arguments: ExecutionEngineKind.allCases, AuditFixtures.Pager.allCases)
    func kernelUnderShadowPaging(_ engine: ExecutionEngineKind, _ pager: AuditFixtures.Pager) throws {
        let image = try AuditFixtures.kernel()
        let console = ConsoleBytes()
        let vm = try AuditFixtures.shadowGuest(image, engine: engine, pager: pager, console: console.console)
        let audit = try TranslationAudit(image: image, guest: .init(vm))
        let report = audit.run()
        #expect(report.passed, "\(report)")
        #expect(report.guestResult == .exited(code: 0))
        #expect(report.bareStop == .exited(code: 0))
        #expect(report.bareInstructions == report.guestInstructions)
        #expect(report.bareConsole == console.bytes)
        // Each shadow fill is used by the hart at once, so there are at least as many checks as fills.
        let fills = vm.pager.statistics.fills
        #expect(UInt64(report.checked) >= fills, "\(report.checked) checks, \(fills) shadow fills")
        #expect(fills > 20)
    }

    @Test("the shipped kernel under hardware-assisted: every two-stage TLB fill equals the bare machine's",
          arguments: ExecutionEngineKind.allCases)
    func kernelUnderNestedPaging(_ engine: ExecutionEngineKind) throws {
        let image = try AuditFixtures.kernel()
        let console = ConsoleBytes()
        let guest = try AuditFixtures.nestedGuest(image, engine: engine, console: console.console)
        let audit = try TranslationAudit(image: image, guest: AuditFixtures.auditSubject(guest))
        let report = audit.run()
        #expect(report.passed, "\(report)")
        #expect(report.guestResult == .exited(code: 0))
        #expect(report.bareInstructions == report.guestInstructions)
        #expect(report.bareConsole == console.bytes)
        #expect(report.checkedTwoStage == report.checked)
        #expect(report.checked > 100)
    }

    @Test("with the G-stage walk cache the nested translations are still the bare machine's")
    func kernelUnderNestedPagingWithWalkCache() throws {
        let image = try AuditFixtures.kernel()
        let guest = try AuditFixtures.nestedGuest(image, walkCache: true)
        let report = try TranslationAudit(image: image, guest: AuditFixtures.auditSubject(guest)).run()
        #expect(report.passed, "\(report)")
        #expect(guest.machine.translationStatistics.gStageReferencesSaved > 0)
    }

    /// A pager bug, injected: after the first slice, the shadow leaf for the page the guest is
    /// executing is pointed at another guest frame. The hart's next fetch fill must be reported
    /// with both answers.
    @Test("a shadow entry pointed at the wrong frame is reported as the first mismatch")
    func catchesAWrongShadowEntry() throws {
        let image = try AuditFixtures.kernel()
        let vm = try AuditFixtures.shadowGuest(image)
        var corrupted: (page: UInt32, wrongFrame: UInt32)? = nil
        let subject = TranslationAudit.Guest(machine: vm.machine, memory: vm.memory, retired: { vm.vcpu.retired },
                                             emulated: { vm.statistics.emulatedInstructions }, run: { count in
            let result = vm.run(maxInstructions: count)
            if corrupted == nil, vm.vcpu.retired > 300_000 { corrupted = Self.corruptShadowLeaf(of: vm) }
            return result
        })
        let report = try TranslationAudit(image: image, guest: subject).run(slice: 100_000)
        let injected = try #require(corrupted, "found no shadow leaf to corrupt")
        let mismatch = try #require(report.mismatch, "\(report)")
        #expect(!report.passed)
        #expect(mismatch.virtualPage == injected.page)
        #expect(mismatch.vmmMachinePage == injected.wrongFrame)
        #expect(mismatch.expectedMachinePage != nil && mismatch.expectedMachinePage != injected.wrongFrame)
        #expect(mismatch.access == .fetch)
        #expect(mismatch.retired > 300_000)
        #expect("\(mismatch)".contains("translation mismatch"))
    }

    /// The same for nested paging: a G-stage leaf (the VMM's table) pointed at the wrong frame.
    @Test("a G-stage entry pointed at the wrong frame is reported under nested paging")
    func catchesAWrongGStageEntry() throws {
        let image = try AuditFixtures.kernel()
        let guest = try AuditFixtures.nestedGuest(image)
        var corrupted: (guestPage: UInt32, wrongFrame: UInt32)? = nil
        let subject = TranslationAudit.Guest(machine: guest.machine, memory: guest.memory, retired: { guest.vcpu.retired },
                                             emulated: { guest.statistics.emulatedInstructions }, run: { count in
            let result = guest.run(maxInstructions: count)
            if corrupted == nil, guest.vcpu.retired > 300_000 { corrupted = Self.corruptGStageLeaf(of: guest) }
            return result
        })
        let report = try TranslationAudit(image: image, guest: subject).run(slice: 100_000)
        let injected = try #require(corrupted, "found no G-stage leaf to corrupt")
        let mismatch = try #require(report.mismatch, "\(report)")
        #expect(mismatch.vmmMachinePage == injected.wrongFrame)
        #expect(mismatch.expectedMachinePage == guest.memory.machineAddress(of: injected.guestPage))
        #expect(mismatch.retired > 300_000)
    }

    /// Points the G-stage leaf of the guest-physical page holding the kernel's code (the kernel
    /// runs identity-mapped) at another of the guest's frames, and drops the hart's TLB.
    static func corruptGStageLeaf(of guest: HardwareAssistedGuest) -> (guestPage: UInt32, wrongFrame: UInt32)? {
        let machine = guest.machine
        let guestPage = guest.vcpu.pc & ~0xFFF
        guard guest.memory.contains(guestPage) else { return nil }
        func word(_ address: UInt32) -> UInt32? {
            guard let bytes = try? machine.readPhysical(address, count: 4) else { return nil }
            return UInt32(bytes[0]) | UInt32(bytes[1]) << 8 | UInt32(bytes[2]) << 16 | UInt32(bytes[3]) << 24
        }
        let root = (machine.readCSR(CSR.hgatp) & 0x3F_FFFC) << 12
        guard let pointer = word(root + (guestPage >> 22) * 4), pointer & 0xF == 1 else { return nil }
        let leafAddress = (pointer >> 10) << 12 + (guestPage >> 12 & 0x3FF) * 4
        guard let leaf = word(leafAddress) else { return nil }
        let frame = (leaf >> 10) << 12
        guard let wrongFrame = guest.memory.machineFrames.first(where: { $0 != frame }) else { return nil }
        let corrupted = leaf & 0x3FF | (wrongFrame >> 12) << 10
        try? machine.writePhysical(leafAddress, [UInt8(truncatingIfNeeded: corrupted), UInt8(truncatingIfNeeded: corrupted >> 8),
                                                 UInt8(truncatingIfNeeded: corrupted >> 16), UInt8(truncatingIfNeeded: corrupted >> 24)])
        machine.flushTLB()
        return (guestPage, wrongFrame)
    }

    /// Points the shadow leaf for the vCPU's pc at a different guest frame and drops the hart's
    /// TLB; returns the virtual page and the wrong machine frame.
    static func corruptShadowLeaf(of vm: VirtualMachine) -> (page: UInt32, wrongFrame: UInt32)? {
        let machine = vm.machine
        let satp = machine.readCSR(CSR.satp)
        guard satp >> 31 == 1 else { return nil }
        let page = vm.vcpu.pc & ~0xFFF
        func word(_ address: UInt32) -> UInt32? {
            guard let bytes = try? machine.readPhysical(address, count: 4) else { return nil }
            return UInt32(bytes[0]) | UInt32(bytes[1]) << 8 | UInt32(bytes[2]) << 16 | UInt32(bytes[3]) << 24
        }
        let rootEntryAddress = (satp & 0x3F_FFFF) << 12 + (page >> 22) * 4
        guard let pointer = word(rootEntryAddress), pointer & 0xF == 1 else { return nil }
        let leafAddress = (pointer >> 10) << 12 + (page >> 12 & 0x3FF) * 4
        guard let leaf = word(leafAddress), leaf & 1 == 1 else { return nil }
        let frame = (leaf >> 10) << 12
        let wrongFrame = vm.memory.machineFrames.first { $0 != frame } ?? frame
        let corrupted = leaf & 0x3FF | (wrongFrame >> 12) << 10
        try? machine.writePhysical(leafAddress, [UInt8(truncatingIfNeeded: corrupted), UInt8(truncatingIfNeeded: corrupted >> 8),
                                                 UInt8(truncatingIfNeeded: corrupted >> 16), UInt8(truncatingIfNeeded: corrupted >> 24)])
        machine.flushTLB()
        return (page, wrongFrame)
    }
}
