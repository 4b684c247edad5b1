import LabSupport
import LabTestSupport
import RISCV
import Testing

@Suite struct ArithmeticTests {
    @Test(arguments: registerCases(["add", "sub", "xor", "or", "and"]))
    func registerRegister(_ testCase: InstructionCase) { check(testCase) }

    @Test(arguments: [0, 1, -1, 2047, -2048, 0x555, -0x556].flatMap { immediate in
        ["addi", "xori", "ori", "andi"].flatMap { mnemonic in
            [UInt32(0), 1, 0xFFFF_FFFF, 0x8000_0000, 0x7FFF_FFFF, 0x1234_5678].map {
                InstructionCase("\(mnemonic) a0, a1, \(immediate)", [.a1: $0])
            }
        }
    })
    func registerImmediate(_ testCase: InstructionCase) { check(testCase) }

    @Test(arguments: [
        InstructionCase("lui a0, 0"), InstructionCase("lui a0, 0xfffff"), InstructionCase("lui a0, 0x80000"),
        InstructionCase("lui zero, 0x12345"), InstructionCase("auipc a0, 0"), InstructionCase("auipc a0, 0xfffff"),
        InstructionCase("auipc a0, 0x7ffff", pc: 0x1_0FF0), InstructionCase("addi zero, a1, 5", [.a1: 3]),
        InstructionCase("addi sp, sp, -16", [.sp: 0x4000_0000]),
    ])
    func upperImmediates(_ testCase: InstructionCase) { check(testCase) }
}

@Suite struct ShiftTests {
    @Test(arguments: registerCases(["sll", "srl", "sra"]))
    func registerShifts(_ testCase: InstructionCase) { check(testCase) }

    @Test(arguments: [0, 1, 4, 15, 16, 31].flatMap { amount in
        ["slli", "srli", "srai"].flatMap { mnemonic in
            [UInt32(0x8000_0001), 0xFFFF_FFFF, 0x7FFF_FFFF, 0x1234_5678].map {
                InstructionCase("\(mnemonic) a0, a1, \(amount)", [.a1: $0])
            }
        }
    })
    func immediateShifts(_ testCase: InstructionCase) { check(testCase) }
}

@Suite struct CompareTests {
    @Test(arguments: registerCases(["slt", "sltu"]))
    func setLessThan(_ testCase: InstructionCase) { check(testCase) }

    @Test(arguments: [0, 1, -1, 2047, -2048].flatMap { immediate in
        ["slti", "sltiu"].flatMap { mnemonic in
            [UInt32(0), 1, 0xFFFF_FFFF, 0x8000_0000, 0x7FFF_FFFF, 0xFFFF_F800].map {
                InstructionCase("\(mnemonic) a0, a1, \(immediate)", [.a1: $0])
            }
        }
    })
    func setLessThanImmediate(_ testCase: InstructionCase) { check(testCase) }
}

@Suite struct BranchTests {
    @Test(arguments: ["beq", "bne", "blt", "bge", "bltu", "bgeu"].flatMap { mnemonic in
        operandPairs.flatMap { pair in
            ["16", "-16", "4", "2044"].map { offset in
                InstructionCase("\(mnemonic) a1, a2, . + \(offset)", [.a1: pair.0, a2: pair.1])
            }
        }
    })
    func conditionalBranches(_ testCase: InstructionCase) { check(testCase) }

    /// Offsets that are multiples of 2 but not 4: legal encodings, misaligned targets without
    /// the C extension. Taken, they trap at the branch; not taken, nothing happens.
    @Test(arguments: ["beq", "bne", "bltu"].flatMap { mnemonic in
        [(UInt32(1), UInt32(1)), (1, 2)].flatMap { pair in
            [6, -2, 10].map { offset in
                InstructionCase(Instruction(Operation(mnemonic: mnemonic)!, rs1: .a1, rs2: a2, immediate: Int32(offset)), [.a1: pair.0, a2: pair.1])
            }
        }
    })
    func misalignedTargets(_ testCase: InstructionCase) { check(testCase) }
}

@Suite struct JumpTests {
    @Test(arguments: [
        InstructionCase("jal ra, . + 8"), InstructionCase("jal zero, . - 256"), InstructionCase("jal a0, . + 0xff0"),
        InstructionCase("jal ra, . + 0"),
        InstructionCase("jalr ra, 0(a0)", [.a0: 0x1_0400]), InstructionCase("jalr zero, -4(a0)", [.a0: 0x1_0404]),
        InstructionCase("jalr ra, 0(ra)", [.ra: 0x1_0800]), InstructionCase("jalr a0, 1(a0)", [.a0: 0x1_0400]),
        InstructionCase("jalr ra, 2047(a0)", [.a0: 0x1_0001]), InstructionCase("jalr ra, -2048(a0)", [.a0: 0x1_0800]),
    ])
    func jumps(_ testCase: InstructionCase) { check(testCase) }

