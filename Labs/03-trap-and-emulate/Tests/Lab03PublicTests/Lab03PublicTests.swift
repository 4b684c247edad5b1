import HypervisorCore
import Lab03
import LabTestSupport
import Machine
import RISCV
import Testing

// The public tests of Lab 03. Run them with `vlab test 03`
// (or `VLAB_LAB=03 swift test --filter Lab03PublicTests`).
//
// Each test runs a small privileged guest twice: on the bare machine (the oracle) and under the
// VMM with your TrapAndEmulateHandler, one instruction at a time. After every instruction the
// guest's registers, pc, privilege and CSRs must be the same. A failure names the first
// instruction after which they differ and shows the expected (bare) and actual (your) values.

/// Assembles a guest that starts at 0x80000000 in M-mode.
func image(_ name: String, _ source: String) throws -> ELFFile {
    let program = try Assembler.assemble(source: source, fileName: name, base: 0x8000_0000)
    return try ELFFile(bytes: program.elfExecutable())
}

/// Compares the guest bare and under your handler; records the first divergence as the failure.
@discardableResult
func virtualize(_ name: String, _ source: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> BareMachineOracle.Comparison {
    let handler = TrapAndEmulateHandler()
    let run = BareMachineOracle.Run(name: name, image: try image(name, source))
    let comparison = BareMachineOracle.compare(run, handler: handler)
    if let divergence = comparison.divergence {
        let todo = handler.unfinished.summary.map { "\n\nYour handler reached these TODOs:\n\($0)" } ?? ""
        Issue.record(Comment(rawValue: divergence + todo), sourceLocation: sourceLocation)
    }
    #expect(comparison.bareStop == .exited(code: 0), "\(name): the bare run itself did not finish", sourceLocation: sourceLocation)
    #expect(comparison.bareRegisters[27] == 0x600d, "\(name): the guest did not reach its end", sourceLocation: sourceLocation)
    return comparison
}

/// Every guest ends here: s11 = 0x600d says it reached the end, then the test finisher stops it.
let finish = """
    done:
        li s11, 0x600d
        li t0, 0x100000
        li t1, 0x5555
        sw t1, 0(t0)
        j done
    """

@Suite struct CSRInstructions {
    /// M-mode CSR instructions: every form, WARL fields, and illegal accesses that trap.
    @Test func machineModeCSRs() throws {
        let comparison = try virtualize("machine-csrs.S", """
            _start:
                la t0, trap
                csrw mtvec, t0
                li t1, 0x12345678
                csrw mscratch, t1
                csrrs a0, mscratch, zero
                li t2, 0xF0
                csrrs a1, mscratch, t2
                csrrc a2, mscratch, t2
                csrrwi a3, mscratch, 21
                csrrsi a4, mscratch, 10
                csrrci a5, mscratch, 1
                csrr a6, mscratch
                li t1, -1
                csrrw a7, mstatus, t1
                csrr s2, mstatus
                csrw mstatus, zero
                csrw mepc, t1
                csrr s3, mepc
                csrw mtvec, t1
                csrr s4, mtvec
                la t0, trap
                csrw mtvec, t0
                csrr s5, misa
                csrr s6, 0x7c0
                csrw mhartid, t1
                csrr s7, minstret
                j done
            trap:
                csrr t3, mcause
                add gp, gp, t3
                csrr t3, mtval
                xor tp, tp, t3
                csrr t3, mepc
                addi t3, t3, 4
                csrw mepc, t3
                mret
            \(finish)
            """)
        // Two illegal accesses trapped (cause 2 each), and mscratch ended as expected.
        #expect(comparison.bareRegisters[3] == 4 && comparison.bareRegisters[16] == 0x1E)
    }
}

@Suite struct TrapsAndReturns {
    /// M to S with MRET, S to U with SRET; ECALL and an illegal instruction from U delegated to
    /// S; ECALL from S to M.
    @Test func privilegeTransitions() throws {
        let comparison = try virtualize("privilege.S", """
            _start:
                la t0, mtrap
                csrw mtvec, t0
                la t0, strap
                csrw stvec, t0
                li t0, 0x104
                csrw medeleg, t0
                li t0, 0x1800
                csrc mstatus, t0
                li t0, 0x800
                csrs mstatus, t0
                la t0, supervisor
                csrw mepc, t0
                mret
            supervisor:
                csrr s0, sstatus
                la t0, user
                csrw sepc, t0
                li t0, 0x100
                csrc sstatus, t0
                li t0, 0x20
                csrs sstatus, t0
                sret
            user:
                li a7, 1
                ecall
                csrr t0, mstatus
                li a7, 2
                ecall
            strap:
                csrr t1, scause
                add s2, s2, t1
                csrr t2, sepc
                addi t2, t2, 4
                csrw sepc, t2
                li t3, 2
                beq a7, t3, to_machine
                sret
            to_machine:
                csrr s3, sstatus
                ecall
            mtrap:
                csrr s4, mcause
                csrr s5, mstatus
                j done
            \(finish)
            """)
        // ECALL from U (8), illegal instruction (2), ECALL from U (8) in S; then ECALL from S (9) in M.
        #expect(comparison.bareRegisters[18] == 18 && comparison.bareRegisters[20] == 9)
    }
}

@Suite struct TimerInterrupt {
    /// The virtual timer fires three times into a busy loop and once into WFI; your handler
    /// must inject each interrupt at exactly the instruction the bare machine takes it.
    @Test func machineTimerInterrupts() throws {
        let comparison = try virtualize("timer.S", """
            _start:
                la t0, mtrap
                csrw mtvec, t0
                li t0, 0x200bff8
                lw t1, 0(t0)
                addi t1, t1, 50
                li t0, 0x2004000
                sw t1, 0(t0)
                sw zero, 4(t0)
                li t0, 0x80
                csrs mie, t0
                csrsi mstatus, 8
            spin:
                li t0, 3
                blt s0, t0, spin
                wfi
                csrw mie, zero
                j done
            mtrap:
                addi s0, s0, 1
                csrr s1, mcause
                csrr s2, mepc
                li t0, 0x200bff8
                lw t1, 0(t0)
                addi t1, t1, 50
                li t0, 0x2004000
                sw t1, 0(t0)
                mret
            \(finish)
            """)
        #expect(comparison.bareRegisters[8] == 4 && comparison.bareRegisters[9] == 0x8000_0007, "four timer interrupts taken")
    }
}
