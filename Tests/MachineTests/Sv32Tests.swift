import Testing
import RISCV
@testable import Machine

/// Sv32 translation: walks, superpages, permissions, SUM/MXR/MPRV, A/D updates, faults, TLB flushes.
@Suite struct Sv32Tests {
    static let root: UInt32 = 0x8008_0000
    static let leafTable: UInt32 = 0x8008_1000
    static let satp: UInt32 = 0x8000_0000 | (root >> 12)

    // PTE flag bits
    static let V: UInt32 = 1, R: UInt32 = 2, W: UInt32 = 4, X: UInt32 = 8, U: UInt32 = 16, A: UInt32 = 64, D: UInt32 = 128

    static func pte(_ physical: UInt32, _ flags: UInt32) -> UInt32 { (physical >> 12) << 10 | flags }

    /// A machine in S-mode with this address space:
    ///   0x8000_0000  4 MiB superpage, identity, RWX (the code and the handler)
    ///   0xC000_0000  4 MiB superpage -> 0x8000_0000, RW
    ///   0xC040_0000  misaligned superpage (PPN[0] != 0)
    ///   0x0040_0000  -> 0x8002_0000 RW, A and D clear
    ///   0x0040_1000  -> 0x8002_1000 R
    ///   0x0040_2000  -> 0x8002_2000 X only
    ///   0x0040_3000  -> 0x8002_3000 RW, user
    ///   0x0040_4000  invalid
    ///   0x0040_5000  W without R (reserved)
    ///   0x0040_6000  -> 0x4000_0000 (no device)
    ///   0x0040_7000  -> 0x8000_3000 RX, user (user code)
    ///   0x0080_0000  level-1 pointer to a table outside RAM
    func makeMMUMachine() throws -> Machine {
        let machine = try makeMachine(ramSize: 8 << 20)
        let s = Sv32Tests.self
        try machine.writeWord(s.pte(0x8000_0000, s.V | s.R | s.W | s.X | s.A | s.D), at: s.root + 0x200 * 4)
        try machine.writeWord(s.pte(0x8000_0000, s.V | s.R | s.W | s.A | s.D), at: s.root + 0x300 * 4)
        try machine.writeWord(s.pte(0x8002_0000, s.V | s.R | s.W | s.A | s.D), at: s.root + 0x301 * 4)
        try machine.writeWord(s.pte(s.leafTable, s.V), at: s.root + 1 * 4)
        try machine.writeWord(s.pte(0x0000_1000, s.V), at: s.root + 2 * 4)
        let leaves: [UInt32] = [
            s.pte(0x8002_0000, s.V | s.R | s.W),
            s.pte(0x8002_1000, s.V | s.R | s.A),
            s.pte(0x8002_2000, s.V | s.X | s.A),
            s.pte(0x8002_3000, s.V | s.R | s.W | s.U | s.A | s.D),
            0,
            s.pte(0x8002_5000, s.V | s.W | s.A | s.D),
            s.pte(0x4000_0000, s.V | s.R | s.W | s.A | s.D),
            s.pte(0x8000_3000, s.V | s.R | s.X | s.U | s.A),
        ]
        for (i, leaf) in leaves.enumerated() { try machine.writeWord(leaf, at: s.leafTable + UInt32(i) * 4) }
        for (i, value) in [UInt32(0x1111_1111), 0x2222_2222, 0x3333_3333, 0x4444_4444].enumerated() {
            try machine.writeWord(value, at: 0x8002_0000 + UInt32(i) * 0x1000 + 0x10)
        }
        machine.writeCSR(CSR.satp, s.satp)
        machine.privilege = .supervisor
        return machine
    }

    func load(_ machine: Machine, _ virtualAddress: UInt32, at code: UInt32 = ramBase) throws -> UInt32 {
        machine.setRegister(x(1), virtualAddress)
        machine.setRegister(x(2), 0xDEAD)
        try machine.run([Instruction(.lw, rd: x(2), rs1: x(1))], at: code)
        return machine.register(x(2))
    }

