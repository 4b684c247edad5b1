/// The whole-file listing: `vlab disasm file.elf`, laid out like `objdump -d`.
///
/// Beyond formatting single instructions, objdump's listing decides which symbol names each
/// address (`<main+0x1c>`), which bytes are code and which are data (the `$x`/`$d` mapping
/// symbols the GNU assembler emits), how long each instruction is (the low bits of its first
/// halfword), which runs of zero bytes to elide (`...`), and it follows `lui`/`auipc` into the
/// instructions that use the register to print the address they compute (`# 80001060 <msg>`).
/// This file reproduces each of those rules; `DisassemblerTests` compares whole listings with
/// objdump's, line by line.
///
/// Deliberate simplifications (documented differences):
/// - Always RV32IMA + Zicsr + Zifencei: an ELF whose attributes ask for C, F or V still gets
///   those encodings printed as `.2byte`/`.4byte`, where objdump would decode them.
/// - Weak symbols rank like local ones when several symbols share an address
///   (`ELFFile.Symbol` does not say which non-global symbols are weak).
/// - An instruction cut short by the section end or by the next symbol is decoded from the
///   bytes that are there; objdump prints "Address 0x... is out of bounds." instead.
extension Disassembler {
    /// objdump -d's text for every executable section of `elf`, as if the file were `fileName`.
    public func listing(of elf: ELFFile, fileName: String) -> String {
        var writer = ListingWriter(disassembler: self, elf: elf)
        writer.output = "\n\(fileName):     file format elf32-littleriscv\n\n"
        for index in elf.sections.indices {
            let section = elf.sections[index]
            guard section.isExecutable, !section.isNoBits, section.type != 0, section.size > 0 else { continue }
            writer.disassemble(sectionIndex: index)
        }
        return writer.output
    }
}

/// A symbol as objdump sorts and chooses them.
struct ListingSymbol {
    var name: String
    var value: UInt32
    var size: UInt32
    var kind: ELFFile.Symbol.Kind
    var isGlobal: Bool
    var sectionIndex: UInt16

    /// The GNU assembler's markers for code (`$x`, `$xrv32i2p1...`) and data (`$d`). They steer
    /// the listing but never name an address.
    var mappingState: ListingMappingState? {
        if name == "$d" { return .data }
        if name == "$x" || name.hasPrefix("$xrv") { return .code }
        return nil
    }

    var isAbsolute: Bool { sectionIndex == 0xFFF1 }

    /// Mapping symbols and the assembler's internal `.L0 ` labels (kept in object files for
    /// `%pcrel_lo` relocations) never name an address.
    var isNameable: Bool { mappingState == nil && name != ".L0 " }

    /// The name as objdump prints it: control characters (numeric local labels such as
    /// `.L1\u{2}1` contain one) written as `^B`.
    var printableName: String { ListingSymbol.printable(name) }
}

extension ListingSymbol {
    /// objdump's way of printing names with control characters in them.
    static func printable(_ name: String) -> String {
        var result = ""
        for scalar in name.unicodeScalars {
            if scalar.value < 0x20 {
                result += "^" + String(UnicodeScalar(UInt8(scalar.value + 0x40)))
            } else {
                result.unicodeScalars.append(scalar)
            }
        }
        return result
    }
}

/// What the bytes at an address are, per the assembler's mapping symbols.
enum ListingMappingState { case code, data }

