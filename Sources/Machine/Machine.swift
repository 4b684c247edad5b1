import RISCV

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The emulated computer: one RV32IMA hart with M, S and U modes, an Sv32 MMU, and the devices of
/// QEMU's `virt` board (RAM at `0x8000_0000`, 16550 UART, CLINT, `sifive_test` finisher), plus HTIF
/// `tohost` for ISA-test-style guests.
///
/// The pieces are kept apart so the engines share them: `HartState` is the architectural state, the
/// bus and devices are the physical world, the TLB is a cache any engine may use, and the engine
/// (`Interpreter` or `Translator`, see Engine/DESIGN.md) only moves the state forward. The run loop
/// here decides *when* an engine runs (timer deadlines, interrupts, WFI, instruction limits), so
/// every engine sees the same boundaries.
///
/// Not Sendable: a machine and its state are confined to the thread that drives it.
public final class Machine {
    public let configuration: MachineConfiguration

    /// The hart's architectural state, on the heap behind a pointer so the engine's hot loop reaches
    /// it without class-property exclusivity checks.
    let state: UnsafeMutablePointer<HartState>

    /// Guest RAM: `ramSize` bytes for physical `0x8000_0000...`. Allocated with `calloc`, so the
    /// host commits pages only when the guest touches them.
    let ram: UnsafeMutableRawPointer
    let ramSize: UInt32
    static let ramBase: UInt32 = 0x8000_0000

    /// Three direct-mapped TLBs (fetch, load, store), `TLB.entriesPerKind` entries each.
    let tlb: UnsafeMutablePointer<TLBEntry>
    /// MMU counters, the TLB-fill observer and the G-stage walk cache (Memory/TranslationMonitor.swift).
    let translationMonitor = TranslationMonitor()
    /// Translation contexts folded into TLB tags, so switching privilege (or SUM/MXR/MPRV) needs no flush.
    var fetchContext: UInt32 = 0
    var dataContext: UInt32 = 0

    var clint: CLINT
    let uart: UART16550
    /// The physical address of the ELF's `tohost` symbol, if the loaded image has one.
    var tohostAddress: UInt32? = nil
    var fromhostAddress: UInt32? = nil

    /// Set by a device, a trap or WFI when `run()` must return after the current instruction.
    var pendingStop: StopReason? = nil
    /// The hart executed WFI and waits for an interrupt.
    var waitingForInterrupt = false
    /// The last trap taken, to explain a trap loop in a `.guestFault` message.
    var lastTrap: Trap? = nil
    /// Breakpoints and trap observers of a debugger or tracer (Sources/Machine/Debug); nil when
    /// nobody debugs, which is all trap entry checks.
    var debugHooks: DebugHooks? = nil

    /// The translator's blocks, and which RAM pages hold translated code (see Machine+Translation.swift).
    let codeCache: CodeCache
    /// When not nil, every trap and interrupt is appended here as it is taken (the engines'
    /// differential tests compare these logs). Costs one nil test per trap when off.
    var trapLog: [TrapRecord]? = nil

    public init(configuration: MachineConfiguration = .init()) throws(MachineError) {
        let size = configuration.ramSize
        guard size > 0, size % 4096 == 0 else {
            throw MachineError("RAM size \(size) must be a positive multiple of 4096 bytes")
        }
        guard size <= 1 << 31 else {
            throw MachineError("RAM size \(size) is more than the 2 GiB between 0x80000000 and the end of the 32-bit address space")
        }
        guard configuration.instructionsPerTimerTick >= 1 else {
            throw MachineError("instructionsPerTimerTick must be at least 1")
        }
        guard configuration.codeCacheCapacity >= CodeCache.minimumCapacity else {
            throw MachineError("codeCacheCapacity \(configuration.codeCacheCapacity) is less than the minimum of \(CodeCache.minimumCapacity) bytes")
        }
        guard let memory = calloc(size, 1) else {
            throw MachineError("cannot allocate \(size) bytes of guest RAM on the host")
        }
        self.configuration = configuration
        ram = memory
        ramSize = UInt32(size)
        state = .allocate(capacity: 1)
        state.initialize(to: HartState())
        tlb = .allocate(capacity: TLB.entriesPerKind * 3)
        tlb.initialize(repeating: TLBEntry(), count: TLB.entriesPerKind * 3)
        clint = CLINT(instructionsPerTick: configuration.instructionsPerTimerTick)
        codeCache = CodeCache(capacityBytes: configuration.codeCacheCapacity, ramPages: size / 4096)
        uart = UART16550(console: .standard)
        updateTranslationContext()
    }

