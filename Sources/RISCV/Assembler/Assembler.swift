/// A two-pass assembler for the GNU-as dialect of RV32IMA + Zicsr + Zifencei.
///
/// Pass one reads the statements in order, defines labels, expands pseudo-instructions and
/// lays down every byte it can. Each instruction's size is known in pass one (GNU's `li` also
/// needs a constant that is already defined), so label offsets are final at the end of it.
/// Values that need an address (branch targets, `%hi`, `.word label`) become fix-ups.
/// Between the passes the sections are placed in memory (see `layOutSections`), and
/// pass two patches each fix-up with the now-known addresses. This is what GNU as and
/// `ld --no-relax` do together, in one program.
///
/// Layout rule, the same one `Tests/RISCVTests/AssemblerCorpus/link.ld` states for GNU ld:
/// allocated sections fall into four groups, placed in this order from `base`:
///   1. code      (flag `x`: `.text`, `.text.init`, ...)
///   2. read-only (flag `a` without `w`: `.rodata`, ...)
///   3. data      (flag `w`, with contents: `.data`, `.tohost`, ...)
///   4. bss       (`@nobits`: `.bss`, `.bss.*`)
/// Within a group sections keep the order in which the source first names them (`.text`,
/// `.data` and `.bss` exist from the start, as in GNU as). A group starts at the largest
/// alignment of its non-empty sections, and each section at its own alignment.
public enum Assembler {
    /// Assembles `source` into a program linked at `base`.
    ///
    /// - Parameters:
    ///   - fileName: the name errors are reported against.
    ///   - base: the address the first code section is placed at.
    ///   - include: returns the text of a file named by `.include "name"` (the caller decides
    ///     where files come from; this module does no I/O).
    public static func assemble(
        source: String, fileName: String, base: UInt32 = 0x8000_0000,
        include: (String) throws -> String = { name in throw IncludeError(name: name) }
    ) throws(AssemblyError) -> AssembledProgram {
        // The resolver is only called during this function, so it need not escape.
        try withoutActuallyEscaping(include) { (include) throws(AssemblyError) -> AssembledProgram in
            var assembler = AssemblerState(base: base, include: include)
            try assembler.assembleFile(source: source, fileName: fileName)
            try assembler.finishFirstPass()
            try assembler.layOutSections()
            try assembler.applyFixups()
            return try assembler.program()
        }
    }
}

/// What the default include resolver throws: no files are available.
public struct IncludeError: Error, CustomStringConvertible, Sendable {
    public var name: String
    public init(name: String) { self.name = name }
    public var description: String { "no include resolver was given, so \"\(name)\" cannot be read" }
}

/// A place in a section during assembly: section index and byte offset.
struct Location: Hashable, Sendable {
    var section: Int
    var offset: Int
}

/// One section being assembled.
struct SectionState {
    var name: String
    var allocated: Bool
    var writable: Bool
    var executable: Bool
    var noBits: Bool
    var alignment = 1
    var bytes: [UInt8] = []
    var noBitsSize = 0
    var address: Int64 = 0

    var size: Int { noBits ? noBitsSize : bytes.count }

    /// Section flags GNU as gives a name when `.section` states none.
    static func defaults(for name: String) -> SectionState {
        func named(_ prefix: String) -> Bool { name == prefix || name.hasPrefix(prefix + ".") }
        if named(".text") {
            return SectionState(name: name, allocated: true, writable: false, executable: true, noBits: false)
        }
        if named(".data") {
            return SectionState(name: name, allocated: true, writable: true, executable: false, noBits: false)
        }
        if named(".bss") {
            return SectionState(name: name, allocated: true, writable: true, executable: false, noBits: true)
        }
        if named(".rodata") {
            return SectionState(name: name, allocated: true, writable: false, executable: false, noBits: false)
        }
        return SectionState(name: name, allocated: false, writable: false, executable: false, noBits: false)
    }
}

/// How a symbol got its value.
enum SymbolDefinition {
    /// A label: an offset in a section.
    case label(Location)
    /// `.equ`/`.set`/`=`: an expression, evaluated where it was written (`.` means that spot).
    case expression(Expression, location: Location, file: String, line: Int)
}

struct SymbolRecord {
    enum Binding { case local, global, weak }
    /// Every definition with the statement number it came from; `.set` may redefine a symbol,
    /// and each use sees the definition in force at that point, as in GNU as.
    var definitions: [(sequence: Int, definition: SymbolDefinition, file: String, line: Int)] = []
    var binding = Binding.local
    var kind = ELFFile.Symbol.Kind.none
    var size: UInt32 = 0
    var isLabel = false
}

