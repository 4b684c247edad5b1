import HypervisorCore
import Lab04
import LabTestSupport
import Machine
import RISCV
import Testing

// The public tests of Lab 04. Run them with `vlab test 04`
// (or `VLAB_LAB=04 swift test --filter Lab04PublicTests`).
//
// Binary translation: a small kernel using `vlab.popie` runs on the bare machine with the teaching
// ISA variant (the oracle) and under the VMM with your PopieRewriter (and Lab 03's reference
// handler), compared after every instruction. Para-virtualization: a small S-mode guest makes
// hypercalls that your ParavirtualHost must serve, with the ABI's results.

func image(_ name: String, _ source: String) throws -> ELFFile {
    let program = try Assembler.assemble(source: source, fileName: name, base: 0x8000_0000)
    return try ELFFile(bytes: program.elfExecutable())
}

/// `vlab.popie t0`, `vlab.popie t1` (our assembler, like GNU as, has no mnemonic for it).
let popieT0 = String(TeachingExtension.popieWord(source: Register(5)), radix: 16)
let popieT1 = String(TeachingExtension.popieWord(source: Register(6)), radix: 16)

@Suite struct BinaryTranslation {
    /// vlab.popie in virtual S- and M-mode must change SIE/MIE exactly as on the bare machine,
    /// although the hart runs the guest in U-mode, where the original would do nothing.
    @Test func popieInKernelModes() throws {
        var run = BareMachineOracle.Run(name: "popie.S", image: try image("popie.S", """
            _start:
                li t0, 8
                .word 0x\(popieT0)
                csrr s2, mstatus
                li t0, 0
                .word 0x\(popieT0)
                csrr s3, mstatus
                li t0, 0x1800
                csrc mstatus, t0
                li t0, 0x800
                csrs mstatus, t0
                la t0, supervisor
                csrw mepc, t0
                mret
            supervisor:
                li t1, 2
                .word 0x\(popieT1)
                csrr s4, sstatus
                li t1, -3
                .word 0x\(popieT1)
                csrr s5, sstatus
                li s11, 0x600d
                li t0, 0x100000
                li t1, 0x5555
                sw t1, 0(t0)
            """))
        run.machineOptions = { $0.implementsTeachingPopie = true }
        var unfinished: UnfinishedWork?
        let comparison = BareMachineOracle.compare(run, handler: TrapAndEmulateHandler()) { vm in
            let rewriter = PopieRewriter(memory: vm.memory)
            unfinished = rewriter.unfinished
            vm.rewriter = rewriter
        }
        if let divergence = comparison.divergence {
            let todo = unfinished?.summary.map { "\n\nYour rewriter reached these TODOs:\n\($0)" } ?? ""
            Issue.record(Comment(rawValue: divergence + todo))
        }
        #expect(comparison.bareStop == .exited(code: 0) && comparison.bareRegisters[27] == 0x600d)
        #expect(comparison.bareRegisters[19] & 8 == 0 && comparison.bareRegisters[20] & 2 == 2, "bare: MIE cleared, SIE set")
        #expect(comparison.rewrittenInstructions == 4, "four vlab.popie in the guest's code page; the VMM counted \(comparison.rewrittenInstructions) rewrites")
    }
}

@Suite struct Hypercalls {
    /// console_write, putchar, an unknown call and a bad address, then shutdown.
    @Test func firstHypercalls() throws {
        let source = """
            _start:
                la t0, machine_trap
                csrw mtvec, t0
                li t0, 0x1800
                csrc mstatus, t0
                li t0, 0x800
                csrs mstatus, t0
                la t0, supervisor
                csrw mepc, t0
                mret
            supervisor:
                la a0, message
                li a1, 6
                li a7, 0x10
                ecall
                mv s2, a0
                li a0, 33
                li a7, 1
                ecall
                mv s3, a0
                li a7, 0x99
                ecall
                mv s4, a0
                li a0, 0x10
                li a1, 4
                li a7, 0x10
                ecall
                mv s5, a0
                li a0, 0
                li a7, 8
                ecall
            stuck:
                j stuck
            machine_trap:
                li t0, 0x100000
                li t1, 0x33333
                sw t1, 0(t0)
                j machine_trap
            message:
                .ascii "hello\\n"
            """
        let host = ParavirtualHost()
        var console: [UInt8] = []
        var guest = GuestConfiguration()
        guest.name = "hypercalls.S"
        guest.memorySize = 1 << 20
        guest.instructionBudget = 100_000
        let vm = try VirtualMachine.hostingOne(guest, image: try image("hypercalls.S", source),
                                               console: ConsoleIO(write: { console.append($0) }), handler: host)
        host.memory = vm.memory
        vm.hypercalls = host
        let result = vm.run()
        let todo = host.unfinished.summary.map { "\nYour host reached these TODOs:\n\($0)" } ?? ""
        guard result == .exited(code: 0) else {
            Issue.record("the guest ended with \(result) (exit code 3: an ECALL reached the guest's M-mode, i.e. it was not served as a hypercall); console so far: \(String(decoding: console, as: UTF8.self).debugDescription)\(todo)")
            return
        }
        #expect(String(decoding: console, as: UTF8.self) == "hello\n!", "console: \(String(decoding: console, as: UTF8.self).debugDescription)\(todo)")
        let r = vm.vcpu.registers
        #expect(Int32(bitPattern: r[18]) == 6, "console_write returns the length written")
        #expect(r[19] == 0, "putchar returns 0")
        #expect(Int32(bitPattern: r[20]) == -2, "an unknown hypercall returns -2 (not supported)")
        #expect(Int32(bitPattern: r[21]) == -5, "console_write from an address outside RAM returns -5 (invalid address)")
    }
}
