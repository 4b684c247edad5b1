/// Why a `Machine` could not be built (a bad configuration).
public struct MachineError: Error, Equatable, Sendable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// A host-side physical access (`readPhysical`/`writePhysical`) that hit no RAM and no device.
public struct BusError: Error, Equatable, Sendable, CustomStringConvertible {
    public var message: String
    /// The first physical address that nothing answers.
    public var address: UInt32
    public init(_ message: String, address: UInt32) {
        self.message = message
        self.address = address
    }
    public var description: String { message }
}

/// Why an ELF image could not be loaded into the machine: the message names the segment or entry point.
public struct LoadError: Error, Equatable, Sendable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// Why `run()` returned.
public enum StopReason: Equatable, Sendable {
    /// The guest asked to stop: the test finisher (0x5555 -> 0, 0x3333 | code << 16 -> code,
    /// 0x7777 "reset" -> 0) or an odd value written to HTIF `tohost` (code = value >> 1).
    case exited(code: Int32)
    /// `run(maxInstructions:)` retired that many instructions.
    case instructionLimit
    /// A trap from U-mode with `interceptUserTraps` on. The hart is exactly as it was before the
    /// trapping instruction (pc = that instruction).
    case userTrap(Trap)
    /// The guest can make no further progress, e.g. a trap whose handler itself traps at its first
    /// instruction, or WFI with no interrupt that could ever wake the hart. The message names the pc.
    case guestFault(String)
}

/// One trap as the hardware reports it.
public struct Trap: Equatable, Sendable, CustomStringConvertible {
    /// The `mcause` encoding: bit 31 set for interrupts, the exception or interrupt code below.
    public var cause: UInt32
    /// The `mtval`/`stval` value: the faulting address, the illegal instruction word, or 0.
    public var value: UInt32
    /// The pc of the trapping instruction (for an interrupt: the instruction that did not run yet).
    public var pc: UInt32

    /// With the hypervisor extension: the trap was taken from V=1 (a guest in VS- or VU-mode).
    public var fromGuest: Bool = false
    /// With the hypervisor extension: the `htval` value, the guest-physical address shifted right
    /// by 2 for a guest-page fault (causes 20, 21, 23), otherwise 0.
    public var htval: UInt32 = 0

    public init(cause: UInt32, value: UInt32, pc: UInt32, fromGuest: Bool = false, htval: UInt32 = 0) {
        self.cause = cause
        self.value = value
        self.pc = pc
        self.fromGuest = fromGuest
        self.htval = htval
    }

    /// The full guest-physical address of a guest-page fault: `htval` gives bits 33:2, and the
    /// low two bits equal those of the guest virtual address in `value` (pages are 4 KiB).
    public var guestPhysicalAddress: UInt64 { UInt64(htval) << 2 | UInt64(value & 3) }

    public var isInterrupt: Bool { cause & 0x8000_0000 != 0 }

    public var description: String {
        "\(Trap.name(ofCause: cause)) at pc 0x\(hex(pc)) (tval 0x\(hex(value)))"
    }

    /// The privileged specification's name for an `mcause` value.
    public static func name(ofCause cause: UInt32) -> String {
        let code = cause & 0x7FFF_FFFF
        if cause & 0x8000_0000 != 0 {
            switch code {
            case 1: return "supervisor software interrupt"
            case 3: return "machine software interrupt"
            case 5: return "supervisor timer interrupt"
            case 7: return "machine timer interrupt"
            case 2: return "virtual supervisor software interrupt"
            case 6: return "virtual supervisor timer interrupt"
            case 9: return "supervisor external interrupt"
            case 10: return "virtual supervisor external interrupt"
            case 12: return "supervisor guest external interrupt"
            case 11: return "machine external interrupt"
            default: return "interrupt \(code)"
            }
        }
        switch code {
        case 0: return "instruction address misaligned"
        case 1: return "instruction access fault"
        case 2: return "illegal instruction"
        case 3: return "breakpoint"
        case 4: return "load address misaligned"
        case 5: return "load access fault"
        case 6: return "store/AMO address misaligned"
        case 7: return "store/AMO access fault"
        case 8: return "environment call from U-mode"
        case 9: return "environment call from S-mode"
        case 10: return "environment call from VS-mode"
        case 11: return "environment call from M-mode"
        case 12: return "instruction page fault"
        case 13: return "load page fault"
        case 15: return "store/AMO page fault"
        case 20: return "instruction guest-page fault"
        case 21: return "load guest-page fault"
        case 22: return "virtual instruction"
        case 23: return "store/AMO guest-page fault"
        default: return "exception \(code)"
        }
    }
}

/// Eight lowercase hex digits, the way traces print 32-bit values.
func hex(_ value: UInt32) -> String {
    let digits = String(value, radix: 16)
    return String(repeating: "0", count: 8 - digits.count) + digits
}
