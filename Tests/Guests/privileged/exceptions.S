# exceptions.S: every synchronous exception cause VirtLab implements, with the mcause,
# mepc and mtval values each must leave behind.
    .include "harness.inc"

run_tests:
    # ---- 1: instruction address misaligned needs IALIGN = 32 (no C extension). With C,
    # 2-byte targets are legal, so checks 2..5 are skipped (QEMU: run with -cpu rv32,c=false).
    li gp, 1
    csrr t0, misa
    andi t0, t0, 4              # misa.C
    bnez t0, after_misaligned

    # ---- 2: JALR to a target 2 bytes past a word boundary: cause 0, mepc = the JALR,
    # mtval = the target, and the link register is not written.
    li gp, 2
    li s11, CAUSE_MISALIGNED_FETCH
    la s10, 1f
    la t0, misaligned_target
    addi t0, t0, 2
    li ra, 0x1234
jalr_misaligned:
    jalr ra, 0(t0)
    j fail
1:
    la t1, jalr_misaligned
    bne s3, t1, fail
    bne s4, t0, fail
    li t1, 0x1234
    bne ra, t1, fail

    # ---- 3: JAL with an offset of 6: cause 0, mepc = the JAL. (The specification puts
    # the target in mtval; QEMU 7.2 reports another address there for JAL and branches, a
    # QEMU bug, so only JALR's mtval is checked, in check 2.)
    li gp, 3
    li s11, CAUSE_MISALIGNED_FETCH
    la s10, 1f
jal_misaligned:
    .word 0x0060006f            # jal x0, .+6
    j fail
    j fail
1:
    la t1, jal_misaligned
    bne s3, t1, fail

    # ---- 4: a taken branch to a misaligned target traps the same way (mtval unchecked,
    # as for JAL).
    li gp, 4
    li s11, CAUSE_MISALIGNED_FETCH
    la s10, 1f
branch_misaligned:
    .word 0x00000363            # beq x0, x0, .+6
    j fail
    j fail
1:
    la t1, branch_misaligned
    bne s3, t1, fail

    # ---- 5: a branch that is not taken does not trap, whatever its target.
    li gp, 5
    .word 0x00001363            # bne x0, x0, .+6
    j 1f
    j fail
1:

after_misaligned:
    # ---- 6: the all-zero word is illegal: mtval = the instruction word (0).
    li gp, 6
    li s11, CAUSE_ILLEGAL_INSTRUCTION
    la s10, 1f
    li s4, -1
illegal_zero:
    .word 0
    j fail
1:
    la t1, illegal_zero
    bne s3, t1, fail
    bnez s4, fail

    # ---- 7: RV64's LD (LOAD with funct3 = 3) is illegal on RV32; mtval = its word.
    li gp, 7
    li s11, CAUSE_ILLEGAL_INSTRUCTION
    la s10, 1f
illegal_ld:
    .word 0x00013503            # ld a0, 0(sp)
    j fail
1:
    la t1, illegal_ld
    bne s3, t1, fail
    lw t2, 0(t1)
    bne s4, t2, fail

    # ---- 8: an opcode with no instruction at all (custom-0 opcode 0x0b is not
    # implemented by either machine) is illegal, mtval = the word.
    li gp, 8
    li s11, CAUSE_ILLEGAL_INSTRUCTION
    la s10, 1f
illegal_custom:
    .word 0x1234500b
    j fail
1:
    la t1, illegal_custom
    bne s3, t1, fail
    li t2, 0x1234500b
    bne s4, t2, fail

    # ---- 9: EBREAK: cause 3, mepc = the EBREAK (mtval is left unchecked: the
    # specification allows either the pc or zero).
    li gp, 9
    li s11, CAUSE_BREAKPOINT
    la s10, 1f
breakpoint:
    ebreak
    j fail
1:
    la t1, breakpoint
    bne s3, t1, fail

    # ---- 10: ECALL in M-mode: cause 11, mepc = the ECALL, mtval = 0, MPP = M.
    li gp, 10
    li s11, CAUSE_MACHINE_ECALL
    la s10, 1f
    li s4, -1
ecall_m:
    ecall
    j fail
1:
    la t1, ecall_m
    bne s3, t1, fail
    bnez s4, fail
    li t1, MSTATUS_MPP
    and t2, s5, t1
    bne t2, t1, fail

    # ---- 11: ECALL in S-mode: cause 9, MPP = S.
    li gp, 11
    la a0, 2f
    li a1, MODE_S
    j goto_mode
2:
    li s11, CAUSE_SUPERVISOR_ECALL
    la s10, 1f
    li s4, -1
