import Testing
@testable import RISCV

/// The assembler on its own: expressions, pseudo-instructions, layout and every kind of error.
/// (AssemblerCorpusTests checks whole programs against GNU as + ld.)
@Suite struct AssemblerTests {
    func assemble(_ source: String, base: UInt32 = 0x8000_0000) throws -> AssembledProgram {
        try Assembler.assemble(source: source, fileName: "test.s", base: base)
    }

    /// The 32-bit little-endian words of a section.
    func words(_ source: String, section: String = ".text") throws -> [UInt32] {
        let bytes = try #require(try assemble(source).section(named: section)).bytes
        return stride(from: 0, to: bytes.count - 3, by: 4).map {
            UInt32(bytes[$0]) | UInt32(bytes[$0 + 1]) << 8 | UInt32(bytes[$0 + 2]) << 16 | UInt32(bytes[$0 + 3]) << 24
        }
    }

    func value(_ expression: String) throws -> UInt32 {
        try words(".data\n.word \(expression)", section: ".data")[0]
    }

    func error(_ source: String, include: @escaping (String) throws -> String = { name in throw IncludeError(name: name) })
        -> AssemblyError? {
        do {
            _ = try Assembler.assemble(source: source, fileName: "bad.s", include: include)
            return nil
        } catch {
            return error
        }
    }

    // MARK: Expressions

    @Test(arguments: [
        ("1 + 2 * 3", 7), ("(1 + 2) * 3", 9), ("1 + 2 & 3", 3), ("7 % 3", 1), ("-7 / 2", UInt32(bitPattern: -3)),
        ("1 << 4 | 1", 17), ("0x100 >> 4", 16), ("~0", 0xFFFF_FFFF), ("-1", 0xFFFF_FFFF), ("!5", 0), ("!0", 1),
        ("0b1010", 10), ("017", 15), ("0X1f", 31), ("'A'", 65), ("'\\n'", 10), ("'\\\\'", 92),
        ("6 ^ 3", 5), ("- - 4", 4), ("+4", 4), ("0xffffffff", 0xFFFF_FFFF), ("1 - 2 - 3", UInt32(bitPattern: -4)),
    ] as [(String, UInt32)])
    func expression(_ text: String, _ expected: UInt32) throws {
        #expect(try value(text) == expected, "\(text)")
    }

    @Test func locationAndLabelArithmetic() throws {
        let program = try assemble("""
            .data
            a: .word 0
            b: .word . - a, b - a, a + 4, . , END - a
            END:
            """)
        let data = try #require(program.section(named: ".data"))
        let base = data.address
        #expect(Array(data.bytes[4..<8]) == [4, 0, 0, 0])
        #expect(Array(data.bytes[8..<12]) == [4, 0, 0, 0])
        func word(_ at: Int) -> UInt32 {
            UInt32(data.bytes[at]) | UInt32(data.bytes[at + 1]) << 8 | UInt32(data.bytes[at + 2]) << 16 | UInt32(data.bytes[at + 3]) << 24
        }
        #expect(word(12) == base + 4)
        #expect(word(16) == base + 16)
        #expect(word(20) == 24)
    }

    @Test func setMayBeRedefinedAndEachUseSeesTheValueInForce() throws {
        #expect(try words(".data\n.set X, 1\n.word X\n.set X, X + 1\n.word X\nY = 7\n.word Y", section: ".data") == [1, 2, 7])
    }

    // MARK: Instructions and pseudo-instructions

    @Test func liExpandsLikeGNU() throws {
        #expect(try words("li a0, 5") == [0x0050_0513])
        #expect(try words("li a0, 0x80000000") == [0x8000_0537])
        #expect(try words("li a0, 0xffffffff") == [0xFFF0_0513])
        #expect(try words("li a0, 0x12345800") == [0x1234_6537, 0x8005_0513])
        #expect(try words("li a0, 0x7ffff800") == [0x8000_0537, 0x8005_0513])
    }

    @Test func numericLocalLabels() throws {
        // 1: nop / j 1b / j 1f / 1: j 1b : the backward and forward references find the nearest.
        #expect(try words("1: nop\nj 1b\nj 1f\n1: j 1b") == [0x0000_0013, 0xFFDF_F06F, 0x0040_006F, 0x0000_006F])
    }

    @Test func pcrelPairsAndCalls() throws {
        // la at 0: auipc a0, 0; addi a0, a0, 12 (the word at offset 12).
        #expect(try words("la a0, x\nnop\nx: .word 0")[0...1] == [0x0000_0517, 0x00C5_0513])
        #expect(try words("1: auipc t0, %pcrel_hi(y)\nlw t1, %pcrel_lo(1b)(t0)\ny: nop")[0...1] == [0x0000_0297, 0x0082_A303])
        #expect(try words("call f\nf: ret") == [0x0000_0097, 0x0080_80E7, 0x0000_8067])
    }