    @Test func fourKilobytePageAndSuperpageTranslate() throws {
        let machine = try makeMMUMachine()
        #expect(try load(machine, 0x0040_0010) == 0x1111_1111)
        #expect(try load(machine, 0x0040_1010) == 0x2222_2222)
        #expect(try load(machine, 0xC002_0010) == 0x1111_1111, "superpage: VPN[0] passes through")
        #expect(machine.readCSR(CSR.mcause) == 0)
    }

    @Test func hardwareSetsAccessedThenDirty() throws {
        let machine = try makeMMUMachine()
        let pteAddress = Sv32Tests.leafTable
        #expect(try machine.readWord(at: pteAddress) & (Sv32Tests.A | Sv32Tests.D) == 0)
        _ = try load(machine, 0x0040_0010)
        #expect(try machine.readWord(at: pteAddress) & (Sv32Tests.A | Sv32Tests.D) == Sv32Tests.A)
        machine.setRegister(x(3), 7)
        try machine.run([Instruction(.sw, rs1: x(1), rs2: x(3))])
        #expect(try machine.readWord(at: pteAddress) & (Sv32Tests.A | Sv32Tests.D) == Sv32Tests.A | Sv32Tests.D)
        #expect(try machine.readWord(at: 0x8002_0010) == 7)
    }

    struct FaultCase: Sendable, CustomTestStringConvertible {
        var name: String
        var address: UInt32
        var store = false
        var cause: UInt32
        var testDescription: String { name }
    }

    static let faultCases: [FaultCase] = [
        .init(name: "invalid PTE", address: 0x0040_4008, cause: Cause.loadPage),
        .init(name: "store to read-only page", address: 0x0040_1008, store: true, cause: Cause.storePage),
        .init(name: "load from execute-only page", address: 0x0040_2008, cause: Cause.loadPage),
        .init(name: "W without R is reserved", address: 0x0040_5008, cause: Cause.loadPage),
        .init(name: "W without R, store", address: 0x0040_5008, store: true, cause: Cause.storePage),
        .init(name: "misaligned superpage", address: 0xC040_0010, cause: Cause.loadPage),
        .init(name: "unmapped level-1 entry", address: 0x4000_0000, cause: Cause.loadPage),
        .init(name: "user page from S without SUM", address: 0x0040_3010, cause: Cause.loadPage),
        .init(name: "user page store from S without SUM", address: 0x0040_3010, store: true, cause: Cause.storePage),
        .init(name: "page table outside RAM", address: 0x0080_0000, cause: Cause.loadAccess),
        .init(name: "page table outside RAM, store", address: 0x0080_0000, store: true, cause: Cause.storeAccess),
        .init(name: "leaf maps no device", address: 0x0040_6004, cause: Cause.loadAccess),
        .init(name: "leaf maps no device, store", address: 0x0040_6004, store: true, cause: Cause.storeAccess),
    ]

    @Test(arguments: faultCases)
    func faultsReportTheVirtualAddress(_ c: FaultCase) throws {
        let machine = try makeMMUMachine()
        machine.setRegister(x(1), c.address)
        let instruction = c.store ? Instruction(.sw, rs1: x(1), rs2: x(2)) : Instruction(.lw, rd: x(2), rs1: x(1))
        try machine.run([instruction])
        #expect(machine.readCSR(CSR.mcause) == c.cause)
        #expect(machine.readCSR(CSR.mtval) == c.address)
        #expect(machine.readCSR(CSR.mepc) == ramBase)
        #expect(machine.privilege == .machine)
    }

    @Test func delegatedPageFaultSetsStval() throws {
        let machine = try makeMMUMachine()
        machine.writeCSR(CSR.medeleg, 1 << 12 | 1 << 13 | 1 << 15)
        _ = try load(machine, 0x0040_4abc)
        #expect(machine.readCSR(CSR.scause) == Cause.loadPage)
        #expect(machine.readCSR(CSR.stval) == 0x0040_4abc)
        #expect(machine.readCSR(CSR.sepc) == ramBase)
        #expect(machine.privilege == .supervisor)
        #expect(machine.readCSR(CSR.mcause) == 0)
    }

