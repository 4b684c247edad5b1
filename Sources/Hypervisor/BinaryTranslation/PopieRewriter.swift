import HypervisorCore
import Machine
import RISCV

/// The binary-translation reference (Lab 04's solution): finds the teaching ISA's one
/// sensitive-but-unprivileged instruction, `vlab.popie rs1` (RISCV/TeachingExtension.swift), in
/// guest kernel code before it runs, and replaces it with a word that traps.
///
/// Why it is needed: the guest kernel runs in U-mode of the hart, where `vlab.popie` silently does
/// nothing, so a deprivileged kernel that disables interrupts with it keeps them on and never
/// finds out (x86 POPF's flaw). Every other sensitive instruction traps by itself. The VMM core
/// shows this rewriter each guest code page the first time the guest's kernel (virtual S or M)
/// executes from it; user code is never shown, it runs directly (VMware's "privileged code
/// translated, user code run directly").
///
/// The rewrite: `vlab.popie rs1` (custom-0, funct3 0) becomes the custom-0 word with funct3 7 and
/// the same rs1, which is an illegal instruction on every hart, with or without the teaching
/// variant. A side table remembers each rewritten word's guest-physical address and original word;
/// when the replacement traps, `emulateRewritten` finds it there and does what the original does
/// to the *virtual* CPU: SIE (or MIE) from the source register's status image.
///
/// What the guest can see: nothing. The core writes the replacements into guest RAM but keeps
/// the original words; it maps a page holding replacements execute-only in the kernel's view, so a
/// load from it exits and reads the originals, and a store to a scanned page exits, is performed on
/// the original page, and the page is scanned again (`rewrite` is called anew; entries of the
/// side table for that page are replaced). Only fetches scan (a data access to a kernel page does
/// not), so data in pages the kernel never executes is never touched. The side table keeps
/// execution exact as well: a trapping word the rewriter did not put there is not emulated but
/// reflected as the illegal instruction it is.
public struct PopieRewriter: SensitiveInstructionRewriter {
    /// The trapping replacement: custom-0 with funct3 = 7 (reserved), rs1 kept.
    public static let replacementMatch: UInt32 = TeachingExtension.customZeroOpcode | 7 << 12
    public static let replacementMask: UInt32 = TeachingExtension.popieMask

    /// Guest-physical address → original word, for every word this rewriter replaced.
    public private(set) var originals: [UInt32: UInt32] = [:]
    /// Rewritten instructions emulated so far.
    public private(set) var emulated = 0
    /// Used to find the guest-physical address of the trapping pc.
    let memory: GuestMemory

    public init(memory: GuestMemory) {
        self.memory = memory
    }

    /// The trapping word that stands for `original` (a vlab.popie): same rs1, funct3 = 7.
    public static func replacement(for original: UInt32) -> UInt32 {
        replacementMatch | original & (31 << 15)
    }

    /// The word the guest put at `guestPhysical`, if the rewriter replaced it.
    public func originalWord(at guestPhysical: UInt32) -> UInt32? { originals[guestPhysical] }

    public mutating func rewrite(page: UInt32, words: inout [UInt32]) -> Int {
        // A rescan (the guest wrote the page) starts the page's entries afresh.
        for index in 0..<words.count { originals[page &+ UInt32(4 * index)] = nil }
        var count = 0
        for index in words.indices where words[index] & TeachingExtension.popieMask == TeachingExtension.popieMatch {
            let address = page &+ UInt32(4 * index)
            originals[address] = words[index]
            words[index] = Self.replacement(for: words[index])
            count += 1
        }
        return count
    }

    public mutating func emulateRewritten(_ word: UInt32, vcpu: inout VirtualCPU) -> EmulationOutcome? {
        guard word & Self.replacementMask == Self.replacementMatch else { return nil }
        let regime = TranslationRegime(vcpu, for: .fetch)
        guard case .guestPhysical(let address, _) = GuestPageTableWalk.translate(vcpu.pc, .fetch, regime: regime, memory: memory),
              let original = originals[address], Self.replacement(for: original) == word,
              memory.read32(address) == word else { return nil }   // still the word we put there
        // The original's effect on the virtual CPU (TeachingExtension.popieStatusBit): M- and S-mode
        // take their enable bit from the source's status image; U-mode does nothing, as the hardware.
        if let bit = TeachingExtension.popieStatusBit(privilegeLevel: vcpu.privilege.rawValue) {
            let source = vcpu.register(Int(original >> 15 & 31))
            vcpu.csrs.mstatus = vcpu.csrs.mstatus & ~bit | source & bit
        }
        vcpu.pc &+= 4
        emulated += 1
        return .completed
    }
}
