# h-csr.S: the hypervisor extension's modes, CSRs and trap routing (privileged spec, H
# chapter): misa.H, entering VS- and VU-mode with MRET (mstatush.MPV) and SRET
# (hstatus.SPV), the VS CSRs standing in for the supervisor CSRs while V=1, delegation of
# exceptions with hedeleg and of virtual interrupts with hideleg/hvip (reported to VS-mode
# with the supervisor codes), traps from V=1 into HS-mode (hstatus.SPV/SPVP), and the
# virtual-instruction exception (hypervisor CSRs from VS, WFI with VTW, SFENCE.VMA and
# satp with VTVM, HFENCE from VS, SRET with VTSR).
#
# Needs a hart with H: VirtLab with MachineConfiguration.hypervisorExtension, QEMU with
# -cpu rv32,h=true. Paging stays off (vsatp = hgatp = 0), so guest addresses are machine
# addresses; h-two-stage.S tests translation.
    .include "../privileged/harness.inc"
    .include "h-harness.inc"

    .equ MAGIC_HS, 0x11110000
    .equ MAGIC_VS, 0x22220000
    .equ MAGIC_GUEST, 0x33330000

run_tests:
    call h_setup
    # ---- 1: misa.H is set.
    li gp, 1
    csrr t0, misa
    li t1, 1 << 7
    and t0, t0, t1
    beqz t0, fail

    # ---- 2: the supervisor CSRs and their VS copies are separate registers; at V=0 the
    # supervisor names reach the HS ones.
    li gp, 2
    li t0, MAGIC_HS
    csrw sscratch, t0
    li t0, MAGIC_VS
    csrw vsscratch, t0
    csrr t1, sscratch
    li t0, MAGIC_HS
    bne t1, t0, fail
    csrr t1, vsscratch
    li t0, MAGIC_VS
    bne t1, t0, fail

    # ---- 3: in VS-mode, sscratch is vsscratch: it reads the VS value, and a write lands
    # in vsscratch while the HS sscratch keeps its value. The guest's ECALL (cause 10) goes
    # to M-mode first, then (delegated with medeleg) to HS-mode, where the HS view is checked.
    li gp, 3
    la a0, 2f
    li a1, MODE_S
    j goto_guest
2:
    csrr s9, sscratch
    li t0, MAGIC_GUEST
    csrw sscratch, t0
    li s11, CAUSE_VS_ECALL
    la s10, 1f
    ecall
1:
    li t0, MAGIC_VS
    bne s9, t0, fail
    csrr t1, vsscratch
    li t0, MAGIC_GUEST
    bne t1, t0, fail
    csrr t1, sscratch
    li t0, MAGIC_HS
    bne t1, t0, fail
    # An ECALL from VS-mode has its own cause (10), and M-mode sees the guest in MPV and
    # its nominal privilege (S) in MPP.
    andi t0, s6, MSTATUSH_MPV
    beqz t0, fail
    li t0, MSTATUS_MPP
    and t0, s5, t0
    li t1, MSTATUS_MPP_S
    bne t0, t1, fail
    # Again, trapping to HS-mode this time.
    li t0, 1 << CAUSE_VS_ECALL
    csrw medeleg, t0
    la t0, hstrap_vector
    csrw stvec, t0
    la a0, 2f
    li a1, MODE_S
    j goto_guest
2:
    li t0, MAGIC_GUEST + 1
    csrw sscratch, t0
    li s11, CAUSE_VS_ECALL
    la s10, 1f
    ecall
1:  # HS-mode
    csrr t1, sscratch
    li t0, MAGIC_HS
    bne t1, t0, fail
    csrr t1, vsscratch
    li t0, MAGIC_GUEST + 1
    bne t1, t0, fail
    li s11, CAUSE_SUPERVISOR_ECALL
    la s10, 1f
    ecall
1:
    csrw medeleg, zero

    # ---- 4: sstatus in VS-mode is vsstatus: setting SUM there leaves the HS sstatus alone
    # (checked in HS-mode, as above).
    li gp, 4
    csrw vsstatus, zero
    li t0, MSTATUS_SUM
    csrc mstatus, t0
    li t0, 1 << CAUSE_VS_ECALL
    csrw medeleg, t0
    la t0, hstrap_vector
    csrw stvec, t0
    la a0, 2f
    li a1, MODE_S
    j goto_guest
2:
    li t0, MSTATUS_SUM
    csrs sstatus, t0
    li s11, CAUSE_VS_ECALL
    la s10, 1f
    ecall
1:  # HS-mode
    csrr t0, vsstatus
    li t1, MSTATUS_SUM
    and t0, t0, t1
    beqz t0, fail
    csrr t0, sstatus
    and t0, t0, t1
    bnez t0, fail
    li s11, CAUSE_SUPERVISOR_ECALL
    la s10, 1f
    ecall
