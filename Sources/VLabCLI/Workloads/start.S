# The process entry point of every benchmark workload. The kernel (vlab's LinuxProcess or
# qemu-riscv32) jumps here in U-mode with sp pointing at argc, then argv[], NULL, envp[], NULL
# and the auxiliary vector. No libc: set up gp, hand the initial stack pointer to C.
    .file "start.S"         # else the assembler names a temporary file, and builds differ
    .section .text._start, "ax"
    .globl _start
_start:
    .option push
    .option norelax          # gp is not set yet, so this la must not be relaxed against it
    la gp, __global_pointer$
    .option pop
    mv a0, sp
    andi sp, sp, -16         # the psABI wants a 16-byte aligned stack at calls
    call start_c
1:  j 1b                     # start_c ends with exit_group and never returns
