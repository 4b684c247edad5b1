import Testing
import RISCV
@testable import Machine

/// The MMU's counters (Memory/TranslationMonitor.swift): exact on tiny programs whose walks are
/// known in advance, the same on both engines, and the TLB-fill observer and probe.
@Suite struct TLBStatisticsTests {
    static let root: UInt32 = 0x8008_0000
    static let leafTable: UInt32 = 0x8008_1000
    static let dataPages: [UInt32] = [0x8002_0000, 0x8002_1000, 0x8002_2000, 0x8002_3000]
    static let virtualPages: [UInt32] = [0x0040_0000, 0x0040_1000, 0x0040_2000, 0x0040_3000]

    /// S-mode, Sv32: code in an identity 4 MiB superpage at 0x8000_0000 (a walk reads 1 PTE), data
    /// in four 4 KiB pages at 0x0040_0000 (a walk reads 2). A and D preset: walks only read.
    static func makeMachine(engine: ExecutionEngineKind, countsEveryLookup: Bool) throws -> Machine {
        var configuration = MachineConfiguration()
        configuration.ramSize = 1 << 20
        configuration.engine = engine
        configuration.countsEveryTLBLookup = countsEveryLookup
        let machine = try Machine(configuration: configuration)
        machine.console = .silent
        func pte(_ physical: UInt32, _ flags: UInt32) -> UInt32 { (physical >> 12) << 10 | flags }
        try machine.writeWord(pte(0x8000_0000, 0xCF), at: root + 0x200 * 4)   // V R W X A D superpage
        try machine.writeWord(pte(leafTable, 0x1), at: root + 1 * 4)
        for (index, page) in dataPages.enumerated() {
            try machine.writeWord(pte(page, 0xC7), at: leafTable + UInt32(index) * 4)   // V R W A D
        }
        machine.writeCSR(CSR.satp, 0x8000_0000 | root >> 12)
        machine.privilege = .supervisor
        return machine
    }

    /// Two loads from each data page, then one store to the first: 19 instructions.
    static let program: [Instruction] = virtualPages.flatMap { page in
        loadImmediate(x(1), page) + [Instruction(.lw, rd: x(2), rs1: x(1)), Instruction(.lw, rd: x(3), rs1: x(1), immediate: 4)]
    } + loadImmediate(x(1), virtualPages[0]) + [Instruction(.sw, rs1: x(1), rs2: x(2), immediate: 8)]

    @Test("with every lookup counted: 1 fetch walk (1 reference), 4 load and 1 store walks (2 each), 4 load hits",
          arguments: ExecutionEngineKind.allCases)
    func exactCountsOnATinyProgram(_ engine: ExecutionEngineKind) throws {
        let machine = try Self.makeMachine(engine: engine, countsEveryLookup: true)
        let stop = try machine.run(Self.program, at: 0x8000_0000)
        #expect(stop == .instructionLimit)
        #expect(machine.retiredInstructions == 19)
        let statistics = machine.translationStatistics
        #expect(statistics.misses == [1, 4, 1])
        #expect(statistics.hits(.load) == 4)
        #expect(statistics.hits(.store) == 0)
        #expect(statistics.faults == [0, 0, 0])
        #expect(statistics.walks == 6)
        #expect(statistics.walkReferences == 1 + 4 * 2 + 2)
        #expect(statistics.gStageReferences == 0)
        #expect(statistics.fetchHits(retired: machine.retiredInstructions) == 18)
        #expect(statistics.referencesPerWalk == 11.0 / 6.0)
    }

    @Test("without counting every lookup, misses and walk references are still exact (only hits go uncounted)",
          arguments: ExecutionEngineKind.allCases)
    func defaultCountsMissesExactly(_ engine: ExecutionEngineKind) throws {
        let machine = try Self.makeMachine(engine: engine, countsEveryLookup: false)
        try machine.run(Self.program, at: 0x8000_0000)
        let statistics = machine.translationStatistics
        #expect(statistics.misses == [1, 4, 1])
        #expect(statistics.walkReferences == 11)
        #expect(statistics.hits(.load) < 4, "fast-path hits are not counted by default")
    }

    @Test("a flush makes the same accesses walk again; SFENCE.VMA with an address counts as a page flush")
    func flushesAreCountedAndForceWalks() throws {
        let machine = try Self.makeMachine(engine: .interpreter, countsEveryLookup: true)
        try machine.run(Self.program, at: 0x8000_0000)
        machine.flushTLB()
        machine.resetTranslationStatistics()
        try machine.run(Self.program, at: 0x8000_0000)
        #expect(machine.translationStatistics.misses == [1, 4, 1])
        machine.resetTranslationStatistics()
        // sfence.vma x1, zero with x1 = the first data page: only that page walks again.
        let fence = loadImmediate(x(1), Self.virtualPages[0]) + [Instruction(.sfenceVma, rs1: x(1), rs2: .zero)]
        try machine.run(fence + [Instruction(.lw, rd: x(2), rs1: x(1)), Instruction(.lw, rd: x(2), rs1: x(1))]
                        + loadImmediate(x(1), Self.virtualPages[1]) + [Instruction(.lw, rd: x(2), rs1: x(1))], at: 0x8000_0000)
        let statistics = machine.translationStatistics
        #expect(statistics.pageFlushes == 1)
        #expect(statistics.misses(.load) == 1)
        #expect(statistics.hits(.load) == 2)
    }

    @Test("the fill observer sees every walk with its retired count and pc; the probe translates without side effects")
    func observerAndProbe() throws {
        let machine = try Self.makeMachine(engine: .translator, countsEveryLookup: false)
        var fills: [TLBFill] = []
        machine.tlbFillObserver = { fills.append($0) }
        try machine.run(Self.program, at: 0x8000_0000)
        #expect(fills.count == 6)
        #expect(fills.first == TLBFill(virtualPage: 0x8000_0000, access: .fetch, physicalPage: 0x8000_0000, retired: 0,
                                       privilege: .supervisor, twoStage: false, pc: 0x8000_0000))
        let firstLoad = try #require(fills.first { $0.access == .load })
        #expect(firstLoad.virtualPage == Self.virtualPages[0] && firstLoad.physicalPage == Self.dataPages[0])
        #expect(firstLoad.retired == 2 && firstLoad.pc == 0x8000_0008, "after the two-instruction li")
        let store = try #require(fills.last)
        #expect(store.access == .store && store.retired == 18)

        // Probe: a page never touched translates, but nothing is cached or counted, and A/D stay clear.
        try machine.writeWord((Self.dataPages[3] >> 12) << 10 | 0x7, at: Self.leafTable + 3 * 4)   // V R W, A/D clear
        machine.flushTLB()
        let before = machine.translationStatistics
        #expect(machine.probeTranslation(0x0040_3010, .store) == .success(0x8002_3010))
        #expect(machine.probeTranslation(0x0040_5000, .load) == .failure(TranslationFault(cause: ExceptionCause.loadPageFault)))
        #expect(machine.translationStatistics == before)
        #expect(try machine.readWord(at: Self.leafTable + 3 * 4) & 0xC0 == 0, "the probe set no A/D bits")
    }
}
