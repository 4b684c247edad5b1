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

/// File I/O, the strace format and the committed images: each against its peer.
@Suite("Linux user mode: files, trace, images")
struct LinuxUserPeerTests {
    static let qemuMissing: Comment = "qemu-riscv32 is not installed: no comparison with it"

    /// A deterministic input file of a few kilobytes, so reads take several calls.
    static func makeInput(in directory: URL) throws -> URL {
        var text = ""
        for i in 0..<300 { text += "line \(i): the quick brown fox \(i * 7919 % 1000)\n" }
        let url = directory.appendingPathComponent("input.txt")
        try Data(text.utf8).write(to: url)
        return url
    }

    @Test func fileIOReadsSeeksAndWritesHostFiles() throws {
        let scratch = try LinuxGuests.scratchDirectory()
        defer { try? FileManager.default.removeItem(at: scratch) }
        let input = try Self.makeInput(in: scratch)
        let output = scratch.appendingPathComponent("vlab-output.txt")
        let run = try LinuxGuests.runVlab("fileio", [input.path, output.path])
        #expect(run.ending == .exited(0), "\(run.errorText)")
        let size = try Data(contentsOf: input).count
        #expect(run.text.contains("size=\(size)\nis regular file=1\nbytes read=\(size)\n"))
        #expect(run.text.contains("position=10\nread after seek=16\ne quick brown fo\n"))
        #expect(run.text.contains("open missing=-2\nwrite to bad fd=-9\nfstat bad fd=-9\nread into unmapped memory=-14\n"))
        #expect(try String(contentsOf: output, encoding: .utf8) == "line one\nline two\nline three\n")
    }

    @Test(.enabled(if: LinuxGuests.qemu != nil, qemuMissing))
    func fileIOMatchesQEMU() throws {
        let scratch = try LinuxGuests.scratchDirectory()
        defer { try? FileManager.default.removeItem(at: scratch) }
        let input = try Self.makeInput(in: scratch)
        let vlabOutput = scratch.appendingPathComponent("vlab.txt"), qemuOutput = scratch.appendingPathComponent("qemu.txt")
        let vlab = try LinuxGuests.runVlab("fileio", [input.path, vlabOutput.path])
        let qemu = try LinuxGuests.runQEMU("fileio", [input.path, qemuOutput.path])
        #expect(vlab.text == qemu.text)
        #expect(vlab.stderr == qemu.stderr)
        #expect(vlab.ending == qemu.ending)
        #expect(try Data(contentsOf: vlabOutput) == Data(contentsOf: qemuOutput))
    }

    /// qemu's trace with what legitimately differs taken out: its pid prefix, stack addresses
    /// (its stack is near 0x40800000, vlab's below 0xc0000000), pid values, clock readings.
    static func normalized(_ lines: [String]) -> [String] {
        lines.map { line in
            var l = line
            if let space = l.firstIndex(of: " "), l[..<space].allSatisfy(\.isNumber) { l = String(l[l.index(after: space)...]) }
            if l.hasPrefix("getpid() = ") { l = "getpid() = PID" }
            if l.hasPrefix("set_tid_address("), let eq = l.range(of: " = ") { l = String(l[..<eq.lowerBound]) + " = PID" }
            if let brace = l.range(of: " ({tv_sec") { l = String(l[..<brace.lowerBound]) }
            // Any 0x number at or above 0x40000000 is a stack address in both layouts.
            var out = "", rest = Substring(l)
            while let r = rest.range(of: "0x") {
                out += rest[..<r.lowerBound]
                let digits = rest[r.upperBound...].prefix { $0.isHexDigit }
                if let v = UInt32(digits, radix: 16), v >= 0x4000_0000 { out += "STACK" } else { out += "0x" + digits }
                rest = rest[r.upperBound...].dropFirst(digits.count)
            }
            return out + rest
        }
    }

    @Test(.enabled(if: LinuxGuests.qemu != nil, qemuMissing),
          arguments: [["hello"], ["heap"], ["compute"], ["fileio", "INPUT", "OUTPUT"], ["signals", "null"], ["signals", "illegal"],
                       ["signals", "rodata"], ["signals", "exec"], ["signals", "ebreak"]])
    func straceMatchesQEMUStrace(_ command: [String]) throws {
        let scratch = try LinuxGuests.scratchDirectory()
        defer { try? FileManager.default.removeItem(at: scratch) }
        let input = try Self.makeInput(in: scratch).path
        let arguments = command.dropFirst().map { $0 == "INPUT" ? input : $0 == "OUTPUT" ? scratch.appendingPathComponent("out").path : $0 }
        let vlab = try LinuxGuests.runVlab(command[0], arguments)
        let qemu = try LinuxGuests.runQEMU(command[0], arguments, strace: true)
        // These guests write nothing to stderr, so qemu's stderr is its trace alone.
        let qemuTrace = qemu.errorText.split(separator: "\n").map(String.init)
        #expect(Self.normalized(vlab.trace) == Self.normalized(qemuTrace))
    }

    @Test(.enabled(if: LinuxGuests.gcc != nil, "riscv64-unknown-elf-gcc is not installed: committed images not rebuilt"))
    func committedImagesMatchAFreshBuild() throws {
        let scratch = try LinuxGuests.scratchDirectory()
        defer { try? FileManager.default.removeItem(at: scratch) }
        let build = Process()
        build.executableURL = LinuxGuests.directory.appendingPathComponent("build.sh")
        build.arguments = [scratch.path]
        try build.run()
        build.waitUntilExit()
        #expect(build.terminationStatus == 0)
        for program in LinuxGuests.programs {
            let committed = try Data(contentsOf: URL(fileURLWithPath: LinuxGuests.path(program)))
            let fresh = try Data(contentsOf: scratch.appendingPathComponent("\(program).elf"))
            #expect(committed == fresh, "\(program).elf is stale: run Tests/Guests/linux/build.sh and commit the images")
        }
    }

    /// Billions of instructions: the debug build is slow, so this runs only when asked.
    @Test(.enabled(if: ProcessInfo.processInfo.environment["VLAB_LONG_TESTS"] == "1",
                   "set VLAB_LONG_TESTS=1 to run the multi-billion-instruction guest"))
    func longRunPrintsWhatQEMUPrints() throws {
        let vlab = try LinuxGuests.runVlab("long", maxInstructions: nil)
        #expect(vlab.text.hasPrefix("round 0: sum="))
        guard case .exited = vlab.ending else {
            Issue.record("long did not exit: \(vlab.ending)")
            return
        }
        guard LinuxGuests.qemu != nil else { return }
        let qemu = try LinuxGuests.runQEMU("long")
        #expect(vlab.text == qemu.text)
        #expect(vlab.ending == qemu.ending)
    }
}
