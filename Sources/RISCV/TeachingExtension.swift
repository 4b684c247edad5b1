/// VirtLab's teaching variant of the ISA: one *sensitive but unprivileged* instruction.
///
/// Popek and Goldberg showed that a machine can be virtualized by trap-and-emulate when every
/// sensitive instruction (one that reads or changes the machine's control state) is privileged,
/// so that running the guest kernel deprivileged makes each of them trap to the VMM. Every
/// sensitive RV32 instruction is privileged. x86 was not: about ten of its sensitive instructions
/// are not, the classic one being POPF, which restores the flags register including the interrupt
/// flag IF in kernel mode, but in user mode silently leaves IF alone, without a trap. A kernel
/// that disables interrupts with POPF and runs deprivileged therefore keeps interrupts enabled and
/// never finds out; VMware's answer was to translate kernel code before running it.
///
/// `vlab.popie rs1` ("pop interrupt enable") brings that flaw to RISC-V, so students can watch it
/// happen and fix it:
///
/// - Encoding: the custom-0 major opcode (`0001011`), I-type with `rd = 0`, `funct3 = 000` and
///   `imm[11:0] = 0`; only `rs1` varies. GNU as writes it `.insn i CUSTOM_0, 0, zero, rs1, 0`
///   (binutils knows no mnemonic for it and disassembles it as `.4byte`).
/// - In M-mode: `mstatus.MIE` becomes bit 3 of `x[rs1]`. In S-mode: `sstatus.SIE` becomes bit 1
///   of `x[rs1]`. `x[rs1]` is read as a status-register image, the bit in its own position, as
///   POPF reads a saved flags image, so `csrr t0, sstatus` ... `vlab.popie t0` restores SIE.
///   No other bit changes.
/// - In U-mode: nothing happens and nothing traps. The instruction retires as a no-op: it
///   "fails silently", which is what makes it sensitive and yet unprivileged.
/// - Every other custom-0 word stays illegal.
///
/// The emulator implements it only when `MachineConfiguration.implementsTeachingPopie` is set;
/// otherwise the word is an illegal instruction, as on real RV32 hardware.
public enum TeachingExtension {
    /// The custom-0 major opcode the RISC-V base reserves for extensions like this one.
    public static let customZeroOpcode: UInt32 = 0b000_1011
    /// `vlab.popie`: every bit but rs1 (bits 19:15) is fixed.
    public static let popieMask: UInt32 = 0xFFF0_7FFF
    public static let popieMatch: UInt32 = customZeroOpcode

    /// The bit of `x[rs1]` that `vlab.popie` copies into the interrupt enable of `privilegeLevel`
    /// (3 = M, 1 = S: the MIE and SIE positions of mstatus), or nil for U-mode, where it does nothing.
    public static func popieStatusBit(privilegeLevel: UInt8) -> UInt32? {
        switch privilegeLevel {
        case 3: return 1 << 3
        case 1: return 1 << 1
        default: return nil
        }
    }

    /// The word for `vlab.popie source`.
    public static func popieWord(source: Register) -> UInt32 {
        popieMatch | UInt32(source.number) << 15
    }
}
