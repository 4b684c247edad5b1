import Machine
import RISCV

/// Page-fault exits: the shadow pager fills, the VMM emulates device accesses and the accesses the
/// pager or the VMM's own rules send back, and faults are reflected into the guest.
extension VirtualMachine: ShadowMappingRules {
    /// The hart could not translate `address` through the shadow table. The pager asks the
    /// guest's own page tables what its hardware would do; the VMM does what the pager says.
    func handlePageFault(at address: UInt32, _ access: GuestAccess) -> GuestRunResult? {
        let view = ShadowView(vcpu)
        // Binary translation shows a kernel code page to the rewriter before it first runs.
        if rewriter != nil && vcpu.privilege != .user && access == .fetch,
           case .guestPhysical(let physical, _) = GuestPageTableWalk.translate(address, .fetch, regime: view.fetch, memory: memory),
           memory.contains(physical) {
            scanForRewriting(physical & ~0xFFF)
        }
        switch pager.handlePageFault(at: address, access, in: view, rules: self) {
        case .filled:
            statistics.count(.pageFault)
            return noteFill(at: address)
        case .reflect(let cause):
            statistics.count(cause == access.pageFaultCause ? .guestPageFault : .exception)
            return reflect(cause: cause, value: address)
        case .notGuestRAM(let guestPhysical):
            if devices.claims(guestPhysical) && access != .fetch {
                statistics.count(.mmio)
                return emulateDataAccess()
            }
            // Neither the guest's RAM nor a device: what the bare machine raises for a physical
            // address with nothing behind it (VirtLab executes only from RAM).
            statistics.count(.exception)
            return reflect(cause: access.accessFaultCause, value: address)
        case .emulate(let reason):
            guard access != .fetch else { return fault("the shadow pager asked the VMM to emulate a fetch at 0x\(hex8(address))") }
            statistics.count(reason)
            return emulateDataAccess()
        case .breakShare(let guestFrame):
            statistics.count(.shareBreak)
            do {
                try memory.breakShare(guestFrame: guestFrame)
            } catch {
                return fault("store to 0x\(hex8(address)): \(error.message)")
            }
            pager.invalidate(guestFrame: guestFrame)  // (the remapping announced it too, if the frame moved)
            return noteFill(at: address)
        case .domainError(let message):
            return fault(message)
        }
    }

    /// A fill (or share break) that does not let the guest move on would repeat forever.
    private func noteFill(at address: UInt32) -> GuestRunResult? {
        if lastFill == (vcpu.pc, vcpu.retired) {
            fillsWithoutProgress += 1
            if fillsWithoutProgress > 8 {
                return fault("shadow page-table fill for address 0x\(hex8(address)) makes no progress")
            }
        } else {
            fillsWithoutProgress = 0
            lastFill = (vcpu.pc, vcpu.retired)
        }
        return nil
    }

    /// The VMM's say over a shadow mapping: stores to the HTIF page exit (so the VMM sees the
    /// guest's exit request); under virtual M-mode's MPRV data accesses exit; under binary
    /// translation kernel code runs only once scanned, is never writable in place (stores exit,
    /// so the page is rescanned), and a page holding rewrites is execute-only (loads exit and see
    /// the original words): the rewriting stays invisible to the guest.
    public func limit(forGuestPage page: UInt32, access: GuestAccess, view: ShadowView) -> ShadowMappingLimit {
        if access == .store && holdsTohost(page) { return .exit(.mmio) }
        if access != .fetch && (view.dataAccessesExit || guardsRewrittenCode(page, access)) { return .exit(.emulatedAccess) }
        var allowed = ShadowPermissions.all
        if holdsTohost(page) { allowed.remove(.writable) }
        if rewriter != nil && vcpu.privilege != .user {
            if scannedPages.contains(page) {
                allowed.remove(.writable)
                if originalWords[page] != nil { allowed.remove(.readable) }
            } else {
                allowed.remove(.executable)
            }
        }
        return .map(allowed)
    }

    /// Whether the page holding `guestPhysical` holds the HTIF `tohost` word.
    private func holdsTohost(_ guestPhysical: UInt32) -> Bool {
        tohost.map { $0 & ~0xFFF == guestPhysical & ~0xFFF } ?? false
    }

    /// Whether a data access to a kernel code page must be emulated to keep rewrites invisible:
    /// every store to a scanned page, and loads from a page holding rewritten words.
    private func guardsRewrittenCode(_ page: UInt32, _ access: GuestAccess) -> Bool {
        guard rewriter != nil, vcpu.privilege != .user, scannedPages.contains(page) else { return false }
        return access == .store || originalWords[page] != nil
    }

    /// Puts a page's original words back and forgets it was scanned.
    func undoRewriting(_ page: UInt32) {
        for (address, word) in originalWords[page] ?? [:] { memory.write32(address, word) }
        originalWords[page] = nil
        scannedPages.remove(page)
    }

    /// Shows a kernel code page to the binary-translation rewriter, once (again after a store to it).
    /// Every shadow mapping of the page is dropped afterwards: other views may still map it
    /// readable or writable from before it was code.
    func scanForRewriting(_ page: UInt32) {
        guard var rewriter, !scannedPages.contains(page), let bytes = memory.read(page, count: 4096) else { return }
        defer { pager.invalidate(guestFrame: page) }
        scannedPages.insert(page)
        var words = (0..<1024).map { i in
            UInt32(bytes[4 * i]) | UInt32(bytes[4 * i + 1]) << 8 | UInt32(bytes[4 * i + 2]) << 16 | UInt32(bytes[4 * i + 3]) << 24
        }
        let original = words
        let count = rewriter.rewrite(page: page, words: &words)
        self.rewriter = rewriter
        scannedInstructions += 1024
        rewrittenInstructions += UInt64(count)
        for i in 0..<1024 where words[i] != original[i] {
            memory.write32(page + UInt32(4 * i), words[i])
            originalWords[page, default: [:]][page + UInt32(4 * i)] = original[i]
        }
    }
}

extension ExitReason {
    /// A load or store to RAM emulated because the virtual M-mode's MPRV gives data accesses a
    /// different translation than fetches.
    public static let emulatedAccess = ExitReason("emulated-access")

    /// The exit reason for a trapped SYSTEM instruction (not ECALL/EBREAK).
    public static func classifying(systemInstruction word: UInt32) -> ExitReason {
        let funct3 = word >> 12 & 7
        if funct3 != 0 {
            let source = word >> 15 & 31
            let writes = funct3 & 3 == 1 || source != 0
            return writes ? .csrWrite : .csrRead
        }
        switch word {
        case 0x3020_0073: return .mret
        case 0x1020_0073: return .sret
        case 0x1050_0073: return .wfi
        default: return word >> 25 == 0b000_1001 ? .sfenceVMA : .exception
        }
    }
}
