# Many address spaces: 24 processes, each with its own root (ASID = its number), second-level
# table and data page holding its number at virtual 0x40000000. The kernel switches satp through
# all of them three times without fencing (distinct ASIDs, tables unchanged) and checks that each
# load sees the running process's own page. s3 = sum of all values read, s4 = wrong values seen.
    .equ SPACES, 24
_start:
    la t0, mtrap
    csrw mtvec, t0
    li t0, 0xb1ff
    csrw medeleg, t0
    la s0, tables              # process i: root at tables + i*12K, second +4K, data +8K
    li s1, 0
build:
    li t0, 0x200000cf          # root[0x200]: the kernel's identity superpage
    li t1, 0x800
    add t1, s0, t1
    sw t0, 0(t1)
    li t0, 4096
    add a0, s0, t0             # root[0x100] -> second
    li a1, 1
    call pte
    sw a0, 0x400(s0)
    li t0, 8192
    add a0, s0, t0             # second[0] -> data
    li a1, 0xc7
    call pte
    li t0, 4096
    add t0, s0, t0
    sw a0, 0(t0)
    li t0, 8192
    add t0, s0, t0
    sw s1, 0(t0)               # data[0] = i
    li t0, 12288
    add s0, s0, t0
    addi s1, s1, 1
    li t0, SPACES
    blt s1, t0, build
    li t0, 0x1800
    csrc mstatus, t0
    li t0, 0x800
    csrs mstatus, t0
    la t0, supervisor
    csrw mepc, t0
    mret
supervisor:
    sfence.vma
    li s5, 3                   # rounds
round:
    la s0, tables
    li s1, 0
switch:
    srli t0, s0, 12
    slli t1, s1, 22            # ASID = i
    or t0, t0, t1
    li t1, 0x80000000
    or t0, t0, t1
    csrw satp, t0
    li t2, 0x40000000
    lw t2, 0(t2)
    add s3, s3, t2
    beq t2, s1, right
    addi s4, s4, 1
right:
    li t0, 12288
    add s0, s0, t0
    addi s1, s1, 1
    li t0, SPACES
    blt s1, t0, switch
    addi s5, s5, -1
    bnez s5, round
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
tables:
