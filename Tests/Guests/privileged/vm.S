# vm.S: Sv32 virtual memory: 4 KiB pages and 4 MiB megapages, page faults with the right
# cause and stval, R/W/X/U permissions, SUM and MXR, the accessed and dirty bits set by
# the hardware, SFENCE.VMA after a page-table change, satp switches, MPRV, and a page
# fault delegated to S-mode.
#
# M-mode builds the page tables and runs the checks' S- and U-mode parts through
# goto_mode; S-mode page faults go to M-mode (trap_vector) unless a check delegates them.
# The program's own 4 MiB (0x80000000..) is mapped at its own address by a megapage
# without U, so S-mode runs the test code itself. The pages under test are at VA
# 0x40000000.. (one second-level table) and 0x40400000, 0x40800000 (megapages).
    .include "harness.inc"

    .equ PTE_V, 0x01
    .equ PTE_R, 0x02
    .equ PTE_W, 0x04
    .equ PTE_X, 0x08
    .equ PTE_U, 0x10
    .equ PTE_A, 0x40
    .equ PTE_D, 0x80
    .equ SATP_SV32, 0x80000000

    .equ TEST_VA,      0x40000000   # the 4 KiB pages below: TEST_VA + n * 0x1000
    .equ PAGE_RW,      0x40000000   # data_page, R W (A D set)
    .equ PAGE_RO,      0x40001000   # data_page, R only
    .equ PAGE_USER,    0x40002000   # data_page, U R W
    .equ PAGE_XO,      0x40003000   # data_page, X only
    .equ PAGE_INVALID, 0x40004000   # V = 0
    .equ PAGE_AD,      0x40005000   # data_page, R W with A = D = 0
    .equ PAGE_WO,      0x40006000   # W without R: a reserved combination
    .equ PAGE_UCODE,   0x40007000   # user_code, U R X
    .equ PAGE_NOEXEC,  0x40008000   # user_code, R W (no X)
    .equ PAGE_REMAP,   0x40009000   # data_page, later data_page2
    .equ PAGE_POINTER, 0x4000A000   # a level-0 PTE with V and no R/W/X: a pointer too deep
    .equ MEGA_MISALIGNED, 0x40400000  # a megapage PTE whose PPN[0] is not zero
    .equ MEGA_ALIAS,      0x40800000  # a megapage aliasing 0x80000000..0x803FFFFF

    .equ MAGIC1, 0x11111111
    .equ MAGIC2, 0x22222222

run_tests:
    call build_page_tables
    la t0, root_table
    srli t0, t0, 12
    li t1, SATP_SV32
    or t0, t0, t1
    csrw satp, t0
    sfence.vma zero, zero

    # ---- 1: S-mode loads and stores through a 4 KiB page; the store reaches the
    # physical page.
    li gp, 1
    la a0, 2f
    li a1, MODE_S
    j goto_mode
2:
    li t0, PAGE_RW
    lw t1, 0(t0)
    li t2, MAGIC1
    bne t1, t2, fail
    li t2, 0x5a5a5a5a
    sw t2, 4(t0)
    li s11, CAUSE_SUPERVISOR_ECALL
    la s10, 1f
    ecall
1:
    la t0, data_page
    lw t1, 4(t0)
    li t2, 0x5a5a5a5a
    bne t1, t2, fail

    # ---- 2: a 4 MiB megapage translates VA offset bits 21..0 unchanged.
    li gp, 2
    la a0, 2f
    li a1, MODE_S
    j goto_mode
2:
    la t0, data_page
    li t1, 0x80000000
    sub t0, t0, t1
    li t1, MEGA_ALIAS
    add t0, t0, t1
    lw t1, 0(t0)
    li t2, MAGIC1
    bne t1, t2, fail
    li s11, CAUSE_SUPERVISOR_ECALL
    la s10, 1f
    ecall
1:

    # ---- 3: a read-only page reads ...
    li gp, 3
    la a0, 2f
    li a1, MODE_S
    j goto_mode
2:
    li t0, PAGE_RO
    lw t1, 0(t0)
    li t2, MAGIC1
    bne t1, t2, fail
    # ---- 4: ... but a store to it is a store page fault, stval = the address.
    li gp, 4
    li s11, CAUSE_STORE_PAGE_FAULT
    la s10, 1f
store_to_readonly:
    sw t1, 8(t0)
    j fail
1:
    la t0, store_to_readonly
    bne s3, t0, fail
    li t0, PAGE_RO + 8
    bne s4, t0, fail

    # ---- 5: a PTE with V = 0: load page fault, stval = the address.
    li gp, 5
    la a0, 2f
    li a1, MODE_S
    j goto_mode
