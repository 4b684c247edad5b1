import Foundation
import LabSupport
import RISCV

/// Programs the lab tests run.
public enum Guests {
    /// The repository's `Tests/Guests/linux` folder, found from this source file's place
    /// (Sources/LabTestSupport/ -> ../../Tests/Guests/linux).
    public static let linuxGuestFolder: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Tests/Guests/linux")

    /// One of the committed C guests (static RV32IM Linux executables built with GCC).
    public static func linux(_ name: String, arguments: [String] = [], input: [UInt8] = []) throws -> GuestProgram {
        let path = linuxGuestFolder.appendingPathComponent("\(name).elf").path
        guard let data = FileManager.default.contents(atPath: path) else {
            throw LabError("\(path): the guest program is missing from this copy of the repository")
        }
        return try GuestProgram.linuxExecutable([UInt8](data), name: "\(name).elf", arguments: [name] + arguments, input: input)
    }

    /// Assembles one of the programs below.
    public static func assembly(_ name: String, _ source: String) throws -> GuestProgram {
        try GuestProgram.assembly(source, name: name)
    }

    /// Prints "fib(25) = 75025" computed with a loop, then exits with 0. Small: a first program.
    public static let fibonacci = """
        .text
        .globl _start
        _start:
            li   s0, 25            # n
            li   a0, 0             # fib(i)
            li   a1, 1             # fib(i+1)
        1:  beqz s0, 2f
            add  t0, a0, a1
            mv   a0, a1
            mv   a1, t0
            addi s0, s0, -1
            j    1b
        2:  # print the decimal digits of a0 into buffer, backwards
            la   t1, buffer_end
            li   t2, 10
            li   t3, '\\n'
            addi t1, t1, -1
            sb   t3, 0(t1)
        3:  remu t4, a0, t2
            divu a0, a0, t2
            addi t4, t4, '0'
            addi t1, t1, -1
            sb   t4, 0(t1)
            bnez a0, 3b
            la   a1, prefix
            li   a2, 10
            li   a0, 1
            li   a7, 64            # write(1, prefix, 10)
            ecall
            la   a2, buffer_end
            sub  a2, a2, t1
            mv   a1, t1
            li   a0, 1
            li   a7, 64            # write(1, digits, n)
            ecall
            li   a0, 0
            li   a7, 93            # exit(0)
            ecall
        .data
        prefix: .ascii "fib(25) = "
        buffer: .space 16
        buffer_end:
        """

    /// Insertion sort of 64 pseudo-random words, with a function call per comparison (jal/jalr,
    /// a stack frame with sw/lw), then a checksum of the sorted array as the exit status.
    public static let sort = """
        .text
        .globl _start
        _start:
            la   s0, array
            li   s1, 64
            li   t0, 12345
            li   t1, 0
        fill:                       # array[i] = LCG output, signed and unsigned mixed
            li   t2, 1103515245
            mul  t0, t0, t2
            addi t0, t0, 1234
            slli t3, t1, 2
            add  t3, t3, s0
            sw   t0, 0(t3)
            addi t1, t1, 1
            blt  t1, s1, fill
            li   s2, 1              # i
        outer:
            bge  s2, s1, done
            slli t3, s2, 2
            add  t3, t3, s0
            lw   s3, 0(t3)          # key
            addi s4, s2, -1         # j
        inner:
            bltz s4, place
            slli t3, s4, 2
            add  t3, t3, s0
            lw   a0, 0(t3)
            mv   a1, s3
            call greater            # a0 = array[j] > key (signed)
            beqz a0, place
            slli t3, s4, 2
            add  t3, t3, s0
            lw   t4, 0(t3)
            sw   t4, 4(t3)
            addi s4, s4, -1
            j    inner
        place:
            addi t3, s4, 1
            slli t3, t3, 2
            add  t3, t3, s0
            sw   s3, 0(t3)
            addi s2, s2, 1
            j    outer
        done:                       # checksum: sum of array[i] * (i + 1), folded to 8 bits
            li   t1, 0
            li   a0, 0
        sum:
            slli t3, t1, 2
            add  t3, t3, s0
            lw   t4, 0(t3)
            addi t5, t1, 1
            mul  t4, t4, t5
            add  a0, a0, t4
            addi t1, t1, 1
            blt  t1, s1, sum
            srli t4, a0, 16
            xor  a0, a0, t4
            srli t4, a0, 8
            xor  a0, a0, t4
            andi a0, a0, 255
            li   a7, 93
            ecall
        greater:                    # a leaf function with a frame, for the loads and stores
            addi sp, sp, -16
            sw   ra, 12(sp)
            sw   a0, 8(sp)
            lw   t6, 8(sp)
            slt  a0, a1, t6
            lw   ra, 12(sp)
            addi sp, sp, 16
            ret
        .bss
        array: .space 256
        """

    /// Self-modifying code: a loop rewrites the immediate of `addi a0, zero, K` in a function it
    /// then calls, 50 times. With `fenceI` the loop executes FENCE.I after each rewrite (what the
    /// ISA requires for the new code to be fetched); without, only the store tells a translator
    /// its block is stale. Exit status: the sum of the values returned, & 0xFF (= 2176 & 0xFF = 128).
    public static func selfModifying(fenceI: Bool) -> String {
        """
        .text
        .globl _start
        _start:
            li   s1, 0
            li   s2, 0
            li   s3, 50
        loop:
            call value
            add  s1, s1, a0
            slli t0, s2, 20
            li   t1, 0x00000513      # addi a0, zero, 0
            or   t0, t0, t1
            la   t2, value
            sw   t0, 0(t2)
            \(fenceI ? "fence.i" : "nop")
            addi s2, s2, 1
            blt  s2, s3, loop
            mv   a0, s1
            li   a7, 93
            ecall
        value:
            li   a0, 1000
            ret
        """
    }

    /// A hot loop for speed comparisons: 200,000 iterations of integer work, loads and stores.
    public static let hotLoop = """
        .text
        .globl _start
        _start:
            la   s0, table
            li   s1, 200000
            li   a0, 0
            li   t0, 12345
        1:  slli t1, t0, 13
            xor  t0, t0, t1
            srli t1, t0, 17
            xor  t0, t0, t1
            andi t2, t0, 252
            add  t2, t2, s0
            lw   t3, 0(t2)
            add  t3, t3, t0
            sw   t3, 0(t2)
            add  a0, a0, t3
            addi s1, s1, -1
            bnez s1, 1b
            andi a0, a0, 255
            li   a7, 93
            ecall
        .bss
        table: .space 256
        """

    /// Traps in the middle of a block: some work, then a load from address 0.
    public static let faultInBlock = """
        .text
        .globl _start
        _start:
            li   a0, 1
            li   a1, 2
            add  a2, a0, a1
            lw   a3, 0(zero)
            li   a7, 93
            ecall
        """
}

/// Turns a lab check's result into a test failure with the check's explanation.
public enum Explain {
    /// The divergence text, or a line about the stop when the program was expected to exit.
    public static func failure(_ result: DifferentialResult, expectExit: Bool = true) -> String? {
        if let divergence = result.divergence { return divergence }
        if expectExit, case .exited = result.stop { return nil }
        if !expectExit { return nil }
        return "the program did not exit: \(result.stop) after \(result.retired) instructions"
    }
}
