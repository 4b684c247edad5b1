# interrupts.S: the CLINT's software and timer interrupts, the supervisor software
# interrupt, which pending interrupt is taken first, the enable rules of each privilege
# mode, delegation with mideleg, vectored mtvec and stvec, and WFI.
    .include "harness.inc"

    .equ MIP_SSIP, 1 << IRQ_S_SOFT
    .equ MIP_MSIP, 1 << IRQ_M_SOFT
    .equ MIP_MTIP, 1 << IRQ_M_TIMER

run_tests:
    # ---- 1: msip = 1 makes mip.MSIP pending; with mie.MSIE = 0 it is not taken even with
    # MIE = 1 (a trap now would fail: none is expected).
    li gp, 1
    li a0, CLINT_MSIP
    li t0, 1
    sw t0, 0(a0)
    csrrsi zero, mstatus, MSTATUS_MIE
    nop
    nop
    csrrci zero, mstatus, MSTATUS_MIE
    csrr t0, mip
    andi t0, t0, MIP_MSIP
    beqz t0, fail

    # ---- 2: with MSIE but MIE = 0 (in M-mode) it is still not taken.
    li gp, 2
    csrrsi zero, mie, MIP_MSIP
    nop
    nop

    # ---- 3: setting MIE takes it at once: mcause = interrupt 3, mepc = the instruction
    # after the CSR write that enabled it, MPIE = 1 (MIE before the trap), MPP = M.
    li gp, 3
    li s11, CAUSE_M_SOFT_INTERRUPT
    la s10, 1f
    csrrsi zero, mstatus, MSTATUS_MIE
after_enable:
    j fail
1:
    la t0, after_enable
    bne s3, t0, fail
    li t0, MSTATUS_MPIE | MSTATUS_MPP | MSTATUS_MIE
    and t1, s5, t0
    li t2, MSTATUS_MPIE | MSTATUS_MPP
    bne t1, t2, fail
    # An interrupt is not an exception: mtval is not checked (it is zero on QEMU).

    # ---- 4: clearing msip clears mip.MSIP.
    li gp, 4
    sw zero, 0(a0)
    csrr t0, mip
    andi t0, t0, MIP_MSIP
    bnez t0, fail
    csrw mie, zero

    # ---- 5: mip.MTIP is pending exactly when mtime >= mtimecmp.
    li gp, 5
    li a0, 0
    call set_timer              # mtimecmp = now
    csrr t0, mip
    andi t0, t0, MIP_MTIP
    beqz t0, fail
    call clear_timer
    csrr t0, mip
    andi t0, t0, MIP_MTIP
    bnez t0, fail

    # ---- 6: a timer interrupt set a little in the future arrives while M-mode waits
    # with MTIE and MIE set.
    li gp, 6
    li a0, 50
    call set_timer
    li t0, MIP_MTIP
    csrs mie, t0
    li s11, CAUSE_M_TIMER_INTERRUPT
    la s10, 1f
    csrrsi zero, mstatus, MSTATUS_MIE
2:  # Wait until mip shows the timer pending (the interrupt should come at that moment;
    # on QEMU the timer may be late when the host is busy, so this loop has no time
    # limit of its own) ...
    csrr t0, mip
    andi t0, t0, MIP_MTIP
    beqz t0, 2b
    li t1, 1000
3:  # ... then give it a few more instructions to be taken.
    addi t1, t1, -1
    bnez t1, 3b
    j fail
1:
    call clear_timer
    csrw mie, zero

    # ---- 7: WFI with MIE = 0 and a timer interrupt enabled in mie: the hart waits until
    # the timer is pending, then goes on without taking a trap.
    li gp, 7
    li a0, 50
    call set_timer
    li t0, MIP_MTIP
    csrs mie, t0
    wfi
    csrr t0, mip
    andi t0, t0, MIP_MTIP
    beqz t0, 1f
    j 2f
1:  # WFI may also return early (it is only a hint): then wait for the timer by polling.
    csrr t0, mip
    andi t0, t0, MIP_MTIP
    beqz t0, 1b
2:
    # ---- 8: ... and a WFI while it is still pending returns at once.
    li gp, 8
    wfi
    call clear_timer
    csrw mie, zero

    # ---- 9..10: priority: with the machine software and machine timer interrupts both
    # pending and enabled, MSI is taken first, then MTI. (The priority of SSI against
    # them is checked in check 19, for the delegated case: QEMU 7.2 without its AIA
    # extension takes the lowest-numbered pending M-level interrupt first, so it would
    # take a non-delegated SSI before MSI and MTI, against the specification.)
    li a0, CLINT_MSIP
    li t0, 1
    sw t0, 0(a0)
    li a0, 0
    call set_timer
    li t0, MIP_MSIP | MIP_MTIP
    csrw mie, t0

    li gp, 9
    li s11, CAUSE_M_SOFT_INTERRUPT
    la s10, 1f
    csrrsi zero, mstatus, MSTATUS_MIE
    j fail
