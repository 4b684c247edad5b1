import Testing
import RISCV
import Machine

/// The host-facing API: configuration checks, physical access, ELF loading, run limits and
/// the Linux user-mode trap interception.
@Suite struct MachineAPITests {
    @Test(arguments: [0, 4095, 100, 3 << 30])
    func badRAMSizesAreRejected(_ size: Int) {
        var configuration = MachineConfiguration()
        configuration.ramSize = size
        #expect(throws: MachineError.self) { _ = try Machine(configuration: configuration) }
    }

    @Test func zeroTimerRatioIsRejected() {
        var configuration = MachineConfiguration()
        configuration.instructionsPerTimerTick = 0
        #expect(throws: MachineError.self) { _ = try Machine(configuration: configuration) }
    }

    @Test func defaultMachineHas128MiBAndStartsInMachineModeAtRAMBase() throws {
        let machine = try Machine()
        #expect(machine.configuration.ramSize == 128 << 20)
        #expect(machine.pc == 0x8000_0000)
        #expect(machine.privilege == .machine)
        try machine.writePhysical(0x8000_0000 + (128 << 20) - 4, [1, 2, 3, 4])
        #expect(throws: BusError.self) { try machine.writePhysical(0x8000_0000 + (128 << 20) - 2, [1, 2, 3, 4]) }
    }

    @Test func physicalAccessOutsideRAMAndDevicesThrowsNamingTheAddress() throws {
        let machine = try makeMachine()
        do {
            _ = try machine.readPhysical(0x7FFF_FFFE, count: 4)
            Issue.record("expected a BusError")
        } catch {
            #expect(error.address == 0x7FFF_FFFE)
            #expect(error.message.contains("7ffffffe"))
        }
        // Nothing is written when part of the range is unbacked.
        let end = ramBase + (1 << 20)
        try machine.writePhysical(end - 2, [9, 9])
        #expect(throws: BusError.self) { try machine.writePhysical(end - 2, [1, 2, 3]) }
        #expect(try machine.readPhysical(end - 2, count: 2) == [9, 9])
        // Device registers are reachable: the UART's LSR.
        #expect(try machine.readPhysical(0x1000_0005, count: 1) == [0x60])
    }

    @Test func registersAndX0() throws {
        let machine = try makeMachine()
        machine.setRegister(.a0, 42)
        machine.setRegister(.zero, 42)
        #expect(machine.register(.a0) == 42)
        #expect(machine.register(.zero) == 0)
    }

    // MARK: ELF loading

    @Test func loadCopiesSegmentsZeroFillsBssAndSetsPC() throws {
        let machine = try makeMachine()
        try machine.writePhysical(0x8000_0100, [UInt8](repeating: 0xAA, count: 32))
        let code = try [Instruction(.addi, rd: .a0, immediate: 7).encoded()]
        let elf = try ELFFile(bytes: makeELF(entry: 0x8000_0000, segments: [
            (0x8000_0000, code.flatMap(littleEndian), 4, 5),
            (0x8000_0100, [1, 2, 3, 4], 32, 6),
        ]))
        try machine.load(elf)
        #expect(machine.pc == 0x8000_0000)
        #expect(try machine.readPhysical(0x8000_0100, count: 8) == [1, 2, 3, 4, 0, 0, 0, 0])
        #expect(try machine.readPhysical(0x8000_011C, count: 4) == [0, 0, 0, 0])
        #expect(machine.run(maxInstructions: 1) == .instructionLimit)
        #expect(machine.register(.a0) == 7)
    }

    @Test func segmentOutsideRAMIsALoadErrorNamingIt() throws {
        let machine = try makeMachine()
        let elf = try ELFFile(bytes: makeELF(entry: 0x8000_0000, segments: [
            (0x8000_0000, [0x13, 0, 0, 0], 4, 5),
            (0x2000_0000, [1], 1, 6),
        ]))
        do {
            try machine.load(elf)
            Issue.record("expected a LoadError")
        } catch {
            #expect(error.message.contains("segment 1"))
            #expect(error.message.contains("20000000"))
        }
    }