/// objdump's order for symbols while it lists the section named `listedSection`: by address;
/// among symbols at one address the most telling name first (symbols of the listed section,
/// then functions and objects before plain labels, globals before locals, larger before
/// smaller, names not starting with "." first, then alphabetical). The first symbol in this
/// order is the one a listing prints.
func listingSymbolOrder(_ a: ListingSymbol, _ b: ListingSymbol, listedSection: String,
                        sectionNames: [String]) -> Bool {
    if a.value != b.value { return a.value < b.value }
    func inListedSection(_ s: ListingSymbol) -> Bool {
        !s.isAbsolute && Int(s.sectionIndex) < sectionNames.count && sectionNames[Int(s.sectionIndex)] == listedSection
    }
    if inListedSection(a) != inListedSection(b) { return inListedSection(a) }
    func compilerMarker(_ s: ListingSymbol) -> Bool {
        s.name.contains("gnu_compiled") || s.name.contains("gcc2_compiled")
    }
    if compilerMarker(a) != compilerMarker(b) { return !compilerMarker(a) }
    func looksLikeFileName(_ s: ListingSymbol) -> Bool {
        s.name.utf8.count > 2 && (s.name.hasSuffix(".o") || s.name.hasSuffix(".a"))
    }
    if looksLikeFileName(a) != looksLikeFileName(b) { return !looksLikeFileName(a) }
    if (a.kind == .function) != (b.kind == .function) { return a.kind == .function }
    if (a.kind == .object) != (b.kind == .object) { return a.kind == .object }
    if a.isGlobal != b.isGlobal { return a.isGlobal }
    if a.size != b.size { return a.size > b.size }
    if a.name.hasPrefix(".") != b.name.hasPrefix(".") { return !a.name.hasPrefix(".") }
    return Array(a.name.utf8).lexicographicallyPrecedes(Array(b.name.utf8))
}

/// The state of one listing as it is written: what objdump keeps between instructions.
struct ListingWriter {
    let disassembler: Disassembler
    let elf: ELFFile
    /// Every symbol objdump considers, sorted for the section being listed; includes mapping
    /// symbols.
    var symbols: [ListingSymbol]
    /// A relocatable file with relocations prefers symbols of the section being listed.
    let hasRelocations: Bool
    /// `__global_pointer$`, for gp-relative addresses.
    let globalPointer: UInt32?
    /// Each section's mapping symbols in objdump order (by address; among equal addresses the
    /// last one counts), so looking up the state at an address is a binary search.
    let mappingSymbols: [Int: [(value: UInt32, state: ListingMappingState)]]
    var output = ""
    /// The value `lui`/`auipc` last put in each register, until an instruction uses it.
    var upperAddress = [UInt32?](repeating: nil, count: 32)
    /// objdump prints hex bytes in the chunk size of the last thing it decoded.
    var lastChunkSize = 0

    init(disassembler: Disassembler, elf: ELFFile) {
        self.disassembler = disassembler
        self.elf = elf
        let useful = elf.symbols.filter { symbol in
            !symbol.name.isEmpty && symbol.kind != .section && symbol.kind != .file
                && symbol.sectionIndex != 0          // undefined
                && symbol.sectionIndex != 0xFFF2     // common
        }
        let sectionNames = elf.sections.map(\.name)
        symbols = useful.map {
            ListingSymbol(name: $0.name, value: $0.value, size: $0.size, kind: $0.kind,
                          isGlobal: $0.isGlobal, sectionIndex: $0.sectionIndex)
        }.sorted { listingSymbolOrder($0, $1, listedSection: "", sectionNames: sectionNames) }
        hasRelocations = elf.type == .relocatable && elf.sections.contains { $0.type == 4 || $0.type == 9 }
        globalPointer = symbols.first { $0.name == "__global_pointer$" }?.value
        var mapping: [Int: [(value: UInt32, state: ListingMappingState)]] = [:]
        for symbol in symbols {
            if let state = symbol.mappingState { mapping[Int(symbol.sectionIndex), default: []].append((symbol.value, state)) }
        }
        mappingSymbols = mapping
    }

    // MARK: Choosing symbols

    private func isNameable(_ index: Int, sectionIndex: Int, requireSection: Bool) -> Bool {
        let symbol = symbols[index]
        if requireSection && Int(symbol.sectionIndex) != sectionIndex { return false }
        return symbol.isNameable
    }

