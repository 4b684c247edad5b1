import RISCV

/// What the loader needs from an ELF file, checked against what this kernel can run: a static
/// RV32 executable whose segments fit the user layout (`LinuxUserLayout`).
struct LinuxExecutableImage {
    struct Segment {
        var start: UInt32
        var end: UInt32  // exclusive
        var data: [UInt8]
        var permissions: UserAddressSpace.Permissions
    }

    var segments: [Segment] = []
    /// Where the program headers are in the process's memory (AT_PHDR), and how many (AT_PHNUM).
    var programHeaderAddress: UInt32 = 0
    var programHeaderCount: UInt32 = 0

    init(_ elf: ELFFile) throws(LinuxError) {
        guard elf.type == .executable else {
            let kind = elf.type == .shared ? "DYN (a shared object or position-independent executable: link with -static -no-pie)"
                : "REL (an object file: link it first)"
            throw LinuxError("ELF type is not EXEC: it is \(kind)")
        }
        let bytes = elf.bytes
        func u16(_ offset: Int) throws(LinuxError) -> UInt32 {
            guard offset >= 0, offset + 2 <= bytes.count else { throw LinuxError("truncated ELF file: no bytes at offset \(offset)") }
            return UInt32(bytes[offset]) | UInt32(bytes[offset + 1]) << 8
        }
        func u32(_ offset: Int) throws(LinuxError) -> UInt32 {
            try u16(offset) | (try u16(offset + 2)) << 16
        }
        // e_flags: bit 0 says the code uses compressed instructions, bits 1-2 the float ABI.
        let flags = try u32(36)
        if flags & 1 != 0 {
            throw LinuxError("the program uses compressed (RVC) instructions, which VirtLab's RV32IMA harts do not implement "
                + "(compile with -march=rv32im or rv32ima)")
        }
        if (flags >> 1) & 3 != 0 {
            let abi = ["", "ilp32f", "ilp32d", "ilp32q"][Int((flags >> 1) & 3)]
            throw LinuxError("the program uses the hard-float ABI (\(abi)); VirtLab's harts have no F or D extension "
                + "(compile with -mabi=ilp32)")
        }

        let headerOffset = Int(try u32(28))
        let headerSize = Int(try u16(42))
        let headerCount = Int(try u16(44))
        guard headerCount == 0 || headerSize >= 32 else { throw LinuxError("bad program header size \(headerSize)") }
        programHeaderCount = UInt32(headerCount)
        var headerAddress: UInt32? = nil
        for i in 0..<headerCount {
            let base = headerOffset + i * headerSize
            let type = try u32(base)
            if type == 3 {  // PT_INTERP: the path of a dynamic linker
                let offset = Int(try u32(base + 4)), size = Int(try u32(base + 16))
                var path = ""
                if offset <= bytes.count, size <= bytes.count - offset {
                    path = String(decoding: bytes[offset..<offset + size].prefix { $0 != 0 }, as: UTF8.self)
                }
                throw LinuxError("not a static executable: has PT_INTERP \(path) (link with -static)")
            }
            if type == 1 {  // PT_LOAD: does it hold the program headers themselves?
                let offset = UInt64(try u32(base + 4)), address = UInt64(try u32(base + 8)), fileSize = UInt64(try u32(base + 16))
                if UInt64(headerOffset) >= offset, UInt64(headerOffset) + UInt64(headerCount * headerSize) <= offset + fileSize {
                    headerAddress = UInt32(truncatingIfNeeded: address + UInt64(headerOffset) - offset)
                }
            }
        }
        programHeaderAddress = headerAddress ?? 0

        for segment in elf.segments where segment.memorySize > 0 {
            let start = segment.virtualAddress
            let end = UInt64(start) + UInt64(segment.memorySize)
            let range = "0x\(hex(start))-0x\(hex(UInt32(truncatingIfNeeded: end - 1)))"
            guard start >= LinuxUserLayout.lowestUserAddress else {
                throw LinuxError("segment at \(range) maps page zero, which stays unmapped so null pointers fault")
            }
            guard end <= UInt64(LinuxUserLayout.kernelReservedStart) else {
                throw LinuxError("segment at \(range) overlaps the kernel's reserved area "
                    + "(0x\(hex(LinuxUserLayout.kernelReservedStart)) and up)")
            }
            guard end <= UInt64(LinuxUserLayout.heapLimit) else {
                throw LinuxError("segment at \(range) overlaps the stack "
                    + "(0x\(hex(LinuxUserLayout.stackLimit))-0x\(hex(LinuxUserLayout.stackTop - 1)) and its guard page)")
            }
            var permissions: UserAddressSpace.Permissions = []
            if segment.readable { permissions.insert(.read) }
            if segment.writable { permissions.insert(.write) }
            if segment.executable { permissions.insert(.execute) }
            segments.append(Segment(start: start, end: UInt32(end), data: segment.data, permissions: permissions))
        }
        guard !segments.isEmpty else { throw LinuxError("the ELF file has no loadable segment") }
        guard segments.contains(where: { $0.permissions.contains(.execute) && elf.entry >= $0.start && elf.entry < $0.end }) else {
            throw LinuxError("entry point 0x\(hex(elf.entry)) is in no executable segment")
        }
    }
}
