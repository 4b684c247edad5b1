# counters.S: the cycle, time and instret counters and their gating by mcounteren and
# scounteren. (Runs on QEMU's virt machine: QEMU's spike machine has no `time` CSR.)
    .include "harness.inc"

    .equ COUNTER_CY, 1
    .equ COUNTER_TM, 2
    .equ COUNTER_IR, 4

run_tests:
    # ---- 1: instret counts up: two reads with instructions between them differ.
    li gp, 1
    csrr t0, instret
    nop
    nop
    csrr t1, instret
    bleu t1, t0, fail

    # ---- 2: cycle counts up, and mcycle is the same counter seen from M-mode.
    li gp, 2
    csrr t0, cycle
    csrr t1, mcycle
    csrr t2, cycle
    bltu t1, t0, fail
    bltu t2, t1, fail
    beq t2, t0, fail

    # ---- 3: minstret is the counter behind instret.
    li gp, 3
    csrr t0, instret
    csrr t1, minstret
    csrr t2, instret
    bltu t1, t0, fail
    bltu t2, t1, fail

    # ---- 4: time mirrors the CLINT's mtime: mtime <= time <= mtime, read in that order.
    li gp, 4
    li a0, CLINT_MTIME
    lw t0, 0(a0)
    csrr t1, time
    lw t2, 0(a0)
    bltu t2, t0, 1f             # the low word wrapped between the reads: skip the check
    bltu t1, t0, fail
    bltu t2, t1, fail
1:

    # ---- 5: the high halves read too, and timeh is the high word of mtime.
    li gp, 5
    csrr t0, cycleh
    csrr t1, timeh
    csrr t2, instreth
    csrr t3, mcycleh
    csrr t4, minstreth
    csrr t1, timeh
    lw t3, 4(a0)                # mtime high word
    bne t1, t3, fail

    # ---- 6..8: with mcounteren = 0, S-mode may read none of the three.
    csrw mcounteren, zero
    csrw scounteren, zero
    li gp, 6
    la a0, 2f
    li a1, MODE_S
    j goto_mode
2:
    li s11, CAUSE_ILLEGAL_INSTRUCTION
    la s10, 1f
    csrr t0, cycle
    j fail
1:
    li gp, 7
    la a0, 2f
    li a1, MODE_S
    j goto_mode
2:
    li s11, CAUSE_ILLEGAL_INSTRUCTION
    la s10, 1f
    csrr t0, time
    j fail
1:
    li gp, 8
    la a0, 2f
    li a1, MODE_S
    j goto_mode
2:
    li s11, CAUSE_ILLEGAL_INSTRUCTION
    la s10, 1f
    csrr t0, instreth
    j fail
1:

    # ---- 9: with all three enabled in mcounteren, S-mode reads them all ...
    li gp, 9
    li t0, COUNTER_CY | COUNTER_TM | COUNTER_IR
    csrw mcounteren, t0
    la a0, 2f
    li a1, MODE_S
    j goto_mode
2:
    csrr t0, cycle
    csrr t0, time
    csrr t0, instret
    csrr t0, cycleh
    csrr t0, timeh
    csrr t0, instreth
    li s11, CAUSE_SUPERVISOR_ECALL
    la s10, 1f
    ecall
1:

    # ---- 10..11: ... but U-mode still needs scounteren too.
    li gp, 10
    la a0, 2f
    li a1, MODE_U
    j goto_mode
2:
    li s11, CAUSE_ILLEGAL_INSTRUCTION
    la s10, 1f
    csrr t0, cycle
    j fail
1:
    li gp, 11
    la a0, 2f
    li a1, MODE_U
    j goto_mode
2:
    li s11, CAUSE_ILLEGAL_INSTRUCTION
    la s10, 1f
    csrr t0, timeh
    j fail
1:

    # ---- 12: with both enabled, U-mode reads them all.
    li gp, 12
    li t0, COUNTER_CY | COUNTER_TM | COUNTER_IR
    csrw scounteren, t0
    la a0, 2f
    li a1, MODE_U
    j goto_mode
2:
    csrr t0, cycle
    csrr t0, time
    csrr t0, instret
    csrr t0, cycleh
    csrr t0, timeh
    csrr t0, instreth
    li s11, CAUSE_USER_ECALL
    la s10, 1f
    ecall
1:

    # ---- 13..14: each bit gates its own counter: mcounteren = CY only lets U-mode
    # (with scounteren all set) read cycle but not time.
    li gp, 13
    li t0, COUNTER_CY
    csrw mcounteren, t0
    la a0, 2f
    li a1, MODE_U
    j goto_mode
2:
    csrr t0, cycle
    li s11, CAUSE_ILLEGAL_INSTRUCTION
    la s10, 1f
    csrr t0, time
    j fail
1:
    li gp, 14
    la a0, 2f
    li a1, MODE_U
    j goto_mode
2:
    li s11, CAUSE_ILLEGAL_INSTRUCTION
    la s10, 1f
    csrr t0, instret
    j fail
1:

    # ---- 15: scounteren = IR only: U-mode reads instret but not cycle, S-mode both.
    li gp, 15
    li t0, COUNTER_CY | COUNTER_TM | COUNTER_IR
    csrw mcounteren, t0
    li t0, COUNTER_IR
    csrw scounteren, t0
    la a0, 2f
    li a1, MODE_S
    j goto_mode
2:
    csrr t0, cycle
    csrr t0, instret
    li s11, CAUSE_SUPERVISOR_ECALL
    la s10, 1f
    ecall
1:
    li gp, 16
    la a0, 2f
    li a1, MODE_U
    j goto_mode
2:
    csrr t0, instret
    li s11, CAUSE_ILLEGAL_INSTRUCTION
    la s10, 1f
    csrr t0, cycle
    j fail
1:

    # ---- 17: M-mode is never gated.
    li gp, 17
    csrw mcounteren, zero
    csrw scounteren, zero
    csrr t0, cycle
    csrr t0, time
    csrr t0, instret

    j pass
