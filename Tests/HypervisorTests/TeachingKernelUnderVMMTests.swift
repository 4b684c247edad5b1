import Hypervisor
import HypervisorCore
import Machine
import RISCV
import Testing

/// The unmodified teaching kernel (M-mode firmware, S-mode kernel with Sv32, U processes) as a
/// guest: the same console bytes, exit status and even the same retired-instruction count as on
/// the bare machine, on both engines.
@Suite("Teaching kernel under trap-and-emulate")
struct TeachingKernelUnderVMMTests {
    @Test("identical console bytes, exit status and instruction count bare and virtualized",
          arguments: ExecutionEngineKind.allCases)
    func sameAsBare(_ engine: ExecutionEngineKind) throws {
        let image = try TestFiles.kernelImage()
        let bare = try BareMetal.run(image, engine: engine, ramSize: 64 << 20, maxInstructions: 50_000_000)
        #expect(bare.exitCode == 0)
        let capture = ConsoleCapture()
        var request = VMMBootRequest(image: image, name: "kernel.elf", console: capture.console)
        request.engine = engine
        request.instructionBudget = 50_000_000
        let outcome = try TrapAndEmulateMode().boot(request)
        #expect(outcome.result == .exited(code: 0))
        #expect(capture.bytes == bare.console, "console under the VMM:\n\(capture.text)")
        #expect(capture.text.contains("kernel: 32 system calls in all; shutting down"))
        #expect(outcome.statistics.guestInstructions == bare.instructions,
                "virtual time is exact: the guest retires what it retires bare")
        // The exits the construction predicts: CSR accesses, xRETs, firmware ECALLs, device
        // accesses, shadow fills, the intruder's reflected page fault, timer injections.
        for reason in [ExitReason.csrRead, .csrWrite, .mret, .sret, .ecall, .mmio, .pageFault, .guestPageFault, .timer, .sfenceVMA] {
            #expect(outcome.statistics[reason] > 0, "no \(reason) exits")
        }
        #expect(outcome.statistics[.guestPageFault] == 1, "exactly one process (the intruder) faults")
    }

    @Test("modes not built yet give a one-line error naming the mode")
    func unavailableModes() {
        for mode in VMMMode.allCases where VMMModeCatalog.implementation(of: mode) == nil {
            #expect(throws: HypervisorError.self) { try VMMModeCatalog.require(mode) }
            do {
                _ = try VMMModeCatalog.require(mode)
            } catch {
                #expect(error.message.contains("--vmm \(mode.rawValue): mode not available yet"))
            }
        }
        #expect(VMMModeCatalog.available.contains(.trapAndEmulate))
    }
}

/// Guest misbehaviour is a fault report naming the guest, the pc and the cause; never a host crash.
@Suite("Bad guests")
struct BadGuestTests {
    static func boot(_ source: String, budget: UInt64 = 100_000, memory: UInt32 = 1 << 20) throws -> GuestRunResult {
        var request = VMMBootRequest(image: try CSREmulationTests.assemble(source), name: "badguest", console: .silent)
        request.instructionBudget = budget
        request.memorySize = memory
        return try TrapAndEmulateMode().boot(request).result
    }

    func fault(_ result: GuestRunResult) -> GuestFault? {
        if case .faulted(let fault) = result { return fault }
        return nil
    }

    @Test("garbage instructions with no trap handler: a trap loop, reported")
    func garbage() throws {
        let result = try Self.boot(".word 0xffffffff\n.word 0x00000000\n")
        let report = try #require(fault(result), "got \(result)")
        #expect(report.domain == "badguest")
        #expect(report.description.contains("trap loop"))
        #expect(report.description.contains("instruction access fault"))
    }

    @Test("a jump to unmapped memory through a handler that jumps there too")
    func unmappedJump() throws {
        let result = try Self.boot("""
            li t0, 0x50000000
            csrw mtvec, t0
            jr t0
            """)
        let report = try #require(fault(result), "got \(result)")
        #expect(report.pc == 0x5000_0000)
        #expect(report.privilege == .machine)
        #expect(report.cause.contains("instruction access fault"))
    }

    @Test("an endless loop stops at the instruction budget")
    func endlessLoop() throws {
        let result = try Self.boot("loop: j loop\n", budget: 10_000)
        let report = try #require(fault(result), "got \(result)")
        #expect(report.cause.contains("instruction budget of 10000"))
        #expect(report.pc == 0x8000_0000)
    }

    @Test("WFI with nothing that can wake the guest")
    func sleepsForever() throws {
        let result = try Self.boot("wfi\n")
        #expect(fault(result)?.cause.contains("WFI waits forever") == true, "got \(result)")
    }

    @Test("a page-table walk outside the guest's memory is an access fault in the guest, not the memory")
    func pageTableOutsideAllotment() throws {
        // satp points at a root table just past the guest's 1 MiB; the first access from S-mode
        // must raise an instruction access fault into the guest (here: a trap loop, reported).
        let result = try Self.boot("""
            li t0, 0x80000000 + (0x80100000 >> 12)
            csrw satp, t0
            la t0, next
            csrw mepc, t0
            li t0, 0x800
            csrs mstatus, t0
            mret
            next: j next
            """)
        let report = try #require(fault(result), "got \(result)")
        #expect(report.cause.contains("instruction access fault"))
    }

    @Test("an image that does not fit the guest's memory is one clear error")
    func imageTooBig() throws {
        var request = VMMBootRequest(image: try TestFiles.kernelImage(), name: "kernel.elf", console: .silent)
        request.memorySize = 4096
        #expect(throws: HypervisorError.self) { try TrapAndEmulateMode().boot(request) }
        request.memorySize = 12345
        #expect(throws: HypervisorError.self) { try TrapAndEmulateMode().boot(request) }
    }
}
