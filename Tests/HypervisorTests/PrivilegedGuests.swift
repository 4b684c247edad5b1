/// Small privileged guests in assembly, each ending with a write to the test finisher. They run
/// bare on the Machine (the oracle) and under the VMM, and must end in the same architectural
/// state. Registers s0-s11 and a0-a7 collect what each step observed.
enum PrivilegedGuests {
    static let finish = """
        finish:
            li t0, 0x100000
            li t1, 0x5555
            sw t1, 0(t0)
            j finish
        """

    /// M-mode CSR semantics: WARL legalization, read-only and unknown CSRs, counters, set/clear forms.
    static let machineCSRs = """
        _start:
            la t0, trap
            csrw mtvec, t0
            li t1, -1
            csrrw a0, mstatus, t1
            csrr a1, mstatus
            csrw mstatus, zero
            csrw misa, zero
            csrr a2, misa
            csrw medeleg, t1
            csrr a3, medeleg
            csrw mideleg, t1
            csrr a4, mideleg
            csrw mie, t1
            csrr a5, mie
            csrw mip, t1
            csrr a6, mip
            csrw mip, zero
            csrw mie, zero
            csrw mtvec, t1
            csrr a7, mtvec
            la t0, trap
            csrw mtvec, t0
            csrw mepc, t1
            csrr s2, mepc
            li t2, 0x12345
            csrw mscratch, t2
            csrrs s3, mscratch, t1
            csrrc s4, mscratch, t2
            csrr s5, mscratch
            csrrwi s6, mscratch, 17
            csrrsi s7, mscratch, 8
            csrrci s8, mscratch, 1
            csrr s9, mscratch
            li t2, 1000
            csrw minstret, t2
            csrr s10, minstret
            csrw mcycle, t2
            csrr s11, mcycle
            csrw pmpaddr0, t1
            csrr t3, pmpaddr0
            csrw mcounteren, t1
            csrr t4, mcounteren
            csrw scounteren, t1
            csrr t5, scounteren
            csrr t6, 0x7c0
            csrw mvendorid, t1
            csrw cycle, t1
            csrr s1, mhartid
            csrr s0, time
            j finish
        trap:
            csrr t0, mcause
            csrr t1, mtval
            add gp, gp, t0
            xor tp, tp, t1
            csrr t2, mepc
            addi t2, t2, 4
            csrw mepc, t2
            mret
        \(finish)
        """

    /// M to S to U and back: delegation, sstatus/sie/sip views, illegal instructions in S and U,
    /// ECALL from U and S, SRET/MRET.
    static let privilegeLevels = """
        _start:
            la t0, mtrap
            csrw mtvec, t0
            la t0, strap
            csrw stvec, t0
            li t0, 0xb1ff
            csrw medeleg, t0
            li t0, 0x222
            csrw mideleg, t0
            li t0, 0x1800
            csrc mstatus, t0
            li t0, 0x800
            csrs mstatus, t0
            la t0, supervisor
            csrw mepc, t0
            mret
        supervisor:
            csrr s0, sstatus
            li t0, 0x40000
            csrs sstatus, t0
            csrr s1, sstatus
            li t0, -1
            csrw sie, t0
            csrr s2, sie
            csrw sip, t0
            csrr s3, sip
            csrw sip, zero
            csrr s4, mstatus
            csrw sscratch, t0
            csrr s7, sscratch
            csrr a0, satp
            la t0, user
            csrw sepc, t0
            li t0, 0x100
            csrc sstatus, t0
            sret
        user:
            csrr s5, cycle
            li a7, 7
            ecall
            csrr s6, sstatus
            wfi
            sfence.vma
            mret
            li a7, 93
            ecall
            j user
        strap:
            csrr t0, scause
            csrr t1, stval
            csrr t2, sepc
            add s8, s8, t0
            xor s9, s9, t1
            addi s10, s10, 1
            li t3, 8
            bne t0, t3, 1f
            li t3, 93
            bne a7, t3, 1f
            ecall
        1:
            addi t2, t2, 4
            csrw sepc, t2
            sret
        mtrap:
            csrr s11, mcause
            csrr a1, mepc
            csrr a2, mstatus
            j finish
        \(finish)
        """

    /// The machine timer through the CLINT: interrupts taken mid-loop and out of WFI, at the same
    /// instruction bare and virtualized.
    static let timer = """
        _start:
            la t0, trap
            csrw mtvec, t0
            li t0, 0x200bff8
            lw t1, 0(t0)
            addi t1, t1, 500
            li t2, 0x2004000
            li t3, -1
            sw t3, 4(t2)
            sw t1, 0(t2)
            sw zero, 4(t2)
            li t0, 0x80
            csrw mie, t0
            csrsi mstatus, 8
            li s4, 0
        spin:
            addi s4, s4, 1
            li t0, 3
            blt s0, t0, spin
        sleep:
            wfi
            li t0, 6
            blt s0, t0, sleep
            csrr s1, time
            csrr s2, mip
            csrr s5, minstret
            li t0, 0x200bff8
            lw s6, 0(t0)
            j finish
        trap:
            addi s0, s0, 1
            csrr t0, mepc
            xor s3, s3, t0
            add s7, s7, t0
            li t0, 0x200bff8
            lw t1, 0(t0)
            addi t1, t1, 300
            li t2, 0x2004000
            sw t1, 0(t2)
            mret
        \(finish)
        """

