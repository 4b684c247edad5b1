# Alignment: GNU pads code with NOPs (and treats 4-byte alignment of code as already met),
# data with zeros or the fill byte, and pads the end of each code section to its alignment.
    .text
    .globl _start
_start:
    nop
    .byte   1
    .p2align 2
    .byte   2
    .align  3
    nop
    .byte   3, 4, 5
    .balign 8
    .byte   6, 7
    .p2align 3
    .byte   8
    .p2align 4, 0x5a
    .byte   9
    .p2align 4,, 3
    .byte   10
    .p2align 5,, 31
    nop
    .balign 4, 0
    .byte   11
    .balign 16

    .section .text.more, "ax", @progbits
more:
    .byte   0x42
    .align  3
    j       more

    .section .rodata
    .byte   1
    .align  4
aligned16:
    .byte   2
    .balign 4
    .half   3
    .p2align 5, 0xee, 20
    .byte   4

    .data
    .byte   5
    .p2align 12
page:
    .word   page