    @Test func pageCrossingLoadFaultNamesTheSecondPage() throws {
        let machine = try makeMMUMachine()
        // 0x0040_3000 is a user page (forbidden to S without SUM), 0x0040_4000 is invalid.
        _ = try load(machine, 0x0040_3FFE)
        #expect(machine.readCSR(CSR.mtval) == 0x0040_3FFE, "the first page faults first")
        machine.privilege = .supervisor
        machine.writeCSR(CSR.sstatus, 1 << 18)  // SUM: the first page is now readable, the next one is invalid
        _ = try load(machine, 0x0040_3FFE)
        #expect(machine.readCSR(CSR.mcause) == Cause.loadPage)
        #expect(machine.readCSR(CSR.mtval) == 0x0040_4000)
    }

    @Test func fetchFromANonExecutablePageIsAnInstructionPageFault() throws {
        let machine = try makeMMUMachine()
        machine.setRegister(x(1), 0x0040_0000)
        try machine.run([Instruction(.jalr, rs1: x(1))], steps: 2)
        #expect(machine.readCSR(CSR.mcause) == Cause.fetchPage)
        #expect(machine.readCSR(CSR.mtval) == 0x0040_0000)
        #expect(machine.readCSR(CSR.mepc) == 0x0040_0000)
    }

    @Test func sumOpensUserPagesToSupervisorLoadsButNotFetches() throws {
        let machine = try makeMMUMachine()
        machine.writeCSR(CSR.sstatus, 1 << 18)
        #expect(try load(machine, 0x0040_3010) == 0x4444_4444)
        machine.setRegister(x(1), 0x0040_7000)
        try machine.run([Instruction(.jalr, rs1: x(1))], steps: 2)
        #expect(machine.readCSR(CSR.mcause) == Cause.fetchPage)
        #expect(machine.readCSR(CSR.mtval) == 0x0040_7000)
    }

    @Test func mxrMakesExecutablePagesReadable() throws {
        let machine = try makeMMUMachine()
        #expect(try load(machine, 0x0040_2010) == 0xDEAD)
        machine.writeCSR(CSR.mcause, 0)
        machine.privilege = .supervisor
        machine.writeCSR(CSR.sstatus, 1 << 19)
        #expect(try load(machine, 0x0040_2010) == 0x3333_3333)
        #expect(machine.readCSR(CSR.mcause) == 0)
    }

    @Test func userModeReachesOnlyUserPages() throws {
        let machine = try makeMMUMachine()
        // User code at VA 0x0040_7000 = PA 0x8000_3000.
        try machine.write([
            Instruction(.lw, rd: x(2), rs1: x(1)),
            Instruction(.lw, rd: x(3), rs1: x(4)),
        ], at: 0x8000_3000)
        machine.setRegister(x(1), 0x0040_3010)
        machine.setRegister(x(4), 0x0040_0010)
        machine.privilege = .user
        machine.pc = 0x0040_7000
        _ = machine.run(maxInstructions: 2)
        #expect(machine.register(x(2)) == 0x4444_4444)
        #expect(machine.readCSR(CSR.mcause) == Cause.loadPage)
        #expect(machine.readCSR(CSR.mtval) == 0x0040_0010)
        #expect(machine.readCSR(CSR.mepc) == 0x0040_7004)
        #expect((machine.readCSR(CSR.mstatus) >> 11) & 3 == 0)
    }

    @Test func userModeCannotExecuteSupervisorPages() throws {
        let machine = try makeMMUMachine()
        machine.privilege = .user
        machine.pc = ramBase
        _ = machine.run(maxInstructions: 1)
        #expect(machine.readCSR(CSR.mcause) == Cause.fetchPage)
        #expect(machine.readCSR(CSR.mtval) == ramBase)
    }

