import RISCV
import Testing
@testable import Machine

/// Instruction and trap traces on a small assembled program, against a golden listing.
@Suite("Execution traces")
struct TraceTests {
    static let source = """
        .text
        .globl _start
        _start:
            la t0, handler
            csrw mtvec, t0
            li a0, 5
            li a1, 7
            mul a2, a0, a1
            ecall
            sw a2, 64(t0)
            li t0, 0x100000
            li t1, 0x5555
            sw t1, 0(t0)
        1:  j 1b
        handler:
            csrr t2, mepc
            addi t2, t2, 4
            csrw mepc, t2
            mret
        """

    func trace(_ options: TraceOptions) throws -> (lines: [String], end: DebugTargetEnd?) {
        let program = try Assembler.assemble(source: Self.source, fileName: "trace.s", base: 0x8000_0000)
        let machine = try makeMachine()
        try machine.load(try ELFFile(bytes: program.elfExecutable()))
        var lines: [String] = []
        let target = TracedTarget(BareMetalTarget(machine: machine), options: options) { lines.append($0) }
        let end = target.resume(maxInstructions: 1000)
        return (lines, end)
    }

    @Test("every retired instruction, with its register write, and the trap between them")
    func golden() throws {
        let (lines, end) = try trace(TraceOptions(instructions: true, traps: true))
        #expect(end == .exited(code: 0))
        #expect(lines == [
            "80000000  00000297  auipc   t0,0x0              t0=0x80000000",
            "80000004  03428293  add     t0,t0,52            t0=0x80000034",
            "80000008  30529073  csrw    mtvec,t0",
            "8000000c  00500513  li      a0,5                a0=0x00000005",
            "80000010  00700593  li      a1,7                a1=0x00000007",
            "80000014  02b50633  mul     a2,a0,a1            a2=0x00000023",
            "trap: environment call from M-mode at pc 0x80000018, tval 0x00000000, M -> M, handler 0x80000034",
            "80000034  341023f3  csrr    t2,mepc             t2=0x80000018",
            "80000038  00438393  add     t2,t2,4             t2=0x8000001c",
            "8000003c  34139073  csrw    mepc,t2",
            "80000040  30200073  mret",
            "8000001c  04c2a023  sw      a2,64(t0)",
            "80000020  001002b7  lui     t0,0x100            t0=0x00100000",
            "80000024  00005337  lui     t1,0x5              t1=0x00005000",
            "80000028  55530313  add     t1,t1,1365          t1=0x00005555",
            "8000002c  0062a023  sw      t1,0(t0)",
        ])
    }

    @Test("the range filter keeps only lines about pcs inside it; traps alone cost no stepping")
    func filtered() throws {
        let (lines, _) = try trace(TraceOptions(instructions: true, traps: true, range: 0x8000_0010..<0x8000_001c))
        #expect(lines == [
            "80000010  00700593  li      a1,7                a1=0x00000007",
            "80000014  02b50633  mul     a2,a0,a1            a2=0x00000023",
            "trap: environment call from M-mode at pc 0x80000018, tval 0x00000000, M -> M, handler 0x80000034",
        ])
        let (trapLines, end) = try trace(TraceOptions(traps: true))
        #expect(end == .exited(code: 0))
        #expect(trapLines == ["trap: environment call from M-mode at pc 0x80000018, tval 0x00000000, M -> M, handler 0x80000034"])
    }

    @Test("tracing changes nothing: the traced machine ends in the same state as an untraced one")
    func sameState() throws {
        let program = try Assembler.assemble(source: Self.source, fileName: "trace.s", base: 0x8000_0000)
        let plain = try makeMachine()
        try plain.load(try ELFFile(bytes: program.elfExecutable()))
        #expect(plain.run(maxInstructions: 1000) == .exited(code: 0))
        let traced = try makeMachine()
        try traced.load(try ELFFile(bytes: program.elfExecutable()))
        let target = TracedTarget(BareMetalTarget(machine: traced), options: TraceOptions(instructions: true, traps: true)) { _ in }
        #expect(target.resume(maxInstructions: 1000) == .exited(code: 0))
        for n in 0..<32 { #expect(plain.register(Register(UInt8(n))) == traced.register(Register(UInt8(n)))) }
        #expect(plain.pc == traced.pc && plain.retiredInstructions == traced.retiredInstructions)
        #expect(plain.readCSR(CSR.mepc) == traced.readCSR(CSR.mepc))
    }
}
