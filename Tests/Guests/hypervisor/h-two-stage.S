# h-two-stage.S: two-stage address translation of the hypervisor extension. While V=1 a
# guest virtual address goes through the VS-stage (Sv32, vsatp: the guest's tables, whose
# own addresses are guest-physical) and then the G-stage (Sv32x4, hgatp: 16 KiB root, two
# more guest-physical bits). Checked: loads and stores through both stages, a 34-bit
# guest-physical address, guest-page faults for loads, stores and fetches (causes 21, 23,
# 20) with stval = the guest virtual address and htval/mtval2 = the guest-physical address
# >> 2, a G-stage leaf without U, a guest-page fault on the VS-stage's own PTE read, a
# VS-stage page fault delegated to the guest with hedeleg, the hardware A bit in both
# stages, HFENCE.GVMA after a G-stage change, and HLV/HSV (the hypervisor reading and writing
# guest memory as the guest sees it). (Guest-physical addresses above 4 GiB,
# which Sv32x4's two extra bits allow, are checked in HypervisorExtensionTests: QEMU 7.2
# truncates them to 32 bits on RV32.)
#
# Machine memory: the program's first 4 MiB at 0x80000000. The G-stage maps guest-physical
# 0x80000000 (4 MiB) to itself, so the guest runs this code at the same addresses and its
# VS-stage tables (in .bss) have guest-physical = machine addresses.
#
#   guest VA     VS-stage -> guest PA      G-stage -> machine
#   0x80000000   megapage    0x80000000    megapage, U RWX      -> 0x80000000
#   0x40000000   4 KiB RW    0x10000000    4 KiB U RW           -> data_page
#   0x40001000   4 KiB RW    0x20000000    (nothing)            guest-page fault
#   0x40002000   4 KiB RW    0x10001000    4 KiB U R            -> data_page (read-only)
#   0x40003000   4 KiB RW    0x10003000    4 KiB U RW, A = 0    -> data_page2
#   0x40004000   4 KiB RW    0x10002000    4 KiB RW without U   guest-page fault
#   0x40005000   V = 0                                          VS-stage page fault
#   0x40006000   4 KiB RX    0x20000000    (nothing)            fetch guest-page fault
#   0x40007000   4 KiB RW, A = D = 0       0x10000000           -> data_page
#   0x40400000   table at    0x30000000    (nothing)            guest-page fault on the PTE read
    .include "../privileged/harness.inc"
    .include "h-harness.inc"

    .equ PTE_V, 0x01
    .equ PTE_R, 0x02
    .equ PTE_W, 0x04
    .equ PTE_X, 0x08
    .equ PTE_U, 0x10
    .equ PTE_A, 0x40
    .equ PTE_D, 0x80
    .equ SATP_SV32, 0x80000000
    .equ HGATP_SV32X4, 0x80000000

    .equ MAGIC1, 0x11111111
    .equ MAGIC2, 0x22222222

run_tests:
    call h_setup
    # ---- 1: the extension is there.
    li gp, 1
    csrr t0, misa
    andi t0, t0, 1 << 7
    beqz t0, fail
    call build_tables
    la t0, g_root
    srli t0, t0, 12
    li t1, HGATP_SV32X4
    or t0, t0, t1
    csrw hgatp, t0
    la t0, vs_root
    srli t0, t0, 12
    li t1, SATP_SV32
    or t0, t0, t1
    csrw vsatp, t0
    hfence.gvma
    hfence.vvma

    # ---- 2: a VS-mode load and store through both stages reach data_page.
    li gp, 2
    la a0, 2f
    li a1, MODE_S
    j goto_guest
2:
    li t0, 0x40000000
    lw t1, 0(t0)
    li t2, MAGIC1
    bne t1, t2, fail
    li t2, 0x5a5a5a5a
    sw t2, 4(t0)
    li s11, CAUSE_VS_ECALL
    la s10, 1f
    ecall
1:
    la t0, data_page
    lw t1, 4(t0)
    li t2, 0x5a5a5a5a
    bne t1, t2, fail

    # ---- 3: a second G-stage page reaches data_page2, and the G-stage leaf's A bit is
    # set by the access.
    li gp, 3
    la a0, 2f
    li a1, MODE_S
    j goto_guest
