import Hypervisor
import HypervisorCore
import Machine
import SplitIOSupport

/// The I/O side of the hypervisor for a set of real domains: it gives the split-driver pieces
/// (grant tables, event channels, Dom0's `BlockBackend`) and the two other disk paths (the
/// emulated `vlab-disk` controller and the pass-through `vlab-dma` device behind the IOMMU) to
/// domains that `Dom0` runs, through the I/O hypercalls (`IOHypercallABI`).
///
/// Everything shares the domains' one emulated machine: grants name machine frames, found from
/// the guest's own frame through the domain's p2m (`GuestMemory.machineFrames`); the frame table
/// says which domain owns which machine frame, so a guest cannot grant anything else. Dom0's
/// backend runs here, in Swift, whenever its event port fires (synchronously, on the hypercall
/// that sent the event). An upcall to a DomU becomes the virtual supervisor external interrupt
/// (`mip.SEIP`), which the guest acknowledges with a hypercall.
///
/// Not Sendable: it runs on the thread that runs the machine.
public final class IOHost {
    public let dom0: Dom0
    public let memory: MachineMemory
    public let frames = FrameTable()
    public let grants: GrantTables
    public let events: EventChannels
    public let backend: BlockBackend
    public let iommu = IOMMU()

    private var guests: [SplitIOSupport.DomainID: IOGuest] = [:]
    private var upcallsToRaise: Set<SplitIOSupport.DomainID> = []
    private var dom0Notified = false

    public init(dom0: Dom0, backendLimits: BlockBackend.Limits = BlockBackend.Limits()) {
        self.dom0 = dom0
        memory = MachineMemory(dom0.machine)
        grants = GrantTables(memory: memory, frames: frames)
        events = EventChannels()
        backend = BlockBackend(domain: .dom0, grants: grants, events: events, limits: backendLimits)
        events.upcall = { [unowned self] domain in
            if domain == .dom0 { dom0Notified = true } else { raiseInterrupt(domain) }
        }
    }

    /// Gives domain `id` (created by `dom0`, still paused) its disk over `path`, installs the I/O
    /// hypercalls, and passes it `workload` in a0-a5.
    public func attach(_ id: Hypervisor.DomainID, path: IOPath, disk: RawDiskImage, workload: IOWorkload) throws(SplitIOError) {
        let (name, vm) = try adopt(id, path: path, disk: disk)
        for (index, value) in workload.bootRegisters(path: path).enumerated() { vm.vcpu.setRegister(10 + index, value) }
        vm.hypercalls = IOHypercalls(host: self, domain: name)
    }

    /// Gives the para-virtual teaching kernel running in domain `id` (created by `dom0` with the
    /// para-virtual mode, still paused) a split-driver disk: its blkfront finds it at boot
    /// (`IOHypercallABI.blockProbe`) and connects itself. The I/O hypercalls are served here; every
    /// other hypercall still goes to the handler the domain had (its `ParavirtualHost`, and the
    /// balloon's), so the kernel runs as before.
    public func attachKernelDisk(_ id: Hypervisor.DomainID, disk: RawDiskImage) throws(SplitIOError) {
        let (name, vm) = try adopt(id, path: .split, disk: disk)
        vm.hypercalls = IOHypercalls(host: self, domain: name, next: vm.hypercalls)
    }

    /// Records domain `id` as one of this host's guests, with its frames and its disk on `path`.
    private func adopt(_ id: Hypervisor.DomainID, path: IOPath, disk: RawDiskImage) throws(SplitIOError) -> (SplitIOSupport.DomainID, VirtualMachine) {
        guard let domain = dom0.domain(id), id.number > 0, id.number <= Int(UInt16.max) else {
            throw SplitIOError(.badRequest, "\(id): no such domain")
        }
        let name = SplitIOSupport.DomainID(UInt16(id.number))
        guard guests[name] == nil else { throw SplitIOError(.badRequest, "\(id) already has a disk") }
        let vm = domain.vm
        frames.assign(vm.memory.machineFrames.map { FrameNumber(containing: $0) }, to: name)
        let guest = IOGuest(domain: name, vm: vm, path: path, disk: disk)
        switch path {
        case .split:
            break  // the guest connects itself (IO_BLK_CONNECT) once its ring is ready
        case .emulated:
            let controller = EmulatedDiskController(disk: disk, memory: vm.memory)
            vm.devices.attached.append(controller)
            guest.controller = controller
        case .passthrough:
            // Direct I/O: the device's bus addresses are the guest's physical addresses; the
            // IOMMU context is the domain's p2m, so the device reaches exactly its frames.
            let device = DMADisk(device: id.number, disk: disk, memory: memory, translation: iommu)
            iommu.attach(device: id.number, busBase: GuestMemory.base, machineFrames: vm.memory.machineFrames)
            device.interrupt = { [unowned self] in raiseInterrupt(name) }
            guest.device = device
        }
        guests[name] = guest
        return (name, vm)
    }

