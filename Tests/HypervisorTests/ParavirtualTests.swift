import Foundation
import Hypervisor
import HypervisorCore
import Machine
import RISCV
import Testing

/// kernel-pv.elf under the `paravirtual` mode: the same output as bare, with far fewer exits than
/// the unmodified kernel under trap-and-emulate; and hypercalls with bad arguments get errors.
@Suite("Para-virtualization")
struct ParavirtualTests {
    @Test("kernel-pv.elf under paravirtual prints the bare output, with far fewer exits than kernel.elf under trap-and-emulate",
          arguments: ExecutionEngineKind.allCases)
    func fewerExitsSameOutput(_ engine: ExecutionEngineKind) throws {
        let native = try KernelBuilds.bareConsole(engine: engine)
        let bare = try KernelBuilds.bareConsole("kernel-pv.elf", engine: engine)
        #expect(bare.exitCode == 0 && bare.console == native.console, "kernel-pv.elf bare prints kernel.elf's output")

        let pvConsole = ConsoleCapture(), teConsole = ConsoleCapture()
        let pv = try ParavirtualMode().boot(try KernelBuilds.request("kernel-pv.elf", engine: engine, console: pvConsole.console))
        let te = try TrapAndEmulateMode().boot(try KernelBuilds.request("kernel.elf", engine: engine, console: teConsole.console))
        #expect(pv.result == .exited(code: 0) && te.result == .exited(code: 0))
        #expect(pvConsole.bytes == native.console, "under paravirtual:\n\(pvConsole.text)")
        #expect(teConsole.bytes == native.console)

        // The ratio of exits, from the VMM's own counts (11471 against 726 when this was written).
        let ratio = Double(te.statistics.totalExits) / Double(max(1, pv.statistics.totalExits))
        #expect(ratio >= 10, "trap-and-emulate \(te.statistics.totalExits) exits, paravirtual \(pv.statistics.totalExits): only \(ratio)x")
        // The para-virtual kernel executes no privileged instruction: what little traps is the
        // M-mode firmware's setup before it enters the kernel (one MRET).
        #expect(pv.statistics[.sret] == 0 && pv.statistics[.sfenceVMA] == 0 && pv.statistics[.wfi] == 0)
        #expect(pv.statistics[.mret] == 1)
        #expect(pv.statistics[.csrRead] + pv.statistics[.csrWrite] <= 16)
        #expect(pv.statistics[.hypercall] > 0)
        #expect(pv.statistics[.guestPageFault] == 1, "the intruder's fault still reaches the kernel")
    }