2:
    li s11, CAUSE_LOAD_PAGE_FAULT
    la s10, 1f
    li t0, PAGE_INVALID
    lw t1, 12(t0)
    j fail
1:
    li t0, PAGE_INVALID + 12
    bne s4, t0, fail

    # ---- 6: W without R is reserved: load page fault ...
    li gp, 6
    la a0, 2f
    li a1, MODE_S
    j goto_mode
2:
    li s11, CAUSE_LOAD_PAGE_FAULT
    la s10, 1f
    li t0, PAGE_WO
    lw t1, 0(t0)
    j fail
1:
    li t0, PAGE_WO
    bne s4, t0, fail

    # ---- 7: ... and store page fault.
    li gp, 7
    la a0, 2f
    li a1, MODE_S
    j goto_mode
2:
    li s11, CAUSE_STORE_PAGE_FAULT
    la s10, 1f
    li t0, PAGE_WO
    sw t1, 0(t0)
    j fail
1:

    # ---- 8: a misaligned megapage (PPN[0] not zero) is a page fault.
    li gp, 8
    la a0, 2f
    li a1, MODE_S
    j goto_mode
2:
    li s11, CAUSE_LOAD_PAGE_FAULT
    la s10, 1f
    li t0, MEGA_MISALIGNED + 0x10
    lw t1, 0(t0)
    j fail
1:
    li t0, MEGA_MISALIGNED + 0x10
    bne s4, t0, fail

    # ---- 9: a level-0 PTE that is a pointer (V, no R/W/X) is a page fault.
    li gp, 9
    la a0, 2f
    li a1, MODE_S
    j goto_mode
2:
    li s11, CAUSE_LOAD_PAGE_FAULT
    la s10, 1f
    li t0, PAGE_POINTER
    lw t1, 0(t0)
    j fail
1:

    # ---- 10: fetching from a page without X: instruction page fault, mepc = mtval =
    # the target.
    li gp, 10
    la a0, 2f
    li a1, MODE_S
    j goto_mode
2:
    li s11, CAUSE_FETCH_PAGE_FAULT
    la s10, 1f
    li t0, PAGE_NOEXEC
    jr t0
    j fail
1:
    li t0, PAGE_NOEXEC
    bne s3, t0, fail
    bne s4, t0, fail

    # ---- 11: S-mode may not load from a U page while SUM = 0.
    li gp, 11
    csrw mstatus, zero
    la a0, 2f
    li a1, MODE_S
    j goto_mode
2:
    li s11, CAUSE_LOAD_PAGE_FAULT
    la s10, 1f
    li t0, PAGE_USER
    lw t1, 0(t0)
    j fail
1:
    li t0, PAGE_USER
    bne s4, t0, fail

    # ---- 12: with SUM = 1 it may load and store there.
    li gp, 12
    li t0, MSTATUS_SUM
    csrs mstatus, t0
    la a0, 2f
    li a1, MODE_S
    j goto_mode
2:
    li t0, PAGE_USER
    lw t1, 0(t0)
    li t2, MAGIC1
    bne t1, t2, fail
    sw t1, 16(t0)
    # ---- 13: ... but never execute from a U page, SUM or not.
    li gp, 13
    li s11, CAUSE_FETCH_PAGE_FAULT
    la s10, 1f
    li t0, PAGE_UCODE
    jr t0
    j fail
1:
    li t0, PAGE_UCODE
    bne s4, t0, fail
    csrw mstatus, zero

    # ---- 14: U-mode runs code from its U page and loads from a U page.
    li gp, 14
    li a3, PAGE_USER
    li a2, 0
    li s11, CAUSE_USER_ECALL
    la s10, 1f
    li a0, PAGE_UCODE
    li a1, MODE_U
    j goto_mode
1:
    li t0, MAGIC1
    bne a2, t0, fail

    # ---- 15: U-mode may not load from a page without U: load page fault, mepc = the
    # load at the user code's virtual address.
    li gp, 15
    li a3, PAGE_RW
    li s11, CAUSE_LOAD_PAGE_FAULT
    la s10, 1f
    li a0, PAGE_UCODE
    li a1, MODE_U
    j goto_mode
1:
    li t0, PAGE_UCODE
    bne s3, t0, fail
    li t0, PAGE_RW
    bne s4, t0, fail

    # ---- 16: U-mode may not run code from a page without U (the program's megapage).
    li gp, 16
    li s11, CAUSE_FETCH_PAGE_FAULT
    la s10, 1f
    la a0, user_in_supervisor_page
    li a1, MODE_U
    j goto_mode
