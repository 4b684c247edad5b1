import RISCV

/// The target description gdb reads with `qXfer:features:read:target.xml`: which registers the
/// hart has, their names, sizes and the numbers the `p`/`P` packets use for them.
///
/// Numbering follows GDB's own RISC-V numbering, so the numbers mean the same in gdb's
/// `maint print remote-registers` as here: x0...x31 are 0...31, pc is 32, (33...64 would be the
/// F registers, which this hart has not), CSR n is 65 + n, and the virtual `priv` register (the
/// current privilege level, 0 = U, 1 = S, 3 = M) is 4161. The `g` packet carries 0...32.
struct GDBTargetDescription {
    static let pc = 32
    static let firstCSR = 65
    static let privilege = 4161
    static let generalCount = 33

    /// The CSRs offered: every named CSR the hart implements, except the blocks of hardwired-zero
    /// PMP and performance-counter registers, which would bury the useful ones.
    let csrs: [(number: UInt16, name: String)]
    let xml: String

    init(machine: Machine) {
        func isNoise(_ n: UInt16) -> Bool {
            (0x3A0...0x3EF).contains(n) || (0xB03...0xB1F).contains(n) || (0xB83...0xB9F).contains(n)
                || (0x323...0x33F).contains(n) || (0xC03...0xC1F).contains(n) || (0xC83...0xC9F).contains(n)
        }
        csrs = CSR.names.filter { machine.csrValue($0.key) != nil && !isNoise($0.key) }
            .sorted { $0.key < $1.key }.map { ($0.key, $0.value) }

        var text = """
            <?xml version="1.0"?>
            <!DOCTYPE target SYSTEM "gdb-target.dtd">
            <target version="1.0">
              <architecture>riscv:rv32</architecture>
              <feature name="org.gnu.gdb.riscv.cpu">

            """
        for number in 0..<32 {
            let name = Register(UInt8(number)).abiName
            let type = number == 1 ? "code_ptr" : (number == 2 || number == 8) ? "data_ptr" : "int"
            text += "    <reg name=\"\(name)\" bitsize=\"32\" type=\"\(type)\" regnum=\"\(number)\"/>\n"
        }
        text += "    <reg name=\"pc\" bitsize=\"32\" type=\"code_ptr\" regnum=\"32\"/>\n  </feature>\n"
        text += "  <feature name=\"org.gnu.gdb.riscv.csr\">\n"
        for (number, name) in csrs {
            text += "    <reg name=\"\(name)\" bitsize=\"32\" type=\"int\" regnum=\"\(GDBTargetDescription.firstCSR + Int(number))\" group=\"csr\"/>\n"
        }
        text += "  </feature>\n  <feature name=\"org.gnu.gdb.riscv.virtual\">\n"
        text += "    <reg name=\"priv\" bitsize=\"32\" type=\"int\" regnum=\"\(GDBTargetDescription.privilege)\" group=\"system\"/>\n"
        text += "  </feature>\n</target>\n"
        xml = text
    }

    /// The CSR number behind a register number, if it is one this description offers.
    func csr(forRegister number: Int) -> UInt16? {
        let candidate = number - GDBTargetDescription.firstCSR
        guard candidate >= 0, candidate < 4096 else { return nil }
        return csrs.contains { Int($0.number) == candidate } ? UInt16(candidate) : nil
    }
}
