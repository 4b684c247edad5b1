import Foundation
import HypervisorCore
import Lab03
import LabTestSupport
import Machine
import RISCV
import Testing

/// The package root (this file is Grader/HiddenTests/03-trap-and-emulate/Lab03HiddenTests/Support.swift).
let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

func image(_ name: String, _ source: String) throws -> ELFFile {
    let program = try Assembler.assemble(source: source, fileName: name, base: 0x8000_0000)
    return try ELFFile(bytes: program.elfExecutable())
}

/// The shipped teaching kernel (M-mode firmware, S-mode kernel with Sv32, four user processes).
func teachingKernel() throws -> ELFFile {
    let path = packageRoot.appendingPathComponent("Sources/VLabCLI/Guests/kernel/kernel.elf")
    return try ELFFile(bytes: Array(try Data(contentsOf: path)))
}

/// Runs `run` bare and under the submission's handler in lock-step; any divergence (with the
/// TODOs the handler reached) is the failure. The guest must finish bare with exit code 0.
@discardableResult
func differential(_ run: BareMachineOracle.Run, sourceLocation: SourceLocation = #_sourceLocation) -> BareMachineOracle.Comparison {
    let handler = TrapAndEmulateHandler()
    let comparison = BareMachineOracle.compare(run, handler: handler)
    if let divergence = comparison.divergence {
        let todo = handler.unfinished.summary.map { "\n\nThe handler reached these TODOs:\n\($0)" } ?? ""
        Issue.record(Comment(rawValue: divergence + todo), sourceLocation: sourceLocation)
    }
    #expect(comparison.bareStop == .exited(code: 0), "\(run.name): the bare run did not finish", sourceLocation: sourceLocation)
    return comparison
}

/// A small guest, compared after every instruction; it must reach its end (s11 = 0x600d).
@discardableResult
func differential(_ name: String, _ source: String, memory: UInt32 = 1 << 20, engine: ExecutionEngineKind = .interpreter,
                  sourceLocation: SourceLocation = #_sourceLocation) throws -> BareMachineOracle.Comparison {
    var run = BareMachineOracle.Run(name: name, image: try image(name, source + finish))
    run.memorySize = memory
    run.engine = engine
    let comparison = differential(run, sourceLocation: sourceLocation)
    #expect(comparison.bareRegisters[27] == 0x600d, "\(name): the guest did not reach its end", sourceLocation: sourceLocation)
    return comparison
}

let finish = """

    done:
        li s11, 0x600d
        li t0, 0x100000
        li t1, 0x5555
        sw t1, 0(t0)
        j done
    """

/// An M-mode trap handler that counts traps in gp, sums causes in tp, XORs tval into s1, and
/// skips the trapping instruction.
let skippingMachineHandler = """
    mtrap:
        csrr t5, mcause
        addi gp, gp, 1
        add tp, tp, t5
        csrr t5, mtval
        xor s1, s1, t5
        csrr t5, mepc
        addi t5, t5, 4
        csrw mepc, t5
        mret
    """

/// The same for S-mode (counts in s0, causes in s10).
let skippingSupervisorHandler = """
    strap:
        csrr t5, scause
        addi s0, s0, 1
        add s10, s10, t5
        csrr t5, stval
        xor s1, s1, t5
        csrr t5, sepc
        addi t5, t5, 4
        csrw sepc, t5
        sret
    """

/// Enter S-mode at `label` from M (MPP = S).
func enterSupervisor(at label: String) -> String {
    """
        li t0, 0x1800
        csrc mstatus, t0
        li t0, 0x800
        csrs mstatus, t0
        la t0, \(label)
        csrw mepc, t0
        mret
    """
}
