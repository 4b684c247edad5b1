/// The output of the assembler: sections placed at their addresses, and the symbols.
///
/// It can be written as an ELF32 executable (for `vlab boot`, objdump, GDB) or as a flat
/// binary image (for loaders that take raw bytes at a known address).
public struct AssembledProgram: Sendable, Equatable {
    public struct Section: Sendable, Equatable {
        public var name: String
        /// Where the section is loaded; 0 for sections that are not loaded (no `a` flag).
        public var address: UInt32
        public var alignment: UInt32
        /// The contents; empty for `@nobits` sections such as `.bss`.
        public var bytes: [UInt8]
        /// Bytes the section occupies in memory (for `@nobits`, the zero-filled size).
        public var size: UInt32
        public var isAllocated: Bool
        public var isWritable: Bool
        public var isExecutable: Bool
        public var isNoBits: Bool

        public init(name: String, address: UInt32, alignment: UInt32, bytes: [UInt8], size: UInt32,
                    isAllocated: Bool, isWritable: Bool, isExecutable: Bool, isNoBits: Bool) {
            self.name = name
            self.address = address
            self.alignment = alignment
            self.bytes = bytes
            self.size = size
            self.isAllocated = isAllocated
            self.isWritable = isWritable
            self.isExecutable = isExecutable
            self.isNoBits = isNoBits
        }
    }

    public struct Symbol: Sendable, Equatable {
        public var name: String
        public var value: UInt32
        public var size: UInt32
        public var kind: ELFFile.Symbol.Kind
        public var binding: ELFWriter.Binding
        /// The section the symbol's address lies in; nil for a number (`.equ N, 4`).
        public var section: String?

        public init(name: String, value: UInt32, size: UInt32 = 0, kind: ELFFile.Symbol.Kind = .none,
                    binding: ELFWriter.Binding = .local, section: String?) {
            self.name = name
            self.value = value
            self.size = size
            self.kind = kind
            self.binding = binding
            self.section = section
        }
    }

    public var sections: [Section]
    public var symbols: [Symbol]
    /// `_start` if the program defines it, else the base address.
    public var entry: UInt32

    public init(sections: [Section], symbols: [Symbol], entry: UInt32) {
        self.sections = sections
        self.symbols = symbols
        self.entry = entry
    }

    public func symbol(named name: String) -> Symbol? { symbols.first { $0.name == name } }

    public func section(named name: String) -> Section? { sections.first { $0.name == name } }

    /// The ELF model of this program: every section that has contents or symbols.
    public var elfWriter: ELFWriter {
        let used = Set(symbols.compactMap(\.section))
        let kept = sections.filter { $0.size > 0 || used.contains($0.name) }
        return ELFWriter(
            entry: entry,
            sections: kept.map { section in
                ELFWriter.Section(name: section.name, address: section.address, alignment: section.alignment,
                                  data: section.bytes, size: section.size, isAllocated: section.isAllocated,
                                  isWritable: section.isWritable, isExecutable: section.isExecutable,
                                  isNoBits: section.isNoBits)
            },
            symbols: symbols.map { symbol in
                ELFWriter.Symbol(name: symbol.name, value: symbol.value, size: symbol.size, kind: symbol.kind,
                                 binding: symbol.binding, section: symbol.section)
            })
    }

    /// An ELF32 little-endian RISC-V executable with one PT_LOAD segment per run of sections with
    /// the same permissions, and a symbol table.
    public func elfExecutable() -> [UInt8] { elfWriter.bytes() }

    /// The memory image from the lowest loaded address to the end of the last section with
    /// contents; gaps are zero, and `.bss` at the end is left out (it is zero anyway).
    public func flatBinary() -> [UInt8] {
        let loaded = sections.filter { $0.isAllocated && !$0.isNoBits && $0.size > 0 }
        guard let start = loaded.map(\.address).min(),
              let end = loaded.map({ UInt64($0.address) + UInt64($0.size) }).max() else { return [] }
        var image = [UInt8](repeating: 0, count: Int(end - UInt64(start)))
        for section in loaded {
            let offset = Int(section.address - start)
            image.replaceSubrange(offset..<(offset + section.bytes.count), with: section.bytes)
        }
        return image
    }
}
