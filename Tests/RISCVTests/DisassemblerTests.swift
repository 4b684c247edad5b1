import Foundation
import Testing
@testable import RISCV

/// The disassembler against GNU objdump (binutils 2.40), which is what its output imitates.
/// Hand-written expectations below were read off objdump; the differential tests run objdump on
/// large corpora and demand identical text, listing and all.
@Suite struct DisassemblerTests {
    let objdumpStyle = Disassembler()
    let noAliases = Disassembler(usePseudoInstructions: false)
    let numeric = Disassembler(useABINames: false)

    func text(_ word: UInt32, at address: UInt32 = 0, _ disassembler: Disassembler = Disassembler()) -> String {
        disassembler.format(Instruction.decode(word), at: address)
    }

    @Test func formatsBaseInstructionsAndAliasesLikeObjdump() {
        let expectations: [(UInt32, String)] = [
            (0x0015_0513, "add\ta0,a0,1"),            // binutils 2.40 writes addi with a register as add
            (0x0000_0013, "nop"),
            (0x0050_0513, "li\ta0,5"),
            (0x8000_0513, "li\ta0,-2048"),
            (0x0005_8513, "mv\ta0,a1"),
            (0xFFF5_C513, "not\ta0,a1"),
            (0x40B0_0533, "neg\ta0,a1"),
            (0x0015_B513, "seqz\ta0,a1"),
            (0x00B0_3533, "snez\ta0,a1"),
            (0x0005_A533, "sltz\ta0,a1"),
            (0x00B0_2533, "sgtz\ta0,a1"),
            (0x0FF5_F513, "zext.b\ta0,a1"),
            (0x01F5_1513, "sll\ta0,a0,0x1f"),
            (0x4035_D513, "sra\ta0,a1,0x3"),
            (0x0055_A513, "slti\ta0,a1,5"),
            (0xFEC4_2783, "lw\ta5,-20(s0)"),
            (0xFEF4_2623, "sw\ta5,-20(s0)"),
            (0x1234_5537, "lui\ta0,0x12345"),
            (0xFFFF_F517, "auipc\ta0,0xfffff"),
            (0x0000_8067, "ret"),
            (0x0005_0067, "jr\ta0"),
            (0x0040_8067, "jr\t4(ra)"),
            (0x0005_00E7, "jalr\ta0"),
            (0xFFC5_00E7, "jalr\t-4(a0)"),
            (0x0005_05E7, "jalr\ta1,a0"),
            (0x0085_05E7, "jalr\ta1,8(a0)"),
            (0x0ff0_000F, "fence"),
            (0x0330_000F, "fence\trw,rw"),
            (0x0100_000F, "fence\tw,unknown"),
            (0x8330_000F, "fence.tso"),
            (0x0000_100F, "fence.i"),
            (0x1405_A52F, "lr.w.aq\ta0,(a1)"),
            (0x1EC5_A52F, "sc.w.aqrl\ta0,a2,(a1)"),
            (0x02C5_A52F, "amoadd.w.rl\ta0,a2,(a1)"),
            (0x3000_2573, "csrr\ta0,mstatus"),
            (0x3005_1073, "csrw\tmstatus,a0"),
            (0x3001_D073, "csrw\tmstatus,3"),
            (0x3002_E573, "csrrs\ta0,mstatus,5"),      // csrrsi with a destination
            (0xC000_2573, "rdcycle\ta0"),
            (0xC810_2573, "rdtimeh\ta0"),
            (0x7B00_2573, "csrr\ta0,dcsr"),
            (0x7C00_2573, "csrr\ta0,0x7c0"),
            (0x1200_0073, "sfence.vma"),
            (0x1205_0073, "sfence.vma\ta0"),
            (0x12B0_0073, "sfence.vma\tzero,a1"),
            (0x0000_0073, "ecall"), (0x0010_0073, "ebreak"), (0x3020_0073, "mret"),
            (0x1020_0073, "sret"), (0x1050_0073, "wfi"),
            (0x0000_0000, ".4byte\t0x0"),
            (0xFFFF_FFFF, ".4byte\t0xffffffff"),
            (0x0287_E507, ".4byte\t0x287e507"),          // a vector load: not VirtLab's ISA
            (0x0FF5_050F, ".4byte\t0xff5050f"),          // fence with reserved rd/rs1 set
        ]
        for (word, expected) in expectations {
            #expect(text(word) == expected, "word 0x\(String(word, radix: 16))")
        }
    }

    @Test func branchAndJumpTargetsAreAbsoluteAddresses() {
        #expect(text(0xF61F_F06F, at: 0xA0) == "j\t0")
        #expect(text(0xF5DF_F0EF, at: 0xA4) == "jal\t0")
        #expect(text(0xF59F_F56F, at: 0xA8) == "jal\ta0,0")
        #expect(text(0xF405_0AE3, at: 0xAC) == "beqz\ta0,0")
        #expect(text(0xF4A0_56E3, at: 0xB4) == "blez\ta0,0")
        #expect(text(0xF2A5_CEE3, at: 0xC4) == "blt\ta1,a0,0")
        #expect(text(0x8000_00EF, at: 0x60) == "jal\tfff00060")      // wraps like a 32-bit address
        #expect(text(0x0000_006F, at: 0x8000_0010) == "j\t80000010")
    }

    @Test func noAliasesAndNumericMatchObjdumpOptions() {
        #expect(text(0x0000_0013, noAliases) == "addi\tzero,zero,0")
        #expect(text(0x0000_8067, noAliases) == "jalr\tzero,0(ra)")
        #expect(text(0x0ff0_000F, noAliases) == "fence\tiorw,iorw")
        #expect(text(0x1200_0073, noAliases) == "sfence.vma\tzero,zero")
        #expect(text(0x3002_D573, noAliases) == "csrrwi\ta0,mstatus,5")
        #expect(text(0x0FF5_F513, noAliases) == "andi\ta0,a1,255")
        #expect(text(0xFEC4_2783, numeric) == "lw\tx15,-20(x8)")
        #expect(text(0x3000_2573, numeric) == "csrr\tx10,mstatus")
        #expect(text(0x0000_8067, numeric) == "ret")
    }
}
