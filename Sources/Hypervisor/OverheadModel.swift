import HypervisorCore
import Machine
import RISCV

/// What virtualization costs, in instruction-equivalents of the guest's own work, so the modes
/// can be compared on a deterministic number rather than on the wall time of an emulator (where a
/// trap into Swift costs far more than on silicon).
///
/// The model: the guest's natively executed instructions cost one each; every exit costs a
/// world switch plus the work of handling it; the instructions the VMM emulated are not executed
/// by the guest, so they are counted only through their exit.
///
/// - World switch: `worldSwitch` = 100 instruction-equivalents: the hardware trap and return
///   (a pipeline flush each way), saving and restoring the 31 general registers (62 memory
///   operations) and the VMM's dispatch on the cause.
/// - Handling, per reason (`handlingCost`): decoding and emulating a CSR access 20, an xRET 30,
///   WFI 10, SFENCE.VMA 50 (dropping the shadow tables; refilling them is counted as page-fault
///   exits), reflecting a trap into the guest 40, a shadow fill 60 (a two-level guest walk and a
///   shadow PTE write), a device access 60 (decode, walk, device model), a virtual interrupt 40,
///   a hypercall 30, a rewritten instruction 30; anything else 40.
public struct OverheadModel: Sendable {
    public var worldSwitch: UInt64 = 100

    public init() {}

    public func handlingCost(_ reason: ExitReason) -> UInt64 {
        switch reason {
        case .csrRead, .csrWrite: return 20
        case .sret, .mret: return 30
        case .wfi: return 10
        case .sfenceVMA: return 50
        case .pageFault, .mmio, .emulatedAccess: return 60
        case .hypercall, .rewrittenInstruction, .virtualInstruction: return 30
        default: return 40
        }
    }

    /// The modelled cost of a virtualized run, in instruction-equivalents.
    public func cost(of statistics: ExitStatistics) -> UInt64 {
        let native = statistics.guestInstructions - min(statistics.emulatedInstructions, statistics.guestInstructions)
        return statistics.exits.reduce(native) { $0 + $1.value * (worldSwitch + handlingCost($1.key)) }
    }

    /// Modelled cost over the bare run's instructions: 1.0 is no overhead.
    public func overhead(of statistics: ExitStatistics, bareInstructions: UInt64) -> Double {
        guard bareInstructions > 0 else { return .nan }
        return Double(cost(of: statistics)) / Double(bareInstructions)
    }
}

extension ExitStatistics {
    /// The `--stats` report: exits by reason, instruction counts, and the modelled overhead
    /// against `bareInstructions` when known.
    public func report(bareInstructions: UInt64?, model: OverheadModel = OverheadModel()) -> String {
        var lines = ["exits: \(totalExits) in all"]
        for (reason, count) in byFrequency {
            lines.append("  \(reason.name + String(repeating: " ", count: max(1, 22 - reason.name.count))) \(count)")
        }
        lines.append("guest instructions retired: \(guestInstructions) (\(emulatedInstructions) emulated by the VMM)")
        lines.append("shadow page tables: \(shadowFills) entries filled, \(shadowFlushes) flushes")
        let cost = model.cost(of: self)
        if let bare = bareInstructions {
            let ratio = model.overhead(of: self, bareInstructions: bare)
            lines.append("bare metal: \(bare) instructions; modelled cost \(cost) instruction-equivalents = \(twoDecimals(ratio))x bare")
        } else {
            lines.append("modelled cost \(cost) instruction-equivalents (no bare run to compare)")
        }
        lines.append("model: \(model.worldSwitch) per world switch + per-reason handling cost (Sources/Hypervisor/OverheadModel.swift)")
        return lines.joined(separator: "\n")
    }
}

/// `x` with two decimals ("3.07"), without Foundation.
public func twoDecimals(_ x: Double) -> String {
    guard x.isFinite, x >= 0 else { return "n/a" }
    let hundredths = Int((x * 100).rounded())
    let fraction = hundredths % 100
    return "\(hundredths / 100)." + (fraction < 10 ? "0" : "") + "\(fraction)"
}
