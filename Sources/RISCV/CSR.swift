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
    // Hypervisor and virtual supervisor (the H extension)
    public static let vsstatus: UInt16 = 0x200
    public static let vsie: UInt16 = 0x204
    public static let vstvec: UInt16 = 0x205
    public static let vsscratch: UInt16 = 0x240
    public static let vsepc: UInt16 = 0x241
    public static let vscause: UInt16 = 0x242
    public static let vstval: UInt16 = 0x243
    public static let vsip: UInt16 = 0x244
    public static let vsatp: UInt16 = 0x280
    public static let hstatus: UInt16 = 0x600
    public static let hedeleg: UInt16 = 0x602
    public static let hideleg: UInt16 = 0x603
    public static let hie: UInt16 = 0x604
    public static let hcounteren: UInt16 = 0x606
    public static let hgeie: UInt16 = 0x607
    public static let henvcfg: UInt16 = 0x60A
    /// `hedelegh` (bits 63:32 of hedeleg on RV32): GNU objdump 2.40 has no name for it.
    public static let hedelegh: UInt16 = 0x612
    public static let henvcfgh: UInt16 = 0x61A
    public static let htval: UInt16 = 0x643
    public static let hip: UInt16 = 0x644
    public static let hvip: UInt16 = 0x645
    public static let htinst: UInt16 = 0x64A
    public static let hgatp: UInt16 = 0x680
    public static let hgeip: UInt16 = 0xE12
    public static let mtinst: UInt16 = 0x34A
    public static let mtval2: UInt16 = 0x34B
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
            vsstatus: "vsstatus", vsie: "vsie", vstvec: "vstvec", vsscratch: "vsscratch",
            vsepc: "vsepc", vscause: "vscause", vstval: "vstval", vsip: "vsip", vsatp: "vsatp",
            hstatus: "hstatus", hedeleg: "hedeleg", hideleg: "hideleg", hie: "hie",
            hcounteren: "hcounteren", hgeie: "hgeie", henvcfg: "henvcfg",
            henvcfgh: "henvcfgh", htval: "htval", hip: "hip", hvip: "hvip", htinst: "htinst",
            hgatp: "hgatp", hgeip: "hgeip", mtinst: "mtinst", mtval2: "mtval2",
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
