import RISCV

/// An exception raised by one guest instruction, as the RISC-V privileged specification numbers
/// them (`mcause`), with the value the hardware would put in `mtval`.
///
/// Executors *throw* a `Trap`; the lab machine catches it at the instruction boundary. A trap is
/// precise: the instruction that raised it has changed nothing (no register, no memory, not pc).
public struct Trap: Error, Equatable, Hashable, Sendable, CustomStringConvertible {
    /// The exception codes a user-mode RV32IM hart without paging can raise.
    public enum Cause: UInt32, Sendable, CaseIterable {
        case instructionAddressMisaligned = 0
        case instructionAccessFault = 1
        case illegalInstruction = 2
        case breakpoint = 3
        case loadAddressMisaligned = 4
        case loadAccessFault = 5
        case storeAddressMisaligned = 6
        case storeAccessFault = 7
        case environmentCall = 8

        /// The specification's name, as used in messages.
        public var name: String {
            switch self {
            case .instructionAddressMisaligned: return "instruction address misaligned"
            case .instructionAccessFault: return "instruction access fault"
            case .illegalInstruction: return "illegal instruction"
            case .breakpoint: return "breakpoint"
            case .loadAddressMisaligned: return "load address misaligned"
            case .loadAccessFault: return "load access fault"
            case .storeAddressMisaligned: return "store/AMO address misaligned"
            case .storeAccessFault: return "store/AMO access fault"
            case .environmentCall: return "environment call from U-mode"
            }
        }
    }

    public var cause: Cause
    /// `mtval`: the faulting address for access and alignment faults (for a misaligned jump,
    /// the target), the instruction word for an illegal instruction, the pc for a breakpoint,
    /// 0 for an environment call.
    public var value: UInt32

    public init(_ cause: Cause, value: UInt32 = 0) {
        self.cause = cause
        self.value = value
    }

    /// The illegal-instruction trap for `instruction`, with its 32-bit word as `mtval`.
    /// (A decoded `Instruction` that the hart does not implement, say a CSR access, is
    /// re-encoded; an undecodable word kept its bits in `.illegal`.)
    public static func illegalInstruction(_ instruction: Instruction) -> Trap {
        let word: UInt32
        if instruction.operation == .illegal {
            word = instruction.illegalWord
        } else {
            word = (try? instruction.encoded()) ?? 0
        }
        return Trap(.illegalInstruction, value: word)
    }

    public var description: String {
        "\(cause.name) (mcause \(cause.rawValue), mtval 0x\(hex8(value)))"
    }
}

/// What a stub in a lab skeleton throws: the test harness reports it as a failure with its
/// message ("TODO (Lab 01): implement ..."), rather than the test process crashing.
public struct NotImplemented: Error, Equatable, Sendable, CustomStringConvertible {
    public var message: String
    /// - Parameters:
    ///   - lab: the lab number as printed, e.g. "01".
    ///   - what: what is missing and where, e.g. "the branches in Executor.executeBranch".
    public init(lab: String, _ what: String) {
        message = "TODO (Lab \(lab)): implement \(what)"
    }
    public var description: String { message }
}

/// Eight hex digits, zero-padded: how addresses and register values are printed in messages.
public func hex8(_ value: UInt32) -> String {
    let digits = String(value, radix: 16)
    return String(repeating: "0", count: 8 - digits.count) + digits
}