2:
    li t0, 0x40003000
    lw t1, 0(t0)
    li t2, MAGIC2
    bne t1, t2, fail
    li s11, CAUSE_VS_ECALL
    la s10, 1f
    ecall
1:
    la t0, g_level0
    lw t1, 3*4(t0)
    andi t1, t1, PTE_A
    beqz t1, fail

    # ---- 4: a load from a guest-physical page the G-stage does not map: load guest-page
    # fault in M-mode, mtval = the guest virtual address, mtval2 = guest-physical >> 2,
    # mstatush.MPV = mstatush.GVA = 1.
    li gp, 4
    la a0, 2f
    li a1, MODE_S
    j goto_guest
2:
    li s11, CAUSE_LOAD_GUEST_PAGE_FAULT
    la s10, 1f
    li t0, 0x40001000
    lw t1, 8(t0)
    j fail
1:
    li t0, 0x40001008
    bne s4, t0, fail
    li t0, 0x20000008 >> 2
    bne s8, t0, fail
    li t0, MSTATUSH_MPV | MSTATUSH_GVA
    and t1, s6, t0
    bne t1, t0, fail

    # ---- 5: the same fault delegated to HS-mode (medeleg): scause 21, stval, htval,
    # hstatus.SPV = GVA = 1 and SPVP = 1 (from VS-mode).
    li gp, 5
    li t0, 1 << CAUSE_LOAD_GUEST_PAGE_FAULT
    csrw medeleg, t0
    la t0, hstrap_vector
    csrw stvec, t0
    la a0, 2f
    li a1, MODE_S
    j goto_guest
2:
    li s11, CAUSE_LOAD_GUEST_PAGE_FAULT
    la s10, 1f
    li t0, 0x40001000
    lw t1, 0x10(t0)
    j fail
1:  # HS-mode
    li t0, 0x40001010
    bne s4, t0, fail
    li t0, 0x20000010 >> 2
    bne s6, t0, fail
    li t0, HSTATUS_SPV | HSTATUS_SPVP | HSTATUS_GVA
    and t1, s7, t0
    bne t1, t0, fail
    li s11, CAUSE_SUPERVISOR_ECALL
    la s10, 1f
    ecall
1:
    csrw medeleg, zero

    # ---- 6: a G-stage page without W: loads work, a store is a store guest-page fault.
    li gp, 6
    la a0, 2f
    li a1, MODE_S
    j goto_guest
2:
    li t0, 0x40002000
    lw t1, 0(t0)
    li t2, MAGIC1
    bne t1, t2, fail
    li s11, CAUSE_STORE_GUEST_PAGE_FAULT
    la s10, 1f
    sw t1, 12(t0)
    j fail
1:
    li t0, 0x4000200c
    bne s4, t0, fail
    li t0, 0x1000100c >> 2
    bne s8, t0, fail

    # ---- 7: a G-stage leaf without U is a guest-page fault (every G-stage access counts
    # as a U-mode access).
    li gp, 7
    la a0, 2f
    li a1, MODE_S
    j goto_guest
2:
    li s11, CAUSE_LOAD_GUEST_PAGE_FAULT
    la s10, 1f
    li t0, 0x40004000
    lw t1, 0(t0)
    j fail
1:
    li t0, 0x10002000 >> 2
    bne s8, t0, fail

    # ---- 8: the VS-stage's level-0 table for 0x40400000 sits at a guest-physical address
    # the G-stage does not map: a load guest-page fault whose mtval2 is the PTE's
    # guest-physical address >> 2, and whose mtval is the guest virtual address.
    li gp, 8
    la a0, 2f
    li a1, MODE_S
    j goto_guest
2:
    li s11, CAUSE_LOAD_GUEST_PAGE_FAULT
    la s10, 1f
    li t0, 0x40400000
    lw t1, 0(t0)
    j fail