    /// Reclaims the pass-through device of `id` (the domain is going away): with the IOMMU the
    /// device's context is torn down, so whatever DMA it still has pending faults.
    public func reclaimDevice(of id: Hypervisor.DomainID) {
        guard let guest = guests[SplitIOSupport.DomainID(UInt16(clamping: id.number))], let device = guest.device else { return }
        iommu.detach(device: device.device)
    }

    /// What the domain's workload measured between its two marks, once it has run.
    public func measurement(of id: Hypervisor.DomainID) -> IOMeasurement? {
        guests[SplitIOSupport.DomainID(UInt16(clamping: id.number))]?.measurement
    }

    public func device(of id: Hypervisor.DomainID) -> DMADisk? { guests[SplitIOSupport.DomainID(UInt16(clamping: id.number))]?.device }
    public func controller(of id: Hypervisor.DomainID) -> EmulatedDiskController? {
        guests[SplitIOSupport.DomainID(UInt16(clamping: id.number))]?.controller
    }
    public func connection(of id: Hypervisor.DomainID) -> BlockBackend.ConnectionID? {
        guests[SplitIOSupport.DomainID(UInt16(clamping: id.number))]?.connection
    }

    // MARK: Hypercalls

    func serve(_ number: UInt32, vcpu: inout VirtualCPU, from domain: SplitIOSupport.DomainID, platform: GuestPlatform) -> Int32 {
        guard let guest = guests[domain] else { return IOHypercallABI.notSupported }
        let start = CPUClock.now()
        defer {
            deliverUpcalls(current: domain, vcpu: &vcpu)
            guest.handlerNanoseconds += CPUClock.now() - start
        }
        let sharedCalls = GrantAndEventHypercalls(grants: grants, events: events)
        if let result = sharedCalls.serve(number, vcpu: &vcpu, from: domain, memory: guest.vm.memory, sent: {
            guest.notificationsToHost += 1
            serviceDom0()
        }) {
            return result
        }
        let a0 = vcpu.register(10), a1 = vcpu.register(11)
        switch number {
        case IOHypercallABI.block:
            return block(guest, vcpu: &vcpu)
        case IOHypercallABI.blockConnect:
            guard guest.path == .split, guest.connection == nil else { return IOHypercallABI.denied }
            do {
                guest.connection = try backend.connect(frontend: domain, ringReference: GrantReference(a0),
                                                       eventPort: EventPort(a1), disk: guest.disk)
                return 0
            } catch {
                return IOHypercallABI.invalidParameter
            }
        case IOHypercallABI.blockProbe:
            guard guest.path == .split else { return IOHypercallABI.notSupported }
            return Int32(clamping: guest.disk.sectorCount)
        case IOHypercallABI.passthroughAssign:
            guard let device = guest.device, a0 % UInt32(pageSize) == 0 else { return IOHypercallABI.denied }
            device.queueAddress = a0
            return 0
        case IOHypercallABI.mark:
            mark(guest, phase: a0, checksum: a1, vcpu: vcpu)
            return 0
        case IOHypercallABI.yield:
            return 0   // IOHypercalls ends the slice
        case IOHypercallABI.shutdown:
            platform.devices.requestExit(code: Int32(bitPattern: a0))
            return 0
        default:
            return IOHypercallABI.notSupported
        }
    }

