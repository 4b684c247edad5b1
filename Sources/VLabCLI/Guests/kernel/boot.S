# boot.S: the pieces that must be assembly. Entry points run before any C stack exists, and
# trap vectors must save every register before C code may touch one.
# The para-virtual build (KERNEL_PARAVIRTUAL) has no S-mode trap vector and no return_to_user:
# its firmware saves and restores every register instead (hypervisor.c). The kernel-bt build
# (KERNEL_POPIE) takes timer interrupts in S-mode too (kernel_trap_from_kernel).

# ---------------------------------------------------------------- M-mode firmware

    .section .text.boot, "ax"
    .globl _start
_start:                             # QEMU and vlab start the hart here, in M-mode, at 0x80000000
    la    sp, firmware_stack_top
    csrw  mscratch, sp              # the M trap vector swaps this in as its stack
    la    t0, firmware_trap_vector
    csrw  mtvec, t0
    call  firmware_main             # never returns: it MRETs into kernel_entry in S-mode

#ifdef KERNEL_PARAVIRTUAL
# Machine traps of the para-virtual build: hypercalls, the machine timer, and every trap from
# U-mode (nothing is delegated). The C side may read and replace any register, to save a
# process's registers or load them (struct trap_frame: x0..x31 by number, x0 unused), so all
# are saved; the sp to return with is the frame's x2.
    .align 4
firmware_trap_vector:
    csrrw sp, mscratch, sp          # sp = firmware stack, mscratch = the interrupted sp
    addi  sp, sp, -128
    sw x1, 4(sp);   sw x3, 12(sp);  sw x4, 16(sp);  sw x5, 20(sp)
    sw x6, 24(sp);  sw x7, 28(sp);  sw x8, 32(sp);  sw x9, 36(sp)
    sw x10, 40(sp); sw x11, 44(sp); sw x12, 48(sp); sw x13, 52(sp)
    sw x14, 56(sp); sw x15, 60(sp); sw x16, 64(sp); sw x17, 68(sp)
    sw x18, 72(sp); sw x19, 76(sp); sw x20, 80(sp); sw x21, 84(sp)
    sw x22, 88(sp); sw x23, 92(sp); sw x24, 96(sp); sw x25, 100(sp)
    sw x26, 104(sp); sw x27, 108(sp); sw x28, 112(sp); sw x29, 116(sp)
    sw x30, 120(sp); sw x31, 124(sp)
    csrr  t0, mscratch
    sw    t0, 8(sp)
    mv    a0, sp
    call  firmware_trap
    lw    t0, 8(sp)                 # the sp to return with goes back into mscratch
    csrw  mscratch, t0
    lw x1, 4(sp);   lw x3, 12(sp);  lw x4, 16(sp);  lw x5, 20(sp)
    lw x6, 24(sp);  lw x7, 28(sp);  lw x8, 32(sp);  lw x9, 36(sp)
    lw x10, 40(sp); lw x11, 44(sp); lw x12, 48(sp); lw x13, 52(sp)
    lw x14, 56(sp); lw x15, 60(sp); lw x16, 64(sp); lw x17, 68(sp)
    lw x18, 72(sp); lw x19, 76(sp); lw x20, 80(sp); lw x21, 84(sp)
    lw x22, 88(sp); lw x23, 92(sp); lw x24, 96(sp); lw x25, 100(sp)
    lw x26, 104(sp); lw x27, 108(sp); lw x28, 112(sp); lw x29, 116(sp)
    lw x30, 120(sp); lw x31, 124(sp)
    addi  sp, sp, 128
    csrrw sp, mscratch, sp          # sp = the frame's x2, mscratch = the firmware stack again
    mret
#else
# Machine traps: ECALLs from the kernel and the machine timer. C preserves s0-s11, so only
# the caller-saved registers need saving; their order is struct machine_frame's.
    .align 4
firmware_trap_vector:
    csrrw sp, mscratch, sp          # sp = firmware stack, mscratch = the interrupted sp
    addi  sp, sp, -64
    sw ra, 0(sp);  sw t0, 4(sp);  sw t1, 8(sp);  sw t2, 12(sp)
    sw a0, 16(sp); sw a1, 20(sp); sw a2, 24(sp); sw a3, 28(sp)
    sw a4, 32(sp); sw a5, 36(sp); sw a6, 40(sp); sw a7, 44(sp)
    sw t3, 48(sp); sw t4, 52(sp); sw t5, 56(sp); sw t6, 60(sp)
    mv    a0, sp
    call  firmware_trap
    lw ra, 0(sp);  lw t0, 4(sp);  lw t1, 8(sp);  lw t2, 12(sp)
    lw a0, 16(sp); lw a1, 20(sp); lw a2, 24(sp); lw a3, 28(sp)
    lw a4, 32(sp); lw a5, 36(sp); lw a6, 40(sp); lw a7, 44(sp)
    lw t3, 48(sp); lw t4, 52(sp); lw t5, 56(sp); lw t6, 60(sp)
    addi  sp, sp, 64
    csrrw sp, mscratch, sp
    mret
#endif

# ---------------------------------------------------------------- S-mode kernel

    .text
    .globl kernel_entry
