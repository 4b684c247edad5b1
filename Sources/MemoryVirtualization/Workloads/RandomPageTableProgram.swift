import RISCV

/// A guest program that changes its page tables at random and touches memory through them: the
/// input for differential tests of memory virtualization (`TranslationAudit`), where the bare
/// machine is the oracle for every translation, fault included.
///
/// The program starts in M-mode, drops to S-mode and, from a seed, performs a random sequence of:
/// leaf PTE writes in two address spaces (map a frame with random R/W/X/U and A/D bits, unmap, or
/// write a reserved W-without-R pattern), root-entry changes (a level-0 table or a 4 MiB superpage
/// or nothing), satp switches between the two roots, and loads, stores and jumps (instruction
/// fetches) through 16 virtual pages in two megapages. Every change is followed by the fence the
/// ISA requires before the new mapping may be relied on (SFENCE.VMA of the page for a leaf,
/// a full fence for a root entry or a satp write), so the bare machine's behaviour is fully
/// specified and any VMM must reproduce it exactly. Page faults are taken by the program's own
/// S-mode handler, which counts them and skips the access. At the end it prints a checksum of
/// everything it loaded and the sum of the fault causes, and stops through the test finisher.
///
/// Physical layout (guest RAM of at least 8 MiB): code at 0x8000_0000; tables at 0x8020_0000
/// (roots A and B, then A's and B's level-0 tables for the two megapages); 16 data frames at
/// 0x8030_0000; the superpage target at 0x8040_0000. The kernel's own code and tables are reached
/// through an identity superpage at 0x8000_0000 in both roots.
public struct RandomPageTableProgram: Sendable {
    public let seed: UInt64
    public let operations: Int
    /// The program's assembly source (GNU syntax; the project's assembler or GNU as).
    public let source: String

    static let roots: [UInt32] = [0x8020_0000, 0x8020_1000]
    /// Level-0 tables: [root][megapage].
    static let levelZero: [[UInt32]] = [[0x8020_2000, 0x8020_3000], [0x8020_4000, 0x8020_5000]]
    static let dataFrames: [UInt32] = (0..<16).map { 0x8030_0000 + UInt32($0) * 4096 }
    static let superpageTarget: UInt32 = 0x8040_0000
    static let megapages: [UInt32] = [0x4000_0000, 0x4040_0000]
    static let slotsPerMegapage = 8

    public init(seed: UInt64, operations: Int = 300) {
        self.seed = seed
        self.operations = operations
        var generator = SplitMix64(seed: seed)
        source = Self.generate(&generator, operations: operations)
    }

    /// The program assembled at 0x8000_0000 as an ELF executable.
    public func image() throws(AssemblyError) -> ELFFile {
        let program = try Assembler.assemble(source: source, fileName: "random-pt-\(seed).S", base: 0x8000_0000)
        do {
            return try ELFFile(bytes: program.elfExecutable())
        } catch {
            throw AssemblyError(file: "random-pt-\(seed).S", line: 0, message: "the assembled program is not a valid ELF: \(error)")
        }
    }

    // MARK: Generation

    private static func generate(_ random: inout SplitMix64, operations: Int) -> String {
        var lines: [String] = [prologue]
        var active = 0  // the root satp points at
        for operation in 0..<operations {
            lines.append("    # \(operation)")
            switch random.next(100) {
            case 0..<30:
                // A leaf PTE in either address space, then the fence for that page.
                let root = random.next(2), megapage = random.next(2), slot = random.next(slotsPerMegapage)
                let entry = levelZero[root][megapage] + UInt32(slot) * 4
                lines += store(word: leafValue(&random), at: entry)
                if root == active {
                    lines.append("    li t0, 0x\(hex(virtualAddress(megapage, slot)))")
                    lines.append("    sfence.vma t0, zero")
                }
            case 30..<36:
                // A root entry: level-0 table, superpage, or nothing; then a full fence.
                let root = random.next(2), megapage = random.next(2)
                let value: UInt32
                switch random.next(3) {
                case 0: value = (levelZero[root][megapage] >> 12) << 10 | 1
                case 1: value = (superpageTarget >> 12) << 10 | permissionBits(&random)
                default: value = 0
                }
                lines += store(word: value, at: roots[root] + (megapages[megapage] >> 22) * 4)
                lines.append("    sfence.vma zero, zero")
            case 36..<44:
                active = random.next(2)
                lines.append("    li t0, 0x\(hex(0x8000_0000 | roots[active] >> 12))")
                lines.append("    csrw satp, t0")
                lines.append("    sfence.vma zero, zero")
            default:
                let megapage = random.next(2), slot = random.next(slotsPerMegapage)
                let page = virtualAddress(megapage, slot)
                switch random.next(3) {
                case 0:
                    lines.append("    li t0, 0x\(hex(page + 4 * UInt32(random.next(1024))))")
                    lines.append("    lw t1, 0(t0)")
                    lines.append("    add s1, s1, t1")
                    lines.append("    slli t1, s1, 5")
                    lines.append("    add s1, s1, t1")
                case 1:
                    // Never words 0-15: word 0 of every page stays `ret`.
                    lines.append("    li t0, 0x\(hex(page + 64 + 4 * UInt32(random.next(1008))))")
                    lines.append("    sw s1, 0(t0)")
                default:
                    lines.append("    li t0, 0x\(hex(page))")
                    lines.append("    jalr ra, 0(t0)")  // word 0 of every target page is `ret`
                    lines.append("    addi s1, s1, 1")
                }
            }
        }
        lines.append(epilogue)
        return lines.joined(separator: "\n") + "\n"
    }

    private static func virtualAddress(_ megapage: Int, _ slot: Int) -> UInt32 { megapages[megapage] + UInt32(slot) * 4096 }

