# hello.S: the demo guest that `vlab boot` runs when given nothing to boot.
#
# A bare-metal program for the `virt` board (RAM at 0x80000000, 16550 UART at 0x10000000,
# CLINT at 0x02000000, sifive_test finisher at 0x100000), entered in M-mode at _start.
# It shows that the machine is a real one: it reads its identity from CSRs, takes a
# timer interrupt from the CLINT, runs code in U-mode that asks M-mode for a service
# with ECALL, and powers the machine off through the finisher.
#
#   riscv64-unknown-elf-as -march=rv32ima_zicsr_zifencei -mabi=ilp32 -mno-relax hello.S -o hello.o
#   riscv64-unknown-elf-ld -m elf32lriscv --no-relax -Ttext=0x80000000 hello.o -o hello.elf
#   qemu-system-riscv32 -machine virt -bios none -nographic -kernel hello.elf

    .equ UART_BASE,      0x10000000
    .equ UART_THR,       0          # transmit holding register (write)
    .equ UART_LSR,       5          # line status register
    .equ UART_LSR_THRE,  0x20       # THR empty: the UART takes another byte
    .equ CLINT_MTIMECMP, 0x02004000
    .equ CLINT_MTIME,    0x0200BFF8
    .equ TEST_FINISHER,  0x00100000
    .equ FINISHER_PASS,  0x5555
    .equ TIMER_DELAY,    100000     # ticks: 10 ms at QEMU virt's 10 MHz timebase
    .equ MIE_MTIE,       0x80
    .equ MSTATUS_MIE,    0x8
    .equ MSTATUS_MPP,    0x1800
    .equ CAUSE_USER_ECALL, 8
    .equ CAUSE_M_TIMER_INTERRUPT, 0x80000007
    .equ SYSCALL_PUTS,   1          # a7 values of the demo's two system calls
    .equ SYSCALL_EXIT,   2

    .text
    .globl _start
_start:
    la sp, machine_stack_top
    la t0, trap_stack_top
    csrw mscratch, t0           # the trap handler's own stack
    la t0, trap_handler
    csrw mtvec, t0
    # Let U-mode reach all memory and devices (QEMU implements PMP; with no entry set,
    # U-mode could touch nothing).
    li t0, -1
    csrw pmpaddr0, t0
    li t0, 0x1f                 # NAPOT, R W X
    csrw pmpcfg0, t0

    la a0, banner
    call puts

    # Who am I? misa names the base ISA and the extensions, one bit per letter.
    la a0, text_misa
    call puts
    csrr s0, misa
    mv a0, s0
    call puthex
    la a0, text_isa
    call puts
    srli t0, s0, 30             # MXL: 1 = 32-bit
    li t1, 1
    bne t0, t1, 1f
    la a0, text_rv32
    call puts
1:
    li s1, 0                    # bit number = letter - 'A'
2:
    srl t0, s0, s1
    andi t0, t0, 1
    beqz t0, 3f
    addi a0, s1, 65             # 'A'
    call putc
3:
    addi s1, s1, 1
    li t0, 26
    blt s1, t0, 2b
    li a0, 41                   # ')'
    call putc
    li a0, 10                   # newline
    call putc

    la a0, text_hart
    call puts
    csrr a0, mhartid
    call puthex
    li a0, 10                   # newline
    call putc

    # A timer interrupt: mtimecmp = mtime + TIMER_DELAY, then wait for it with WFI.
    la a0, text_timer_set
    call puts
    li t0, CLINT_MTIME
    lw t1, 0(t0)
    lw t2, 4(t0)
    li t3, TIMER_DELAY
    add t3, t1, t3
    sltu t4, t3, t1
    add t2, t2, t4
    li t0, CLINT_MTIMECMP
    li t5, -1
    sw t5, 0(t0)                # low word high first: no early interrupt while writing
    sw t2, 4(t0)
    sw t3, 0(t0)
    la t0, timer_fired
    sw zero, 0(t0)
    li t0, MIE_MTIE
    csrs mie, t0
    csrrsi zero, mstatus, MSTATUS_MIE
4:
    wfi
    la t0, timer_fired
    lw t0, 0(t0)
    beqz t0, 4b
    csrrci zero, mstatus, MSTATUS_MIE

    # U-mode: MRET with MPP = U drops privilege; the user program talks to M-mode only
    # through ECALL.
    la a0, text_to_user
    call puts
    li t0, MSTATUS_MPP
    csrc mstatus, t0            # MPP = 0: U-mode
    la t0, user_program
    csrw mepc, t0
    la sp, user_stack_top
    mret

back_in_machine_mode:
    la sp, machine_stack_top
    la a0, text_back
    call puts
    la a0, text_bye
    call puts
    li t0, TEST_FINISHER
    li t1, FINISHER_PASS
    sw t1, 0(t0)
5:
    j 5b

# The user program (runs in U-mode).
user_program:
    li a7, SYSCALL_PUTS
    la a0, text_user
    ecall
    li a7, SYSCALL_PUTS
    la a0, text_user_tries
    ecall
    csrr a0, mstatus            # illegal in U-mode: M-mode's handler reports and skips it
    li a7, SYSCALL_EXIT
    ecall
6:
    j 6b

