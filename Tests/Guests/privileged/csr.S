# csr.S: CSR behaviours: identification registers, read-only CSRs, privilege checks on
# CSR access, and the S-mode views (sstatus, sie, sip) of the M-mode registers.
    .include "harness.inc"

run_tests:
    # ---- 1: misa says RV32 (MXL = 1) with I, M, A, S and U. (Other letters, such as
    # QEMU's F, D and C, are the machine's own business and are not checked.)
    li gp, 1
    csrr t0, misa
    srli t1, t0, 30
    li t2, 1
    bne t1, t2, fail
    li t1, (1 << 8) | (1 << 12) | (1 << 0) | (1 << 18) | (1 << 20)
    and t2, t0, t1
    bne t2, t1, fail

    # ---- 2: the only hart is hart 0.
    li gp, 2
    csrr t0, mhartid
    bnez t0, fail

    # ---- 3: the other identification registers read without trapping.
    li gp, 3
    csrr t0, mvendorid
    csrr t0, marchid
    csrr t0, mimpid

    # ---- 4: writing a read-only CSR (number 0xFxx) is illegal; mtval = the instruction.
    li gp, 4
    li s11, CAUSE_ILLEGAL_INSTRUCTION
    la s10, 1f
write_mhartid:
    csrw mhartid, zero
    j fail
1:
    la t1, write_mhartid
    bne s3, t1, fail
    lw t2, 0(t1)
    bne s4, t2, fail

    # ---- 5: CSRRS/CSRRC with rs1 = x0 and CSRRSI/CSRRCI with uimm = 0 do not write,
    # so they may read a read-only CSR.
    li gp, 5
    csrrs t0, mhartid, zero
    csrrc t0, mvendorid, zero
    csrrsi t0, mhartid, 0
    csrrci t0, marchid, 0
    csrr t0, cycle

    # ---- 6: the user counters are read-only too: writing `cycle` is illegal.
    li gp, 6
    li s11, CAUSE_ILLEGAL_INSTRUCTION
    la s10, 1f
    csrw cycle, zero
    j fail
1:

    # ---- 7: U-mode may not read an M-mode CSR: illegal, mtval = the instruction.
    li gp, 7
    la a0, 2f
    li a1, MODE_U
    j goto_mode
2:
    li s11, CAUSE_ILLEGAL_INSTRUCTION
    la s10, 1f
user_reads_mstatus:
    csrr t0, mstatus
    j fail
1:
    la t1, user_reads_mstatus
    bne s3, t1, fail
    lw t2, 0(t1)
    bne s4, t2, fail
    li t1, MSTATUS_MPP          # the trap came from U-mode
    and t2, s5, t1
    bnez t2, fail

    # ---- 8: U-mode may not read an S-mode CSR either.
    li gp, 8
    la a0, 2f
    li a1, MODE_U
    j goto_mode
2:
    li s11, CAUSE_ILLEGAL_INSTRUCTION
    la s10, 1f
    csrr t0, sstatus
    j fail
1:

    # ---- 9: S-mode may not read an M-mode CSR (mscratch).
    li gp, 9
    la a0, 2f
    li a1, MODE_S
    j goto_mode
2:
    li s11, CAUSE_ILLEGAL_INSTRUCTION
    la s10, 1f
    csrr t0, mscratch
    j fail
1:

    # ---- 10: ... nor write one (mepc); the trap reports the CSR instruction.
    li gp, 10
    la a0, 2f
    li a1, MODE_S
    j goto_mode
2:
    li s11, CAUSE_ILLEGAL_INSTRUCTION
    la s10, 1f
    li t0, 0x80002000
supervisor_writes_mepc:
    csrw mepc, t0
    j fail
1:
    la t1, supervisor_writes_mepc
    bne s3, t1, fail

    # ---- 11: S-mode may use its own CSRs: sscratch keeps every bit.
    li gp, 11
    la a0, 2f
    li a1, MODE_S
    j goto_mode
2:
    li t0, 0xdeadbeef
    csrw sscratch, t0
    csrr t1, sscratch
    bne t0, t1, fail
    li s11, CAUSE_SUPERVISOR_ECALL
    la s10, 1f
    ecall