user_in_supervisor_page:
    j fail
1:
    la t0, user_in_supervisor_page
    bne s4, t0, fail

    # ---- 17: an execute-only page does not load while MXR = 0 ...
    li gp, 17
    la a0, 2f
    li a1, MODE_S
    j goto_mode
2:
    li s11, CAUSE_LOAD_PAGE_FAULT
    la s10, 1f
    li t0, PAGE_XO
    lw t1, 0(t0)
    j fail
1:

    # ---- 18: ... and loads with MXR = 1 (stores still fault).
    li gp, 18
    li t0, MSTATUS_MXR
    csrs mstatus, t0
    la a0, 2f
    li a1, MODE_S
    j goto_mode
2:
    li t0, PAGE_XO
    lw t1, 0(t0)
    li t2, MAGIC1
    bne t1, t2, fail
    li s11, CAUSE_STORE_PAGE_FAULT
    la s10, 1f
    sw t1, 0(t0)
    j fail
1:
    csrw mstatus, zero

    # ---- 19..21: accessed and dirty bits: the hardware sets A on the first access and D
    # on the first store (the PTE starts with both clear).
    li gp, 19
    la a0, 2f
    li a1, MODE_S
    j goto_mode
2:
    la a4, second_level_table
    lw t0, 5*4(a4)              # the PTE of PAGE_AD
    andi t1, t0, PTE_A | PTE_D
    bnez t1, fail
    li t0, PAGE_AD
    lw t1, 0(t0)
    li t2, MAGIC1
    bne t1, t2, fail
    li gp, 20
    lw t0, 5*4(a4)
    andi t1, t0, PTE_A
    beqz t1, fail
    andi t1, t0, PTE_D
    bnez t1, fail
    li gp, 21
    li t0, PAGE_AD
    sw t2, 20(t0)
    lw t0, 5*4(a4)
    andi t1, t0, PTE_D
    beqz t1, fail

    # ---- 22: after S-mode rewrites a PTE and executes SFENCE.VMA for that address, the
    # new mapping is used.
    li gp, 22
    li t0, PAGE_REMAP
    lw t1, 0(t0)
    li t2, MAGIC1
    bne t1, t2, fail
    la t3, data_page2
    srli t3, t3, 2
    ori t3, t3, PTE_V | PTE_R | PTE_W | PTE_A | PTE_D
    sw t3, 9*4(a4)
    sfence.vma t0, zero
    lw t1, 0(t0)
    li t2, MAGIC2
    bne t1, t2, fail

    # ---- 23: S-mode switches satp to a second page table, which maps PAGE_RW to
    # data_page2, and back.
    li gp, 23
    csrr s6, satp
    la t0, second_root_table
    srli t0, t0, 12
    li t1, SATP_SV32
    or t0, t0, t1
    csrw satp, t0
    sfence.vma zero, zero
    li t0, PAGE_RW
    lw t1, 0(t0)
    li t2, MAGIC2
    bne t1, t2, fail
    csrw satp, s6
    sfence.vma zero, zero
    lw t1, 0(t0)
    li t2, MAGIC1
    bne t1, t2, fail
    li s11, CAUSE_SUPERVISOR_ECALL
    la s10, 1f
    ecall
1:

    # ---- 24: M-mode with MPRV = 1 and MPP = S loads through the page tables.
    li gp, 24
    li t0, MSTATUS_MPRV | MSTATUS_MPP_S
    csrs mstatus, t0
    li t0, PAGE_RW
    lw t1, 0(t0)
    li t0, MSTATUS_MPRV
    csrc mstatus, t0
    li t2, MAGIC1
    bne t1, t2, fail

    # ---- 25: with MPRV = 1 and MPP = U, the same load is a U-mode access to a page
    # without U: load page fault, taken in M-mode.
    li gp, 25
    csrw mstatus, zero
    li t0, MSTATUS_MPRV
    csrs mstatus, t0            # MPP = U
    li s11, CAUSE_LOAD_PAGE_FAULT
    la s10, 1f
    li t0, PAGE_RW
    lw t1, 0(t0)
    j fail
1:
    li t0, PAGE_RW
    bne s4, t0, fail
    csrw mstatus, zero

    # ---- 26: a load page fault delegated with medeleg goes to S-mode: scause = 13,
    # stval = the address, sepc = the load.
    li gp, 26
    la t0, strap_vector
    csrw stvec, t0
    li t0, 1 << CAUSE_LOAD_PAGE_FAULT
    csrw medeleg, t0
    la a0, 2f
    li a1, MODE_S
    j goto_mode