ecall_s:
    ecall
    j fail
1:
    la t1, ecall_s
    bne s3, t1, fail
    bnez s4, fail
    li t1, MSTATUS_MPP
    and t2, s5, t1
    li t1, MSTATUS_MPP_S
    bne t2, t1, fail

    # ---- 12: ECALL in U-mode: cause 8, MPP = U.
    li gp, 12
    la a0, 2f
    li a1, MODE_U
    j goto_mode
2:
    li s11, CAUSE_USER_ECALL
    la s10, 1f
    li s4, -1
ecall_u:
    ecall
    j fail
1:
    la t1, ecall_u
    bne s3, t1, fail
    bnez s4, fail
    li t1, MSTATUS_MPP
    and t2, s5, t1
    bnez t2, fail

    # ---- 13: a word load from an address with no memory or device: load access fault,
    # mtval = the address, the destination register is not written.
    li gp, 13
    li s11, CAUSE_LOAD_ACCESS
    la s10, 1f
    li t0, UNMAPPED_ADDRESS
    li a0, 77
load_fault:
    lw a0, 8(t0)
    j fail
1:
    la t1, load_fault
    bne s3, t1, fail
    addi t1, t0, 8
    bne s4, t1, fail
    li t1, 77
    bne a0, t1, fail

    # ---- 14: byte loads fault too.
    li gp, 14
    li s11, CAUSE_LOAD_ACCESS
    la s10, 1f
    li t0, UNMAPPED_ADDRESS
    lbu a0, 3(t0)
    j fail
1:
    addi t1, t0, 3
    bne s4, t1, fail

    # ---- 15: a word store there: store/AMO access fault, mtval = the address.
    li gp, 15
    li s11, CAUSE_STORE_ACCESS
    la s10, 1f
    li t0, UNMAPPED_ADDRESS
store_fault:
    sw a0, 16(t0)
    j fail
1:
    la t1, store_fault
    bne s3, t1, fail
    addi t1, t0, 16
    bne s4, t1, fail

    # ---- 16: halfword stores fault too.
    li gp, 16
    li s11, CAUSE_STORE_ACCESS
    la s10, 1f
    li t0, UNMAPPED_ADDRESS
    sh a0, 2(t0)
    j fail
1:
    addi t1, t0, 2
    bne s4, t1, fail

    # ---- 17: jumping there: instruction access fault at the target (mepc = mtval =
    # the target); the jump itself completed, so its link register holds the return address.
    li gp, 17
    li s11, CAUSE_FETCH_ACCESS
    la s10, 1f
    li t0, UNMAPPED_ADDRESS
    li ra, 0
fetch_fault:
    jalr ra, 0(t0)
    j fail
1:
    bne s3, t0, fail
    bne s4, t0, fail
    la t1, fetch_fault
    addi t1, t1, 4
    bne ra, t1, fail

    # ---- 18: MRET in U-mode is illegal, mtval = its word (0x30200073).
    li gp, 18
    la a0, 2f
    li a1, MODE_U
    j goto_mode
2:
    li s11, CAUSE_ILLEGAL_INSTRUCTION
    la s10, 1f
user_mret:
    mret
    j fail
1:
    la t1, user_mret
    bne s3, t1, fail
    li t1, 0x30200073
    bne s4, t1, fail

    # ---- 19: SRET in U-mode is illegal, mtval = its word (0x10200073).
    li gp, 19
    la a0, 2f
    li a1, MODE_U
    j goto_mode
2:
    li s11, CAUSE_ILLEGAL_INSTRUCTION
    la s10, 1f
    sret
    j fail
1:
    li t1, 0x10200073
    bne s4, t1, fail

    # ---- 20: MRET in S-mode is illegal.
    li gp, 20
    la a0, 2f
    li a1, MODE_S
    j goto_mode
2:
    li s11, CAUSE_ILLEGAL_INSTRUCTION
    la s10, 1f
    mret
    j fail
1:
    li t1, 0x30200073
    bne s4, t1, fail

    # ---- 21: an exception does not change the registers that the trapping instruction
    # did not write, and the trap returns to the following code: a sequence of traps in a
    # row leaves a counter at the right value.
    li gp, 21
    li a2, 0
    li a3, 5
2:
    li s11, CAUSE_MACHINE_ECALL
    la s10, 1f
    ecall
1:
    addi a2, a2, 1
    bne a2, a3, 2b
    li t1, 5
    bne a2, t1, fail

    j pass

    .balign 4
misaligned_target:
    j fail
    j fail
