import Hypervisor
import HypervisorCore
import Machine
import RISCV

/// One run of the I/O guest in several DomUs on one path: what the tests and `vlab bench io` do.
/// Each domain gets its own disk image; all of them share one Dom0 (one backend, one IOMMU).
public struct IOExperiment {
    /// What one domain did.
    public struct DomainResult {
        public var name: String
        public var state: DomainState
        /// What the guest printed.
        public var console: String
        public var measurement: IOMeasurement?
    }

    public var image: ELFFile
    public var path: IOPath
    public var workload: IOWorkload
    public var engine: ExecutionEngineKind = .translator
    /// Guest RAM per domain.
    public var memorySize: UInt32 = 1 << 20
    /// Guest instructions after which a domain that has not finished is stopped as a fault.
    public var instructionBudget: UInt64 = 2_000_000_000

    public init(image: ELFFile, path: IOPath, workload: IOWorkload) {
        self.image = image
        self.path = path
        self.workload = workload
    }

    /// Runs one domain per disk image until every domain stopped; also returns the host for
    /// inspection (backend statistics, IOMMU faults).
    public func run(disks: [RawDiskImage]) throws(HypervisorError) -> (results: [DomainResult], host: IOHost) {
        try run(domains: disks.map { (path, $0) })
    }

    /// Runs one domain per (path, disk) pair, all under one Dom0 on one hart: the paths can be mixed.
    public func run(domains: [(path: IOPath, disk: RawDiskImage)]) throws(HypervisorError) -> (results: [DomainResult], host: IOHost) {
        let disks = domains.map(\.disk)
        var configuration = Dom0.Configuration()
        configuration.engine = engine
        configuration.machineMemory = max(16 << 20, disks.count * (Int(memorySize) + (2 << 20)))
        configuration.shadowFramesPerDomain = 64
        let dom0 = try Dom0(configuration: configuration, output: ConsoleIO(write: { _ in }))
        let host = IOHost(dom0: dom0)
        var ids: [Hypervisor.DomainID] = []
        for (path, disk) in domains {
            let id = try dom0.create(image: image, memorySize: memorySize, instructionBudget: instructionBudget,
                                     mode: TrapAndEmulateMode())
            do {
                try host.attach(id, path: path, disk: disk, workload: workload)
            } catch {
                throw HypervisorError("\(id): \(error.message)")
            }
            ids.append(id)
        }
        dom0.unpauseAll()
        dom0.run()
        let results = ids.map { id in
            DomainResult(name: id.description, state: dom0.domain(id)?.state ?? .paused,
                         console: String(decoding: dom0.consoleTranscript(id), as: UTF8.self),
                         measurement: host.measurement(of: id))
        }
        return (results, host)
    }
}
