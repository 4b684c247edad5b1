# Accessed and dirty bits: every leaf starts with A = D = 0. The guest loads from one page, stores
# to another, fetches from a third, leaves a fourth alone, clears A and D (with a fence) and
# touches pages again. The page tables must end bit-for-bit as the bare machine leaves them.
_start:
    la t0, mtrap
    csrw mtvec, t0
    li t0, 0xb1ff
    csrw medeleg, t0
    la s0, root
    li t0, 0x200000cf          # identity superpage over the image (kernel code, stack-free)
    li t1, 0x800
    add t1, s0, t1
    sw t0, 0(t1)
    la a0, second
    li a1, 1
    call pte
    sw a0, 0x400(s0)
    la s1, second
    la a0, page0               # 0x40000000: load only
    li a1, 0x07
    call pte
    sw a0, 0(s1)
    la a0, page1               # 0x40001000: store
    li a1, 0x07
    call pte
    sw a0, 4(s1)
    la a0, page2               # 0x40002000: never touched
    li a1, 0x07
    call pte
    sw a0, 8(s1)
    la a0, code                # 0x40003000: fetch only (R X)
    li a1, 0x0b
    call pte
    sw a0, 12(s1)
    la a0, page4               # 0x40004000: load, later store
    li a1, 0x07
    call pte
    sw a0, 16(s1)
    li t0, 0x1800
    csrc mstatus, t0
    li t0, 0x800
    csrs mstatus, t0
    la t0, supervisor
    csrw mepc, t0
    mret
supervisor:
    la s0, root
    srli t0, s0, 12
    li t1, 0x80000000
    or t0, t0, t1
    csrw satp, t0
    sfence.vma
    la s1, second
    li s2, 0x40000000
    lw a2, 0(s2)               # page0: A
    li t0, 0x40001000
    li t1, 0x5a5a
    sw t1, 0(t0)               # page1: A D
    li t0, 0x40003000
    jalr ra, 0(t0)             # code: A (returns a3 = 42)
    li t0, 0x40004000
    lw a4, 0(t0)               # page4: A
    sw a4, 8(t0)               # page4: D
    lw t0, 0(s1)               # clear page0's A, fence, load again: A again
    andi t0, t0, -65
    sw t0, 0(s1)
    sfence.vma
    lw a5, 0(s2)
    lw t0, 4(s1)               # clear page1's D, fence, load only: D stays clear
    andi t0, t0, -129
    sw t0, 4(s1)
    sfence.vma
    li t0, 0x40001000
    lw a6, 0(t0)
    ecall
pte:
    srli a0, a0, 12
    slli a0, a0, 10
    or a0, a0, a1
    ret
mtrap:
finish:
    li t0, 0x100000
    li t1, 0x5555
    sw t1, 0(t0)
    j finish
    .align 12
root:
    .space 4096
second:
    .space 4096
page0:
    .word 0x10
    .space 4092
page1:
    .word 0x11
    .space 4092
page2:
    .word 0x12
    .space 4092
code:
    li a3, 42
    ret
    .align 12
page4:
    .word 0x14
    .space 4092
