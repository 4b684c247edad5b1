import HypervisorCore
import Machine
import MemoryVirtualization
import RISCV

/// The privileged control interface (Xen's Dom0 and its domctl): creates, lists, pauses,
/// unpauses and destroys unprivileged domains (DomUs), each with its own memory allotment and one
/// vCPU, and runs them all on one hart, a slice at a time, as the vCPU scheduler decides.
///
/// Isolation comes from the construction, not from checks: each domain's guest-physical memory is
/// its own machine frames (p2m), its shadow tables live in its own pool, its devices are its own
/// emulated ones, and a slice ends when the VMM says so. A domain that faults or loops stops alone.
///
/// Memory over-commitment (Dom0+Memory.swift): every domain's frames come from one pool (`frames`);
/// `sharePages()` merges identical frames across domains (`sharing`), `setBalloonTarget` asks a
/// para-virtual domain's balloon driver to give frames back, and with `Configuration.overcommit`
/// a request the free frames cannot cover runs the reclaim path: balloon, then sharing, then refuse.
public final class Dom0 {
    public struct Configuration: Sendable {
        /// The machine's RAM, shared out among the domains' allotments and shadow pools.
        public var machineMemory: Int = 512 << 20
        /// The hart's configuration to start from (flags such as an ISA variant); Dom0 sets
        /// `interceptUserTraps` and the RAM size. Its `engine` is `engine` below.
        public var machine = MachineConfiguration()
        public var engine: ExecutionEngineKind {
            get { machine.engine }
            set { machine.engine = newValue }
        }
        /// Guest instructions a domain runs before the scheduler decides again.
        public var sliceInstructions: UInt64 = 20_000
        /// Frames of each domain's shadow-table pool.
        public var shadowFramesPerDomain = 256
        /// Each domain's shadow pager (the reference one unless a test or lab picks another).
        public var shadowPager: ShadowPagerFactory = ReferenceShadowPager.factory()
        /// Run the reclaim path (balloon, then page sharing) before refusing a request for frames.
        /// Off by default: a domain is then created only if its whole allotment is free.
        public var overcommit = false
        /// Slices each ballooning domain may run while Dom0 waits for its balloon to deliver frames.
        public var balloonReclaimSlices = 200
        public init() {}
    }

    public let configuration: Configuration
    public let machine: Machine
    public var scheduler: any VCPUScheduler
    /// The machine's frames: domains' memory, shadow pools, copies made when a share breaks.
    public let frames: MachineFramePool
    /// Content-based page sharing across all domains (scans run only when asked or when reclaiming).
    public let sharing: PageSharing
    var domains: [Domain] = []
    private var nextNumber = 1
    private var lastRun: DomainID? = nil
    /// True while a domain runs: the balloon reclaim step cannot run guests then.
    var runningGuest = false
    private let output: ConsoleIO
    /// Exit statistics of domains already destroyed, so totals stay honest.
    public private(set) var destroyedStatistics = ExitStatistics()
    /// The hart's clock, in guest instructions: every instruction any domain retired on it, plus
    /// `idleInstructions`. A blocked domain's timer wakes it when this clock passes its deadline.
    public private(set) var hartInstructions: UInt64 = 0
    /// Virtual time the hart spent idle because every runnable domain was blocked: it skips
    /// straight to the earliest timer that wakes one of them (as WFI does on one vCPU), so runs
    /// stay deterministic and take no host time for it.
    public private(set) var idleInstructions: UInt64 = 0

    /// `output` receives every domain's console, one tagged line at a time.
    public init(configuration: Configuration = Configuration(), scheduler: any VCPUScheduler = RoundRobinScheduler(),
                output: ConsoleIO) throws(HypervisorError) {
        var machineConfiguration = configuration.machine
        machineConfiguration.interceptUserTraps = true
        machineConfiguration.ramSize = configuration.machineMemory
        do {
            machine = try Machine(configuration: machineConfiguration)
        } catch {
            throw HypervisorError("dom0: \(error)")
        }
        machine.console = .silent
        frames = MachineFramePool(machine: machine, ramSize: configuration.machineMemory)
        sharing = PageSharing(pool: frames)
        self.configuration = configuration
        self.scheduler = scheduler
        self.output = output
        if configuration.overcommit { installReclaimPath() }
    }