1:
    csrw medeleg, zero
    csrw vsstatus, zero

    # ---- 5: hedeleg sends an exception from V=1 to VS-mode: an ECALL from VU-mode goes to
    # the guest's vstvec with vscause = 8, vsepc = the ECALL, vsstatus.SPP = 0 (from VU).
    li gp, 5
    li t0, 1 << CAUSE_USER_ECALL
    csrw medeleg, t0
    csrw hedeleg, t0
    la t0, strap_vector
    csrw vstvec, t0
    la a0, 2f
    li a1, MODE_U
    j goto_guest
2:
    li s11, CAUSE_USER_ECALL
    la s10, 3f
vu_ecall:
    ecall
    j fail
3:  # now in VS-mode (the harness's S-mode handler continues in S-mode: VS here)
    la t0, vu_ecall
    bne s3, t0, fail
    li t0, MSTATUS_SPP
    and t0, s5, t0
    bnez t0, fail
    li s11, CAUSE_VS_ECALL
    la s10, 1f
    ecall
1:
    csrr t0, vscause
    li t1, CAUSE_USER_ECALL
    bne t0, t1, fail
    csrw medeleg, zero
    csrw hedeleg, zero

    # ---- 6: without hedeleg, the same exception goes to HS-mode: scause = 8,
    # hstatus.SPV = 1 (from a guest), hstatus.SPVP = 0 (from VU), and SRET at V=0 goes
    # back into the guest (V = SPV).
    li gp, 6
    li t0, 1 << CAUSE_USER_ECALL
    csrw medeleg, t0
    la t0, hstrap_vector_return_to_guest
    csrw stvec, t0
    la a0, 2f
    li a1, MODE_U
    j goto_guest
2:
    li s11, CAUSE_USER_ECALL
    la s10, 3f
    ecall
    j fail
3:  # back in the guest (VU-mode): a hypervisor CSR is out of reach, so reading one traps
    # (virtual instruction from VU-mode, to M since medeleg does not delegate 22)
    li s11, CAUSE_VIRTUAL_INSTRUCTION
    la s10, 1f
    csrr t0, hstatus
    j fail
1:
    andi t1, s6, MSTATUSH_MPV
    beqz t1, fail            # the virtual-instruction trap came from V=1 ...
    li t0, MSTATUS_MPP
    and t0, s5, t0
    bnez t0, fail            # ... in VU-mode
    li t0, HSTATUS_SPV
    and t0, s7, t0
    beqz t0, fail            # the HS trap had SPV = 1
    li t0, HSTATUS_SPVP
    and t0, s7, t0
    bnez t0, fail            # and SPVP = 0 (VU)
    csrw medeleg, zero

    # ---- 7: a hypervisor CSR from VS-mode is a virtual-instruction exception, tval = the
    # instruction; an M-mode CSR from VS-mode is an illegal instruction.
    li gp, 7
    la a0, 2f
    li a1, MODE_S
    j goto_guest
2:
    li s11, CAUSE_VIRTUAL_INSTRUCTION
    la s10, 1f
read_hgatp:
    csrr t0, hgatp
    j fail
1:
    la t0, read_hgatp
    lw t0, 0(t0)
    bne s4, t0, fail
    la a0, 2f
    li a1, MODE_S
    j goto_guest
2:
    li s11, CAUSE_ILLEGAL_INSTRUCTION
    la s10, 1f
    csrr t0, mscratch
    j fail
1:

    # ---- 8: WFI in VS-mode with hstatus.VTW, SFENCE.VMA with VTVM, SRET with
    # VTSR, and HFENCE.GVMA in VS-mode: virtual-instruction exceptions.
    li gp, 8
    li t0, HSTATUS_VTW | HSTATUS_VTVM | HSTATUS_VTSR
    csrw hstatus, t0
    la a0, 2f
    li a1, MODE_S
    j goto_guest
2:
    li s11, CAUSE_VIRTUAL_INSTRUCTION
    la s10, 3f
    wfi
    j fail
3:  li gp, 9
    la a0, 2f
    li a1, MODE_S
    j goto_guest
2:
    li s11, CAUSE_VIRTUAL_INSTRUCTION
    la s10, 3f
    sfence.vma
    j fail
3:  # (10: satp from VS-mode with VTVM, a virtual-instruction exception by the spec, is
    # checked in HypervisorExtensionTests: QEMU 7.2 lets the access through.)
    li gp, 11
    la a0, 2f
    li a1, MODE_S
    j goto_guest
2:
    li s11, CAUSE_VIRTUAL_INSTRUCTION
    la s10, 3f
    sret
    j fail
