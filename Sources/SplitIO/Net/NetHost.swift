import Hypervisor
import HypervisorCore
import Machine
import SplitIOSupport
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The network side of the hypervisor for real domains: grant tables, event channels and Dom0's
/// `NetBackend` with its bridge, given to domains that `Dom0` runs through the I/O hypercalls.
///
/// The hypercalls are the I/O guest's (`IOHypercallABI`: grant, end grant, allocate and send on
/// an event port, acknowledge the upcall, mark, shut down) plus `NetHypercallABI.connect`.
/// Two differ in meaning from `IOHost`, because here a DomU waits for *another DomU*, not for
/// Dom0:
///
/// - **block** (`SCHEDOP_block`): with no upcall pending, it returns 1 and the hypercall ends the
///   domain's slice blocked (`EmulationOutcome.block`): Dom0 runs the other domains and leaves this
///   one out until an event is pending for it (the upcall's virtual interrupt, set when another
///   domain's send reaches it). Instructions a domain still retires between blocking and the end
///   of that slice are counted as *idle* (`NetMeasurement.idleInstructions`): with the slice
///   ending on the hypercall there are none. When every domain is blocked and no timer can wake
///   one, `run()` ends: the domains stalled (or waits for an uplink).
/// - **send**: runs Dom0's backend at once, on the hypercall (a synchronous Dom0), so a frame is
///   switched into the other domain's RX ring before the sender continues.
///
/// Not Sendable: it runs on the thread that runs the machine.
public final class NetHost {
    public let dom0: Dom0
    public let memory: MachineMemory
    public let frames = FrameTable()
    public let grants: GrantTables
    public let events: EventChannels
    public let backend: NetBackend

    var guests: [SplitIOSupport.DomainID: NetGuest] = [:]
    private var upcallsToRaise: Set<SplitIOSupport.DomainID> = []
    private var dom0Notified = false
    /// Measurement snapshots: taken at the measuring guest's start mark, completed at its end mark.
    var measurementStart: NetMeasurement.Totals?
    public internal(set) var measurement: NetMeasurement?

    public init(dom0: Dom0, limits: NetBackend.Limits = NetBackend.Limits()) {
        self.dom0 = dom0
        memory = MachineMemory(dom0.machine)
        grants = GrantTables(memory: memory, frames: frames)
        events = EventChannels()
        backend = NetBackend(domain: .dom0, grants: grants, events: events, limits: limits)
        events.upcall = { [unowned self] domain in
            if domain == .dom0 { dom0Notified = true } else { raiseInterrupt(domain) }
        }
    }

    /// Gives domain `id` (created by `dom0`, still paused) the network hypercalls and its role's
    /// arguments in a0-a5. The guest connects its vif itself once its rings are ready.
    public func attach(_ id: Hypervisor.DomainID, registers: [UInt32], measuring: Bool = false) throws(SplitIOError) {
        guard let domain = dom0.domain(id), id.number > 0, id.number <= Int(UInt16.max) else {
            throw SplitIOError(.badRequest, "\(id): no such domain")
        }
        let name = SplitIOSupport.DomainID(UInt16(id.number))
        guard guests[name] == nil else { throw SplitIOError(.badRequest, "\(id) is already attached") }
        frames.assign(domain.vm.memory.machineFrames.map { FrameNumber(containing: $0) }, to: name)
        for (index, value) in registers.prefix(8).enumerated() { domain.vm.vcpu.setRegister(10 + index, value) }
        domain.vm.hypercalls = NetHypercalls(host: self, domain: name)
        guests[name] = NetGuest(domain: name, id: id, vm: domain.vm, measuring: measuring)
    }

    public func vif(of id: Hypervisor.DomainID) -> NetBackend.VifID? { guest(id)?.vif }
    /// The checksum the guest reported at its end mark.
    public func reportedChecksum(of id: Hypervisor.DomainID) -> UInt32? { guest(id)?.reportedChecksum }
    /// Guest instructions the domain retired in a slice after it blocked (0 now that block ends the slice).
    public func idleInstructions(of id: Hypervisor.DomainID) -> UInt64 { guest(id)?.idleInstructions ?? 0 }
    public func blocks(of id: Hypervisor.DomainID) -> Int { guest(id)?.blocks ?? 0 }

    /// Frames from outside the machine (an uplink on the bridge, e.g. a TAP device): called after
    /// every slice, and while no domain is runnable; it hands waiting frames to
    /// `backend.receive(fromUplink:_:)` and returns whether there were any.
    public var pollUplinks: (() -> Bool)?
    /// How long `run` waits for the outside when every domain is blocked, in milliseconds.
    public var uplinkPatience = 2000

    /// Runs every runnable domain, a slice at a time, until none is runnable: all stopped, or the
    /// rest blocked with no event that could wake them (from a domain, or from an uplink within
    /// `uplinkPatience`). Returns the slices run.
    @discardableResult
    public func run(maxSlices: Int = 10_000_000) -> Int {
        var slices = 0
        while slices < maxSlices {
            if dom0.runSlice() {
                slices += 1
                // The domain that blocked in this slice spun to its end: that was idle time.
                for guest in guests.values {
                    guard let blockedAt = guest.blockedAt else { continue }
                    guest.idleInstructions += guest.vm.vcpu.retired &- blockedAt
                    guest.blockedAt = nil
                }
                if pollUplinks?() == true { deliverUpcallsOutsideHypercalls() }
                continue
            }
            // Nothing runnable: only the outside can wake a blocked domain now.
            guard let poll = pollUplinks, guests.values.contains(where: { $0.vm.isBlocked }), waitForUplinks(poll) else { break }
            deliverUpcallsOutsideHypercalls()
        }
        return slices
    }

