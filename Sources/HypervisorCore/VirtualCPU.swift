import Machine

/// The guest's virtual hart: what the guest kernel believes the CPU to be.
///
/// The guest really runs in U-mode of the emulated hart. Its general registers and pc are real
/// (the hart executes them), but its privilege level, its CSRs and its view of time exist only
/// here: the VMM keeps them, and every instruction that would read or change them traps and is
/// emulated against this state. Between runs (and while another domain runs on the hart) the
/// registers are saved here too, so one `Machine` can host several guests.
public struct VirtualCPU: Sendable {
    /// x0...x31 as the guest sees them (x0 always 0).
    public var registers: [UInt32] = Array(repeating: 0, count: 32)
    public var pc: UInt32 = 0x8000_0000
    /// The *virtual* privilege level: M while the guest's firmware runs, S for its kernel, U for its
    /// processes. The real hart is in U-mode in all three.
    public var privilege: PrivilegeLevel = .machine
    public var csrs = VirtualCSRFile()
    public var timer: VirtualTimer
    /// Guest instructions retired: those the hart executed for the guest plus those the VMM emulated.
    /// Virtual time is derived from it, so a guest's schedule repeats exactly from run to run.
    public var retired: UInt64 = 0
    /// The guest executed WFI and waits for an interrupt.
    public var waitingForInterrupt = false

    public init(instructionsPerTimerTick: UInt64 = 1) {
        timer = VirtualTimer(instructionsPerTick: max(1, instructionsPerTimerTick))
    }

    /// Reads a register as an instruction does (x0 is 0).
    public func register(_ number: Int) -> UInt32 { number == 0 ? 0 : registers[number & 31] }

    /// Writes a register as an instruction does (writes to x0 vanish).
    public mutating func setRegister(_ number: Int, _ value: UInt32) {
        if number != 0 { registers[number & 31] = value }
    }

    /// The virtual `mtime`.
    public var mtime: UInt64 { timer.mtime(retired: retired) }

    /// The virtual `mip`: the software-written bits, plus MTIP from the virtual timer and MSIP from
    /// the virtual CLINT's msip register (as the CLINT drives the real pins).
    public var pendingInterrupts: UInt32 {
        var pending = csrs.mip & ~(InterruptBits.machineTimer | InterruptBits.machineSoftware)
        if timer.pending(retired: retired) { pending |= InterruptBits.machineTimer }
        if timer.msip & 1 != 0 { pending |= InterruptBits.machineSoftware }
        return pending
    }

    /// The privilege that loads and stores use (mstatus.MPRV in M-mode makes them use MPP).
    public var dataPrivilege: PrivilegeLevel {
        if privilege == .machine && csrs.mstatus & StatusBits.mprv != 0 {
            return PrivilegeLevel(rawValue: UInt8(csrs.mstatus >> StatusBits.mppShift & 3)) ?? .user
        }
        return privilege
    }
}

/// The guest's CSRs as plain storage. The rules (which fields are writable, who may access what)
/// belong to the `ExitHandler` that emulates CSR instructions: that is the lab's work.
public struct VirtualCSRFile: Sendable, Equatable {
    public var mstatus: UInt32 = 0
    public var mtvec: UInt32 = 0
    public var stvec: UInt32 = 0
    public var mepc: UInt32 = 0
    public var sepc: UInt32 = 0
    public var mcause: UInt32 = 0
    public var scause: UInt32 = 0
    public var mtval: UInt32 = 0
    public var stval: UInt32 = 0
    public var mscratch: UInt32 = 0
    public var sscratch: UInt32 = 0
    public var mie: UInt32 = 0
    /// The software-writable pending bits (SSIP, STIP, SEIP); MTIP and MSIP come from the timer.
    public var mip: UInt32 = 0
    public var medeleg: UInt32 = 0
    public var mideleg: UInt32 = 0
    public var satp: UInt32 = 0
    public var mcounteren: UInt32 = 0
    public var scounteren: UInt32 = 0
    /// `minstret`/`mcycle` = retired + offset (software writes move the offset).
    public var instretOffset: UInt64 = 0
    public var cycleOffset: UInt64 = 0

    public init() {}
}

/// The virtual CLINT's state: deterministic time as on the bare machine,
/// `mtime = retired / instructionsPerTick + offset`.
public struct VirtualTimer: Sendable, Equatable {
    public let instructionsPerTick: UInt64
    /// Reset value all ones: no timer interrupt until software programs it.
    public var mtimecmp: UInt64 = .max
    public var offset: UInt64 = 0
    public var msip: UInt32 = 0

