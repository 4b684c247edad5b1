/// One trap as the trace sees it: the trap, and the privilege change it made.
public struct TrapEvent: Equatable, Sendable {
    public var trap: Trap
    public var from: PrivilegeLevel
    /// The mode whose handler runs next; nil when the host handles it (`interceptUserTraps`: the
    /// Linux user-mode kernel written in Swift).
    public var to: PrivilegeLevel?
    /// Where the hart goes next: the handler's address (the trapping pc when the host handles it).
    public var handler: UInt32
}

/// The debugger's and the tracer's view into a machine. The run loop and engines never look at
/// it; only trap entry does (one nil check, on the slow path that traps already are), so a
/// machine nobody debugs pays nothing.
final class DebugHooks {
    /// Software breakpoints, by the virtual address gdb gave: where the EBREAK was planted in
    /// physical memory, and the word it replaced.
    var breakpoints: [UInt32: (physical: UInt32, original: UInt32)] = [:]
    /// Set when a planted EBREAK stopped the run.
    var breakpointHit: UInt32?
    var trapObserver: ((TrapEvent) -> Void)?

    var isEmpty: Bool { breakpoints.isEmpty && trapObserver == nil }
}

/// EBREAK, the word planted at a software breakpoint.
let ebreakWord: UInt32 = 0x0010_0073

extension Machine {
    // MARK: Memory as the hart sees it, without side effects

    /// The physical address of `virtualAddress` under the hart's current translation (its
    /// privilege and `satp`), found without the TLB and without setting accessed/dirty bits.
    /// Permissions are not checked: a debugger may read execute-only code and write read-only data.
    /// Nil if the address is unmapped.
    public func debugTranslate(_ virtualAddress: UInt32) -> UInt32? {
        let s = state.pointee
        guard s.satp >> 31 == 1 && s.privilege != .machine else { return virtualAddress }
        var tableAddress = UInt64(s.satp & 0x3F_FFFF) << 12
        for level in [1, 0] {
            let index = level == 1 ? virtualAddress >> 22 : (virtualAddress >> 12) & 0x3FF
            let pteAddress = tableAddress + UInt64(index) * 4
            guard pteAddress < 1 << 32, let offset = ramOffset(UInt32(pteAddress), count: 4) else { return nil }
            let pte = ram.load(fromByteOffset: offset, as: UInt32.self)
            guard pte & 1 != 0, !(pte & 2 == 0 && pte & 4 != 0) else { return nil }
            let ppn = UInt64(pte >> 10)
            if pte & 0xA != 0 {  // a leaf (readable or executable)
                let physical = level == 1
                    ? (ppn >> 10) << 22 | UInt64(virtualAddress & 0x3F_FFFF)
                    : ppn << 12 | UInt64(virtualAddress & 0xFFF)
                return physical < 1 << 32 ? UInt32(physical) : nil
            }
            tableAddress = ppn << 12
        }
        return nil
    }