    /// The symbol that names `address`: the first (in objdump order) of the closest symbols at
    /// or below it, preferring the listed section; failing that the closest one above it.
    func symbol(for address: UInt32, sectionIndex: Int, requireSection: Bool) -> Int? {
        guard !symbols.isEmpty else { return nil }
        // The last symbol at or below the address, or the first symbol when all lie above it.
        var low = 0, high = symbols.count
        while low + 1 < high {
            let middle = (low + high) / 2
            if symbols[middle].value > address { high = middle } else { low = middle }
        }
        let groupValue = symbols[low].value
        var place = low
        while place > 0 && symbols[place - 1].value == groupValue { place -= 1 }
        var end = place
        while end < symbols.count && symbols[end].value == groupValue {
            if isNameable(end, sectionIndex: sectionIndex, requireSection: true) { return end }
            end += 1
        }
        let section = elf.sections[sectionIndex]
        let wantSection = requireSection
            || (hasRelocations && address >= section.address && address - section.address < section.size)
        if isNameable(place, sectionIndex: sectionIndex, requireSection: wantSection) { return place }
        var found: Int?
        var candidate = end - 1
        while candidate >= 0 {
            if isNameable(candidate, sectionIndex: sectionIndex, requireSection: wantSection) {
                if let f = found, symbols[candidate].value != symbols[f].value { break }
                found = candidate
            }
            candidate -= 1
        }
        if let found { return found }
        for later in (place + 1)..<max(place + 1, symbols.count)
        where isNameable(later, sectionIndex: sectionIndex, requireSection: wantSection) {
            return later
        }
        return nil
    }

    /// `<main+0x10>`, or `<.text+0x10>` (relative to the listed section) when no symbol fits.
    func symbolic(_ address: UInt32, sectionIndex: Int) -> String {
        let name: String, base: UInt32
        if let index = symbol(for: address, sectionIndex: sectionIndex, requireSection: false) {
            (name, base) = (symbols[index].printableName, symbols[index].value)
        } else {
            (name, base) = (ListingSymbol.printable(elf.sections[sectionIndex].name), elf.sections[sectionIndex].address)
        }
        return "<" + name + Self.offset(of: address, from: base) + ">"
    }

    /// How objdump prints an address an instruction refers to: `80000010 <main+0x10>`, or
    /// `0x80000010` when the file has no symbols at all.
    func describe(_ address: UInt32, sectionIndex: Int) -> String {
        symbols.isEmpty ? "0x" + Disassembler.hex(address) : Disassembler.hex(address) + " " + symbolic(address, sectionIndex: sectionIndex)
    }

    static func offset(of address: UInt32, from base: UInt32) -> String {
        if address > base { return "+0x" + Disassembler.hex(address - base) }
        if address < base { return "-0x" + Disassembler.hex(base - address) }
        return ""
    }

    // MARK: Sections and blocks

    mutating func disassemble(sectionIndex: Int) {
        let section = elf.sections[sectionIndex]
        let sectionNames = elf.sections.map(\.name)
        symbols.sort { listingSymbolOrder($0, $1, listedSection: section.name, sectionNames: sectionNames) }
        let bytes = Array(elf.contents(of: section))
        let start = section.address
        let end = start &+ UInt32(bytes.count)
        output += "\nDisassembly of section \(ListingSymbol.printable(section.name)):\n"
        let width = Self.addressWidth(sectionEnd: end)

        // Walk from symbol to symbol; each symbol starts a block with a label line.
        var offset = 0
        var current = symbol(for: start, sectionIndex: sectionIndex, requireSection: true)
        var place = current ?? 0
        while offset < bytes.count {
            let address = start &+ UInt32(offset)
            // The label names the block's own symbol, which lies after the address when the
            // section does not start with one (`<main-0x10>`).
            let (labelName, labelBase) = current.map { (symbols[$0].printableName, symbols[$0].value) }
                ?? (ListingSymbol.printable(section.name), section.address)
            output += "\n" + Self.padded(UInt64(address), 8) + " <" + labelName
                + Self.offset(of: address, from: labelBase) + ">:\n"
            var next: Int?
            if let c = current, symbols[c].value > address {
                next = c
            } else if let c = current {
                while place < symbols.count && !isNextLabel(place, after: symbols[c], sectionIndex: sectionIndex) {
                    place += 1
                }
                next = place < symbols.count ? place : nil
            }
            var stop = bytes.count
            if let n = next {
                let candidate = Int(Int64(symbols[n].value) - Int64(start))
                if candidate > offset && candidate <= bytes.count { stop = candidate }
            }
            // objdump dumps the bytes of an object symbol in an executable section as data.
            let isObject = current.map { symbols[$0].kind == .object && Int(symbols[$0].sectionIndex) == sectionIndex
                && symbols[$0].value <= address } ?? false
            writeBlock(bytes: bytes, sectionIndex: sectionIndex, from: offset, to: stop, width: width,
                       asInstructions: !isObject)
            offset = stop
            current = next
            if let n = next { place = n }
        }
    }

