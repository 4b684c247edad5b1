import Hypervisor
import HypervisorCore
import Machine
import RISCV

/// Two (or more) DomUs running the network guest under one Dom0, their vifs on Dom0's bridge:
/// what the tests and `vlab bench io` run. Domain k (from 1) has MAC 02:00:00:00:00:0k and IPv4
/// address 10.0.0.k; the first domain talks to the second.
public struct NetExperiment {
    public struct DomainResult {
        public var name: String
        public var state: DomainState
        public var console: String
        /// The checksum the guest reported at its end mark (nil if it never got there).
        public var checksum: UInt32?
    }

    public var image: ELFFile
    public var workload: NetWorkload
    public var engine: ExecutionEngineKind = .translator
    /// Guest RAM per domain (the guest's buffers and rings are about 600 KiB).
    public var memorySize: UInt32 = 1 << 20
    /// Guest instructions a domain runs before the scheduler decides again (Dom0's default).
    public var sliceInstructions: UInt64 = 20_000
    public var instructionBudget: UInt64 = 2_000_000_000
    public var limits = NetBackend.Limits()

    public init(image: ELFFile, workload: NetWorkload) {
        self.image = image
        self.workload = workload
    }

    /// Runs one domain per role, numbered 1, 2, ... in order. The workload's two roles (client and
    /// responder, or sender and receiver) are added after `before` and before `after`, so a test can
    /// put, say, a `.deaf` domain on the bridge first. The two active domains talk to each other;
    /// the first of them is the measuring one (`NetHost.measurement`).
    public func run(before: [NetWorkload.Role] = [], after: [NetWorkload.Role] = []) throws(HypervisorError) -> (results: [DomainResult], host: NetHost) {
        let roles = before + [workload.roles.first, workload.roles.second] + after
        let first = before.count, second = before.count + 1
        var configuration = Dom0.Configuration()
        configuration.engine = engine
        configuration.machineMemory = max(16 << 20, roles.count * (Int(memorySize) + (2 << 20)))
        configuration.shadowFramesPerDomain = 64
        configuration.sliceInstructions = sliceInstructions
        let dom0 = try Dom0(configuration: configuration, output: ConsoleIO(write: { _ in }))
        let host = NetHost(dom0: dom0, limits: limits)
        var ids: [Hypervisor.DomainID] = []
        for (index, role) in roles.enumerated() {
            let id = try dom0.create(image: image, memorySize: memorySize, instructionBudget: instructionBudget,
                                     mode: TrapAndEmulateMode())
            let own = UInt8(index + 1)
            let peer = UInt8((index == first ? second : first) + 1)
            do {
                try host.attach(id, registers: workload.bootRegisters(role: role, own: own, peer: peer), measuring: index == first)
            } catch {
                throw HypervisorError("\(id): \(error.message)")
            }
            ids.append(id)
        }
        dom0.unpauseAll()
        host.run()
        let results = ids.map { id in
            DomainResult(name: id.description, state: dom0.domain(id)?.state ?? .paused,
                         console: String(decoding: dom0.consoleTranscript(id), as: UTF8.self),
                         checksum: host.reportedChecksum(of: id))
        }
        return (results, host)
    }
}
