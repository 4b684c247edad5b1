import Foundation
import Hypervisor
import HypervisorCore
import Machine
import RISCV
import Testing

/// The hardware-assisted mode (Sources/Hypervisor/HardwareAssisted): guests run natively in VS/VU
/// on the H-extension hart; the bare machine is the oracle.
@Suite("Hardware-assisted mode")
struct HardwareAssistedTests {
    static func boot(_ image: ELFFile, engine: ExecutionEngineKind = .translator, memory: UInt32 = 64 << 20,
                     budget: UInt64 = 50_000_000, console: ConsoleIO = .silent) throws -> (VMMBootResult, HardwareAssistedGuest) {
        var request = VMMBootRequest(image: image, name: "guest", console: console)
        request.engine = engine
        request.memorySize = memory
        request.instructionBudget = budget
        let guest = try HardwareAssistedGuest(request)
        let result = guest.run()
        return (VMMBootResult(result: result, statistics: guest.statistics), guest)
    }

    @Test("the unmodified teaching kernel prints the same bytes and exits the same as bare, with few exits",
          arguments: ExecutionEngineKind.allCases)
    func teachingKernel(_ engine: ExecutionEngineKind) throws {
        let image = try TestFiles.kernelImage()
        let bare = try BareMetal.run(image, engine: engine, ramSize: 64 << 20, maxInstructions: 50_000_000)
        let capture = ConsoleCapture()
        let (outcome, guest) = try Self.boot(image, engine: engine, console: capture.console)
        #expect(outcome.result == .exited(code: bare.exitCode ?? -1))
        #expect(capture.bytes == bare.console, "console under the VMM:\n\(capture.text)")
        #expect(capture.text.contains("kernel: 32 system calls in all; shutting down"))
        let statistics = outcome.statistics
        // What exits: firmware calls (served as SBI), the firmware's start-up CSR work and its MRET,
        // reads of `time`, and the timer deadlines. What does not: the kernel's own CSRs, SRET,
        // SFENCE.VMA, page faults (no shadow tables), the intruder's page fault (its kernel's own).
        for reason in [ExitReason.ecall, .csrRead, .csrWrite, .mret, .timer] {
            #expect(statistics[reason] > 0, "no \(reason) exits")
        }
        for reason in [ExitReason.sret, .sfenceVMA, .pageFault, .guestPageFault, .exception] {
            #expect(statistics[reason] == 0, "\(statistics[reason]) \(reason) exits")
        }
        #expect(statistics[.ecall] == guest.firmwareCallsServed, "every firmware call was served by the VMM")
        // The kernel's S-mode CSR accesses all ran on the hart: the exits are a small fraction of
        // trap-and-emulate's (1150 against 11471 on this kernel when written).
        let trapAndEmulate = try TrapAndEmulateMode().boot({
            var request = VMMBootRequest(image: image, name: "kernel", console: .silent)
            request.engine = engine
            return request
        }())
        #expect(statistics.totalExits * 5 < trapAndEmulate.statistics.totalExits,
                "\(statistics.totalExits) exits against trap-and-emulate's \(trapAndEmulate.statistics.totalExits)")
    }

    @Test("an M-mode guest (the demo: UART, timer interrupt, WFI, MRET to U) matches bare to the instruction",
          arguments: ExecutionEngineKind.allCases)
    func machineModeGuest(_ engine: ExecutionEngineKind) throws {
        let source = try String(contentsOf: TestFiles.root.appendingPathComponent("Sources/VLabCLI/Guests/hello.S"), encoding: .utf8)
        let image = try CSREmulationTests.assemble(source)
        let bare = try BareMetal.run(image, engine: engine, ramSize: 1 << 20, maxInstructions: 1_000_000)
        let capture = ConsoleCapture()
        let (outcome, _) = try Self.boot(image, engine: engine, memory: 1 << 20, budget: 1_000_000, console: capture.console)
        #expect(outcome.result == .exited(code: 0))
        #expect(capture.bytes == bare.console, "console under the VMM:\n\(capture.text)")
        #expect(outcome.statistics.guestInstructions == bare.instructions)
        #expect(outcome.statistics[.mmio] > 0 && outcome.statistics[.wfi] == 1 && outcome.statistics[.timer] == 1)
    }

    @Test("privileged guests end in the same architectural state as bare", arguments: [0, 1, 2, 3], ExecutionEngineKind.allCases)
    func sameFinalState(_ index: Int, _ engine: ExecutionEngineKind) throws {
        let (name, source, ramSize) = CSREmulationTests.guests[index]
        let image = try CSREmulationTests.assemble(source)
        let bare = try CSREmulationTests.runBare(image, ramSize: ramSize, engine: engine)
        let (outcome, guest) = try Self.boot(image, engine: engine, memory: UInt32(ramSize), budget: 1_000_000)
        #expect(outcome.result == .exited(code: 0), "\(name): \(outcome.result)")
        let vcpu = guest.vcpu
        let reader = PrivilegedInstructionEmulator()
        let virtualized = CSREmulationTests.FinalState(
            registers: (0..<32).map { vcpu.register($0) }, pc: vcpu.pc,
            csrs: Dictionary(uniqueKeysWithValues: CSREmulationTests.comparedCSRs.map { ($0, reader.read($0, vcpu: vcpu) ?? 0xDEAD) }),
            retired: vcpu.retired)
        for (number, value) in bare.csrs where virtualized.csrs[number] != value {
            Issue.record("\(name): CSR 0x\(String(number, radix: 16)) is 0x\(hex8(virtualized.csrs[number] ?? 0)) hardware-assisted, 0x\(hex8(value)) bare")
        }
        for r in 0..<32 where virtualized.registers[r] != bare.registers[r] {
            Issue.record("\(name): x\(r) is 0x\(hex8(virtualized.registers[r])) hardware-assisted, 0x\(hex8(bare.registers[r])) bare")
        }
        #expect(virtualized.pc == bare.pc && virtualized.retired == bare.retired, "\(name): \(virtualized) vs bare \(bare)")
    }

    /// What the hardware-assisted mode does not do for a guest's M-mode code (which the hart runs
    /// in VS-mode): the reasons two of the Machine's programs fail there.
    static let knownGaps: [String: String] = [
        "csr.S": "check 21: sip written from the guest's M-mode (the hart shows the guest's VS-level pending bits only below M)",
        "vm.S": "check 24: MPRV in the guest's M-mode (its loads and stores would need the VS-stage while its fetches must not)",
    ]

    /// The programs stop at their `tohost` write on the bare hart; hardware-assisted, the VMM sees
    /// that write at the next exit, the finisher store a few instructions later, so the check is
    /// the verdict and the instruction count within those few instructions.
    @Test("the Machine's privileged test programs pass hardware-assisted",
          arguments: PrivilegedSuiteUnderVMMTests.programs, ExecutionEngineKind.allCases)
    func privilegedSuite(_ name: String, _ engine: ExecutionEngineKind) throws {
        let image = try PrivilegedSuiteUnderVMMTests.assemble(name)
        let bare = try CSREmulationTests.runBare(image, ramSize: 16 << 20, engine: engine)
        let (outcome, guest) = try Self.boot(image, engine: engine, memory: 16 << 20, budget: 50_000_000)
        let check = {
            #expect(outcome.result == .exited(code: 0), "\(name): \(outcome.result)")
            #expect(guest.vcpu.retired >= bare.retired && guest.vcpu.retired <= bare.retired + 16,
                    "\(name): \(guest.vcpu.retired) instructions hardware-assisted, \(bare.retired) bare")
        }
        if let gap = Self.knownGaps[name] {
            withKnownIssue(Comment(rawValue: gap)) { check() }
        } else {
            check()
        }
    }

    @Test("bad guests are reported faults, never host crashes")
    func badGuests() throws {
        func run(_ source: String, budget: UInt64 = 100_000) throws -> GuestFault? {
            let (outcome, _) = try Self.boot(try CSREmulationTests.assemble(source), memory: 1 << 20, budget: budget)
            if case .faulted(let fault) = outcome.result { return fault }
            Issue.record("\(source) ended with \(outcome.result)")
            return nil
        }
        #expect(try run(".word 0xffffffff\n.word 0x00000000\n")?.cause.contains("trap loop") == true)
        #expect(try run("loop: j loop\n", budget: 10_000)?.cause.contains("instruction budget of 10000") == true)
        #expect(try run("wfi\n")?.cause.contains("WFI waits forever") == true)
        // A load from a guest-physical address with neither RAM nor device: an access fault in the
        // guest (its handler is the faulting load itself: a trap loop, reported with the cause).
        let unmapped = try run("""
            la t0, load
            csrw mtvec, t0
            li t1, 0x50000000
            load: lw t2, 0(t1)
            """)
        #expect(unmapped?.cause.contains("load access fault") == true, "\(String(describing: unmapped))")
        var request = VMMBootRequest(image: try CSREmulationTests.assemble("nop\n"), name: "huge", console: .silent)
        request.memorySize = 3 << 30
        #expect(throws: HypervisorError.self) { _ = try HardwareAssistedMode().boot(request) }
    }

    @Test("vlab boot --vmm hardware-assisted plugs in through the mode catalogue")
    func catalogue() {
        #expect(VMMModeCatalog.available.contains(.hardwareAssisted))
    }
}