    @Test func entryOutsideExecutableSegmentsIsALoadError() throws {
        let machine = try makeMachine()
        let elf = try ELFFile(bytes: makeELF(entry: 0x8000_0100, segments: [(0x8000_0000, [0x13, 0, 0, 0], 4, 5),
                                                                        (0x8000_0100, [0x13, 0, 0, 0], 4, 6)]))
        do {
            try machine.load(elf)
            Issue.record("expected a LoadError")
        } catch {
            #expect(error.message.contains("entry point 0x80000100"))
        }
    }

    // MARK: Running

    @Test func instructionLimitStopsARunawayLoop() throws {
        let machine = try makeMachine()
        try machine.write([Instruction(.addi, rd: .a0, rs1: .a0, immediate: 1), Instruction(.jal, immediate: -4)], at: ramBase)
        machine.pc = ramBase
        #expect(machine.run(maxInstructions: 1001) == .instructionLimit)
        #expect(machine.retiredInstructions == 1001)
        #expect(machine.register(.a0) == 501)
        #expect(machine.run(maxInstructions: 1) == .instructionLimit)
        #expect(machine.retiredInstructions == 1002)
    }

    @Test func jumpIntoNothingWithNoTrapHandlerIsAGuestFault() throws {
        let machine = try makeMachine()
        machine.writeCSR(CSR.mtvec, 0)
        machine.setRegister(.a0, 0x1234_5678)
        try machine.write([Instruction(.jalr, rs1: .a0)], at: ramBase)
        machine.pc = ramBase
        let stop = machine.run(maxInstructions: 1000)
        guard case .guestFault(let message) = stop else {
            Issue.record("expected a guest fault, got \(stop)")
            return
        }
        #expect(message.contains("12345678"))
    }

    @Test func misalignedPCFromTheHostIsAMisalignedFetch() throws {
        let machine = try makeMachine()
        machine.pc = ramBase + 2
        #expect(machine.run(maxInstructions: 1) == .instructionLimit)
        #expect(machine.readCSR(CSR.mcause) == 0)
        #expect(machine.readCSR(CSR.mtval) == ramBase + 2)
        #expect(machine.pc == handlerAddress)
    }

    // MARK: Linux user mode

    @Test func interceptedUserTrapsLeaveTheHartUntouched() throws {
        let machine = try makeMachine(interceptUserTraps: true)
        machine.writeCSR(CSR.mepc, 0x1110)
        machine.writeCSR(CSR.mcause, 0x2222)
        machine.setRegister(.a1, 0x4000_0000)
        try machine.write([
            Instruction(.addi, rd: .a7, immediate: 93),
            Instruction(.ecall),
            Instruction(.lw, rd: x(12), rs1: .a1, immediate: 4),
            Instruction.illegal(0xFFFF_FFFF),
            Instruction(.ebreak),
        ], at: ramBase)
        machine.pc = ramBase
        machine.privilege = .user

        #expect(machine.run() == .userTrap(Trap(cause: 8, value: 0, pc: ramBase + 4)))
        #expect(machine.pc == ramBase + 4)
        #expect(machine.privilege == .user)
        #expect(machine.register(.a7) == 93)
        #expect(machine.readCSR(CSR.mepc) == 0x1110 && machine.readCSR(CSR.mcause) == 0x2222)
        #expect(machine.retiredInstructions == 1, "the ECALL did not retire")

        // The host "kernel" handles the call and resumes after it.
        machine.pc += 4
        #expect(machine.run() == .userTrap(Trap(cause: 5, value: 0x4000_0004, pc: ramBase + 8)))
        machine.pc += 4
        #expect(machine.run() == .userTrap(Trap(cause: 2, value: 0xFFFF_FFFF, pc: ramBase + 12)))
        machine.pc += 4
        #expect(machine.run() == .userTrap(Trap(cause: 3, value: ramBase + 16, pc: ramBase + 16)))
        #expect(machine.readCSR(CSR.mepc) == 0x1110 && machine.readCSR(CSR.mstatus) == 0)
    }

