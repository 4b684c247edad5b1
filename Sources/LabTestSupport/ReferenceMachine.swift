import Glibc
import LabSupport
import Machine
import RISCV

/// The library's own emulator (`Machine`, its interpreter) set up to behave exactly like a lab
/// machine, so the two can run the same program side by side.
///
/// The lab machine has no paging: its regions sit at their own addresses. `Machine` has RAM at
/// 0x8000_0000, so this builds Sv32 page tables that map every page of every lab region
/// (virtual = the lab address) to a RAM frame, runs the hart in U-mode with user traps
/// intercepted, and answers ECALLs with the same `LinuxSystemCalls` the lab machine uses.
/// A page fault here is the lab machine's access fault (nothing is mapped on demand).
public final class ReferenceMachine {
    public let machine: Machine
    /// Virtual page number -> physical address of its frame.
    private var frames: [UInt32: UInt32] = [:]
    public private(set) var system: LinuxSystemCalls
    public private(set) var retired: UInt64 = 0
    public private(set) var finalStop: LabMachine.Stop?
    public let regions: [Memory.Region]

    /// A reference with the same memory contents, registers and pc as `memory`/`hart`, and the
    /// given system-call state.
    public init(memory: Memory, hart: Hart, system: LinuxSystemCalls) throws(LabError) {
        regions = memory.regions
        self.system = system
        let pages = regions.reduce(0) { $0 + Int($1.size / Memory.pageSize) }
        // The root table, at most one level-0 table per 4 MiB of each region (+1 for straddling), the pages.
        let tables = 1 + regions.reduce(0) { $0 + Int($1.size >> 22) + 2 }
        var configuration = MachineConfiguration()
        configuration.ramSize = ((pages + tables) * 4096 + 0xF_FFFF) & ~0xF_FFFF
        configuration.interceptUserTraps = true
        do {
            machine = try Machine(configuration: configuration)
        } catch {
            throw LabError("cannot build the reference machine: \(error)")
        }
        let ramBase: UInt32 = 0x8000_0000
        var nextFrame = ramBase + 4096  // frame 0 is the root table
        var levelZeroTables: [UInt32: UInt32] = [:]  // VPN[1] -> table address
        func writeWord(_ value: UInt32, at address: UInt32) throws(LabError) {
            do {
                try machine.writePhysical(address, [UInt8(value & 0xFF), UInt8(value >> 8 & 0xFF), UInt8(value >> 16 & 0xFF), UInt8(value >> 24)])
            } catch {
                throw LabError("reference machine: \(error)")
            }
        }
        // V, R, W, X, U, A, D: every page readable, writable, executable by the user, as in the lab machine.
        let leafFlags: UInt32 = 0x1 | 0x2 | 0x4 | 0x8 | 0x10 | 0x40 | 0x80
        for region in regions {
            // One copy of the region; only its non-zero pages are written (the frames start zeroed).
            // `memcmp` against a zero page: a byte loop over megabytes of heap is slow in a debug build.
            let contents = memory.contents(of: region)
            var page = region.base
            while UInt64(page) < region.end {
                let upper = page >> 22
                let table: UInt32
                if let existing = levelZeroTables[upper] {
                    table = existing
                } else {
                    table = nextFrame
                    nextFrame += 4096
                    levelZeroTables[upper] = table
                    try writeWord((table >> 12) << 10 | 0x1, at: ramBase + upper * 4)
                }
                let frame = nextFrame
                nextFrame += 4096
                try writeWord((frame >> 12) << 10 | leafFlags, at: table + (page >> 12 & 0x3FF) * 4)
                frames[page >> 12] = frame
                let offset = Int(page - region.base)
                if !ReferenceMachine.isZeroPage(contents, at: offset) {
                    do { try machine.writePhysical(frame, Array(contents[offset..<offset + 4096])) } catch { throw LabError("reference machine: \(error)") }
                }
                page &+= 4096
            }
        }
        machine.writeCSR(0x180, 1 << 31 | ramBase >> 12)  // satp: Sv32, root table at frame 0
        machine.privilege = .user
        for number in 1..<32 { machine.setRegister(Register(UInt8(number)), hart[Register(UInt8(number))]) }
        machine.pc = hart.pc
    }

    private static let zeroPage = [UInt8](repeating: 0, count: 4096)