    private func waitForUplinks(_ poll: () -> Bool) -> Bool {
        for _ in 0..<max(1, uplinkPatience) {
            if poll() { return true }
            usleep(1000)
        }
        return false
    }

    private func guest(_ id: Hypervisor.DomainID) -> NetGuest? {
        guests[SplitIOSupport.DomainID(UInt16(clamping: id.number))]
    }

    // MARK: Hypercalls

    func serve(_ number: UInt32, vcpu: inout VirtualCPU, from domain: SplitIOSupport.DomainID, platform: GuestPlatform) -> Int32 {
        guard let guest = guests[domain] else { return IOHypercallABI.notSupported }
        let clock = CPUClock.now()
        defer {
            deliverUpcalls(current: domain, vcpu: &vcpu)
            guest.handlerNanoseconds += CPUClock.now() - clock
        }
        let sharedCalls = GrantAndEventHypercalls(grants: grants, events: events)
        if let result = sharedCalls.serve(number, vcpu: &vcpu, from: domain, memory: guest.vm.memory, sent: {
            guest.notificationsToHost += 1
            serviceDom0()
        }) {
            return result
        }
        let a0 = vcpu.register(10), a1 = vcpu.register(11), a2 = vcpu.register(12)
        switch number {
        case IOHypercallABI.block:
            return block(guest, vcpu: vcpu)
        case NetHypercallABI.connect:
            guard guest.vif == nil else { return IOHypercallABI.denied }
            do {
                guest.vif = try backend.connect(frontend: domain, transmitRing: GrantReference(a0),
                                                receiveRing: GrantReference(a1), eventPort: EventPort(a2))
                return 0
            } catch {
                return IOHypercallABI.invalidParameter
            }
        case IOHypercallABI.mark:
            mark(guest, phase: a0, checksum: a1, vcpu: vcpu)
            return 0
        case IOHypercallABI.shutdown:
            platform.devices.requestExit(code: Int32(bitPattern: a0))
            return 0
        default:
            return IOHypercallABI.notSupported
        }
    }

    /// SCHEDOP_block: 0 if an upcall is already on its way (don't sleep), 1 when the domain
    /// blocks until an event arrives for it (`NetHypercalls` then ends its slice).
    private func block(_ guest: NetGuest, vcpu: VirtualCPU) -> Int32 {
        if vcpu.csrs.mip & IOHypercallABI.upcallInterrupt != 0 || upcallsToRaise.contains(guest.domain) { return 0 }
        serviceDom0()
        if upcallsToRaise.contains(guest.domain) { return 0 }
        // From the instruction after the ECALL (the ECALL itself is the hypercall's work).
        guest.blockedAt = vcpu.retired &+ 1
        guest.blocks += 1
        return 1
    }

    /// Runs Dom0's backend while its port has fired or it has work left over.
    private func serviceDom0() {
        var passes = 0
        while (dom0Notified || backend.hasPendingWork) && passes < 1024 {
            dom0Notified = false
            backend.service()
            passes += 1
        }
    }

    /// An upcall for a DomU: its virtual interrupt, which also ends its block (Dom0 runs a
    /// blocked domain again once an interrupt it enabled is pending).
    private func raiseInterrupt(_ domain: SplitIOSupport.DomainID) {
        upcallsToRaise.insert(domain)
        guests[domain]?.interruptsToGuest += 1
    }

    /// Sets the virtual interrupt of every domain with an upcall: the running one's through its
    /// vCPU as the hypercall returns, the others' directly, for when they next run.
    private func deliverUpcalls(current: SplitIOSupport.DomainID?, vcpu: inout VirtualCPU) {
        for domain in upcallsToRaise {
            if domain == current {
                vcpu.csrs.mip |= IOHypercallABI.upcallInterrupt
            } else {
                guests[domain]?.vm.vcpu.csrs.mip |= IOHypercallABI.upcallInterrupt
            }
        }
        upcallsToRaise.removeAll()
    }

    /// The same, outside any hypercall (a frame came in from an uplink): no vCPU is running.
    private func deliverUpcallsOutsideHypercalls() {
        var none = VirtualCPU()
        deliverUpcalls(current: nil, vcpu: &none)
    }
}

/// One attached domain's network state.
final class NetGuest {
    let domain: SplitIOSupport.DomainID
    let id: Hypervisor.DomainID
    let vm: VirtualMachine
    let measuring: Bool
    var vif: NetBackend.VifID?
    var notificationsToHost: UInt64 = 0
    var interruptsToGuest: UInt64 = 0
    var handlerNanoseconds: UInt64 = 0
    /// Its instruction count when it last blocked, until the slice it blocked in has ended and
    /// whatever it ran after blocking is counted as idle.
    var blockedAt: UInt64?
    var blocks = 0
    var idleInstructions: UInt64 = 0
    var reportedChecksum: UInt32?

    init(domain: SplitIOSupport.DomainID, id: Hypervisor.DomainID, vm: VirtualMachine, measuring: Bool) {
        self.domain = domain
        self.id = id
        self.vm = vm
        self.measuring = measuring
    }
}

@available(*, unavailable, message: "the network host runs on the thread that runs the machine")
extension NetHost: Sendable {}
