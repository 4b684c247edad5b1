import Testing

// Every guest here runs bare and under the submission's handler, compared after every
// instruction (registers, pc, virtual privilege, CSRs, time, retired count).

@Suite struct CSRSemanticsTests {
    /// WARL fields, counters (a write is what the next instruction reads), read-only and unknown
    /// CSRs, hardwired and PMP CSRs.
    @Test func machineModeFields() throws {
        let comparison = try differential("machine-fields.S", """
            _start:
                la t0, mtrap
                csrw mtvec, t0
                li t1, -1
                csrw medeleg, t1
                csrr a0, medeleg
                csrw mideleg, t1
                csrr a1, mideleg
                csrw mie, t1
                csrr a2, mie
                csrw mip, t1
                csrr a3, mip
                csrw mip, zero
                csrw mie, zero
                csrw mideleg, zero
                csrw medeleg, zero
                csrw misa, zero
                csrr a4, misa
                li t2, 1000
                csrw minstret, t2
                csrr a5, minstret
                csrw mcycle, t2
                csrr a6, mcycle
                csrw minstreth, t2
                csrr a7, minstreth
                csrw minstreth, zero
                csrw 0x3b0, t1
                csrr s2, 0x3b0
                csrw 0x3a0, t1
                csrr s3, 0x3a0
                csrw mcounteren, t1
                csrr s4, mcounteren
                csrr s5, mvendorid
                csrr s6, mhartid
                csrr s7, time
                li t2, 0x1000
                csrw mstatus, t2
                csrr s8, mstatus
                csrw mstatus, t1
                csrr s9, mstatus
                csrw mstatus, zero
                csrw 0x310, t1
                csrr s10, 0x310
                csrw mtvec, t1
                csrr t3, mtvec
                la t0, mtrap
                csrw mtvec, t0
                csrw mepc, t1
                csrr t4, mepc
                csrw sepc, t1
                csrr t6, sepc
                csrr t3, 0x7c0
                csrw mvendorid, t1
                csrw cycle, t1
                csrrs t3, mvendorid, zero
                csrrwi zero, time, 0
                csrr t3, 0x30a
                csrr t3, 0x5c0
                j done
            \(skippingMachineHandler)
            """)
        #expect(comparison.bareRegisters[3] == 5, "five illegal CSR accesses trapped")
        #expect(comparison.bareRegisters[15] == 1000, "minstret reads what was written")
    }

    /// S-mode views of M-mode CSRs (sstatus, sie, sip), what S may not touch, and the counter
    /// enables for S (mcounteren) and U (scounteren).
    @Test func supervisorViewsAndCounterEnables() throws {
        let comparison = try differential("supervisor-views.S", """
            _start:
                la t0, mtrap
                csrw mtvec, t0
                la t0, strap
                csrw stvec, t0
                li t0, 0x222
                csrw mideleg, t0
                li t0, 5
                csrw mcounteren, t0
                \(enterSupervisor(at: "supervisor"))
            supervisor:
                li t1, -1
                csrw sie, t1
                csrr a0, sie
                csrr a1, mie
                csrw sip, t1
                csrr a2, sip
                csrw sip, zero
                csrs sstatus, t1
                csrr a3, sstatus
                csrc sstatus, t1
                csrr a4, sstatus
                csrw sscratch, t1
                csrr a5, sscratch
                csrw stvec, t1
                csrr a6, stvec
                la t0, strap
                csrw stvec, t0
                csrw satp, zero
                csrr a7, satp
                csrr s2, cycle
                csrr s3, instret
                csrr s4, time
                csrw mscratch, t1
                li t0, 1
                csrw scounteren, t0
                la t0, user
                csrw sepc, t0
                sret
            user:
                csrr s5, cycle
                csrr s6, instret
                csrr s7, sstatus
                csrw sscratch, zero
                wfi
                sret
                j done
            \(skippingMachineHandler)
            \(skippingSupervisorHandler)
            """)
        // From S: mie, time (TM clear in mcounteren), mscratch; from U: instret (IR clear in
        // scounteren), sstatus, sscratch, WFI, SRET.
        #expect(comparison.bareRegisters[3] == 8, "eight illegal accesses from S and U reached M")
    }

