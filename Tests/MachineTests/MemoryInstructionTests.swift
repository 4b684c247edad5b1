import Testing
import RISCV
@testable import Machine

/// Loads, stores (aligned, misaligned, page-crossing) and the A extension.
@Suite struct MemoryInstructionTests {
    let data: UInt32 = 0x8000_2000

    static let loadCases: [(Operation, Int32, UInt32)] = [
        (.lb, 0, 0xFFFF_FF80), (.lbu, 0, 0x80), (.lb, 2, 0x7F), (.lbu, 1, 0xFF),
        (.lh, 0, 0xFFFF_FF80), (.lhu, 0, 0xFF80), (.lh, 2, 0x017F), (.lhu, 2, 0x017F),
        (.lw, 0, 0x017F_FF80), (.lw, -4, 0xDEAD_BEEF),
        // Misaligned (handled, as QEMU does): bytes 1..4 and 3..4.
        (.lw, 1, 0x2A01_7FFF), (.lh, 3, 0x2A01), (.lhu, 1, 0x7FFF), (.lh, 1, 0x7FFF),
    ]

    @Test(arguments: loadCases)
    func loadsSignOrZeroExtend(_ op: Operation, _ offset: Int32, _ expected: UInt32) throws {
        let machine = try makeMachine()
        try machine.writePhysical(data - 4, [0xEF, 0xBE, 0xAD, 0xDE, 0x80, 0xFF, 0x7F, 0x01, 0x2A])
        machine.setRegister(x(1), data)
        #expect(try machine.run([Instruction(op, rd: x(2), rs1: x(1), immediate: offset)]) == .instructionLimit)
        #expect(machine.register(x(2)) == expected)
    }

    @Test func storesWriteOnlyTheirBytes() throws {
        let machine = try makeMachine()
        try machine.writePhysical(data, [UInt8](repeating: 0xEE, count: 12))
        machine.setRegister(x(1), data)
        machine.setRegister(x(2), 0x1122_3344)
        try machine.run([
            Instruction(.sb, rs1: x(1), rs2: x(2), immediate: 0),
            Instruction(.sh, rs1: x(1), rs2: x(2), immediate: 4),
            Instruction(.sw, rs1: x(1), rs2: x(2), immediate: 8),
        ])
        #expect(try machine.readPhysical(data, count: 12) == [0x44, 0xEE, 0xEE, 0xEE, 0x44, 0x33, 0xEE, 0xEE, 0x44, 0x33, 0x22, 0x11])
    }

    @Test func misalignedStoreAcrossAPageBoundaryWritesBothPages() throws {
        let machine = try makeMachine()
        machine.setRegister(x(1), 0x8000_2FFE)
        machine.setRegister(x(2), 0xA1B2_C3D4)
        try machine.run([
            Instruction(.sw, rs1: x(1), rs2: x(2), immediate: 0),
            Instruction(.lw, rd: x(3), rs1: x(1), immediate: 0),
            Instruction(.lhu, rd: x(4), rs1: x(1), immediate: 1),
        ])
        #expect(try machine.readPhysical(0x8000_2FFE, count: 4) == [0xD4, 0xC3, 0xB2, 0xA1])
        #expect(machine.register(x(3)) == 0xA1B2_C3D4)
        #expect(machine.register(x(4)) == 0xB2C3)
        #expect(machine.readCSR(CSR.mcause) == 0)
    }

    @Test func storeCrossingTheEndOfRAMFaultsAndWritesNothing() throws {
        let machine = try makeMachine()
        let last = ramBase + (1 << 20) - 2
        try machine.writePhysical(last, [0x11, 0x22])
        machine.setRegister(x(1), last)
        machine.setRegister(x(2), 0xFFFF_FFFF)
        try machine.run([Instruction(.sw, rs1: x(1), rs2: x(2), immediate: 0)])
        #expect(machine.readCSR(CSR.mcause) == Cause.storeAccess)
        #expect(machine.readCSR(CSR.mtval) == last + 2)
        #expect(try machine.readPhysical(last, count: 2) == [0x11, 0x22])
    }

    @Test(arguments: [(Operation.lw, Cause.loadAccess), (.lb, Cause.loadAccess), (.sw, Cause.storeAccess), (.sh, Cause.storeAccess)])
    func accessToNoDeviceIsAnAccessFault(_ op: Operation, _ cause: UInt32) throws {
        let machine = try makeMachine()
        machine.setRegister(x(1), 0x4000_0000)
        let instruction = op.format == .load ? Instruction(op, rd: x(2), rs1: x(1), immediate: 8) : Instruction(op, rs1: x(1), rs2: x(2), immediate: 8)
        try machine.run([instruction])
        #expect(machine.readCSR(CSR.mcause) == cause)
        #expect(machine.readCSR(CSR.mtval) == 0x4000_0008)
        #expect(machine.readCSR(CSR.mepc) == ramBase)
        #expect(machine.pc == handlerAddress)
    }

    // MARK: A extension