    @Test func interceptionOnlyAppliesToUserMode() throws {
        let machine = try makeMachine(interceptUserTraps: true)
        try machine.write([Instruction(.ecall)], at: ramBase)
        machine.pc = ramBase
        #expect(machine.run(maxInstructions: 1) == .instructionLimit)
        #expect(machine.readCSR(CSR.mcause) == 11)
        #expect(machine.pc == handlerAddress)
    }

    @Test func userPageFaultIsInterceptedWithTheFaultingAddress() throws {
        let machine = try makeMachine(interceptUserTraps: true)
        // One user code page: VA 0x0001_0000 -> PA 0x8000_4000 (RX, U). Root table at 0x8000_8000.
        let root: UInt32 = 0x8000_8000, leaf: UInt32 = 0x8000_9000
        try machine.writeWord((leaf >> 12) << 10 | 1, at: root)
        try machine.writeWord((0x8000_4000 >> 12) << 10 | 0x5B, at: leaf + 0x10 * 4)
        try machine.write([Instruction(.sw, rs1: .a0, rs2: .a0, immediate: 0)], at: 0x8000_4000)
        machine.writeCSR(CSR.satp, 0x8000_0000 | root >> 12)
        machine.setRegister(.a0, 0x0002_0010)
        machine.privilege = .user
        machine.pc = 0x0001_0000
        #expect(machine.run() == .userTrap(Trap(cause: 15, value: 0x0002_0010, pc: 0x0001_0000)))
        // The "kernel" maps the page and resumes: the store now completes.
        try machine.writeWord((0x8000_5000 >> 12) << 10 | 0xD7, at: leaf + 0x20 * 4)
        #expect(machine.run(maxInstructions: 1) == .instructionLimit)
        #expect(try machine.readWord(at: 0x8000_5010) == 0x0002_0010)
    }
}

func littleEndian(_ word: UInt32) -> [UInt8] {
    [UInt8(word & 0xFF), UInt8(word >> 8 & 0xFF), UInt8(word >> 16 & 0xFF), UInt8(word >> 24)]
}

/// A minimal ELF32 RISC-V executable: header, program headers, segment bytes. No sections.
/// Each segment: (address, bytes, memory size, flags: 4 = R, 2 = W, 1 = X).
func makeELF(entry: UInt32, segments: [(UInt32, [UInt8], UInt32, UInt32)]) -> [UInt8] {
    func half(_ v: UInt16) -> [UInt8] { [UInt8(v & 0xFF), UInt8(v >> 8)] }
    let headerSize = 52, programHeaderSize = 32
    var bytes: [UInt8] = [0x7F, 0x45, 0x4C, 0x46, 1, 1, 1, 0] + [UInt8](repeating: 0, count: 8)
    bytes += half(2) + half(243) + littleEndian(1) + littleEndian(entry)
    bytes += littleEndian(UInt32(headerSize)) + littleEndian(0) + littleEndian(0)
    bytes += half(UInt16(headerSize)) + half(UInt16(programHeaderSize)) + half(UInt16(segments.count))
    bytes += half(40) + half(0) + half(0)
    var offset = headerSize + programHeaderSize * segments.count
    for (address, data, memorySize, flags) in segments {
        bytes += littleEndian(1) + littleEndian(UInt32(offset)) + littleEndian(address) + littleEndian(address)
        bytes += littleEndian(UInt32(data.count)) + littleEndian(memorySize) + littleEndian(flags) + littleEndian(4)
        offset += data.count
    }
    for (_, data, _, _) in segments { bytes += data }
    return bytes
}
