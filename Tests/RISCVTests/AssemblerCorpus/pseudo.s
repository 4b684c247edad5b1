# Every pseudo-instruction, and `li` at the edges where GNU's expansion changes shape.
    .equ    CONSTANT, 0xdeadbeef
    .text
    .globl _start
_start:
    nop
    li      a0, 0
    li      a0, 1
    li      a0, -1
    li      a0, 2047
    li      a0, -2048
    li      a0, 2048
    li      a0, -2049
    li      a0, 4095
    li      a0, 4096
    li      a0, 0x7ff
    li      a0, 0x800
    li      a0, 0xfff
    li      a0, 0x1000
    li      a0, 0x12345678
    li      a0, 0x12345800
    li      a0, 0x123457ff
    li      a0, 0x7ffff800
    li      a0, 0x7fffffff
    li      a0, 0x80000000
    li      a0, 0x80000001
    li      a0, 0x80000800
    li      a0, 0xfffff7ff
    li      a0, 0xfffff800
    li      a0, 0xffffffff
    li      a0, -2147483648
    li      t6, 'A'
    li      s0, (1 << 20) | 0x3
    li      s1, CONSTANT
    li      zero, 77
    la      a1, message
    lla     a2, message + 4
    mv      a0, a1
    not     a0, a1
    neg     a0, a1
    seqz    a0, a1
    snez    a0, a1
    sltz    a0, a1
    sgtz    a0, a1
    sgt     a0, a1, a2
    sgtu    a0, a1, a2
1:
    beqz    a0, 1b
    bnez    a0, 1f
    bltz    a0, 1b
    bgez    a0, 1f
    blez    a0, 1b
    bgtz    a0, 1f
    bgt     a0, a1, 1b
    ble     a0, a1, 1f
    bgtu    a0, a1, 1b
    bleu    a0, a1, 1f
1:
    j       1b
    jal     function
    jr      t0
    jr      8(t0)
    jalr    t0
    jalr    4(t0)
    jalr    a0, a1
    call    function
    call    t0, function
    tail    function
    csrr    a0, mstatus
    csrw    mtvec, a0
    csrs    mie, a1
    csrc    mip, a2
    csrw    mscratch, 1
    csrs    mstatus, 8
    csrc    mstatus, 31
    csrwi   mepc, 0
    csrsi   mstatus, 8
    csrci   sstatus, 2
    rdcycle a0
    rdtime  a1
    rdinstret a2
    rdcycleh a3
    rdtimeh a4
    rdinstreth a5
    fence
    fence.i
    unimp
    lw      a0, value
    lh      a1, value
    lbu     a2, value + 2
    sw      a0, value, t0
    sb      a1, value + 1, t1
function:
    ret

    .data
message:
    .asciz  "hello"
    .align  2
value:
    .word   0x11223344