3:  li gp, 12
    la a0, 2f
    li a1, MODE_S
    j goto_guest
2:
    li s11, CAUSE_VIRTUAL_INSTRUCTION
    la s10, 3f
    hfence.gvma
    j fail
3:
    csrw hstatus, zero

    # ---- 13: without VTVM, VS-mode's satp is vsatp, and SFENCE.VMA is allowed.
    li gp, 13
    csrw vsatp, zero
    la a0, 2f
    li a1, MODE_S
    j goto_guest
2:
    li t0, 0x00012345        # MODE = Bare: a legal value that leaves translation off
    csrw satp, t0
    sfence.vma
    li s11, CAUSE_VS_ECALL
    la s10, 1f
    ecall
1:
    csrr t0, satp
    bnez t0, fail
    csrr t0, vsatp
    li t1, 0x00012345
    bne t0, t1, fail
    csrw vsatp, zero

    # ---- 14: a virtual supervisor software interrupt (hvip.VSSIP) delegated with hideleg
    # is taken in VS-mode as a supervisor software interrupt (scause 0x80000001); vsip and
    # vsie show it at the supervisor positions.
    li gp, 14
    li t0, IRQ_VS_SOFT_BIT
    csrw hideleg, t0
    csrw hie, t0
    csrw hvip, t0
    csrr t1, vsip
    li t2, 1 << IRQ_S_SOFT
    bne t1, t2, fail
    csrr t1, vsie
    bne t1, t2, fail
    la t0, strap_vector
    csrw vstvec, t0
    csrw vsstatus, zero
    la a0, 2f
    li a1, MODE_S
    j goto_guest
2:
    li s11, CAUSE_S_SOFT_INTERRUPT
    la s10, 1f
    csrsi sstatus, MSTATUS_SIE   # enables VS interrupts: vsstatus.SIE
1:  li gp, 15
    # Still pending in VS-mode with SIE off: it waits. Back to M by ECALL.
    li s11, CAUSE_VS_ECALL
    la s10, 1f
    ecall
1:
    csrr t0, vscause
    li t1, CAUSE_S_SOFT_INTERRUPT
    bne t0, t1, fail
    csrw hvip, zero

    # ---- 16: without hideleg the same interrupt goes to HS-mode, with its own code
    # (0x80000002), taken at V=1 even though sstatus.SIE is clear.
    li gp, 16
    csrw hideleg, zero
    li t0, IRQ_VS_SOFT_BIT
    csrw hvip, t0
    la t0, hstrap_vector
    csrw stvec, t0
    li t0, MSTATUS_SIE
    csrc mstatus, t0
    # The interrupt is taken as soon as the guest runs, before its first instruction.
    li s11, CAUSE_VS_SOFT_INTERRUPT
    la s10, 1f
    la a0, 2f
    li a1, MODE_S
    j goto_guest
2:
    j fail
1:  # in HS-mode (V=0)
    la t0, 2b
    bne s3, t0, fail         # sepc: the guest instruction that did not run
    li t0, HSTATUS_SPV
    and t0, s7, t0
    beqz t0, fail
    li t0, HSTATUS_SPVP
    and t0, s7, t0
    beqz t0, fail            # from VS-mode: SPVP = 1
    li s11, CAUSE_SUPERVISOR_ECALL
    la s10, 1f
    ecall                    # HS-mode's ECALL is cause 9
1:
    csrw hvip, zero
    csrw hie, zero

    # ---- 17: a virtual supervisor timer interrupt (hvip.VSTIP) delegated to VS-mode is a
    # supervisor timer interrupt there (0x80000005), through vectored vstvec: BASE + 4*5.
    li gp, 17
    li t0, IRQ_VS_TIMER_BIT
    csrw hideleg, t0
    csrw hie, t0
    csrw hvip, t0
    la t0, vectored_table
    ori t0, t0, 1
    csrw vstvec, t0
    csrw vsstatus, zero
    la a0, 2f
    li a1, MODE_S
    j goto_guest
2:
    li s11, CAUSE_S_TIMER_INTERRUPT
    la s10, 1f
    csrsi sstatus, MSTATUS_SIE
    j fail
1:
    li s11, CAUSE_VS_ECALL
    la s10, 1f
    ecall
1:
    csrw hvip, zero
    csrw hie, zero
    csrw hideleg, zero

    j pass

# Vectored VS trap table: only the supervisor timer slot (5) is expected.
    .balign 64
vectored_table:
    j fail                   # 0
    j fail                   # 1: supervisor software
    j fail
    j fail
    j fail
    j strap_vector           # 5: supervisor timer
    j fail
    j fail
    j fail
    j fail                   # 9: supervisor external