/// A value pass two computes and patches into the bytes.
struct Fixup {
    enum Kind {
        case data(width: Int, Expression)
        case instruction(PendingInstruction)
        case symbolSize(String, Expression)
    }
    var kind: Kind
    var location: Location
    var sequence: Int
    var file: String
    var line: Int
}

/// Where an expression is evaluated: which statement (for `.set` history), which address
/// `.` stands for, and whether the sections have been placed yet.
struct EvaluationContext {
    var sequence: Int
    var location: Location
    var file: String
    var line: Int
    /// In pass one a symbol must be defined before the statement that needs its value.
    var laidOut: Bool
}

struct AssemblerState {
    let base: UInt32
    let include: (String) throws -> String

    var sections: [SectionState] = [
        SectionState.defaults(for: ".text"), SectionState.defaults(for: ".data"), SectionState.defaults(for: ".bss"),
    ]
    var currentSection = 0
    var previousSection = 0
    var sectionStack: [(current: Int, previous: Int)] = []
    var symbols: [String: SymbolRecord] = [:]
    var symbolOrder: [String] = []
    var fixups: [Fixup] = []
    /// Each AUIPC written with `%pcrel_hi(x)`, by location, so a `%pcrel_lo(label)` can find its partner.
    var pcrelHighParts: [Location: (Expression, EvaluationContext)] = [:]
    /// How many times each numeric local label (`1:`) has been defined so far.
    var numericLabelCounts: [Int: Int] = [:]
    var sequence = 0
    var includeDepth = 0
    var ended = false
    /// The top-level file, named in messages that belong to no line.
    var mainFile = ""

    static let maximumSectionSize = 64 << 20
    static let maximumIncludeDepth = 32

    init(base: UInt32, include: @escaping (String) throws -> String) {
        self.base = base
        self.include = include
        // GNU as gives .text 4-byte alignment from the start (the size of an instruction).
        sections[0].alignment = 4
    }

    var location: Location { Location(section: currentSection, offset: sections[currentSection].size) }

    // MARK: Pass one

    mutating func assembleFile(source: String, fileName: String) throws(AssemblyError) {
        if includeDepth == 0 { mainFile = fileName }
        let statements = try SourceLexer(source: source, file: fileName).statements()
        for statement in statements {
            if ended { return }
            try assemble(statement)
        }
    }

    mutating func assemble(_ statement: Statement) throws(AssemblyError) {
        sequence += 1
        var tokens = statement.tokens[...]
        let file = statement.file, line = statement.line
        func error(_ message: String) -> AssemblyError { AssemblyError(file: file, line: line, message: message) }

        // Leading labels: `name:` and numeric `1:`, any number of them.
        while tokens.count >= 2, tokens[tokens.startIndex + 1] == .symbol(":") {
            switch tokens.first {
            case .identifier(let name)?:
                try defineLabel(name, file: file, line: line)
            case .number(let n)? where n >= 0 && n < 1 << 31:
                let count = numericLabelCounts[Int(n), default: 0] + 1
                numericLabelCounts[Int(n)] = count
                try defineLabel(AssemblerState.numericLabelName(Int(n), count), file: file, line: line)
            default:
                throw error("bad label '\(tokens.first.map { "\($0)" } ?? "")'")
            }
            tokens = tokens.dropFirst(2)
        }
        guard !tokens.isEmpty else { return }

        // `1b` and `1f` become the names of the definitions they mean at this point.
        let rewritten: [Token] = tokens.map { token in
            guard case .localLabel(let n, let forward) = token else { return token }
            let count = numericLabelCounts[n, default: 0] + (forward ? 1 : 0)
            return .identifier(AssemblerState.numericLabelName(n, count))
        }
        let context = EvaluationContext(sequence: sequence, location: location, file: file, line: line, laidOut: false)

        if rewritten.count >= 2, case .identifier(let name) = rewritten[0], rewritten[1] == .symbol("=") {
            let valueTokens = Array(rewritten.dropFirst(2))
            if name == "." {
                try moveLocation(to: valueTokens, context)
            } else {
                try assign(name, valueTokens, context, redefinable: true)
            }
            return
        }
        guard case .identifier(let head) = rewritten[0] else {
            throw error("expected an instruction or directive, found '\(rewritten[0])'")
        }
        let operands = AssemblerState.splitOperands(Array(rewritten.dropFirst()))
        if head.hasPrefix(".") {
            try directive(head, operands, context)
        } else {
            try instruction(head, operands, context)
        }
    }