1:
    li t0, 0x40400000
    bne s4, t0, fail
    li t0, 0x30000000 >> 2
    bne s8, t0, fail

    # ---- 9: fetching from a guest-physical page the G-stage does not map: instruction
    # guest-page fault, mepc = mtval = the guest virtual address.
    li gp, 9
    la a0, 2f
    li a1, MODE_S
    j goto_guest
2:
    li s11, CAUSE_FETCH_GUEST_PAGE_FAULT
    la s10, 1f
    li t0, 0x40006000
    jr t0
    j fail
1:
    li t0, 0x40006000
    bne s3, t0, fail
    bne s4, t0, fail
    li t0, 0x20000000 >> 2
    bne s8, t0, fail

    # ---- 10: a VS-stage page fault, delegated with medeleg and hedeleg, goes to the
    # guest's own handler (vstvec) with scause 13 and stval = the address.
    li gp, 10
    li t0, 1 << CAUSE_LOAD_PAGE_FAULT
    csrw medeleg, t0
    csrw hedeleg, t0
    la t0, strap_vector
    csrw vstvec, t0
    la a0, 2f
    li a1, MODE_S
    j goto_guest
2:
    li s11, CAUSE_LOAD_PAGE_FAULT
    la s10, 3f
    li t0, 0x40005000
    lw t1, 4(t0)
    j fail
3:  # still in the guest
    li t0, 0x40005004
    bne s4, t0, fail
    li s11, CAUSE_VS_ECALL
    la s10, 1f
    ecall
1:
    csrw medeleg, zero
    csrw hedeleg, zero

    # ---- 11: the VS-stage PTE's A bit is set by the hardware, in the guest's table.
    li gp, 11
    la a0, 2f
    li a1, MODE_S
    j goto_guest
2:
    li t0, 0x40007000
    lw t1, 0(t0)
    li s11, CAUSE_VS_ECALL
    la s10, 1f
    ecall
1:
    la t0, vs_level0
    lw t1, 7*4(t0)
    andi t1, t1, PTE_A
    beqz t1, fail

    # ---- 12: after the G-stage maps guest-physical 0x10000000 to data_page2 instead,
    # HFENCE.GVMA makes the guest see the new page at the same virtual address.
    li gp, 12
    la t0, g_level0
    la t1, data_page2
    srli t1, t1, 2
    ori t1, t1, PTE_V | PTE_U | PTE_R | PTE_W | PTE_A | PTE_D
    sw t1, 0(t0)
    hfence.gvma
    la a0, 2f
    li a1, MODE_S
    j goto_guest
2:
    li t0, 0x40000000
    lw t1, 0(t0)
    li t2, MAGIC2
    bne t1, t2, fail
    li s11, CAUSE_VS_ECALL
    la s10, 1f
    ecall
1:

    # ---- 13: HLV.W from M-mode reads guest memory through both stages, as the guest's S-mode
    # would (hstatus.SPVP = 1); HSV.W writes it.
    li gp, 13
    li t0, HSTATUS_SPVP
    csrs hstatus, t0
    li t0, 0x40000000
    hlv.w t1, (t0)
    li t2, MAGIC2
    bne t1, t2, fail
    li t2, 0x77
    hsv.w t2, (t0)
    la t3, data_page2
    lw t4, 0(t3)
    bne t4, t2, fail
    hlv.bu t1, (t0)
    bne t1, t2, fail

    # ---- 14: an HLV whose guest-physical page the G-stage does not map: a load guest-page
    # fault taken from M-mode (MPV = 0) whose mtval is a guest virtual address (GVA = 1).
    li gp, 14
    li s11, CAUSE_LOAD_GUEST_PAGE_FAULT
    la s10, 1f
    li t0, 0x40001000
    hlv.w t1, (t0)
    j fail
1:
    li t0, 0x40001000
    bne s4, t0, fail
    li t0, 0x20000000 >> 2
    bne s8, t0, fail
    li t0, MSTATUSH_MPV | MSTATUSH_GVA
    and t1, s6, t0
    li t2, MSTATUSH_GVA
    bne t1, t2, fail

    # ---- 15: HLV in VS-mode is a virtual-instruction exception.
    li gp, 15
    la a0, 2f
    li a1, MODE_S
    j goto_guest
