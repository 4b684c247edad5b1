import Foundation
import Testing

/// `vlab run` end to end, as a user runs it: the same stdout bytes, stderr bytes and exit status as
/// `qemu-riscv32` for the shipped static Linux guests (Tests/Guests/linux). The kernel pieces are
/// tested in MachineTests; this checks the command's own plumbing (argv, stdin, exit status,
/// 128 + signal for a killed program, --strace).
@Suite("vlab run against qemu-riscv32",
       .enabled(if: Checkout.vlabExecutable != nil, "the vlab executable was not built beside the tests"),
       .enabled(if: Peers.qemuUser != nil, "needs qemu-riscv32 (Debian: qemu-user)"))
struct RunCommandTests {
    struct Case: CustomTestStringConvertible, Sendable {
        var program: String
        var arguments: [String] = []
        var input = ""
        var testDescription: String { ([program] + arguments).joined(separator: " ") }
    }

    static let cases: [Case] = [
        Case(program: "hello"),
        Case(program: "args", arguments: ["one", "two words", "", "ünïcode"]),
        Case(program: "upper", input: "Hello, RISC-V!\nsecond line\n"),
        Case(program: "status", arguments: ["42"]),
        Case(program: "status", arguments: ["300", "thread"]),
        Case(program: "heap"),
        Case(program: "compute"),
        Case(program: "sysinfo"),
        Case(program: "signals", arguments: ["null"]),
        Case(program: "signals", arguments: ["illegal"]),
        Case(program: "signals", arguments: ["ebreak"]),
        Case(program: "signals", arguments: ["misaligned"]),
    ]

    static let guests = Checkout.guests.appendingPathComponent("linux")

    @Test("same bytes and status as qemu-riscv32", arguments: cases)
    func sameAsQEMU(_ c: Case) throws {
        let elf = Self.guests.appendingPathComponent(c.program + ".elf").path
        let input = Array(c.input.utf8)
        let ours = try Peers.run(Checkout.vlabExecutable!, ["run", elf] + c.arguments, standardInput: input)
        let theirs = try Peers.run(Peers.qemuUser!, [elf] + c.arguments, standardInput: input)
        #expect(ours.text == theirs.text, "stdout of \(c.testDescription)")
        #expect(ours.standardError == theirs.standardError, "stderr of \(c.testDescription): \(ours.errorText)")
        // qemu-riscv32 kills itself with the guest's signal; vlab exits with the shell's 128 + signal.
        #expect(ours.status == theirs.status || (theirs.status > 0 && ours.status == 128 + theirs.status),
                "status of \(c.testDescription): vlab \(ours.status), qemu \(theirs.status)")
    }

    @Test("--strace lists system calls on stderr, one line each")
    func strace() throws {
        let elf = Self.guests.appendingPathComponent("hello.elf").path
        let result = try Peers.run(Checkout.vlabExecutable!, ["run", "--strace", elf])
        #expect(result.status == 0)
        let lines = result.errorText.split(separator: "\n")
        #expect(lines.contains { $0.hasPrefix("write(1,") }, "\(result.errorText)")
        #expect(lines.last?.hasPrefix("exit") == true, "\(result.errorText)")
    }

    /// The multi-billion-instruction guest, through the release `vlab` that .ci/run builds
    /// (VLAB_EXECUTABLE); a debug build would take minutes.
    @Test("a guest running for billions of instructions prints what qemu-riscv32 prints",
          .enabled(if: ProcessInfo.processInfo.environment["VLAB_LONG_TESTS"] == "1",
                   "set VLAB_LONG_TESTS=1 (and VLAB_EXECUTABLE to a release vlab) to run the multi-billion-instruction guest"))
    func longRun() throws {
        let vlab = ProcessInfo.processInfo.environment["VLAB_EXECUTABLE"] ?? Checkout.vlabExecutable!
        let elf = Self.guests.appendingPathComponent("long.elf").path
        let ours = try Peers.run(vlab, ["run", "--stats", elf], timeout: 1200)
        let theirs = try Peers.run(Peers.qemuUser!, [elf], timeout: 600)
        #expect(ours.text == theirs.text)
        #expect(ours.status == theirs.status)
        #expect(ours.errorText.contains("instructions"), "\(ours.errorText)")
        let count = ours.errorText.split(separator: " ").dropFirst().first.flatMap { UInt64($0) } ?? 0
        #expect(count > 2_000_000_000, "the long guest should retire billions of instructions: \(ours.errorText)")
    }
}