    private func isNextLabel(_ index: Int, after current: ListingSymbol, sectionIndex: Int) -> Bool {
        let symbol = symbols[index]
        return Int(symbol.sectionIndex) == sectionIndex && symbol.value > current.value && symbol.isNameable
    }

    /// objdump drops leading zero digits of addresses in groups of four, keeping enough for the
    /// section's end address: `   0:` in an object file, `80000000:` in an executable.
    static func addressWidth(sectionEnd: UInt32) -> Int {
        let digits = String(repeating: "0", count: 8 - Disassembler.hex(sectionEnd).count) + Disassembler.hex(sectionEnd)
        let zeros = digits.prefix { $0 == "0" }.count
        if zeros == 8 { return 8 }
        let skipped = zeros == 0 ? 0 : (zeros - 1) & ~3
        return 8 - skipped
    }

    private func addressColumn(_ address: UInt32, width: Int) -> String {
        let text = Disassembler.hex(address)
        return String(repeating: " ", count: max(0, width - text.count)) + text + ":\t"
    }

    // MARK: Bytes

    /// The index of the first mapping symbol of the section above `address`.
    private func firstMappingSymbol(after address: UInt32, in markers: [(value: UInt32, state: ListingMappingState)]) -> Int {
        var low = 0, high = markers.count
        while low < high {
            let middle = (low + high) / 2
            if markers[middle].value <= address { low = middle + 1 } else { high = middle }
        }
        return low
    }

    /// Code or data, as the last mapping symbol at or before the address says; code when there
    /// is none (objdump's default for an executable section).
    private func mappingState(at address: UInt32, sectionIndex: Int) -> ListingMappingState {
        guard let markers = mappingSymbols[sectionIndex] else { return .code }
        let next = firstMappingSymbol(after: address, in: markers)
        return next == 0 ? .code : markers[next - 1].state
    }

    /// How many bytes of data objdump shows as one item: up to a word, cut at the next mapping
    /// symbol or the section end, and never 3.
    private func dataLength(at address: UInt32, sectionIndex: Int, sectionEnd: UInt32) -> Int {
        var length: UInt32 = 4
        let markers = mappingSymbols[sectionIndex] ?? []
        let next = firstMappingSymbol(after: address, in: markers)
        if next < markers.count {
            length = min(length, markers[next].value - address)
        } else {
            length = min(length, sectionEnd &- address)
        }
        return length == 3 ? 2 : Int(length)
    }

    /// The length of the instruction starting with this halfword, from its low bits.
    static func instructionLength(_ halfword: UInt16) -> Int {
        if halfword & 0x3 != 0x3 { return 2 }
        if halfword & 0x1F != 0x1F { return 4 }
        if halfword & 0x3F == 0x1F { return 6 }
        if halfword & 0x7F == 0x3F { return 8 }
        if halfword & 0x7F == 0x7F && halfword & 0x7000 != 0x7000 { return 10 + Int(halfword >> 11 & 0xE) }
        return 2
    }

