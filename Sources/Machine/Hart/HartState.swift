/// The privilege levels of a hart with M, S and U modes, numbered as `mstatus.MPP` encodes them.
public enum PrivilegeLevel: UInt8, Sendable, Comparable, CustomStringConvertible {
    case user = 0
    case supervisor = 1
    case machine = 3

    public static func < (lhs: PrivilegeLevel, rhs: PrivilegeLevel) -> Bool { lhs.rawValue < rhs.rawValue }

    public var description: String {
        switch self {
        case .user: return "U"
        case .supervisor: return "S"
        case .machine: return "M"
        }
    }
}

/// Synchronous exception codes (`mcause` with bit 31 clear), privileged spec table 3.6.
enum ExceptionCause {
    static let instructionAddressMisaligned: UInt32 = 0
    static let instructionAccessFault: UInt32 = 1
    static let illegalInstruction: UInt32 = 2
    static let breakpoint: UInt32 = 3
    static let loadAddressMisaligned: UInt32 = 4
    static let loadAccessFault: UInt32 = 5
    static let storeAddressMisaligned: UInt32 = 6
    static let storeAccessFault: UInt32 = 7
    static let environmentCallFromU: UInt32 = 8
    static let environmentCallFromS: UInt32 = 9
    static let environmentCallFromM: UInt32 = 11
    static let instructionPageFault: UInt32 = 12
    static let loadPageFault: UInt32 = 13
    static let storePageFault: UInt32 = 15
}

/// Interrupt bits, as they sit in `mip`/`mie` (and as interrupt codes in `mcause`).
enum InterruptBit {
    static let supervisorSoftware: UInt32 = 1 << 1
    static let machineSoftware: UInt32 = 1 << 3
    static let supervisorTimer: UInt32 = 1 << 5
    static let machineTimer: UInt32 = 1 << 7
    static let supervisorExternal: UInt32 = 1 << 9
    static let machineExternal: UInt32 = 1 << 11
    static let all: UInt32 = 0xAAA
    static let supervisorLevel: UInt32 = supervisorSoftware | supervisorTimer | supervisorExternal
    /// The order in which simultaneous interrupts are taken (privileged spec 3.1.9):
    /// MEI, MSI, MTI, SEI, SSI, STI, as interrupt codes.
    static let priorityOrder: [UInt32] = [11, 3, 7, 9, 1, 5]
}

/// Field masks of `mstatus` for RV32 (privileged spec 3.1.6).
enum Status {
    static let sie: UInt32 = 1 << 1
    static let mie: UInt32 = 1 << 3
    static let spie: UInt32 = 1 << 5
    static let mpie: UInt32 = 1 << 7
    static let spp: UInt32 = 1 << 8
    static let mppShift: UInt32 = 11
    static let mpp: UInt32 = 3 << 11
    static let mprv: UInt32 = 1 << 17
    static let sum: UInt32 = 1 << 18
    static let mxr: UInt32 = 1 << 19
    static let tvm: UInt32 = 1 << 20
    static let tw: UInt32 = 1 << 21
    static let tsr: UInt32 = 1 << 22
    /// What M-mode can change. FS, VS, XS are zero (no F/V extensions), so SD is zero too;
    /// UBE/MBE/SBE are zero (little-endian only).
    static let machineWritable: UInt32 = sie | mie | spie | mpie | spp | mpp | mprv | sum | mxr | tvm | tw | tsr
    /// The `sstatus` view: the S-level fields of the same register.
    static let supervisorVisible: UInt32 = sie | spie | spp | sum | mxr
}

/// The architectural state of one hart: everything a second execution engine must reproduce
/// bit for bit. It holds no engine state (no decoded-instruction caches, no TLB), so any engine
/// can drive it.
///
/// The registers live behind a raw pointer, not in an array, so the interpreter's hot loop reads
/// and writes them without copy-on-write or exclusivity checks (see shared/STYLE.md, "the hot loop").
struct HartState {
    /// x0...x31. x0 is kept zero by the engines (they may write it and clear it again).
    let registers: UnsafeMutablePointer<UInt32>
    var pc: UInt32 = 0x8000_0000
    var privilege: PrivilegeLevel = .machine

    var mstatus: UInt32 = 0
    var mtvec: UInt32 = 0
    var stvec: UInt32 = 0
    var mepc: UInt32 = 0
    var sepc: UInt32 = 0
    var mcause: UInt32 = 0
    var scause: UInt32 = 0
    var mtval: UInt32 = 0
    var stval: UInt32 = 0
    var mscratch: UInt32 = 0
    var sscratch: UInt32 = 0
    var mie: UInt32 = 0
    /// The software-writable and device-driven pending bits. MTIP is recomputed from the CLINT
    /// whenever it matters (`Machine.refreshTimerPending()`), MSIP follows the CLINT's msip register.
    var mip: UInt32 = 0
    var medeleg: UInt32 = 0
    var mideleg: UInt32 = 0
    var satp: UInt32 = 0
    var mcounteren: UInt32 = 0
    var scounteren: UInt32 = 0

    /// Instructions retired since reset. `minstret`/`mcycle` are this plus a write offset;
    /// `mtime` derives from it (deterministic time).
    var retired: UInt64 = 0
    var instretOffset: UInt64 = 0
    var cycleOffset: UInt64 = 0

    /// The hypervisor extension's state: V and the VS/hypervisor CSRs (Hart/HypervisorExtension.swift).
    var hypervisor = HypervisorState()

    /// The LR/SC reservation: the word address reserved by the last LR.W, if any.
    var reservation: UInt32? = nil

    /// One slot past x31 that no instruction names: the translator's threaded code writes results
    /// destined for x0 here, so its hot loop needs no "is rd zero?" test and x0 stays zero.
    static let discardRegister = 32

    init() {
        registers = .allocate(capacity: 33)
        registers.initialize(repeating: 0, count: 33)
    }

    func deallocate() { registers.deallocate() }

    /// The privilege loads and stores use: `mstatus.MPRV` in M-mode makes them act as `MPP`.
    var dataPrivilege: PrivilegeLevel {
        if privilege == .machine && mstatus & Status.mprv != 0 {
            return PrivilegeLevel(rawValue: UInt8((mstatus >> Status.mppShift) & 3)) ?? .user
        }
        return privilege
    }
}
