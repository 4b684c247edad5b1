import Foundation
import RISCV
import Testing
@testable import Machine

/// DIV/DIVU/REM/REMU in native x86-64 code, where x86 `idiv`/`div` would trap on the cases RISC-V
/// defines (x / 0 and INT_MIN / -1): the translator must agree with the interpreter bit for bit.
@Suite("Native code: division edge cases match the interpreter")
struct NativeDivisionTests {
    static let operations = ["div", "divu", "rem", "remu"]
    static let values: [UInt32] = [0, 1, 2, 7, 0xFFFF_FFFF, 0xFFFF_FFF9, 0x8000_0000, 0x7FFF_FFFF, 0x8000_0001]

    /// Every division op starts its own block (each is followed by a jump to the next line), so a
    /// block gets native code only if its division does: nativeBlocks == blocksTranslated says
    /// every division below ran as native code, none in threaded code.
    static var source: String {
        var lines = ["_start:", "  li s6, 0"]
        var label = 0
        func op(_ text: String) {
            lines.append("  \(text)")
            lines.append("  j L\(label)")
            lines.append("L\(label):")
            label += 1
        }
        for dividend in values {
            for divisor in values {
                lines.append("  li t0, \(Int32(bitPattern: dividend))")
                lines.append("  li t1, \(Int32(bitPattern: divisor))")
                for name in operations {
                    op("\(name) t2, t0, t1")                         // rd distinct from both sources
                    lines.append("  xor s6, s6, t2")
                    lines.append("  mv t3, t0")
                    op("\(name) t3, t3, t1")                         // rd == rs1
                    lines.append("  xor s6, s6, t3")
                    lines.append("  mv t4, t1")
                    op("\(name) t4, t0, t4")                         // rd == rs2
                    lines.append("  xor s6, s6, t4")
                    op("\(name) zero, t0, t1")                       // rd == x0: no effect
                    op("\(name) t5, t0, t0")                         // rs1 == rs2
                    lines.append("  xor s6, s6, t5")
                }
            }
        }
        // A self-loop whose guest registers live in host registers: INT_MIN divided by 2, 1, 0,
        // -1, -2, with rd == rs1 and rd == rs2 forms inside the loop.
        lines += [
            "  li s0, -2147483648", "  li s1, 2", "  li s7, 5",
            "loop:",
            "  div s2, s0, s1", "  rem s3, s0, s1", "  divu s4, s0, s1", "  remu s5, s0, s1",
            "  mv s8, s0", "  div s8, s8, s1", "  mv s9, s1", "  rem s9, s0, s9", "  div zero, s0, s1",
            "  xor s6, s6, s2", "  xor s6, s6, s3", "  xor s6, s6, s4", "  xor s6, s6, s5",
            "  xor s6, s6, s8", "  xor s6, s6, s9",
            "  addi s1, s1, -1", "  addi s7, s7, -1", "  bnez s7, loop",
            "end:", "  j end",
        ]
        return lines.joined(separator: "\n") + "\n"
    }

    @Test("0, ±1, INT_MIN, INT_MIN / -1, x / 0 with rd == rs1, rd == rs2, rd == x0, through native code")
    func edgeCases() throws {
        let elf = try ELFFile(bytes: Assembler.assemble(source: Self.source, fileName: "division.S").elfExecutable())
        let (snapshot, machine) = try EngineComparison.expectIdentical("division", EngineDifferentialTests.bareMetal(elf, limit: 20_000))
        #expect(snapshot.traps.isEmpty, "ran: \(snapshot)")
        #expect(snapshot.registers[0] == 0)
        // The loop's last pass divided INT_MIN by -2 (s1 was then decremented to -3).
        #expect(snapshot.registers[18] == 0x4000_0000, "div s2: 0x\(String(snapshot.registers[18], radix: 16))")
        #expect(snapshot.registers[9] == 0xFFFF_FFFD)
        guard NativeCodeEmitter.isSupported, machine.codeCache.emitsNativeCode else { return }
        let statistics = machine.engineStatistics
        #expect(statistics.blocksTranslated > 4 * UInt64(Self.values.count * Self.values.count))
        #expect(statistics.nativeBlocks == statistics.blocksTranslated,
                "\(statistics.blocksTranslated - statistics.nativeBlocks) blocks had no native code")
    }

    @Test("the RISC-V results of the cases x86 traps on, as the translator computes them")
    func definedResults() throws {
        // x10..x15 = INT_MIN / -1, INT_MIN % -1, 5 / 0, 5 % 0, 5 /u 0, 5 %u 0
        let source = """
        _start:
          li t0, -2147483648
          li t1, -1
          li t2, 5
          j divisions
        divisions:
          div a0, t0, t1
          rem a1, t0, t1
          div a2, t2, zero
          rem a3, t2, zero
          divu a4, t2, zero
          remu a5, t2, zero
        end:
          j end

        """
        let elf = try ELFFile(bytes: Assembler.assemble(source: source, fileName: "defined.S").elfExecutable())
        let (snapshot, _) = try EngineComparison.expectIdentical("defined", EngineDifferentialTests.bareMetal(elf, limit: 1000))
        #expect(Array(snapshot.registers[10...15]) == [0x8000_0000, 0, 0xFFFF_FFFF, 5, 0xFFFF_FFFF, 5])
    }
}
