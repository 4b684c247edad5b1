/// One decoded RV32 instruction: an operation and its operand fields.
///
/// A plain value of 12 bytes, so decoding allocates nothing and an interpreter can
/// keep thousands of them in a cache. Fields an operation does not use are zero.
public struct Instruction: Hashable, Sendable {
    public var operation: Operation
    public var rd: Register
    public var rs1: Register
    public var rs2: Register
    /// The immediate, sign-extended and already scaled to the value the instruction uses:
    /// the byte offset for branches and jumps, `imm << 12` for LUI/AUIPC, the shift amount for
    /// shifts, the 5-bit `uimm` for CSR-immediate forms, and `fm|pred|succ` (imm[11:0]) for FENCE.
    /// For `.illegal` it holds the raw word (bit pattern), so nothing about the input is lost.
    public var immediate: Int32
    /// The CSR number for the Zicsr operations.
    public var csr: UInt16
    /// The A extension's ordering bits: aq (acquire) and rl (release).
    public var acquire: Bool
    public var release: Bool

    @inlinable
    public init(
        _ operation: Operation, rd: Register = .zero, rs1: Register = .zero, rs2: Register = .zero,
        immediate: Int32 = 0, csr: UInt16 = 0, acquire: Bool = false, release: Bool = false
    ) {
        self.operation = operation
        self.rd = rd
        self.rs1 = rs1
        self.rs2 = rs2
        self.immediate = immediate
        self.csr = csr
        self.acquire = acquire
        self.release = release
    }

    /// An illegal instruction that remembers its word.
    @inlinable
    public static func illegal(_ word: UInt32) -> Instruction {
        Instruction(.illegal, immediate: Int32(bitPattern: word))
    }

    /// For `.illegal`: the word that failed to decode.
    public var illegalWord: UInt32 { UInt32(bitPattern: immediate) }
}
