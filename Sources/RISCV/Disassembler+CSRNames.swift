/// CSR names the disassembler prints beyond the ones VirtLab's machine implements (`CSR.names`).
///
/// objdump names every CSR some ratified or frozen extension defines, whether or not the ELF's
/// architecture has that extension: floating point, vector, hypervisor, debug/trigger, the
/// advanced interrupt architecture (AIA), Sstc, Smstateen, the entropy source. A listing that
/// printed `csrr a0,0x7b0` where objdump prints `csrr a0,dcsr` would not read like objdump's, so
/// the disassembler knows these names too. The numbers come from the respective specifications;
/// `DisassemblerTests` checks all 4096 CSR numbers against GNU objdump.
extension Disassembler {
    static let extraCSRNames: [UInt16: String] = {
        var table: [UInt16: String] = [
            // F and V (user-level state)
            0x001: "fflags", 0x002: "frm", 0x003: "fcsr",
            0x008: "vstart", 0x009: "vxsat", 0x00A: "vxrm", 0x00F: "vcsr",
            0xC20: "vl", 0xC21: "vtype", 0xC22: "vlenb",
            // Zkr entropy source
            0x015: "seed",
            // Supervisor: Smstateen, AIA, Sstc
            0x10C: "sstateen0", 0x10D: "sstateen1", 0x10E: "sstateen2", 0x10F: "sstateen3",
            0x114: "sieh", 0x14D: "stimecmp", 0x150: "siselect", 0x151: "sireg", 0x154: "siph",
            0x15C: "stopei", 0x15D: "stimecmph", 0xDA0: "scountovf", 0xDB0: "stopi",
            0x5A8: "scontext",
            // Hypervisor and virtual supervisor
            0x200: "vsstatus", 0x204: "vsie", 0x205: "vstvec", 0x214: "vsieh", 0x240: "vsscratch",
            0x241: "vsepc", 0x242: "vscause", 0x243: "vstval", 0x244: "vsip", 0x24D: "vstimecmp",
            0x250: "vsiselect", 0x251: "vsireg", 0x254: "vsiph", 0x25C: "vstopei", 0x25D: "vstimecmph",
            0x280: "vsatp", 0xEB0: "vstopi",
            0x600: "hstatus", 0x602: "hedeleg", 0x603: "hideleg", 0x604: "hie", 0x605: "htimedelta",
            0x606: "hcounteren", 0x607: "hgeie", 0x608: "hvien", 0x609: "hvictl", 0x60A: "henvcfg",
            0x60C: "hstateen0", 0x60D: "hstateen1", 0x60E: "hstateen2", 0x60F: "hstateen3",
            0x613: "hidelegh", 0x615: "htimedeltah", 0x618: "hvienh", 0x61A: "henvcfgh",
            0x61C: "hstateen0h", 0x61D: "hstateen1h", 0x61E: "hstateen2h", 0x61F: "hstateen3h",
            0x643: "htval", 0x644: "hip", 0x645: "hvip", 0x646: "hviprio1", 0x647: "hviprio2",
            0x64A: "htinst", 0x655: "hviph", 0x656: "hviprio1h", 0x657: "hviprio2h", 0x680: "hgatp",
            0x6A8: "hcontext", 0xE12: "hgeip",
            // Machine: Smstateen, AIA, Smepmp, trap values from the hypervisor extension
            0x308: "mvien", 0x309: "mvip", 0x30C: "mstateen0", 0x30D: "mstateen1",
            0x30E: "mstateen2", 0x30F: "mstateen3", 0x313: "midelegh", 0x314: "mieh",
            0x318: "mvienh", 0x319: "mviph", 0x31C: "mstateen0h", 0x31D: "mstateen1h",
            0x31E: "mstateen2h", 0x31F: "mstateen3h", 0x34A: "mtinst", 0x34B: "mtval2",
            0x350: "miselect", 0x351: "mireg", 0x354: "miph", 0x35C: "mtopei", 0xFB0: "mtopi",
            0x747: "mseccfg", 0x757: "mseccfgh",
            // Debug and trigger modules
            0x7A0: "tselect", 0x7A1: "tdata1", 0x7A2: "tdata2", 0x7A3: "tdata3", 0x7A4: "tinfo",
            0x7A5: "tcontrol", 0x7A8: "mcontext", 0x7AA: "mscontext",
            0x7B0: "dcsr", 0x7B1: "dpc", 0x7B2: "dscratch0", 0x7B3: "dscratch1",
        ]
        // Sscofpmf: the upper halves of the event selectors on RV32.
        for i: UInt16 in 3..<32 { table[0x720 + i] = "mhpmevent\(i)h" }
        return table
    }()

    /// Every CSR name the disassembler prints: the machine's own plus the ones above.
    static let csrNames: [UInt16: String] =
        CSR.names.merging(extraCSRNames) { machineName, _ in machineName }
}
