import HypervisorCore
import Machine
import RISCV

/// Lab 04, part 1: binary translation of the one sensitive-but-unprivileged instruction.
///
/// The teaching ISA variant has `vlab.popie rs1` (custom-0, `RISCV.TeachingExtension`): in S-mode
/// it copies SIE from the status image in rs1 into sstatus (MIE in M-mode); in U-mode it does
/// nothing and does not trap. A guest kernel running deprivileged in U-mode therefore cannot turn
/// its interrupts off with it, and never finds out: x86 POPF's flaw, which broke Popek and
/// Goldberg's condition on the x86 until VMware translated kernel code.
///
/// The VMM core shows you each guest code page (`rewrite`) the first time the guest's kernel
/// (virtual S or M) executes from it, before it runs; user code is never shown. You replace every
/// `vlab.popie` with a word that traps, remember the original, and when the replacement traps
/// (`emulateRewritten`) do to the *virtual* CPU what the original would have done. The core keeps
/// your rewrites invisible to the guest's loads and stores.
public struct PopieRewriter: SensitiveInstructionRewriter {
    /// The trapping replacement: custom-0 with funct3 = 7 (reserved: illegal on every hart), rs1 kept.
    public static let replacementMatch: UInt32 = TeachingExtension.customZeroOpcode | 7 << 12
    public static let replacementMask: UInt32 = TeachingExtension.popieMask

    /// The TODOs this rewriter reached (the tests print them).
    public let unfinished = UnfinishedWork()
    /// Guest-physical address -> original word, for every word replaced (you fill it in).
    public var originals: [UInt32: UInt32] = [:]
    /// Used to find the guest-physical address of a trapping pc.
    let memory: GuestMemory

    public init(memory: GuestMemory) {
        self.memory = memory
    }

    /// The trapping word that stands for `original` (a vlab.popie): same rs1, funct3 = 7.
    public static func replacement(for original: UInt32) -> UInt32 {
        replacementMatch | original & (31 << 15)
    }

    // MARK: The SensitiveInstructionRewriter protocol (already written: it calls your functions)

    public mutating func rewrite(page: UInt32, words: inout [UInt32]) -> Int {
        do {
            return try scan(page: page, words: &words)
        } catch {
            unfinished.record(error)
            return 0
        }
    }

    public mutating func emulateRewritten(_ word: UInt32, vcpu: inout VirtualCPU) -> EmulationOutcome? {
        do {
            return try emulate(word, vcpu: &vcpu)
        } catch {
            unfinished.record(error)
            return nil
        }
    }

    // MARK: Task 1: the scanner

    /// Rewrites one 4 KiB page in place (`words[i]` is at guest-physical `page + 4 * i`): every
    /// `vlab.popie` (`word & TeachingExtension.popieMask == TeachingExtension.popieMatch`) becomes
    /// `replacement(for:)`, and `originals` remembers it. The same page may be shown again after
    /// the guest wrote to it: forget that page's old entries first. Returns how many words you
    /// rewrote.
    mutating func scan(page: UInt32, words: inout [UInt32]) throws -> Int {
        // BEGIN SOLUTION
        // STUB: throw NotImplemented(lab: "04", "PopieRewriter.scan(page:words:): find and rewrite vlab.popie in a kernel code page")
        for index in 0..<words.count { originals[page &+ UInt32(4 * index)] = nil }
        var count = 0
        for index in words.indices where words[index] & TeachingExtension.popieMask == TeachingExtension.popieMatch {
            let address = page &+ UInt32(4 * index)
            originals[address] = words[index]
            words[index] = Self.replacement(for: words[index])
            count += 1
        }
        return count
        // END SOLUTION
    }

    // MARK: Task 2: emulating the original

    /// The hart trapped on `word` at `vcpu.pc`. If it is one of your replacements (the right
    /// pattern, and `originals` has an entry for the pc's guest-physical address whose
    /// replacement is exactly `word`), do what the original `vlab.popie` does in the guest's
    /// virtual privilege (`TeachingExtension.popieStatusBit(privilegeLevel:)` names the enable
    /// bit, nil in U-mode: nothing happens), move pc on and return `.completed`. Otherwise return
    /// nil: the core then reflects it as the illegal instruction it is. Find the guest-physical
    /// address with `GuestPageTableWalk.translate(vcpu.pc, .fetch, regime: TranslationRegime(vcpu,
    /// for: .fetch), memory: memory)`.
    mutating func emulate(_ word: UInt32, vcpu: inout VirtualCPU) throws -> EmulationOutcome? {
        // BEGIN SOLUTION
        // STUB: throw NotImplemented(lab: "04", "PopieRewriter.emulate(_:vcpu:): emulate the vlab.popie behind a trapping replacement")
        guard word & Self.replacementMask == Self.replacementMatch else { return nil }
        let regime = TranslationRegime(vcpu, for: .fetch)
        guard case .guestPhysical(let address, _) = GuestPageTableWalk.translate(vcpu.pc, .fetch, regime: regime, memory: memory),
              let original = originals[address], Self.replacement(for: original) == word,
              memory.read32(address) == word else { return nil }   // still the word we put there
        if let bit = TeachingExtension.popieStatusBit(privilegeLevel: vcpu.privilege.rawValue) {
            let source = vcpu.register(Int(original >> 15 & 31))
            vcpu.csrs.mstatus = vcpu.csrs.mstatus & ~bit | source & bit
        }
        vcpu.pc &+= 4
        return .completed
        // END SOLUTION
    }
}
