# muldiv.S: the M extension's edge cases: division by zero and INT_MIN / -1 (which do
# not trap: they have defined results), the signedness of each high-half multiply, and
# x0 as a destination.
    .include "harness.inc"

    .equ INT_MIN, 0x80000000

run_tests:
    # ---- 1..4: division by zero: quotient all ones, remainder the dividend. No trap.
    li gp, 1
    li t0, 1234
    div t1, t0, zero
    li t2, -1
    bne t1, t2, fail

    li gp, 2
    li t0, -1234
    rem t1, t0, zero
    bne t1, t0, fail

    li gp, 3
    li t0, 0x80000001
    divu t1, t0, zero
    li t2, 0xffffffff
    bne t1, t2, fail

    li gp, 4
    li t0, 0x80000001
    remu t1, t0, zero
    bne t1, t0, fail

    # ---- 5..6: signed overflow: INT_MIN / -1 = INT_MIN, INT_MIN % -1 = 0.
    li gp, 5
    li t0, INT_MIN
    li t1, -1
    div t2, t0, t1
    bne t2, t0, fail

    li gp, 6
    rem t2, t0, t1
    bnez t2, fail

    # ---- 7..8: unsigned INT_MIN / 0xffffffff = 0, remainder the dividend.
    li gp, 7
    divu t2, t0, t1
    bnez t2, fail
    li gp, 8
    remu t2, t0, t1
    bne t2, t0, fail

    # ---- 9..10: signed division rounds towards zero; the remainder takes the
    # dividend's sign: -7 / 2 = -3 rem -1, 7 / -2 = -3 rem 1.
    li gp, 9
    li t0, -7
    li t1, 2
    div t2, t0, t1
    li t3, -3
    bne t2, t3, fail
    rem t2, t0, t1
    li t3, -1
    bne t2, t3, fail

    li gp, 10
    li t0, 7
    li t1, -2
    div t2, t0, t1
    li t3, -3
    bne t2, t3, fail
    rem t2, t0, t1
    li t3, 1
    bne t2, t3, fail

    # ---- 11: mul keeps the low 32 bits: 0x10000 * 0x10000 = 0 (low), 1 (high).
    li gp, 11
    li t0, 0x10000
    mul t1, t0, t0
    bnez t1, fail
    mulhu t1, t0, t0
    li t2, 1
    bne t1, t2, fail

    # ---- 12..14: the high halves of -1 * -1 under each signedness:
    # signed x signed = 1 -> high 0; unsigned x unsigned = 0xfffffffe00000001 -> high
    # 0xfffffffe; signed x unsigned = -1 * 0xffffffff = -0xffffffff -> high 0xffffffff.
    li gp, 12
    li t0, -1
    mulh t1, t0, t0
    bnez t1, fail
    mul t1, t0, t0
    li t2, 1
    bne t1, t2, fail

    li gp, 13
    mulhu t1, t0, t0
    li t2, 0xfffffffe
    bne t1, t2, fail

    li gp, 14
    mulhsu t1, t0, t0
    li t2, 0xffffffff
    bne t1, t2, fail

    # ---- 15: mulhsu with a positive rs1: 2 * 0xffffffff = 0x1fffffffe -> high 1.
    li gp, 15
    li t0, 2
    li t1, -1
    mulhsu t2, t0, t1
    li t3, 1
    bne t2, t3, fail

    # ---- 16: INT_MIN * INT_MIN = 2^62: high 0x40000000 signed, low 0.
    li gp, 16
    li t0, INT_MIN
    mulh t1, t0, t0
    li t2, 0x40000000
    bne t1, t2, fail
    mul t1, t0, t0
    bnez t1, fail

    # ---- 17: INT_MIN * -1 (signed) = 2^31: high 0, low INT_MIN.
    li gp, 17
    li t1, -1
    mulh t2, t0, t1
    bnez t2, fail
    mul t2, t0, t1
    bne t2, t0, fail

    # ---- 18: writes to x0 are discarded.
    li gp, 18
    li t0, 5
    li t1, 7
    mul zero, t0, t1
    div zero, t0, zero
    bnez zero, fail

    # ---- 19: rd = rs1 = rs2 reads the operands before writing: 9 * 9 = 81.
    li gp, 19
    li t0, 9
    mul t0, t0, t0
    li t1, 81
    bne t0, t1, fail

    j pass
