import Foundation
import Testing

/// The teaching guest kernel in Sources/VLabCLI/Guests/kernel: a C and assembly kernel (M-mode
/// firmware + S-mode kernel with Sv32 paging, a timer-driven scheduler and user processes) that
/// the VMM later runs as its guest. Its console output is designed to be the same wherever it
/// runs, whatever the timer does; these tests hold it to that on both of vlab's engines and QEMU.
/// Its three builds (kernel.elf, the para-virtual kernel-pv.elf, and kernel-bt.elf, which uses
/// the teaching ISA variant's vlab.popie) must all print that same output.
@Suite("Teaching guest kernel")
struct TeachingKernelTests {
    static let folder = Checkout.root.appendingPathComponent("Sources/VLabCLI/Guests/kernel")
    static let image = folder.appendingPathComponent("kernel.elf")
    static let gcc = Peers.find("riscv64-unknown-elf-gcc")

    /// Each build, with the vlab boot options it needs bare: kernel-bt.elf needs the ISA variant.
    struct Build: CustomStringConvertible, Sendable {
        var image: String
        var options: [String]
        var runsOnQEMU: Bool
        var description: String { image }
        var url: URL { TeachingKernelTests.folder.appendingPathComponent(image) }
    }
    static let builds = [
        Build(image: "kernel.elf", options: [], runsOnQEMU: true),
        Build(image: "kernel-pv.elf", options: [], runsOnQEMU: true),
        Build(image: "kernel-bt.elf", options: ["--teaching-popie"], runsOnQEMU: false),
    ]
    static let buildsAndEngines = builds.flatMap { build in
        [[], ["--engine", "interpreter"], ["--engine", "translator"]].map { (build, $0) }
    }

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

    @Test("vlab boot runs each committed build to the report and exits 0, on both engines",
          arguments: buildsAndEngines)
    func bootsOnVirtLab(_ build: Build, _ engine: [String]) throws {
        let vlab = try #require(Checkout.vlabExecutable, "the vlab executable was not built beside the tests")
        let run = try Peers.run(vlab, ["boot"] + build.options + engine + [build.url.path], timeout: 120)
        #expect(run.status == 0, "vlab boot \(engine) \(build) exited \(run.status): \(run.errorText)")
        #expect(run.text == Self.expectedConsole, "\(build):\n\(run.text)")
    }

    @Test("kernel-bt.elf needs the teaching ISA variant: without it vlab.popie is an illegal instruction")
    func popieBuildNeedsTheVariant() throws {
        let vlab = try #require(Checkout.vlabExecutable, "the vlab executable was not built beside the tests")
        let run = try Peers.run(vlab, ["boot", Self.folder.appendingPathComponent("kernel-bt.elf").path], timeout: 120)
        #expect(run.status == 1)
        #expect(run.text.contains("kernel trap: scause 0x2 "), "\(run.text)")
        #expect(run.text.contains("stval 0x"), "the illegal word is reported")
    }

    @Test("the interpreter and the translator print the same bytes")
    func enginesAgree() throws {
        let interpreted = try Self.boot(["--engine", "interpreter"])
        let translated = try Self.boot([])
        #expect(interpreted.standardOutput == translated.standardOutput)
        #expect(interpreted.status == translated.status)
    }

    @Test("QEMU prints exactly what vlab prints (kernel.elf, and kernel-pv.elf through its firmware's hypercalls)",
          .enabled(if: Peers.qemuSystem != nil, "qemu-system-riscv32 is not installed"),
          arguments: builds.filter(\.runsOnQEMU))
    func sameOutputAsQEMU(_ build: Build) throws {
        let qemu = try Peers.run(try #require(Peers.qemuSystem),
                                 ["-machine", "virt", "-bios", "none", "-nographic", "-monitor", "none",
                                  "-kernel", build.url.path], timeout: 60)
        #expect(qemu.status == 0, "QEMU exited \(qemu.status): \(qemu.errorText)")
        let vlab = try Peers.run(try #require(Checkout.vlabExecutable), ["boot", build.url.path], timeout: 120)
        #expect(qemu.standardOutput == vlab.standardOutput, "QEMU:\n\(qemu.text)\nvlab:\n\(vlab.text)")
        #expect(qemu.text == Self.expectedConsole)
    }

    @Test("the committed kernel.elf, kernel-pv.elf and kernel-bt.elf are what build.sh builds from the sources",
          .enabled(if: gcc != nil, "riscv64-unknown-elf-gcc is not installed (gcc-riscv64-unknown-elf)"))
    func committedImagesAreFresh() throws {
        let directory = try Peers.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let build = try Peers.run("/bin/sh", [Self.folder.appendingPathComponent("build.sh").path, directory.path], timeout: 300)
        #expect(build.status == 0, "build.sh failed: \(build.errorText)")
        for image in Self.builds.map(\.image) {
            let committed = try Data(contentsOf: Self.folder.appendingPathComponent(image))
            #expect(try Data(contentsOf: directory.appendingPathComponent(image)) == committed,
                    "\(image) is stale: run Sources/VLabCLI/Guests/kernel/build.sh and commit the images")
        }
    }
}
