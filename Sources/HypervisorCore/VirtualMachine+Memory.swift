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

    /// Whether a data access to a kernel code page must be emulated to keep rewrites invisible:
    /// every store to a scanned page, and loads from a page holding rewritten words.
    private func guardsRewrittenCode(_ page: UInt32, _ access: GuestAccess) -> Bool {
        guard rewriter != nil, vcpu.privilege != .user, scannedPages.contains(page) else { return false }
        return access == .store || originalWords[page] != nil
    }

    /// Puts a page's original words back and forgets it was scanned.
    private func undoRewriting(_ page: UInt32) {
        for (address, word) in originalWords[page] ?? [:] { memory.write32(address, word) }
        originalWords[page] = nil
        scannedPages.remove(page)
    }

    /// Shows a kernel code page to the binary-translation rewriter, once (again after a store to it).
    /// Every shadow table is dropped afterwards: other views may still map the page readable or
    /// writable from before it was code.
    private func scanForRewriting(_ page: UInt32) {
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

    /// Performs the load or store at `vcpu.pc` for the guest (a device register, or RAM when data
    /// accesses are not mapped), exactly as the guest's hardware would, and retires it.
    func emulateDataAccess() -> GuestRunResult? {
        let fetchRegime = TranslationRegime(vcpu, for: .fetch)
        guard case .guestPhysical(let codeAddress, _) = GuestPageTableWalk.translate(vcpu.pc, .fetch, regime: fetchRegime, memory: memory),
              let word = memory.read32(codeAddress) else {
            return fault("cannot read back the instruction that made a data access exit")
        }
        let instruction = Instruction(decoding: word)
        let size: Int, isStore: Bool, signed: Bool
        switch instruction.operation {
        case .lb: (size, isStore, signed) = (1, false, true)
        case .lh: (size, isStore, signed) = (2, false, true)
        case .lw: (size, isStore, signed) = (4, false, false)
        case .lbu: (size, isStore, signed) = (1, false, false)
        case .lhu: (size, isStore, signed) = (2, false, false)
        case .sb: (size, isStore, signed) = (1, true, false)
        case .sh: (size, isStore, signed) = (2, true, false)
        case .sw: (size, isStore, signed) = (4, true, false)
        default:
            // Atomics on device registers: the board's devices do not support them.
            let access: GuestAccess = instruction.operation == .lrW ? .load : .store
            statistics.count(.exception)
            return reflect(cause: access.accessFaultCause, value: vcpu.register(Int(instruction.rs1.number)))
        }
        let access: GuestAccess = isStore ? .store : .load
        let address = vcpu.register(Int(instruction.rs1.number)) &+ UInt32(bitPattern: instruction.immediate)
        let translation = GuestPageTableWalk.translate(address, access, regime: TranslationRegime(vcpu, for: access), memory: memory)
        guard case .guestPhysical(let physical, _) = translation else {
            if case .fault(let cause) = translation { return reflect(cause: cause, value: address) }
            return nil
        }
        if isStore {
            let value = vcpu.register(Int(instruction.rs2.number))
            let done: Bool
            if memory.contains(physical, count: size) {
                // A store into scanned kernel code: write the original page, then rescan it.
                let page = physical & ~0xFFF
                let rescan = rewriter != nil && scannedPages.contains(page)
                if rescan { undoRewriting(page) }
                done = memory.write(physical, (0..<size).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) })
                if rescan { scanForRewriting(page) }
            } else {
                done = devices.write(physical, size: size, value: value, vcpu: &vcpu)
            }
            guard done else { return reflect(cause: access.accessFaultCause, value: address) }
        } else {
            var value: UInt32
            if memory.contains(physical, count: size), var bytes = memory.read(physical, count: size) {
                // Loads see the original words, never the rewrites.
                for (address, word) in originalWords[physical & ~0xFFF] ?? [:] where address < physical &+ UInt32(size) && physical < address &+ 4 {
                    for i in 0..<size {
                        let byteAddress = physical &+ UInt32(i)
                        if byteAddress >= address && byteAddress < address &+ 4 {
                            bytes[i] = UInt8(truncatingIfNeeded: word >> (8 * (byteAddress - address)))
                        }
                    }
                }
                value = bytes.enumerated().reduce(0) { $0 | UInt32($1.element) << (8 * $1.offset) }
            } else if let read = devices.read(physical, size: size, vcpu: &vcpu) {
                value = read
            } else {
                return reflect(cause: access.accessFaultCause, value: address)
            }
            if signed && size < 4 {
                let shift = UInt32(32 - 8 * size)
                value = UInt32(bitPattern: Int32(bitPattern: value << shift) >> Int32(shift))
            }
            vcpu.setRegister(Int(instruction.rd.number), value)
        }
        vcpu.pc &+= 4
        retireEmulatedAccess()
        return nil
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
