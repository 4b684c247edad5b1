import ArgumentParser
import Foundation
import Hypervisor
import HypervisorCore
import Machine
import RISCV

extension VMMMode: ExpressibleByArgument {}

/// The shipped teaching-kernel builds (Sources/VLabCLI/Guests/kernel/), by file name.
enum ShippedKernel {
    static func image(named file: String) throws -> ELFFile {
        let name = (file as NSString).deletingPathExtension
        guard let url = Bundle.module.url(forResource: name, withExtension: "elf", subdirectory: "Guests/kernel") else {
            throw CommandFailure("\(file): this vlab installation does not ship that kernel build (yet)")
        }
        return try readELF(url.path)
    }
}

/// `vlab boot --vmm MODE [image] [--stats]`: the image as a guest of the VMM, same console bytes and
/// exit status as the bare `vlab boot`.
struct VMMBoot {
    var mode: VMMMode
    var image: String?
    /// The hart configuration `vlab boot` built (RAM = the guest's memory, engine, ISA flags).
    var machine: MachineConfiguration
    var maxInstructions: UInt64?
    var stats: Bool

    func run() throws {
        let implementation: any VMMModeImplementation
        do { implementation = try VMMModeCatalog.require(mode) } catch { throw CommandFailure(error.message) }
        let name = image ?? mode.shippedKernel
        let elf = try image.map(readELF) ?? ShippedKernel.image(named: mode.shippedKernel)
        var request = VMMBootRequest(image: elf, name: name, console: .standard)
        request.machineConfiguration = machine
        request.memorySize = UInt32(machine.ramSize)
        request.instructionBudget = maxInstructions
        let clock = Stopwatch()
        let outcome: VMMBootResult
        do { outcome = try implementation.boot(request) } catch { throw CommandFailure(error.message) }
        let seconds = clock.seconds
        if stats { printStatistics(outcome, image: elf, seconds: seconds) }
        switch outcome.result {
        case .exited(let code):
            if code != 0 { printDiagnostic("\(name): guest reported failure \(code)") }
            throw ExitCode(code)
        case .faulted(let fault):
            throw CommandFailure("\(name): \(fault)")
        case .sliceEnded, .blocked, .yielded:
            throw CommandFailure("\(name): the VMM returned before the guest finished")
        }
    }

    /// Exits by reason, instructions, and the overhead against the same image run bare.
    private func printStatistics(_ outcome: VMMBootResult, image: ELFFile, seconds: Double) {
        printDiagnostic("vmm: mode \(mode), engine \(machine.engine)")
        var bareConfiguration = machine
        VMMModeCatalog.implementation(of: mode)?.prepareMachine(&bareConfiguration)
        let bareClock = Stopwatch()
        let bare = try? BareMetal.run(image, configuration: bareConfiguration, maxInstructions: maxInstructions)
        let bareSeconds = bareClock.seconds
        let baseline = bare?.exitCode != nil ? bare?.instructions : nil
        for line in outcome.statistics.report(bareInstructions: baseline).split(separator: "\n") { printDiagnostic("vmm: \(line)") }
        if bare != nil && baseline == nil { printDiagnostic("vmm: the image does not finish on bare metal (\(bare?.stop ?? "")): no baseline") }
        for note in outcome.notes { printDiagnostic("vmm: \(note)") }
        if baseline != nil && bareSeconds > 0 {
            printDiagnostic("vmm: wall time \(twoDecimals(seconds)) s under the VMM, \(twoDecimals(bareSeconds)) s bare: \(twoDecimals(seconds / bareSeconds))x")
        }
    }
}
