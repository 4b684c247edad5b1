import HypervisorCore
import SplitIOSupport

/// The measurement points: the measuring guest's start and end marks (`IO_MARK`) take a
/// snapshot of everything counted over all attached domains; the measurement is the difference.
extension NetHost {
    /// Marks phase 0 (start) or 1 (end, with the checksum the guest reports).
    func mark(_ guest: NetGuest, phase: UInt32, checksum: UInt32, vcpu: VirtualCPU) {
        if phase == 1 { guest.reportedChecksum = checksum }
        guard guest.measuring else { return }
        let now = totals(current: guest, vcpu: vcpu)
        guard phase == 1, let start = measurementStart else {
            measurementStart = now
            return
        }
        var exits: [ExitReason: UInt64] = [:]
        for (reason, count) in now.exits where count > (start.exits[reason] ?? 0) {
            exits[reason] = count - (start.exits[reason] ?? 0)
        }
        measurement = NetMeasurement(guestInstructions: now.instructions - start.instructions, idleInstructions: now.idle - start.idle,
                                     exits: exits, notifications: now.notifications - start.notifications,
                                     frames: now.frames - start.frames, dropped: now.dropped - start.dropped,
                                     vmmNanoseconds: now.nanoseconds - start.nanoseconds, wallNanoseconds: now.wall - start.wall)
    }

    /// The totals now; `current` is the domain in whose hypercall we are (its vCPU is `vcpu`: its
    /// `VirtualMachine` holds the stored one exclusively meanwhile).
    private func totals(current: NetGuest, vcpu: VirtualCPU) -> NetMeasurement.Totals {
        var totals = NetMeasurement.Totals()
        for guest in guests.values {
            totals.instructions += guest === current ? vcpu.retired : guest.vm.vcpu.retired
            totals.idle += guest.idleInstructions
            for (reason, count) in guest.vm.statistics.exits { totals.exits[reason, default: 0] += count }
            totals.notifications += guest.notificationsToHost + guest.interruptsToGuest
            totals.nanoseconds += guest.handlerNanoseconds
            if let vif = guest.vif, let statistics = backend.statistics(of: vif) {
                totals.frames += statistics.framesSent
                totals.dropped += statistics.receiveDropped
            }
        }
        totals.wall = CPUClock.wall()
        return totals
    }
}

/// What a network workload cost both domains together, between the measuring guest's marks.
public struct NetMeasurement: Sendable, Equatable {
    /// Guest instructions of both domains, including `idleInstructions`.
    public var guestInstructions: UInt64
    /// Of those, instructions spent spinning out a slice after blocking (see `NetHost`).
    public var idleInstructions: UInt64
    public var exits: [ExitReason: UInt64]
    /// Guest-to-VMM event sends plus virtual interrupts raised for the guests.
    public var notifications: UInt64
    /// Frames the backend took from the guests' TX rings and switched.
    public var frames: Int
    /// Frames dropped for want of a posted RX buffer.
    public var dropped: Int
    /// Host CPU time in the hypercalls, Dom0's backend and bridge included.
    public var vmmNanoseconds: UInt64
    public var wallNanoseconds: UInt64

    /// Everything counted, over all attached domains, at one moment.
    struct Totals {
        var instructions: UInt64 = 0
        var idle: UInt64 = 0
        var exits: [ExitReason: UInt64] = [:]
        var notifications: UInt64 = 0
        var frames = 0
        var dropped = 0
        var nanoseconds: UInt64 = 0
        var wall: UInt64 = 0
    }

    public var busyInstructions: UInt64 { guestInstructions - min(idleInstructions, guestInstructions) }
    public var totalExits: UInt64 { exits.values.reduce(0, +) }
}