2:
    li s11, CAUSE_LOAD_PAGE_FAULT
    la s10, 1f
    li t0, PAGE_INVALID
delegated_load:
    lw t1, 4(t0)
    j fail
1:                              # in S-mode
    la t0, delegated_load
    bne s3, t0, fail
    li t0, PAGE_INVALID + 4
    bne s4, t0, fail
    li s11, CAUSE_SUPERVISOR_ECALL
    la s10, 1f
    ecall
1:
    csrw medeleg, zero
    csrw satp, zero
    j pass

# build_page_tables: fill in the tables (all of .bss starts zeroed, so unused entries are
# invalid) and the magic words of the two data pages.
build_page_tables:
    la t0, data_page
    li t1, MAGIC1
    sw t1, 0(t0)
    la t0, data_page2
    li t1, MAGIC2
    sw t1, 0(t0)

    # Root table: the program's megapage at its own address (VPN[1] = 0x200), and
    # entries for 0x40000000 (VPN[1] = 0x100), 0x40400000 (0x101), 0x40800000 (0x102).
    la a0, root_table
    li t0, 0x80000000 >> 2
    ori t0, t0, PTE_V | PTE_R | PTE_W | PTE_X | PTE_A | PTE_D
    li t1, 0x200 * 4
    add t1, a0, t1
    sw t0, 0(t1)
    la t0, second_level_table
    srli t0, t0, 2
    ori t0, t0, PTE_V
    sw t0, 0x100 * 4(a0)
    li t0, 0x80001000 >> 2
    ori t0, t0, PTE_V | PTE_R | PTE_W | PTE_A | PTE_D
    sw t0, 0x101 * 4(a0)
    li t0, 0x80000000 >> 2
    ori t0, t0, PTE_V | PTE_R | PTE_W | PTE_A | PTE_D
    sw t0, 0x102 * 4(a0)

    # The second-level table for 0x40000000..
    la a0, second_level_table
    la a1, data_page
    srli a1, a1, 2
    la a2, user_code
    srli a2, a2, 2
    ori t0, a1, PTE_V | PTE_R | PTE_W | PTE_A | PTE_D
    sw t0, 0*4(a0)
    ori t0, a1, PTE_V | PTE_R | PTE_A
    sw t0, 1*4(a0)
    ori t0, a1, PTE_V | PTE_U | PTE_R | PTE_W | PTE_A | PTE_D
    sw t0, 2*4(a0)
    ori t0, a1, PTE_V | PTE_X | PTE_A
    sw t0, 3*4(a0)
    ori t0, a1, PTE_R | PTE_W | PTE_A | PTE_D
    sw t0, 4*4(a0)
    ori t0, a1, PTE_V | PTE_R | PTE_W
    sw t0, 5*4(a0)
    ori t0, a1, PTE_V | PTE_W | PTE_A | PTE_D
    sw t0, 6*4(a0)
    ori t0, a2, PTE_V | PTE_U | PTE_R | PTE_X | PTE_A
    sw t0, 7*4(a0)
    ori t0, a2, PTE_V | PTE_R | PTE_W | PTE_A | PTE_D
    sw t0, 8*4(a0)
    ori t0, a1, PTE_V | PTE_R | PTE_W | PTE_A | PTE_D
    sw t0, 9*4(a0)
    ori t0, a1, PTE_V
    sw t0, 10*4(a0)

    # The second root table: the same program megapage, and 0x40000000 through a table
    # whose first page is data_page2.
    la a0, second_root_table
    li t0, 0x80000000 >> 2
    ori t0, t0, PTE_V | PTE_R | PTE_W | PTE_X | PTE_A | PTE_D
    li t1, 0x200 * 4
    add t1, a0, t1
    sw t0, 0(t1)
    la t0, second_root_leaf_table
    srli t0, t0, 2
    ori t0, t0, PTE_V
    sw t0, 0x100 * 4(a0)
    la a0, second_root_leaf_table
    la t0, data_page2
    srli t0, t0, 2
    ori t0, t0, PTE_V | PTE_R | PTE_W | PTE_A | PTE_D
    sw t0, 0(a0)
    ret

# The user code page: U-mode runs it at PAGE_UCODE. It loads the word at a3 into a2 and
# returns to M-mode with ECALL.
    .balign 4096
user_code:
    lw a2, 0(a3)
    ecall
    j user_code
    .balign 4096

    .bss
    .balign 4096
root_table:
    .space 4096
second_level_table:
    .space 4096
second_root_table:
    .space 4096
second_root_leaf_table:
    .space 4096
data_page:
    .space 4096
data_page2:
    .space 4096
