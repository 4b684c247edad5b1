# Local labels, forward references, %hi/%lo and %pcrel pairs, code in several sections.
    .section .text.init, "ax", @progbits
    .globl _start
_start:
    la      sp, stack_top
    lui     a0, %hi(table)
    addi    a0, a0, %lo(table)
    lw      a1, %lo(table)(a0)
    sw      a1, %lo(table + 4)(a0)
    lui     a2, %hi(0x12345fff)
    addi    a2, a2, %lo(0x12345fff)
1:  auipc   a3, %pcrel_hi(table)
    addi    a3, a3, %pcrel_lo(1b)
2:  auipc   a4, %pcrel_hi(table + 8)
    lw      a5, %pcrel_lo(2b)(a4)
    sw      a5, %pcrel_lo(2b)(a4)
.Lhi:
    auipc   a6, %pcrel_hi(main)
    jalr    ra, %pcrel_lo(.Lhi)(a6)
    call    main
    j       done

    .text
main:
    li      t0, 3
1:  addi    t0, t0, -1
    bnez    t0, 1b
    beqz    t0, 1f
    nop
1:  bgez    t0, 2f
    j       1b
2:  jal     zero, 3f
3:  j       3b + 4
    ret

    .globl  done
done:
    j       done

    .text
    .type   helper, @function
helper:
    addi    a0, a0, 1
    ret
    .size   helper, . - helper

    .data
    .align  2
table:
    .word   1b, 2f, helper, done
2:  .word   2b - table

    .bss
    .align  4
    .space  1024
stack_top:
