import HypervisorCore
import Lab04
import LabTestSupport
import Machine
import RISCV
import Testing

@Suite struct BinaryTranslationKernelTests {
    /// kernel-bt.elf disables interrupts around its critical sections with vlab.popie. Under the
    /// submission's rewriter it must run exactly as bare with the teaching variant: same console,
    /// exit status and instruction count, compared every 10 000 instructions (and instruction by
    /// instruction after a mismatch), every vlab.popie in every scanned kernel page rewritten.
    @Test(arguments: [ExecutionEngineKind.interpreter, .translator])
    func sameAsBare(_ engine: ExecutionEngineKind) throws {
        var run = BareMachineOracle.Run(name: "kernel-bt.elf", image: try shippedKernel("kernel-bt.elf"))
        run.memorySize = 64 << 20
        run.engine = engine
        run.maxInstructions = 5_000_000
        run.stride = 10_000
        let (comparison, log) = binaryTranslation(run)
        guard comparison.divergence == nil else { return }
        #expect(comparison.guestResult == .exited(code: 0))
        #expect(comparison.guestConsole == comparison.bareConsole, "console under the VMM:\n\(comparison.guestOutput)")
        #expect(!comparison.guestOutput.contains("BUG"))
        #expect(comparison.guestRetired == comparison.bareRetired)
        #expect(log.expected > 0 && comparison.rewrittenInstructions == UInt64(log.expected),
                "rewrote \(comparison.rewrittenInstructions) of the \(log.expected) vlab.popie in \(log.pages) scanned pages")
        #expect(comparison.statistics[.rewrittenInstruction] > 0, "rewritten instructions trapped and were emulated")
    }
}

@Suite struct RewriterEdgeTests {
    /// A trapping word the rewriter did not put there is the guest's own illegal instruction (it
    /// must not be emulated); a vlab.popie the kernel writes into its code later is found when the
    /// VMM rescans the page.
    @Test func forgedReplacementAndSelfModifyingCode() throws {
        let forged = "0x" + String(PopieRewriter.replacement(for: TeachingExtension.popieWord(source: Register(5))), radix: 16)
        let source = """
            _start:
                la t0, mtrap
                csrw mtvec, t0
                li t0, 8
                .word \(popie(5))
                csrr s2, mstatus
                li t0, 0
                .word \(forged)
                csrr s3, mstatus
                la t0, patch
                li t1, \(popie(6))
                sw t1, 0(t0)
                fence.i
                li t1, 0
            patch:
                nop
                csrr s4, mstatus
                li s11, 0x600d
                li t0, 0x100000
                li t1, 0x5555
                sw t1, 0(t0)
            mtrap:
                csrr t5, mcause
                addi gp, gp, 1
                add tp, tp, t5
                csrr t5, mepc
                addi t5, t5, 4
                csrw mepc, t5
                mret
            """
        let (comparison, _) = binaryTranslation(BareMachineOracle.Run(name: "edges.S", image: try image("edges.S", source)))
        let r = comparison.bareRegisters
        #expect(r[27] == 0x600d && r[3] == 1 && r[4] == 2, "bare: the forged word is one illegal instruction")
        #expect(r[18] & 8 != 0 && r[19] & 8 != 0 && r[20] & 8 == 0, "bare: MIE set by the first vlab.popie, cleared by the patched one")
    }
}

@Suite struct ParavirtualKernelTests {
    /// kernel-pv.elf under the submission's hypercalls prints what it prints bare (where its own
    /// M-mode firmware serves the calls), and the calls really reach the host: the guest's M-mode
    /// is entered only at boot.
    @Test(arguments: [ExecutionEngineKind.interpreter, .translator])
    func sameOutputAsBare(_ engine: ExecutionEngineKind) throws {
        let kernel = try shippedKernel("kernel-pv.elf")
        var configuration = MachineConfiguration()
        configuration.engine = engine
        configuration.ramSize = 64 << 20
        let bare = try BareMetal.run(kernel, configuration: configuration, maxInstructions: 5_000_000)
        #expect(bare.exitCode == 0)
        let guest = try ParavirtualRun("kernel-pv.elf", image: kernel, memory: 64 << 20, engine: engine, budget: 5_000_000)
        let result = guest.run()
        #expect(result == .exited(code: 0), "kernel-pv.elf ended with \(result)\(guest.todo)")
        #expect(guest.console == bare.console, "console under the VMM:\n\(guest.output)\n--- bare:\n\(String(decoding: bare.console, as: UTF8.self))\(guest.todo)")
        let statistics = guest.vm.statistics
        #expect(statistics[.hypercall] > 100, "\(statistics[.hypercall]) hypercall exits\(guest.todo)")
        #expect(statistics[.mret] <= 1, "the guest's M-mode ran \(statistics[.mret]) times: ECALLs were reflected to its firmware instead of served\(guest.todo)")
        #expect(guest.host.served == Int(statistics[.hypercall]))
        // kernel-pv.elf also probes two optional extensions that are not this lab's ABI (kernel README):
        // balloon_register (0x16) and blk_probe (0x10A); it carries on without them when refused.
        // Every call of the lab's own ABI must be served.
        let optionalExtensions: Set<UInt32> = [0x16, 0x10A]
        let refusedABICalls = guest.refusedCalls.numbers.filter { !optionalExtensions.contains($0) }
        #expect(refusedABICalls.isEmpty, "refused calls of the lab's ABI: \(refusedABICalls.map { "0x" + String($0, radix: 16) })\(guest.todo)")
    }
}

