# boot.S: the assembly half of the Lab 05 hidden-test guests' little kernel (runtime.c is the C
# half). M-mode firmware (start-up, and the exit service), the S-mode trap vector, the upcall into
# U-mode (enter_user), and the S-mode probes that let the kernel try an access that may fault.

    .equ FINISHER, 0x100000

# ---------------------------------------------------------------- M-mode firmware

    .section .text.boot, "ax"
    .globl _start
_start:                             # the hart starts here, in M-mode, at 0x80000000
    la    t0, machine_trap
    csrw  mtvec, t0
    csrw  satp, zero
    csrw  mie, zero
    # Every exception but ECALL from S and M goes to the kernel (S-mode).
    li    t0, 0xB1FF
    csrw  medeleg, t0
    csrw  mideleg, zero
    # PMP entry 0 covers everything with R, W and X, so S and U reach memory on QEMU.
    li    t0, -1
    csrw  pmpaddr0, t0
    li    t0, 0x1f
    csrw  pmpcfg0, t0
    li    t0, 0x1800                # MPP = S
    csrc  mstatus, t0
    li    t0, 0x800
    csrs  mstatus, t0
    la    t0, kernel_entry
    csrw  mepc, t0
    mret

# ECALL from S with a0 = exit status: stop the machine through the test finisher (0x5555 for
# 0, status << 16 | 0x3333 otherwise). Any other machine trap is a kernel bug: status 99.
    .align 4
machine_trap:
    csrr  t0, mcause
    li    t1, 9
    beq   t0, t1, 1f
    li    a0, 99
1:  li    t1, 0x5555
    beqz  a0, 2f
    slli  t1, a0, 16
    li    t2, 0x3333
    or    t1, t1, t2
2:  li    t0, FINISHER
    sw    t1, 0(t0)
3:  j     3b

# ---------------------------------------------------------------- S-mode kernel

    .text
    .globl kernel_entry
kernel_entry:
    la    sp, kernel_stack_top
    la    t0, supervisor_trap
    csrw  stvec, t0
    csrw  sscratch, zero            # zero: the kernel is running
    call  kernel_main
    call  shutdown                  # kernel_main returned its status in a0

    .globl shutdown
shutdown:                           # shutdown(status): never returns
    ecall
1:  j     1b

# enter_user(entry, arg0, arg1, user_sp): run the user function at `entry` in U-mode, with a0 and
# a1 = arg0, arg1 and sp = user_sp, in the current address space, until runtime.c's user_trap
# ends the upcall; returns the value it chose (user_result). Callee-saved registers are kept in
# kernel_context meanwhile.
    .globl enter_user
enter_user:
    la    t0, kernel_context
    sw ra, 0(t0);  sw sp, 4(t0);  sw s0, 8(t0);  sw s1, 12(t0)
    sw s2, 16(t0); sw s3, 20(t0); sw s4, 24(t0); sw s5, 28(t0)
    sw s6, 32(t0); sw s7, 36(t0); sw s8, 40(t0); sw s9, 44(t0)
    sw s10, 48(t0); sw s11, 52(t0)
    csrw  sepc, a0
    li    t0, 0x100                 # SPP = U
    csrc  sstatus, t0
    la    t0, user_frame
    csrw  sscratch, t0
    mv    a0, a1
    mv    a1, a2
    mv    sp, a3
    li    ra, 0
    sret

# Supervisor traps. From U-mode, sscratch holds user_frame: every register is saved there and
# runtime.c's user_trap decides: resume the user code (0), or end the upcall (1). From S-mode
# (sscratch 0) only a probe may fault: it resumes at probe_resume with probe_cause set.
    .align 4
