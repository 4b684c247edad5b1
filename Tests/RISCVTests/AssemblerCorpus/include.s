# .include, statement separators and the comment styles GNU as accepts.
    .include "defs.inc"
    .text
    .globl _start
_start: li a0, MAGIC; li a1, LIMIT   # two statements on one line
    /* a C comment
       over several lines */ addi a0, a0, 1
    addi a1, a1, 2
    .option push
    .option norvc
    .option norelax
    .option pop
    .file "include.s"
    .ident "VirtLab corpus"
    .attribute stack_align, 16
    call from_include
    ecall
    .section .note.GNU-stack, "", @progbits