    static let amoCases: [(Operation, UInt32, UInt32, UInt32)] = [
        (.amoswapW, 5, 7, 7),
        (.amoaddW, 0xFFFF_FFFF, 1, 0), (.amoaddW, 40, 2, 42),
        (.amoxorW, 0xF0, 0xFF, 0x0F),
        (.amoandW, 0xF0F0, 0xFF00, 0xF000),
        (.amoorW, 0xF0F0, 0x0F00, 0xFFF0),
        (.amominW, 0xFFFF_FFFF, 1, 0xFFFF_FFFF), (.amominW, 3, 2, 2),
        (.amomaxW, 0xFFFF_FFFF, 1, 1), (.amomaxW, 0x8000_0000, 0x7FFF_FFFF, 0x7FFF_FFFF),
        (.amominuW, 0xFFFF_FFFF, 1, 1), (.amominuW, 3, 2, 2),
        (.amomaxuW, 0xFFFF_FFFF, 1, 0xFFFF_FFFF), (.amomaxuW, 0x8000_0000, 0x7FFF_FFFF, 0x8000_0000),
    ]

    /// Each AMO returns the old memory value in rd and stores op(old, rs2).
    @Test(arguments: amoCases)
    func atomicMemoryOperations(_ op: Operation, _ old: UInt32, _ operand: UInt32, _ new: UInt32) throws {
        let machine = try makeMachine()
        try machine.writeWord(old, at: data)
        machine.setRegister(x(1), data)
        machine.setRegister(x(2), operand)
        try machine.run([Instruction(op, rd: x(3), rs1: x(1), rs2: x(2), acquire: true, release: true)])
        #expect(machine.register(x(3)) == old)
        #expect(try machine.readWord(at: data) == new)
        #expect(machine.pc == ramBase + 4)
    }

    @Test func amoWithRdEqualRs2UsesTheOldRegisterValue() throws {
        let machine = try makeMachine()
        try machine.writeWord(10, at: data)
        machine.setRegister(x(1), data)
        machine.setRegister(x(2), 5)
        try machine.run([Instruction(.amoaddW, rd: x(2), rs1: x(1), rs2: x(2))])
        #expect(machine.register(x(2)) == 10)
        #expect(try machine.readWord(at: data) == 15)
    }

    @Test func loadReservedThenStoreConditionalSucceeds() throws {
        let machine = try makeMachine()
        try machine.writeWord(7, at: data)
        machine.setRegister(x(1), data)
        machine.setRegister(x(2), 99)
        try machine.run([
            Instruction(.lrW, rd: x(3), rs1: x(1)),
            Instruction(.scW, rd: x(4), rs1: x(1), rs2: x(2)),
            // The reservation is gone after an SC: a second SC fails and writes nothing.
            Instruction(.addi, rd: x(2), rs1: x(2), immediate: 1),
            Instruction(.scW, rd: x(5), rs1: x(1), rs2: x(2)),
        ])
        #expect(machine.register(x(3)) == 7)
        #expect(machine.register(x(4)) == 0)
        #expect(machine.register(x(5)) == 1)
        #expect(try machine.readWord(at: data) == 99)
    }

    @Test func storeConditionalWithoutReservationFails() throws {
        let machine = try makeMachine()
        try machine.writeWord(7, at: data)
        machine.setRegister(x(1), data)
        machine.setRegister(x(2), 99)
        try machine.run([Instruction(.scW, rd: x(4), rs1: x(1), rs2: x(2))])
        #expect(machine.register(x(4)) == 1)
        #expect(try machine.readWord(at: data) == 7)
    }

    @Test func storeConditionalToAnotherAddressFails() throws {
        let machine = try makeMachine()
        machine.setRegister(x(1), data)
        machine.setRegister(x(6), data + 8)
        machine.setRegister(x(2), 99)
        try machine.run([
            Instruction(.lrW, rd: x(3), rs1: x(1)),
            Instruction(.scW, rd: x(4), rs1: x(6), rs2: x(2)),
        ])
        #expect(machine.register(x(4)) == 1)
        #expect(try machine.readWord(at: data + 8) == 0)
    }

    @Test func aTrapClearsTheReservation() throws {
        let machine = try makeMachine()
        machine.setRegister(x(1), data)
        machine.setRegister(x(2), 99)
        // The handler tries to complete the interrupted sequence: the SC must fail.
        try machine.write([Instruction(.scW, rd: x(4), rs1: x(1), rs2: x(2)), Instruction(.jal, immediate: 0)], at: handlerAddress)
        try machine.run([Instruction(.lrW, rd: x(3), rs1: x(1)), ecall], steps: 3)
        #expect(machine.readCSR(CSR.mcause) == Cause.ecallM)
        #expect(machine.register(x(4)) == 1)
        #expect(try machine.readWord(at: data) == 0)
    }

    @Test(arguments: [
        (Operation.lrW, Cause.misalignedLoad), (.scW, Cause.misalignedStore),
        (.amoaddW, Cause.misalignedStore), (.amoswapW, Cause.misalignedStore), (.amomaxuW, Cause.misalignedStore),
    ])
    func misalignedAtomicsTrap(_ op: Operation, _ cause: UInt32) throws {
        let machine = try makeMachine()
        machine.setRegister(x(1), data + 2)
        machine.setRegister(x(3), 0x5555)
        try machine.run([Instruction(op, rd: x(3), rs1: x(1), rs2: op == .lrW ? .zero : x(2))])
        #expect(machine.readCSR(CSR.mcause) == cause)
        #expect(machine.readCSR(CSR.mtval) == data + 2)
        #expect(machine.readCSR(CSR.mepc) == ramBase)
        #expect(machine.register(x(3)) == 0x5555)
    }
}