    private mutating func writeBlock(bytes: [UInt8], sectionIndex: Int, from: Int, to stop: Int, width: Int,
                                     asInstructions: Bool) {
        let section = elf.sections[sectionIndex]
        var offset = from
        while offset < stop {
            // Runs of zeros: at least 8 bytes (whole words, unless they reach the block end), or
            // a tail of fewer than 3 bytes, become "...".
            var zeros = 0
            while offset + zeros < stop && bytes[offset + zeros] == 0 { zeros += 1 }
            if zeros >= 8 || (offset + zeros == stop && zeros < 3) {
                if offset + zeros != stop { zeros &= ~3 }
                output += "\t...\n"
                offset += zeros
                continue
            }
            let address = section.address &+ UInt32(offset)
            guard asInstructions else {
                offset += writeObjectLine(bytes: bytes, at: offset, stop: stop, address: address, width: width)
                continue
            }
            let state = mappingState(at: address, sectionIndex: sectionIndex)
            let length: Int, chunk: Int, perLine: Int, text: String
            if state == .data || offset + 2 > bytes.count {
                length = min(dataLength(at: address, sectionIndex: sectionIndex,
                                        sectionEnd: section.address &+ UInt32(bytes.count)), bytes.count - offset)
                let value = Self.littleEndian(bytes, offset, length)
                switch length {
                case 4: text = ".word\t0x" + Self.padded(value, 8)
                case 2: text = ".short\t0x" + Self.padded(value, 4)
                default: text = ".byte\t0x" + Self.padded(value, 2)
                }
                chunk = length
                perLine = length == 1 ? 6 : 8
            } else {
                let first = UInt16(Self.littleEndian(bytes, offset, 2))
                length = Self.instructionLength(first)
                chunk = length % 4 == 0 ? 4 : 2
                perLine = 8
                text = instructionText(bytes: bytes, at: offset, length: length, address: address,
                                       sectionIndex: sectionIndex)
            }
            lastChunkSize = chunk
            output += hexLines(bytes: bytes, at: offset, length: length, chunk: chunk, perLine: perLine,
                               stop: stop, address: address, width: width, text: text)
            offset += length
        }
    }

    private mutating func instructionText(bytes: [UInt8], at offset: Int, length: Int, address: UInt32,
                                          sectionIndex: Int) -> String {
        let available = min(length, bytes.count - offset)
        switch length {
        case 2:
            return ".2byte\t0x" + Disassembler.hex(Self.littleEndian(bytes, offset, 2))
        case 4:
            // A word cut short by the section end decodes from the bytes that are there.
            let word = UInt32(truncatingIfNeeded: Self.littleEndian(bytes, offset, available & ~1))
            let rendered = disassembler.render(Instruction.decode(word), at: address)
            var text = rendered.text(targetPrefix: symbols.isEmpty ? "0x" : "")
            if let target = rendered.target, !symbols.isEmpty {
                text += " " + symbolic(target, sectionIndex: sectionIndex)
            }
            if let annotated = annotation(for: rendered, word: word, address: address) {
                text += " # " + describe(annotated, sectionIndex: sectionIndex)
            }
            return text
        case 8 where available == 8:
            return ".8byte\t0x" + Disassembler.hex(Self.littleEndian(bytes, offset, 8))
        default:
            let shown = bytes[offset..<offset + available].map { "0x" + Self.padded(UInt64($0), 2) }
            return ".byte\t" + shown.joined(separator: ", ")
        }
    }

