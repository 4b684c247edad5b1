import Testing
import RISCV
@testable import Machine

/// The `virt` board's devices: UART, test finisher, HTIF tohost, CLINT.
@Suite struct DeviceTests {
    let uart: UInt32 = 0x1000_0000

    @Test func uartTransmitsBytesToTheConsole() throws {
        let machine = try makeMachine()
        let output = machine.capturingOutput()
        try machine.run(loadImmediate(x(1), uart) + [
            Instruction(.addi, rd: x(2), immediate: 72), Instruction(.sb, rs1: x(1), rs2: x(2)),
            Instruction(.addi, rd: x(2), immediate: 105), Instruction(.sb, rs1: x(1), rs2: x(2)),
            Instruction(.addi, rd: x(2), immediate: 10), Instruction(.sw, rs1: x(1), rs2: x(2)),
        ])
        #expect(output.text == "Hi\n")
    }

    @Test func uartLineStatusAndReceive() throws {
        let machine = try makeMachine()
        var input: [UInt8] = [0x41, 0x42]
        machine.console = ConsoleIO(write: { _ in }, read: { input.isEmpty ? nil : input.removeFirst() })
        machine.setRegister(x(1), uart)
        try machine.run([
            Instruction(.lbu, rd: x(2), rs1: x(1), immediate: 5),  // LSR: THRE | TEMT | DR
            Instruction(.lbu, rd: x(3), rs1: x(1), immediate: 0),  // RBR: 'A'
            Instruction(.lbu, rd: x(4), rs1: x(1), immediate: 0),  // RBR: 'B'
            Instruction(.lbu, rd: x(5), rs1: x(1), immediate: 5),  // LSR: no data
        ])
        #expect(machine.register(x(2)) == 0x61)
        #expect(machine.register(x(3)) == 0x41)
        #expect(machine.register(x(4)) == 0x42)
        #expect(machine.register(x(5)) == 0x60)
    }

    @Test func uartDivisorLatchHidesTransmitRegister() throws {
        let machine = try makeMachine()
        let output = machine.capturingOutput()
        machine.setRegister(x(1), uart)
        try machine.run([
            Instruction(.addi, rd: x(2), immediate: 0x80), Instruction(.sb, rs1: x(1), rs2: x(2), immediate: 3),  // LCR.DLAB
            Instruction(.addi, rd: x(2), immediate: 0x03), Instruction(.sb, rs1: x(1), rs2: x(2), immediate: 0),  // DLL
            Instruction(.sb, rs1: x(1), rs2: .zero, immediate: 1),                                                // DLM
            Instruction(.lbu, rd: x(3), rs1: x(1), immediate: 0),
            Instruction(.addi, rd: x(2), immediate: 0x03), Instruction(.sb, rs1: x(1), rs2: x(2), immediate: 3),  // 8N1
            Instruction(.addi, rd: x(2), immediate: 0x21), Instruction(.sb, rs1: x(1), rs2: x(2), immediate: 0),
            Instruction(.lbu, rd: x(4), rs1: x(1), immediate: 3),
        ])
        #expect(machine.register(x(3)) == 3)
        #expect(machine.register(x(4)) == 3)
        #expect(output.text == "!")
    }

    static let finisherCases: [(UInt32, StopReason)] = [
        (0x5555, .exited(code: 0)),
        (0x3333 | 7 << 16, .exited(code: 7)),
        (0x3333 | 0xFFFF << 16, .exited(code: 0xFFFF)),
        (0x7777, .exited(code: 0)),
        (0x1234, .instructionLimit),
    ]

    @Test(arguments: finisherCases)
    func testFinisherEndsTheRun(_ value: UInt32, _ expected: StopReason) throws {
        let machine = try makeMachine()
        let program = loadImmediate(x(1), 0x0010_0000) + loadImmediate(x(2), value) + [Instruction(.sw, rs1: x(1), rs2: x(2)), nop, nop]
        try machine.write(program, at: ramBase)
        machine.pc = ramBase
        #expect(machine.run(maxInstructions: 7) == expected)
        if expected != .instructionLimit {
            #expect(machine.pc == ramBase + 20, "the store completed; nothing after it ran")
        }
    }

