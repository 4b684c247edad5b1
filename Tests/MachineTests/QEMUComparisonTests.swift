import Foundation
import Testing
import RISCV
import Machine

/// Runs guest programs under QEMU's `virt` board and under VirtLab's `Machine`, and compares what
/// they print on the UART and how they exit. Needs GNU binutils for RISC-V and qemu-system-riscv32
/// (Debian: binutils-riscv64-unknown-elf, qemu-system-misc); skipped when they are absent.
@Suite struct QEMUComparisonTests {
    static let assembler = "/usr/bin/riscv64-unknown-elf-as"
    static let linker = "/usr/bin/riscv64-unknown-elf-ld"
    static let qemu = "/usr/bin/qemu-system-riscv32"
    static let toolsPresent = [assembler, linker, qemu].allSatisfy { FileManager.default.isExecutableFile(atPath: $0) }

    struct ProcessResult { var output: [UInt8]; var status: Int32 }

    static func runTool(_ path: String, _ arguments: [String]) throws -> ProcessResult {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return ProcessResult(output: [UInt8](data), status: process.terminationStatus)
    }

    /// Assembles and links a guest at 0x8000_0000; returns the ELF's path.
    static func build(_ name: String) throws -> String {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("vlab-machine-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let source = directory.appendingPathComponent("\(name).S").path
        try (DifferentialGuests.all[name] ?? "").write(toFile: source, atomically: true, encoding: .utf8)
        let object = directory.appendingPathComponent("\(name).o").path
        let elf = directory.appendingPathComponent("\(name).elf").path
        let assembled = try runTool(assembler, ["-march=rv32ima_zicsr_zifencei", "-mabi=ilp32", "-o", object, source])
        guard assembled.status == 0 else { throw ToolFailure(output: assembled.output) }
        // ld's default layout puts the ELF headers in the first segment, just below 0x8000_0000:
        // both loaders must skip that part (no section lives there).
        let linked = try runTool(linker, ["-m", "elf32lriscv", "-Ttext", "0x80000000", "-o", elf, object])
        guard linked.status == 0 else { throw ToolFailure(output: linked.output) }
        return elf
    }

    struct ToolFailure: Error, CustomStringConvertible {
        var output: [UInt8]
        var description: String { String(decoding: output, as: UTF8.self) }
    }

    @Test(.enabled(if: toolsPresent, "needs riscv64-unknown-elf-as/ld and qemu-system-riscv32"),
          arguments: DifferentialGuests.all.keys.sorted())
    func sameOutputAndExitStatusAsQEMU(_ guest: String) throws {
        let elfPath = try Self.build(guest)
        let reference = try Self.runTool("/usr/bin/timeout", ["20", Self.qemu, "-machine", "virt", "-bios", "none",
                                                               "-kernel", elfPath, "-nographic", "-monitor", "none", "-serial", "stdio"])
        let machine = try Machine()
        var output: [UInt8] = []
        machine.console = ConsoleIO(write: { output.append($0) })
        try machine.load(try ELFFile(bytes: [UInt8](try Data(contentsOf: URL(fileURLWithPath: elfPath)))))
        let stop = machine.run(maxInstructions: 10_000_000)
        #expect(String(decoding: output, as: UTF8.self) == String(decoding: reference.output, as: UTF8.self))
        #expect(stop == .exited(code: reference.status))
    }
}
