import Lab03
import LabTestSupport
import Machine
import Testing

/// The whole teaching kernel (M-mode firmware, S-mode kernel with Sv32 and a timer-driven
/// scheduler, four user processes) under the submission's handler: the same console bytes, exit
/// status and guest instruction count as on the bare machine, compared every 10 000 instructions
/// and, after a mismatch, instruction by instruction to name the first divergence.
@Suite struct TeachingKernelTests {
    @Test(arguments: [ExecutionEngineKind.interpreter, .translator])
    func sameAsBare(_ engine: ExecutionEngineKind) throws {
        var run = BareMachineOracle.Run(name: "kernel.elf", image: try teachingKernel())
        run.memorySize = 64 << 20
        run.engine = engine
        run.maxInstructions = 5_000_000
        run.stride = 10_000
        let comparison = differential(run)
        guard comparison.divergence == nil else { return }  // already explained, instruction by instruction
        #expect(comparison.guestResult == .exited(code: 0), "the kernel under the VMM ended with \(comparison.guestResult.map { "\($0)" } ?? "no result")")
        if comparison.guestConsole != comparison.bareConsole {
            let common = zip(comparison.guestConsole, comparison.bareConsole).prefix { $0 == $1 }.count
            Issue.record("console bytes differ from byte \(common) on; under the VMM the console was:\n\(comparison.guestOutput)\n--- bare:\n\(comparison.bareOutput)")
        }
        #expect(comparison.guestRetired == comparison.bareRetired, "guest instructions: \(comparison.guestRetired) under the VMM, \(comparison.bareRetired) bare")
        #expect(comparison.bareOutput.contains("shutting down"))
    }
}