    /// Whether the 4096 bytes at `offset` are all zero.
    private static func isZeroPage(_ bytes: [UInt8], at offset: Int) -> Bool {
        guard offset >= 0, offset + 4096 <= bytes.count else { return false }
        return bytes.withUnsafeBytes { raw in
            zeroPage.withUnsafeBytes { zero in memcmp(raw.baseAddress! + offset, zero.baseAddress!, 4096) == 0 }
        }
    }

    /// A reference for a lab machine in its current state.
    public convenience init(mirroring lab: LabMachine) throws(LabError) {
        try self.init(memory: lab.memory, hart: lab.hart, system: lab.system)
    }

    public var pc: UInt32 { machine.pc }
    public func register(_ register: Register) -> UInt32 { machine.register(register) }
    public var registers: [UInt32] { (0..<32).map { machine.register(Register(UInt8($0))) } }

    /// Guest bytes at a lab address, or nil outside the lab regions.
    public func read(_ address: UInt32, count: Int) -> [UInt8]? {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(count)
        var address = address
        var left = count
        while left > 0 {
            guard let frame = frames[address >> 12] else { return nil }
            let chunk = min(left, Int(4096 - (address & 0xFFF)))
            guard let part = try? machine.readPhysical(frame + (address & 0xFFF), count: chunk) else { return nil }
            bytes += part
            left -= chunk
            address &+= UInt32(chunk)
        }
        return bytes
    }

    func write(_ bytes: [UInt8], at address: UInt32) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let current = address &+ UInt32(offset)
            guard let frame = frames[current >> 12] else { return false }
            let chunk = min(bytes.count - offset, Int(4096 - (current & 0xFFF)))
            guard (try? machine.writePhysical(frame + (current & 0xFFF), Array(bytes[offset..<offset + chunk]))) != nil else { return false }
            offset += chunk
        }
        return true
    }

    /// Runs exactly `count` more instructions (an ECALL the kernel completes counts as one), or
    /// until the program stops. Returns the stop, or nil if the program can go on.
    public func run(_ count: UInt64) -> LabMachine.Stop? {
        if let finalStop { return finalStop }
        var remaining = count
        while remaining > 0 {
            let before = machine.retiredInstructions
            let stop = machine.run(maxInstructions: remaining)
            let done = machine.retiredInstructions - before
            retired += done
            remaining -= min(remaining, done)
            switch stop {
            case .instructionLimit:
                continue
            case .userTrap(let trap):
                if trap.cause == 8 {
                    switch system.handle(ReferenceView(reference: self)) {
                    case .resume:
                        machine.pc = trap.pc &+ 4
                        retired += 1
                        remaining -= 1
                    case .exit(let code):
                        retired += 1
                        finalStop = .exited(code: code)
                        return finalStop
                    }
                } else {
                    finalStop = .trapped(ReferenceMachine.labTrap(cause: trap.cause, value: trap.value), pc: trap.pc)
                    return finalStop
                }
            case .guestFault(let message):
                finalStop = .labCodeFailed("the reference machine stopped: \(message)")
                return finalStop
            case .exited(let code):
                finalStop = .labCodeFailed("the reference machine exited with \(code) through a device the lab machine does not have")
                return finalStop
            }
        }
        return nil
    }

    /// The lab machine has no paging: what is a page fault here is an access fault there.
    static func labTrap(cause machineCause: UInt32, value: UInt32) -> LabSupport.Trap {
        let cause: LabSupport.Trap.Cause
        switch machineCause {
        case 12: cause = .instructionAccessFault
        case 13: cause = .loadAccessFault
        case 15: cause = .storeAccessFault
        default: cause = LabSupport.Trap.Cause(rawValue: machineCause) ?? .illegalInstruction
        }
        return LabSupport.Trap(cause, value: value)
    }
}

private final class ReferenceView: ProcessView {
    let reference: ReferenceMachine
    init(reference: ReferenceMachine) { self.reference = reference }
    func register(_ register: Register) -> UInt32 { reference.machine.register(register) }
    func setRegister(_ register: Register, _ value: UInt32) { reference.machine.setRegister(register, value) }
    func readGuest(_ address: UInt32, count: Int) -> [UInt8]? { reference.read(address, count: count) }
    func writeGuest(_ bytes: [UInt8], at address: UInt32) -> Bool { reference.write(bytes, at: address) }
}