    @Test func mprvTranslatesMachineModeLoadsAndStoresAsMPP() throws {
        let machine = try makeMMUMachine()
        machine.privilege = .machine
        #expect(try load(machine, 0x0040_0010) == 0xDEAD, "M-mode is untranslated: 0x00400010 is no device")
        #expect(machine.readCSR(CSR.mcause) == Cause.loadAccess)
        machine.writeCSR(CSR.mstatus, 1 << 17 | 1 << 11)  // MPRV, MPP = S
        #expect(try load(machine, 0x0040_0010) == 0x1111_1111)
        machine.writeCSR(CSR.mstatus, 1 << 17)  // MPRV, MPP = U: the S page is now forbidden
        machine.writeCSR(CSR.mcause, 0)
        #expect(try load(machine, 0x0040_0010) == 0xDEAD)
        #expect(machine.readCSR(CSR.mcause) == Cause.loadPage)
    }

    @Test func tlbKeepsOldTranslationsUntilSfenceVma() throws {
        let machine = try makeMMUMachine()
        #expect(try load(machine, 0x0040_0010) == 0x1111_1111)
        // Remap the page without telling the hardware: the cached translation still applies.
        try machine.writeWord(Sv32Tests.pte(0x8002_1000, Sv32Tests.V | Sv32Tests.R | Sv32Tests.A), at: Sv32Tests.leafTable)
        #expect(try load(machine, 0x0040_0010) == 0x1111_1111)
        // sfence.vma for another page keeps it; for this page drops it.
        machine.setRegister(x(5), 0x0040_1000)
        try machine.run([Instruction(.sfenceVma, rs1: x(5))])
        #expect(try load(machine, 0x0040_0010) == 0x1111_1111)
        machine.setRegister(x(5), 0x0040_0abc)
        try machine.run([Instruction(.sfenceVma, rs1: x(5))])
        #expect(try load(machine, 0x0040_0010) == 0x2222_2222)
        // sfence.vma zero, zero drops everything.
        try machine.writeWord(Sv32Tests.pte(0x8002_3000, Sv32Tests.V | Sv32Tests.R | Sv32Tests.A), at: Sv32Tests.leafTable)
        try machine.run([Instruction(.sfenceVma)])
        #expect(try load(machine, 0x0040_0010) == 0x4444_4444)
    }

    @Test func satpWriteFlushesTheTLB() throws {
        let machine = try makeMMUMachine()
        #expect(try load(machine, 0x0040_0010) == 0x1111_1111)
        try machine.writeWord(Sv32Tests.pte(0x8002_1000, Sv32Tests.V | Sv32Tests.R | Sv32Tests.A), at: Sv32Tests.leafTable)
        machine.setRegister(x(5), Sv32Tests.satp)
        try machine.run([csrw(CSR.satp, x(5))])
        #expect(try load(machine, 0x0040_0010) == 0x2222_2222)
    }

    @Test func sfenceForOneAddressOfASuperpageDropsTheWholeSuperpage() throws {
        let machine = try makeMMUMachine()
        try machine.writeWord(0x5555_5555, at: 0x8042_0010)
        #expect(try load(machine, 0xC002_0010) == 0x1111_1111)
        try machine.writeWord(Sv32Tests.pte(0x8040_0000, Sv32Tests.V | Sv32Tests.R | Sv32Tests.A), at: Sv32Tests.root + 0x300 * 4)
        machine.setRegister(x(5), 0xC000_0000)  // a different 4 KiB page of the same superpage
        try machine.run([Instruction(.sfenceVma, rs1: x(5))])
        #expect(try load(machine, 0xC002_0010) == 0x5555_5555)
    }

    @Test func bareModeIsIdentity() throws {
        let machine = try makeMMUMachine()
        machine.writeCSR(CSR.satp, 0)
        #expect(try load(machine, 0x8002_0010) == 0x1111_1111)
    }
}
