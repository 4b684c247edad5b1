import Foundation
import Testing
@testable import RISCV

@Suite struct ELFWriterTests {
    /// A small model with code, read-only data, data and bss, written and read back.
    static func sampleWriter() -> ELFWriter {
        ELFWriter(
            entry: 0x8000_0004,
            sections: [
                .init(name: ".text", address: 0x8000_0000, alignment: 4,
                      data: [0x13, 0x00, 0x00, 0x00, 0x6F, 0x00, 0x00, 0x00], isExecutable: true),
                .init(name: ".rodata", address: 0x8000_0008, data: Array("hi\0".utf8)),
                .init(name: ".data", address: 0x8000_1000, alignment: 8, data: [1, 2, 3, 4], isWritable: true),
                .init(name: ".bss", address: 0x8000_1004, alignment: 4, data: [], size: 0x100,
                      isWritable: true, isNoBits: true),
                .init(name: ".comment", address: 0, data: Array("VirtLab".utf8), isAllocated: false),
            ],
            symbols: [
                .init(name: "_start", value: 0x8000_0004, kind: .function, binding: .global, section: ".text"),
                .init(name: "message", value: 0x8000_0008, size: 3, kind: .object, binding: .local, section: ".rodata"),
                .init(name: "tohost", value: 0x8000_1000, size: 4, kind: .object, binding: .global, section: ".data"),
                .init(name: "buffer", value: 0x8000_1004, binding: .weak, section: ".bss"),
                .init(name: "LIMIT", value: 42, binding: .local, section: nil),
            ])
    }

    @Test func roundTripThroughELFFile() throws {
        let elf = try ELFFile(bytes: Self.sampleWriter().bytes())
        #expect(elf.type == .executable)
        #expect(elf.entry == 0x8000_0004)
        // Code and read-only data have different permissions, so each has its own segment;
        // data and bss share one, bss being its zero-filled tail.
        #expect(elf.segments.count == 3)
        let text = try #require(elf.segments.first { $0.virtualAddress == 0x8000_0000 })
        #expect(text.data == [0x13, 0x00, 0x00, 0x00, 0x6F, 0x00, 0x00, 0x00])
        #expect(text.executable && text.readable && !text.writable)
        let rodata = try #require(elf.segments.first { $0.virtualAddress == 0x8000_0008 })
        #expect(rodata.data == Array("hi\0".utf8) && !rodata.executable && !rodata.writable)
        let data = try #require(elf.segments.first { $0.virtualAddress == 0x8000_1000 })
        #expect(data.data == [1, 2, 3, 4])
        #expect(data.memorySize == 0x104)
        #expect(data.writable && !data.executable)

        #expect(elf.symbol(named: "_start")?.value == 0x8000_0004)
        #expect(elf.symbol(named: "_start")?.kind == .function)
        #expect(elf.symbol(named: "_start")?.isGlobal == true)
        #expect(elf.symbol(named: "message")?.isGlobal == false)
        #expect(elf.symbol(named: "tohost")?.value == 0x8000_1000)
        #expect(elf.symbol(named: "LIMIT")?.sectionIndex == 0xFFF1)
        #expect(elf.symbolizing(0x8000_0006)?.symbol.name == "_start")

        let names = elf.sections.map(\.name)
        #expect(names == ["", ".text", ".rodata", ".data", ".bss", ".comment", ".symtab", ".strtab", ".shstrtab"])
        let comment = try #require(elf.sections.first { $0.name == ".comment" })
        #expect(Array(elf.contents(of: comment)) == Array("VirtLab".utf8))
        #expect(elf.sections.first { $0.name == ".bss" }?.isNoBits == true)
    }

    @Test func writesASegmentOnlyModel() throws {
        let segments = [
            ELFFile.Segment(virtualAddress: 0x8000_0000, data: [0x73, 0x00, 0x10, 0x00], executable: true),
            ELFFile.Segment(virtualAddress: 0x8000_2000, data: [9, 9], memorySize: 0x20, writable: true),
        ]
        let elf = try ELFFile(bytes: ELFWriter(entry: 0x8000_0000, segments: segments).bytes())
        #expect(elf.segments == segments)
        #expect(elf.sections.map(\.name) == ["", ".text", ".data", ".bss", ".symtab", ".strtab", ".shstrtab"])
    }

    @Test func segmentOffsetsAreCongruentToAddresses() throws {
        let bytes = Self.sampleWriter().bytes()
        let phoff = Int(UInt32(bytes[28]) | UInt32(bytes[29]) << 8)
        let count = Int(UInt16(bytes[44]) | UInt16(bytes[45]) << 8)
        func u32(_ at: Int) -> UInt32 {
            UInt32(bytes[at]) | UInt32(bytes[at + 1]) << 8 | UInt32(bytes[at + 2]) << 16 | UInt32(bytes[at + 3]) << 24
        }
        for i in 0..<count {
            let header = phoff + 32 * i
            #expect(u32(header + 4) % 0x1000 == u32(header + 8) % 0x1000, "segment \(i)")
        }
    }