    // MARK: Control operations

    /// Creates a paused domain running `image` with `memorySize` bytes of RAM. The mode decides
    /// how it is virtualized (it may install a rewriter or hypercall handler).
    @discardableResult
    public func create(image: ELFFile, name: String? = nil, memorySize: UInt32 = 16 << 20, weight: Int = 256,
                       instructionBudget: UInt64? = nil, instructionsPerTimerTick: UInt64 = 1,
                       mode: any VMMModeImplementation = TrapAndEmulateMode()) throws(HypervisorError) -> DomainID {
        let id = DomainID(nextNumber)
        let name = name ?? id.description
        guard memorySize > 0, memorySize % 4096 == 0 else {
            throw HypervisorError("\(name): memory of \(memorySize) bytes must be a positive multiple of 4 KiB")
        }
        guard weight >= 1 else { throw HypervisorError("\(name): weight \(weight) must be at least 1") }
        let shadowCount = configuration.shadowFramesPerDomain
        let frameCount = Int(memorySize / 4096)
        var guest = GuestConfiguration()
        guest.name = name
        guest.memorySize = memorySize
        guest.instructionBudget = instructionBudget
        guest.instructionsPerTimerTick = instructionsPerTimerTick
        let console = TaggedConsole(tag: name, output: output)
        let allotment: [UInt32]
        do {
            allotment = try frames.take(shadowCount + frameCount, for: "\(name): \(memorySize >> 10) KiB of memory + \(shadowCount * 4) KiB of shadow tables")
        } catch {
            throw HypervisorError(error.message)
        }
        let shadow = Array(allotment.prefix(shadowCount)), memory = Array(allotment.dropFirst(shadowCount))
        let vm: VirtualMachine
        do {
            vm = try VirtualMachine(configuration: guest, machine: machine, memoryFrames: memory, shadowFrames: shadow,
                                    console: console.console, handler: PrivilegedInstructionEmulator(),
                                    pager: configuration.shadowPager)
            try vm.load(image)
        } catch {
            frames.give(allotment)
            throw HypervisorError(error.message)
        }
        guard mode.prepareDomain(vm) else {
            frames.give(allotment)
            throw HypervisorError("\(name): this VMM mode cannot run as one of several domains")
        }
        domains.append(adopt(vm, id: id, name: name, weight: weight, shadowFrames: shadow, console: console))
        nextNumber += 1
        return id
    }

    public func list() -> [DomainInfo] { domains.map(\.info) }

    public func domain(_ id: DomainID) -> Domain? { domains.first { $0.id == id } }

    public func pause(_ id: DomainID) throws(HypervisorError) {
        let domain = try existing(id)
        guard domain.state == .runnable else { throw HypervisorError("\(domain.name): cannot pause a domain that is \(domain.state)") }
        domain.state = .paused
    }

    public func unpause(_ id: DomainID) throws(HypervisorError) {
        let domain = try existing(id)
        guard domain.state == .paused else { throw HypervisorError("\(domain.name): cannot unpause a domain that is \(domain.state)") }
        domain.state = .runnable
    }

    /// Stops the domain for good and gives its frames back, scrubbed, so the next domain to get
    /// them cannot read what this one left.
    public func destroy(_ id: DomainID) throws(HypervisorError) {
        let domain = try existing(id)
        domain.console.finish()
        destroyedStatistics = destroyedStatistics + domain.vm.statistics
        domains.removeAll { $0.id == id }
        sharing.unregister(domain.vm.memory)
        frames.give(domain.shadowFrames)
    }

    private func existing(_ id: DomainID) throws(HypervisorError) -> Domain {
        guard let domain = domain(id) else { throw HypervisorError("\(id): no such domain") }
        return domain
    }

    // MARK: Running

