import Foundation
import RISCV
import Testing

/// The `vlab` executable as a user meets it: exit codes, output, and one-line errors for bad input.
@Suite("vlab command line", .enabled(if: Checkout.vlabExecutable != nil, "the vlab executable was not built beside the tests"))
struct CommandLineTests {
    let vlab = Checkout.vlabExecutable ?? "vlab"

    func run(_ arguments: [String], input: [UInt8] = []) throws -> Peers.Output {
        try Peers.run(vlab, arguments, standardInput: input, timeout: 300)
    }

    func write(_ text: String, to name: String, in directory: URL) throws -> String {
        let url = directory.appendingPathComponent(name)
        try text.write(to: url, atomically: true, encoding: .utf8)
        return url.path
    }

    /// Expects a failure whose stderr is exactly one line naming `input`.
    func expectOneLineError(_ output: Peers.Output, naming input: String, containing fragment: String,
                            sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(output.status != 0, "expected a non-zero exit", sourceLocation: sourceLocation)
        let lines = output.errorText.split(separator: "\n")
        #expect(lines.count == 1, "expected one line on stderr, got: \(output.errorText)", sourceLocation: sourceLocation)
        #expect(output.errorText.contains(input), "stderr should name \(input): \(output.errorText)", sourceLocation: sourceLocation)
        #expect(output.errorText.contains(fragment), "stderr should say '\(fragment)': \(output.errorText)", sourceLocation: sourceLocation)
        #expect(!output.errorText.contains("Fatal error"), sourceLocation: sourceLocation)
    }

    @Test("vlab boot with no argument boots the demo guest")
    func bootsDemo() throws {
        let result = try run(["boot"])
        #expect(result.status == 0, "\(result.errorText)")
        #expect(result.text.contains("Back in M-mode"), "demo output: \(result.text)")
        #expect(result.text.contains("Timer interrupt"), "demo output: \(result.text)")
    }

    @Test("the demo guest prints the same lines on QEMU virt (apart from the timer reading)",
          .enabled(if: Peers.hasGNUToolchain && Peers.qemuSystem != nil, "needs GNU binutils and qemu-system-riscv32"))
    func demoMatchesQEMU() throws {
        let directory = try Peers.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let elf = try Peers.gnuBuild(Checkout.demo, into: directory)
        let qemu = try Peers.run(Peers.qemuSystem!, ["-machine", "virt", "-bios", "none", "-nographic", "-monitor", "none",
                                                     "-kernel", elf.path], timeout: 60)
        let ours = try run(["boot"])
        #expect(qemu.status == 0 && ours.status == 0)
        // mtime is wall-clock time on QEMU and retired instructions on VirtLab; misa differs only in
        // letters QEMU's CPU has and ours does not (C, F, D...), so both are compared by shape below.
        func stable(_ text: String) -> [String] {
            text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
                .filter { !$0.contains("mtime") && !$0.contains("misa") && !$0.contains("extensions") }
                .map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }.filter { !$0.isEmpty }
        }
        #expect(stable(ours.text) == stable(qemu.text))
    }

    @Test("vlab asm + vlab boot: an assembled program's exit code comes back")
    func assembleAndBoot() throws {
        let directory = try Peers.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let source = try write("""
            .text
            .globl _start
            _start:
                li t0, 0x100000      # the test finisher
                li t1, (7 << 16) | 0x3333
                sw t1, 0(t0)
            1:  j 1b
            """, to: "exit7.s", in: directory)
        let elf = directory.appendingPathComponent("exit7.elf").path
        let assembled = try run(["asm", source, "-o", elf])
        #expect(assembled.status == 0, "\(assembled.errorText)")
        let booted = try run(["boot", elf])
        #expect(booted.status == 7)
        let listing = try run(["disasm", elf])
        #expect(listing.status == 0)
        #expect(listing.text.contains("<_start>:"))
        #expect(listing.text.contains("sw\tt1,0(t0)"))
    }

    @Test("--max-instructions stops a runaway guest with a clear message; --stats reports MIPS")
    func runawayGuest() throws {
        let directory = try Peers.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let source = try write(".globl _start\n_start: j _start\n", to: "spin.s", in: directory)
        let elf = directory.appendingPathComponent("spin.elf").path
        #expect(try run(["asm", source, "-o", elf]).status == 0)
        let result = try run(["boot", "--max-instructions", "100000", "--stats", elf])
        #expect(result.status != 0)
        #expect(result.errorText.contains("100000 instructions"), "\(result.errorText)")
        #expect(result.errorText.contains("MIPS"), "\(result.errorText)")
    }

    @Test("a guest that jumps to unmapped memory is a guest fault, not a host crash")
    func jumpToNowhere() throws {
        let directory = try Peers.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let source = try write(".globl _start\n_start: li t0, 0x40000000\n jr t0\n", to: "wild.s", in: directory)
        let elf = directory.appendingPathComponent("wild.elf").path
        #expect(try run(["asm", source, "-o", elf]).status == 0)
        let result = try run(["boot", "--max-instructions", "1000000", elf])
        expectOneLineError(result, naming: "wild.elf", containing: "guest fault")
    }

    @Test("an assembler error names the file and line")
    func assemblerErrors() throws {
        let directory = try Peers.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        for (text, fragment) in [("nop\nfrobnicate a0, a1\n", "frobnicate"), ("addi a0, a0, 5000\n", "5000"),
                                 ("add a0, a1, q7\n", "q7")] {
            let source = try write(text, to: "bad.s", in: directory)
            let output = directory.appendingPathComponent("bad.elf").path
            let result = try run(["asm", source, "-o", output])
            expectOneLineError(result, naming: "bad.s:", containing: fragment)
            #expect(!FileManager.default.fileExists(atPath: output), "nothing is written for a failed assembly")
        }
    }

    @Test("bad ELF inputs get one line naming the file and the problem")
    func badELFInputs() throws {
        let directory = try Peers.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let good = try Assembler.assemble(source: ".globl _start\n_start: nop\n", fileName: "ok.s").elfExecutable()
        let lowBase = try Assembler.assemble(source: ".globl _start\n_start: nop\n", fileName: "ok.s", base: 0x1000).elfExecutable()
        func variant(_ name: String, _ bytes: [UInt8]) throws -> String {
            let url = directory.appendingPathComponent(name)
            try Data(bytes).write(to: url)
            return url.path
        }
        var elf64 = good; elf64[4] = 2
        var arm = good; arm[18] = 40; arm[19] = 0
        var wildEntry = good; wildEntry[24...27] = [0x00, 0x00, 0x00, 0x90]
        let cases: [(String, [UInt8], String, [String])] = [
            ("empty.elf", [], "not an ELF", ["boot", "run", "disasm"]),
            ("text.elf", Array("hello, world\n".utf8), "not an ELF", ["boot", "run", "disasm"]),
            ("truncated.elf", Array(good.prefix(40)), "truncated", ["boot", "run", "disasm"]),
            ("elf64.elf", elf64, "ELF64", ["boot", "run", "disasm"]),
            ("arm.elf", arm, "not RISC-V", ["boot", "run", "disasm"]),
            ("outside-ram.elf", lowBase, "RAM", ["boot"]),
            ("wild-entry.elf", wildEntry, "entry", ["boot"]),
        ]
        for (name, bytes, fragment, commands) in cases {
            let path = try variant(name, bytes)
            for command in commands {
                let result = try run([command, path])
                expectOneLineError(result, naming: name, containing: fragment)
            }
        }
        expectOneLineError(try run(["boot", directory.appendingPathComponent("missing.elf").path]),
                           naming: "missing.elf", containing: "no such file")
    }
}