    public init(instructionsPerTick: UInt64) { self.instructionsPerTick = instructionsPerTick }

    public func mtime(retired: UInt64) -> UInt64 { retired / instructionsPerTick &+ offset }

    public mutating func setMtime(_ value: UInt64, retired: UInt64) {
        offset = value &- retired / instructionsPerTick
    }

    public func pending(retired: UInt64) -> Bool { mtime(retired: retired) >= mtimecmp }

    /// Instructions that may retire before `mtime` reaches `mtimecmp` (0 if it has; `.max` if never).
    public func instructionsUntilDeadline(retired: UInt64) -> UInt64 {
        let now = mtime(retired: retired)
        guard now < mtimecmp else { return 0 }
        let (instructions, overflow) = (mtimecmp - now).multipliedReportingOverflow(by: instructionsPerTick)
        guard !overflow else { return .max }
        return instructions - retired % instructionsPerTick
    }
}

/// Interrupt bits of mip/mie, and interrupt codes of mcause (privileged spec 3.1.9).
public enum InterruptBits {
    public static let supervisorSoftware: UInt32 = 1 << 1
    public static let machineSoftware: UInt32 = 1 << 3
    public static let supervisorTimer: UInt32 = 1 << 5
    public static let machineTimer: UInt32 = 1 << 7
    public static let supervisorExternal: UInt32 = 1 << 9
    public static let machineExternal: UInt32 = 1 << 11
    public static let all: UInt32 = 0xAAA
    public static let supervisorLevel: UInt32 = supervisorSoftware | supervisorTimer | supervisorExternal
    /// The order simultaneous interrupts are taken in: MEI, MSI, MTI, SEI, SSI, STI.
    public static let priorityOrder: [UInt32] = [11, 3, 7, 9, 1, 5]
}

/// mstatus fields for RV32 (privileged spec 3.1.6).
public enum StatusBits {
    public static let sie: UInt32 = 1 << 1
    public static let mie: UInt32 = 1 << 3
    public static let spie: UInt32 = 1 << 5
    public static let mpie: UInt32 = 1 << 7
    public static let spp: UInt32 = 1 << 8
    public static let mppShift: UInt32 = 11
    public static let mpp: UInt32 = 3 << 11
    public static let mprv: UInt32 = 1 << 17
    public static let sum: UInt32 = 1 << 18
    public static let mxr: UInt32 = 1 << 19
    public static let tvm: UInt32 = 1 << 20
    public static let tw: UInt32 = 1 << 21
    public static let tsr: UInt32 = 1 << 22
}

/// Exception codes (mcause with bit 31 clear), privileged spec table 3.6.
public enum ExceptionCode {
    public static let instructionAddressMisaligned: UInt32 = 0
    public static let instructionAccessFault: UInt32 = 1
    public static let illegalInstruction: UInt32 = 2
    public static let breakpoint: UInt32 = 3
    public static let loadAddressMisaligned: UInt32 = 4
    public static let loadAccessFault: UInt32 = 5
    public static let storeAddressMisaligned: UInt32 = 6
    public static let storeAccessFault: UInt32 = 7
    public static let environmentCallFromU: UInt32 = 8
    public static let environmentCallFromS: UInt32 = 9
    public static let environmentCallFromM: UInt32 = 11
    public static let instructionPageFault: UInt32 = 12
    public static let loadPageFault: UInt32 = 13
    public static let storePageFault: UInt32 = 15
}

extension VirtualCPU {
    /// WFI as the bare machine does it, shared by every VMM mode: resume if an enabled interrupt is
    /// pending; otherwise move virtual time to the timer deadline if the timer can wake the vCPU
    /// (it stays waiting until the timer interrupt is taken). Returns nil when the vCPU can go on,
    /// or why it would sleep forever.
    public mutating func settleWait() -> String? {
        if pendingInterrupts & csrs.mie != 0 {
            waitingForInterrupt = false
            return nil
        }
        let now = mtime
        if csrs.mie & InterruptBits.machineTimer != 0 && timer.mtimecmp > now && timer.mtimecmp - now < 1 << 62 {
            timer.offset &+= timer.mtimecmp - now
            return nil
        }
        waitingForInterrupt = false
        return "WFI waits forever: no enabled interrupt can become pending (mie=0x\(hex8(csrs.mie)))"
    }
}