    /// Runs one slice of the domain the scheduler picks. Returns false when no domain can run:
    /// all exited, faulted or paused, or the rest blocked with no timer that could wake them (only
    /// an event from outside can: `NetHost` delivers those).
    ///
    /// Blocked domains (`SCHEDOP_block`) are left out of the scheduler's choice until an event is
    /// pending for them or their timer is due on the hart's clock. When every runnable domain is
    /// blocked, the hart idles: its clock jumps to the earliest such timer (`idleInstructions`).
    @discardableResult
    public func runSlice() -> Bool {
        let runnable = domains.filter { $0.state == .runnable }
        var ready = runnable.filter(isReady)
        if ready.isEmpty {
            let wakes = runnable.compactMap { domain in timerWake(of: domain).map { (domain, $0) } }
            guard let (sleeper, wake) = wakes.min(by: { $0.1 < $1.1 || ($0.1 == $1.1 && $0.0.id < $1.0.id) }) else { return false }
            idleInstructions += wake - hartInstructions
            hartInstructions = wake
            ready = [sleeper]
        }
        guard let id = scheduler.pick(from: ready.map(\.info)), let domain = domain(id), domain.state == .runnable else { return false }
        runSlice(of: domain)
        return true
    }

    /// Not blocked, or blocked with its timer due on the hart's clock. (Only a block hypercall
    /// blocks a domain here: a vCPU in WFI runs on its turn and settles its wait itself, as alone.)
    private func isReady(_ domain: Domain) -> Bool {
        guard domain.blockedSince != nil, domain.vm.isBlocked else { return true }
        return timerWake(of: domain).map { $0 <= hartInstructions } ?? false
    }

    /// When (on the hart's clock) a blocked domain's timer wakes it; nil if only an event can.
    private func timerWake(of domain: Domain) -> UInt64? {
        guard let since = domain.blockedSince, let remaining = domain.vm.instructionsUntilTimerWake else { return nil }
        let (wake, overflow) = since.addingReportingOverflow(remaining)
        return overflow ? nil : wake
    }

    /// Runs one slice of `domain` (runnable) and records how it ended. A blocked domain that
    /// nothing can wake yet is left alone (running it would only find it still asleep).
    func runSlice(of domain: Domain) {
        guard isReady(domain) else { return }
        // Another guest's LR.W must not let this one's SC.W succeed (an SC may always fail).
        if lastRun != domain.id { machine.clearReservation() }
        lastRun = domain.id
        let before = domain.vm.vcpu.retired
        domain.blockedSince = nil
        runningGuest = true
        let result = domain.vm.run(maxInstructions: configuration.sliceInstructions)
        runningGuest = false
        let ran = domain.vm.vcpu.retired - before
        hartInstructions &+= ran
        scheduler.account(domain.id, instructions: ran)
        switch result {
        case .sliceEnded, .yielded: break
        case .blocked:
            domain.blockedSince = hartInstructions
        case .exited(let code):
            domain.state = .exited(code: code)
            domain.console.finish()
        case .faulted(let fault):
            domain.state = .faulted(fault)
            domain.console.finish()
        }
    }

    /// Runs until no domain is runnable (all exited, faulted or paused) or `maxSlices` slices ran.
    public func run(maxSlices: Int? = nil) {
        var slices = 0
        while maxSlices.map({ slices < $0 }) ?? true, runSlice() { slices += 1 }
    }

    /// Unpauses every paused domain (a convenience for "create N, then start them all").
    public func unpauseAll() {
        for domain in domains where domain.state == .paused { domain.state = .runnable }
    }

    /// What a domain printed, untagged.
    public func consoleTranscript(_ id: DomainID) -> [UInt8] { domain(id)?.console.transcript ?? [] }
}

extension VMMModeImplementation {
    /// Default: a mode cannot share the hart with other domains.
    public func prepareDomain(_ vm: VirtualMachine) -> Bool { false }
    /// Default: the mode needs nothing special from the hart.
    public func prepareMachine(_ configuration: inout MachineConfiguration) {}
}