    /// A random leaf or non-leaf-looking PTE for a data page: mostly valid mappings of one of the
    /// frames with random permissions, sometimes nothing, sometimes the reserved W-without-R.
    private static func leafValue(_ random: inout SplitMix64) -> UInt32 {
        let frame = dataFrames[random.next(dataFrames.count)]
        switch random.next(10) {
        case 0: return 0
        case 1: return (frame >> 12) << 10 | 0x4 | 0x1  // W without R: reserved, a page fault
        default: return (frame >> 12) << 10 | permissionBits(&random)
        }
    }

    /// V, one of R / RW / X / RX / RWX, U now and then (S-mode may not touch it), A and D at random.
    private static func permissionBits(_ random: inout SplitMix64) -> UInt32 {
        let permissions: [UInt32] = [0x2, 0x6, 0x8, 0xA, 0xE]
        var bits: UInt32 = 0x1 | permissions[random.next(permissions.count)]
        if random.next(10) == 0 { bits |= 0x10 }
        if random.next(2) == 0 { bits |= 0x40 }
        if random.next(2) == 0 { bits |= 0x80 }
        return bits
    }

    private static func store(word: UInt32, at address: UInt32) -> [String] {
        ["    li t0, 0x\(hex(address))", "    li t1, 0x\(hex(word))", "    sw t1, 0(t0)"]
    }

    private static func hex(_ value: UInt32) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: max(0, 8 - digits.count)) + digits
    }

    private static var prologue: String {
        let frameInitialization = (dataFrames + (0..<slotsPerMegapage).map { superpageTarget + UInt32($0) * 4096 }).enumerated()
            .map { index, frame in
                "    li t0, 0x\(hex(frame))\n    sw t2, 0(t0)\n    li t1, 0x\(hex(UInt32(index) &* 0x9E37_79B9))\n    sw t1, 4(t0)"
            }.joined(separator: "\n")
        let tableSetup = (0..<2).map { root in
            (0..<2).map { megapage in
                store(word: (levelZero[root][megapage] >> 12) << 10 | 1, at: roots[root] + (megapages[megapage] >> 22) * 4)
                    .joined(separator: "\n")
            }.joined(separator: "\n") + "\n" + store(word: 0x2000_0000 | 0xCF, at: roots[root] + 512 * 4).joined(separator: "\n")
        }.joined(separator: "\n")
        return """
            # A random page-table workload (RandomPageTableProgram). M-mode start, S-mode body.
                .text
                .globl _start
            _start:
                li t0, -1
                csrw pmpaddr0, t0
                li t0, 0x1f
                csrw pmpcfg0, t0
                li t0, 0xb000               # page faults (12, 13, 15) go to S-mode
                csrw medeleg, t0
                la t0, machine_trap
                csrw mtvec, t0
                li t2, 0x00008067           # `ret`, word 0 of every page a jump may reach
            \(frameInitialization)
            \(tableSetup)
                la t0, supervisor_trap
                csrw stvec, t0
                la t0, body
                csrw mepc, t0
                li t0, 0x1800
                csrc mstatus, t0
                li t0, 0x0800
                csrs mstatus, t0
                li s1, 0                    # checksum
                li s2, 0                    # sum of fault causes
                mret
            machine_trap:
                li t0, 0x100000
                li t1, 0x00033333           # exit status 3: nothing may reach M-mode
                sw t1, 0(t0)
            1:  j 1b
                .align 2
            supervisor_trap:                # count the page fault and skip the access
                csrr t3, scause
                add s2, s2, t3
                li t4, 12
                bne t3, t4, 1f
                csrw sepc, ra               # a jump's target faulted: go back to after the jump
                sret
            1:  csrr t4, sepc
                addi t4, t4, 4
                csrw sepc, t4
                sret
            body:
                li t0, 0x\(hex(0x8000_0000 | roots[0] >> 12))
                csrw satp, t0
                sfence.vma zero, zero
            """
    }

    private static let epilogue = """
            csrw satp, zero
            sfence.vma zero, zero
            la a1, label_checksum
            call print_string
            mv a0, s1
            call print_hex
            la a1, label_faults
            call print_string
            mv a0, s2
            call print_hex
            li a0, 10
            call print_char
            li t0, 0x100000
            li t1, 0x5555
            sw t1, 0(t0)
        2:  j 2b
        print_char:                     # a0 = the byte
            li t5, 0x10000000
        1:  lbu t6, 5(t5)
            andi t6, t6, 0x20
            beqz t6, 1b
            sb a0, 0(t5)
            ret
        print_string:                   # a1 = NUL-terminated string
            mv s4, ra
        1:  lbu a0, 0(a1)
            beqz a0, 2f
            call print_char
            addi a1, a1, 1
            j 1b
        2:  mv ra, s4
            ret
        print_hex:                      # a0 = the value, 8 hex digits
            mv s4, ra
            mv s5, a0
            li s6, 28
        1:  srl a0, s5, s6
            andi a0, a0, 15
            li t5, 10
            blt a0, t5, 2f
            addi a0, a0, 87
            j 3f
        2:  addi a0, a0, 48
        3:  call print_char
            addi s6, s6, -4
            bgez s6, 1b
            mv ra, s4
            ret
            .data
        label_checksum: .asciz "random page tables: checksum "
        label_faults: .asciz " faults "
        """
}

/// SplitMix64 (Steele, Lea, Flood 2014): a small, well-distributed generator whose whole
/// state is one word, so a seed names a program exactly.
struct SplitMix64 {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    /// A value in 0..<bound.
    mutating func next(_ bound: Int) -> Int { Int(next() % UInt64(bound)) }
}