1:
    li a0, CLINT_MSIP
    sw zero, 0(a0)

    li gp, 10
    li s11, CAUSE_M_TIMER_INTERRUPT
    la s10, 1f
    csrrsi zero, mstatus, MSTATUS_MIE
    j fail
1:
    call clear_timer

    # ---- 11: a non-delegated SSI is an M-mode interrupt, taken in M-mode with MIE.
    li gp, 11
    li t0, MIP_SSIP
    csrs mip, t0
    csrw mie, t0
    li s11, CAUSE_S_SOFT_INTERRUPT
    la s10, 1f
    csrrsi zero, mstatus, MSTATUS_MIE
    j fail
1:

    # ---- 12: ... and SIE does not matter for it, MIE does.
    li gp, 12
    csrrci zero, mstatus, MSTATUS_SIE
    li t0, MIP_SSIP
    csrw mie, t0                # mip.SSIP is still set
    li s11, CAUSE_S_SOFT_INTERRUPT
    la s10, 1f
    csrrsi zero, mstatus, MSTATUS_MIE
    j fail
1:

    # ---- 13: in S-mode, interrupts for M-mode are taken even with MIE = 0: the S-mode
    # code at 2f never runs its first instruction (mepc = 2f, MPP = S).
    li gp, 13
    csrw mstatus, zero
    li t0, MIP_SSIP
    csrw mie, t0
    li s11, CAUSE_S_SOFT_INTERRUPT
    la s10, 1f
    la a0, s_mode_target
    li a1, MODE_S
    j goto_mode
s_mode_target:
    j fail
1:
    la t0, s_mode_target
    bne s3, t0, fail
    li t0, MSTATUS_MPP
    and t1, s5, t0
    li t0, MSTATUS_MPP_S
    bne t1, t0, fail

    # ---- 14: the same from U-mode, for the machine software interrupt.
    li gp, 14
    li t0, MIP_SSIP
    csrc mip, t0
    li a0, CLINT_MSIP
    li t0, 1
    sw t0, 0(a0)
    li t0, MIP_MSIP
    csrw mie, t0
    li s11, CAUSE_M_SOFT_INTERRUPT
    la s10, 1f
    la a0, u_mode_target
    li a1, MODE_U
    j goto_mode
u_mode_target:
    j fail
1:
    la t0, u_mode_target
    bne s3, t0, fail
    li a0, CLINT_MSIP
    sw zero, 0(a0)
    csrw mie, zero

    # From here on SSI is delegated to S-mode.
    la t0, strap_vector
    csrw stvec, t0
    li t0, MIP_SSIP
    csrw mideleg, t0
    csrw mie, t0
    csrs mip, t0

    # ---- 15: a delegated interrupt is never taken in M-mode, whatever MIE and SIE say.
    li gp, 15
    li t0, MSTATUS_MIE | MSTATUS_SIE
    csrs mstatus, t0
    nop
    nop
    csrw mstatus, zero

    # ---- 16: in S-mode with SIE = 0 it is not taken ...
    li gp, 16
    la a0, 2f
    li a1, MODE_S
    j goto_mode
2:
    nop
    nop
    # ---- 17: ... and setting SIE takes it in S-mode: scause = interrupt 1, sepc = the
    # next instruction, SPP = S, SPIE = 1.
    li gp, 17
    li s11, CAUSE_S_SOFT_INTERRUPT
    la s10, 1f
    csrrsi zero, sstatus, MSTATUS_SIE
s_after_enable:
    j fail
1:
    la t0, s_after_enable
    bne s3, t0, fail
    li t0, MSTATUS_SPP | MSTATUS_SPIE | MSTATUS_SIE
    and t1, s5, t0
    li t2, MSTATUS_SPP | MSTATUS_SPIE
    bne t1, t2, fail
    li s11, CAUSE_SUPERVISOR_ECALL
    la s10, 1f
    ecall
1:

    # ---- 18: in U-mode a delegated interrupt is taken with SIE = 0: SPP = U.
    li gp, 18
    csrw mstatus, zero
    li s11, CAUSE_S_SOFT_INTERRUPT
    la s10, 1f
    la a0, u_mode_target2
    li a1, MODE_U
    j goto_mode
u_mode_target2:
    j fail
1:
    la t0, u_mode_target2
    bne s3, t0, fail
    li t0, MSTATUS_SPP
    and t1, s5, t0
    bnez t1, fail
    # S-mode clears the interrupt through sip, then returns to M.
    li t0, MIP_SSIP
    csrc sip, t0
    li s11, CAUSE_SUPERVISOR_ECALL
    la s10, 1f
    ecall
1:
    csrr t0, mip
    andi t0, t0, MIP_SSIP
    bnez t0, fail

    # ---- 19..20: interrupts for a more privileged mode come first: in S-mode with SIE
    # set, a pending machine timer interrupt is taken (in M) before a pending delegated
    # SSI; then, back in S-mode, the SSI is taken there.
    li gp, 19
    csrw mstatus, zero
    li a0, 0
    call set_timer
    li t0, MIP_SSIP | MIP_MTIP
    csrw mie, t0
    li t0, MIP_SSIP
    csrs mip, t0
    li t0, MSTATUS_SIE
    csrs mstatus, t0
    li s11, CAUSE_M_TIMER_INTERRUPT
    la s10, 1f
    la a0, s_mode_target2
    li a1, MODE_S
    j goto_mode