    /// objdump's `# address` comment: `lui`/`auipc` remember a register's value; the next
    /// instruction that uses it as a base prints the sum (once). Bases `zero` and `tp` give the
    /// offset itself, `gp` is relative to `__global_pointer$`.
    private mutating func annotation(for rendered: RenderedInstruction, word: UInt32, address: UInt32) -> UInt32? {
        let instruction = Instruction.decode(word)
        switch instruction.operation {
        case .lui:
            upperAddress[Int(instruction.rd.number)] = UInt32(bitPattern: instruction.immediate)
        case .auipc:
            upperAddress[Int(instruction.rd.number)] = address &+ UInt32(bitPattern: instruction.immediate)
        default: break
        }
        guard let (base, offset) = rendered.addressBase else { return nil }
        var address = computedAddress(base: base, offset: offset)
        if rendered.addressBaseReadTwice, let second = computedAddress(base: base, offset: offset) {
            address = second
        }
        return address
    }

    private mutating func computedAddress(base: Register, offset: Int32) -> UInt32? {
        let displacement = UInt32(bitPattern: offset)
        let number = Int(base.number)
        if let upper = upperAddress[number] {
            upperAddress[number] = nil
            return (number == 0 ? 0 : upper) &+ displacement
        }
        if base == .gp, let gp = globalPointer { return gp &+ displacement }
        if base == .tp || base == .zero { return displacement }
        return nil
    }

    /// The address, hex bytes (in `chunk`-byte groups, `perLine` bytes a line), the text, and
    /// continuation lines for instructions longer than a line.
    private func hexLines(bytes: [UInt8], at offset: Int, length: Int, chunk: Int, perLine: Int, stop: Int,
                          address: UInt32, width: Int, text: String) -> String {
        var line = addressColumn(address, width: width)
        let firstLine = min(length, perLine)
        var position = 0
        while position < firstLine {
            if offset + position + chunk <= stop {
                line += Self.padded(Self.littleEndian(bytes, offset + position, chunk), chunk * 2)
            }
            line += " "
            position += chunk
        }
        var padding = firstLine
        while padding < perLine {
            line += String(repeating: " ", count: chunk * 2 + 1)
            padding += chunk
        }
        line += "\t" + text
        var shown = firstLine
        while shown < length {
            line += "\n" + addressColumn(address &+ UInt32(shown), width: width)
            let lineEnd = min(shown + perLine, length)
            while shown < lineEnd {
                if offset + shown + chunk <= stop {
                    line += Self.padded(Self.littleEndian(bytes, offset + shown, chunk), chunk * 2)
                }
                line += " "
                shown += chunk
            }
        }
        return line + "\n"
    }

    /// One line of an object's bytes: hex in the last chunk size, then the bytes as text.
    private mutating func writeObjectLine(bytes: [UInt8], at offset: Int, stop: Int, address: UInt32, width: Int) -> Int {
        let perLine = 16
        let count = min(perLine, stop - offset)
        let chunk = lastChunkSize == 0 ? 1 : lastChunkSize
        var line = addressColumn(address, width: width)
        var position = 0
        while position < count {
            if offset + position + chunk <= stop {
                line += Self.padded(Self.littleEndian(bytes, offset + position, chunk), chunk * 2)
            }
            line += " "
            position += chunk
        }
        var padding = count
        while padding < perLine {
            line += String(repeating: " ", count: chunk * 2 + 1)
            padding += chunk
        }
        line += "    "
        line += String(decoding: bytes[offset..<offset + count].map { (0x20...0x7E).contains($0) ? $0 : 0x2E },
                       as: UTF8.self)
        output += line + "\n"
        return count
    }

    static func littleEndian(_ bytes: [UInt8], _ offset: Int, _ count: Int) -> UInt64 {
        var value: UInt64 = 0
        for k in stride(from: min(count, bytes.count - offset) - 1, through: 0, by: -1) {
            value = value << 8 | UInt64(bytes[offset + k])
        }
        return value
    }

    static func padded(_ value: UInt64, _ digits: Int) -> String {
        let text = Disassembler.hex(value)
        return String(repeating: "0", count: max(0, digits - text.count)) + text
    }
}