supervisor_trap:
    csrrw sp, sscratch, sp
    beqz  sp, trap_from_kernel
    sw x1, 4(sp);   sw x3, 12(sp);  sw x4, 16(sp);  sw x5, 20(sp)
    sw x6, 24(sp);  sw x7, 28(sp);  sw x8, 32(sp);  sw x9, 36(sp)
    sw x10, 40(sp); sw x11, 44(sp); sw x12, 48(sp); sw x13, 52(sp)
    sw x14, 56(sp); sw x15, 60(sp); sw x16, 64(sp); sw x17, 68(sp)
    sw x18, 72(sp); sw x19, 76(sp); sw x20, 80(sp); sw x21, 84(sp)
    sw x22, 88(sp); sw x23, 92(sp); sw x24, 96(sp); sw x25, 100(sp)
    sw x26, 104(sp); sw x27, 108(sp); sw x28, 112(sp); sw x29, 116(sp)
    sw x30, 120(sp); sw x31, 124(sp)
    csrr  t0, sscratch
    sw    t0, 8(sp)
    csrr  t0, sepc
    sw    t0, 128(sp)
    csrw  sscratch, zero
    mv    a0, sp
    la    sp, trap_stack_top
    call  user_trap
    bnez  a0, leave_user
    la    sp, user_frame            # resume: sepc and every register from the frame
    lw    t0, 128(sp)
    csrw  sepc, t0
    csrw  sscratch, sp
    lw x1, 4(sp);   lw x3, 12(sp);  lw x4, 16(sp);  lw x5, 20(sp)
    lw x6, 24(sp);  lw x7, 28(sp);  lw x8, 32(sp);  lw x9, 36(sp)
    lw x10, 40(sp); lw x11, 44(sp); lw x12, 48(sp); lw x13, 52(sp)
    lw x14, 56(sp); lw x15, 60(sp); lw x16, 64(sp); lw x17, 68(sp)
    lw x18, 72(sp); lw x19, 76(sp); lw x20, 80(sp); lw x21, 84(sp)
    lw x22, 88(sp); lw x23, 92(sp); lw x24, 96(sp); lw x25, 100(sp)
    lw x26, 104(sp); lw x27, 108(sp); lw x28, 112(sp); lw x29, 116(sp)
    lw x30, 120(sp); lw x31, 124(sp)
    lw    sp, 8(sp)
    sret

leave_user:                         # back into enter_user's caller, with user_result
    la    t0, kernel_context
    lw ra, 0(t0);  lw sp, 4(t0);  lw s0, 8(t0);  lw s1, 12(t0)
    lw s2, 16(t0); lw s3, 20(t0); lw s4, 24(t0); lw s5, 28(t0)
    lw s6, 32(t0); lw s7, 36(t0); lw s8, 40(t0); lw s9, 44(t0)
    lw s10, 48(t0); lw s11, 52(t0)
    lw    a0, user_result
    ret

# A trap in the kernel itself: expected only inside a probe (probe_resume set). Uses t0, t1, which
# the probes give up.
trap_from_kernel:
    csrrw sp, sscratch, sp          # sp is the kernel's again, sscratch 0
    lw    t0, probe_resume
    beqz  t0, kernel_bug
    csrw  sepc, t0
    la    t1, probe_resume
    sw    zero, 0(t1)
    csrr  t0, scause
    sw    t0, probe_cause, t1
    sret
kernel_bug:
    csrr  a0, scause
    csrr  a1, sepc
    csrr  a2, stval
    call  kernel_fault              # prints and shuts down

# probe_load(address) -> the word there, or 0 with probe_cause = scause if the load faulted.
# probe_store(address, value): probe_cause as above. probe_fetch(address): calls the code there
# (a function returning a value in a0). probe_cause is 0 after an access that did not fault.
    .globl probe_load, probe_store, probe_fetch
probe_load:
    sw    zero, probe_cause, t0
    la    t1, 1f
    sw    t1, probe_resume, t0
    lw    a0, 0(a0)
    sw    zero, probe_resume, t0
    ret
1:  li    a0, 0
    ret
probe_store:
    sw    zero, probe_cause, t0
    la    t1, 1f
    sw    t1, probe_resume, t0
    sw    a1, 0(a0)
    sw    zero, probe_resume, t0
1:  ret
probe_fetch:
    addi  sp, sp, -16
    sw    ra, 0(sp)
    sw    zero, probe_cause, t0
    la    t1, 1f
    sw    t1, probe_resume, t0
    jalr  a0
    sw    zero, probe_resume, t0
    j     2f
1:  li    a0, 0
2:  lw    ra, 0(sp)
    addi  sp, sp, 16
    ret

    .data
    .balign 4
    .globl probe_cause
probe_resume:   .word 0
probe_cause:    .word 0
    .globl user_result
user_result:    .word 0
kernel_context: .space 56
    .balign 16
    .globl user_frame
user_frame:     .space 132          # x0..x31, then sepc (struct frame)

    .bss
    .balign 16
    .space 8192
kernel_stack_top:
    .space 4096
trap_stack_top:
