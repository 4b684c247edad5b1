import Hypervisor
import HypervisorCore
import Machine
import MemoryVirtualization
import RISCV
import Testing

/// Differential tests of the reference pager in every configuration against the bare machine,
/// with `TranslationAudit` (every translation the hart takes from a shadow table equals the bare
/// machine's at the same retired count): the shipped memory workloads and random page-table
/// programs, also under cache pressure (few tables, few frames) so eviction and rebuilding are
/// exercised too.
@Suite("Shadow paging differential")
struct ShadowDifferentialTests {
    enum Variant: String, CaseIterable, Sendable {
        case writeProtect, eager, fencesOnly, twoTables, sixteenFrames

        var configuration: ReferenceShadowPager.Configuration {
            var configuration = ReferenceShadowPager.Configuration()
            switch self {
            case .writeProtect, .sixteenFrames: break
            case .eager: configuration.coherence = .writeProtectEager
            case .fencesOnly: configuration.coherence = .fences
            case .twoTables: configuration.maximumAddressSpaces = 2
            }
            return configuration
        }
        var shadowFrames: Int { self == .sixteenFrames ? 16 : 256 }
    }

    /// A trap-and-emulate guest of `image` with the reference pager in `variant`.
    static func guest(_ image: ELFFile, memory: UInt32, variant: Variant, console: ConsoleIO) throws -> VirtualMachine {
        var machineConfiguration = MachineConfiguration()
        machineConfiguration.interceptUserTraps = true
        machineConfiguration.ramSize = variant.shadowFrames * 4096 + Int(memory)
        let machine = try Machine(configuration: machineConfiguration)
        machine.console = .silent
        var allocator = MachineFrameAllocator(ramSize: machineConfiguration.ramSize)
        let pool = try allocator.allocate(variant.shadowFrames, for: "shadow")
        let frames = try allocator.allocate(Int(memory / 4096), for: "memory")
        var configuration = GuestConfiguration()
        configuration.memorySize = memory
        configuration.instructionBudget = 200_000_000
        let vm = try VirtualMachine(configuration: configuration, machine: machine, memoryFrames: frames, shadowFrames: pool,
                                    console: console, handler: PrivilegedInstructionEmulator(),
                                    pager: ReferenceShadowPager.factory(variant.configuration))
        try vm.load(image)
        return vm
    }

    @Test("random page-table programs: every shadow translation is the bare machine's, in every pager configuration",
          arguments: [UInt64(101), 202, 303], Variant.allCases)
    func randomPrograms(_ seed: UInt64, _ variant: Variant) throws {
        let image = try RandomPageTableProgram(seed: seed).image()
        let console = ShadowConsole()
        let vm = try Self.guest(image, memory: 16 << 20, variant: variant, console: console.console)
        let report = try TranslationAudit(image: image, guest: .init(vm)).run()
        #expect(report.passed, "seed \(seed), \(variant): \(report)")
        #expect(report.guestResult == .exited(code: 0))
        #expect(report.bareConsole == console.bytes)
        #expect(report.checked > 20)
        let statistics = vm.pager.statistics
        if variant == .sixteenFrames { #expect(statistics.peakFramesInUse <= 16) }
        if variant == .twoTables { #expect(statistics.evictions > 0) }
    }

    @Test("the shipped memory workloads: every shadow translation is the bare machine's",
          arguments: [MemoryWorkload.pageTableHeavy, .tlbFriendly], [Variant.writeProtect, .sixteenFrames])
    func workloads(_ workload: MemoryWorkload, _ variant: Variant) throws {
        let image = try ShadowGuests.kernel("../memory/\(workload.imageName)")
        let console = ShadowConsole()
        let vm = try Self.guest(image, memory: workload.memorySize, variant: variant, console: console.console)
        let report = try TranslationAudit(image: image, guest: .init(vm)).run()
        #expect(report.passed, "\(workload), \(variant): \(report)")
        #expect(report.guestResult == .exited(code: 0))
        #expect(report.bareConsole == console.bytes)
        let statistics = vm.pager.statistics
        #expect(UInt64(report.checked) >= statistics.fills)
        if workload == .pageTableHeavy {
            // 32 address spaces do not fit 16 frames: the cache is flooded and evicts.
            if variant == .sixteenFrames { #expect(statistics.evictions > 0 && statistics.peakFramesInUse <= 16) }
            print("pt-heavy, \(variant): \(statistics.fills) fills, \(statistics.writeProtectExits) write-protect exits, \(statistics.entriesInvalidated) entries invalidated, \(statistics.evictions) evictions, \(statistics.rebuilds) rebuilds, peak \(statistics.peakFramesInUse) frames, \(vm.statistics.totalExits) exits")
        }
    }
}