1:

    # ---- 12: mscratch keeps every bit; CSRRW returns the old value.
    li gp, 12
    li t0, 0x12345678
    csrw mscratch, t0
    li t1, 0x9abcdef0
    csrrw t2, mscratch, t1
    bne t2, t0, fail
    csrr t2, mscratch
    bne t2, t1, fail

    # ---- 13: CSRRS and CSRRC set and clear bits and return the old value.
    li gp, 13
    li t0, 0x0000ff00
    csrrs t1, mscratch, t0
    li t2, 0x9abcdef0
    bne t1, t2, fail
    csrrc t1, mscratch, t0
    li t2, 0x9abcfff0
    bne t1, t2, fail
    csrrci t1, mscratch, 0x10
    li t2, 0x9abc00f0
    bne t1, t2, fail
    csrr t1, mscratch
    li t2, 0x9abc00e0
    bne t1, t2, fail

    # ---- 14: sstatus is a view of mstatus: SIE set through sstatus shows in mstatus.
    li gp, 14
    csrw mstatus, zero
    li t0, MSTATUS_SIE | MSTATUS_SPIE | MSTATUS_SPP | MSTATUS_SUM | MSTATUS_MXR
    csrs sstatus, t0
    csrr t1, mstatus
    and t2, t1, t0
    bne t2, t0, fail

    # ---- 15: ... and clearing through mstatus shows in sstatus.
    li gp, 15
    csrc mstatus, t0
    csrr t1, sstatus
    and t2, t1, t0
    bnez t2, fail

    # ---- 16: the M-mode fields are not in the view: MIE, MPIE, MPP, MPRV and TVM set in
    # mstatus read as 0 through sstatus.
    li gp, 16
    li t0, MSTATUS_MPIE | MSTATUS_MPP | MSTATUS_MPRV | MSTATUS_TVM
    csrs mstatus, t0
    csrr t1, sstatus
    and t2, t1, t0
    bnez t2, fail
    csrc mstatus, t0

    # ---- 17: ... and writing them through sstatus does not reach mstatus.
    li gp, 17
    li t0, MSTATUS_MIE | MSTATUS_MPIE | MSTATUS_MPP | MSTATUS_TW
    csrs sstatus, t0
    csrr t1, mstatus
    and t2, t1, t0
    bnez t2, fail

    # ---- 18: sie shows the mie bits of delegated interrupts only; with SSI, STI and SEI
    # delegated, setting every sie bit sets exactly those three in mie.
    li gp, 18
    csrw mie, zero
    li t0, 0x222
    csrw mideleg, t0
    li t1, -1
    csrw sie, t1
    csrr t1, mie
    li t2, 0x222
    bne t1, t2, fail
    csrr t1, sie
    bne t1, t2, fail

    # ---- 19: M-level enables set in mie do not show in sie.
    li gp, 19
    li t0, 0x888
    csrs mie, t0
    csrr t1, sie
    li t2, 0x222
    bne t1, t2, fail

    # ---- 20: with nothing delegated, sie reads as zero.
    li gp, 20
    csrw mideleg, zero
    csrr t1, sie
    bnez t1, fail
    csrw mie, zero

    # ---- 21: sip: a delegated SSIP written through sip shows in mip, and back.
    li gp, 21
    li t0, 0x222
    csrw mideleg, t0
    csrw mip, zero
    li t0, 1 << IRQ_S_SOFT
    csrs sip, t0
    csrr t1, mip
    and t1, t1, t0
    beqz t1, fail
    csrc mip, t0
    csrr t1, sip
    and t1, t1, t0
    bnez t1, fail
    csrw mideleg, zero

    # ---- 22: mip.MSIP is read-only in mip (it follows the CLINT's msip register).
    li gp, 22
    li t0, 1 << IRQ_M_SOFT
    csrs mip, t0
    csrr t1, mip
    and t1, t1, t0
    bnez t1, fail

    # ---- 23: ... and does follow it.
    li gp, 23
    li t2, CLINT_MSIP
    li t3, 1
    sw t3, 0(t2)
    csrr t1, mip
    and t1, t1, t0
    beqz t1, fail
    sw zero, 0(t2)
    csrr t1, mip
    and t1, t1, t0
    bnez t1, fail

    # ---- 24: medeleg keeps the delegable exception bits written to it (breakpoint,
    # U-mode ecall, page faults).
    li gp, 24
    li t0, (1 << 3) | (1 << 8) | (1 << 12) | (1 << 13) | (1 << 15)
    csrw medeleg, t0
    csrr t1, medeleg
    and t1, t1, t0
    bne t1, t0, fail
    csrw medeleg, zero

    # ---- 25: mtvec holds an aligned base in direct mode and in vectored mode.
    li gp, 25
    csrr a0, mtvec
    la t0, trap_vector
    bne a0, t0, fail
    ori t1, t0, 1
    csrw mtvec, t1
    csrr t2, mtvec
    csrw mtvec, a0
    bne t2, t1, fail

    j pass
