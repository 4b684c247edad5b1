import ArgumentParser
import RISCV

extension VLab {
    /// `vlab disasm file.elf`: an objdump -d style listing.
    struct Disasm: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Disassemble the executable sections of an RV32 ELF file, like objdump -d.")

        @Argument(help: "The ELF file.")
        var input: String

        @Flag(help: "Print x0..x31 instead of ABI register names (objdump -M numeric).")
        var numeric = false

        @Flag(help: "Print base instructions, not pseudo-instructions (objdump -M no-aliases).")
        var noAliases = false

        func run() throws {
            let elf = try readELF(input)
            let disassembler = Disassembler(useABINames: !numeric, usePseudoInstructions: !noAliases)
            print(disassembler.listing(of: elf, fileName: input), terminator: "")
        }
    }
}