kernel_entry:                       # the firmware's MRET lands here, in S-mode
    la    sp, kernel_stack_top
#ifdef KERNEL_PARAVIRTUAL
    call  kernel_main               # no trap vector: traps arrive through HC_SET_TRAP_ENTRY
#else
    la    t0, kernel_trap_vector
    csrw  stvec, t0
    csrw  sscratch, zero            # zero means "the kernel is running" (see below)
    call  kernel_main

# Supervisor traps. While a process runs, sscratch holds its struct process (whose first
# fields are the register save area); while the kernel runs, sscratch is 0. Swapping sp with
# sscratch therefore gives a save area in one instruction, or 0 for a trap from the kernel.
    .align 4
kernel_trap_vector:
    csrrw sp, sscratch, sp
    beqz  sp, kernel_trap_from_kernel
    sw x1, 4(sp);   sw x3, 12(sp);  sw x4, 16(sp);  sw x5, 20(sp)
    sw x6, 24(sp);  sw x7, 28(sp);  sw x8, 32(sp);  sw x9, 36(sp)
    sw x10, 40(sp); sw x11, 44(sp); sw x12, 48(sp); sw x13, 52(sp)
    sw x14, 56(sp); sw x15, 60(sp); sw x16, 64(sp); sw x17, 68(sp)
    sw x18, 72(sp); sw x19, 76(sp); sw x20, 80(sp); sw x21, 84(sp)
    sw x22, 88(sp); sw x23, 92(sp); sw x24, 96(sp); sw x25, 100(sp)
    sw x26, 104(sp); sw x27, 108(sp); sw x28, 112(sp); sw x29, 116(sp)
    sw x30, 120(sp); sw x31, 124(sp)
    csrr  t0, sscratch              # the process's own sp
    sw    t0, 8(sp)
    csrr  t0, sepc
    sw    t0, 128(sp)
    csrw  sscratch, zero
    mv    a0, sp
    la    sp, kernel_stack_top      # one kernel stack: the kernel never blocks inside itself
    call  kernel_trap               # never returns: it ends in return_to_user

#ifdef KERNEL_POPIE
kernel_trap_from_kernel:            # an interrupt while the kernel runs: handle it, go on
    csrrw sp, sscratch, sp          # undo the swap: sp is the kernel's own again
    addi  sp, sp, -64
    sw ra, 0(sp);  sw t0, 4(sp);  sw t1, 8(sp);  sw t2, 12(sp)
    sw a0, 16(sp); sw a1, 20(sp); sw a2, 24(sp); sw a3, 28(sp)
    sw a4, 32(sp); sw a5, 36(sp); sw a6, 40(sp); sw a7, 44(sp)
    sw t3, 48(sp); sw t4, 52(sp); sw t5, 56(sp); sw t6, 60(sp)
    call  kernel_interrupt          # (a fault instead never returns: kernel_fault)
    lw ra, 0(sp);  lw t0, 4(sp);  lw t1, 8(sp);  lw t2, 12(sp)
    lw a0, 16(sp); lw a1, 20(sp); lw a2, 24(sp); lw a3, 28(sp)
    lw a4, 32(sp); lw a5, 36(sp); lw a6, 40(sp); lw a7, 44(sp)
    lw t3, 48(sp); lw t4, 52(sp); lw t5, 56(sp); lw t6, 60(sp)
    addi  sp, sp, 64
    sret                            # back into the kernel, SIE as it was (SPIE)
#else
kernel_trap_from_kernel:            # a kernel bug: undo the swap and report it
    csrrw sp, sscratch, sp
    call  kernel_fault
#endif

# return_to_user(struct process *p, unsigned satp): switch to p's address space and resume it.
    .globl return_to_user
return_to_user:
    csrw  satp, a1
    sfence.vma                      # the TLB may hold the previous process's translations
    lw    t0, 128(a0)
    csrw  sepc, t0
    csrw  sscratch, a0
    lw x1, 4(a0);   lw x2, 8(a0);   lw x3, 12(a0);  lw x4, 16(a0)
    lw x5, 20(a0);  lw x6, 24(a0);  lw x7, 28(a0);  lw x8, 32(a0)
    lw x9, 36(a0);  lw x11, 44(a0); lw x12, 48(a0); lw x13, 52(a0)
    lw x14, 56(a0); lw x15, 60(a0); lw x16, 64(a0); lw x17, 68(a0)
    lw x18, 72(a0); lw x19, 76(a0); lw x20, 80(a0); lw x21, 84(a0)
    lw x22, 88(a0); lw x23, 92(a0); lw x24, 96(a0); lw x25, 100(a0)
    lw x26, 104(a0); lw x27, 108(a0); lw x28, 112(a0); lw x29, 116(a0)
    lw x30, 120(a0); lw x31, 124(a0)
    lw    x10, 40(a0)               # a0 last: it was the pointer
    sret                            # sstatus.SPP is 0, so this enters U-mode
#endif

# ---------------------------------------------------------------- stacks

    .bss
    .align 4
    .space 1024
firmware_stack_top:
    .space 4096
#ifdef KERNEL_PARAVIRTUAL
    .globl kernel_stack_top         # HC_SET_TRAP_ENTRY names it
#endif
kernel_stack_top:
