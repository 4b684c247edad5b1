import ArgumentParser
import Foundation
import Hypervisor
import HypervisorCore
import Machine
import RISCV

/// `--scheduler` values.
enum DomainSchedulerName: String, ExpressibleByArgument, CaseIterable {
    case roundRobin = "round-robin"
    case credit
}

/// `vlab boot --vmm MODE --domains N [image]`: N domains of the image on one hart, consoles tagged.
struct DomainsBoot {
    var mode: VMMMode
    var image: String?
    var count: Int
    var scheduler: DomainSchedulerName
    /// The hart configuration `vlab boot` built; its RAM size is each domain's memory.
    var machine: MachineConfiguration
    var maxInstructions: UInt64?
    var stats: Bool

    func run() throws {
        let implementation: any VMMModeImplementation
        do { implementation = try VMMModeCatalog.require(mode) } catch { throw CommandFailure(error.message) }
        let elf = try image.map(readELF) ?? ShippedKernel.image(named: mode.shippedKernel)
        let ramMiB = machine.ramSize >> 20
        var configuration = Dom0.Configuration()
        configuration.machine = machine
        implementation.prepareMachine(&configuration.machine)
        let perDomain = (ramMiB << 20) + configuration.shadowFramesPerDomain * 4096
        guard perDomain * count <= 2 << 30 - 4096 else {
            throw CommandFailure("--domains \(count) with --ram \(ramMiB): \(count) x \(ramMiB) MiB is more than the machine's 2 GiB; lower --ram")
        }
        configuration.machineMemory = perDomain * count
        let chosen: any VCPUScheduler = scheduler == .credit ? CreditScheduler() : RoundRobinScheduler()
        let dom0: Dom0
        do {
            dom0 = try Dom0(configuration: configuration, scheduler: chosen, output: .standard)
            for _ in 0..<count {
                try dom0.create(image: elf, memorySize: UInt32(ramMiB) << 20, instructionBudget: maxInstructions, mode: implementation)
            }
        } catch {
            throw CommandFailure(error.message)
        }
        dom0.unpauseAll()
        dom0.run()
        var failed = false
        for info in dom0.list() {
            switch info.state {
            case .exited(let code):
                if code != 0 { failed = true }
                printDiagnostic("\(info.name): exited \(code) after \(info.instructions) instructions, \(info.exits) exits")
            case .faulted(let fault):
                failed = true
                printDiagnostic("\(fault)")
            case .runnable, .paused:
                failed = true
                printDiagnostic("\(info.name): \(info.state)")
            }
            if stats, let domain = dom0.domain(info.id) {
                for line in domain.vm.statistics.report(bareInstructions: nil).split(separator: "\n") {
                    printDiagnostic("\(info.name): \(line)")
                }
            }
        }
        if failed { throw ExitCode(1) }
    }
}
