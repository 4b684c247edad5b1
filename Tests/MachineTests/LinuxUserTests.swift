import Foundation
import Machine
import RISCV
import Testing

/// The Linux guest programs under vlab, each compared byte for byte with qemu-riscv32 where it
/// is installed, and with the behaviour the program's source promises everywhere.
@Suite("Linux user mode: guest programs")
struct LinuxUserTests {
    struct Case: CustomTestStringConvertible, Sendable {
        var program: String
        var arguments: [String] = []
        var environment: [String] = []
        var input: String = ""
        /// What vlab must do even where qemu is absent.
        var expectedEnding: LinuxGuests.Ending
        var expectedOutput: [String] = []
        var testDescription: String { ([program] + arguments).joined(separator: " ") }
    }

    static let cases: [Case] = [
        Case(program: "hello", expectedEnding: .exited(0),
             expectedOutput: ["Hello from RV32 user mode!\ngathered by writev\nwritev wrote 19 bytes\n"]),
        Case(program: "args", arguments: ["one", "two words", "", "ünïcode"],
             environment: ["GUEST_COLOR=blue", "HOME=/nowhere", "GUEST_EMPTY="], expectedEnding: .exited(5),
             expectedOutput: ["argc=5\n", "argv[2]=\"two words\"\n", "argv[3]=\"\"\n", "environ count=3\n",
                              "GUEST_COLOR=blue\nGUEST_EMPTY=\n", "AT_PAGESZ=4096\nAT_ENTRY is _start: yes\n",
                              "AT_RANDOM present: yes\nstack aligned to 16: yes\n"]),
        Case(program: "args", expectedEnding: .exited(1), expectedOutput: ["argc=1\n", "environ count=0\n"]),
        Case(program: "upper", input: "Hello, World!\nsecond line\n" + String(repeating: "abc xyz\n", count: 200),
             expectedEnding: .exited(0), expectedOutput: ["HELLO, WORLD!\nSECOND LINE\nABC XYZ\n"]),
        Case(program: "upper", expectedEnding: .exited(0)),
        Case(program: "status", arguments: ["42"], expectedEnding: .exited(42), expectedOutput: ["to stdout\n"]),
        Case(program: "status", arguments: ["300", "thread"], expectedEnding: .exited(44)),
        Case(program: "status", arguments: ["-1"], expectedEnding: .exited(255)),
        Case(program: "heap", expectedEnding: .exited(0),
             expectedOutput: ["list nodes=20000", "rounding the break up to a page works: yes\n",
                              "memory given back and taken again reads as zero: yes\nmemory kept is still there: yes\n"]),
        Case(program: "sysinfo", expectedEnding: .exited(0),
             expectedOutput: ["sysname=Linux\nmachine=riscv32\n", "monotonic clock moves forward: yes",
                              "bad clock=-22\n", "32-bit clock_gettime (not on rv32)=-38\n", "unknown syscall 999=-38\n"]),
        Case(program: "compute", expectedEnding: .exited(0),
             expectedOutput: ["primes below 200000=17984\nlargest=199999\n", "INT_MIN / -1=-2147483648\n",
                              "7 / 0=-1\n7 % 0=7\n"]),
        Case(program: "signals", arguments: ["null"], expectedEnding: .killed(11), expectedOutput: ["about to: null\n"]),
        Case(program: "signals", arguments: ["rodata"], expectedEnding: .killed(11)),
        Case(program: "signals", arguments: ["exec"], expectedEnding: .killed(11)),
        Case(program: "signals", arguments: ["illegal"], expectedEnding: .killed(4)),
        Case(program: "signals", arguments: ["ebreak"], expectedEnding: .killed(5)),
        Case(program: "signals", arguments: ["stack"], expectedEnding: .exited(0),
             expectedOutput: ["deep recursion result="]),
        Case(program: "signals", arguments: ["misaligned"], expectedEnding: .exited(0),
             expectedOutput: ["0x05040302 0x00000908 0xe5f60706\n"]),
    ]

    @Test(arguments: cases)
    func runsAsItsSourcePromises(_ c: Case) throws {
        let vlab = try LinuxGuests.runVlab(c.program, c.arguments, environment: c.environment, input: Array(c.input.utf8))
        #expect(vlab.ending == c.expectedEnding, "\(vlab.errorText)")
        for fragment in c.expectedOutput {
            #expect(vlab.text.contains(fragment), "missing \(fragment.debugDescription) in \(vlab.text.debugDescription)")
        }
    }

    @Test(.enabled(if: LinuxGuests.qemu != nil, "qemu-riscv32 is not installed: no comparison with it"),
          arguments: cases)
    func printsWhatQEMUPrints(_ c: Case) throws {
        let vlab = try LinuxGuests.runVlab(c.program, c.arguments, environment: c.environment, input: Array(c.input.utf8))
        let qemu = try LinuxGuests.runQEMU(c.program, c.arguments, environment: c.environment, input: Array(c.input.utf8))
        let sameStdout = vlab.stdout == qemu.stdout, sameStderr = vlab.stderr == qemu.stderr
        #expect(sameStdout, "stdout differs:\nvlab: \(vlab.text.debugDescription)\nqemu: \(qemu.text.debugDescription)")
        #expect(sameStderr, "stderr differs:\nvlab: \(vlab.errorText.debugDescription)\nqemu: \(qemu.errorText.debugDescription)")
        #expect(vlab.ending == qemu.ending)
    }
}