# The trap handler: the timer interrupt and the two system calls. Any other trap is
# reported, and the instruction that caused it skipped.
    .balign 4
trap_handler:
    csrrw sp, mscratch, sp      # switch to the trap stack, keep the old sp in mscratch
    addi sp, sp, -32
    sw ra, 0(sp)
    sw t0, 4(sp)
    sw t1, 8(sp)
    sw t2, 12(sp)
    sw a0, 16(sp)
    sw a1, 20(sp)
    csrr t0, mcause
    li t1, CAUSE_M_TIMER_INTERRUPT
    beq t0, t1, on_timer
    li t1, CAUSE_USER_ECALL
    beq t0, t1, on_ecall
    # Anything else: report mcause and mepc.
    mv a1, t0
    la a0, text_trap
    call puts
    mv a0, a1
    call puthex
    la a0, text_at
    call puts
    csrr a0, mepc
    call puthex
    la a0, text_skip
    call puts
    csrr t0, mepc
    addi t0, t0, 4              # skip the instruction and go on
    csrw mepc, t0
    j trap_return

on_timer:
    li t0, CLINT_MTIMECMP       # no further timer interrupt
    li t1, -1
    sw t1, 4(t0)
    sw t1, 0(t0)
    la t0, timer_fired
    li t1, 1
    sw t1, 0(t0)
    la a0, text_timer_fired
    call puts
    li t0, CLINT_MTIME
    lw a0, 0(t0)
    call puthex
    li a0, 10                   # newline
    call putc
    j trap_return

on_ecall:
    csrr t0, mepc
    addi t0, t0, 4              # return after the ECALL
    csrw mepc, t0
    li t1, SYSCALL_PUTS
    bne a7, t1, 7f
    lw a0, 16(sp)               # the user's a0: the string
    call puts
    j trap_return
7:
    li t1, SYSCALL_EXIT
    bne a7, t1, trap_return
    # Exit: continue in M-mode rather than returning to the user.
    li t0, MSTATUS_MPP
    csrs mstatus, t0
    la t0, back_in_machine_mode
    csrw mepc, t0

trap_return:
    lw ra, 0(sp)
    lw t0, 4(sp)
    lw t1, 8(sp)
    lw t2, 12(sp)
    lw a0, 16(sp)
    lw a1, 20(sp)
    addi sp, sp, 32
    csrrw sp, mscratch, sp
    mret

# putc: write the byte a0 to the UART once it can take one.
putc:
    li t0, UART_BASE
1:
    lbu t1, UART_LSR(t0)
    andi t1, t1, UART_LSR_THRE
    beqz t1, 1b
    sb a0, UART_THR(t0)
    ret

# puts: write the zero-terminated string at a0.
puts:
    addi sp, sp, -16
    sw ra, 0(sp)
    sw s0, 4(sp)
    mv s0, a0
1:
    lbu a0, 0(s0)
    beqz a0, 2f
    call putc
    addi s0, s0, 1
    j 1b
2:
    lw ra, 0(sp)
    lw s0, 4(sp)
    addi sp, sp, 16
    ret

# puthex: write a0 as 0x and eight hex digits.
puthex:
    addi sp, sp, -16
    sw ra, 0(sp)
    sw s0, 4(sp)
    sw s1, 8(sp)
    mv s0, a0
    li a0, 48                   # '0'
    call putc
    li a0, 120                  # 'x'
    call putc
    li s1, 28
1:
    srl a0, s0, s1
    andi a0, a0, 0xf
    la t0, hex_digits
    add t0, t0, a0
    lbu a0, 0(t0)
    call putc
    addi s1, s1, -4
    bge s1, zero, 1b
    lw ra, 0(sp)
    lw s0, 4(sp)
    lw s1, 8(sp)
    addi sp, sp, 16
    ret

    .data
banner:
    .ascii "\n"
    .ascii "  VirtLab demo guest: a bare-metal RV32 program on the virt board.\n"
    .ascii "  Everything below comes from the guest, through the 16550 UART.\n"
    .asciz "\n"
text_misa:      .asciz "  misa     = "
text_isa:       .asciz "  ("
text_rv32:      .asciz "RV32"
text_hart:      .asciz "  mhartid  = "
text_timer_set: .asciz "  Setting the CLINT timer and waiting (WFI) ...\n"
text_timer_fired: .asciz "  Timer interrupt taken in M-mode at mtime = "
text_to_user:   .asciz "  Dropping to U-mode with MRET.\n"
text_user:      .asciz "  Hello from U-mode, printed by M-mode on request (ECALL).\n"
text_user_tries: .asciz "  U-mode now reads mstatus, which only M-mode may read:\n"
text_trap:      .asciz "  Trap to M-mode: mcause = "
text_at:        .asciz ", mepc = "
text_skip:      .asciz " (skipping that instruction)\n"
text_back:      .asciz "  Back in M-mode after the user program's exit call.\n"
text_bye:       .asciz "  Powering off through the test finisher. Bye!\n\n"
hex_digits:     .ascii "0123456789abcdef"

    .balign 4
timer_fired:
    .word 0

    .bss
    .balign 16
    .space 1024
machine_stack_top:
    .space 1024
trap_stack_top:
    .space 1024
user_stack_top:
