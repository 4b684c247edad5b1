import Foundation
import Testing
@testable import RISCV

/// VirtLab's teaching instruction `vlab.popie rs1` (custom-0). binutils has no mnemonic for it,
/// so the toolkit is checked against itself (assembler, encoder, decoder, disassembler agree) and
/// against GNU as's generic `.insn` form, which is how the teaching kernel's C code writes it.
@Suite struct TeachingExtensionTests {
    static let registers = (0..<32).map { Register(UInt8($0)) }

    func assembledWords(_ source: String) throws -> [UInt32] {
        let program = try Assembler.assemble(source: source, fileName: "popie.s", base: 0x8000_0000)
        let bytes = try #require(program.section(named: ".text")).bytes
        return stride(from: 0, to: bytes.count - 3, by: 4).map {
            UInt32(bytes[$0]) | UInt32(bytes[$0 + 1]) << 8 | UInt32(bytes[$0 + 2]) << 16 | UInt32(bytes[$0 + 3]) << 24
        }
    }

    @Test func everySourceRegisterRoundTripsThroughAllFourTools() throws {
        let source = Self.registers.map { "vlab.popie \($0.abiName)" }.joined(separator: "\n")
        let words = try assembledWords(source)
        #expect(words.count == 32)
        for (register, word) in zip(Self.registers, words) {
            #expect(word == TeachingExtension.popieWord(source: register))
            #expect(word & 0x7F == 0b000_1011, "custom-0 major opcode")
            #expect(word & ~(31 << 15) == 0x0000_000B, "only rs1 varies")
            let instruction = Instruction.decode(word)
            #expect(instruction == Instruction(.vlabPopie, rs1: register))
            #expect(try instruction.encoded() == word)
            #expect(Disassembler().format(instruction, at: 0) == "vlab.popie\t\(register.abiName)")
            #expect(Disassembler(useABINames: false).format(instruction, at: 0) == "vlab.popie\tx\(register.number)")
        }
    }

    @Test func otherCustomZeroWordsStayIllegal() {
        for word: UInt32 in [0x0000_100B, 0x0000_708B, 0x0000_008B, 0x0010_000B, 0x8000_000B, 0xFFFF_FFFB & ~0x70 | 0x0B] {
            #expect(Instruction.decode(word).operation == .illegal, "0x\(String(word, radix: 16))")
        }
    }

    @Test(arguments: [
        ("vlab.popie", "vlab.popie expects rs1, got 0 operands"),
        ("vlab.popie a0, a1", "vlab.popie expects rs1, got 2 operands"),
        ("vlab.popie 5", "expected a register"),
    ])
    func wrongOperandsAreErrorsOnTheLine(source: String, message: String) {
        do {
            _ = try Assembler.assemble(source: "nop\n" + source, fileName: "bad.s", base: 0)
            Issue.record("\(source) assembled")
        } catch {
            #expect(error.line == 2)
            #expect(error.message.contains(message), "\(error.message)")
        }
    }

    @Test(.enabled(if: GNUToolchain.isInstalled, "GNU riscv64-unknown-elf binutils are not installed"))
    func matchesGNUAsInsnForm() throws {
        let directory = try GNUToolchain.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let source = directory.appendingPathComponent("insn.s")
        let lines = Self.registers.map { ".insn i CUSTOM_0, 0, zero, \($0.abiName), 0" }
        try (".text\n" + lines.joined(separator: "\n") + "\n").write(to: source, atomically: true, encoding: .utf8)
        let object = directory.appendingPathComponent("insn.o").path
        let binary = directory.appendingPathComponent("insn.bin").path
        let assembled = try GNUToolchain.run("as", ["-march=rv32ima_zicsr", "-mabi=ilp32", source.path, "-o", object])
        try #require(assembled.status == 0, "\(assembled.standardError)")
        let copied = try GNUToolchain.run("objcopy", ["-O", "binary", "-j", ".text", object, binary])
        try #require(copied.status == 0, "\(copied.standardError)")
        let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: binary)))
        let gnuWords = stride(from: 0, to: bytes.count - 3, by: 4).map {
            UInt32(bytes[$0]) | UInt32(bytes[$0 + 1]) << 8 | UInt32(bytes[$0 + 2]) << 16 | UInt32(bytes[$0 + 3]) << 24
        }
        let ours = try assembledWords(Self.registers.map { "vlab.popie \($0.abiName)" }.joined(separator: "\n"))
        #expect(gnuWords == ours)
    }
}
