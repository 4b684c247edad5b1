import RISCV
import Testing
@testable import Machine

/// The translator's code cache: bounded memory, and translations that never outlive the code
/// they came from.
@Suite("Translator code cache")
struct CodeCacheTests {
    func translatorMachine(capacity: Int = 1 << 20) throws -> Machine {
        var configuration = MachineConfiguration()
        configuration.ramSize = 1 << 20
        configuration.engine = .translator
        configuration.codeCacheCapacity = capacity
        let machine = try Machine(configuration: configuration)
        machine.console = .silent
        try machine.write([Instruction(.jal, rd: .zero, immediate: 0)], at: handlerAddress)
        machine.writeCSR(CSR.mtvec, handlerAddress)
        return machine
    }

    @Test("a full cache is flushed and counted, and never grows past its bound")
    func evictionAtTheBound() throws {
        let machine = try translatorMachine(capacity: CodeCache.minimumCapacity)
        // 3000 one-instruction blocks (each `jal x0, +4` ends a block), then the pass/fail code.
        // Each adds 1 to x5 on the way: a block run twice or skipped would change the count.
        var program: [Instruction] = []
        for _ in 0..<1500 {
            program.append(Instruction(.addi, rd: x(5), rs1: x(5), immediate: 1))
            program.append(Instruction(.jal, rd: .zero, immediate: 4))
        }
        try machine.write(program, at: ramBase + 0x1_0000)
        machine.pc = ramBase + 0x1_0000
        var peak = 0
        while machine.retiredInstructions < UInt64(program.count) {
            _ = machine.run(maxInstructions: 100)
            peak = max(peak, machine.engineStatistics.cacheBytes)
        }
        let statistics = machine.engineStatistics
        #expect(machine.register(x(5)) == 1500)
        #expect(statistics.capacityFlushes > 0 && statistics.evictions > 0)
        #expect(peak <= CodeCache.minimumCapacity, "cache bytes \(peak) within the bound")
        #expect(statistics.cacheCapacityBytes == CodeCache.minimumCapacity)
        #expect(statistics.blocksTranslated >= 1500)
    }

    @Test("a code cache below the minimum is refused with a message")
    func tooSmallCacheIsRefused() {
        var configuration = MachineConfiguration()
        configuration.codeCacheCapacity = 1000
        #expect(throws: MachineError.self) { try Machine(configuration: configuration) }
    }

    /// `f: addi a0, a0, 1; jalr x0, 0(ra)` at 0x8000_2000, called from a loop at 0x8000_3000
    /// (the trap handler, a `j .`, is at 0x8000_1000).
    func callingProgram(_ machine: Machine, calls: Int32) throws {
        try machine.write([
            Instruction(.addi, rd: x(10), rs1: x(10), immediate: 1),
            Instruction(.jalr, rd: .zero, rs1: x(1), immediate: 0),
        ], at: ramBase + 0x2000)
        try machine.write([
            Instruction(.addi, rd: x(6), immediate: calls),
            Instruction(.jal, rd: x(1), immediate: 0x2000 - 0x3004),      // call f
            Instruction(.addi, rd: x(6), rs1: x(6), immediate: -1),
            Instruction(.bne, rs1: x(6), rs2: .zero, immediate: -8),
            Instruction(.ebreak),
        ], at: ramBase + 0x3000)
    }

    @Test("the host rewriting translated code: the next run executes the new code")
    func hostStoreInvalidates() throws {
        let machine = try translatorMachine()
        try callingProgram(machine, calls: 10)
        machine.pc = ramBase + 0x3000
        _ = machine.run(maxInstructions: 200)
        #expect(machine.register(x(10)) == 10)
        let before = machine.engineStatistics
        try machine.write([Instruction(.addi, rd: x(10), rs1: x(10), immediate: 100)], at: ramBase + 0x2000)
        #expect(machine.engineStatistics.invalidatedBlocks == before.invalidatedBlocks + 1, "exactly f's block")
        machine.pc = ramBase + 0x3000
        _ = machine.run(maxInstructions: 200)
        #expect(machine.register(x(10)) == 10 + 1000)
    }

