import Machine
import RISCV

/// Hand-made ELF32 executables for the Linux layer's unit tests: a header, program headers, and
/// code encoded by the RISCV module, in one read+execute segment at 0x10000 (where GNU ld puts
/// static executables). Fields can be bent to make the bad files the loader must refuse.
struct TinyELF {
    struct ProgramHeader {
        var type: UInt32
        var offset: UInt32 = 0
        var virtualAddress: UInt32 = 0
        var fileSize: UInt32 = 0
        var memorySize: UInt32 = 0
        var flags: UInt32 = 6  // RW
    }

    var code: [Instruction]
    var base: UInt32 = 0x10000
    var fileType: UInt16 = 2  // ET_EXEC
    var flags: UInt32 = 0     // e_flags: soft-float, no RVC
    var codeFlags: UInt32 = 5 // R+X
    /// Extra program headers after the code segment's.
    var extraHeaders: [ProgramHeader] = []
    /// Bytes appended after the code (a PT_INTERP path, say); `trailerOffset` tells where.
    var trailer: [UInt8] = []
    var entryOverride: UInt32? = nil

    var headerCount: Int { 1 + extraHeaders.count }
    var codeOffset: UInt32 { UInt32(52 + 32 * headerCount) }
    var trailerOffset: UInt32 { codeOffset + UInt32(4 * code.count) }
    var entry: UInt32 { entryOverride ?? base + codeOffset }

    func bytes() throws -> [UInt8] {
        var out: [UInt8] = []
        func u16(_ v: UInt16) { out += [UInt8(v & 0xFF), UInt8(v >> 8)] }
        func u32(_ v: UInt32) { for k in 0..<4 { out.append(UInt8(truncatingIfNeeded: v >> (8 * UInt32(k)))) } }
        let total = trailerOffset + UInt32(trailer.count)
        out += [0x7F, 0x45, 0x4C, 0x46, 1, 1, 1, 0] + [UInt8](repeating: 0, count: 8)
        u16(fileType); u16(243); u32(1)
        u32(entry); u32(52); u32(0); u32(flags)
        u16(52); u16(32); u16(UInt16(headerCount)); u16(40); u16(0); u16(0)
        let codeHeader = ProgramHeader(type: 1, offset: 0, virtualAddress: base, fileSize: total, memorySize: total, flags: codeFlags)
        for h in [codeHeader] + extraHeaders {
            u32(h.type); u32(h.offset); u32(h.virtualAddress); u32(h.virtualAddress)
            u32(h.fileSize); u32(h.memorySize); u32(h.flags); u32(0x1000)
        }
        for instruction in code { u32(try instruction.encoded()) }
        out += trailer
        return out
    }

    func elf() throws -> ELFFile { try ELFFile(bytes: try bytes()) }

    // A few instructions, spelled the way assembly reads.
    static func li(_ rd: Register, _ value: Int32) -> Instruction { Instruction(.addi, rd: rd, rs1: .zero, immediate: value) }
    static func lui(_ rd: Register, _ value: UInt32) -> Instruction { Instruction(.lui, rd: rd, immediate: Int32(bitPattern: value & 0xFFFF_F000)) }
    static let ecall = Instruction(.ecall)
    static func exitGroup(statusFrom register: Register) -> [Instruction] {
        [Instruction(.addi, rd: .a0, rs1: register, immediate: 0), li(.a7, 94), ecall]
    }
}

extension Register {
    static let a2 = Register(12)
    static let s0 = Register(8)
    static let s1 = Register(9)
}
