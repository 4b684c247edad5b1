# Section stack directives, bindings, assignments to `.`, and .end.
    .text
    .globl _start
    .weak   weak_symbol
    .local  local_symbol
_start:
    la      a0, local_symbol
    la      a1, weak_symbol
    .pushsection .rodata
ro_one:
    .word   1
    .popsection
    lw      a2, 0(a0)
    .section .data
local_symbol:
    .word   0x11
    .previous
    addi    a3, a3, 1
    .previous
weak_symbol:
    .word   0x22
    . = . + 6
    .byte   0x33
    . = weak_symbol + 16
    .word   0x44
    .equiv  UNIQUE, 12
    .text
    li      a4, UNIQUE
    .end
    this line is after .end and is never read