2:
    li s11, CAUSE_VIRTUAL_INSTRUCTION
    la s10, 1f
    li t0, 0x40000000
    hlv.w t1, (t0)
    j fail
1:
    csrw hstatus, zero
    csrw hgatp, zero
    csrw vsatp, zero
    j pass

# build_tables: fill in the G-stage and VS-stage tables (.bss starts zeroed, so every
# other entry is invalid) and the magic words.
build_tables:
    la t0, data_page
    li t1, MAGIC1
    sw t1, 0(t0)
    la t0, data_page2
    li t1, MAGIC2
    sw t1, 0(t0)

    # G-stage root (4096 entries): 0x80000000 -> itself (index 0x200), 0x10000000
    # (index 0x40) -> g_level0.
    la a0, g_root
    li t0, 0x80000000 >> 2
    ori t0, t0, PTE_V | PTE_U | PTE_R | PTE_W | PTE_X | PTE_A | PTE_D
    li t1, 0x200 * 4
    add t1, a0, t1
    sw t0, 0(t1)
    la t0, g_level0
    srli t0, t0, 2
    ori t0, t0, PTE_V
    sw t0, 0x40 * 4(a0)
    # G-stage level 0 for guest-physical 0x10000000..
    la a0, g_level0
    la a1, data_page
    srli a1, a1, 2
    ori t0, a1, PTE_V | PTE_U | PTE_R | PTE_W | PTE_A | PTE_D
    sw t0, 0*4(a0)
    ori t0, a1, PTE_V | PTE_U | PTE_R | PTE_A
    sw t0, 1*4(a0)
    ori t0, a1, PTE_V | PTE_R | PTE_W | PTE_A | PTE_D
    sw t0, 2*4(a0)
    la t0, data_page2
    srli t0, t0, 2
    ori t0, t0, PTE_V | PTE_U | PTE_R | PTE_W
    sw t0, 3*4(a0)

    # VS-stage root: 0x80000000 megapage (no U: VS-mode code), 0x40000000 -> vs_level0,
    # 0x40400000 -> a table at guest-physical 0x30000000.
    la a0, vs_root
    li t0, 0x80000000 >> 2
    ori t0, t0, PTE_V | PTE_R | PTE_W | PTE_X | PTE_A | PTE_D
    li t1, 0x200 * 4
    add t1, a0, t1
    sw t0, 0(t1)
    la t0, vs_level0
    srli t0, t0, 2
    ori t0, t0, PTE_V
    sw t0, 0x100 * 4(a0)
    li t0, (0x30000000 >> 2) | PTE_V
    sw t0, 0x101 * 4(a0)
    # VS-stage level 0 for 0x40000000..
    la a0, vs_level0
    li t0, (0x10000000 >> 2) | PTE_V | PTE_R | PTE_W | PTE_A | PTE_D
    sw t0, 0*4(a0)
    li t0, (0x20000000 >> 2) | PTE_V | PTE_R | PTE_W | PTE_A | PTE_D
    sw t0, 1*4(a0)
    li t0, (0x10001000 >> 2) | PTE_V | PTE_R | PTE_W | PTE_A | PTE_D
    sw t0, 2*4(a0)
    li t0, (0x10003000 >> 2) | PTE_V | PTE_R | PTE_W | PTE_A | PTE_D
    sw t0, 3*4(a0)
    li t0, (0x10002000 >> 2) | PTE_V | PTE_R | PTE_W | PTE_A | PTE_D
    sw t0, 4*4(a0)
    li t0, (0x20000000 >> 2) | PTE_V | PTE_R | PTE_X | PTE_A
    sw t0, 6*4(a0)
    li t0, (0x10000000 >> 2) | PTE_V | PTE_R | PTE_W
    sw t0, 7*4(a0)
    ret

    .bss
    .balign 16384
g_root:
    .space 16384
g_level0:
    .space 4096
vs_root:
    .space 4096
vs_level0:
    .space 4096
data_page:
    .space 4096
data_page2:
    .space 4096
