/// Why the guest left the hardware and the VMM ran instead: one "exit" (a VM exit in Intel's
/// words, a world switch in VMware's). The names are stable strings used in tables and tests.
///
/// A struct, not an enum, so a mode can add its own reasons in its own file
/// (`extension ExitReason { static let mine = ExitReason("mine") }`) without touching this one.
public struct ExitReason: Hashable, Sendable, Comparable, CustomStringConvertible {
    public let name: String
    public init(_ name: String) { self.name = name }
    public var description: String { name }
    public static func < (lhs: ExitReason, rhs: ExitReason) -> Bool { lhs.name < rhs.name }

    /// A CSR instruction that only reads (CSRRS/CSRRC with x0, CSRR).
    public static let csrRead = ExitReason("csr-read")
    /// A CSR instruction that writes (and may read).
    public static let csrWrite = ExitReason("csr-write")
    public static let sret = ExitReason("sret")
    public static let mret = ExitReason("mret")
    public static let wfi = ExitReason("wfi")
    public static let sfenceVMA = ExitReason("sfence.vma")
    /// An ECALL the VMM reflects into the guest (a system call or a firmware call).
    public static let ecall = ExitReason("ecall")
    /// An ECALL the VMM serves itself (para-virtual guests).
    public static let hypercall = ExitReason("hypercall")
    /// A shadow-table miss the VMM filled from the guest's page tables.
    public static let pageFault = ExitReason("page-fault")
    /// A page fault the guest's own page tables cause, reflected into the guest.
    public static let guestPageFault = ExitReason("guest-page-fault")
    /// A load or store to an emulated device.
    public static let mmio = ExitReason("mmio")
    /// A virtual timer interrupt injected into the guest.
    public static let timer = ExitReason("timer")
    /// Any other virtual interrupt injected (software, external).
    public static let interrupt = ExitReason("interrupt")
    /// Any other exception reflected into the guest (illegal instruction, breakpoint, misaligned
    /// or access fault).
    public static let exception = ExitReason("exception")
    /// An instruction a binary-translating VMM rewrote to trap.
    public static let rewrittenInstruction = ExitReason("rewritten-instruction")
    /// The H extension's virtual-instruction exception.
    public static let virtualInstruction = ExitReason("virtual-instruction")
}

/// Exit accounting for one guest: exits by reason, and the instruction counts the overhead model
/// needs.
public struct ExitStatistics: Sendable, Equatable {
    public var exits: [ExitReason: UInt64] = [:]
    /// Guest instructions retired (executed by the hart plus emulated by the VMM): the same number
    /// the guest retires on bare metal when virtualization is exact.
    public var guestInstructions: UInt64 = 0
    /// Of those, the instructions the VMM emulated instead of the hart executing them.
    public var emulatedInstructions: UInt64 = 0
    /// Shadow-table entries written, and times every shadow table was thrown away.
    public var shadowFills: UInt64 = 0
    public var shadowFlushes: UInt64 = 0

    public init() {}

    public var totalExits: UInt64 { exits.values.reduce(0, +) }

    public mutating func count(_ reason: ExitReason, _ times: UInt64 = 1) { exits[reason, default: 0] += times }

    public subscript(_ reason: ExitReason) -> UInt64 { exits[reason] ?? 0 }

    /// Reasons by descending count (ties by name), for tables.
    public var byFrequency: [(reason: ExitReason, count: UInt64)] {
        exits.map { ($0.key, $0.value) }.sorted { $0.1 != $1.1 ? $0.1 > $1.1 : $0.0 < $1.0 }
    }

    public static func + (lhs: ExitStatistics, rhs: ExitStatistics) -> ExitStatistics {
        var sum = lhs
        sum.exits.merge(rhs.exits, uniquingKeysWith: +)
        sum.guestInstructions += rhs.guestInstructions
        sum.emulatedInstructions += rhs.emulatedInstructions
        sum.shadowFills += rhs.shadowFills
        sum.shadowFlushes += rhs.shadowFlushes
        return sum
    }
}