    /// mstatus.TVM, TW and TSR make satp, SFENCE.VMA, WFI and SRET illegal in S.
    @Test func trapVirtualMemoryWaitAndSRET() throws {
        let comparison = try differential("tvm-tw-tsr.S", """
            _start:
                la t0, mtrap
                csrw mtvec, t0
                li t0, 0x700000
                csrs mstatus, t0
                sfence.vma
                \(enterSupervisor(at: "supervisor"))
            supervisor:
                csrr a0, satp
                csrw satp, zero
                sfence.vma
                sfence.vma a0, zero
                wfi
                sret
                j done
            \(skippingMachineHandler)
            """)
        #expect(comparison.bareRegisters[3] == 6 && comparison.bareRegisters[4] == 12)
    }
}

@Suite struct TrapDeliveryTests {
    /// Exceptions from S and U, delegated (medeleg) to S or taken in M; interrupt-enable and
    /// previous-privilege stacking in mstatus on every trap and return.
    @Test func delegationAndStacking() throws {
        let comparison = try differential("delegation.S", """
            _start:
                la t0, mtrap
                csrw mtvec, t0
                la t0, strap
                csrw stvec, t0
                li t0, 0x12C
                csrw medeleg, t0
                csrsi mstatus, 8
                ecall
                csrsi mstatus, 2
                \(enterSupervisor(at: "supervisor"))
            supervisor:
                ebreak
                lw t2, 0(zero)
                ecall
                csrr t2, mscratch
                la t0, user
                csrw sepc, t0
                li t0, 0x100
                csrc sstatus, t0
                sret
            user:
                ebreak
                ecall
                csrr t2, sstatus
                lw t2, 0(zero)
                mret
                j done
            \(skippingMachineHandler)
            \(skippingSupervisorHandler)
            """)
        // S took (medeleg bits 2, 3, 5, 8): from S ebreak (3), load fault (5), mscratch (2); from U
        // ebreak (3), ECALL (8), sstatus (2), load fault (5), MRET (2).
        #expect(comparison.bareRegisters[8] == 8 && comparison.bareRegisters[26] == 3 + 5 + 2 + 3 + 8 + 2 + 5 + 2)
        // M took the ECALLs from M (11) and from S (9), which are not delegated.
        #expect(comparison.bareRegisters[3] == 2 && comparison.bareRegisters[4] == 11 + 9)
    }
}

@Suite struct InterruptTests {
    /// Several interrupts pending at once are taken in priority order (MSI before MTI), through
    /// vectored mtvec and stvec; a software-set SSIP waits until S enables SIE.
    @Test func prioritiesAndVectoredMode() throws {
        let comparison = try differential("priorities.S", """
            _start:
                la t0, mvec
                ori t0, t0, 1
                csrw mtvec, t0
                li t0, 0x2004000
                sw zero, 0(t0)
                sw zero, 4(t0)
                li t0, 0x2000000
                li t1, 1
                sw t1, 0(t0)
                li t0, 0x88
                csrw mie, t0
                csrsi mstatus, 8
                nop
                nop
                la t0, svec
                ori t0, t0, 1
                csrw stvec, t0
                li t0, 2
                csrw mideleg, t0
                csrs mie, t0
                csrs mip, t0
                nop
                \(enterSupervisor(at: "supervisor"))
            supervisor:
                nop
                csrsi sstatus, 2
                nop
                j done
            record:
                slli s2, s2, 4
                andi t5, t5, 0xF
                or s2, s2, t5
                ret
            .align 6
            mvec:
                j bad
                j bad
                j bad
                j msi
                j bad
                j bad
                j bad
                j mti
            msi:
                csrr t5, mcause
                jal record
                li t5, 0x2000000
                sw zero, 0(t5)
                mret
            mti:
                csrr t5, mcause
                jal record
                li t5, 0x2004000
                li t6, -1
                sw t6, 4(t5)
                sw t6, 0(t5)
                mret
            .align 6
            svec:
                j bad
                j ssi
            ssi:
                csrr t5, scause
                jal record
                li t5, 2
                csrc sip, t5
                sret
            bad:
                li a0, 0xbad
                j done
            """)
        #expect(comparison.bareRegisters[18] == 0x371, "MSI, then MTI, then SSI")
        #expect(comparison.bareRegisters[10] != 0xbad)
    }

