/// Guest programs for QEMUComparisonTests, kept as Swift strings because a test target cannot hold
/// assembly files (SwiftPM would try to compile them as a C-family target).
enum DifferentialGuests {
    static let all: [String: String] = ["differential": differential, "sv32": sv32]

    /// Both guests print their observations with this routine: a0 as 8 hex digits and a newline
    /// on the UART whose base is in s0; clobbers t4-t6.
    static let printHex = """
        hex:
            li t4, 28
        2:  srl t5, a0, t4
            andi t5, t5, 15
            addi t6, t5, -10
            bltz t6, 3f
            addi t5, t5, 'a' - '0' - 10
        3:  addi t5, t5, '0'
            sb t5, 0(s0)
            addi t4, t4, -4
            bgez t4, 2b
            li t5, 10
            sb t5, 0(s0)
            ret
        """

    static let differential = #"""
# A differential guest for MachineTests/QEMUComparisonTests.swift: it exercises M and A corner
# cases, a misaligned load, traps (ECALL, illegal instruction, load access fault) with their
# mcause/mtval/mepc, MRET, and exits through the sifive_test finisher with code 3. The test runs it
# under `qemu-system-riscv32 -machine virt -bios none` and under VirtLab and compares the UART bytes
# and the exit status.
    .section .text
    .globl _start
_start:
    li s0, 0x10000000
    la t0, handler
    csrw mtvec, t0
    li a0, 0x80000000
    li a1, -1
    div a0, a0, a1
    call hex
    li a0, 0x80000000
    rem a0, a0, a1
    call hex
    li a0, 77
    divu a0, a0, zero
    call hex
    li a0, 0x80000000
    li a1, -1
    mulh a2, a0, a1
    mv a0, a2
    call hex
    li a0, 0x80000000
    mulhsu a0, a0, a1
    call hex
    li a0, 0x80000000
    mulhu a0, a0, a1
    call hex
    la t0, data
    li t1, 5
    amoadd.w a0, t1, (t0)
    call hex
    lw a0, 0(t0)
    call hex
    lr.w a0, (t0)
    sc.w a0, t1, (t0)
    call hex
    sc.w a0, t1, (t0)
    call hex
    lw a0, 1(t0)
    call hex
    ecall
    .word 0xffffffff
    li a0, 0x12345000
    lw a0, 0(a0)
    csrr a0, misa
    li t0, 0x40141101      # QEMU's default CPU adds F, D, C: compare the bits both have
    and a0, a0, t0
    call hex
    csrr a0, mstatus
    call hex
    li t0, 0x100000
    li t1, 0x00033333
    sw t1, 0(t0)
1:  j 1b

handler:
    csrr a0, mcause
    call hex
    csrr a0, mtval
    call hex
    csrr t2, mepc
    la t3, _start
    sub a0, t2, t3
    call hex
    csrr t2, mepc
    addi t2, t2, 4
    csrw mepc, t2
    mret

\#(printHex)

    .data
    .align 4
data: .word 0xfffffffe, 0x11223344
"""#

    static let sv32 = #"""
# Sv32 in S-mode: a 4 KiB page with hardware A/D updates, SUM, MXR, delegated page faults with
# scause/stval, an S-mode ECALL to M; every observation is printed on the UART.
    .section .text
    .globl _start
_start:
    li s0, 0x10000000
    la t0, mhandler
    csrw mtvec, t0
    la t0, shandler
    csrw stvec, t0
    la s1, root
    la s2, leaf
    la s3, page1
    li t0, 0x200000CF          # root[0x200]: 0x80000000 identity superpage, RWX A D
    li t2, 0x800
    add t2, s1, t2
    sw t0, 0(t2)
    li t0, 0x040000C7          # root[0x40]: the UART's 4 MiB, RW A D
    sw t0, 0x100(s1)
    srli t0, s2, 12            # root[1]: pointer to the leaf table
    slli t0, t0, 10
    ori t0, t0, 1
    sw t0, 4(s1)
    srli t1, s3, 12
    slli t1, t1, 10
    ori t0, t1, 0x07           # leaf[0]: VA 0x400000 -> page1, RW, A and D clear
    sw t0, 0(s2)
    ori t0, t1, 0xD7           # leaf[1]: VA 0x401000 -> page1, RW, user
    sw t0, 4(s2)
    ori t0, t1, 0x49           # leaf[2]: VA 0x402000 -> page1, execute-only
    sw t0, 8(s2)
    srli t0, s1, 12
    li t1, 0x80000000
    or t0, t0, t1
    csrw satp, t0
    sfence.vma
    li t0, -1                  # QEMU refuses MRET to S/U while PMP has no rule: allow all
    csrw pmpaddr0, t0
    li t0, 0x1f
    csrw pmpcfg0, t0
    li t0, 0xB000              # delegate page faults 12, 13, 15
    csrw medeleg, t0
    li t0, 0x1800
    csrc mstatus, t0
    li t0, 0x0800              # MPP = S
    csrs mstatus, t0
    la t0, s_code
    csrw mepc, t0
    mret

s_code:
    li t1, 0x400000
    lw a0, 0(t1)
    call hex
    lw a0, 0(s2)
    andi a0, a0, 0xff          # A set by the load, D still clear
    call hex
    sw t1, 8(t1)
    lw a0, 0(s2)
    andi a0, a0, 0xff          # D set by the store
    call hex
    li t1, 0x401000
    lw a0, 4(t1)               # user page from S without SUM: load page fault
    li t0, 0x40000
    csrs sstatus, t0
    lw a0, 4(t1)               # with SUM
    call hex
    li t1, 0x402000
    lw a0, 8(t1)               # execute-only: load page fault
    li t0, 0x80000
    csrs sstatus, t0
    lw a0, 8(t1)               # with MXR
    call hex
    li t1, 0x403000
    sw t1, 0(t1)               # invalid: store page fault
    li t1, 0x400ffe
    lw a0, 0(t1)               # crosses into the user page: readable now (SUM), misaligned, handled
    call hex
    csrr a0, sstatus
    call hex
    ecall

shandler:
    csrr a0, scause
    call hex
    csrr a0, stval
    call hex
    csrr t2, sepc
    addi t2, t2, 4
    csrw sepc, t2
    sret

mhandler:
    csrr a0, mcause
    call hex
    csrr a0, mstatus
    call hex
    li t0, 0x100000
    li t1, 0x5555
    sw t1, 0(t0)
1:  j 1b

\#(printHex)

    .data
    .align 12
page1:
    .word 0xcafebabe, 0x12345678, 0x0badf00d
    .align 12
    .bss
    .align 12
root: .space 4096
leaf: .space 4096
"""#
}