    deinit {
        state.pointee.deallocate()
        state.deinitialize(count: 1)
        state.deallocate()
        tlb.deallocate()
        free(ram)
    }

    // MARK: Hart access for the host (the CLI, the Linux user-mode layer, tests)

    public var pc: UInt32 {
        get { state.pointee.pc }
        set { state.pointee.pc = newValue }
    }

    public func register(_ r: Register) -> UInt32 { state.pointee.registers[Int(r.number)] }

    /// Writes a register; writes to x0 are ignored, as the hardware ignores them.
    public func setRegister(_ r: Register, _ value: UInt32) {
        guard r.number != 0 else { return }
        state.pointee.registers[Int(r.number)] = value
    }

    public var privilege: PrivilegeLevel {
        get { state.pointee.privilege }
        set {
            state.pointee.privilege = newValue
            updateTranslationContext()
        }
    }

    /// Reads a CSR as M-mode software would see it, without privilege checks. Unimplemented CSRs read 0.
    public func readCSR(_ number: UInt16) -> UInt32 {
        csrValue(number) ?? 0
    }

    /// Writes a CSR as M-mode software would (WARL fields are legalized), without privilege or
    /// read-only checks. A `satp` write flushes the TLB. Writes to unimplemented CSRs are ignored.
    public func writeCSR(_ number: UInt16, _ value: UInt32) {
        _ = setCSR(number, value)
    }

    /// Instructions retired since the machine was built (the `minstret` count before any guest writes to it).
    public var retiredInstructions: UInt64 { state.pointee.retired }

    /// Where the UART's output goes and its input comes from.
    public var console: ConsoleIO {
        get { uart.console }
        set { uart.console = newValue }
    }

    /// Drops every cached translation, like `sfence.vma zero, zero`. Host code that edits page
    /// tables of a running guest (the Linux user-mode layer) calls this after changing or removing
    /// a mapping; adding a mapping needs no flush, since failed walks are never cached.
    public func flushTLB() {
        TLB.flushAll(tlb)
        translationMonitor.noteFullFlush()
    }

    // MARK: Physical memory for the host

    /// Reads bytes at a physical address: RAM, or device registers (one byte at a time, with the
    /// devices' read side effects). Throws if any byte is neither.
    public func readPhysical(_ address: UInt32, count: Int) throws(BusError) -> [UInt8] {
        guard count > 0 else { return [] }
        if let offset = ramOffset(address, count: count) {
            return Array(UnsafeRawBufferPointer(start: ram + offset, count: count))
        }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(count)
        for i in 0..<count {
            let byteAddress = address &+ UInt32(truncatingIfNeeded: i)
            guard UInt64(address) + UInt64(i) < 1 << 32, let byte = busRead(byteAddress, size: 1) else {
                throw BusError("no RAM or device at physical address 0x\(hex(byteAddress))", address: byteAddress)
            }
            bytes.append(UInt8(truncatingIfNeeded: byte))
        }
        return bytes
    }