    /// A guest that enters S-mode and floods the hypercall interface with bad arguments, checks each
    /// error code, then reports how many were wrong through the finisher.
    static func floodGuest() -> (source: String, refusals: Int) {
        // (a7, a0, a1, a2, expected a0)
        var checks: [(UInt32, UInt32, UInt32, UInt32, Int32)] = [
            (0x99, 0, 0, 0, -2), (0xFFFF_FFFF, 1, 2, 3, -2), (2, 0, 0, 0, -2), (7, 0, 0, 0, -2),
            (0x10, 0, 5, 0, -5),                              // console_write below RAM
            (0x10, 0x8000_0000, 0xFFFF_FFFF, 0, -5),          // absurd length
            (0x10, 0x800F_FFFF, 2, 0, -5),                    // runs past the end of RAM (1 MiB)
            (0x10, 0xFFFF_FFF0, 0x20, 0, -5),                 // wraps around
            (0x13, 0x8000_1000, 0x8008_0000, 0, -4),          // run_user before set_trap_entry
            (0x11, 0x8000_0002, 0x8001_0000, 0x8000_2000, -3), // misaligned entry
            (0x11, 0x8000_0000, 0x8001_0008, 0x8000_2000, -3), // misaligned stack
            (0x11, 0x8000_0000, 0x10, 0x8000_2000, -3),       // stack outside RAM
            (0x11, 0x8000_0000, 0x8001_0000, 0x10, -5),       // trap_info outside RAM
            (0x11, 0x8000_0000, 0x8001_0000, 0x8000_2002, -5), // misaligned trap_info
            (0x12, 0x8000_0001, 0, 0, -3),                    // root table at 0x1000: not RAM
            (0x12, 0x0008_0000, 0, 0, -3),                    // no Sv32 mode bit
            (0x12, 0x8008_0100, 0, 0, -3),                    // root past the end of RAM
            (0x11, 0x8000_0000, 0x8001_0000, 0x8000_2000, 0),  // now a valid registration
            (0x13, 0x10, 0x8008_0000, 0, -5),                 // context outside RAM
            (0x13, 0x8000_1002, 0x8008_0000, 0, -5),          // misaligned context
            (0x13, 0x800F_FFF0, 0x8008_0000, 0, -5),          // context runs past the end of RAM
            (0x13, 0x8000_1000, 0x0008_0000, 0, -3),          // bad satp
        ]
        // Then a flood: unknown numbers with arbitrary arguments, and console writes from below RAM.
        var seed: UInt32 = 0x1234_5678
        for i in 0..<300 {
            seed = seed &* 1_664_525 &+ 1_013_904_223
            if i % 2 == 0 {
                checks.append((0x100 + (seed >> 24), seed, seed >> 3, seed << 5, -2))
            } else {
                checks.append((0x10, seed & 0x7FFF_FFFF, seed >> 20, 0, -5))
            }
        }
        var lines = [
            ".text", ".globl _start", "_start:",
            "  li t0, 0x1800", "  csrc mstatus, t0", "  li t0, 0x800", "  csrs mstatus, t0",   // MPP = S
            "  la t0, supervisor", "  csrw mepc, t0", "  mret",
            "supervisor:", "  li s0, 0",
        ]
        for (index, (number, a0, a1, a2, expected)) in checks.enumerated() {
            lines += ["  li a7, \(number)", "  li a0, \(a0)", "  li a1, \(a1)", "  li a2, \(a2)", "  ecall",
                      "  li t0, \(expected)", "  beq a0, t0, ok\(index)", "  addi s0, s0, 1", "ok\(index):"]
        }
        lines += [
            "  li a7, 0x10", "  la a0, message", "  li a1, 15", "ecall",
            "  li a7, 8", "  mv a0, s0", "  ecall",
            "1: j 1b",
            ".data", "message: .ascii \"flood survived\\n\"",
        ]
        return (lines.joined(separator: "\n") + "\n", checks.filter { $0.4 < 0 }.count)
    }

    @Test("a flood of hypercalls with bad arguments gets error returns and the VMM keeps serving", arguments: ExecutionEngineKind.allCases)
    func badHypercallFlood(_ engine: ExecutionEngineKind) throws {
        let (source, refusals) = Self.floodGuest()
        let program = try Assembler.assemble(source: source, fileName: "flood.S", base: 0x8000_0000)
        let capture = ConsoleCapture()
        var request = VMMBootRequest(image: try ELFFile(bytes: program.elfExecutable()), name: "flood", console: capture.console)
        request.engine = engine
        request.memorySize = 1 << 20
        request.instructionBudget = 1_000_000
        let outcome = try ParavirtualMode().boot(request)
        #expect(outcome.result == .exited(code: 0), "exit code = number of wrong error codes: \(outcome.result)")
        #expect(capture.text == "flood survived\n")
        #expect(outcome.notes.first?.contains("\(refusals) refused") == true, "\(outcome.notes)")
    }
}

/// Both modes from the command line, with no image: the shipped build for the mode.
@Suite("vlab boot --vmm binary-translation / paravirtual", .enabled(if: TestFiles.vlab != nil, "the vlab executable is not in .build/debug"))
struct SensitiveModesCommandLineTests {
    @Test("vlab boot --vmm trap-and-emulate --teaching-popie kernel-bt.elf shows the BUG lines; binary-translation does not")
    func misbehaviourFromTheCommandLine() throws {
        let image = KernelBuilds.folder.appendingPathComponent("kernel-bt.elf").path
        let trapped = try CommandLineTests.vlab(["boot", "--vmm", "trap-and-emulate", "--teaching-popie", image])
        #expect(trapped.stdout.contains(BinaryTranslationTests.bugLine), "\(trapped.stdout)")
        let translated = try CommandLineTests.vlab(["boot", "--vmm", "binary-translation", image])
        #expect(translated.status == 0)
        #expect(!translated.stdout.contains("BUG"))
    }

    @Test(arguments: [("binary-translation", "binary translation: scanned "), ("paravirtual", "paravirtual: ")])
    func shippedKernelForTheMode(_ mode: String, _ note: String) throws {
        let run = try CommandLineTests.vlab(["boot", "--vmm", mode, "--stats"])
        let native = try KernelBuilds.bareConsole()
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout == String(decoding: native.console, as: UTF8.self))
        #expect(run.stderr.contains(note), "\(run.stderr)")
    }
}