    /// A misaligned target traps with mtval = the target and writes neither rd nor pc.
    @Test(arguments: [
        InstructionCase(Instruction(.jal, rd: .ra, immediate: 6)), InstructionCase(Instruction(.jal, rd: .ra, immediate: -2)),
        InstructionCase("jalr ra, 2(a0)", [.a0: 0x1_0400]), InstructionCase("jalr ra, 0(a0)", [.a0: 0x1_0403]),
        InstructionCase("jalr a0, 0(a0)", [.a0: 0x1_0402]),
    ])
    func misalignedTargets(_ testCase: InstructionCase) { check(testCase) }
}

@Suite struct LoadStoreTests {
    static let base = InstructionCase.dataPage + 0x800

    @Test(arguments: ["lb", "lh", "lw", "lbu", "lhu"].flatMap { mnemonic in
        [0, 1, 2, 3, 7, -1, -2048, 2044, 0x7F].map { offset in
            InstructionCase("\(mnemonic) a0, \(offset)(a1)", [.a1: base])
        }
    } + [InstructionCase("lw a1, 0(a1)", [.a1: base]), InstructionCase("lb zero, 0(a1)", [.a1: base])])
    func loads(_ testCase: InstructionCase) { check(testCase) }

    @Test(arguments: ["sb", "sh", "sw"].flatMap { mnemonic in
        [0, 1, 2, 3, -1, -2048, 2044].map { offset in
            InstructionCase("\(mnemonic) a2, \(offset)(a1)", [.a1: base, a2: 0x8899_AABB])
        }
    } + [InstructionCase("sw a1, 0(a1)", [.a1: base]), InstructionCase("sb zero, 5(a1)", [.a1: base])])
    func stores(_ testCase: InstructionCase) { check(testCase) }

    /// Outside memory: an access fault with mtval = the address, and no register written.
    @Test(arguments: [
        InstructionCase("lw a0, 0(a1)", [.a1: 0]), InstructionCase("lbu a0, 0(a1)", [.a1: 0x3000_0000]),
        InstructionCase("lw a0, -2(a1)", [.a1: InstructionCase.dataPage]),
        InstructionCase("sw a2, 0(a1)", [.a1: 0x10, a2: 1]), InstructionCase("sh a2, 0(a1)", [.a1: InstructionCase.dataPage + 4095, a2: 1]),
    ])
    func faults(_ testCase: InstructionCase) { check(testCase) }
}

@Suite struct MultiplyDivideTests {
    @Test(arguments: registerCases(["mul", "mulh", "mulhsu", "mulhu", "div", "divu", "rem", "remu"]))
    func products(_ testCase: InstructionCase) { check(testCase) }

    /// The specification's corner cases: division by zero and INT_MIN / -1.
    @Test(arguments: ["div", "divu", "rem", "remu"].flatMap { mnemonic in
        [(UInt32(0x8000_0000), UInt32(0xFFFF_FFFF)), (7, 0), (0xFFFF_FFF9, 0), (0, 0), (0x8000_0000, 0),
         (0xFFFF_FFF9, 2), (7, 0xFFFF_FFFE), (0xFFFF_FFF9, 0xFFFF_FFFE)].map { pair in
            InstructionCase("\(mnemonic) a0, a1, a2", [.a1: pair.0, a2: pair.1])
        }
    })
    func divisionEdgeCases(_ testCase: InstructionCase) { check(testCase) }
}

@Suite struct TrapTests {
    @Test(arguments: [
        InstructionCase("ecall"), InstructionCase("ebreak"), InstructionCase("fence"), InstructionCase("fence.i"),
        InstructionCase("fence rw, rw"),
        InstructionCase(word: 0x0000_0000), InstructionCase(word: 0xFFFF_FFFF), InstructionCase(word: 0x0000_0001),
        InstructionCase(word: 0x0200_1033),   // OP with funct7 = 1 but funct3 ... (mulh) is legal; this checks decode agrees
        InstructionCase(word: 0x4000_1013),   // slli with funct7 bit 30 set: reserved
        InstructionCase(word: 0x0000_3003),   // funct3 = 3 load (ld) on RV32: illegal
        InstructionCase(word: 0x0000_7063),   // branch funct3 = 2: illegal
    ])
    func systemAndUndecodable(_ testCase: InstructionCase) { check(testCase) }

    /// Instructions the lab hart does not implement (no CSRs, no A extension, user mode): each
    /// must raise illegal-instruction with its own word as mtval.
    @Test(arguments: ["csrrw a0, mscratch, a1", "csrrs a0, cycle, zero", "csrrwi a0, sstatus, 1", "lr.w a0, (a1)",
                      "amoadd.w a0, a2, (a1)", "mret", "sret", "wfi", "sfence.vma zero, zero"])
    func unimplementedInstructions(_ assembly: String) throws {
        var testCase = InstructionCase(assembly, [.a1: InstructionCase.dataPage])
        testCase.expectedTrap = Trap(.illegalInstruction, value: testCase.word)
        check(testCase)
    }
}
