import Testing
import RISCV
import Machine
#if canImport(Glibc)
import Glibc
#endif

/// Throughput of the interpreter on a simple loop. It measures wall time, so it only runs when asked
/// (`VLAB_SPEED=1 swift test -c release -Xswiftc -enable-testing --filter InterpreterSpeedTests`) and
/// checks only that the loop computed the right result; the MIPS figure is printed.
@Suite struct InterpreterSpeedTests {
    static let requested = getenv("VLAB_SPEED") != nil

    @Test(.enabled(if: requested, "set VLAB_SPEED=1 (and build with -c release) to measure interpreter speed"))
    func simpleLoopThroughput() throws {
        let machine = try Machine(configuration: MachineConfiguration())
        machine.console = .silent
        let iterations: UInt32 = 20_000_000
        // t0 counts down; the body mixes ALU work, a load, a store and a branch (7 instructions).
        let t0 = Register(5), t1 = Register(6), t2 = Register(7), t3 = Register(28), t4 = Register(29), a0 = Register(10)
        let program: [Instruction] = loadImmediateWords(t0, iterations) + loadImmediateWords(a0, 0x8010_0000) + [
            Instruction(.addi, rd: t1, rs1: t1, immediate: 1),
            Instruction(.add, rd: t2, rs1: t2, rs2: t1),
            Instruction(.xor, rd: t3, rs1: t3, rs2: t2),
            Instruction(.lw, rd: t4, rs1: a0, immediate: 0),
            Instruction(.sw, rs1: a0, rs2: t3, immediate: 4),
            Instruction(.addi, rd: t0, rs1: t0, immediate: -1),
            Instruction(.bne, rs1: t0, rs2: .zero, immediate: -24),
        ]
        var bytes: [UInt8] = []
        for instruction in program {
            let word = try instruction.encoded()
            bytes += [UInt8(word & 0xFF), UInt8(word >> 8 & 0xFF), UInt8(word >> 16 & 0xFF), UInt8(word >> 24)]
        }
        try machine.writePhysical(0x8000_0000, bytes)
        machine.pc = 0x8000_0000
        let total = UInt64(iterations) * 7 + 4
        let clock = ContinuousClock()
        let start = clock.now
        let stop = machine.run(maxInstructions: total)
        let elapsed = clock.now - start
        #expect(stop == .instructionLimit)
        #expect(machine.register(t0) == 0)
        #expect(machine.register(t1) == iterations)
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        print("interpreter: \(total) instructions in \(seconds) s = \(Double(total) / seconds / 1e6) MIPS")
    }

    /// The cost the interpreter avoids by switching on raw words: building an `Instruction` per step.
    @Test(.enabled(if: requested, "set VLAB_SPEED=1 (and build with -c release) to measure decoding speed"))
    func decoderThroughput() throws {
        let words: [UInt32] = [0x0013_0313, 0x0063_83B3, 0x007E_4E33, 0x0005_2E83, 0x01C5_2223, 0xFFF2_8293, 0xFE02_94E3]
        var checksum = 0
        let count = 20_000_000
        let clock = ContinuousClock()
        let start = clock.now
        for i in 0..<count {
            let instruction = Instruction.decode(words[i % words.count] ^ UInt32(truncatingIfNeeded: i & 0x80))
            checksum &+= Int(instruction.operation.rawValue) &+ Int(instruction.immediate)
        }
        let elapsed = clock.now - start
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        #expect(checksum != 0)
        print("Instruction.decode: \(Double(count) / seconds / 1e6) million decodes/s (\(seconds / Double(count) * 1e9) ns each)")
    }

    func loadImmediateWords(_ rd: Register, _ value: UInt32) -> [Instruction] {
        let low = Int32(bitPattern: value << 20) >> 20
        let high = Int32(bitPattern: (value &- UInt32(bitPattern: low)) & 0xFFFF_F000)
        return [Instruction(.lui, rd: rd, immediate: high), Instruction(.addi, rd: rd, rs1: rd, immediate: low)]
    }
}
