# start.S: what must be assembly. The M-mode start (PMP, delegation, drop to S-mode), the
# switch into a process and back, and the S-mode trap vector.
#
# Processes are run in quanta: `enter_user(entry, stack, argument)` saves the kernel's
# callee-saved registers, enters U-mode at `entry` with a0 = argument, and returns when the
# process makes an ECALL, with the process's a0 as its value. A process keeps no registers
# between quanta (each quantum starts its function afresh); its state is its memory.

    .section .text.boot, "ax"
    .globl _start
_start:                             # QEMU and vlab start the hart here, in M-mode
    la    sp, kernel_stack_top
    li    t0, -1                    # PMP: one NAPOT rule over everything, R W X, so S- and
    csrw  pmpaddr0, t0              # U-mode may touch memory (QEMU enforces PMP)
    li    t0, 0x1f
    csrw  pmpcfg0, t0
    li    t0, 1 << 8                # ECALL from U goes to S-mode; everything else stays in M
    csrw  medeleg, t0
    la    t0, machine_trap
    csrw  mtvec, t0
    la    t0, kernel_main
    csrw  mepc, t0
    li    t0, 3 << 11               # mstatus.MPP = S
    csrc  mstatus, t0
    li    t0, 1 << 11
    csrs  mstatus, t0
    mret

    .align 4
machine_trap:                       # nothing may reach M-mode: exit with status 3
    li    t0, 0x100000
    li    t1, (3 << 16) | 0x3333
    sw    t1, 0(t0)
1:  j     1b

    .text
    .globl enter_user
enter_user:                         # a0 = entry, a1 = user stack, a2 = argument
    la    t0, kernel_context
    sw    ra, 0(t0);  sw sp, 4(t0);   sw s0, 8(t0);   sw s1, 12(t0)
    sw    s2, 16(t0); sw s3, 20(t0);  sw s4, 24(t0);  sw s5, 28(t0)
    sw    s6, 32(t0); sw s7, 36(t0);  sw s8, 40(t0);  sw s9, 44(t0)
    sw    s10, 48(t0); sw s11, 52(t0)
    la    t1, supervisor_trap
    csrw  stvec, t1
    csrw  sepc, a0
    li    t1, 1 << 8                # sstatus.SPP = U
    csrc  sstatus, t1
    mv    sp, a1
    mv    a0, a2
    sret

    .align 4
supervisor_trap:                    # the process's ECALL ends its quantum
    csrr  t0, scause
    li    t1, 8
    bne   t0, t1, 1f
    la    t0, kernel_context
    lw    ra, 0(t0);  lw sp, 4(t0);   lw s0, 8(t0);   lw s1, 12(t0)
    lw    s2, 16(t0); lw s3, 20(t0);  lw s4, 24(t0);  lw s5, 28(t0)
    lw    s6, 32(t0); lw s7, 36(t0);  lw s8, 40(t0);  lw s9, 44(t0)
    lw    s10, 48(t0); lw s11, 52(t0)
    ret                             # from enter_user, a0 = the process's a0
1:  csrr  a0, scause                # anything else is a bug: report it
    csrr  a1, sepc
    csrr  a2, stval
    la    sp, kernel_stack_top
    call  unexpected_trap

    .bss
    .align 4
kernel_context: .space 56
    .align 12
kernel_stack: .space 8192
kernel_stack_top:
