import Machine
import RISCV

/// Page-fault exits: shadow fills, device accesses, and faults reflected into the guest.
extension VirtualMachine {
    /// The hart could not translate `address` through the shadow table. Ask the guest's own page
    /// tables what its hardware would do, and do that.
    func handlePageFault(at address: UInt32, _ access: GuestAccess) -> GuestRunResult? {
        let view = ShadowPageTables.View(vcpu)
        let regime = access == .fetch ? view.fetch : view.data
        switch GuestPageTableWalk.translate(address, access, regime: regime, memory: memory) {
        case .fault(let cause):
            statistics.count(cause == access.pageFaultCause ? .guestPageFault : .exception)
            return reflect(cause: cause, value: address)
        case .guestPhysical(let guestPhysical, let leaf):
            if let frame = memory.machineAddress(of: guestPhysical & ~0xFFF) {
                if access == .store && holdsTohost(guestPhysical) {
                    statistics.count(.mmio)
                    return emulateDataAccess()
                }
                if access != .fetch && (view.dataAccessesExit || guardsRewrittenCode(guestPhysical & ~0xFFF, access)) {
                    statistics.count(.emulatedAccess)
                    return emulateDataAccess()
                }
                return fill(address, frame: frame, guestPhysical: guestPhysical, leaf: leaf, view: view, access: access)
            }
            if devices.claims(guestPhysical) && access != .fetch {
                statistics.count(.mmio)
                return emulateDataAccess()
            }
            // Neither the guest's RAM nor a device: what the bare machine raises for a physical
            // address with nothing behind it (VirtLab executes only from RAM).
            statistics.count(.exception)
            return reflect(cause: access.accessFaultCause, value: address)
        }
    }

    /// Installs the guest's translation of the page at `address` in the shadow table for `view`,
    /// granting what the guest's PTE grants in that view (write only once the guest PTE is dirty,
    /// so the walk that sets D sees the first store).
    private func fill(_ address: UInt32, frame: UInt32, guestPhysical: UInt32, leaf: UInt32?,
                      view: ShadowPageTables.View, access: GuestAccess) -> GuestRunResult? {
        // A fill that does not let the guest move on would repeat forever.
        if lastFill == (vcpu.pc, vcpu.retired) {
            fillsWithoutProgress += 1
            if fillsWithoutProgress > 8 {
                return fault("shadow page-table fill for address 0x\(hex8(address)) makes no progress")
            }
        } else {
            fillsWithoutProgress = 0
            lastFill = (vcpu.pc, vcpu.retired)
        }
        func allows(_ access: GuestAccess, _ regime: TranslationRegime) -> Bool {
            guard !regime.bare else { return true }
            guard let leaf else { return false }
            return GuestPageTableWalk.permits(leaf, access, regime: regime)
        }
        var executable = allows(.fetch, view.fetch)
        var readable = !view.dataAccessesExit && allows(.load, view.data)
        let dirty = leaf.map { $0 & 0x80 != 0 } ?? true
        var writable = !view.dataAccessesExit && dirty && allows(.store, view.data)
        // Stores to the HTIF page must exit, so the VMM sees the guest's exit request.
        if holdsTohost(guestPhysical) { writable = false }
        // Binary translation: kernel code runs only once scanned, is never writable in place
        // (stores exit, so the page is rescanned), and a page holding rewrites is execute-only
        // (loads exit and see the original words): the rewriting stays invisible to the guest.
        let page = guestPhysical & ~0xFFF
        if rewriter != nil && vcpu.privilege != .user {
            if access == .fetch && executable { scanForRewriting(page) }
            let scanned = scannedPages.contains(page)
            executable = executable && scanned
            if scanned {
                writable = false
                if originalWords[page] != nil { readable = false }
            }
            if !readable && !executable { return fault("no shadow mapping can serve this access at 0x\(hex8(address))") }
        }
        shadow.map(address, to: frame, in: view, readable: readable, writable: writable, executable: executable)
        statistics.count(.pageFault)
        return nil
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
    /// Every shadow table is dropped afterwards: other views may still map the page readable or
    /// writable from before it was code.
    func scanForRewriting(_ page: UInt32) {
        guard var rewriter, !scannedPages.contains(page), let bytes = memory.read(page, count: 4096) else { return }
        defer { shadow.flush() }
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
