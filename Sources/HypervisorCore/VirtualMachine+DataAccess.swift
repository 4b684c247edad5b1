import Machine
import RISCV

/// Emulated data accesses: device registers, the HTIF page, and kernel code under binary translation.
extension VirtualMachine {
    /// Performs the load, store or atomic at `vcpu.pc` for the guest, exactly as the guest's
    /// hardware would (same values, same exceptions), and retires it.
    func emulateDataAccess() -> GuestRunResult? {
        let fetchRegime = TranslationRegime(vcpu, for: .fetch)
        guard case .guestPhysical(let codeAddress, _) = GuestPageTableWalk.translate(vcpu.pc, .fetch, regime: fetchRegime, memory: memory),
              let word = memory.read32(codeAddress) else {
            return fault("cannot read back the instruction that made a data access exit")
        }
        let instruction = Instruction(decoding: word)
        let base = vcpu.register(Int(instruction.rs1.number))
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
        case .lrW, .scW, .amoswapW, .amoaddW, .amoxorW, .amoandW, .amoorW, .amominW, .amomaxW, .amominuW, .amomaxuW:
            return emulateAtomic(instruction, address: base)
        default:
            return fault("a data access exit at an instruction that makes no data access (\(instruction.operation.mnemonic))")
        }
        let access: GuestAccess = isStore ? .store : .load
        let address = base &+ UInt32(bitPattern: instruction.immediate)
        let translation = GuestPageTableWalk.translate(address, access, regime: TranslationRegime(vcpu, for: access), memory: memory)
        guard case .guestPhysical(let physical, _) = translation else {
            if case .fault(let cause) = translation { return reflect(cause: cause, value: address) }
            return nil
        }
        if isStore {
            guard storeGuest(physical, size: size, value: vcpu.register(Int(instruction.rs2.number))) else {
                return reflect(cause: access.accessFaultCause, value: address)
            }
        } else {
            guard var value = loadGuest(physical, size: size) else { return reflect(cause: access.accessFaultCause, value: address) }
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

    /// LR.W, SC.W and the AMOs, with the hart's rules: naturally aligned (LR: load-misaligned,
    /// SC/AMO: store-misaligned), SC fails without the reservation (rd = 1, no write, no
    /// translation), AMOs need write permission. The reservation lives in the hart (`Machine.reserve`).
    private func emulateAtomic(_ instruction: Instruction, address: UInt32) -> GuestRunResult? {
        let operation = instruction.operation
        let rd = Int(instruction.rd.number)
        let operand = vcpu.register(Int(instruction.rs2.number))
        guard address & 3 == 0 else {
            return reflect(cause: operation == .lrW ? ExceptionCode.loadAddressMisaligned : ExceptionCode.storeAddressMisaligned,
                           value: address)
        }
        func translate(_ access: GuestAccess) -> (UInt32?, GuestRunResult?) {
            switch GuestPageTableWalk.translate(address, access, regime: TranslationRegime(vcpu, for: access), memory: memory) {
            case .guestPhysical(let physical, _): return (physical, nil)
            case .fault(let cause): return (nil, reflect(cause: cause, value: address))
            }
        }
        switch operation {
        case .lrW:
            let (physical, trap) = translate(.load)
            guard let physical else { return trap }
            guard let value = loadGuest(physical, size: 4) else { return reflect(cause: ExceptionCode.loadAccessFault, value: address) }
            machine.reserve(address)  // the hart's reservation is the guest's, emulated or not
            vcpu.setRegister(rd, value)
        case .scW:
            // The hart checks (and drops) the reservation before an SC.W translates its address: an
            // SC.W without one fails natively and never exits. One that exits held the reservation.
            let (physical, trap) = translate(.store)
            guard let physical else { return trap }
            guard storeGuest(physical, size: 4, value: operand) else {
                return reflect(cause: ExceptionCode.storeAccessFault, value: address)
            }
            vcpu.setRegister(rd, 0)
        default:
            let (physical, trap) = translate(.store)
            guard let physical else { return trap }
            guard let old = loadGuest(physical, size: 4) else { return reflect(cause: ExceptionCode.storeAccessFault, value: address) }
            let new: UInt32
            switch operation {
            case .amoswapW: new = operand
            case .amoaddW: new = old &+ operand
            case .amoxorW: new = old ^ operand
            case .amoandW: new = old & operand
            case .amoorW: new = old | operand
            case .amominW: new = Int32(bitPattern: old) < Int32(bitPattern: operand) ? old : operand
            case .amomaxW: new = Int32(bitPattern: old) > Int32(bitPattern: operand) ? old : operand
            case .amominuW: new = min(old, operand)
            default: new = max(old, operand)
            }
            guard storeGuest(physical, size: 4, value: new) else { return reflect(cause: ExceptionCode.storeAccessFault, value: address) }
            vcpu.setRegister(rd, old)
        }
        vcpu.pc &+= 4
        retireEmulatedAccess()
        return nil
    }

    /// A guest-physical load from RAM (seeing original words, never binary-translation rewrites)
    /// or from a device register; nil if nothing answers.
    private func loadGuest(_ physical: UInt32, size: Int) -> UInt32? {
        guard memory.contains(physical, count: size) else { return devices.read(physical, size: size, vcpu: &vcpu) }
        guard var bytes = memory.read(physical, count: size) else { return nil }
        for (address, word) in originalWords[physical & ~0xFFF] ?? [:] where address < physical &+ UInt32(size) && physical < address &+ 4 {
            for i in 0..<size {
                let byteAddress = physical &+ UInt32(i)
                if byteAddress >= address && byteAddress < address &+ 4 {
                    bytes[i] = UInt8(truncatingIfNeeded: word >> (8 * (byteAddress - address)))
                }
            }
        }
        return bytes.enumerated().reduce(0) { $0 | UInt32($1.element) << (8 * $1.offset) }
    }

    /// A guest-physical store to RAM (rescanning kernel code it changes, noticing an HTIF exit
    /// request) or to a device register; false if nothing answers.
    private func storeGuest(_ physical: UInt32, size: Int, value: UInt32) -> Bool {
        guard memory.contains(physical, count: size) else { return devices.write(physical, size: size, value: value, vcpu: &vcpu) }
        let page = physical & ~0xFFF
        let rescan = rewriter != nil && scannedPages.contains(page)
        if rescan { undoRewriting(page) }
        let done = memory.write(physical, (0..<size).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) })
        if done { pager.guestRAMWritten(at: physical, count: size) }
        if rescan { scanForRewriting(page) }
        if let tohost, tohost < physical &+ UInt32(size), physical < tohost &+ 4,
           let request = memory.read32(tohost & ~3), request & 1 != 0 {
            devices.requestExit(code: Int32(bitPattern: request >> 1))
        }
        return done
    }
}