    /// SCHEDOP_block: the vCPU has nothing to do until an event arrives. On this one hart "the
    /// rest of the system" runs now: Dom0's backend and the domain's device. Returns -1 when no
    /// event is pending and none can come (the guest would sleep forever).
    private func block(_ guest: IOGuest, vcpu: inout VirtualCPU) -> Int32 {
        if vcpu.csrs.mip & IOHypercallABI.upcallInterrupt != 0 || upcallsToRaise.contains(guest.domain) { return 0 }
        serviceDom0()
        if let device = guest.device {
            device.fetch()
            device.complete()
        }
        let woken = upcallsToRaise.contains(guest.domain)
        return woken ? 0 : IOHypercallABI.failed
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

    private func raiseInterrupt(_ domain: SplitIOSupport.DomainID) {
        upcallsToRaise.insert(domain)
        guests[domain]?.interruptsToGuest += 1
    }

    /// Sets the virtual interrupt of every domain with an upcall: the running one's through its
    /// vCPU as the hypercall returns (its `VirtualMachine` holds it exclusively meanwhile), the
    /// others' directly, for when they next run.
    private func deliverUpcalls(current: SplitIOSupport.DomainID, vcpu: inout VirtualCPU) {
        for domain in upcallsToRaise {
            if domain == current {
                vcpu.csrs.mip |= IOHypercallABI.upcallInterrupt
            } else {
                guests[domain]?.vm.vcpu.csrs.mip |= IOHypercallABI.upcallInterrupt
            }
        }
        upcallsToRaise.removeAll()
    }

    private func mark(_ guest: IOGuest, phase: UInt32, checksum: UInt32, vcpu: VirtualCPU) {
        let snapshot = IOGuest.Snapshot(instructions: vcpu.retired, statistics: guest.vm.statistics,
                                        notifications: guest.notificationsToHost + guest.interruptsToGuest,
                                        nanoseconds: guest.handlerNanoseconds + (guest.controller?.handlerNanoseconds ?? 0),
                                        wall: CPUClock.wall())
        if phase == 0 {
            guest.start = snapshot
        } else if let start = guest.start {
            var exits: [ExitReason: UInt64] = [:]
            for (reason, count) in snapshot.statistics.exits {
                let delta = count - (start.statistics.exits[reason] ?? 0)
                if delta > 0 { exits[reason] = delta }
            }
            guest.measurement = IOMeasurement(path: guest.path, guestInstructions: snapshot.instructions - start.instructions,
                                              exits: exits, notifications: snapshot.notifications - start.notifications,
                                              vmmNanoseconds: snapshot.nanoseconds - start.nanoseconds,
                                              wallNanoseconds: snapshot.wall - start.wall, checksum: checksum)
        }
    }
}

/// What one domain's workload cost, between its start and end marks.
public struct IOMeasurement: Sendable {
    public var path: IOPath
    public var guestInstructions: UInt64
    public var exits: [ExitReason: UInt64]
    /// Guest-to-VMM event sends plus virtual interrupts raised for the guest.
    public var notifications: UInt64
    /// Host CPU time in the I/O handlers (hypercalls, Dom0's backend, device emulation and DMA).
    public var vmmNanoseconds: UInt64
    /// Wall time between the marks (guest execution, exits and I/O together).
    public var wallNanoseconds: UInt64
    /// The FNV-1a checksum the guest reported over everything it read.
    public var checksum: UInt32

    public var totalExits: UInt64 { exits.values.reduce(0, +) }
}

/// One attached domain's I/O state.
final class IOGuest {
    struct Snapshot {
        var instructions: UInt64
        var statistics: ExitStatistics
        var notifications: UInt64
        var nanoseconds: UInt64
        var wall: UInt64
    }
    let domain: SplitIOSupport.DomainID
    let vm: VirtualMachine
    let path: IOPath
    let disk: RawDiskImage
    var connection: BlockBackend.ConnectionID?
    var controller: EmulatedDiskController?
    var device: DMADisk?
    var notificationsToHost: UInt64 = 0
    var interruptsToGuest: UInt64 = 0
    var handlerNanoseconds: UInt64 = 0
    var start: Snapshot?
    var measurement: IOMeasurement?

    init(domain: SplitIOSupport.DomainID, vm: VirtualMachine, path: IOPath, disk: RawDiskImage) {
        self.domain = domain
        self.vm = vm
        self.path = path
        self.disk = disk
    }
}

@available(*, unavailable, message: "the I/O host runs on the thread that runs the machine")
extension IOHost: Sendable {}
