import RISCV

/// A program for the lab machine: bytes to place in memory, where to start, and what the
/// process gets as argv and standard input.
///
/// Two kinds are supported, and both run as a Linux user process would (same system-call ABI):
/// - a static RV32IM Linux ELF executable, such as the C guests in `Tests/Guests/linux`;
/// - assembly source, assembled by `RISCV.Assembler` at `LabLayout.codeBase`, for small
///   hand-written or generated programs.
public struct GuestProgram: Sendable {
    /// Bytes at an address; memory past `bytes` up to `size` is zero (bss).
    public struct Segment: Sendable, Equatable {
        public var address: UInt32
        public var bytes: [UInt8]
        public var size: UInt32
        public init(address: UInt32, bytes: [UInt8], size: UInt32) {
            self.address = address
            self.bytes = bytes
            self.size = max(size, UInt32(clamping: bytes.count))
        }
    }

    public var name: String
    public var segments: [Segment]
    public var entry: UInt32
    /// argv, argv[0] included.
    public var arguments: [String]
    /// What the program reads from file descriptor 0.
    public var input: [UInt8]

    public init(name: String, segments: [Segment], entry: UInt32, arguments: [String]? = nil, input: [UInt8] = []) throws(LabError) {
        guard !segments.isEmpty else { throw LabError("program \(name) has nothing to load") }
        for segment in segments {
            guard segment.address >= LabLayout.lowestAddress,
                  UInt64(segment.address) + UInt64(segment.size) <= UInt64(LabLayout.stackBottom) - UInt64(LabLayout.heapSize) else {
                throw LabError("program \(name): a segment at 0x\(hex8(segment.address)) (\(segment.size) bytes) lies outside 0x\(hex8(LabLayout.lowestAddress))..<0x\(hex8(LabLayout.stackBottom - LabLayout.heapSize)), where the lab machine loads programs")
            }
        }
        self.name = name
        self.segments = segments
        self.entry = entry
        self.arguments = arguments ?? [name]
        self.input = input
    }

    /// A static RV32 Linux executable.
    public static func linuxExecutable(_ bytes: [UInt8], name: String, arguments: [String]? = nil, input: [UInt8] = []) throws(LabError) -> GuestProgram {
        let elf: ELFFile
        do {
            elf = try ELFFile(bytes: bytes)
        } catch {
            throw LabError("program \(name) is not a readable ELF32 file: \(error)")
        }
        guard elf.type == .executable else { throw LabError("program \(name) is not an executable (ET_EXEC) ELF file") }
        let segments = elf.segments.map { Segment(address: $0.virtualAddress, bytes: $0.data, size: $0.memorySize) }
        return try GuestProgram(name: name, segments: segments, entry: elf.entry, arguments: arguments, input: input)
    }

    /// Assembles GNU-as source at `LabLayout.codeBase` (code first, then data; see `Assembler`).
    /// The program starts at the symbol `_start` if it has one, else at its first instruction.
    public static func assembly(_ source: String, name: String, arguments: [String]? = nil, input: [UInt8] = []) throws(LabError) -> GuestProgram {
        let assembled: AssembledProgram
        do {
            assembled = try Assembler.assemble(source: source, fileName: name, base: LabLayout.codeBase)
        } catch {
            throw LabError("\(error)")
        }
        let segments = assembled.sections.filter { $0.isAllocated && $0.size > 0 }
            .map { Segment(address: $0.address, bytes: $0.bytes, size: $0.size) }
        let entry = assembled.symbol(named: "_start")?.value ?? LabLayout.codeBase
        return try GuestProgram(name: name, segments: segments, entry: entry, arguments: arguments, input: input)
    }

    /// Where the program image ends (its highest segment byte + 1), rounded up to a page:
    /// the initial program break.
    public var imageEnd: UInt32 {
        let end = segments.map { UInt64($0.address) + UInt64($0.size) }.max() ?? UInt64(LabLayout.codeBase)
        return UInt32((end + UInt64(Memory.pageSize) - 1) & ~UInt64(Memory.pageSize - 1))
    }

    /// Where the image starts, rounded down to a page.
    public var imageStart: UInt32 {
        (segments.map(\.address).min() ?? LabLayout.codeBase) & ~(Memory.pageSize - 1)
    }

    /// The memory the lab machine gives this program: the image followed by room for the heap,
    /// and the stack.
    public var memoryRegions: [Memory.Region] {
        [Memory.Region(base: imageStart, size: imageEnd - imageStart + LabLayout.heapSize, name: "image and heap"),
         Memory.Region(base: LabLayout.stackBottom, size: LabLayout.stackTop - LabLayout.stackBottom, name: "stack")]
    }
}

/// Where the lab machine puts things. There is no paging, so these are the addresses the
/// program sees and the addresses of the bytes:
///
///     0x0000_0000 ..< 0x0000_1000   never memory: a null pointer faults
///     0x0001_0000 ...               the program image (GNU ld's default; assembly goes here too)
///     image end ..< + heapSize      the heap, grown with brk
///     ...                           nothing
///     stackBottom ..< stackTop      the stack (argc, argv, envp, auxv at the top)
public enum LabLayout {
    public static let lowestAddress: UInt32 = 0x1000
    public static let codeBase: UInt32 = 0x1_0000
    public static let heapSize: UInt32 = 8 << 20
    public static let stackTop: UInt32 = 0x4000_0000
    public static let stackBottom: UInt32 = stackTop - (1 << 20)
}