    @Test func hiLoOfAnAddress() throws {
        let program = try assemble("lui a0, %hi(v)\naddi a0, a0, %lo(v)\n.data\n.space 0xFF4\nv: .word 1", base: 0x8000_0000)
        let v = try #require(program.symbol(named: "v")).value
        #expect(v == 0x8000_0FFC)  // text is 8 bytes, data starts at 0x80000008
        let text = try #require(program.section(named: ".text")).bytes
        // %hi rounds up because %lo(0x80000ffc) = -4.
        #expect(Array(text[0..<8]) == [0x37, 0x15, 0x00, 0x80, 0x13, 0x05, 0xC5, 0xFF])
    }

    @Test func atomicsFencesAndSfence() throws {
        #expect(try words("amoadd.w.aqrl a0, a1, (a2)") == [0x06B6_252F])
        #expect(try words("lr.w.aq a0, (a1)") == [0x1405_A52F])
        #expect(try words("fence iorw, ow") == [0x0F50_000F])
        #expect(try words("fence") == [0x0FF0_000F])
        #expect(try words("sfence.vma") == [0x1200_0073])
        #expect(try words("sfence.vma a0, a1") == [0x12B5_0073])
    }

    @Test func csrNamesAndNumbers() throws {
        #expect(try words("csrr a0, mstatus") == [0x3000_2573])
        #expect(try words("csrr a0, 0x300") == [0x3000_2573])
        #expect(try words("rdtimeh a0") == [0xC810_2573])
        #expect(try words("csrw mstatus, 3") == [0x3001_D073])
    }

    // MARK: Layout and output

    @Test func layoutPutsCodeThenReadOnlyThenDataThenBss() throws {
        let program = try assemble("""
            .bss
            b: .space 4
            .data
            d: .byte 1
            .section .rodata
            r: .byte 2
            .text
            _start: nop
            .section .tohost, "aw", @progbits
            .align 6
            tohost: .word 0
            """, base: 0x1000)
        #expect(program.entry == 0x1000)
        #expect(program.symbol(named: "_start")?.value == 0x1000)
        #expect(program.symbol(named: "r")?.value == 0x1004)
        // The data group starts at its largest alignment (64, from .tohost), like ld's output section.
        #expect(program.symbol(named: "d")?.value == 0x1040)
        #expect(program.symbol(named: "tohost")?.value == 0x1080)
        #expect(program.symbol(named: "b")?.value == 0x1084)
        let flat = program.flatBinary()
        #expect(flat.count == 0x84)  // bss is not part of the flat image
        #expect(flat[0x40] == 1 && flat[4] == 2)
    }

    @Test func entryIsBaseWithoutStart() throws {
        #expect(try assemble("nop", base: 0x2000).entry == 0x2000)
    }

    @Test func includeUsesTheResolver() throws {
        let program = try Assembler.assemble(source: ".include \"a.inc\"\nli a0, N", fileName: "main.s") { name in
            #expect(name == "a.inc")
            return ".equ N, 42"
        }
        #expect(program.section(named: ".text")?.bytes == [0x13, 0x05, 0xA0, 0x02])
    }

    // MARK: Errors: one line, naming file and line