    /// The internal name of the `count`-th definition of numeric label `n`. `.L` keeps it out of
    /// the symbol table (as GNU does); the control character keeps it from clashing with a source name.
    static func numericLabelName(_ n: Int, _ count: Int) -> String { ".L\(n)\u{2}\(count)" }

    /// How a symbol is named in messages: numeric labels as the programmer wrote them.
    static func displayName(_ name: String) -> String {
        if name.hasPrefix(".L"), let separator = name.firstIndex(of: "\u{2}") {
            let n = name[name.index(name.startIndex, offsetBy: 2)..<separator]
            return "local label \(n)"
        }
        return "`\(name)`"
    }

    /// Splits operand tokens on commas that are not inside parentheses.
    static func splitOperands(_ tokens: [Token]) -> [[Token]] {
        guard !tokens.isEmpty else { return [] }
        var result: [[Token]] = [[]]
        var depth = 0
        for token in tokens {
            switch token {
            case .symbol("("): depth += 1
            case .symbol(")"): depth -= 1
            case .symbol(",") where depth == 0:
                result.append([])
                continue
            default: break
            }
            result[result.count - 1].append(token)
        }
        return result
    }

    mutating func record(_ name: String) -> SymbolRecord {
        if let existing = symbols[name] { return existing }
        symbolOrder.append(name)
        return SymbolRecord()
    }

    mutating func defineLabel(_ name: String, file: String, line: Int) throws(AssemblyError) {
        var symbol = record(name)
        if let first = symbol.definitions.first {
            throw AssemblyError(file: file, line: line, message:
                "symbol \(AssemblerState.displayName(name)) is already defined (at \(first.file):\(first.line))")
        }
        symbol.isLabel = true
        symbol.definitions.append((sequence, .label(location), file, line))
        symbols[name] = symbol
    }

    mutating func assign(_ name: String, _ tokens: [Token], _ context: EvaluationContext,
                         redefinable: Bool) throws(AssemblyError) {
        let expression = try parseExpression(tokens, context)
        var symbol = record(name)
        if let first = symbol.definitions.first, symbol.isLabel || !redefinable {
            throw AssemblyError(file: context.file, line: context.line, message:
                "symbol \(AssemblerState.displayName(name)) is already defined (at \(first.file):\(first.line))")
        }
        symbol.definitions.append((sequence,
            .expression(expression, location: context.location, file: context.file, line: context.line),
            context.file, context.line))
        symbols[name] = symbol
    }

    /// `. = expr`: advances the location counter within the current section, filling with zeros.
    mutating func moveLocation(to tokens: [Token], _ context: EvaluationContext) throws(AssemblyError) {
        let target = try evaluate(try parseExpression(tokens, context), context)
        let here = location
        guard target.section == here.section else {
            throw AssemblyError(file: context.file, line: context.line,
                                message: "'. =' needs an address in the current section")
        }
        let count = target.offset &- Int64(here.offset)
        guard count >= 0 else {
            throw AssemblyError(file: context.file, line: context.line, message: "'. =' cannot move backwards")
        }
        try emitFill(count: count, byte: 0, context)
    }

    func parseExpression(_ tokens: [Token], _ context: EvaluationContext) throws(AssemblyError) -> Expression {
        guard !tokens.isEmpty else {
            throw AssemblyError(file: context.file, line: context.line, message: "missing expression")
        }
        switch ExpressionParser.parse(tokens) {
        case .success(let expression): return expression
        case .failure(let failure):
            throw AssemblyError(file: context.file, line: context.line, message: failure.message)
        }
    }

    // MARK: Emitting bytes

    mutating func requireContents(_ what: String, _ context: EvaluationContext) throws(AssemblyError) {
        if sections[currentSection].noBits {
            throw AssemblyError(file: context.file, line: context.line, message:
                "\(what) in \(sections[currentSection].name), a @nobits section that holds no data (use .space or .zero)")
        }
    }

    mutating func grow(by count: Int, _ context: EvaluationContext) throws(AssemblyError) {
        guard sections[currentSection].size + count <= AssemblerState.maximumSectionSize else {
            throw AssemblyError(file: context.file, line: context.line, message:
                "section \(sections[currentSection].name) would exceed \(AssemblerState.maximumSectionSize >> 20) MiB")
        }
    }

    mutating func emit(_ bytes: [UInt8], _ context: EvaluationContext) throws(AssemblyError) {
        try requireContents("data", context)
        try grow(by: bytes.count, context)
        sections[currentSection].bytes.append(contentsOf: bytes)
    }

