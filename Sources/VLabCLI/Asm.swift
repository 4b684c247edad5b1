import ArgumentParser
import Foundation
import RISCV

extension VLab {
    /// `vlab asm in.s -o out.elf`: VirtLab's own GNU-as-compatible assembler and linker.
    struct Asm: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Assemble RISC-V (RV32IMA, Zicsr, Zifencei) assembly into an ELF executable or a flat binary.",
            discussion: """
                The machine code equals what GNU as + ld (with -mno-relax / --no-relax) produce for the \
                same source and layout: text sections at the base address, then read-only data, data and bss.
                """)

        @Argument(help: "The assembly source (GNU as syntax).")
        var input: String

        @Option(name: .shortAndLong, help: "The output file.")
        var output: String

        @Option(help: ArgumentHelp("Address of the first section.", valueName: "ADDR"))
        var base: String = "0x80000000"

        @Option(help: "Output format: an ELF32 executable or a flat binary image.")
        var format: OutputFormat = .elf

        enum OutputFormat: String, ExpressibleByArgument, CaseIterable { case elf, binary }

        func validate() throws {
            guard parseAddress(base) != nil else { throw ValidationError("--base \(base): not a 32-bit address") }
        }

        func run() throws {
            let sourceBytes = try readInput(input)
            let source = String(decoding: sourceBytes, as: UTF8.self)
            let directory = (input as NSString).deletingLastPathComponent
            let program: AssembledProgram
            do {
                program = try Assembler.assemble(
                    source: source, fileName: input, base: parseAddress(base)!,
                    include: { name in
                        let path = name.hasPrefix("/") ? name : (directory as NSString).appendingPathComponent(name)
                        return String(decoding: try readInput(path), as: UTF8.self)
                    })
            } catch {
                throw CommandFailure(error.description)
            }
            switch format {
            case .elf: try writeOutput(program.elfExecutable(), to: output, executable: true)
            case .binary: try writeOutput(program.flatBinary(), to: output)
            }
        }
    }
}
