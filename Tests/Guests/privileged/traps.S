# traps.S: MRET and SRET state changes, the trap-related mstatus bits (MPRV, TSR, TVM,
# TW), and delegation of exceptions to S-mode with medeleg.
    .include "harness.inc"

run_tests:
    # ---- 1: MRET to S-mode: MIE takes MPIE's value. Seen from the next trap, an ECALL
    # from S: MPP = S, MPIE = 1 (the MIE that MRET set), MIE = 0. (Privileged spec 1.12
    # also has MRET to a mode below M clear MPRV; QEMU 7.2 does not, so that is not
    # checked here.)
    li gp, 1
    csrw mstatus, zero
    li t0, MSTATUS_MPIE
    csrs mstatus, t0
    la a0, 2f
    li a1, MODE_S
    j goto_mode
2:
    li s11, CAUSE_SUPERVISOR_ECALL
    la s10, 1f
    ecall
1:
    li t0, MSTATUS_MPP | MSTATUS_MPIE | MSTATUS_MIE
    and t1, s5, t0
    li t2, MSTATUS_MPP_S | MSTATUS_MPIE
    bne t1, t2, fail

    # ---- 2: MRET to M-mode: MIE = old MPIE (0), MPIE = 1, MPP = U (the least privileged
    # mode), and MPRV stays set because MPP was M.
    li gp, 2
    csrw mstatus, zero
    li t0, MSTATUS_MIE | MSTATUS_MPRV | MSTATUS_MPP
    csrs mstatus, t0
    la t0, 1f
    csrw mepc, t0
    mret
    j fail
1:
    csrr t1, mstatus
    li t0, MSTATUS_MPP | MSTATUS_MPIE | MSTATUS_MIE | MSTATUS_MPRV
    and t1, t1, t0
    li t2, MSTATUS_MPIE | MSTATUS_MPRV
    bne t1, t2, fail
    csrw mstatus, zero

    # ---- 3: SRET from S to U: SIE = old SPIE (1), SPIE = 1, SPP = U; seen in mstatus
    # at the next trap (an ECALL from U).
    li gp, 3
    la a0, 2f
    li a1, MODE_S
    j goto_mode
2:
    li t0, MSTATUS_SIE | MSTATUS_SPP
    csrc sstatus, t0
    li t0, MSTATUS_SPIE
    csrs sstatus, t0
    la t0, 3f
    csrw sepc, t0
    sret
    j fail
3:
    li s11, CAUSE_USER_ECALL
    la s10, 1f
    ecall
1:
    li t0, MSTATUS_SIE | MSTATUS_SPIE | MSTATUS_SPP | MSTATUS_MPP
    and t1, s5, t0
    li t2, MSTATUS_SIE | MSTATUS_SPIE
    bne t1, t2, fail

    # ---- 4: SRET from S to S: SIE = old SPIE (0), SPIE = 1, SPP = U, read in S-mode.
    li gp, 4
    csrw mstatus, zero
    la a0, 2f
    li a1, MODE_S
    j goto_mode
2:
    li t0, MSTATUS_SIE | MSTATUS_SPP
    csrs sstatus, t0
    li t0, MSTATUS_SPIE
    csrc sstatus, t0
    la t0, 3f
    csrw sepc, t0
    sret
    j fail
3:
    csrr t1, sstatus
    li t0, MSTATUS_SIE | MSTATUS_SPIE | MSTATUS_SPP
    and t1, t1, t0
    li t2, MSTATUS_SPIE
    bne t1, t2, fail
    li s11, CAUSE_SUPERVISOR_ECALL
    la s10, 1f
    ecall
1:
    csrw mstatus, zero

    # ---- 5: with mstatus.TSR set, SRET in S-mode is illegal.
    li gp, 5
    li t0, MSTATUS_TSR
    csrs mstatus, t0
    la a0, 2f
    li a1, MODE_S
    j goto_mode
2:
    li s11, CAUSE_ILLEGAL_INSTRUCTION
    la s10, 1f
    la t0, fail
    csrw sepc, t0
    sret
    j fail
1:
    li t0, 0x10200073
    bne s4, t0, fail
    csrw mstatus, zero

    # ---- 6: with mstatus.TVM set, S-mode may not touch satp ...
    li gp, 6
    li t0, MSTATUS_TVM
    csrs mstatus, t0
    csrr t1, satp               # M-mode still may
    la a0, 2f
    li a1, MODE_S
    j goto_mode
2:
    li s11, CAUSE_ILLEGAL_INSTRUCTION
    la s10, 1f
    csrr t0, satp
    j fail
1:

    # ---- 7: ... nor execute SFENCE.VMA.
    li gp, 7
    la a0, 2f
    li a1, MODE_S
    j goto_mode
2:
    li s11, CAUSE_ILLEGAL_INSTRUCTION
    la s10, 1f
    sfence.vma zero, zero
    j fail
1:
    csrw mstatus, zero

    # ---- 8: without TVM both are allowed in S-mode.
    li gp, 8
    la a0, 2f
    li a1, MODE_S
    j goto_mode
2:
    csrr t0, satp
    csrw satp, zero
    sfence.vma zero, zero
    li s11, CAUSE_SUPERVISOR_ECALL
    la s10, 1f
    ecall