    /// Reads up to `count` bytes at a virtual address, stopping at the first byte that is not
    /// mapped to RAM (device registers are not read: reading a UART register consumes input).
    /// Planted breakpoints are hidden: the bytes read are the guest's own.
    public func debugRead(_ virtualAddress: UInt32, count: Int) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(max(0, count))
        var address = virtualAddress
        while bytes.count < count {
            guard let physical = debugTranslate(address), let offset = ramOffset(physical, count: 1) else { break }
            // Copy to the end of the page (translation is per page) or of the request.
            let run = min(count - bytes.count, 4096 - Int(address & 0xFFF), Int(ramSize) - offset)
            bytes.append(contentsOf: UnsafeRawBufferPointer(start: ram + offset, count: run))
            address &+= UInt32(run)
            if address == 0 { break }
        }
        hideBreakpoints(in: &bytes, at: virtualAddress)
        return bytes
    }

    /// Writes bytes at a virtual address, all or nothing: every byte must be mapped to RAM.
    /// A write over a planted breakpoint changes the word the breakpoint will restore.
    public func debugWrite(_ virtualAddress: UInt32, _ bytes: [UInt8]) throws(BusError) {
        var physical: [UInt32] = []
        physical.reserveCapacity(bytes.count)
        for i in 0..<bytes.count {
            let address = virtualAddress &+ UInt32(truncatingIfNeeded: i)
            guard let p = debugTranslate(address), ramOffset(p, count: 1) != nil else {
                throw BusError("no RAM is mapped at virtual address 0x\(hex(address))", address: address)
            }
            physical.append(p)
        }
        var plantedBytes: [UInt32: (virtual: UInt32, byte: Int)] = [:]
        for (virtual, planted) in debugHooks?.breakpoints ?? [:] {
            for k in 0..<4 { plantedBytes[planted.physical &+ UInt32(k)] = (virtual, k) }
        }
        for (i, p) in physical.enumerated() {
            if let (virtual, k) = plantedBytes[p], let planted = debugHooks?.breakpoints[virtual] {
                var original = planted.original
                original = original & ~(0xFF << (8 * UInt32(k))) | UInt32(bytes[i]) << (8 * UInt32(k))
                debugHooks?.breakpoints[virtual] = (planted.physical, original)
            } else {
                try storeForDebugger(p, [bytes[i]])
            }
        }
    }

    /// Every host write the debugger makes to guest memory goes through here, to `writePhysical`,
    /// which is where an engine that caches translated code must notice that code changed.
    private func storeForDebugger(_ physical: UInt32, _ bytes: [UInt8]) throws(BusError) {
        try writePhysical(physical, bytes)
    }

    private func hideBreakpoints(in bytes: inout [UInt8], at virtualAddress: UInt32) {
        guard let hooks = debugHooks, !hooks.breakpoints.isEmpty, !bytes.isEmpty else { return }
        for (i, _) in bytes.enumerated() {
            let address = virtualAddress &+ UInt32(i)
            guard let physical = debugTranslate(address) else { continue }
            for (_, planted) in hooks.breakpoints where physical &- planted.physical < 4 {
                let k = physical &- planted.physical
                bytes[i] = UInt8(truncatingIfNeeded: planted.original >> (8 * k))
            }
        }
    }

    // MARK: Software breakpoints

    private var hooks: DebugHooks {
        if let existing = debugHooks { return existing }
        let made = DebugHooks()
        debugHooks = made
        return made
    }

    private func dropHooksIfUnused() {
        if let existing = debugHooks, existing.isEmpty, existing.breakpointHit == nil { debugHooks = nil }
    }

    /// Plants an EBREAK at a 4-aligned virtual address (mapped now, to RAM). When the hart reaches
    /// it, `run` stops with `.instructionLimit` before executing it, `pc` at the breakpoint and
    /// `takeBreakpointHit()` saying where; no trap is taken, no state changes.
    public func insertBreakpoint(at virtualAddress: UInt32) throws(BusError) {
        guard virtualAddress & 3 == 0 else {
            throw BusError("breakpoint address 0x\(hex(virtualAddress)) is not 4-byte aligned", address: virtualAddress)
        }
        if debugHooks?.breakpoints[virtualAddress] != nil { return }
        guard let physical = debugTranslate(virtualAddress), let offset = ramOffset(physical, count: 4) else {
            throw BusError("no RAM is mapped at virtual address 0x\(hex(virtualAddress))", address: virtualAddress)
        }
        let original = ram.load(fromByteOffset: offset, as: UInt32.self)
        try plant(physical)
        hooks.breakpoints[virtualAddress] = (physical, original)
    }

    /// Removes a breakpoint, putting the guest's word back. Removing one that is not there is fine.
    public func removeBreakpoint(at virtualAddress: UInt32) {
        guard let planted = debugHooks?.breakpoints.removeValue(forKey: virtualAddress) else { return }
        try? storeForDebugger(planted.physical, bytes(of: planted.original))
        dropHooksIfUnused()
    }

    public func removeAllBreakpoints() {
        for address in breakpoints { removeBreakpoint(at: address) }
    }

    /// The virtual addresses with breakpoints, in order.
    public var breakpoints: [UInt32] { (debugHooks?.breakpoints.keys).map { $0.sorted() } ?? [] }

    /// Where a planted breakpoint stopped the last run, if one did; reading it clears it.
    public func takeBreakpointHit() -> UInt32? {
        let hit = debugHooks?.breakpointHit
        debugHooks?.breakpointHit = nil
        dropHooksIfUnused()
        return hit
    }

    /// Runs `body` (a single step) with the breakpoint at the current pc, if any, lifted, so the
    /// guest's own instruction executes; then plants it again.
    public func withBreakpointLifted<T>(_ body: () -> T) -> T {
        let pc = state.pointee.pc
        guard let planted = debugHooks?.breakpoints[pc] else { return body() }
        try? storeForDebugger(planted.physical, bytes(of: planted.original))
        defer {
            // The step may have removed it (it cannot: the step is guest code), or the guest may
            // have rewritten the word: keep what the guest wrote as the word to restore.
            if let offset = ramOffset(planted.physical, count: 4), debugHooks?.breakpoints[pc] != nil {
                let current = ram.load(fromByteOffset: offset, as: UInt32.self)
                debugHooks?.breakpoints[pc] = (planted.physical, current)
                try? plant(planted.physical)
            }
        }
        return body()
    }

    private func plant(_ physical: UInt32) throws(BusError) {
        try storeForDebugger(physical, bytes(of: ebreakWord))
    }

    private func bytes(of word: UInt32) -> [UInt8] {
        (0..<4).map { UInt8(truncatingIfNeeded: word >> (8 * $0)) }
    }

    // MARK: Trap observation

    /// Called for every trap the hart takes (interrupts too), after it is taken; for traps the
    /// host handles (`interceptUserTraps`) with `to` nil. Not called for a debugger's breakpoint.
    public var trapObserver: ((TrapEvent) -> Void)? {
        get { debugHooks?.trapObserver }
        set {
            if newValue != nil { hooks.trapObserver = newValue } else { debugHooks?.trapObserver = nil; dropHooksIfUnused() }
        }
    }

    /// Trap entry's debugging hook. Returns true if the trap is the debugger's breakpoint, which
    /// stops the run instead of entering the guest's handler.
    func debugInterceptsTrap(_ hooks: DebugHooks, cause: UInt32, pc: UInt32) -> Bool {
        guard cause == ExceptionCause.breakpoint, hooks.breakpoints[pc] != nil else { return false }
        hooks.breakpointHit = pc
        state.pointee.pc = pc
        pendingStop = .instructionLimit
        return true
    }
}