@Suite struct HostileHypercallTests {
    /// Every bad argument gets the ABI's error, changes nothing, and leaves every other register
    /// alone; a flood of bad calls is served one by one; the guest then shuts down normally.
    @Test func badArgumentsGetErrors() throws {
        var body = """
            supervisor:
                li s9, 0x5a5a5a5a
                li s10, 0x0ff1ce

            """
        body += hypercall(0x10, ["    li a0, 0xfffffff0", "    li a1, 0x20"], into: "s2")            // wraps around: -5
        body += hypercall(0x10, ["    la a0, supervisor", "    li a1, 0x20000"], into: "s3")         // over the limit: -5
        body += hypercall(0x11, ["    li a0, 0x80000002", "    la a1, stack_top", "    la a2, info"], into: "s4")  // misaligned entry: -3
        body += hypercall(0x11, ["    la a0, supervisor", "    li a1, 0x80000008", "    la a2, info"], into: "s5")  // stack not 16-aligned: -3
        body += hypercall(0x11, ["    la a0, supervisor", "    la a1, stack_top", "    li a2, 0x10"], into: "s6")  // info outside RAM: -5
        body += hypercall(0x13, ["    la a0, context", "    li a1, 0x80080010"], into: "s7")       // before set_trap_entry: -4
        body += hypercall(0x12, ["    li a0, 0x800fffff"], into: "s8")                              // root outside RAM: -3
        body += hypercall(0x12, ["    li a0, 0x12345"], into: "a3")                                 // not Sv32: -3
        body += hypercall(0x11, ["    la a0, supervisor", "    la a1, stack_top", "    la a2, info"], into: "a4")  // good: 0
        body += hypercall(0x13, ["    li a0, 0x10", "    li a1, 0x80080010"], into: "a5")           // context outside RAM: -5
        body += hypercall(0x13, ["    la a0, context", "    li a1, 0x12345"], into: "a6")           // bad satp: -3
        body += """
                li t3, 5000
                li t4, 0
            flood:
                li a7, 0x7777
                ecall
                addi t4, t4, 1
                blt t4, t3, flood
                mv t6, a0
                li a0, 0
                li a7, 8
                ecall
            stuck:
                j stuck
            .align 4
            context:
                .space 132
            info:
                .space 8
            .align 4
                .space 256
            stack_top:
            """
        let guest = try ParavirtualRun("hostile.S", image: try image("hostile.S", paravirtualPrologue + body))
        let result = guest.run()
        #expect(result == .exited(code: 0), "the guest ended with \(result)\(guest.todo)")
        let expected: [(Int, Int32, String)] = [
            (18, -5, "console_write wrapping around the address space"), (19, -5, "console_write over the length limit"),
            (20, -3, "set_trap_entry with a misaligned entry"), (21, -3, "set_trap_entry with a misaligned stack"),
            (22, -5, "set_trap_entry with trap_info outside RAM"), (23, -4, "run_user before set_trap_entry"),
            (24, -3, "set_page_table with a root outside RAM"), (13, -3, "set_page_table with a non-Sv32 value"),
            (14, 0, "a good set_trap_entry"), (15, -5, "run_user with a context outside RAM"),
            (16, -3, "run_user with a bad satp"), (31, -2, "an unknown hypercall"),
        ]
        for (register, value, what) in expected {
            #expect(guest.register(register) == value, "\(what): a0 = \(guest.register(register)), expected \(value)\(guest.todo)")
        }
        #expect(guest.register(25) == 0x5a5a_5a5a && guest.register(26) == 0x0ff1ce, "registers other than a0 are preserved")
        #expect(guest.register(29) == 5000, "the flood loop ran to the end")
        #expect(guest.host.refused == 5010, "refused \(guest.host.refused) calls")
        #expect(guest.vm.statistics[.mret] <= 1, "no hypercall reached the guest's M-mode")
    }
}
