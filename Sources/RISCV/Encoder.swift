/// Encoding an `Instruction` back into its 32-bit word, driven by the table in Operation.swift.
///
/// `encode` checks that each field fits its slot; the assembler relies on that to report
/// an out-of-range immediate as an error on the source line rather than silently truncating.
public struct EncodingError: Error, Equatable, Sendable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

extension Instruction {
    /// The word for this instruction, or an error naming the operand that does not fit.
    public func encoded() throws(EncodingError) -> UInt32 {
        let (match, _) = operation.encodingPattern
        let rdBits = UInt32(rd.number) << 7
        let rs1Bits = UInt32(rs1.number) << 15
        let rs2Bits = UInt32(rs2.number) << 20
        let imm = immediate
        let name = operation.mnemonic

        func requireSigned(_ bits: Int, _ what: String) throws(EncodingError) {
            let limit = Int32(1) << (bits - 1)
            guard imm >= -limit && imm < limit else {
                throw EncodingError("\(name): \(what) \(imm) is out of range [\(-limit), \(limit - 1)]")
            }
        }
        func requireEven() throws(EncodingError) {
            guard imm & 1 == 0 else { throw EncodingError("\(name): offset \(imm) is odd") }
        }

        switch operation.format {
        case .r:
            return match | rdBits | rs1Bits | rs2Bits
        case .i, .load:
            try requireSigned(12, "immediate")
            return match | rdBits | rs1Bits | (UInt32(bitPattern: imm) & 0xFFF) << 20
        case .shift:
            guard (0..<32).contains(imm) else {
                throw EncodingError("\(name): shift amount \(imm) is out of range [0, 31]")
            }
            return match | rdBits | rs1Bits | UInt32(imm) << 20
        case .s:
            try requireSigned(12, "offset")
            let u = UInt32(bitPattern: imm)
            return match | rs1Bits | rs2Bits | (u & 0xFE0) << 20 | (u & 0x1F) << 7
        case .b:
            try requireSigned(13, "branch offset")
            try requireEven()
            let u = UInt32(bitPattern: imm)
            return match | rs1Bits | rs2Bits
                | (u >> 12 & 1) << 31 | (u >> 5 & 0x3F) << 25
                | (u >> 1 & 0xF) << 8 | (u >> 11 & 1) << 7
        case .u:
            guard imm & 0xFFF == 0 else {
                throw EncodingError("\(name): immediate \(imm) has low 12 bits set")
            }
            return match | rdBits | UInt32(bitPattern: imm)
        case .j:
            try requireSigned(21, "jump offset")
            try requireEven()
            let u = UInt32(bitPattern: imm)
            return match | rdBits
                | (u >> 20 & 1) << 31 | (u >> 1 & 0x3FF) << 21
                | (u >> 11 & 1) << 20 | (u >> 12 & 0xFF) << 12
        case .csr:
            guard csr < 4096 else { throw EncodingError("\(name): CSR number \(csr) is out of range") }
            return match | rdBits | rs1Bits | UInt32(csr) << 20
        case .csrImmediate:
            guard csr < 4096 else { throw EncodingError("\(name): CSR number \(csr) is out of range") }
            guard (0..<32).contains(imm) else {
                throw EncodingError("\(name): immediate \(imm) is out of range [0, 31]")
            }
            return match | rdBits | UInt32(imm) << 15 | UInt32(csr) << 20
        case .fence:
            guard (0..<4096).contains(imm) else { throw EncodingError("fence: bad ordering field") }
            return match | rdBits | rs1Bits | UInt32(imm) << 20
        case .atomic, .loadReserved:
            return match | rdBits | rs1Bits | rs2Bits
                | (acquire ? 1 << 26 : 0) | (release ? 1 << 25 : 0)
        case .sfence:
            return match | rs1Bits | rs2Bits
        case .sourceOnly:
            return match | rs1Bits
        case .fixed:
            if operation == .illegal { return illegalWord }
            if operation == .fenceI {
                try requireSigned(12, "immediate")
                return match | rdBits | rs1Bits | (UInt32(bitPattern: imm) & 0xFFF) << 20
            }
            return match
        }
    }
}
