# A test program in the style of the public ISA test suites: a trap vector, a drop to
# S-mode, an ecall back, and the result reported through tohost.
    .section .text.init
    .globl _start
_start:
    la      t0, trap_vector
    csrw    mtvec, t0
    csrwi   mie, 0
    li      t0, -1                  # PMP: let S-mode reach all of memory (NAPOT, RWX)
    csrw    pmpaddr0, t0
    li      t0, 0x1f
    csrw    pmpcfg0, t0
    li      t0, 0x1800              # MPP = 11 (M)
    csrc    mstatus, t0
    li      t0, 0x0800              # MPP = 01 (S)
    csrs    mstatus, t0
    la      t0, supervisor
    csrw    mepc, t0
    mret

supervisor:
    li      a7, 93
    ecall
    j       fail

    .align  2
trap_vector:
    csrr    t5, mcause
    li      t6, 9                   # environment call from S-mode
    bne     t5, t6, fail
pass:
    li      gp, 1
    j       report
fail:
    li      gp, (2 << 1) | 1
report:
    fence
    sw      gp, tohost, t5
    sw      zero, tohost + 4, t5    # HTIF acts on the write of the upper half
1:  j       1b

    .section .tohost, "aw", @progbits
    .align  6
    .globl  tohost
    .type   tohost, @object
    .size   tohost, 8
tohost: .dword 0
    .align  6
    .globl  fromhost
    .size   fromhost, 8
fromhost: .dword 0
