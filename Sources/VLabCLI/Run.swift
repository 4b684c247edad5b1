import ArgumentParser
import Foundation
import Machine
import RISCV

extension VLab {
    /// `vlab run prog.elf args...`: Linux user-mode emulation, like `qemu-riscv32`.
    struct Run: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run a static RV32 Linux program in user mode, like qemu-riscv32.",
            discussion: """
                The program runs in U-mode on the emulated machine under a small kernel written in Swift \
                (Sv32 page tables, the Linux system-call ABI). Its stdout, stderr and exit status are \
                vlab's own. A program killed by a signal makes vlab exit with 128 + the signal number.
                """)

        @OptionGroup var execution: ExecutionOptions
        @OptionGroup(title: "Debugging") var debugging: DebugOptions

        @Flag(help: "Print every system call the guest makes to stderr.")
        var strace = false

        @Argument(help: "The static RV32 ELF executable.")
        var program: String

        @Argument(parsing: .captureForPassthrough, help: "Arguments passed to the program.")
        var arguments: [String] = []

        /// The guest sees vlab's own environment, as under qemu-riscv32.
        func hostEnvironment() -> [String] {
            ProcessInfo.processInfo.environment.map { "\($0.key)=\($0.value)" }.sorted()
        }

        func run() throws {
            let elf = try readELF(program)
            let machine: Machine
            do {
                var configuration = MachineConfiguration()
                configuration.interceptUserTraps = true
                configuration.engine = execution.engine
                machine = try Machine(configuration: configuration)
            } catch {
                throw CommandFailure("\(program): \(error)")
            }
            let process: LinuxProcess
            do {
                process = try LinuxProcess(
                    machine: machine, executable: elf, arguments: [program] + arguments,
                    environment: hostEnvironment())
            } catch {
                throw CommandFailure("\(program): \(error)")
            }
            if strace {
                process.strace = { line in FileHandle.standardError.write(Data((line + "\n").utf8)) }
            }
            let clock = Stopwatch()
            let exit = debugging.isActive
                ? try debugging.drive(process, name: program, maxInstructions: execution.maxInstructions).linuxExit
                : process.run(maxInstructions: execution.maxInstructions)
            if execution.stats { printStatistics(instructions: machine.retiredInstructions, seconds: clock.seconds, engine: machine) }
            switch exit {
            case .exited(let status):
                throw ExitCode(status & 0xFF)
            case .killed(let signal):
                // Like qemu-riscv32 (without -strace): nothing is printed, and the shell sees 128 + signal.
                throw ExitCode(128 + signal)
            case .instructionLimit:
                throw CommandFailure("\(program): stopped after \(machine.retiredInstructions) instructions (--max-instructions)")
            case .fault(let message):
                throw CommandFailure("\(program): guest fault: \(message)")
            }
        }
    }
}
