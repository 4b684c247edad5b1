import Hypervisor
import HypervisorCore
import Machine
import RISCV
import Testing

/// Two-stage (nested) translation as the hardware-assisted guest's hart does it: the 2-D walk
/// costs exactly (2 + 1)(2 + 1) - 1 = 8 page-table references for a 4 KiB page of Sv32 over
/// Sv32x4, the G-stage walk cache saves the G-stage's share, and the guest never exits to change
/// its own mappings.
@Suite("Nested paging")
struct NestedPagingTests {
    /// A guest that builds its own Sv32 tables in virtual M-mode, enters S-mode with paging on,
    /// loads from two 4 KiB pages (one of them twice) and stops through the finisher. The code runs
    /// from an identity superpage, so its fetch walk reads one VS-stage PTE; A and D are preset,
    /// so no walk writes.
    static let source = """
            .text
            .globl _start
        _start:
            la t0, root
            la t1, leaf
            srli t2, t1, 12
            slli t2, t2, 10
            ori t2, t2, 1
            sw t2, 1024(t0)             # root[256]: VA 0x40000000 -> the level-0 table
            la t1, data0
            srli t2, t1, 12
            slli t2, t2, 10
            ori t2, t2, 0xC7            # V R W A D
            la t3, leaf
            sw t2, 0(t3)
            la t1, data1
            srli t2, t1, 12
            slli t2, t2, 10
            ori t2, t2, 0xC7
            sw t2, 4(t3)
            li t2, 0x200000CF           # root[512]: identity superpage 0x80000000, V R W X A D
            addi t3, t0, 2047
            sw t2, 1(t3)
            li t2, 0xC7                 # root[0]: superpage 0x0 (the finisher at 0x100000), V R W A D
            sw t2, 0(t0)
            srli t2, t0, 12
            li t1, 0x80000000
            or t2, t2, t1
            csrw satp, t2
            la t0, supervisor
            csrw mepc, t0
            li t0, 0x1800
            csrc mstatus, t0
            li t0, 0x800
            csrs mstatus, t0
            mret
        supervisor:
            li t1, 0x40000000
            lw t2, 0(t1)
            lw t2, 4(t1)
            li t1, 0x40001000
            lw t2, 0(t1)
            li t1, 0x100000
            li t2, 0x5555
            sw t2, 0(t1)
        1:  j 1b
            .data
            .balign 4096
        root: .space 4096
        leaf: .space 4096
        data0: .space 4096
        data1: .space 4096
        """

    static func image() throws -> ELFFile {
        let program = try Assembler.assemble(source: source, fileName: "nested.S", base: 0x8000_0000)
        return try ELFFile(bytes: program.elfExecutable())
    }

    /// Runs the guest to the moment it is in (virtual) S-mode, zeroes the hart's counters, runs it
    /// to the end, and returns the counters of the S-mode part.
    static func sModeCounters(engine: ExecutionEngineKind, walkCache: Bool) throws -> (TranslationStatistics, HardwareAssistedGuest) {
        let guest = try AuditFixtures.nestedGuest(try image(), memory: 1 << 20, engine: engine, walkCache: walkCache)
        var steps = 0
        while guest.vcpu.privilege != .supervisor && steps < 1000 {
            _ = guest.run(maxInstructions: 1)
            steps += 1
        }
        try #require(guest.vcpu.privilege == .supervisor)
        guest.machine.resetTranslationStatistics()
        #expect(guest.run() == .exited(code: 0))
        return (guest.machine.translationStatistics, guest)
    }

    @Test("a 4 KiB page costs 8 references, a VS superpage 5, a walk ending in a guest-page fault 4",
          arguments: ExecutionEngineKind.allCases)
    func twoDimensionalWalkReferences(_ engine: ExecutionEngineKind) throws {
        let (statistics, guest) = try Self.sModeCounters(engine: engine, walkCache: false)
        // fetch: VS root PTE (G-stage walk 2 + read 1) + the code's G-stage walk (2) = 5
        // each load page: VS root (2 + 1) + VS leaf (2 + 1) + the data's G-stage walk (2) = 8
        // the finisher store: VS root (2 + 1) + G-stage root entry invalid (1): a guest-page fault, the MMIO exit
        #expect(statistics.misses == [1, 2, 1])
        #expect(statistics.faults == [0, 0, 1])
        #expect(statistics.walkReferences == 5 + 8 + 8 + 4)
        #expect(statistics.gStageReferences == 4 + 6 + 6 + 3)
        #expect(statistics.gStageReferencesSaved == 0)
        // The guest's own mappings cost it no exits: only the MMIO store exits while in S-mode.
        #expect(guest.statistics[.pageFault] == 0)
        #expect(guest.statistics[.sfenceVMA] == 0)
    }

    @Test("the G-stage walk cache: the second walk through the same table pages reads only the VS-stage PTEs",
          arguments: ExecutionEngineKind.allCases)
    func walkCacheSavesGStageReferences(_ engine: ExecutionEngineKind) throws {
        let (statistics, _) = try Self.sModeCounters(engine: engine, walkCache: true)
        // fetch 2+1+2 = 5 (cache empty); load 1: root page cached (1) + leaf page (2+1) + data0 (2) = 6;
        // load 2: root (1) + leaf (1) + data1 (2) = 4; store: root (1) + G-stage fault (1) = 2.
        #expect(statistics.misses == [1, 2, 1])
        #expect(statistics.walkReferences == 5 + 6 + 4 + 2)
        #expect(statistics.gStageReferencesSaved == 4 * 2)
        #expect(statistics.gStageCacheHits == 4)
    }
}
