import HypervisorCore
import Machine
import RISCV

/// The privileged control interface (Xen's Dom0 and its domctl): creates, lists, pauses,
/// unpauses and destroys unprivileged domains (DomUs), each with its own memory allotment and one
/// vCPU, and runs them all on one hart, a slice at a time, as the vCPU scheduler decides.
///
/// Isolation comes from the construction, not from checks: each domain's guest-physical memory is
/// its own machine frames (p2m), its shadow tables live in its own pool, its devices are its own
/// emulated ones, and a slice ends when the VMM says so. A domain that faults or loops stops alone.
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
        public init() {}
    }

    public let configuration: Configuration
    public let machine: Machine
    public var scheduler: any VCPUScheduler
    private var allocator: MachineFrameAllocator
    private var domains: [Domain] = []
    private var nextNumber = 1
    private let output: ConsoleIO
    /// Exit statistics of domains already destroyed, so totals stay honest.
    public private(set) var destroyedStatistics = ExitStatistics()

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
        allocator = MachineFrameAllocator(ramSize: configuration.machineMemory)
        self.configuration = configuration
        self.scheduler = scheduler
        self.output = output
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
        guard frameCount + shadowCount <= allocator.freeFrames else {
            throw HypervisorError("\(name): asks for \(memorySize >> 10) KiB of memory (+\(shadowCount * 4) KiB of shadow tables) but only \(allocator.freeFrames * 4) KiB of the machine's \(configuration.machineMemory >> 20) MiB are free")
        }
        var guest = GuestConfiguration()
        guest.name = name
        guest.memorySize = memorySize
        guest.instructionBudget = instructionBudget
        guest.instructionsPerTimerTick = instructionsPerTimerTick
        let console = TaggedConsole(tag: name, output: output)
        do {
            let shadow = try allocator.allocate(shadowCount, for: "\(name) shadow tables")
            let memory = try allocator.allocate(frameCount, for: "\(name) memory")
            let vm: VirtualMachine
            do {
                vm = try VirtualMachine(configuration: guest, machine: machine, memoryFrames: memory, shadowFrames: shadow,
                                        console: console.console, handler: PrivilegedInstructionEmulator())
                try vm.load(image)
            } catch {
                scrubAndRelease(shadow + memory)
                throw HypervisorError(error.message)
            }
            guard mode.prepareDomain(vm) else {
                scrubAndRelease(shadow + memory)
                throw HypervisorError("\(name): this VMM mode cannot run as one of several domains")
            }
            domains.append(Domain(id: id, name: name, vm: vm, weight: weight, frames: shadow + memory, console: console))
        } catch let error as AllotmentError {
            throw HypervisorError(error.message)
        } catch let error as HypervisorError {
            throw error
        } catch {
            throw HypervisorError("\(name): \(error)")
        }
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
        scrubAndRelease(domain.frames)
    }

    private func existing(_ id: DomainID) throws(HypervisorError) -> Domain {
        guard let domain = domain(id) else { throw HypervisorError("\(id): no such domain") }
        return domain
    }

    private func scrubAndRelease(_ frames: [UInt32]) {
        let zero = [UInt8](repeating: 0, count: 4096)
        for frame in frames { try? machine.writePhysical(frame, zero) }
        allocator.release(frames)
    }

    // MARK: Running

    /// Runs one slice of the domain the scheduler picks. Returns false when no domain is runnable.
    @discardableResult
    public func runSlice() -> Bool {
        let runnable = domains.filter { $0.state == .runnable }.map(\.info)
        guard let id = scheduler.pick(from: runnable), let domain = domain(id), domain.state == .runnable else { return false }
        let before = domain.vm.vcpu.retired
        let result = domain.vm.run(maxInstructions: configuration.sliceInstructions)
        scheduler.account(id, instructions: domain.vm.vcpu.retired - before)
        switch result {
        case .sliceEnded: break
        case .exited(let code):
            domain.state = .exited(code: code)
            domain.console.finish()
        case .faulted(let fault):
            domain.state = .faulted(fault)
            domain.console.finish()
        }
        return true
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