    mutating func emitFill(count: Int64, byte: UInt8, _ context: EvaluationContext) throws(AssemblyError) {
        guard count >= 0 else {
            throw AssemblyError(file: context.file, line: context.line, message: "negative size \(count)")
        }
        guard count <= Int64(AssemblerState.maximumSectionSize) else {
            throw AssemblyError(file: context.file, line: context.line, message: "size \(count) is too large")
        }
        try grow(by: Int(count), context)
        if sections[currentSection].noBits {
            guard byte == 0 else {
                throw AssemblyError(file: context.file, line: context.line,
                                    message: "a @nobits section can only be filled with zeros")
            }
            sections[currentSection].noBitsSize += Int(count)
        } else {
            sections[currentSection].bytes.append(contentsOf: repeatElement(byte, count: Int(count)))
        }
    }

    /// Reserves `width` bytes for a value pass two computes.
    mutating func emitFixup(_ kind: Fixup.Kind, width: Int, _ context: EvaluationContext) throws(AssemblyError) {
        let here = location
        try emit([UInt8](repeating: 0, count: width), context)
        fixups.append(Fixup(kind: kind, location: here, sequence: context.sequence, file: context.file, line: context.line))
    }

    /// Pads to a multiple of `alignment` bytes, as `.p2align`/`.balign` do.
    ///
    /// GNU as (with `-mno-relax`) pads code sections with NOPs unless a fill byte is given, and treats
    /// an alignment of 4 bytes or less there as already met: instructions are assumed aligned. The
    /// section's own alignment rises either way, which is what places it in the linked image.
    mutating func align(to alignment: Int, fill: UInt8?, maximumSkip: Int?, _ context: EvaluationContext) throws(AssemblyError) {
        sections[currentSection].alignment = max(sections[currentSection].alignment, alignment)
        let offset = sections[currentSection].size
        let padding = (alignment - offset % alignment) % alignment
        if let maximumSkip, padding > maximumSkip { return }
        let section = sections[currentSection]
        if section.executable && !section.noBits && fill == nil {
            if alignment <= 4 { return }
            try grow(by: padding, context)
            sections[currentSection].bytes.append(contentsOf: AssemblerState.codePadding(padding))
        } else {
            try emitFill(count: Int64(padding), byte: fill ?? 0, context)
        }
    }

    /// The bytes GNU as pads code with: a zero byte to reach an even address, a 2-byte `c.nop`
    /// (0x0001) to reach a multiple of four, then 4-byte `nop`s (`addi x0, x0, 0`).
    static func codePadding(_ count: Int) -> [UInt8] {
        var bytes: [UInt8] = []
        var remaining = count
        if remaining % 2 == 1 { bytes.append(0); remaining -= 1 }
        if remaining % 4 == 2 { bytes += [0x01, 0x00]; remaining -= 2 }
        for _ in 0..<(remaining / 4) { bytes += [0x13, 0x00, 0x00, 0x00] }
        return bytes
    }

    // MARK: Between the passes

    /// GNU as pads the end of every code section to the section's alignment with NOPs.
    mutating func finishFirstPass() throws(AssemblyError) {
        for index in sections.indices where sections[index].executable && !sections[index].noBits {
            let size = sections[index].bytes.count
            let alignment = sections[index].alignment
            sections[index].bytes += AssemblerState.codePadding((alignment - size % alignment) % alignment)
        }
    }

    enum Group: CaseIterable { case code, readOnly, data, bss }

    static func group(of section: SectionState) -> Group? {
        guard section.allocated else { return nil }
        if section.executable { return .code }
        if !section.writable { return .readOnly }
        return section.noBits ? .bss : .data
    }

    /// Places the allocated sections from `base` by the rule in the type's documentation.
    mutating func layOutSections() throws(AssemblyError) {
        var address = Int64(base)
        func alignUp(_ value: Int64, _ alignment: Int) -> Int64 {
            let a = Int64(alignment)
            return (value + a - 1) / a * a
        }
        for group in Group.allCases {
            let members = sections.indices.filter { AssemblerState.group(of: sections[$0]) == group }
            guard !members.isEmpty else { continue }
            let groupAlignment = members.filter { sections[$0].size > 0 }.map { sections[$0].alignment }.max() ?? 1
            address = alignUp(address, groupAlignment)
            for index in members {
                address = alignUp(address, sections[index].alignment)
                sections[index].address = address
                address += Int64(sections[index].size)
            }
        }
        guard address <= 1 << 32 else {
            throw AssemblyError(file: mainFile, line: 0, message:
                "the program does not fit in the 32-bit address space when placed at 0x\(String(base, radix: 16))")
        }
    }
}
