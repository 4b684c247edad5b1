import ArgumentParser
import Foundation
import Hypervisor
import Machine
import RISCV

extension VLab {
    /// `vlab boot image.elf`: full-system emulation of QEMU's `virt` board, from the image's entry in M-mode.
    struct Boot: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Boot a bare-metal RV32 image on the emulated virt board (no argument: the demo guest).",
            discussion: """
                Like `qemu-system-riscv32 -machine virt -bios none -kernel image.elf`: RAM at 0x80000000, \
                a 16550 UART at 0x10000000 on stdin/stdout, the CLINT at 0x2000000 and the test finisher at \
                0x100000. The guest's exit code (finisher or HTIF tohost) becomes vlab's. Time advances with \
                retired instructions, so every run is the same.
                """)

        @OptionGroup var execution: ExecutionOptions
        @OptionGroup(title: "Debugging") var debugging: DebugOptions

        @Option(help: ArgumentHelp("RAM size in MiB.", valueName: "MiB"))
        var ram: Int = 128

        @Option(help: ArgumentHelp("Run the image as a guest of VirtLab's VMM in this mode: \(VMMMode.allCases.map(\.rawValue).joined(separator: ", ")). "
                                   + "Without an image, boots the shipped teaching kernel built for the mode. With --stats: exits by reason "
                                   + "and the overhead against the same image run bare.", valueName: "mode"))
        var vmm: VMMMode?

        @Option(help: ArgumentHelp("With --vmm: run N copies of the image as domains on one hart, each with --ram MiB; "
                                   + "every console line is tagged with its domain.", valueName: "N"))
        var domains: Int?

        @Option(help: ArgumentHelp("With --domains: the vCPU scheduler, round-robin or credit.", valueName: "name"))
        var scheduler: DomainSchedulerName = .roundRobin

        @Flag(help: ArgumentHelp("Implement VirtLab's teaching ISA variant: vlab.popie, a sensitive but unprivileged "
                                 + "instruction (custom-0), which kernel-bt.elf uses. Off, it is an illegal instruction."))
        var teachingPopie = false

        @Argument(help: "The ELF image to boot. Omit it to boot VirtLab's demo guest (with --vmm: the teaching kernel).")
        var image: String?

        func validate() throws {
            guard (1...2048).contains(ram) else { throw ValidationError("--ram \(ram): must be 1...2048 MiB") }
            if let domains {
                guard vmm != nil else { throw ValidationError("--domains needs --vmm MODE") }
                guard (1...64).contains(domains) else { throw ValidationError("--domains \(domains): must be 1...64") }
            }
            if vmm != nil && debugging.isActive {
                throw ValidationError("--vmm cannot be combined with the debugging options (they debug the bare machine)")
            }
        }

        func run() throws {
            var configuration = MachineConfiguration()
            configuration.ramSize = ram << 20
            configuration.engine = execution.engine
            configuration.implementsTeachingPopie = teachingPopie
            // Under --vmm the same configuration is the base of the hart the VMM runs guests on.
            if let vmm, let domains {
                return try DomainsBoot(mode: vmm, image: image, count: domains, scheduler: scheduler, machine: configuration,
                                       maxInstructions: execution.maxInstructions, stats: execution.stats).run()
            }
            if let vmm {
                return try VMMBoot(mode: vmm, image: image, machine: configuration,
                                   maxInstructions: execution.maxInstructions, stats: execution.stats).run()
            }
            let name = image ?? "demo guest"
            let elf = try image.map(readELF) ?? DemoGuest.image()
            let machine: Machine
            do {
                machine = try Machine(configuration: configuration)
                try machine.load(elf)
            } catch {
                throw CommandFailure("\(name): \(error)")
            }
            let clock = Stopwatch()
            let stop = debugging.isActive
                ? try debugging.drive(BareMetalTarget(machine: machine), name: name,
                                      maxInstructions: execution.maxInstructions).stopReason
                : machine.run(maxInstructions: execution.maxInstructions)
            if execution.stats { printStatistics(instructions: machine.retiredInstructions, seconds: clock.seconds, engine: machine) }
            switch stop {
            case .exited(let code):
                if code != 0 { printDiagnostic("\(name): guest reported failure \(code)") }
                throw ExitCode(code)
            case .instructionLimit:
                throw CommandFailure("\(name): stopped after \(machine.retiredInstructions) instructions (--max-instructions)")
            case .guestFault(let message):
                throw CommandFailure("\(name): guest fault: \(message)")
            case .userTrap(let trap):
                throw CommandFailure("\(name): unexpected user trap \(trap)")
            }
        }
    }
}

/// The demo guest: assembly source shipped with vlab, assembled by VirtLab's own assembler at boot.
enum DemoGuest {
    static func image() throws -> ELFFile {
        guard let url = Bundle.module.url(forResource: "hello", withExtension: "S", subdirectory: "Guests"),
              let source = try? String(contentsOf: url, encoding: .utf8) else {
            throw CommandFailure("demo guest: the hello.S resource is missing from this vlab installation")
        }
        do {
            let program = try Assembler.assemble(source: source, fileName: "hello.S", base: 0x8000_0000)
            return try ELFFile(bytes: program.elfExecutable())
        } catch {
            throw CommandFailure("demo guest: \(error)")
        }
    }
}
