import Testing
import RISCV
@testable import Machine

/// Register xN, for building test programs.
func x(_ n: UInt8) -> Register { Register(n) }

let ramBase: UInt32 = 0x8000_0000
/// Where the test programs put their trap handler: a `j .` loop, so a trap parks the hart there.
let handlerAddress: UInt32 = 0x8000_1000

/// Collects the UART's output.
final class OutputCapture {
    var bytes: [UInt8] = []
    var text: String { String(decoding: bytes, as: UTF8.self) }
}

/// A machine with a small RAM, silent console, and a trap handler parked at `handlerAddress`.
func makeMachine(ramSize: Int = 1 << 20, interceptUserTraps: Bool = false, instructionsPerTick: UInt64 = 1) throws -> Machine {
    var configuration = MachineConfiguration()
    configuration.ramSize = ramSize
    configuration.interceptUserTraps = interceptUserTraps
    configuration.instructionsPerTimerTick = instructionsPerTick
    let machine = try Machine(configuration: configuration)
    machine.console = .silent
    try machine.write([Instruction(.jal, rd: .zero, immediate: 0)], at: handlerAddress)
    machine.writeCSR(CSR.mtvec, handlerAddress)
    machine.writeCSR(CSR.stvec, handlerAddress)
    return machine
}

extension Machine {
    /// Assembles instructions (via the RISCV encoder) into RAM.
    func write(_ instructions: [Instruction], at address: UInt32) throws {
        var bytes: [UInt8] = []
        for instruction in instructions {
            let word = try instruction.encoded()
            bytes += [UInt8(word & 0xFF), UInt8(word >> 8 & 0xFF), UInt8(word >> 16 & 0xFF), UInt8(word >> 24)]
        }
        try writePhysical(address, bytes)
    }

    func writeWord(_ value: UInt32, at address: UInt32) throws {
        try writePhysical(address, [UInt8(value & 0xFF), UInt8(value >> 8 & 0xFF), UInt8(value >> 16 & 0xFF), UInt8(value >> 24)])
    }

    func readWord(at address: UInt32) throws -> UInt32 {
        let b = try readPhysical(address, count: 4)
        return UInt32(b[0]) | UInt32(b[1]) << 8 | UInt32(b[2]) << 16 | UInt32(b[3]) << 24
    }

    /// Loads a program at `address`, points pc at it and runs `steps` instructions.
    @discardableResult
    func run(_ instructions: [Instruction], at address: UInt32 = ramBase, steps: UInt64? = nil) throws -> StopReason {
        try write(instructions, at: address)
        pc = address
        return run(maxInstructions: steps ?? UInt64(instructions.count))
    }

    func capturingOutput() -> OutputCapture {
        let capture = OutputCapture()
        console = ConsoleIO(write: { capture.bytes.append($0) })
        return capture
    }
}

/// `li rd, value` as LUI + ADDI (always two instructions, so programs have a fixed layout).
func loadImmediate(_ rd: Register, _ value: UInt32) -> [Instruction] {
    let low = Int32(bitPattern: value << 20) >> 20
    let high = Int32(bitPattern: (value &- UInt32(bitPattern: low)) & 0xFFFF_F000)
    return [Instruction(.lui, rd: rd, immediate: high), Instruction(.addi, rd: rd, rs1: rd, immediate: low)]
}

func csrw(_ csr: UInt16, _ rs1: Register) -> Instruction { Instruction(.csrrw, rd: .zero, rs1: rs1, csr: csr) }
func csrr(_ rd: Register, _ csr: UInt16) -> Instruction { Instruction(.csrrs, rd: rd, rs1: .zero, csr: csr) }
let nop = Instruction(.addi)
let ecall = Instruction(.ecall)
let mret = Instruction(.mret)
let sret = Instruction(.sret)
let wfi = Instruction(.wfi)

/// The mcause code of each exception.
enum Cause {
    static let misalignedFetch: UInt32 = 0
    static let fetchAccess: UInt32 = 1
    static let illegal: UInt32 = 2
    static let breakpoint: UInt32 = 3
    static let misalignedLoad: UInt32 = 4
    static let loadAccess: UInt32 = 5
    static let misalignedStore: UInt32 = 6
    static let storeAccess: UInt32 = 7
    static let ecallU: UInt32 = 8
    static let ecallS: UInt32 = 9
    static let ecallM: UInt32 = 11
    static let fetchPage: UInt32 = 12
    static let loadPage: UInt32 = 13
    static let storePage: UInt32 = 15
}
