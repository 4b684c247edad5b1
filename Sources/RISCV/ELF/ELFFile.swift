/// An ELF32 little-endian RISC-V executable, as far as loaders, disassemblers and traces need it:
/// the entry point, the loadable segments, the sections and the symbol table.
///
/// Parsing validates everything it touches and reports the first problem as an `ELFError`
/// (a truncated file, ELF64, big-endian, another machine), so a bad input never crashes the host.
public struct ELFFile: Sendable {
    public enum FileType: UInt16, Sendable { case relocatable = 1, executable = 2, shared = 3 }

    public struct Segment: Sendable, Equatable {
        public var virtualAddress: UInt32
        public var physicalAddress: UInt32
        /// The bytes stored in the file; the segment is zero-filled from `data.count` to `memorySize`.
        public var data: [UInt8]
        public var memorySize: UInt32
        public var readable: Bool
        public var writable: Bool
        public var executable: Bool

        public init(virtualAddress: UInt32, physicalAddress: UInt32? = nil, data: [UInt8], memorySize: UInt32? = nil,
                    readable: Bool = true, writable: Bool = false, executable: Bool = false) {
            self.virtualAddress = virtualAddress
            self.physicalAddress = physicalAddress ?? virtualAddress
            self.data = data
            self.memorySize = memorySize ?? UInt32(data.count)
            self.readable = readable
            self.writable = writable
            self.executable = executable
        }
    }

    public struct Section: Sendable, Equatable {
        public var name: String
        public var type: UInt32
        public var flags: UInt32
        public var address: UInt32
        public var offset: UInt32
        public var size: UInt32
        public var isExecutable: Bool { flags & 0x4 != 0 }
        public var occupiesMemory: Bool { flags & 0x2 != 0 }
        /// SHT_NOBITS (.bss): present in memory, absent from the file.
        public var isNoBits: Bool { type == 8 }
    }

    public struct Symbol: Sendable, Equatable {
        public enum Kind: Sendable, Equatable { case none, object, function, section, file, other }
        public var name: String
        public var value: UInt32
        public var size: UInt32
        public var kind: Kind
        public var isGlobal: Bool
        /// The index of the section the symbol is defined in (0 = undefined, 0xFFF1 = absolute).
        public var sectionIndex: UInt16
    }

    public var type: FileType
    public var entry: UInt32
    public var segments: [Segment]
    public var sections: [Section]
    public var symbols: [Symbol]
    /// The whole file, kept so section contents can be read back (the disassembler needs them).
    public var bytes: [UInt8]

    /// The value of the first symbol with this name (`tohost`, `_start`, ...).
    public func symbol(named name: String) -> Symbol? {
        symbols.first { $0.name == name }
    }

    /// The contents of a section (empty for .bss).
    public func contents(of section: Section) -> ArraySlice<UInt8> {
        guard !section.isNoBits else { return [] }
        let start = Int(section.offset)
        return bytes[start..<start + Int(section.size)]
    }

    /// The function or object symbol covering `address`, for traces ("main+0x14").
    public func symbolizing(_ address: UInt32) -> (symbol: Symbol, offset: UInt32)? {
        var best: Symbol?
        for s in symbols where (s.kind == .function || s.kind == .none || s.kind == .object)
            && !s.name.isEmpty && s.sectionIndex != 0 && s.value <= address {
            if address - s.value < max(s.size, 1) || s.size == 0 {
                if best == nil || s.value > best!.value { best = s }
            }
        }
        return best.map { ($0, address - $0.value) }
    }
}

/// What is wrong with a file that is not a loadable RV32 ELF.
public struct ELFError: Error, Equatable, Sendable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

extension ELFFile {
    static let machineRISCV: UInt16 = 243