1:

    # ---- 9: with mstatus.TW set, a WFI in S-mode that nothing wakes is illegal.
    li gp, 9
    li t0, MSTATUS_TW
    csrs mstatus, t0
    la a0, 2f
    li a1, MODE_S
    j goto_mode
2:
    li s11, CAUSE_ILLEGAL_INSTRUCTION
    la s10, 1f
    wfi
    j fail
1:
    li t0, 0x10500073
    bne s4, t0, fail
    csrw mstatus, zero

    # ---- 10: in U-mode WFI is illegal even without TW (the machine has S-mode).
    li gp, 10
    la a0, 2f
    li a1, MODE_U
    j goto_mode
2:
    li s11, CAUSE_ILLEGAL_INSTRUCTION
    la s10, 1f
    wfi
    j fail
1:

    # ---- 11: U-mode SFENCE.VMA is illegal.
    li gp, 11
    la a0, 2f
    li a1, MODE_U
    j goto_mode
2:
    li s11, CAUSE_ILLEGAL_INSTRUCTION
    la s10, 1f
    sfence.vma zero, zero
    j fail
1:

    # From here on S-mode handles what medeleg delegates.
    la t0, strap_vector
    csrw stvec, t0

    # ---- 12: an ECALL from U with medeleg[8] set traps to S: scause = 8, sepc = the
    # ECALL, stval = 0, SPP = U, SPIE = the old SIE (1), SIE = 0.
    li gp, 12
    li t0, 1 << CAUSE_USER_ECALL
    csrw medeleg, t0
    li t0, MSTATUS_SIE
    csrs mstatus, t0
    la a0, 2f
    li a1, MODE_U
    j goto_mode
2:
    li s11, CAUSE_USER_ECALL
    la s10, 1f
    li s4, -1
delegated_ecall:
    ecall
    j fail
1:                              # in S-mode now
    la t0, delegated_ecall
    bne s3, t0, fail
    bnez s4, fail
    li t0, MSTATUS_SIE | MSTATUS_SPIE | MSTATUS_SPP
    and t1, s5, t0
    li t2, MSTATUS_SPIE
    bne t1, t2, fail
    # Back to M-mode: ECALL from S is not delegated.
    li s11, CAUSE_SUPERVISOR_ECALL
    la s10, 1f
    ecall
1:
    # The trap to S left M-mode's fields alone: MPP = S from this last ECALL only.
    li t0, MSTATUS_MPP
    and t1, s5, t0
    li t2, MSTATUS_MPP_S
    bne t1, t2, fail
    csrw mstatus, zero

    # ---- 13: a delegated exception in S-mode also goes to S: SPP = S.
    li gp, 13
    li t0, 1 << CAUSE_BREAKPOINT
    csrw medeleg, t0
    la a0, 2f
    li a1, MODE_S
    j goto_mode
2:
    li s11, CAUSE_BREAKPOINT
    la s10, 1f
delegated_ebreak:
    ebreak
    j fail
1:
    la t0, delegated_ebreak
    bne s3, t0, fail
    li t0, MSTATUS_SPP
    and t1, s5, t0
    beqz t1, fail
    li s11, CAUSE_SUPERVISOR_ECALL
    la s10, 1f
    ecall
1:

    # ---- 14: a delegated exception raised in M-mode stays in M-mode.
    li gp, 14
    csrw scause, zero
    li s11, CAUSE_BREAKPOINT
    la s10, 1f
    ebreak
    j fail
1:
    csrr t0, scause             # S-mode saw nothing of it
    bnez t0, fail

    # ---- 15: a delegated illegal instruction from U-mode: stval = the instruction.
    li gp, 15
    li t0, 1 << CAUSE_ILLEGAL_INSTRUCTION
    csrw medeleg, t0
    la a0, 2f
    li a1, MODE_U
    j goto_mode
2:
    li s11, CAUSE_ILLEGAL_INSTRUCTION
    la s10, 1f
delegated_illegal:
    csrr t0, mstatus
    j fail
1:
    la t0, delegated_illegal
    bne s3, t0, fail
    lw t1, 0(t0)
    bne s4, t1, fail
    li s11, CAUSE_SUPERVISOR_ECALL
    la s10, 1f
    ecall
1:

    # ---- 16: without the medeleg bit the same ECALL from U goes to M, stvec or not.
    li gp, 16
    csrw medeleg, zero
    csrw scause, zero
    la a0, 2f
    li a1, MODE_U
    j goto_mode
2:
    li s11, CAUSE_USER_ECALL
    la s10, 1f
    ecall
1:
    csrr t0, scause
    bnez t0, fail
    csrr t0, mcause
    li t1, CAUSE_USER_ECALL
    bne t0, t1, fail

    # ---- 17: MRET returns to the address in mepc: a trap handler may skip the
    # faulting instruction by advancing it.
    li gp, 17
    la t0, 3f
    csrw mtvec, t0
    li a2, 0
    ecall
    addi a2, a2, 1              # executed once, after the return
    j 4f
    .balign 4
3:
    csrr t0, mepc
    addi t0, t0, 4
    csrw mepc, t0
    li t0, MSTATUS_MPP
    csrs mstatus, t0
    mret
4:
    la t0, trap_vector
    csrw mtvec, t0
    li t1, 1
    bne a2, t1, fail

    j pass