    @Test(arguments: [
        ("nop\nfrobnicate a0", 2, "unknown instruction 'frobnicate'"),
        ("addi a0, a1", 1, "addi expects rd, rs1, immediate, got 2 operands"),
        ("add a0, a1, q9", 1, "unknown register 'q9'"),
        ("\n\nj nowhere", 3, "undefined symbol `nowhere`"),
        ("addi a0, a0, 2048", 1, "addi: immediate 2048 is out of range [-2048, 2047]"),
        ("slli a0, a0, 32", 1, "slli: shift amount 32 is out of range [0, 31]"),
        ("lui a0, 0x100000", 1, "lui: immediate 1048576 is out of range [0, 1048575]"),
        ("beq a0, a1, far\n.space 4096\nfar: nop", 1, "beq: branch offset 4100 is out of range [-4096, 4095]"),
        ("x: nop\nx: nop", 2, "symbol `x` is already defined (at bad.s:1)"),
        (".align 99", 1, ".align: alignment 2^99 is out of range (0 to 24)"),
        (".balign 3", 1, ".balign: alignment 3 is not a power of 2 up to 2^24"),
        (".frob 1", 1, "unknown directive .frob"),
        (".data\n.byte 256", 2, "value 256 does not fit in 1 byte"),
        ("li a0, later\n.equ later, 1", 1, "symbol `later` must be defined before this use"),
        ("li a0, 0x100000000", 1, "li: value 4294967296 does not fit in 32 bits"),
        (".data\n.word 1/0", 2, "division by zero"),
        ("csrr a0, nosuchcsr", 1, "unknown CSR 'nosuchcsr'"),
        ("fence w, 0", 1, "bad fence operand '0'"),
        ("fence rw, wr", 1, "bad fence operand 'wr' (write it as 'rw')"),
        ("addi a0, a0, x\nx: nop", 1, "addi: the immediate must be a number; use %lo(...) or %pcrel_lo(...) for an address"),
        ("lui a0, %lo(x)\nx: nop", 1, "%lo cannot be used here (%hi and %pcrel_hi go with lui/auipc, %lo and %pcrel_lo with I- and S-type immediates)"),
        ("addi a0, a0, %pcrel_lo(x)\nx: nop", 1, "%pcrel_lo: no auipc with %pcrel_hi at that label"),
        ("beq a0, a1, 8", 1, "beq: branch target must be a label, not the number 8"),
        ("j 1f", 1, "undefined symbol local label 1"),
        (".bss\nnop", 2, "an instruction in .bss, a @nobits section that holds no data (use .space or .zero)"),
        (".ascii 5", 1, ".ascii expects a string in double quotes"),
        (".data\n.word \"abc", 2, "unterminated string"),
        ("/* never closed", 1, "unterminated /* comment"),
        ("amoadd.w a0, a1, 4(a2)", 1, "atomic instructions take no offset: write (a2)"),
        (".equ A, B\n.equ B, A\n.data\n.word A", 4, "`A`: symbol `A` is defined in terms of itself"),
        ("li a0, 1 +", 1, "missing expression"),
        ("nop a0", 1, "nop expects no operands, got 1 operand"),
        (".option rvc", 1, ".option rvc: compressed instructions are not supported (VirtLab's ISA is RV32IMA)"),
        (".space -1", 1, "negative size -1"),
        ("addi a0, a0, %foo(x)", 1, "unknown relocation operator %foo"),
    ] as [(String, Int, String)])
    func reportsError(_ source: String, _ line: Int, _ message: String) {
        let failure = error(source)
        #expect(failure?.file == "bad.s", "\(source)")
        #expect(failure?.line == line, "\(source)")
        #expect(failure?.message.hasPrefix(message) == true, "\(source): got \(failure?.message ?? "no error")")
        #expect(failure?.description.contains("\n") == false)
    }

    @Test func errorDescriptionIsFileLineMessage() {
        #expect(AssemblyError(file: "x.s", line: 3, message: "oops").description == "x.s:3: oops")
    }

    @Test func includeErrorsNameTheIncludedFile() {
        let missing = error(".include \"gone.inc\"")
        #expect(missing?.line == 1)
        #expect(missing?.message.hasPrefix("cannot include \"gone.inc\"") == true)
        let inside = error("nop\n.include \"bad.inc\"") { _ in "nop\n\nfrob" }
        #expect(inside?.file == "bad.inc")
        #expect(inside?.line == 3)
        let loop = error(".include \"self.inc\"") { _ in ".include \"self.inc\"" }
        #expect(loop?.message.contains("nested more than") == true)
    }

    @Test func garbageNeverCrashes() {
        // A sweep of odd inputs: each gives a value or an error, never a trap.
        let inputs = [
            "", ":", "::", "1:", "1", "(", ")", ",", ".word", ".word ,", "li", "li a0,", "lw a0, (",
            "lw a0, ()", "lw a0, 4(a0", "sw a0, 0(x99)", ". = . - 4", ".section", ".section \"\"", ".popsection",
            "%hi", "addi a0, a0, %hi(", "'", "\"", ".byte 'a", "9999999999999999999999", ".fill -1, 1, 0",
            "la a0", "call", "jalr", "csrw", "fence iorw", "sfence.vma a0, a1, a2", ".equ", ".set x",
            "x = ", ".type f, @nothing", ".size f", "lr.w.aq a0", "amoswap.w.aqrl a0, a1", ".include 5",
            ".p2align 2, 300", ".fill 0x4000000000000000, 8, 1", ". = -0x7fffffffffffffff", ".space 0x7fffffffffffffff", ".data\n.word 1f\n", ".dword 0xffffffffffffffffff", "\u{7F}", "é: nop",
        ]
        for input in inputs {
            _ = error(input)
        }
    }
}
