import Foundation
import Testing

/// The teaching guest kernel in Sources/VLabCLI/Guests/kernel: a C and assembly kernel (M-mode
/// firmware + S-mode kernel with Sv32 paging, a timer-driven scheduler and user processes) that
/// the VMM later runs as its guest. Its console output is designed to be the same wherever it
/// runs, whatever the timer does; these tests hold it to that on both of vlab's engines and QEMU.
@Suite("Teaching guest kernel")
struct TeachingKernelTests {
    static let folder = Checkout.root.appendingPathComponent("Sources/VLabCLI/Guests/kernel")
    static let image = folder.appendingPathComponent("kernel.elf")
    static let gcc = Peers.find("riscv64-unknown-elf-gcc")

    /// Everything the kernel prints: boot lines, one line per process in turn, then the report.
    static let expectedConsole = """
        kernel: booted in S-mode
        kernel: Sv32 paging on
        kernel: 4 processes, user programs at 0x10000, stacks at 0x3ff000
        [1] pid 1: counting primes by trial division
        [2] pid 2: sleeping between lines
        [3] pid 3: following Collatz sequences
        [4] pid 4: reading kernel memory at 0x80000000
        [1] primes below 1000: 168
        [2] woke from nap 1 of 4
        [3] collatz(27) reaches 1 in 111 steps
        [4] killed: load page fault at address 0x80000000
        [1] primes below 2000: 303
        [2] woke from nap 2 of 4
        [3] collatz(97) reaches 1 in 118 steps
        [1] primes below 3000: 430
        [2] woke from nap 3 of 4
        [3] collatz(871) reaches 1 in 178 steps
        [1] primes below 4000: 550
        [2] woke from nap 4 of 4
        [3] collatz(6171) reaches 1 in 261 steps
        [1] primes below 5000: 669
        kernel: all processes have exited
          pid name      status   syscalls lines bytes
            1 primes    exit   0        8     6   156
            2 sleeper   exit   4       11     5   114
            3 collatz   exit   5       11     5   178
            4 intruder  killed          2     2    43
        kernel: 32 system calls in all; shutting down

        """

    static func boot(_ arguments: [String]) throws -> Peers.Output {
        let vlab = try #require(Checkout.vlabExecutable, "the vlab executable was not built beside the tests")
        return try Peers.run(vlab, ["boot"] + arguments + [image.path], timeout: 120)
    }

    @Test("vlab boot runs the committed image to the report and exits 0, on both engines",
          arguments: [[], ["--engine", "interpreter"], ["--engine", "translator"]])
    func bootsOnVirtLab(_ engine: [String]) throws {
        let run = try Self.boot(engine)
        #expect(run.status == 0, "vlab boot \(engine) exited \(run.status): \(run.errorText)")
        #expect(run.text == Self.expectedConsole)
    }

    @Test("the interpreter and the translator print the same bytes")
    func enginesAgree() throws {
        let interpreted = try Self.boot(["--engine", "interpreter"])
        let translated = try Self.boot([])
        #expect(interpreted.standardOutput == translated.standardOutput)
        #expect(interpreted.status == translated.status)
    }

    @Test("QEMU prints exactly what vlab prints", .enabled(if: Peers.qemuSystem != nil, "qemu-system-riscv32 is not installed"))
    func sameOutputAsQEMU() throws {
        let qemu = try Peers.run(try #require(Peers.qemuSystem),
                                 ["-machine", "virt", "-bios", "none", "-nographic", "-monitor", "none",
                                  "-kernel", Self.image.path], timeout: 60)
        #expect(qemu.status == 0, "QEMU exited \(qemu.status): \(qemu.errorText)")
        let vlab = try Self.boot([])
        #expect(qemu.standardOutput == vlab.standardOutput, "QEMU:\n\(qemu.text)\nvlab:\n\(vlab.text)")
        #expect(qemu.text == Self.expectedConsole)
    }

    @Test("the committed kernel.elf is what build.sh builds from the sources",
          .enabled(if: gcc != nil, "riscv64-unknown-elf-gcc is not installed (gcc-riscv64-unknown-elf)"))
    func committedImageIsFresh() throws {
        let directory = try Peers.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let fresh = directory.appendingPathComponent("kernel.elf")
        let build = try Peers.run("/bin/sh", [Self.folder.appendingPathComponent("build.sh").path, fresh.path], timeout: 120)
        #expect(build.status == 0, "build.sh failed: \(build.errorText)")
        let committed = try Data(contentsOf: Self.image)
        #expect(try Data(contentsOf: fresh) == committed,
                "kernel.elf is stale: run Sources/VLabCLI/Guests/kernel/build.sh and commit the image")
    }
}
