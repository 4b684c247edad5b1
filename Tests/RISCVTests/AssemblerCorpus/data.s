# Data directives, sections and expressions.
    SIZE = 16
    .text
    .globl _start
_start:
    la      a0, words
    lw      a1, 0(a0)
    li      a2, SIZE
    li      a3, 'a' + ('\n' << 8)
    li      a4, (~0x0f) & 0xff
    li      a5, 7 % 3 + 10 / 3 - -2
    li      a6, 1 + 2 & 3       # GNU: & binds tighter than +
    li      a7, 0b1011 | 010 ^ 0x100
    la      t1, END
    j       .

    .section .rodata
START:
hexes:
    .byte   0, 1, 0x7f, 0x80, 0xff, -1, -128, 'z', '\\', '\''
    .2byte  0x1234, -1
    .half   65535
    .short  -32768
    .align  2
    .4byte  0xdeadbeef
    .long   -1
    .int    2147483647
    .word   words, words + 8, end_of_data - words
    .ascii  "abc\t\"q\"\\\101\x42\0"
    .asciz  "one", "two"
    .string "three"
    .skip   3
    .space  2, 0xaa
    .zero   5
    .fill   3, 2, 0x0102
    .fill   2, 4, -1
    .balign 8
    .8byte  0x0102030405060708
    .quad   -2
END:
    .word   END - START

    .data
    .p2align 3
words:
    .word   1, 2, 3, SIZE, . - words
    .word   forward_label
    .half   0xbeef
    .byte   1
    .balign 16, 0x55
end_of_data:
    .word   0
    .set    TWICE, SIZE * 2
    .equ    ADDR, words + TWICE
    .word   ADDR, TWICE
    .set    TWICE, 3
    .word   TWICE
forward_label:
    .byte   9

    .section .tohost, "aw", @progbits
    .align  6
    .globl  tohost
tohost:
    .word   0, 0
    .globl  fromhost
fromhost:
    .word   0, 0

    .section .data.more
more:
    .word   more, tohost

    .bss
    .align  4
buffer:
    .space  100
    .globl  stack_top
stack:
    .zero   256
stack_top:

    .section .bss.extra, "aw", @nobits
    .align  3
extra:
    .skip   12