    @Test func htifTohostOddValueExits() throws {
        let machine = try makeMachine()
        machine.tohostAddress = 0x8000_3000
        machine.flushTLB()
        machine.setRegister(x(1), 0x8000_3000)
        try machine.writeWord(2, at: 0x8000_2000)
        try machine.write(loadImmediate(x(2), 0x8000_2000), at: ramBase)
        // An even value is not an exit request; (5 << 1) | 1 is "test 5 failed".
        machine.setRegister(x(3), 4)
        machine.setRegister(x(4), 11)
        try machine.write([
            Instruction(.sw, rs1: x(1), rs2: x(3)),
            Instruction(.lw, rd: x(5), rs1: x(1)),
            Instruction(.sw, rs1: x(1), rs2: x(4)),
            Instruction(.sw, rs1: x(1), rs2: .zero, immediate: 4),
        ], at: ramBase)
        machine.pc = ramBase
        #expect(machine.run(maxInstructions: 10) == .exited(code: 5))
        #expect(machine.register(x(5)) == 4)
        #expect(machine.pc == ramBase + 12)
    }

    @Test func clintTimerInterruptFiresAtTheDeadline() throws {
        for ratio: UInt64 in [1, 10] {
            let machine = try makeMachine(instructionsPerTick: ratio)
            let deadline = 50 / ratio
            let program = loadImmediate(x(1), 0x0200_4000) + loadImmediate(x(2), UInt32(deadline)) + [
                Instruction(.sw, rs1: x(1), rs2: x(2)),
                Instruction(.sw, rs1: x(1), rs2: .zero, immediate: 4),
            ] + loadImmediate(x(3), 0x80) + [
                csrw(CSR.mie, x(3)),
                Instruction(.csrrsi, rd: .zero, immediate: 8, csr: CSR.mstatus),
                Instruction(.jal, immediate: 0),
            ]
            try machine.write(program, at: ramBase)
            machine.pc = ramBase
            #expect(machine.run(maxInstructions: 50) == .instructionLimit)
            #expect(machine.readCSR(CSR.mcause) == 0, "not yet: mtime = \(50 / ratio) only after 50 instructions")
            #expect(machine.readCSR(CSR.mip) & 0x80 != 0)
            #expect(machine.run(maxInstructions: 1) == .instructionLimit)
            #expect(machine.readCSR(CSR.mcause) == 0x8000_0007)
            #expect(machine.readCSR(CSR.mepc) == ramBase + 40)
            #expect(machine.pc == handlerAddress)
        }
    }

    @Test func mtimeFollowsRetiredInstructionsAndCanBeWritten() throws {
        let machine = try makeMachine(instructionsPerTick: 2)
        machine.setRegister(x(1), 0x0200_BFF8)
        machine.setRegister(x(9), 1000)
        try machine.run([nop, nop, nop, nop,
                         Instruction(.lw, rd: x(2), rs1: x(1)),      // 4 retired: mtime 2
                         csrr(x(3), CSR.time),                        // 5 retired: 2
                         Instruction(.sw, rs1: x(1), rs2: x(9)),      // mtime = 1000 (at 6 retired)
                         nop, nop,
                         csrr(x(4), CSR.time),                        // 9 retired: 1000 + 1
                         csrr(x(5), CSR.timeh)])
        #expect(machine.register(x(2)) == 2)
        #expect(machine.register(x(3)) == 2)
        #expect(machine.register(x(4)) == 1001)
        #expect(machine.register(x(5)) == 0)
    }

    @Test func clintSoftwareInterrupt() throws {
        let machine = try makeMachine()
        machine.writeCSR(CSR.mie, 0x8)
        machine.writeCSR(CSR.mstatus, 0x8)
        machine.setRegister(x(1), 0x0200_0000)
        machine.setRegister(x(2), 1)
        try machine.run([Instruction(.sw, rs1: x(1), rs2: x(2)), nop, nop], steps: 2)
        #expect(machine.readCSR(CSR.mcause) == 0x8000_0003)
        #expect(machine.readCSR(CSR.mepc) == ramBase + 4)
    }

    @Test func wfiSkipsTimeToTheTimerDeadline() throws {
        let machine = try makeMachine()
        try machine.writePhysical(0x0200_4000, [0x40, 0x42, 0x0F, 0, 0, 0, 0, 0])  // mtimecmp = 1_000_000
        machine.writeCSR(CSR.mie, 0x80)
        machine.writeCSR(CSR.mstatus, 0x8)
        try machine.run([nop, wfi, nop], steps: 3)
        #expect(machine.readCSR(CSR.mcause) == 0x8000_0007)
        #expect(machine.readCSR(CSR.mepc) == ramBase + 8, "the interrupt arrives after the WFI")
        #expect(machine.retiredInstructions == 3)
        #expect(machine.readCSR(CSR.time) >= 1_000_000)
    }
}
