# Every RV32IMA, Zicsr, Zifencei and privileged operation, with ABI and numeric register names.
    .text
    .globl _start
_start:
    lui     a0, 0x12345
    lui     x31, 0xfffff
    lui     t0, 0
    auipc   sp, 0x1
    auipc   x0, 0xabcde
    jal     ra, target
    jal     x0, target
    jalr    ra, 0(a0)
    jalr    t1, -2048(x31)
    jalr    zero, 2047(ra)
    jalr    s0, a1, 12
target:
    beq     a0, a1, target
    bne     s1, s2, forward
    blt     x3, x4, target
    bge     tp, gp, forward
    bltu    s10, s11, target
    bgeu    t5, t6, forward
forward:
    lb      a0, 0(sp)
    lh      a1, -1(s0)
    lw      a2, 2047(fp)
    lbu     a3, -2048(a4)
    lhu     a5, 100(a6)
    lw      a7, (s3)
    sb      a0, 0(sp)
    sh      s4, -2048(s5)
    sw      s6, 2047(s7)
    sw      s8, (s9)
    addi    a0, a1, -1
    slti    t0, t1, 2047
    sltiu   t2, t3, -2048
    xori    t4, t5, 0x7ff
    ori     x1, x2, 0
    andi    x5, x6, 255
    slli    a0, a0, 0
    srli    a1, a1, 31
    srai    a2, a2, 17
    add     x1, x2, x3
    sub     x4, x5, x6
    sll     x7, x8, x9
    slt     x10, x11, x12
    sltu    x13, x14, x15
    xor     x16, x17, x18
    srl     x19, x20, x21
    sra     x22, x23, x24
    or      x25, x26, x27
    and     x28, x29, x30
    add     a0, a0, 5           # GNU turns a constant operand into the -i form
    and     a1, a2, -1
    sll     a3, a3, 4
    fence
    fence   iorw, iorw
    fence   iorw, ow
    fence   r, w
    fence   io, rw
    fence.tso
    fence.i
    ecall
    ebreak
    csrrw   a0, mstatus, a1
    csrrs   a0, mie, zero
    csrrc   x0, mip, t0
    csrrwi  a0, mtvec, 0
    csrrsi  a0, 0x340, 31
    csrrci  a0, satp, 7
    csrrw   a0, sscratch, 5     # immediate source: GNU uses csrrwi
    csrrs   t0, cycle, x0
    csrrs   t0, instreth, x0
    csrrs   t0, pmpcfg0, x0
    csrrw   t0, pmpaddr15, t1
    csrrs   t0, mhartid, zero
    csrrs   t0, 0xC03, zero
    mul     a0, a1, a2
    mulh    a0, a1, a2
    mulhsu  a0, a1, a2
    mulhu   a0, a1, a2
    div     a0, a1, a2
    divu    a0, a1, a2
    rem     a0, a1, a2
    remu    a0, a1, a2
    lr.w    a0, (a1)
    lr.w.aq a0, (a1)
    lr.w.aqrl t0, 0(t1)
    sc.w    a0, a2, (a1)
    sc.w.rl a0, a2, (a1)
    amoswap.w a0, a1, (a2)
    amoadd.w.aq a0, a1, (a2)
    amoxor.w.rl a0, a1, (a2)
    amoand.w.aqrl a0, a1, (a2)
    amoor.w a0, a1, (a2)
    amomin.w a0, a1, (a2)
    amomax.w a0, a1, (a2)
    amominu.w a0, a1, (a2)
    amomaxu.w a0, a1, 0(a2)
    mret
    sret
    wfi
    sfence.vma
    sfence.vma a0
    sfence.vma a0, a1
    sfence.vma zero, t2
