/// A short whole program for the M extension's edge cases (about 11,000 instructions): every
/// multiply and divide instruction on every pair of 13 operands that find the usual mistakes
/// (zero, ±1, the extremes, INT_MIN / -1, values with the top bit set), each result folded into a
/// checksum that is printed in hex and returned as the exit status. In lock-step with the
/// reference, a wrong result is named at the instruction that computed it; compute.elf checks
/// the same cases, but only after 7.5 million instructions.
let multiplyDivideProgram = """
    .text
    .globl _start
    _start:
        la   s0, values
        li   s1, 13             # how many values
        li   s2, 0              # i
        li   s5, 0x9E3779B9     # checksum
    outer:
        slli t0, s2, 2
        add  t0, t0, s0
        lw   a0, 0(t0)          # x = values[i]
        li   s3, 0              # j
    inner:
        slli t1, s3, 2
        add  t1, t1, s0
        lw   a1, 0(t1)          # y = values[j]
        mul    t2, a0, a1
        call fold
        mulh   t2, a0, a1
        call fold
        mulhsu t2, a0, a1
        call fold
        mulhu  t2, a0, a1
        call fold
        div    t2, a0, a1
        call fold
        divu   t2, a0, a1
        call fold
        rem    t2, a0, a1
        call fold
        remu   t2, a0, a1
        call fold
        addi s3, s3, 1
        blt  s3, s1, inner
        addi s2, s2, 1
        blt  s2, s1, outer
        # print "checksum=0x" and the eight hex digits of s5, most significant first
        la   t0, digits
        la   t1, hex
        li   t2, 28
    digit:
        srl  t3, s5, t2
        andi t3, t3, 15
        add  t3, t3, t1
        lbu  t3, 0(t3)
        sb   t3, 0(t0)
        addi t0, t0, 1
        addi t2, t2, -4
        bgez t2, digit
        li   a0, 1
        la   a1, line
        li   a2, 20             # "checksum=0x" + 8 digits + "\\n"
        li   a7, 64             # write(1, line, 20)
        ecall
        andi a0, s5, 255
        li   a7, 93             # exit(checksum & 0xFF)
        ecall
    fold:                       # s5 = rotate_left(s5, 5) ^ t2
        slli t3, s5, 5
        srli t4, s5, 27
        or   s5, t3, t4
        xor  s5, s5, t2
        ret
    .data
    values:
        .word 0, 1, -1, 2, 3, -3, 7, -7, 0x7FFFFFFF, 0x80000000, 0x80000001, 0xFFFF, 0x12345678
    hex:
        .ascii "0123456789abcdef"
    line:
        .ascii "checksum=0x"
    digits:
        .ascii "00000000\\n"
    """
