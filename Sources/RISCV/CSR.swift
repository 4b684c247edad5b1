/// Control and status register numbers, from the privileged specification (version 1.12),
/// with the names assemblers and disassemblers use for them.
public enum CSR {
    // Unprivileged counters
    public static let cycle: UInt16 = 0xC00
    public static let time: UInt16 = 0xC01
    public static let instret: UInt16 = 0xC02
    public static let cycleh: UInt16 = 0xC80
    public static let timeh: UInt16 = 0xC81
    public static let instreth: UInt16 = 0xC82
    // Supervisor
    public static let sstatus: UInt16 = 0x100
    public static let sie: UInt16 = 0x104
    public static let stvec: UInt16 = 0x105
    public static let scounteren: UInt16 = 0x106
    public static let senvcfg: UInt16 = 0x10A
    public static let sscratch: UInt16 = 0x140
    public static let sepc: UInt16 = 0x141
    public static let scause: UInt16 = 0x142
    public static let stval: UInt16 = 0x143
    public static let sip: UInt16 = 0x144
    public static let satp: UInt16 = 0x180
    // Machine
    public static let mvendorid: UInt16 = 0xF11
    public static let marchid: UInt16 = 0xF12
    public static let mimpid: UInt16 = 0xF13
    public static let mhartid: UInt16 = 0xF14
    public static let mconfigptr: UInt16 = 0xF15
    public static let mstatus: UInt16 = 0x300
    public static let misa: UInt16 = 0x301
    public static let medeleg: UInt16 = 0x302
    public static let mideleg: UInt16 = 0x303
    public static let mie: UInt16 = 0x304
    public static let mtvec: UInt16 = 0x305
    public static let mcounteren: UInt16 = 0x306
    public static let menvcfg: UInt16 = 0x30A
    public static let mstatush: UInt16 = 0x310
    public static let menvcfgh: UInt16 = 0x31A
    public static let mcountinhibit: UInt16 = 0x320
    public static let mscratch: UInt16 = 0x340
    public static let mepc: UInt16 = 0x341
    public static let mcause: UInt16 = 0x342
    public static let mtval: UInt16 = 0x343
    public static let mip: UInt16 = 0x344
    public static let pmpcfg0: UInt16 = 0x3A0
    public static let pmpaddr0: UInt16 = 0x3B0
    public static let mcycle: UInt16 = 0xB00
    public static let minstret: UInt16 = 0xB02
    public static let mcycleh: UInt16 = 0xB80
    public static let minstreth: UInt16 = 0xB82

    /// Every named CSR, number to name. Names follow GNU binutils, so the disassembler's output
    /// matches objdump's and the assembler accepts what GNU as accepts.
    public static let names: [UInt16: String] = {
        var table: [UInt16: String] = [
            cycle: "cycle", time: "time", instret: "instret",
            cycleh: "cycleh", timeh: "timeh", instreth: "instreth",
            sstatus: "sstatus", sie: "sie", stvec: "stvec", scounteren: "scounteren",
            senvcfg: "senvcfg", sscratch: "sscratch", sepc: "sepc", scause: "scause",
            stval: "stval", sip: "sip", satp: "satp",
            mvendorid: "mvendorid", marchid: "marchid", mimpid: "mimpid", mhartid: "mhartid",
            mconfigptr: "mconfigptr",
            mstatus: "mstatus", misa: "misa", medeleg: "medeleg", mideleg: "mideleg",
            mie: "mie", mtvec: "mtvec", mcounteren: "mcounteren", menvcfg: "menvcfg",
            mstatush: "mstatush", menvcfgh: "menvcfgh", mcountinhibit: "mcountinhibit",
            mscratch: "mscratch", mepc: "mepc", mcause: "mcause", mtval: "mtval", mip: "mip",
            mcycle: "mcycle", minstret: "minstret", mcycleh: "mcycleh", minstreth: "minstreth",
        ]
        for i: UInt16 in 0..<16 { table[pmpcfg0 + i] = "pmpcfg\(i)" }
        for i: UInt16 in 0..<64 { table[pmpaddr0 + i] = "pmpaddr\(i)" }
        for i: UInt16 in 3..<32 {
            table[0xC00 + i] = "hpmcounter\(i)"
            table[0xC80 + i] = "hpmcounter\(i)h"
            table[0xB00 + i] = "mhpmcounter\(i)"
            table[0xB80 + i] = "mhpmcounter\(i)h"
            table[0x320 + i] = "mhpmevent\(i)"
        }
        return table
    }()

    /// Name to number, for the assembler.
    public static let numbers: [String: UInt16] = {
        var table: [String: UInt16] = [:]
        for (number, name) in names { table[name] = number }
        return table
    }()

    /// The CSR's name, or nil for an unnamed number (printed as hex).
    public static func name(_ number: UInt16) -> String? { names[number] }
}
