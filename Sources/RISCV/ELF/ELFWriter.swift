/// Writing an ELF32 little-endian RISC-V executable: the inverse of `ELFFile`.
///
/// The model is the sections (with addresses and contents) and the symbols; the program
/// headers are derived from the sections, one PT_LOAD per run of adjacent allocated sections
/// with the same permissions, so the loader's view and the section view always agree.
/// `init(entry:segments:symbols:)` goes the other way, for callers that only have segments
/// (a memory snapshot, say): each segment becomes one section.
///
/// File layout: ELF header, program headers, each segment's bytes at a file offset congruent to
/// its address modulo the 4 KiB page (as the ELF specification requires for p_align = 4096), the
/// contents of unloaded sections, the symbol and string tables, and last the section headers.
public struct ELFWriter: Sendable, Equatable {
    public enum Binding: Sendable, Equatable { case local, global, weak }

    public struct Section: Sendable, Equatable {
        public var name: String
        public var address: UInt32
        public var alignment: UInt32
        /// Contents; for `isNoBits` sections this is ignored and `size` zero bytes are implied.
        public var data: [UInt8]
        public var size: UInt32
        public var isAllocated: Bool
        public var isWritable: Bool
        public var isExecutable: Bool
        public var isNoBits: Bool

        public init(name: String, address: UInt32, alignment: UInt32 = 1, data: [UInt8], size: UInt32? = nil,
                    isAllocated: Bool = true, isWritable: Bool = false, isExecutable: Bool = false,
                    isNoBits: Bool = false) {
            self.name = name
            self.address = address
            self.alignment = alignment
            self.data = data
            self.size = isNoBits ? (size ?? 0) : UInt32(truncatingIfNeeded: data.count)
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
        public var binding: Binding
        /// The name of the section the symbol belongs to; nil (or a name no section has) writes an
        /// absolute symbol.
        public var section: String?

        public init(name: String, value: UInt32, size: UInt32 = 0, kind: ELFFile.Symbol.Kind = .none,
                    binding: Binding = .global, section: String?) {
            self.name = name
            self.value = value
            self.size = size
            self.kind = kind
            self.binding = binding
            self.section = section
        }
    }

    public var entry: UInt32
    public var sections: [Section]
    public var symbols: [Symbol]

    public init(entry: UInt32, sections: [Section], symbols: [Symbol] = []) {
        self.entry = entry
        self.sections = sections
        self.symbols = symbols
    }

    /// One section per segment, named by its permissions (`.text`, `.rodata`, `.data`; a suffix
    /// keeps names unique). The zero-filled tail of a segment (memory size beyond its data)
    /// becomes a following `.bss` section.
    public init(entry: UInt32, segments: [ELFFile.Segment], symbols: [Symbol] = []) {
        var sections: [Section] = []
        var used: [String: Int] = [:]
        func unique(_ name: String) -> String {
            let count = used[name, default: 0]
            used[name] = count + 1
            return count == 0 ? name : "\(name).\(count)"
        }
        for segment in segments {
            let base = segment.executable ? ".text" : segment.writable ? ".data" : ".rodata"
            if !segment.data.isEmpty {
                sections.append(Section(name: unique(base), address: segment.virtualAddress, data: segment.data,
                                        isWritable: segment.writable, isExecutable: segment.executable))
            }
            let dataSize = UInt32(truncatingIfNeeded: segment.data.count)
            if segment.memorySize > dataSize {
                sections.append(Section(name: unique(".bss"), address: segment.virtualAddress &+ dataSize, data: [],
                                        size: segment.memorySize - dataSize, isWritable: segment.writable,
                                        isExecutable: segment.executable, isNoBits: true))
            }
        }
        self.init(entry: entry, sections: sections, symbols: symbols)
    }

    // MARK: Writing

    static let pageSize: UInt64 = 0x1000
    static let headerSize = 52
    static let programHeaderSize = 32
    static let sectionHeaderSize = 40

    /// A PT_LOAD segment being planned: which sections (indices into `sections`) it covers.
    struct PlannedSegment {
        var members: [Int]
        var address: UInt64
        var fileSize: UInt64
        var memorySize: UInt64
        var writable: Bool
        var executable: Bool
        var fileOffset: UInt64 = 0
    }

