# Shadow coherence: a guest edits its page tables and fences (by address, by ASID, everything),
# or does not fence. Runs from M-mode setup into S-mode with Sv32 on, ASID 1. Each load's value
# lands in a register the test checks: where the ISA fixes the answer, that answer; where it allows
# the old or the new translation (no fence yet, or a fence naming another ASID), one of those two.
# Exits through the test finisher at 0x100000.
_start:
    la t0, mtrap
    csrw mtvec, t0
    la t0, strap
    csrw stvec, t0
    li t0, 0xb1ff              # delegate exceptions (page faults included) to S
    csrw medeleg, t0
    la s0, root
    li t0, 0x200000cf          # root[0x200]: identity 4 MiB superpage over the image, RWX A D
    li t1, 0x800
    add t1, s0, t1
    sw t0, 0(t1)
    la a0, second              # root[0x100] -> second (VA 0x40000000..0x403fffff)
    li a1, 1
    call pte
    sw a0, 0x400(s0)
    la a0, pagea               # second[0], second[1] -> pagea
    li a1, 0xc7
    call pte
    la s1, second
    sw a0, 0(s1)
    sw a0, 4(s1)
    la a0, pagec               # second2[0] -> pagec
    li a1, 0xc7
    call pte
    la t0, second2
    sw a0, 0(t0)
    li t0, 0x1800              # mret to S
    csrc mstatus, t0
    li t0, 0x800
    csrs mstatus, t0
    la t0, supervisor
    csrw mepc, t0
    mret
supervisor:
    li a7, -1
    la s0, root
    srli t0, s0, 12
    li t1, 0x80400000          # Sv32, ASID 1
    or t0, t0, t1
    csrw satp, t0
    sfence.vma
    li s2, 0x40000000
    la s1, second
    lw s3, 0(s2)               # pagea
    la a0, pageb
    li a1, 0xc7
    call pte
    sw a0, 0(s1)               # VA -> pageb, no fence yet
    lw s4, 0(s2)               # pagea (stale) or pageb
    sfence.vma s2, zero
    lw s5, 0(s2)               # pageb
    la a0, pagec
    li a1, 0xc7
    call pte
    sw a0, 0(s1)               # VA -> pagec, fence ASID 1
    li t0, 1
    sfence.vma zero, t0
    lw s6, 0(s2)               # pagec
    la a0, pagea
    li a1, 0xc7
    call pte
    sw a0, 0(s1)               # VA -> pagea, fence ASID 2 (not ours)
    li t0, 2
    sfence.vma zero, t0
    lw s7, 0(s2)               # pagec (stale) or pagea
    sfence.vma
    lw s8, 0(s2)               # pagea
    li t2, 0x40001000
    la a0, pageb
    li a1, 0xc7
    call pte
    sw a0, 4(s1)               # a page never used: VA+0x1000 -> pageb, no fence
    lw s9, 0(t2)               # pagea (old) or pageb
    la a0, second2             # the root entry repointed: everything under it changes
    li a1, 1
    call pte
    sw a0, 0x400(s0)
    sfence.vma
    lw a6, 0(s2)               # pagec
    la t0, second2             # the entry made invalid, fenced by address: the load faults
    sw zero, 0(t0)
    sfence.vma s2, zero
    lw a7, 0(s2)               # faults; a7 stays -1
    ecall
# a0 = physical address, a1 = flags -> a0 = PTE
pte:
    srli a0, a0, 12
    slli a0, a0, 10
    or a0, a0, a1
    ret
strap:
    csrr t0, scause
    csrr s11, stval
    add s10, s10, t0
    csrr t0, sepc
    addi t0, t0, 4
    csrw sepc, t0
    sret
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
second2:
    .space 4096
pagea:
    .word 0x11111111
    .space 4092
pageb:
    .word 0x22222222
    .space 4092
pagec:
    .word 0x33333333
    .space 4092