    /// Writes bytes at a physical address (RAM or device registers). Nothing is written if any
    /// byte has no RAM or device behind it. Host writes never stop the machine (a finisher write
    /// from here is ignored).
    public func writePhysical(_ address: UInt32, _ bytes: [UInt8]) throws(BusError) {
        guard !bytes.isEmpty else { return }
        if let offset = ramOffset(address, count: bytes.count) {
            bytes.withUnsafeBytes { (ram + offset).copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
            noteRAMWrite(offset, count: bytes.count)
            return
        }
        for i in 0..<bytes.count {
            let byteAddress = address &+ UInt32(truncatingIfNeeded: i)
            guard UInt64(address) + UInt64(i) < 1 << 32, deviceOrRAMExists(at: byteAddress) else {
                throw BusError("no RAM or device at physical address 0x\(hex(byteAddress))", address: byteAddress)
            }
        }
        let stopBefore = pendingStop
        for (i, byte) in bytes.enumerated() {
            _ = busWrite(address &+ UInt32(i), size: 1, value: UInt32(byte))
        }
        pendingStop = stopBefore
    }

    // MARK: Loading programs

    /// Copies an ELF image's PT_LOAD segments to their physical addresses (zero-filling each
    /// segment's bss part), sets pc to the entry point, and remembers `tohost`/`fromhost` for HTIF.
    /// Symbol values are taken as physical addresses, which holds for the bare-metal images
    /// (virtual = physical) that use HTIF.
    ///
    /// Every segment must lie in RAM, with one allowance: GNU ld, given `-Ttext=0x80000000`, puts the
    /// ELF and program headers in the first segment just *below* that address. A part of a segment
    /// outside RAM is skipped when the section headers show that no section's contents lie there
    /// (QEMU's loader drops such bytes too). Anything else outside RAM is an error naming the segment.
    public func load(_ elf: ELFFile) throws(LoadError) {
        let ramStart = UInt64(Machine.ramBase)
        let ramEnd = ramStart + UInt64(ramSize)
        let allocatedSections = elf.sections.filter { $0.occupiesMemory && $0.size > 0 }
        func holdsSection(_ start: UInt64, _ end: UInt64) -> Bool {
            elf.sections.isEmpty || allocatedSections.contains { section in
                UInt64(section.address) < end && start < UInt64(section.address) + UInt64(section.size)
            }
        }
        var pieces: [(segment: ELFFile.Segment, start: UInt64, end: UInt64)] = []
        for (index, segment) in elf.segments.enumerated() where segment.memorySize > 0 {
            let start = UInt64(segment.physicalAddress)
            let end = start + UInt64(segment.memorySize)
            let loadStart = max(start, ramStart), loadEnd = min(end, ramEnd)
            var outside: [(UInt64, UInt64)] = []
            if start < ramStart { outside.append((start, min(end, ramStart))) }
            if end > ramEnd { outside.append((max(start, ramEnd), end)) }
            for (partStart, partEnd) in outside {
                let virtualStart = UInt64(segment.virtualAddress) + (partStart - start)
                if holdsSection(virtualStart, virtualStart + (partEnd - partStart)) {
                    throw LoadError("segment \(index) at physical 0x\(hex(segment.physicalAddress)) (0x\(String(segment.memorySize, radix: 16)) bytes) lies outside RAM 0x\(hex(Machine.ramBase))-0x\(hex(UInt32(ramEnd - 1)))")
                }
            }
            if loadStart < loadEnd { pieces.append((segment, loadStart, loadEnd)) }
        }
        guard elf.segments.contains(where: { segment in
            segment.executable && elf.entry >= segment.virtualAddress
                && UInt64(elf.entry) < UInt64(segment.virtualAddress) + UInt64(segment.memorySize)
        }) else {
            throw LoadError("entry point 0x\(hex(elf.entry)) is in no executable loaded segment")
        }
        invalidateAllTranslations()  // the old program's code is gone
        for (segment, start, end) in pieces {
            // Bytes [start, end) of physical memory, taken from the segment at the same offset.
            let skipped = Int(start - UInt64(segment.physicalAddress))
            let count = Int(end - start)
            let ramOffset = Int(start - ramStart)
            let fileBytes = max(0, min(segment.data.count - skipped, count))
            if fileBytes > 0 {
                segment.data.withUnsafeBytes { bytes in
                    (ram + ramOffset).copyMemory(from: bytes.baseAddress! + skipped, byteCount: fileBytes)
                }
            }
            if count > fileBytes {
                (ram + ramOffset + fileBytes).initializeMemory(as: UInt8.self, repeating: 0, count: count - fileBytes)
            }
        }
        tohostAddress = elf.symbol(named: "tohost")?.value
        fromhostAddress = elf.symbol(named: "fromhost")?.value
        flushTLB()  // store entries for the tohost page must now take the slow path
        state.pointee.pc = elf.entry
    }

    // MARK: Running

    /// Runs the hart until the guest exits, faults beyond recovery, traps from U-mode (with
    /// `interceptUserTraps`), or `maxInstructions` more instructions have retired.
    public func run(maxInstructions: UInt64? = nil) -> StopReason {
        defer { uart.console.flush() }
        let start = state.pointee.retired
        let limit = maxInstructions.map { start.addingReportingOverflow($0).overflow ? .max : start + $0 } ?? .max
        while true {
            if let stop = pendingStop {
                pendingStop = nil
                return stop
            }
            // The limit comes before interrupts: after exactly N retirements nothing else has
            // happened, and a pending interrupt is taken at the start of the next run.
            if state.pointee.retired >= limit { return .instructionLimit }
            refreshDevicePending()
            if let cause = takeableInterrupt() {
                waitingForInterrupt = false
                enterTrap(cause: cause, value: 0, pc: state.pointee.pc)
                continue
            }
            if waitingForInterrupt {
                if let stop = waitForInterrupt() { return stop }
                continue
            }
            let retired = state.pointee.retired
            var stopAt = limit
            // End the engine's run exactly when the timer fires, so the interrupt is taken at the
            // same instruction by every engine and every run.
            if state.pointee.mie & InterruptBit.machineTimer != 0 {
                let untilTimer = clint.instructionsUntilTimer(retired: retired)
                if untilTimer > 0 && untilTimer < stopAt - retired { stopAt = retired + untilTimer }
            }
            switch configuration.engine {
            case .interpreter: Interpreter.run(self, until: stopAt)
            case .translator: Translator.run(self, until: stopAt)
            }
        }
    }

    /// WFI: resume if a locally enabled interrupt is pending (even if globally disabled, per the
    /// spec); otherwise jump time forward to the timer deadline if the timer can wake the hart;
    /// otherwise the guest is stuck forever.
    private func waitForInterrupt() -> StopReason? {
        let s = state
        if s.pointee.mip & s.pointee.mie != 0 {
            waitingForInterrupt = false
            return nil
        }
        let now = clint.mtime(retired: s.pointee.retired)
        if s.pointee.mie & InterruptBit.machineTimer != 0 && clint.mtimecmp > now && clint.mtimecmp - now < 1 << 62 {
            clint.timeOffset &+= clint.mtimecmp - now
            return nil
        }
        waitingForInterrupt = false
        return .guestFault("WFI at pc 0x\(hex(s.pointee.pc &- 4)) waits forever: no enabled interrupt can become pending (mie=0x\(hex(s.pointee.mie)), mip=0x\(hex(s.pointee.mip)), mtimecmp=0x\(String(clint.mtimecmp, radix: 16)))")
    }

    // MARK: Helpers

    /// The offset into `ram` of `count` bytes at physical `address`, if all of them are RAM.
    @inline(__always)
    func ramOffset(_ address: UInt32, count: Int) -> Int? {
        let offset = address &- Machine.ramBase
        guard offset < ramSize, UInt64(offset) + UInt64(count) <= UInt64(ramSize) else { return nil }
        return Int(offset)
    }
}

/// A machine's state is mutated by every step without locks: it belongs to one thread at a time.
@available(*, unavailable, message: "a Machine is confined to the thread that runs it")
extension Machine: Sendable {}
