# Hostile page tables. Each case is one S-mode load through a table a guest should not write;
# the S-mode trap handler records the fault (s10 += scause, s11 ^= stval, s9 += 1) and skips it.
# The test compares every register and all of RAM with the bare machine, and checks the VMM's
# own frames were never reached.
_start:
    la t0, mtrap
    csrw mtvec, t0
    la t0, strap
    csrw stvec, t0
    li t0, 0xb1ff
    csrw medeleg, t0
    la s0, root
    li t0, 0x200000cf          # identity superpage over the image
    li t1, 0x800
    add t1, s0, t1
    sw t0, 0(t1)
    la a0, second              # root[0x100] -> second: VA 0x40000000 + n*4K is case n
    li a1, 1
    call pte
    sw a0, 0x400(s0)
    la s1, second
    li a0, 0x90000000          # 0: a leaf outside the domain's memory
    li a1, 0xc7
    call pte
    sw a0, 0(s1)
    la a0, page                # 1: W without R (reserved)
    li a1, 0xc5
    call pte
    sw a0, 4(s1)
    li a0, 0x800f0000          # 2: names a frame the VMM keeps for itself (machine 0x800f0000 is the shadow pool in a VMM with the pool first)
    li a1, 0xc7
    call pte
    sw a0, 8(s1)
    li t0, 0xfffffcc7          # 3: PPN 0x3fffff: a physical address above 4 GiB
    sw t0, 12(s1)
    la a0, root                # 4: a non-leaf where a leaf must be (second points back at root)
    li a1, 1
    call pte
    sw a0, 16(s1)
    li a0, 0xa0000000          # root[0x101]: non-leaf pointing outside memory (VA 0x40400000)
    li a1, 1
    call pte
    sw a0, 0x404(s0)
    mv a0, s0                  # root[0x102]: non-leaf pointing back at the root itself (a loop; VA 0x40800000 + j*4K reads root[j] as a leaf)
    li a1, 1
    call pte
    sw a0, 0x408(s0)
    la a0, second3             # root[0x103]: non-leaf with U, A, D set (reserved for non-leaves; VA 0x40c00000)
    li a1, 0xd1
    call pte
    sw a0, 0x40c(s0)
    la a0, page
    li a1, 0xc7
    call pte
    la t0, second3
    sw a0, 0(t0)
    li t0, 0x2000ccf           # root[0x104]: a misaligned superpage (PPN[0] != 0; VA 0x41000000)
    sw t0, 0x410(s0)
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
    li s2, 0x40000000
    lw a0, 0(s2)               # 0: outside memory: access fault
    li t0, 0x40001000
    lw a1, 0(t0)               # 1: W without R: page fault
    li t0, 0x40002000
    lw a2, 0(t0)               # 2: the guest's own frame at 0x800f0000 (zero)
    li t1, 0xdeadbeef
    sw t1, 0(t0)               #    and a store there lands in the guest's own frame
    lw a2, 0(t0)
    li t0, 0x40003000
    lw a3, 0(t0)               # 3: above 4 GiB: access fault
    li t0, 0x40004000
    lw a4, 0(t0)               # 4: non-leaf at level 0: page fault
    li t0, 0x40400000
    lw a5, 0(t0)               # root[0x101]: PTE outside memory: access fault
    li t0, 0x40800000
    li t1, 0x402000            # j = 0x102: root[0x102] read as a leaf is a pointer: page fault
    add t1, t0, t1
    lw a6, 0(t1)
    li t1, 0x200000            # j = 0x200: root[0x200] read as a leaf: the identity superpage's PTE
    add t1, t0, t1
    lw a7, 0(t1)
    li t0, 0x40c00000
    lw s3, 0(t0)               # non-leaf with U/A/D: the bare MMU follows it
    li t0, 0x41000000
    lw s4, 0(t0)               # misaligned superpage: page fault
    ecall
pte:
    srli a0, a0, 12
    slli a0, a0, 10
    or a0, a0, a1
    ret
strap:
    csrr t0, scause
    csrr t1, stval
    add s10, s10, t0
    xor s11, s11, t1
    addi s9, s9, 1
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
second3:
    .space 4096
page:
    .word 0x77777777
    .space 4092