    /// The teaching kernel's pattern: M's timer interrupt raises STIP for S, S takes a supervisor
    /// timer interrupt and asks M (ECALL) to clear it and re-arm the timer.
    @Test func supervisorTimerThroughMachineMode() throws {
        let comparison = try differential("supervisor-timer.S", """
            _start:
                la t0, mtrap
                csrw mtvec, t0
                la t0, strap
                csrw stvec, t0
                li t0, 0x20
                csrw mideleg, t0
                jal arm
                li t0, 0xA0
                csrw mie, t0
                \(enterSupervisor(at: "supervisor"))
            supervisor:
                csrsi sstatus, 2
            spin:
                li t0, 3
                blt s0, t0, spin
                csrci sstatus, 2
                j done
            arm:
                li t5, 0x200bff8
                lw t6, 0(t5)
                addi t6, t6, 100
                li t5, 0x2004000
                sw t6, 0(t5)
                sw zero, 4(t5)
                ret
            mtrap:
                csrr t5, mcause
                bltz t5, machine_timer
                li t6, 0x20
                csrc mip, t6
                mv s3, ra
                jal arm
                mv ra, s3
                li t6, 0x80
                csrs mie, t6
                csrr t5, mepc
                addi t5, t5, 4
                csrw mepc, t5
                mret
            machine_timer:
                li t6, 0x20
                csrs mip, t6
                li t6, 0x80
                csrc mie, t6
                mret
            strap:
                addi s0, s0, 1
                csrr s2, scause
                ecall
                sret
            """)
        #expect(comparison.bareRegisters[8] == 3 && comparison.bareRegisters[18] == 0x8000_0005, "three supervisor timer interrupts")
    }
}

@Suite struct PagingTests {
    /// Sv32 from S-mode: satp writes, SFENCE.VMA after a remap, SUM, and page faults delegated
    /// to S. (Your handler emulates satp and SFENCE.VMA; the VMM core keeps the shadow tables.)
    @Test func sv32FromSupervisorMode() throws {
        let comparison = try differential("paging.S", """
            _start:
                la t0, mtrap
                csrw mtvec, t0
                la t0, strap
                csrw stvec, t0
                li t0, 0xB000
                csrw medeleg, t0
                la t0, root
                la t1, l0
                srli t2, t1, 12
                slli t2, t2, 10
                ori t2, t2, 1
                sw t2, 0x400(t0)
                li t2, 0x200000CF
                li t3, 0x800
                add t3, t0, t3
                sw t2, 0(t3)
                la t3, page1
                srli t2, t3, 12
                slli t2, t2, 10
                ori t2, t2, 0xC7
                sw t2, 0(t1)
                la t3, page2
                srli t2, t3, 12
                slli t2, t2, 10
                ori t2, t2, 0x53
                sw t2, 8(t1)
                \(enterSupervisor(at: "supervisor"))
            supervisor:
                la t0, root
                srli t0, t0, 12
                li t1, 0x80000000
                or t0, t0, t1
                csrw satp, t0
                sfence.vma
                csrr a0, satp
                li t1, 0x40000000
                lw a1, 0(t1)
                li t2, 0x55
                sw t2, 4(t1)
                lw a2, 4(t1)
                li t3, 0x40002000
                lw a3, 0(t3)
                li t4, 0x40000
                csrs sstatus, t4
                lw a4, 0(t3)
                sw t2, 0(t3)
                li t3, 0x40001000
                lw a5, 0(t3)
                la t0, l0
                la t3, page3
                srli t2, t3, 12
                slli t2, t2, 10
                ori t2, t2, 0xC7
                sw t2, 0(t0)
                sfence.vma
                lw a6, 0(t1)
                csrw satp, zero
                sfence.vma
                j done
            \(skippingMachineHandler)
            \(skippingSupervisorHandler)
            .align 12
            root:
                .space 4096
            l0:
                .space 4096
            page1:
                .word 0x11111111
                .space 4092
            page2:
                .word 0x22222222
                .space 4092
            page3:
                .word 0x33333333
                .space 4092
            """, memory: 4 << 20)
        let r = comparison.bareRegisters
        #expect(r[11] == 0x1111_1111 && r[12] == 0x55 && r[14] == 0x2222_2222 && r[16] == 0x3333_3333)
        #expect(r[8] == 3 && r[26] == 13 + 15 + 13, "three page faults delegated to S")
    }
}
