import Foundation
import Testing
@testable import RISCV

/// The corpus in AssemblerCorpus/, assembled by VirtLab and by GNU as + ld (with the same
/// layout, stated in AssemblerCorpus/link.ld): the loaded bytes and the symbols must be equal.
@Suite struct AssemblerCorpusTests {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("AssemblerCorpus")
    static let linkerScript = directory.appendingPathComponent("link.ld")

    static var files: [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? [])
            .filter { $0.hasSuffix(".s") }.sorted()
    }

    static func assembleWithVirtLab(_ file: String, base: UInt32 = 0x8000_0000) throws -> AssembledProgram {
        let source = try String(contentsOf: directory.appendingPathComponent(file), encoding: .utf8)
        return try Assembler.assemble(source: source, fileName: file, base: base) { name in
            try String(contentsOf: directory.appendingPathComponent(name), encoding: .utf8)
        }
    }

    /// The memory image of an ELF's PT_LOAD segments, from the lowest to the highest address.
    static func memoryImage(_ elf: ELFFile) -> (start: UInt32, bytes: [UInt8]) {
        guard let start = elf.segments.map(\.virtualAddress).min(),
              let end = elf.segments.map({ UInt64($0.virtualAddress) + UInt64($0.memorySize) }).max()
        else { return (0, []) }
        var bytes = [UInt8](repeating: 0, count: Int(end - UInt64(start)))
        for segment in elf.segments {
            let offset = Int(segment.virtualAddress - start)
            bytes.replaceSubrange(offset..<(offset + segment.data.count), with: segment.data)
        }
        return (start, bytes)
    }

    /// Where two images first differ (address and the words there), or nil if they are equal.
    static func firstDifference(_ ours: [UInt8], _ theirs: [UInt8], start: UInt64) -> String? {
        guard let index = zip(ours, theirs).enumerated().first(where: { $0.element.0 != $0.element.1 })?.offset
                ?? (ours.count == theirs.count ? nil : min(ours.count, theirs.count)) else { return nil }
        func word(_ bytes: [UInt8]) -> String {
            let from = index & ~3
            guard from < bytes.count else { return "(end)" }
            return bytes[from..<min(from + 4, bytes.count)].reversed().map { String(format: "%02x", $0) }.joined()
        }
        return "at 0x\(String(start + UInt64(index & ~3), radix: 16)) ours \(word(ours)), GNU \(word(theirs)) (sizes \(ours.count) and \(theirs.count))"
    }

    /// The symbols a reader sees: named, not the assembler's `.L` or mapping (`$x`) symbols.
    static func visibleSymbols(_ elf: ELFFile) -> [String: UInt32] {
        var result: [String: UInt32] = [:]
        for symbol in elf.symbols where !symbol.name.isEmpty && !symbol.name.hasPrefix(".L")
            && !symbol.name.hasPrefix("$") && symbol.kind != .section && symbol.kind != .file
            && symbol.name != "BASE" {  // defined by the test's ld command line
            result[symbol.name] = symbol.value
        }
        return result
    }

    @Test("corpus file matches GNU as + ld byte for byte", .enabled(if: GNUToolchain.isInstalled,
          "riscv64-unknown-elf binutils are not installed (apt-get install binutils-riscv64-unknown-elf)"),
          arguments: files)
    func matchesGNU(file: String) throws {
        for base: UInt32 in [0x8000_0000, 0x1_0000] {
            let temporary = try GNUToolchain.temporaryDirectory()
            defer { try? FileManager.default.removeItem(at: temporary) }
            let gnu = try ELFFile(bytes: GNUToolchain.assembleAndLink(
                Self.directory.appendingPathComponent(file), base: base, includeDirectory: Self.directory,
                linkerScript: Self.linkerScript, in: temporary))
            let program = try Self.assembleWithVirtLab(file, base: base)
            let ours = try ELFFile(bytes: program.elfExecutable())

            let expected = Self.memoryImage(gnu)
            let actual = Self.memoryImage(ours)
            #expect(actual.start == expected.start, "\(file): image starts at 0x\(String(actual.start, radix: 16)), GNU's at 0x\(String(expected.start, radix: 16))")
            #expect(actual.bytes.count == expected.bytes.count, "\(file): image is \(actual.bytes.count) bytes, GNU's \(expected.bytes.count)")
            if let difference = Self.firstDifference(actual.bytes, expected.bytes, start: UInt64(expected.start)) {
                Issue.record("\(file) at base 0x\(String(base, radix: 16)): memory image differs: \(difference)")
            }
            #expect(ours.entry == gnu.entry, "\(file): entry 0x\(String(ours.entry, radix: 16)), GNU 0x\(String(gnu.entry, radix: 16))")

            let gnuSymbols = Self.visibleSymbols(gnu)
            let ourSymbols = Self.visibleSymbols(ours)
            for (name, value) in gnuSymbols.sorted(by: { $0.key < $1.key }) {
                #expect(ourSymbols[name] == value, "\(file): symbol \(name) is \(ourSymbols[name].map { "0x" + String($0, radix: 16) } ?? "missing"), GNU 0x\(String(value, radix: 16))")
            }
            for name in ourSymbols.keys where gnuSymbols[name] == nil {
                Issue.record("\(file): symbol \(name) is not in GNU's symbol table")
            }

            // The flat binary equals objcopy's.
            let binary = temporary.appendingPathComponent("gnu.bin").path
            let copied = try GNUToolchain.run("objcopy", ["-O", "binary", temporary.appendingPathComponent("gnu.elf").path, binary])
            #expect(copied.status == 0, "objcopy failed: \(copied.standardError)")
            let flat = Array(try Data(contentsOf: URL(fileURLWithPath: binary)))
            if let difference = Self.firstDifference(program.flatBinary(), flat, start: UInt64(base)) {
                Issue.record("\(file) at base 0x\(String(base, radix: 16)): flat binary differs from objcopy -O binary: \(difference)")
            }
        }
    }
}