    /// Sv32 in S-mode: a remap followed by SFENCE.VMA must be seen (shadow coherence); a PTE
    /// pointing outside the guest's RAM gives an access fault, not the memory; a PTE pointing at
    /// guest-physical 0x80000000 gives the guest's own first frame; accessed/dirty bits; U pages
    /// from S without SUM fault. Needs 4 MiB of guest RAM (0x80400000 is just past it).
    static let paging = """
        _start:
            la t0, mtrap
            csrw mtvec, t0
            la t0, strap
            csrw stvec, t0
            li t0, 0xb1ff
            csrw medeleg, t0
            la s0, root
            la s1, second
            li t0, 0x200000cf
            addi t1, s0, 2047
            sw t0, 1(t1)
            srli t0, s1, 12
            slli t0, t0, 10
            ori t0, t0, 1
            sw t0, 1024(s0)
            la t0, pagea
            srli t0, t0, 12
            slli t0, t0, 10
            ori t0, t0, 0xc7
            sw t0, 0(s1)
            li t0, 0x80400000
            srli t0, t0, 12
            slli t0, t0, 10
            ori t0, t0, 0xc7
            sw t0, 4(s1)
            li t0, 0x80000000
            srli t0, t0, 12
            slli t0, t0, 10
            ori t0, t0, 0xc3
            sw t0, 8(s1)
            la t0, pagec
            srli t0, t0, 12
            slli t0, t0, 10
            ori t0, t0, 0x03
            sw t0, 12(s1)
            la t0, pagec
            srli t0, t0, 12
            slli t0, t0, 10
            ori t0, t0, 0x07
            sw t0, 16(s1)
            la t0, pagea
            srli t0, t0, 12
            slli t0, t0, 10
            ori t0, t0, 0xd7
            sw t0, 20(s1)
            li t0, 0x1800
            csrc mstatus, t0
            li t0, 0x800
            csrs mstatus, t0
            la t0, supervisor
            csrw mepc, t0
            mret
        supervisor:
            la s0, root
            srli t0, s0, 12
            li t1, 0x80000000
            or t0, t0, t1
            csrw satp, t0
            sfence.vma
            li s2, 0x40000000
            lw a0, 0(s2)
            la s1, second
            la t0, pageb
            srli t0, t0, 12
            slli t0, t0, 10
            ori t0, t0, 0xc7
            sw t0, 0(s1)
            lw a1, 0(s2)
            sfence.vma
            lw a2, 0(s2)
            li t0, 0x40001000
            lw a3, 0(t0)
            li t0, 0x40002000
            lw a4, 0(t0)
            li t0, 0x40003000
            lw a5, 0(t0)
            sw a5, 0(t0)
            lw a6, 12(s1)
            li t0, 0x40004000
            sw s2, 8(t0)
            lw a7, 16(s1)
            li t0, 0x40005000
            lw s3, 0(t0)
            li t0, 0x40000
            csrs sstatus, t0
            lw s4, 0(t0)
            li t0, 0x40005000
            lw s4, 0(t0)
            la t0, pagec
            lw s5, 8(t0)
            ecall
        strap:
            csrr t0, scause
            csrr t1, stval
            add s8, s8, t0
            xor s9, s9, t1
            addi s10, s10, 1
            csrr t2, sepc
            addi t2, t2, 4
            csrw sepc, t2
            sret
        mtrap:
            csrr s11, mcause
            j finish
        \(finish)
            .align 12
        root:
            .space 4096
        second:
            .space 4096
        pagea:
            .word 0x11111111
            .space 4092
        pageb:
            .word 0x22222222
            .space 4092
        pagec:
            .word 0x33333333
            .space 4092
        """

    /// LR/SC across a trap: the trap drops the reservation, so the first SC fails; then a clean pair
    /// succeeds, and an AMO works on the same word.
    static let atomics = """
        _start:
            la t0, trap
            csrw mtvec, t0
            la s0, word
            lr.w a0, (s0)
            ecall
            li t1, 5
            sc.w a1, t1, (s0)
            lr.w a2, (s0)
            sc.w a3, t1, (s0)
            lw a4, 0(s0)
            amoadd.w a5, t1, (s0)
            lw a6, 0(s0)
            j finish
        trap:
            csrr t2, mepc
            addi t2, t2, 4
            csrw mepc, t2
            mret
        \(finish)
        word:
            .word 7
        """
}