s_mode_target2:
    j fail
1:
    call clear_timer
    li gp, 20
    li s11, CAUSE_S_SOFT_INTERRUPT
    la s10, 1f
    la a0, s_mode_target3
    li a1, MODE_S
    j goto_mode                 # SIE is still set
s_mode_target3:
    j fail
1:
    la t0, s_mode_target3
    bne s3, t0, fail
    li t0, MIP_SSIP
    csrc sip, t0
    li s11, CAUSE_SUPERVISOR_ECALL
    la s10, 1f
    ecall
1:

    # ---- 21..23: vectored mtvec: interrupts go to BASE + 4 * cause, exceptions to BASE.
    csrw mideleg, zero
    csrw mie, zero
    csrw mstatus, zero
    la t0, m_vector_table
    ori t0, t0, 1
    csrw mtvec, t0

    li gp, 21
    li a5, -1
    li s11, CAUSE_MACHINE_ECALL
    la s10, 1f
    ecall
1:
    bnez a5, fail               # entry 0 (exceptions)

    li gp, 22
    li a5, -1
    li a0, CLINT_MSIP
    li t0, 1
    sw t0, 0(a0)
    li t0, MIP_MSIP
    csrw mie, t0
    li s11, CAUSE_M_SOFT_INTERRUPT
    la s10, 1f
    csrrsi zero, mstatus, MSTATUS_MIE
    j fail
1:
    li t0, IRQ_M_SOFT
    bne a5, t0, fail
    li a0, CLINT_MSIP
    sw zero, 0(a0)

    li gp, 23
    li a5, -1
    li a0, 0
    call set_timer
    li t0, MIP_MTIP
    csrw mie, t0
    li s11, CAUSE_M_TIMER_INTERRUPT
    la s10, 1f
    csrrsi zero, mstatus, MSTATUS_MIE
    j fail
1:
    li t0, IRQ_M_TIMER
    bne a5, t0, fail
    call clear_timer
    csrw mie, zero
    la t0, trap_vector
    csrw mtvec, t0

    # ---- 24..25: vectored stvec, with SSI and U-mode ECALL delegated.
    la t0, s_vector_table
    ori t0, t0, 1
    csrw stvec, t0
    li t0, MIP_SSIP
    csrw mideleg, t0
    csrw mie, t0
    li t0, 1 << CAUSE_USER_ECALL
    csrw medeleg, t0

    li gp, 24
    li a5, -1
    la a0, 2f
    li a1, MODE_U
    j goto_mode
2:
    li s11, CAUSE_USER_ECALL
    la s10, 1f
    ecall
1:                              # in S-mode
    bnez a5, fail

    li gp, 25
    li a5, -1
    li s11, CAUSE_S_SOFT_INTERRUPT
    la s10, 1f
    li t0, MIP_SSIP
    csrs sip, t0
    csrrsi zero, sstatus, MSTATUS_SIE
    j fail
1:
    li t0, IRQ_S_SOFT
    bne a5, t0, fail
    li t0, MIP_SSIP
    csrc sip, t0
    li s11, CAUSE_SUPERVISOR_ECALL
    la s10, 1f
    ecall
1:
    j pass

# set_timer: mtimecmp = mtime + a0 (a0 small). Writes the low word as all ones first, so
# the comparison never sees a value below both the old and the new one.
set_timer:
    li t0, CLINT_MTIME
    lw t1, 0(t0)
    lw t2, 4(t0)
    add t3, t1, a0
    sltu t4, t3, t1
    add t2, t2, t4
    li t0, CLINT_MTIMECMP
    li t5, -1
    sw t5, 0(t0)
    sw t2, 4(t0)
    sw t3, 0(t0)
    ret

# clear_timer: mtimecmp = the largest value: no timer interrupt pending.
clear_timer:
    li t0, CLINT_MTIMECMP
    li t5, -1
    sw t5, 0(t0)
    sw t5, 4(t0)
    ret

# Vector tables: one jump per cause; each target notes its entry number in a5 and goes
# on to the ordinary handler.
    .balign 256
m_vector_table:
    j m_entry_0
    j fail
    j fail
    j m_entry_3
    j fail
    j fail
    j fail
    j m_entry_7
    j fail
    j fail
    j fail
    j fail
m_entry_0:
    li a5, 0
    j trap_vector
m_entry_3:
    li a5, IRQ_M_SOFT
    j trap_vector
m_entry_7:
    li a5, IRQ_M_TIMER
    j trap_vector

    .balign 256
s_vector_table:
    j s_entry_0
    j s_entry_1
    j fail
    j fail
    j fail
    j fail
    j fail
    j fail
    j fail
    j fail
s_entry_0:
    li a5, 0
    j strap_vector
s_entry_1:
    li a5, IRQ_S_SOFT
    j strap_vector