    /// Parses an ELF32 little-endian RISC-V file.
    public init(bytes: [UInt8]) throws(ELFError) {
        let reader = ByteReader(bytes: bytes)
        guard bytes.count >= 4, bytes[0] == 0x7F, bytes[1] == 0x45, bytes[2] == 0x4C, bytes[3] == 0x46 else {
            throw ELFError("not an ELF file (bad magic number)")
        }
        guard bytes.count >= 52 else { throw ELFError("truncated ELF header (\(bytes.count) bytes)") }
        guard bytes[4] == 1 else {
            throw ELFError(bytes[4] == 2 ? "ELF64 file: VirtLab runs RV32 (ELF32) programs only" : "bad ELF class \(bytes[4])")
        }
        guard bytes[5] == 1 else { throw ELFError("big-endian ELF: RISC-V is little-endian") }
        let rawType = try reader.u16(at: 16)
        guard let type = FileType(rawValue: rawType) else { throw ELFError("unsupported ELF type \(rawType)") }
        let machine = try reader.u16(at: 18)
        guard machine == ELFFile.machineRISCV else {
            throw ELFError("ELF for machine \(machine), not RISC-V (243)")
        }
        self.type = type
        self.entry = try reader.u32(at: 24)
        let phoff = Int(try reader.u32(at: 28))
        let shoff = Int(try reader.u32(at: 32))
        let phentsize = Int(try reader.u16(at: 42))
        let phnum = Int(try reader.u16(at: 44))
        let shentsize = Int(try reader.u16(at: 46))
        let shnum = Int(try reader.u16(at: 48))
        let shstrndx = Int(try reader.u16(at: 50))
        self.bytes = bytes

        segments = []
        if phnum > 0 {
            guard phentsize >= 32 else { throw ELFError("bad program header size \(phentsize)") }
            for i in 0..<phnum {
                let base = phoff + i * phentsize
                guard try reader.u32(at: base) == 1 else { continue }  // PT_LOAD
                let offset = Int(try reader.u32(at: base + 4))
                let vaddr = try reader.u32(at: base + 8)
                let paddr = try reader.u32(at: base + 12)
                let filesz = Int(try reader.u32(at: base + 16))
                let memsz = try reader.u32(at: base + 20)
                let flags = try reader.u32(at: base + 24)
                guard offset <= bytes.count, filesz <= bytes.count - offset else {
                    throw ELFError("segment \(i) extends past the end of the file")
                }
                guard UInt32(filesz) <= memsz else { throw ELFError("segment \(i) has file size > memory size") }
                guard UInt64(vaddr) + UInt64(memsz) <= 1 << 32 else {
                    throw ELFError("segment \(i) wraps around the 32-bit address space")
                }
                segments.append(Segment(
                    virtualAddress: vaddr, physicalAddress: paddr,
                    data: Array(bytes[offset..<offset + filesz]), memorySize: memsz,
                    readable: flags & 4 != 0, writable: flags & 2 != 0, executable: flags & 1 != 0))
            }
        }

        sections = []
        symbols = []
        guard shnum > 0, shoff != 0 else { return }
        guard shentsize >= 40 else { throw ELFError("bad section header size \(shentsize)") }
        struct RawSection { var name: UInt32, type: UInt32, flags: UInt32, addr: UInt32, offset: UInt32, size: UInt32, link: UInt32, entsize: UInt32 }
        var raw: [RawSection] = []
        for i in 0..<shnum {
            let base = shoff + i * shentsize
            raw.append(RawSection(
                name: try reader.u32(at: base), type: try reader.u32(at: base + 4),
                flags: try reader.u32(at: base + 8), addr: try reader.u32(at: base + 12),
                offset: try reader.u32(at: base + 16), size: try reader.u32(at: base + 20),
                link: try reader.u32(at: base + 24), entsize: try reader.u32(at: base + 36)))
        }
        for (i, s) in raw.enumerated() where s.type != 8 && s.type != 0 {
            guard Int(s.offset) <= bytes.count, Int(s.size) <= bytes.count - Int(s.offset) else {
                throw ELFError("section \(i) extends past the end of the file")
            }
        }
        func string(in table: Int, at offset: UInt32) throws(ELFError) -> String {
            guard table < raw.count else { throw ELFError("bad string table index \(table)") }
            let t = raw[table]
            guard offset < t.size else { throw ELFError("string offset \(offset) outside its table") }
            var end = Int(t.offset + offset)
            let limit = Int(t.offset + t.size)
            while end < limit && bytes[end] != 0 { end += 1 }
            return String(decoding: bytes[Int(t.offset + offset)..<end], as: UTF8.self)
        }
        for s in raw {
            let name = shstrndx < raw.count ? try string(in: shstrndx, at: s.name) : ""
            sections.append(Section(name: name, type: s.type, flags: s.flags, address: s.addr, offset: s.offset, size: s.size))
        }
        for s in raw where s.type == 2 {  // SHT_SYMTAB
            let count = Int(s.size) / 16
            for k in 0..<count {
                let base = Int(s.offset) + k * 16
                let info = bytes[base + 12]
                let kind: Symbol.Kind
                switch info & 0xF {
                case 0: kind = .none
                case 1: kind = .object
                case 2: kind = .function
                case 3: kind = .section
                case 4: kind = .file
                default: kind = .other
                }
                symbols.append(Symbol(
                    name: try string(in: Int(s.link), at: try reader.u32(at: base)),
                    value: try reader.u32(at: base + 4), size: try reader.u32(at: base + 8),
                    kind: kind, isGlobal: info >> 4 == 1, sectionIndex: try reader.u16(at: base + 14)))
            }
        }
    }
}

/// Bounds-checked little-endian reads.
struct ByteReader {
    let bytes: [UInt8]
    func u16(at offset: Int) throws(ELFError) -> UInt16 {
        guard offset >= 0, offset + 2 <= bytes.count else { throw ELFError("truncated file: read past end at offset \(offset)") }
        return UInt16(bytes[offset]) | UInt16(bytes[offset + 1]) << 8
    }
    func u32(at offset: Int) throws(ELFError) -> UInt32 {
        guard offset >= 0, offset + 4 <= bytes.count else { throw ELFError("truncated file: read past end at offset \(offset)") }
        return UInt32(bytes[offset]) | UInt32(bytes[offset + 1]) << 8 | UInt32(bytes[offset + 2]) << 16 | UInt32(bytes[offset + 3]) << 24
    }
}