    @Test("the guest rewriting a translated function without FENCE.I: the next call runs the new code")
    func guestStoreInvalidates() throws {
        let machine = try translatorMachine()
        try callingProgram(machine, calls: 3)
        let newWord = try Instruction(.addi, rd: x(10), rs1: x(10), immediate: 100).encoded()
        // After the loop: store the new word over f's first instruction, call f once more.
        try machine.write(loadImmediate(x(7), newWord) + loadImmediate(x(8), ramBase + 0x2000) + [
            Instruction(.sw, rs1: x(8), rs2: x(7)),
            Instruction(.jal, rd: x(1), immediate: 0x2000 - 0x3024),
            Instruction(.ebreak),
        ], at: ramBase + 0x3010)
        machine.pc = ramBase + 0x3000
        _ = machine.run(maxInstructions: 200)
        #expect(machine.register(x(10)) == 3 + 100)
        #expect(machine.engineStatistics.invalidatedBlocks >= 1)
    }

    @Test("FENCE.I drops every translation; the code is translated again")
    func fenceIFlushes() throws {
        let machine = try translatorMachine()
        try callingProgram(machine, calls: 2)
        try machine.write([Instruction(.fenceI), Instruction(.jal, rd: x(1), immediate: 0x2000 - 0x3014), Instruction(.ebreak)],
                          at: ramBase + 0x3010)
        machine.pc = ramBase + 0x3000
        _ = machine.run(maxInstructions: 12)  // 1 + 2 calls of 5, then the FENCE.I
        let atFence = machine.engineStatistics
        #expect(machine.codeCache.liveBlocks == 0)
        #expect(atFence.invalidatedBlocks >= 3)
        _ = machine.run(maxInstructions: 50)
        #expect(machine.register(x(10)) == 3)
        #expect(machine.engineStatistics.blocksTranslated > atFence.blocksTranslated, "f is translated again")
    }

    @Test("one virtual page, two physical pages under two roots: each satp runs its own code")
    func satpSwitchSelectsTheOtherTranslation() throws {
        let machine = try translatorMachine()
        let rootA = ramBase + 0x8000, rootB = ramBase + 0x9000, leafA = ramBase + 0xA000, leafB = ramBase + 0xB000
        let codeA = ramBase + 0x4000, codeB = ramBase + 0x5000, virtualCode: UInt32 = 0x4000_0000
        func pte(_ physical: UInt32, _ flags: UInt32) -> UInt32 { (physical >> 12) << 10 | flags }
        try machine.writeWord(pte(leafA, 1), at: rootA + 0x100 * 4)
        try machine.writeWord(pte(leafB, 1), at: rootB + 0x100 * 4)
        try machine.writeWord(pte(codeA, 0xCB), at: leafA)  // V R X A D
        try machine.writeWord(pte(codeB, 0xCB), at: leafB)
        try machine.write([Instruction(.addi, rd: x(10), immediate: 1), Instruction(.ecall)], at: codeA)
        try machine.write([Instruction(.addi, rd: x(10), immediate: 2), Instruction(.ecall)], at: codeB)

        var translatedBeforeThirdRun: UInt64 = 0
        for (run, (root, expected)) in [(rootA, UInt32(1)), (rootB, 2), (rootA, 1)].enumerated() {
            if run == 2 { translatedBeforeThirdRun = machine.engineStatistics.blocksTranslated }
            machine.writeCSR(CSR.satp, 1 << 31 | root >> 12)
            machine.privilege = .supervisor
            machine.pc = virtualCode
            _ = machine.run(maxInstructions: 2)
            #expect(machine.register(x(10)) == expected, "satp root 0x\(String(root, radix: 16))")
            #expect(machine.readCSR(CSR.mcause) == Cause.ecallS)
        }
        #expect(machine.engineStatistics.blocksTranslated == translatedBeforeThirdRun, "the third run reuses root A's block")
    }
}
