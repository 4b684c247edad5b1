/// One of the 32 integer registers x0...x31.
///
/// A register is only its number; the ABI names (`zero`, `ra`, `sp`, `a0`, ...) are a
/// naming convention of the calling convention, not of the hardware, so they live in a table.
public struct Register: Hashable, Sendable, Comparable, CustomStringConvertible {
    public let number: UInt8

    @inlinable
    public init(_ number: UInt8) {
        precondition(number < 32, "x\(number) does not exist: RV32I has x0...x31")
        self.number = number
    }

    @inlinable
    public init(truncating bits: UInt32) {
        self.number = UInt8(truncatingIfNeeded: bits & 31)
    }

    public static func < (lhs: Register, rhs: Register) -> Bool { lhs.number < rhs.number }

    /// ABI names in register order, as objdump prints them.
    public static let abiNames: [String] = [
        "zero", "ra", "sp", "gp", "tp", "t0", "t1", "t2",
        "s0", "s1", "a0", "a1", "a2", "a3", "a4", "a5",
        "a6", "a7", "s2", "s3", "s4", "s5", "s6", "s7",
        "s8", "s9", "s10", "s11", "t3", "t4", "t5", "t6",
    ]

    /// The ABI name (`a0`), which is what disassemblers print.
    public var abiName: String { Register.abiNames[Int(number)] }
    public var description: String { abiName }

    /// Parses `x5`, `t0` or `fp` (an alias of `s0`).
    public init?(name: String) {
        if name == "fp" { self.init(8); return }
        if let index = Register.abiNames.firstIndex(of: name) { self.init(UInt8(index)); return }
        if name.hasPrefix("x"), let n = UInt8(name.dropFirst()), n < 32, String(n) == name.dropFirst() {
            self.init(n); return
        }
        return nil
    }

    public static let zero = Register(0)
    public static let ra = Register(1)
    public static let sp = Register(2)
    public static let gp = Register(3)
    public static let tp = Register(4)
    public static let t0 = Register(5)
    public static let a0 = Register(10)
    public static let a1 = Register(11)
    public static let a7 = Register(17)
}