    /// Groups allocated sections, in address order, into segments. A new segment starts when the
    /// permissions change, when the sections overlap or lie a page or more apart, or after a
    /// `@nobits` section (zero fill must be the tail of a segment).
    func planSegments() -> [PlannedSegment] {
        let order = sections.indices
            .filter { sections[$0].isAllocated && sections[$0].size > 0 }
            .sorted { sections[$0].address < sections[$1].address }
        var segments: [PlannedSegment] = []
        for index in order {
            let section = sections[index]
            let start = UInt64(section.address)
            let end = start + UInt64(section.size)
            if var last = segments.last,
               last.writable == section.isWritable, last.executable == section.isExecutable,
               start >= last.address + last.memorySize,
               start - (last.address + last.memorySize) < ELFWriter.pageSize,
               last.fileSize == last.memorySize {
                last.members.append(index)
                last.memorySize = end - last.address
                if !section.isNoBits { last.fileSize = last.memorySize }
                segments[segments.count - 1] = last
            } else {
                segments.append(PlannedSegment(
                    members: [index], address: start, fileSize: section.isNoBits ? 0 : end - start,
                    memorySize: end - start, writable: section.isWritable, executable: section.isExecutable))
            }
        }
        return segments
    }

    /// The file's bytes.
    public func bytes() -> [UInt8] {
        var segments = planSegments()
        var out = [UInt8](repeating: 0, count: ELFWriter.headerSize + segments.count * ELFWriter.programHeaderSize)
        var sectionOffsets = [UInt64](repeating: 0, count: sections.count)

        func pad(to alignment: UInt64) {
            while UInt64(out.count) % alignment != 0 { out.append(0) }
        }

        // Segment contents, each at an offset congruent to its address modulo the page size.
        for s in segments.indices {
            var offset = UInt64(out.count)
            let wanted = segments[s].address % ELFWriter.pageSize
            offset += (wanted + ELFWriter.pageSize - offset % ELFWriter.pageSize) % ELFWriter.pageSize
            out += [UInt8](repeating: 0, count: Int(offset) - out.count)
            segments[s].fileOffset = offset
            for index in segments[s].members {
                let section = sections[index]
                let sectionOffset = offset + (UInt64(section.address) - segments[s].address)
                sectionOffsets[index] = sectionOffset
                if section.isNoBits { continue }
                if UInt64(out.count) < sectionOffset {
                    out += [UInt8](repeating: 0, count: Int(sectionOffset) - out.count)
                }
                out += section.data
            }
            let end = offset + segments[s].fileSize
            if UInt64(out.count) < end { out += [UInt8](repeating: 0, count: Int(end) - out.count) }
        }

        // Sections outside every segment: unloaded ones, and empty allocated ones.
        for index in sections.indices where sectionOffsets[index] == 0 {
            let section = sections[index]
            pad(to: UInt64(max(section.alignment, 1)))
            sectionOffsets[index] = UInt64(out.count)
            if !section.isNoBits { out += section.data }
        }

        // Symbol table: the null symbol, then locals, then globals (the ELF rule; sh_info
        // counts the locals).
        var stringTable: [UInt8] = [0]
        func addString(_ s: String, to table: inout [UInt8]) -> UInt32 {
            if s.isEmpty { return 0 }
            let offset = UInt32(table.count)
            table += Array(s.utf8) + [0]
            return offset
        }
        let ordered = symbols.filter { $0.binding == .local } + symbols.filter { $0.binding != .local }
        var symbolTable = [UInt8](repeating: 0, count: 16)
        for symbol in ordered {
            let sectionIndex: UInt16
            if let name = symbol.section, let index = sections.firstIndex(where: { $0.name == name }) {
                sectionIndex = UInt16(index + 1)
            } else {
                sectionIndex = 0xFFF1  // SHN_ABS
            }
            let type: UInt8 = switch symbol.kind {
            case .none, .other: 0
            case .object: 1
            case .function: 2
            case .section: 3
            case .file: 4
            }
            let binding: UInt8 = switch symbol.binding {
            case .local: 0
            case .global: 1
            case .weak: 2
            }
            appendU32(&symbolTable, addString(symbol.name, to: &stringTable))
            appendU32(&symbolTable, symbol.value)
            appendU32(&symbolTable, symbol.size)
            symbolTable.append(binding << 4 | type)
            symbolTable.append(0)  // st_other: default visibility
            appendU16(&symbolTable, sectionIndex)
        }
        let localCount = 1 + ordered.filter { $0.binding == .local }.count

        pad(to: 4)
        let symbolTableOffset = UInt64(out.count)
        out += symbolTable
        let stringTableOffset = UInt64(out.count)
        out += stringTable

        var sectionNames: [UInt8] = [0]
        let nameOffsets = sections.map { addString($0.name, to: &sectionNames) }
        let symtabName = addString(".symtab", to: &sectionNames)
        let strtabName = addString(".strtab", to: &sectionNames)
        let shstrtabName = addString(".shstrtab", to: &sectionNames)
        let sectionNamesOffset = UInt64(out.count)
        out += sectionNames

        pad(to: 4)
        let sectionHeadersOffset = out.count
        // .symtab is section sections.count + 1; its string table follows it.
        let strtabIndex = sections.count + 2
        let shstrtabIndex = sections.count + 3
        out += [UInt8](repeating: 0, count: ELFWriter.sectionHeaderSize)  // SHN_UNDEF
        for (index, section) in sections.enumerated() {
            let flags: UInt32 = (section.isWritable ? 1 : 0) | (section.isAllocated ? 2 : 0) | (section.isExecutable ? 4 : 0)
            appendSectionHeader(&out, name: nameOffsets[index], type: section.isNoBits ? 8 : 1, flags: flags,
                                address: section.isAllocated ? section.address : 0,
                                offset: UInt32(truncatingIfNeeded: sectionOffsets[index]), size: section.size,
                                link: 0, info: 0, alignment: max(section.alignment, 1), entrySize: 0)
        }
        appendSectionHeader(&out, name: symtabName, type: 2, flags: 0, address: 0,
                            offset: UInt32(truncatingIfNeeded: symbolTableOffset), size: UInt32(symbolTable.count),
                            link: UInt32(strtabIndex), info: UInt32(localCount), alignment: 4, entrySize: 16)
        appendSectionHeader(&out, name: strtabName, type: 3, flags: 0, address: 0,
                            offset: UInt32(truncatingIfNeeded: stringTableOffset), size: UInt32(stringTable.count),
                            link: 0, info: 0, alignment: 1, entrySize: 0)
        appendSectionHeader(&out, name: shstrtabName, type: 3, flags: 0, address: 0,
                            offset: UInt32(truncatingIfNeeded: sectionNamesOffset), size: UInt32(sectionNames.count),
                            link: 0, info: 0, alignment: 1, entrySize: 0)

        // ELF header.
        var header: [UInt8] = [0x7F, 0x45, 0x4C, 0x46, 1, 1, 1, 0]  // magic, ELFCLASS32, little-endian, version 1, System V ABI
        header += [UInt8](repeating: 0, count: 8)
        appendU16(&header, 2)             // e_type: ET_EXEC
        appendU16(&header, 243)           // e_machine: EM_RISCV
        appendU32(&header, 1)             // e_version
        appendU32(&header, entry)
        appendU32(&header, segments.isEmpty ? 0 : UInt32(ELFWriter.headerSize))  // e_phoff
        appendU32(&header, UInt32(sectionHeadersOffset))
        appendU32(&header, 0)             // e_flags: soft-float ABI, no RVC
        appendU16(&header, UInt16(ELFWriter.headerSize))
        appendU16(&header, UInt16(ELFWriter.programHeaderSize))
        appendU16(&header, UInt16(segments.count))
        appendU16(&header, UInt16(ELFWriter.sectionHeaderSize))
        appendU16(&header, UInt16(shstrtabIndex + 1))  // e_shnum
        appendU16(&header, UInt16(shstrtabIndex))
        out.replaceSubrange(0..<ELFWriter.headerSize, with: header)

        var programHeaders: [UInt8] = []
        for segment in segments {
            appendU32(&programHeaders, 1)  // PT_LOAD
            appendU32(&programHeaders, UInt32(truncatingIfNeeded: segment.fileOffset))
            appendU32(&programHeaders, UInt32(truncatingIfNeeded: segment.address))
            appendU32(&programHeaders, UInt32(truncatingIfNeeded: segment.address))
            appendU32(&programHeaders, UInt32(truncatingIfNeeded: segment.fileSize))
            appendU32(&programHeaders, UInt32(truncatingIfNeeded: segment.memorySize))
            appendU32(&programHeaders, 4 | (segment.writable ? 2 : 0) | (segment.executable ? 1 : 0))  // PF_R|W|X
            appendU32(&programHeaders, UInt32(ELFWriter.pageSize))
        }
        out.replaceSubrange(ELFWriter.headerSize..<(ELFWriter.headerSize + programHeaders.count), with: programHeaders)
        return out
    }
}

private func appendU16(_ bytes: inout [UInt8], _ value: UInt16) {
    bytes.append(UInt8(truncatingIfNeeded: value))
    bytes.append(UInt8(truncatingIfNeeded: value >> 8))
}

private func appendU32(_ bytes: inout [UInt8], _ value: UInt32) {
    for shift in stride(from: 0, to: 32, by: 8) { bytes.append(UInt8(truncatingIfNeeded: value >> UInt32(shift))) }
}

private func appendSectionHeader(_ out: inout [UInt8], name: UInt32, type: UInt32, flags: UInt32, address: UInt32,
                                 offset: UInt32, size: UInt32, link: UInt32, info: UInt32, alignment: UInt32,
                                 entrySize: UInt32) {
    for field in [name, type, flags, address, offset, size, link, info, alignment, entrySize] {
        appendU32(&out, field)
    }
}
