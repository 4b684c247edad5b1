import Hypervisor
import HypervisorCore
import Machine
import MemoryVirtualization
import RISCV
import Testing

/// The shadow cache: tables kept per address space across satp switches, bounded by a number of
/// tables and by the VMM's frame pool, with least-recently-used eviction ("the shadow page tables
/// will get flooded").
@Suite("Shadow paging cache")
struct ShadowCacheTests {
    /// 24 processes, each seeing its own number at the same virtual address, switched 3 times.
    static let expectedSum: UInt32 = 3 * (0..<24).reduce(0, +)

    static func checkProcesses(_ outcome: ShadowGuests.Outcome, _ bare: ShadowGuests.Outcome, _ label: String) {
        #expect(outcome.stopped == "exited(code: 0)", "\(label): \(outcome.stopped)")
        #expect(outcome.register(.s4) == 0, "\(label): \(outcome.register(.s4)) loads saw another process's page")
        #expect(outcome.register(.s3) == expectedSum, "\(label)")
        #expect(outcome.registers == bare.registers, "\(label)")
        #expect(outcome.ram == bare.ram, "\(label)")
    }

    @Test("a satp switch back to a cached address space reuses its shadow table: no refills")
    func switchingBackReusesTables() throws {
        let image = try ShadowGuests.image("shadow-address-spaces.S")
        let bare = try ShadowGuests.runBare(image)
        let (cached, reference) = try ShadowGuests.runVirtualized(image, pager: ReferenceShadowPager.factory())
        let (flushed, flushing) = try ShadowGuests.runVirtualized(image, pager: FlushingShadowPager.factory)
        Self.checkProcesses(cached, bare, "reference")
        Self.checkProcesses(flushed, bare, "flushing")
        let kept = reference.pager.statistics, dropped = flushing.pager.statistics
        #expect(kept.evictions == 0 && kept.rebuilds == 0)
        #expect(kept.addressSpaces >= 24)
        // Both fill the same pages while the M-mode setup writes the tables and in the first round
        // (each process's data page and the kernel's code page). Rounds two and three refill
        // nothing with the reference pager; the flushing pager refills both pages of every process
        // after every switch.
        #expect(dropped.fills >= kept.fills + 2 * 24 * 2, "reference \(kept.fills) fills, flushing \(dropped.fills)")
        #expect(reference.statistics[.pageFault] == kept.fills)
        print("24 address spaces x 3 rounds: page-fault exits \(reference.statistics[.pageFault]) (reference) vs \(flushing.statistics[.pageFault]) (flushing); shadow frames peak \(kept.peakFramesInUse) vs \(dropped.peakFramesInUse)")
    }

    @Test("more address spaces than the cache holds: least recently used tables are evicted, the guest never notices")
    func evictionByCount() throws {
        let image = try ShadowGuests.image("shadow-address-spaces.S")
        let bare = try ShadowGuests.runBare(image)
        var configuration = ReferenceShadowPager.Configuration()
        configuration.maximumAddressSpaces = 8
        let (outcome, vm) = try ShadowGuests.runVirtualized(image, pager: ReferenceShadowPager.factory(configuration))
        Self.checkProcesses(outcome, bare, "8 tables")
        let statistics = vm.pager.statistics
        #expect(statistics.addressSpaces <= 8)
        // Round-robin over 24 spaces with room for 8: every switch after the first 8 evicts.
        #expect(statistics.evictions >= 3 * 24 - 8, "\(statistics.evictions) evictions")
    }

    @Test("a frame pool smaller than the working set: eviction keeps the guest running within the pool")
    func evictionByFrames() throws {
        let image = try ShadowGuests.image("shadow-address-spaces.S")
        let bare = try ShadowGuests.runBare(image)
        let (outcome, vm) = try ShadowGuests.runWithPool(image, shadowFrames: 10, pager: ReferenceShadowPager.factory())
        Self.checkProcesses(outcome, bare, "10 frames")
        let statistics = vm.pager.statistics
        #expect(statistics.peakFramesInUse <= 10)
        #expect(statistics.evictions > 0)
        #expect(statistics.framesInUse == vm.shadowFrames.inUse)
    }

    @Test("the teaching kernel: same output with the reference pager, fewer page-fault exits than flushing",
          arguments: [("kernel.elf", VMMMode.trapAndEmulate), ("kernel-pv.elf", VMMMode.paravirtual), ("kernel-bt.elf", VMMMode.binaryTranslation),
                     ("../memory/pt-heavy.elf", VMMMode.trapAndEmulate)])
    func teachingKernel(_ kernel: String, _ mode: VMMMode) throws {
        let image = try ShadowGuests.kernel(kernel)
        func boot(_ pager: @escaping ShadowPagerFactory) throws -> (VMMBootResult, [UInt8]) {
            let console = ShadowConsole()
            var request = VMMBootRequest(image: image, name: kernel, console: console.console)
            request.shadowPager = pager
            request.instructionBudget = 200_000_000
            let result = try VMMModeCatalog.require(mode).boot(request)
            return (result, console.bytes)
        }
        let (reference, referenceOutput) = try boot(ReferenceShadowPager.factory())
        let (flushing, flushingOutput) = try boot(FlushingShadowPager.factory)
        #expect(reference.result == .exited(code: 0) && flushing.result == .exited(code: 0))
        #expect(referenceOutput == flushingOutput)
        #expect(referenceOutput.count > 50)
        #expect(reference.statistics.guestInstructions == flushing.statistics.guestInstructions)
        #expect(reference.statistics[.pageFault] < flushing.statistics[.pageFault])
        print("\(kernel) \(mode): exits \(reference.statistics.totalExits) (page-fault \(reference.statistics[.pageFault]), page-table-write \(reference.statistics[.pageTableWrite])) with the reference pager; \(flushing.statistics.totalExits) (page-fault \(flushing.statistics[.pageFault]), \(flushing.statistics.shadowFlushes) flushes) with the flushing pager")
    }
}