    @Test("readelf accepts the writer's ELF without warnings", .enabled(if: GNUToolchain.isInstalled,
          "riscv64-unknown-elf binutils are not installed"))
    func readelfAccepts() throws {
        let temporary = try GNUToolchain.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: temporary) }
        let path = temporary.appendingPathComponent("sample.elf")
        try Data(Self.sampleWriter().bytes()).write(to: path)
        let output = try GNUToolchain.run("readelf", ["-h", "-l", "-S", "-s", "-W", path.path])
        #expect(output.status == 0)
        #expect(output.standardError.isEmpty, "readelf complained: \(output.standardError)")
        #expect(!output.standardOutput.lowercased().contains("warning"))
        #expect(output.standardOutput.contains("EXEC (Executable file)"))
        #expect(output.standardOutput.contains("RISC-V"))
        #expect(output.standardOutput.contains("Entry point address:               0x80000004"))
        #expect(output.standardOutput.contains("GLOBAL DEFAULT    1 _start"))
        #expect(output.standardOutput.contains("WEAK   DEFAULT    4 buffer"))
        #expect(output.standardOutput.contains("LOCAL  DEFAULT  ABS LIMIT"))
        #expect(output.standardOutput.contains("LOAD           0x001000 0x80000000 0x80000000 0x00008 0x00008 R E 0x1000"))
        #expect(output.standardOutput.contains("LOAD           0x002000 0x80001000 0x80001000 0x00004 0x00104 RW  0x1000"))
    }

    /// Every corpus program, written by VirtLab: readelf reads it without a warning, and
    /// objdump disassembles it exactly as it disassembles GNU's executable of the same source.
    @Test("assembled ELF reads in readelf and objdump like GNU's", .enabled(if: GNUToolchain.isInstalled,
          "riscv64-unknown-elf binutils are not installed"), arguments: AssemblerCorpusTests.files)
    func objdumpAgreesWithGNU(file: String) throws {
        let temporary = try GNUToolchain.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: temporary) }
        _ = try GNUToolchain.assembleAndLink(
            AssemblerCorpusTests.directory.appendingPathComponent(file), includeDirectory: AssemblerCorpusTests.directory,
            linkerScript: AssemblerCorpusTests.linkerScript, in: temporary)
        let ours = temporary.appendingPathComponent("ours.elf")
        try Data(AssemblerCorpusTests.assembleWithVirtLab(file).elfExecutable()).write(to: ours)

        let readelf = try GNUToolchain.run("readelf", ["-h", "-l", "-S", "-s", "-W", ours.path])
        #expect(readelf.status == 0 && readelf.standardError.isEmpty, "\(file): \(readelf.standardError)")
        #expect(!readelf.standardOutput.lowercased().contains("warning"), "\(file): readelf warns")

        // Instruction lines only: section headers differ (GNU's ld merges .text.* into .text).
        func instructions(_ path: String) throws -> [String] {
            let output = try GNUToolchain.run("objdump", ["-d", "-M", "no-aliases", path])
            #expect(output.status == 0 && output.standardError.isEmpty, "\(file): \(output.standardError)")
            return output.standardOutput.split(separator: "\n").map(String.init)
                .filter { $0.hasPrefix("8") && $0.contains(":\t") }
        }
        let gnuPath = temporary.appendingPathComponent("gnu.elf").path
        let expected = try instructions(gnuPath)
        let actual = try instructions(ours.path)
        #expect(!expected.isEmpty && !actual.isEmpty)
        // GNU marks data inside code with `$d` mapping symbols, which objdump prints as data;
        // VirtLab writes no mapping symbols, so such files are compared by bytes only (in
        // AssemblerCorpusTests), not by their disassembly.
        let gnuELF = try ELFFile(bytes: Array(Data(contentsOf: URL(fileURLWithPath: gnuPath))))
        if gnuELF.symbols.contains(where: { $0.name == "$d" }) { return }
        #expect(actual == expected, "\(file): first difference: \(zip(actual, expected).first { $0 != $1 }.map { "ours '\($0.0)', GNU '\($0.1)'" } ?? "count \(actual.count) vs \(expected.count)")")
    }

    static let qemu = "/usr/bin/qemu-system-riscv32"

    /// QEMU's loader reads VirtLab's ELF: it loads the segments, finds `tohost` (8 bytes, as its
    /// HTIF requires) and the program passes, exiting with status 0.
    @Test("QEMU boots the assembled privileged test and it passes",
          .enabled(if: FileManager.default.isExecutableFile(atPath: qemu), "qemu-system-riscv32 is not installed"))
    func qemuRunsAssembledProgram() throws {
        let temporary = try GNUToolchain.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: temporary) }
        let path = temporary.appendingPathComponent("privileged.elf")
        try Data(AssemblerCorpusTests.assembleWithVirtLab("privileged.s").elfExecutable()).write(to: path)
        let output = try GNUToolchain.runProgram("/usr/bin/timeout", [
            "20", Self.qemu, "-machine", "spike", "-bios", "none", "-kernel", path.path, "-nographic",
            "-monitor", "none", "-serial", "none"])
        #expect(output.status == 0, "QEMU exited with \(output.status): \(output.standardError)")
    }
}
